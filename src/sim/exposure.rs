//! Exposure metrics over time windows: Cmax, Tmax, Cmin and AUC three ways (trapezoid on a
//! dense grid, the ODE's integrated AUC state, and the exact closed form for linear drugs).

use super::simulate::Simulation;
use crate::error::{ModelError, Result};
use crate::pk::closed_form;

/// Metrics of one drug over one window `[start, end]` (h).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowMetrics {
    pub start: f64,
    pub end: f64,
    /// mg/L
    pub cmax: f64,
    /// h (absolute time)
    pub tmax: f64,
    pub cmin: f64,
    /// mg.h/L, trapezoid on the grid
    pub auc_trapz: f64,
    /// mg.h/L, from the integrated AUC state of the ODE
    pub auc_ode: f64,
    /// mg.h/L, closed form (NaN for nonlinear drugs: see `auc_ode`)
    pub auc_exact: f64,
}

/// Most grid points an exposure computation may use.
pub const MAX_POINTS: f64 = 5e6;

/// A grid covering every window with spacing at most `dt` and containing each window's ends.
pub fn window_grid(windows: &[(f64, f64)], dt: f64) -> Result<Vec<f64>> {
    if !(dt.is_finite() && dt > 0.0) {
        return Err(ModelError::new("dt_h", format!("must be > 0, got {dt}")));
    }
    let mut g = Vec::new();
    for (i, &(a, b)) in windows.iter().enumerate() {
        if !(a.is_finite() && b.is_finite() && a >= 0.0 && b > a) {
            return Err(ModelError::new(
                format!("windows[{i}]"),
                format!("need 0 <= start < end, got ({a}, {b})"),
            ));
        }
        let n = ((b - a) / dt).ceil().max(1.0);
        if n + g.len() as f64 > MAX_POINTS {
            return Err(ModelError::new(
                "dt_h",
                format!("{dt} h over these windows needs more than {MAX_POINTS} grid points"),
            ));
        }
        let n = n as usize;
        g.extend((0..=n).map(|k| a + (b - a) * k as f64 / n as f64));
    }
    g.sort_by(f64::total_cmp);
    g.dedup();
    Ok(g)
}

/// Computes the metrics of `drug` on each window from a simulation sampled on [`window_grid`].
pub fn metrics(sim: &Simulation, drug: &str, windows: &[(f64, f64)]) -> Result<Vec<WindowMetrics>> {
    let (_, slot) = sim
        .model
        .drug(drug)
        .ok_or_else(|| ModelError::new("drug", format!("{drug:?} is not in this regimen")))?;
    let doses: Vec<_> = sim
        .events
        .iter()
        .filter(|e| e.drug == drug)
        .cloned()
        .collect();
    let conc: Vec<f64> = sim.states.iter().map(|y| slot.conc(y)).collect();
    let mut out = Vec::with_capacity(windows.len());
    for &(a, b) in windows {
        let lo = sim.times.partition_point(|&t| t < a);
        let hi = sim.times.partition_point(|&t| t <= b);
        if hi <= lo + 1 {
            return Err(ModelError::new(
                "windows",
                format!("window ({a}, {b}) has fewer than 2 grid points"),
            ));
        }
        let (ts, cs) = (&sim.times[lo..hi], &conc[lo..hi]);
        let (mut cmax, mut tmax, mut cmin) = (f64::MIN, a, f64::MAX);
        let mut trapz = 0.0;
        for i in 0..ts.len() {
            if cs[i] > cmax {
                cmax = cs[i];
                tmax = ts[i];
            }
            cmin = cmin.min(cs[i]);
            if i > 0 {
                trapz += 0.5 * (cs[i] + cs[i - 1]) * (ts[i] - ts[i - 1]);
            }
        }
        let auc_ode = sim.states[hi - 1][slot.auc] - sim.states[lo][slot.auc];
        // The closed form superposes single doses: no reference for nonlinear drugs or
        // steady-state doses.
        let auc_exact = if slot.pk.mm || doses.iter().any(|e| e.ss != 0) {
            f64::NAN
        } else {
            closed_form::auc(&slot.pk, &doses, a, b)?
        };
        out.push(WindowMetrics {
            start: a,
            end: b,
            cmax,
            tmax,
            cmin,
            auc_trapz: trapz,
            auc_ode,
            auc_exact,
        });
    }
    Ok(out)
}
