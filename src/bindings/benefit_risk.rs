//! Benefit against risk between two arms (`sim/benefit_risk.rs`).

use crate::sim::benefit_risk::assess;
use pyo3::prelude::*;

/// Directions resolved by the 95% intervals (-1 lower, 0 not distinguishable, 1 higher) of
/// ORR, median PFS and grade 3+ thrombocytopenia (arm minus reference), and the verdict.
#[pyfunction]
pub fn benefit_risk(
    orr_diff: (f64, f64),
    g3_diff: (f64, f64),
    pfs_arm: (f64, f64),
    pfs_ref: (f64, f64),
) -> (i8, i8, i8, &'static str) {
    let r = assess(orr_diff, g3_diff, pfs_arm, pfs_ref);
    (
        r.orr.as_i8(),
        r.pfs.as_i8(),
        r.g3.as_i8(),
        r.verdict.as_str(),
    )
}
