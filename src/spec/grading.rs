//! CTCAE v4.03 grading of "platelet count decreased": the one definition the engine, its metrics,
//! dose rules and the Python package use.

/// CTCAE v4.03 "platelet count decreased" grade of a count in 10^9/L (LLN 150).
/// (NaN grades 0.)
pub fn ctcae_grade(plt: f64) -> u8 {
    GRADE_THRESHOLDS.iter().filter(|&&t| plt < t).count() as u8
}

/// Upper bound of each grade, 10^9/L: grade g means plt < GRADE_THRESHOLDS[g-1].
pub const GRADE_THRESHOLDS: [f64; 4] = [150.0, 75.0, 50.0, 25.0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_at_boundaries() {
        assert_eq!(ctcae_grade(150.0), 0);
        assert_eq!(ctcae_grade(149.9), 1);
        assert_eq!(ctcae_grade(75.0), 1);
        assert_eq!(ctcae_grade(74.9), 2);
        assert_eq!(ctcae_grade(50.0), 2);
        assert_eq!(ctcae_grade(49.9), 3);
        assert_eq!(ctcae_grade(25.0), 3);
        assert_eq!(ctcae_grade(24.9), 4);
    }
}
