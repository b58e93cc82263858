//! Cholesky factorisation of a covariance matrix.

use crate::error::{ModelError, Result};

/// Lower Cholesky factor; fails when the matrix is not symmetric positive definite.
pub fn cholesky(m: &[Vec<f64>], field: &str) -> Result<Vec<Vec<f64>>> {
    let n = m.len();
    for (i, row) in m.iter().enumerate() {
        if row.len() != n {
            return Err(ModelError::new(
                field,
                format!("row {i} has {} entries, expected {n}", row.len()),
            ));
        }
        for (j, v) in row.iter().enumerate() {
            if !v.is_finite() || (v - m[j][i]).abs() > 1e-12 * v.abs().max(1.0) {
                return Err(ModelError::new(
                    field,
                    format!("must be finite and symmetric (entry [{i}][{j}] = {v})"),
                ));
            }
        }
    }
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - s;
                if d <= 0.0 {
                    return Err(ModelError::new(
                        field,
                        "covariance matrix is not positive definite",
                    ));
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - s) / l[j][j];
            }
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_rejects_indefinite() {
        let m = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        assert!(cholesky(&m, "omega").is_err());
        let l = cholesky(&[vec![4.0, 2.0], vec![2.0, 3.0]], "omega").unwrap();
        assert!((l[0][0] - 2.0).abs() < 1e-15 && (l[1][0] - 1.0).abs() < 1e-15);
        assert!((l[1][1] - 2f64.sqrt()).abs() < 1e-15);
    }
}
