//! Drug definitions (as shipped in `data/drugs.toml`) and their resolution into one patient's
//! PK parameters: typical value, user override, covariate effects, individual random effect.

use crate::error::{non_negative, positive, ModelError, Result};
use crate::patient::Patient;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One parameter's typical value with its unit and provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub value: f64,
    #[serde(default)]
    pub unit: String,
    /// Citation (author, journal, year) or `ASSUMPTION: ...`.
    #[serde(default)]
    pub source: String,
}

/// Route of administration of one dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// Oral: into the depot, with `F`, `tlag`, `ka`.
    Oral,
    /// Subcutaneous: into the depot, like oral.
    Sc,
    /// Intravenous: bolus into the central compartment, or a zero-order infusion.
    Iv,
}

impl Route {
    pub fn to_depot(self) -> bool {
        matches!(self, Route::Oral | Route::Sc)
    }
    pub fn name(self) -> &'static str {
        match self {
            Route::Oral => "oral",
            Route::Sc => "sc",
            Route::Iv => "iv",
        }
    }
}

/// How a covariate modifies a parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CovariateEffect {
    /// Parameter modified, e.g. `CL`.
    pub param: String,
    /// Covariate name: `WT`, `HT`, `BSA`, `AGE`, `CRCL`, `FEMALE`.
    pub covariate: String,
    /// Power model: `param *= (cov / reference) ^ exponent`.
    #[serde(default)]
    pub reference: Option<f64>,
    #[serde(default)]
    pub exponent: Option<f64>,
    /// Categorical model (for `FEMALE`): `param *= factor` when the covariate is 1.
    #[serde(default)]
    pub factor: Option<f64>,
    #[serde(default)]
    pub source: String,
}

/// What a drug does to the platelet system, if anything (MODEL.md section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectKind {
    /// Drives XPO1 engagement X (selinexor); parameters `kon`, `koff` live in `platelets`.
    Xpo1,
    /// Blocks platelet release: R = 1 - Emax*C/(EC50+C) (bortezomib).
    Release,
    /// Kills proliferating progenitors: k_kill = slope*C (lenalidomide, pomalidomide).
    Kill,
    /// Inhibits the TPO signal: I_other = Imax*C/(IC50+C) (ruxolitinib).
    Signal,
}

impl EffectKind {
    /// Parameter names this effect reads from the drug's parameters.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            EffectKind::Xpo1 => &[],
            EffectKind::Release => &["Emax", "EC50"],
            EffectKind::Kill => &["slope"],
            EffectKind::Signal => &["Imax", "IC50"],
        }
    }
}

/// Elimination from the central compartment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Elimination {
    #[default]
    Linear,
    /// Linear CL plus Vmax(t)*C/(Km+C), Vmax(t) = Vmax*exp(-kdes*t) (target-mediated, daratumumab).
    MichaelisMenten,
}

/// A drug of the library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugSpec {
    #[serde(default)]
    pub description: String,
    /// 1, 2 or 3 disposition compartments.
    pub compartments: u8,
    #[serde(default)]
    pub elimination: Elimination,
    /// Route used when a dose does not say.
    pub default_route: Route,
    pub params: BTreeMap<String, ParamSpec>,
    #[serde(default)]
    pub covariates: Vec<CovariateEffect>,
    /// Inter-individual variability, CV (fraction) of a log-normal, by parameter.
    #[serde(default)]
    pub iiv: BTreeMap<String, f64>,
    #[serde(default)]
    pub iiv_source: String,
    #[serde(default)]
    pub effect: Option<EffectKind>,
    #[serde(default)]
    pub effect_source: String,
}

/// PK parameter names, in the public vocabulary of MODEL.md (plus `Q2`, `Vp2` for the third
/// compartment and `Vmax`, `Km`, `kdes` for Michaelis-Menten elimination).
pub const PK_PARAMS: [&str; 12] = [
    "ka", "CL", "Vc", "Q", "Vp", "Q2", "Vp2", "F", "tlag", "Vmax", "Km", "kdes",
];

/// One patient's resolved parameters of one drug.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PkParams {
    pub compartments: u8,
    pub mm: bool,
    pub ka: f64,
    pub cl: f64,
    pub vc: f64,
    pub q: f64,
    pub vp: f64,
    pub q2: f64,
    pub vp2: f64,
    pub f: f64,
    pub tlag: f64,
    pub vmax: f64,
    pub km: f64,
    pub kdes: f64,
    pub effect: Option<EffectKind>,
    /// Effect parameters: (Emax|slope|Imax, EC50|IC50).
    pub e1: f64,
    pub e2: f64,
}

impl PkParams {
    pub fn has_depot(&self) -> bool {
        self.ka > 0.0
    }
    /// Number of ODE states: depot (if any), central, peripherals, cumulative AUC.
    pub fn n_states(&self) -> usize {
        usize::from(self.has_depot()) + usize::from(self.compartments) + 1
    }
    /// Micro rate constants (k10, k12, k21, k13, k31).
    pub fn micro(&self) -> (f64, f64, f64, f64, f64) {
        let k10 = self.cl / self.vc;
        let (k12, k21) = if self.compartments >= 2 {
            (self.q / self.vc, self.q / self.vp)
        } else {
            (0.0, 0.0)
        };
        let (k13, k31) = if self.compartments >= 3 {
            (self.q2 / self.vc, self.q2 / self.vp2)
        } else {
            (0.0, 0.0)
        };
        (k10, k12, k21, k13, k31)
    }
}

impl DrugSpec {
    /// All parameter names this drug accepts (PK names it uses plus its effect's).
    pub fn param_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.params.keys().cloned().collect();
        for n in PK_PARAMS {
            if !names.iter().any(|x| x == n) && self.uses_pk_param(n) {
                names.push(n.to_string());
            }
        }
        names
    }

    fn uses_pk_param(&self, name: &str) -> bool {
        match name {
            "CL" | "Vc" | "F" | "tlag" | "ka" => true,
            "Q" | "Vp" => self.compartments >= 2,
            "Q2" | "Vp2" => self.compartments >= 3,
            "Vmax" | "Km" | "kdes" => self.elimination == Elimination::MichaelisMenten,
            _ => false,
        }
    }

    /// Checks the definition itself: structure, required parameters, values, names.
    pub fn validate(&self, name: &str) -> Result<()> {
        let field = |p: &str| format!("drugs.{name}.{p}");
        if !(1..=3).contains(&self.compartments) {
            return Err(ModelError::new(
                field("compartments"),
                format!("must be 1, 2 or 3, got {}", self.compartments),
            ));
        }
        let effect_names = self.effect.map(|e| e.param_names()).unwrap_or(&[]);
        for (p, spec) in &self.params {
            let known = PK_PARAMS.contains(&p.as_str()) && self.uses_pk_param(p);
            if !known && !effect_names.contains(&p.as_str()) {
                return Err(ModelError::new(
                    field(&format!("params.{p}")),
                    format!(
                        "unknown parameter for this drug (known: {})",
                        self.known_list()
                    ),
                ));
            }
            non_negative(&field(&format!("params.{p}")), spec.value)?;
        }
        let mut required = vec!["CL", "Vc"];
        if self.compartments >= 2 {
            required.extend(["Q", "Vp"]);
        }
        if self.compartments >= 3 {
            required.extend(["Q2", "Vp2"]);
        }
        if self.elimination == Elimination::MichaelisMenten {
            required.extend(["Vmax", "Km"]);
        }
        required.extend(effect_names.iter().copied());
        for r in required {
            if !self.params.contains_key(r) {
                return Err(ModelError::new(
                    field(&format!("params.{r}")),
                    "is required but missing",
                ));
            }
        }
        for (p, cv) in &self.iiv {
            if !self.params.contains_key(p) {
                return Err(ModelError::new(
                    field(&format!("iiv.{p}")),
                    "names no parameter of this drug",
                ));
            }
            non_negative(&field(&format!("iiv.{p}")), *cv)?;
        }
        for (i, c) in self.covariates.iter().enumerate() {
            let f = field(&format!("covariates[{i}]"));
            if !self.params.contains_key(&c.param) {
                return Err(ModelError::new(
                    format!("{f}.param"),
                    format!("unknown parameter {:?}", c.param),
                ));
            }
            Patient::default()
                .covariate(&c.covariate)
                .map_err(|e| e.within(&f))?;
            match (c.reference, c.exponent, c.factor) {
                (Some(r), Some(_), None) => {
                    positive(&format!("{f}.reference"), r)?;
                }
                (None, None, Some(k)) => {
                    non_negative(&format!("{f}.factor"), k)?;
                }
                _ => {
                    return Err(ModelError::new(
                        f,
                        "give either reference and exponent (power model) or factor (categorical)",
                    ))
                }
            }
        }
        Ok(())
    }

    fn known_list(&self) -> String {
        let mut v: Vec<&str> = PK_PARAMS
            .iter()
            .copied()
            .filter(|p| self.uses_pk_param(p))
            .collect();
        if let Some(e) = self.effect {
            v.extend(e.param_names());
        }
        v.join(", ")
    }

    /// Checks that user overrides name parameters this drug has, with valid values.
    pub fn check_overrides(&self, name: &str, overrides: &BTreeMap<String, f64>) -> Result<()> {
        let effect_names = self.effect.map(|e| e.param_names()).unwrap_or(&[]);
        for (p, v) in overrides {
            let ok = (PK_PARAMS.contains(&p.as_str()) && self.uses_pk_param(p))
                || effect_names.contains(&p.as_str());
            let f = format!("params.{name}.{p}");
            if !ok {
                return Err(ModelError::new(
                    f,
                    format!(
                        "unknown parameter for drug {name:?} (known: {})",
                        self.known_list()
                    ),
                ));
            }
            non_negative(&f, *v)?;
        }
        Ok(())
    }

    /// Typical value (override first, else library value, else 0 for unused optional names).
    fn typical(&self, p: &str, overrides: Option<&BTreeMap<String, f64>>) -> f64 {
        overrides
            .and_then(|o| o.get(p).copied())
            .or_else(|| self.params.get(p).map(|s| s.value))
            .unwrap_or(match p {
                "F" => 1.0,
                _ => 0.0,
            })
    }

    /// Resolves one patient's parameters: typical (or overridden) value x covariate effects x
    /// exp(eta) where `etas` gives the individual random effects by parameter name.
    pub fn resolve(
        &self,
        name: &str,
        patient: &Patient,
        overrides: Option<&BTreeMap<String, f64>>,
        etas: Option<&BTreeMap<String, f64>>,
    ) -> Result<PkParams> {
        let value = |p: &str| -> Result<f64> {
            let mut v = self.typical(p, overrides);
            for c in self.covariates.iter().filter(|c| c.param == p) {
                let x = patient.covariate(&c.covariate)?;
                v *= match (c.reference, c.exponent, c.factor) {
                    (Some(r), Some(e), _) => (x / r).powf(e),
                    (_, _, Some(k)) if x > 0.5 => k,
                    _ => 1.0,
                };
            }
            if let Some(eta) = etas.and_then(|e| e.get(p)) {
                v = crate::population::apply_eta(p, v, *eta);
            }
            Ok(v)
        };
        let field = |p: &str| format!("drugs.{name}.{p}");
        let (e1n, e2n) = match self.effect {
            Some(EffectKind::Release) => ("Emax", "EC50"),
            Some(EffectKind::Signal) => ("Imax", "IC50"),
            Some(EffectKind::Kill) => ("slope", ""),
            _ => ("", ""),
        };
        let pk = PkParams {
            compartments: self.compartments,
            mm: self.elimination == Elimination::MichaelisMenten,
            ka: value("ka")?,
            cl: value("CL")?,
            vc: positive(&field("Vc"), value("Vc")?)?,
            q: value("Q")?,
            vp: value("Vp")?,
            q2: value("Q2")?,
            vp2: value("Vp2")?,
            f: value("F")?,
            tlag: value("tlag")?,
            vmax: value("Vmax")?,
            km: value("Km")?,
            kdes: value("kdes")?,
            effect: self.effect,
            e1: if e1n.is_empty() { 0.0 } else { value(e1n)? },
            e2: if e2n.is_empty() { 0.0 } else { value(e2n)? },
        };
        non_negative(&field("CL"), pk.cl)?;
        if pk.compartments >= 2 {
            positive(&field("Vp"), pk.vp)?;
            non_negative(&field("Q"), pk.q)?;
        }
        if pk.compartments >= 3 {
            positive(&field("Vp2"), pk.vp2)?;
            non_negative(&field("Q2"), pk.q2)?;
        }
        if pk.mm {
            positive(&field("Km"), pk.km)?;
        }
        if pk.effect == Some(EffectKind::Release) || pk.effect == Some(EffectKind::Signal) {
            positive(&field(e2n), pk.e2)?;
            crate::error::in_range(&field(e1n), pk.e1, 0.0, 1.0)?;
        }
        for (n, v) in [
            ("ka", pk.ka),
            ("F", pk.f),
            ("tlag", pk.tlag),
            ("kdes", pk.kdes),
        ] {
            non_negative(&field(n), v)?;
        }
        if pk.cl == 0.0 && !pk.mm {
            return Err(ModelError::new(
                field("CL"),
                "must be > 0 (the drug is never eliminated)",
            ));
        }
        Ok(pk)
    }
}
