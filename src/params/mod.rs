//! Parameters: the one table of public parameter names and the fields they set, the resolved
//! values of one patient, user overrides and random effects. No serde data and no simulation:
//! `spec` validates its names against this table and resolves patients into these structs.

pub mod effect;
pub mod iiv;
pub mod resolved;
pub mod table;

pub use effect::EffectKind;
pub use iiv::apply_eta;
pub use resolved::{PkParams, PlateletParams};

use std::collections::BTreeMap;

/// Parameter overrides: namespace (drug name, `platelets` or `friberg`) -> name -> value.
pub type Overrides = BTreeMap<String, BTreeMap<String, f64>>;

/// Random effects of one subject: namespace -> parameter -> eta (multiplier exp(eta), or a shift
/// on the logit scale for bounded parameters, see [`apply_eta`]).
pub type Etas = BTreeMap<String, BTreeMap<String, f64>>;
