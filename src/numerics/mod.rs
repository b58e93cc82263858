//! Numerical building blocks with no domain words: the Dormand-Prince integrator, `x^g` tables,
//! cubic Hermite interpolation, Cholesky factorisation.

pub mod cholesky;
pub mod dopri5;
pub mod hermite;
pub mod power;
