//! One patient's covariates and derived body size.

use crate::error::{in_range, positive, ModelError, Result};
use crate::params::resolved::MAX_PLATELETS;
use serde::{Deserialize, Serialize};

/// Sex, used as a categorical covariate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    #[default]
    Male,
    Female,
}

/// Covariates of one patient. Defaults describe a typical 70 kg, 170 cm, 65-year-old man with
/// 170 x 10^9/L platelets (docs/model.md population medians; ASSUMPTION for the others).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Patient {
    /// Body weight, kg (`null` reads as missing: NaN, refused where a weight is needed).
    #[serde(deserialize_with = "nullable")]
    pub weight: f64,
    /// Height, cm (`null` reads as missing: NaN, refused where a height is needed).
    #[serde(deserialize_with = "nullable")]
    pub height: f64,
    /// Age, years.
    pub age: f64,
    pub sex: Sex,
    /// Creatinine clearance, mL/min.
    pub crcl: f64,
    /// Baseline platelets, 10^9/L; `None` takes the platelet model's `P0`.
    pub platelets: Option<f64>,
}

fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl Default for Patient {
    fn default() -> Self {
        Self {
            weight: 70.0,
            height: 170.0,
            age: 65.0,
            sex: Sex::Male,
            crcl: 90.0,
            platelets: None,
        }
    }
}

impl Patient {
    /// Body surface area by Mosteller: sqrt(height[cm] * weight[kg] / 3600), m2.
    pub fn bsa(&self) -> f64 {
        (self.height * self.weight / 3600.0).sqrt()
    }

    /// Rejects impossible covariates, naming the field (a missing weight or height is checked
    /// where it is needed: [`Patient::size`]).
    pub fn validate(&self) -> Result<()> {
        if !self.weight.is_nan() {
            in_range("patient.weight", self.weight, 1.0, 400.0)?;
        }
        if !self.height.is_nan() {
            in_range("patient.height", self.height, 30.0, 250.0)?;
        }
        in_range("patient.age", self.age, 0.0, 120.0)?;
        positive("patient.crcl", self.crcl)?;
        if let Some(p) = self.platelets {
            in_range("patient.platelets", p, 1.0, MAX_PLATELETS)?;
        }
        Ok(())
    }

    /// The weight (`weight`), height (`height`) or both (`bsa`), refusing a missing one.
    pub fn size(&self, which: &str) -> Result<f64> {
        let need = |v: f64, f: &str| {
            if v.is_nan() {
                Err(ModelError::new(
                    format!("patient.{f}"),
                    "is missing (give both weight and height, or neither for the typical patient)",
                ))
            } else {
                Ok(v)
            }
        };
        match which {
            "weight" => need(self.weight, "weight"),
            "height" => need(self.height, "height"),
            _ => {
                need(self.height, "height")?;
                need(self.weight, "weight")?;
                Ok(self.bsa())
            }
        }
    }

    /// Value of a named covariate (`WT`, `HT`, `BSA`, `AGE`, `CRCL`, `FEMALE`).
    pub fn covariate(&self, name: &str) -> Result<f64> {
        Ok(match name {
            "WT" => self.size("weight")?,
            "HT" => self.size("height")?,
            "BSA" => self.size("bsa")?,
            "AGE" => self.age,
            "CRCL" => self.crcl,
            "FEMALE" => f64::from(u8::from(self.sex == Sex::Female)),
            other => {
                return Err(ModelError::new(
                    "covariate",
                    format!("unknown covariate {other:?} (known: WT, HT, BSA, AGE, CRCL, FEMALE)"),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mosteller_bsa() {
        let p = Patient {
            weight: 70.0,
            height: 170.0,
            ..Patient::default()
        };
        assert!((p.bsa() - (170.0f64 * 70.0 / 3600.0).sqrt()).abs() < 1e-12);
        assert!((p.bsa() - 1.8181).abs() < 1e-3);
    }

    #[test]
    fn rejects_bad_weight_and_names_a_missing_one() {
        let p = Patient {
            weight: 0.5,
            ..Patient::default()
        };
        assert_eq!(p.validate().unwrap_err().field, "patient.weight");
        let p = Patient {
            weight: f64::NAN,
            ..Patient::default()
        };
        assert!(p.validate().is_ok());
        assert_eq!(p.size("bsa").unwrap_err().field, "patient.weight");
        assert_eq!(p.covariate("WT").unwrap_err().field, "patient.weight");
        assert_eq!(p.size("height").unwrap(), 170.0);
    }
}
