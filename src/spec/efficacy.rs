//! The myeloma efficacy model's inputs (`data/efficacy.toml`): serum M-protein growth and drug
//! kill with acquired resistance, the response-assessment schedule, and death without
//! progression. Validated once; the model itself is `sim/tumour.rs`, the IMWG response
//! categories `sim/response.rs`, and the sources of every value `docs/efficacy.md`.

use super::drug::ParamSpec;
use super::population::Dist;
use crate::error::{non_negative, positive, ModelError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A parameter that varies between patients: log-normal with this median and CV (a fraction;
/// 0 for none), truncated to `[min, max]` by redrawing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariedParam {
    pub median: f64,
    #[serde(default)]
    pub cv: f64,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Citation or `ASSUMPTION: ...`.
    #[serde(default)]
    pub source: String,
}

impl VariedParam {
    /// The distribution to draw from.
    pub fn dist(&self) -> Dist {
        Dist::Lognormal {
            median: self.median,
            cv: self.cv,
            min: self.min,
            max: self.max,
        }
    }

    fn validate(&self, field: &str) -> Result<()> {
        self.dist().validate(field)
    }
}

/// A partner drug's kill of myeloma cells: a kinetic-PD (K-PD) effect of each dose, decaying
/// with its half-life, whose time integral is `kill` log-units of M-protein per reference dose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerKill {
    /// Log-kill (natural log of M-protein) per reference dose, before resistance.
    pub kill: ParamSpec,
    /// The reference dose, mg.
    pub reference_mg: ParamSpec,
    /// Half-life of the dose's effect, days.
    pub effect_half_life: ParamSpec,
}

/// Everything the efficacy model needs besides the simulated drugs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfficacySpec {
    #[serde(default)]
    pub description: String,
    /// Baseline serum M-protein, g/dL.
    pub m_protein_baseline: VariedParam,
    /// Net growth rate of M-protein without drug, 1/day.
    pub growth_rate: VariedParam,
    /// Rate of the exponential loss of drug sensitivity (acquired resistance), 1/day.
    pub resistance_rate: VariedParam,
    /// The patient's sensitivity to every drug's kill (median 1).
    pub sensitivity: VariedParam,
    /// Selinexor's kill rate at full XPO1 engagement (X = 1), 1/day.
    pub selinexor_kill: ParamSpec,
    /// Partner drugs' kill, by drug name.
    #[serde(default)]
    pub partners: BTreeMap<String, PartnerKill>,
    /// Days between response assessments (the first one this many days after day 1).
    pub assessment_days: ParamSpec,
    /// M-protein below this (g/dL) is undetectable: complete response.
    pub detection_limit: ParamSpec,
    /// Hazard of death without progression, 1/day.
    pub death_hazard: ParamSpec,
}

impl EfficacySpec {
    pub fn validate(&self) -> Result<()> {
        let f = |n: &str| format!("efficacy.{n}");
        self.m_protein_baseline.validate(&f("m_protein_baseline"))?;
        self.growth_rate.validate(&f("growth_rate"))?;
        self.resistance_rate.validate(&f("resistance_rate"))?;
        self.sensitivity.validate(&f("sensitivity"))?;
        non_negative(&f("selinexor_kill.value"), self.selinexor_kill.value)?;
        positive(&f("assessment_days.value"), self.assessment_days.value)?;
        positive(&f("detection_limit.value"), self.detection_limit.value)?;
        non_negative(&f("death_hazard.value"), self.death_hazard.value)?;
        for (name, p) in &self.partners {
            let g = |n: &str| format!("efficacy.partners.{name}.{n}.value");
            non_negative(&g("kill"), p.kill.value)?;
            positive(&g("reference_mg"), p.reference_mg.value)?;
            positive(&g("effect_half_life"), p.effect_half_life.value)?;
        }
        if let Some(min) = self.m_protein_baseline.min {
            if min < self.detection_limit.value {
                return Err(ModelError::new(
                    f("m_protein_baseline.min"),
                    format!(
                        "must be >= the detection limit {} g/dL, got {min}",
                        self.detection_limit.value
                    ),
                ));
            }
        }
        Ok(())
    }
}
