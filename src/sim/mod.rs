//! Simulation: one patient (outputs, exposure metrics), per-subject metrics accumulated while
//! the solver runs, dose rules at lab visits, population sampling and virtual trials, and the
//! myeloma efficacy model (M-protein, IMWG response, progression) on top of the simulated drugs,
//! and the checks of simulated arms against published ones (validation.rs).

pub mod benefit_risk;
pub mod columns;
pub mod dataset;
pub mod escalation;
pub mod exposure;
pub mod lab_error;
pub mod metrics;
pub mod outputs;
pub mod record;
pub mod residual;
pub mod response;
pub mod rules;
pub mod sampling;
pub mod simon;
pub mod simulate;
pub mod trial;
pub mod tumour;
pub mod validation;
