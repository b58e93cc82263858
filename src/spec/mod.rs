//! What users write: the library (drugs, platelet-model parameters, regimens, populations, dose
//! rules) as serde data with its validation, patients, CTCAE grading, and the resolution of one
//! patient's parameters from the library. Nothing here simulates.

pub mod cmt;
pub mod covariate_steps;
pub mod dataset;
pub mod dose_rules;
pub mod drug;
pub mod efficacy;
pub mod grading;
pub mod input;
pub mod library;
pub mod patient;
pub mod platelet_model;
pub mod population;
pub mod regimen;
pub mod residual;
pub mod resolve;
pub mod units;
