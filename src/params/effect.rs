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
    /// Stimulates c-MPL like TPO (TPO-receptor agonists: romiplostim, eltrombopag) by
    /// `A = Smax*C/(SC50+C)`. An agonist with receptor-mediated clearance (Michaelis-Menten
    /// elimination, scaled by the count: romiplostim) adds `A` to the TPO signal, in multiples of
    /// its baseline: its platelet sink is in its PK. One without (eltrombopag) adds `A` times the
    /// baseline TPO production to the TPO-equivalent signal, which platelets clear. Selinexor's
    /// engagement blunts both like TPO (docs/supportive_care.md).
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
