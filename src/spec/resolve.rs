//! One patient's parameters from the library: typical value (or the user's override), covariate
//! effects, then the individual random effect.

use super::drug::{DrugSpec, Elimination, ParamSpec};
use super::patient::Patient;
use crate::error::{in_range, non_negative, positive, ModelError, Result};
use crate::params::table::{self, EffectKind, Field};
use crate::params::{apply_eta, PkParams, PlateletParams};
use std::collections::BTreeMap;

impl DrugSpec {
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
                v = apply_eta(p, v, *eta);
            }
            Ok(v)
        };
        let field = |p: &str| format!("drugs.{name}.{p}");
        let mut pk = PkParams {
            compartments: self.compartments,
            mm: self.elimination == Elimination::MichaelisMenten,
            effect: self.effect,
            ..PkParams::default()
        };
        for f in &table::PK {
            *(f.slot)(&mut pk) = value(f.name)?;
        }
        let effect_names = self.effect.map_or(&[][..], EffectKind::param_names);
        for &n in effect_names {
            if let Some(f) = table::pk_field(n) {
                *(f.slot)(&mut pk) = value(n)?;
            }
        }
        positive(&field("Vc"), pk.vc)?;
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
        if let (Some(EffectKind::Release | EffectKind::Signal), [e1n, e2n]) =
            (pk.effect, effect_names)
        {
            positive(&field(e2n), pk.e2)?;
            in_range(&field(e1n), pk.e1, 0.0, 1.0)?;
        }
        if let (Some(EffectKind::Agonist), [_, e2n]) = (pk.effect, effect_names) {
            positive(&field(e2n), pk.e2)?;
        }
        in_range(&field("F"), pk.f, 0.0, 1.0)?;
        for (n, v) in [("ka", pk.ka), ("tlag", pk.tlag), ("kdes", pk.kdes)] {
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

/// One patient's platelet-model parameters from the library namespaces, user overrides,
/// baseline platelets and random effects (of the `platelets` namespace).
pub fn resolve_platelets(
    lib_tpo: &BTreeMap<String, ParamSpec>,
    lib_friberg: &BTreeMap<String, ParamSpec>,
    over_tpo: Option<&BTreeMap<String, f64>>,
    over_friberg: Option<&BTreeMap<String, f64>>,
    baseline: Option<f64>,
    etas: Option<&BTreeMap<String, f64>>,
) -> Result<PlateletParams> {
    let mut out = PlateletParams::default();
    let mut fill = |ns: &str,
                    fields: &[Field<PlateletParams>],
                    lib: &BTreeMap<String, ParamSpec>,
                    over: Option<&BTreeMap<String, f64>>|
     -> Result<()> {
        for f in fields {
            let p = f.name;
            let mut v = over
                .and_then(|o| o.get(p).copied())
                .or_else(|| lib.get(p).map(|s| s.value))
                .or_else(|| {
                    (ns == table::PLATELETS)
                        .then(|| table::OPTIONAL_PLATELET.iter().find(|(n, _)| *n == p))
                        .flatten()
                        .map(|(_, v)| *v)
                })
                .ok_or_else(|| ModelError::new(format!("{ns}.{p}"), "missing from the library"))?;
            if ns == table::PLATELETS {
                if let Some(e) = etas.and_then(|e| e.get(p)) {
                    v = apply_eta(p, v, *e);
                }
            }
            *(f.slot)(&mut out) = v;
        }
        Ok(())
    };
    fill(table::PLATELETS, &table::PLATELET, lib_tpo, over_tpo)?;
    fill(
        table::FRIBERG,
        &table::FRIBERG_FIELDS,
        lib_friberg,
        over_friberg,
    )?;
    if let Some(b) = baseline {
        out.p0 = b;
        if let Some(e) = etas.and_then(|e| e.get("P0")) {
            out.p0 *= e.exp();
        }
        positive("patient.platelets", out.p0)?;
    }
    out.validate()?;
    Ok(out)
}
