//! Compartment PK: closed-form solutions of the linear models.

pub mod closed_form;
