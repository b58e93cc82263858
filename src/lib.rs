//! selinexor-pkpd: compartment PK of selinexor and its partner drugs, XPO1 engagement and a
//! TPO-driven platelet model, simulated per patient and over virtual populations.
//!
//! The core modules are plain Rust; `bindings` alone converts to and from Python.

pub mod dopri5;
pub mod drug;
pub mod error;
pub mod exposure;
pub mod library;
pub mod mathfn;
pub mod metrics;
pub mod model;
pub mod patient;
pub mod pk;
pub mod platelets;
pub mod population;
pub mod regimen;
pub mod rules;
pub mod simulate;
pub mod solver;
pub mod trial;

mod bindings;

pub use error::{ModelError, Result};
pub use library::Library;
pub use patient::Patient;
pub use regimen::Regimen;
