//! What a drug does to the platelet system, and which parameter names that effect reads.

use serde::{Deserialize, Serialize};

/// What a drug does to the platelet system, if anything (docs/model.md).
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
    /// Stimulates c-MPL like TPO (TPO-receptor agonists: romiplostim, eltrombopag): adds
    /// `Smax*C/(SC50+C)` times the baseline TPO production to the production of the TPO-equivalent
    /// signal, which platelets clear and selinexor's engagement blunts like TPO's
    /// (docs/supportive_care.md).
    Agonist,
}

impl EffectKind {
    /// The [`EFFECT`](super::table::EFFECT) parameter names this effect reads: the one setting `e1`, then `e2`'s.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            EffectKind::Xpo1 => &[],
            EffectKind::Release => &["Emax", "EC50"],
            EffectKind::Kill => &["slope"],
            EffectKind::Signal => &["Imax", "IC50"],
            EffectKind::Agonist => &["Smax", "SC50"],
        }
    }
}
