//! The engine: one patient's compiled ODE system (state layout, rate constants, right-hand side),
//! exact segments between events, events and observers, and the piecewise solver.

pub mod events;
pub mod model;
pub mod platelets;
#[cfg(feature = "reference")]
mod reference;
pub mod rhs;
pub mod segment;
pub mod solver;
