//! Simulation: one patient (outputs, exposure metrics), per-subject metrics accumulated while
//! the solver runs, dose rules at lab visits, population sampling and virtual trials.

pub mod columns;
pub mod dataset;
pub mod escalation;
pub mod exposure;
pub mod metrics;
pub mod outputs;
pub mod residual;
pub mod rules;
pub mod sampling;
pub mod simon;
pub mod simulate;
pub mod trial;
