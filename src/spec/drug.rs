//! Drug definitions, as shipped in `data/drugs.toml`: compartments, elimination, parameters with
//! units and sources, covariate effects, IIV and the platelet effect.

use super::patient::Patient;
use crate::error::{in_range, non_negative, positive, ModelError, Result};
use crate::params::table::{self, EffectKind};
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

impl DrugSpec {
    /// All parameter names this drug accepts (PK names it uses plus its effect's).
    pub fn param_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.params.keys().cloned().collect();
        for n in table::PK.iter().map(|f| f.name) {
            if !names.iter().any(|x| x == n) && self.uses_pk_param(n) {
                names.push(n.to_string());
            }
        }
        names
    }

    pub(crate) fn uses_pk_param(&self, name: &str) -> bool {
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
            let known = table::PK.iter().any(|f| f.name == p) && self.uses_pk_param(p);
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
            in_range(
                &field(&format!("iiv.{p}")),
                *cv,
                0.0,
                super::population::MAX_CV,
            )?;
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
        let mut v: Vec<&str> = table::PK
            .iter()
            .map(|f| f.name)
            .filter(|p| self.uses_pk_param(p))
            .collect();
        if let Some(e) = self.effect {
            v.extend(e.param_names());
        }
        v.join(", ")
    }

    /// Checks that user overrides name parameters this drug has, with valid values (errors
    /// name `{at}.{name}.{param}`).
    pub fn check_overrides(
        &self,
        name: &str,
        overrides: &BTreeMap<String, f64>,
        at: &str,
    ) -> Result<()> {
        let effect_names = self.effect.map(|e| e.param_names()).unwrap_or(&[]);
        for (p, v) in overrides {
            let ok = (table::PK.iter().any(|f| f.name == p) && self.uses_pk_param(p))
                || effect_names.contains(&p.as_str());
            let f = format!("{at}.{name}.{p}");
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
}
