//! Inter-individual variability: how a random effect acts on a parameter.

use super::table;

/// Applies a random effect: `v * exp(eta)`, or on the logit scale for parameters bounded in
/// [0, 1] ([`table::is_bounded`]).
pub fn apply_eta(param: &str, v: f64, eta: f64) -> f64 {
    if table::is_bounded(param) {
        if v <= 0.0 || v >= 1.0 {
            return v; // a logit-normal's typical value at a limit stays there
        }
        let logit = (v / (1.0 - v)).ln() + eta;
        1.0 / (1.0 + (-logit).exp())
    } else {
        v * eta.exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logit_eta_stays_bounded() {
        for eta in [-5.0, 0.0, 5.0] {
            let v = apply_eta("Imax", 0.9, eta);
            assert!(v > 0.0 && v < 1.0);
        }
        assert!((apply_eta("Imax", 0.9, 0.0) - 0.9).abs() < 1e-15);
        assert!((apply_eta("CL", 10.0, 0.1) - 10.0 * 0.1f64.exp()).abs() < 1e-12);
        // a bounded typical value at 0 or 1 (a self-renewing pool, renewal = 1) is every patient's
        for eta in [-5.0, 0.0, 5.0] {
            assert_eq!(apply_eta("renewal", 1.0, eta), 1.0);
            assert_eq!(apply_eta("renewal", 0.0, eta), 0.0);
        }
    }
}
