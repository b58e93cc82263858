//! selinexor-pkpd: compartment PK of selinexor and its partner drugs, XPO1 engagement and a
//! TPO-driven platelet model, simulated per patient and over virtual populations.
//!
//! Layers, each importing only from those before it (docs/architecture.md; `tools/check_layers.py`
//! enforces it): `error` -> `numerics` -> `params` -> `spec` -> `pk` -> `engine` -> `sim` ->
//! `bindings`. The core is plain Rust; `bindings` alone converts to and from Python.

pub mod engine;
pub mod error;
pub mod numerics;
pub mod params;
pub mod pk;
pub mod sim;
pub mod spec;

mod bindings;

pub use error::{ModelError, Result};
pub use spec::library::Library;
pub use spec::patient::Patient;
pub use spec::regimen::Regimen;
