//! Cubic Hermite interpolation of one step from its end values and derivatives, and threshold
//! crossings of the interpolant.

/// The cubic Hermite interpolant through (0, p0, slope h d0) and (1, p1, slope h d1), at s.
#[inline]
pub fn hermite(p0: f64, d0: f64, p1: f64, d1: f64, h: f64, s: f64) -> f64 {
    let (s2, s3) = (s * s, s * s * s);
    (2.0 * s3 - 3.0 * s2 + 1.0) * p0
        + (s3 - 2.0 * s2 + s) * h * d0
        + (-2.0 * s3 + 3.0 * s2) * p1
        + (s3 - s2) * h * d1
}

/// Time at which the cubic Hermite interpolant of a step crosses `th`, for end values on
/// opposite sides of it (Illinois regula falsi on the bracket; linear interpolation if the
/// derivatives are not finite).
pub fn hermite_crossing(t0: f64, p0: f64, d0: f64, t1: f64, p1: f64, d1: f64, th: f64) -> f64 {
    let h = t1 - t0;
    let linear = (th - p0) / (p1 - p0);
    if !(d0.is_finite() && d1.is_finite()) {
        return t0 + linear * h;
    }
    let g = |s: f64| hermite(p0, d0, p1, d1, h, s) - th;
    let (mut a, mut b) = (0.0, 1.0);
    let (mut ga, mut gb) = (p0 - th, p1 - th);
    let mut side = 0;
    for _ in 0..100 {
        let s = (a * gb - b * ga) / (gb - ga);
        let gs = g(s);
        if gs == 0.0 || (b - a) < 1e-13 {
            return t0 + s * h;
        }
        if (gs < 0.0) == (gb < 0.0) {
            (b, gb) = (s, gs);
            if side == -1 {
                ga *= 0.5;
            }
            side = -1;
        } else {
            (a, ga) = (s, gs);
            if side == 1 {
                gb *= 0.5;
            }
            side = 1;
        }
    }
    t0 + 0.5 * (a + b) * h
}
