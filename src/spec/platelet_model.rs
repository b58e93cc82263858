//! Which platelet model a simulation uses (docs/model.md): the TPO-feedback model with
//! TPO-signalling inhibition, or the classic Friberg model.

use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};

/// Which platelet model a simulation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlateletModel {
    /// Semi-mechanistic TPO-feedback model, selinexor acting through XPO1 engagement (default).
    #[default]
    Tpo,
    /// Friberg (J Clin Oncol 2002) with a linear drug effect slope*C on proliferation.
    FribergLinear,
    /// Friberg with an Emax effect Emax*C/(EC50+C) on proliferation.
    FribergEmax,
    /// No platelet states: PK only.
    None,
}

impl PlateletModel {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "tpo" => Self::Tpo,
            "friberg" | "friberg_linear" => Self::FribergLinear,
            "friberg_emax" => Self::FribergEmax,
            "none" => Self::None,
            _ => {
                return Err(ModelError::new(
                    "platelet_model",
                    format!("unknown model {s:?} (known: tpo, friberg_linear, friberg_emax, none)"),
                ))
            }
        })
    }
    pub fn is_friberg(self) -> bool {
        matches!(self, Self::FribergLinear | Self::FribergEmax)
    }
}
