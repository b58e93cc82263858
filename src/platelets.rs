//! Platelet models (MODEL.md sections 2-3): XPO1 engagement, the TPO-feedback model with
//! TPO-signalling inhibition, and the classic Friberg model; CTCAE v4.03 grading.

use crate::drug::ParamSpec;
use crate::error::{in_range, positive, ModelError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// Parameter names of the `platelets` namespace (TPO model and XPO1 engagement).
pub const PLATELET_PARAMS: [&str; 10] = [
    "kon", "koff", "Imax", "gamma", "P0", "MTT", "lifespan", "tpo_half", "fP", "ke0",
];
/// Parameters of the `platelets` namespace a library may omit, with the value used then.
pub const OPTIONAL_PLATELET_PARAMS: [(&str, f64); 1] = [("ke0", 0.0)];
/// Parameter names of the `friberg` namespace.
pub const FRIBERG_PARAMS: [&str; 5] = ["MTT", "gamma", "slope", "Emax", "EC50"];

/// One patient's platelet-model parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PlateletParams {
    pub kon: f64,
    pub koff: f64,
    pub imax: f64,
    pub gamma: f64,
    pub p0: f64,
    pub mtt: f64,
    pub lifespan: f64,
    pub tpo_half: f64,
    pub fp: f64,
    /// Effect-compartment rate (1/h) between XPO1 engagement X and the TPO signal: 0 means no
    /// delay (the signal uses X); > 0 adds the state E, dE/dt = ke0 (X - E), used instead of X.
    pub ke0: f64,
    /// Friberg: MTT, gamma, slope, Emax, EC50.
    pub f_mtt: f64,
    pub f_gamma: f64,
    pub f_slope: f64,
    pub f_emax: f64,
    pub f_ec50: f64,
}

/// Rate constants derived once per patient.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PlateletRates {
    pub ktr: f64,
    pub kcirc: f64,
    pub ksyn: f64,
    pub kel_t: f64,
    pub kp: f64,
}

impl PlateletParams {
    /// Resolves from the library namespaces, user overrides, baseline platelets and random effects.
    pub fn resolve(
        lib_tpo: &BTreeMap<String, ParamSpec>,
        lib_friberg: &BTreeMap<String, ParamSpec>,
        over_tpo: Option<&BTreeMap<String, f64>>,
        over_friberg: Option<&BTreeMap<String, f64>>,
        baseline: Option<f64>,
        etas: Option<&BTreeMap<String, f64>>,
    ) -> Result<Self> {
        let get = |ns: &str,
                   lib: &BTreeMap<String, ParamSpec>,
                   over: Option<&BTreeMap<String, f64>>,
                   p: &str|
         -> Result<f64> {
            let mut v = over
                .and_then(|o| o.get(p).copied())
                .or_else(|| lib.get(p).map(|s| s.value))
                .or_else(|| {
                    (ns == "platelets")
                        .then(|| OPTIONAL_PLATELET_PARAMS.iter().find(|(n, _)| *n == p))
                        .flatten()
                        .map(|(_, v)| *v)
                })
                .ok_or_else(|| ModelError::new(format!("{ns}.{p}"), "missing from the library"))?;
            if ns == "platelets" {
                if let Some(e) = etas.and_then(|e| e.get(p)) {
                    v = crate::population::apply_eta(p, v, *e);
                }
            }
            Ok(v)
        };
        let t = |p| get("platelets", lib_tpo, over_tpo, p);
        let f = |p| get("friberg", lib_friberg, over_friberg, p);
        let mut out = Self {
            kon: t("kon")?,
            koff: t("koff")?,
            imax: t("Imax")?,
            gamma: t("gamma")?,
            p0: t("P0")?,
            mtt: t("MTT")?,
            lifespan: t("lifespan")?,
            tpo_half: t("tpo_half")?,
            fp: t("fP")?,
            ke0: t("ke0")?,
            f_mtt: f("MTT")?,
            f_gamma: f("gamma")?,
            f_slope: f("slope")?,
            f_emax: f("Emax")?,
            f_ec50: f("EC50")?,
        };
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

    pub fn validate(&self) -> Result<()> {
        positive("platelets.kon", self.kon).or_else(|e| {
            if self.kon == 0.0 {
                Ok(0.0)
            } else {
                Err(e)
            }
        })?;
        positive("platelets.koff", self.koff)?;
        in_range("platelets.Imax", self.imax, 0.0, 1.0)?;
        in_range("platelets.gamma", self.gamma, 0.0, 10.0)?;
        positive("platelets.P0", self.p0)?;
        positive("platelets.MTT", self.mtt)?;
        positive("platelets.lifespan", self.lifespan)?;
        positive("platelets.tpo_half", self.tpo_half)?;
        in_range("platelets.fP", self.fp, 0.0, 0.999_999)?;
        in_range("platelets.ke0", self.ke0, 0.0, f64::MAX)?;
        positive("friberg.MTT", self.f_mtt)?;
        in_range("friberg.gamma", self.f_gamma, 0.0, 10.0)?;
        in_range("friberg.slope", self.f_slope, 0.0, f64::MAX)?;
        in_range("friberg.Emax", self.f_emax, 0.0, 1.0)?;
        positive("friberg.EC50", self.f_ec50)?;
        Ok(())
    }

    /// ktr = 4/MTT, kcirc = 1/lifespan, kTPO = ln2/tpo_half, kP = fP*kTPO/P0,
    /// kel_T = (1-fP)*kTPO, ksyn = kTPO*T0 with T0 = 1.
    pub fn rates(&self) -> PlateletRates {
        let ktpo = std::f64::consts::LN_2 / self.tpo_half;
        PlateletRates {
            ktr: 4.0 / self.mtt,
            kcirc: 1.0 / self.lifespan,
            ksyn: ktpo,
            kel_t: (1.0 - self.fp) * ktpo,
            kp: self.fp * ktpo / self.p0,
        }
    }
}

/// Closed-form steady state of the TPO model under a constant total signal inhibition `i`
/// (0 <= i < 1): TPO settles at T0/(1-i) so that the signal is back at baseline, and
/// P = ((1-i)(kel_T + kP P0) - kel_T)/kP. Returns (P, T); P < 0 means platelets collapse.
pub fn tpo_steady_state(p: &PlateletParams, i: f64) -> (f64, f64) {
    let r = p.rates();
    let t = 1.0 / (1.0 - i);
    let pss = ((1.0 - i) * (r.kel_t + r.kp * p.p0) - r.kel_t) / r.kp;
    (pss, t)
}

/// CTCAE v4.03 "platelet count decreased" grade of a count in 10^9/L (LLN 150).
pub fn ctcae_grade(plt: f64) -> u8 {
    if plt < 25.0 {
        4
    } else if plt < 50.0 {
        3
    } else if plt < 75.0 {
        2
    } else if plt < 150.0 {
        1
    } else {
        0
    }
}

/// Lower bound of each grade (grade g means plt < GRADE_THRESHOLDS[g-1]).
pub const GRADE_THRESHOLDS: [f64; 4] = [150.0, 75.0, 50.0, 25.0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_at_boundaries() {
        assert_eq!(ctcae_grade(150.0), 0);
        assert_eq!(ctcae_grade(149.9), 1);
        assert_eq!(ctcae_grade(75.0), 1);
        assert_eq!(ctcae_grade(74.9), 2);
        assert_eq!(ctcae_grade(50.0), 2);
        assert_eq!(ctcae_grade(49.9), 3);
        assert_eq!(ctcae_grade(25.0), 3);
        assert_eq!(ctcae_grade(24.9), 4);
    }
}
