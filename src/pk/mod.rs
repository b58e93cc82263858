//! Compartment PK: closed-form solutions of the linear models (superposition of doses) and the
//! modal solution of one linear drug over a segment.

pub mod closed_form;
pub mod modes;
pub mod steady_state;
