//! Numerical building blocks with no domain words: the Dormand-Prince integrator, `x^g` tables,
//! cubic Hermite interpolation, Cholesky factorisation, a Radau IIA solver of a scalar linear ODE.

pub mod cholesky;
pub mod dopri5;
pub mod hermite;
pub mod power;
pub mod radau;
