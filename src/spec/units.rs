//! Units of parameter values: a user's value in another unit of the same quantity is converted
//! to the library's unit (mL/min to L/h, days to h, ...); a unit that cannot be converted is
//! refused, never ignored.

/// Units of one quantity, with the factor that takes a value in each to the first.
const GROUPS: [&[(&str, f64)]; 7] = [
    &[
        ("L/h", 1.0),
        ("mL/min", 0.06),
        ("L/min", 60.0),
        ("L/day", 1.0 / 24.0),
        ("L/d", 1.0 / 24.0),
        ("mL/h", 1e-3),
    ],
    &[("L", 1.0), ("mL", 1e-3)],
    &[
        ("1/h", 1.0),
        ("1/min", 60.0),
        ("1/day", 1.0 / 24.0),
        ("1/d", 1.0 / 24.0),
    ],
    &[
        ("h", 1.0),
        ("min", 1.0 / 60.0),
        ("day", 24.0),
        ("days", 24.0),
        ("d", 24.0),
    ],
    &[
        ("mg/L", 1.0),
        ("ug/mL", 1.0),
        ("ng/mL", 1e-3),
        ("ug/L", 1e-3),
    ],
    &[("mg/h", 1.0), ("mg/day", 1.0 / 24.0), ("mg/d", 1.0 / 24.0)],
    &[("L/mg/h", 1.0), ("mL/mg/h", 1e-3), ("L/mg/min", 60.0)],
];

/// The factor that takes a value in unit `from` to unit `to` (1 for the same unit), or `None`
/// when they are not units of one quantity this table knows.
pub fn factor(from: &str, to: &str) -> Option<f64> {
    if from.trim() == to.trim() {
        return Some(1.0);
    }
    GROUPS.iter().find_map(|g| {
        let f = g.iter().find(|(u, _)| *u == from.trim())?.1;
        let t = g.iter().find(|(u, _)| *u == to.trim())?.1;
        Some(f / t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_within_a_quantity_only() {
        assert_eq!(factor("L/h", "L/h"), Some(1.0));
        assert!((factor("mL/min", "L/h").unwrap() - 0.06).abs() < 1e-15);
        assert!((factor("day", "h").unwrap() - 24.0).abs() < 1e-15);
        assert_eq!(factor("mL/min", "L"), None);
        assert_eq!(factor("furlongs", "h"), None);
    }
}
