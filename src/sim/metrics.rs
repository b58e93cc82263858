//! Per-subject platelet and exposure metrics, accumulated step by step while the solver runs
//! (nothing is stored per step): nadir, time to each grade, time in grade >= 3 and 4, recovery,
//! selinexor Cmax and time with XPO1 engagement above a level. Extrema inside a step come from
//! the cubic Hermite interpolant of the step's end values and derivatives, and so do threshold
//! crossings (a bracketed root of that interpolant): fourth-order accurate in the step, so the
//! metrics do not depend on how long the solver's steps are.

use super::tumour::EngagementIntegral;
use crate::engine::events::{Action, ExactFill, StepObserver};
use crate::numerics::hermite::{hermite, hermite_crossing};
use crate::spec::grading::GRADE_THRESHOLDS;

/// Indices the observer reads.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub plt: usize,
    /// (central index, 1/Vc) of the exposure drug (selinexor), if present.
    pub conc: Option<(usize, f64)>,
    /// Index of the exposure drug in `Model::drugs`: the only drug whose states the observer
    /// reads.
    pub drug: Option<usize>,
    pub x: Option<usize>,
    /// Transfused platelets, added to `plt` (the measured count), if the model has them.
    pub ptx: Option<usize>,
}

/// The metrics of one subject (times in hours since the first dose; NaN when not reached).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateletMetrics {
    pub baseline: f64,
    pub nadir: f64,
    pub t_nadir: f64,
    /// First time below 150, 75, 50, 25 (grade >= 1, 2, 3, 4).
    pub t_onset: [f64; 4],
    /// Total time below 50 (grade >= 3) and below 25 (grade 4), h.
    pub time_g3plus: f64,
    pub time_g4: f64,
    /// First grade >= 3 episode: time from falling below 50 to the first return to >= 75.
    pub t_recovery: f64,
    pub cmax: f64,
    /// Time with XPO1 engagement X above the observer's level, h.
    pub time_x_above: f64,
    pub x_max: f64,
}

/// Crossings of one threshold: (time, true when going up).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Crossings {
    pub level: f64,
    pub below_at_start: bool,
    pub events: Vec<(f64, bool)>,
}

impl Crossings {
    /// Time from `t` until the count is back at or above the level (0 if it already is at `t`;
    /// NaN if it never is again).
    pub fn recovery_after(&self, t: f64) -> f64 {
        let below_at_t = self
            .events
            .iter()
            .take_while(|e| e.0 <= t)
            .last()
            .map_or(self.below_at_start, |e| !e.1);
        if !below_at_t {
            return 0.0;
        }
        self.events
            .iter()
            .find(|e| e.0 > t && e.1)
            .map_or(f64::NAN, |e| e.0 - t)
    }
}

/// Accumulates [`PlateletMetrics`] from the solver's steps over `[0, t_stop]`.
pub struct MetricsObserver {
    probe: Probe,
    x_level: f64,
    t_stop: f64,
    /// Last platelet point (time, value, slope) of the whole run, and of the window.
    prev: Option<(f64, f64, f64)>,
    prev_w: Option<(f64, f64, f64)>,
    prev_c: Option<(f64, f64, f64)>,
    /// The peak of the probed drug's central amount inside the coming step (time, amount) from
    /// its modal solution; `Some(None)`: the solver looked and found none
    /// ([`StepObserver::central_peak`]); `None`: not looked for (the Hermite maximum is used).
    exact_peak: Option<Option<(f64, f64)>>,
    prev_x: Option<(f64, f64, f64)>,
    g3_onset: f64,
    pub m: PlateletMetrics,
    /// Crossings of 75 and of the recovery fraction of baseline.
    pub cross75: Crossings,
    pub cross_base: Crossings,
    /// The tumour model's discounted integral of XPO1 engagement over the whole run (when set).
    pub engagement: Option<EngagementIntegral>,
    /// The dose actions the solver applied, when recording (a subject's dataset).
    pub doses: Option<Vec<Action>>,
}

/// Fraction of baseline that counts as "back to baseline" (ASSUMPTION: 90%).
pub const BASELINE_RECOVERY_FRACTION: f64 = 0.9;

/// Minimum (sign = 1) or maximum (sign = -1) of the cubic Hermite interpolant on one step.
fn hermite_extremum(
    t0: f64,
    p0: f64,
    d0: f64,
    t1: f64,
    p1: f64,
    d1: f64,
    sign: f64,
) -> Option<(f64, f64)> {
    // Only when the derivative changes sign the right way inside the step.
    if !(sign * d0 < 0.0 && sign * d1 > 0.0) {
        return None;
    }
    let h = t1 - t0;
    let a = 6.0 * p0 + 3.0 * h * d0 - 6.0 * p1 + 3.0 * h * d1;
    let b = -6.0 * p0 - 4.0 * h * d0 + 6.0 * p1 - 2.0 * h * d1;
    let c = h * d0;
    let roots: [f64; 2] = if a.abs() < 1e-300 {
        [-c / b, f64::NAN]
    } else {
        let disc = b * b - 4.0 * a * c;
        if disc < 0.0 {
            return None;
        }
        let q = -0.5 * (b + b.signum() * disc.sqrt());
        [q / a, c / q]
    };
    let value = |s: f64| hermite(p0, d0, p1, d1, h, s);
    roots
        .iter()
        .filter(|s| s.is_finite() && **s > 0.0 && **s < 1.0)
        .map(|&s| (t0 + s * h, value(s)))
        .min_by(|x, y| (sign * x.1).total_cmp(&(sign * y.1)))
}

impl MetricsObserver {
    pub fn new(probe: Probe, baseline: f64, x_level: f64, t_stop: f64) -> Self {
        Self {
            probe,
            x_level,
            t_stop,
            prev: None,
            prev_w: None,
            prev_c: None,
            exact_peak: None,
            prev_x: None,
            g3_onset: f64::NAN,
            cross75: Crossings {
                level: 75.0,
                below_at_start: baseline < 75.0,
                events: Vec::new(),
            },
            cross_base: Crossings {
                level: BASELINE_RECOVERY_FRACTION * baseline,
                below_at_start: false,
                events: Vec::new(),
            },
            engagement: None,
            doses: None,
            m: PlateletMetrics {
                baseline,
                nadir: baseline,
                t_nadir: 0.0,
                t_onset: [f64::NAN; 4],
                time_g3plus: 0.0,
                time_g4: 0.0,
                t_recovery: f64::NAN,
                cmax: 0.0,
                time_x_above: 0.0,
                x_max: 0.0,
            },
        }
    }

    /// Crossings of 75 and of the baseline fraction, over the whole run.
    fn crossings(&mut self, t: f64, p: f64, d: f64) {
        if let Some((t0, p0, d0)) = self.prev {
            if t > t0 {
                let cross = |th: f64| hermite_crossing(t0, p0, d0, t, p, d, th);
                for c in [&mut self.cross75, &mut self.cross_base] {
                    let th = c.level;
                    if (p0 < th) != (p < th) {
                        c.events.push((cross(th), p >= th));
                    }
                }
            }
        }
        self.prev = Some((t, p, d));
    }

    /// The window metrics (`[0, t_stop]`) of platelets: nadir, onsets, time in grade, recovery.
    fn platelets(&mut self, t: f64, p: f64, d: f64) {
        let m = &mut self.m;
        if let Some((t0, p0, d0)) = self.prev_w {
            if t > t0 {
                if let Some((tm, pm)) = hermite_extremum(t0, p0, d0, t, p, d, 1.0) {
                    if pm < m.nadir {
                        m.nadir = pm;
                        m.t_nadir = tm;
                    }
                }
                // Crossing time of a threshold `th` going down, or up.
                let cross = |th: f64| hermite_crossing(t0, p0, d0, t, p, d, th);
                for (g, &th) in GRADE_THRESHOLDS.iter().enumerate() {
                    if m.t_onset[g].is_nan() && p < th {
                        m.t_onset[g] = if p0 < th { t0 } else { cross(th) };
                    }
                }
                let below = |th: f64| -> f64 {
                    match (p0 < th, p < th) {
                        (true, true) => t - t0,
                        (false, false) => 0.0,
                        (true, false) => cross(th) - t0,
                        (false, true) => t - cross(th),
                    }
                };
                m.time_g3plus += below(50.0);
                m.time_g4 += below(25.0);
                if self.g3_onset.is_nan() && p < 50.0 {
                    self.g3_onset = if p0 < 50.0 { t0 } else { cross(50.0) };
                }
                if !self.g3_onset.is_nan()
                    && m.t_recovery.is_nan()
                    && p >= 75.0
                    && p0 < 75.0
                    && t > self.g3_onset
                {
                    m.t_recovery = cross(75.0) - self.g3_onset;
                }
            }
        }
        if p < m.nadir {
            m.nadir = p;
            m.t_nadir = t;
        }
        self.prev_w = Some((t, p, d));
    }

    /// Window metrics of the selinexor concentration (Cmax): the step's maximum from the modal
    /// solution when the solver reported it, else from the cubic Hermite interpolant.
    fn conc(&mut self, t: f64, c: f64, dc: f64, exact_peak: Option<Option<(f64, f64)>>) {
        match exact_peak {
            Some(peak) => {
                if let Some((_, amount)) = peak.filter(|p| p.0 <= t) {
                    let inv_vc = self.probe.conc.map_or(0.0, |(_, v)| v);
                    self.m.cmax = self.m.cmax.max(amount * inv_vc);
                }
            }
            None => {
                if let Some((t0, c0, d0)) = self.prev_c {
                    if let Some((_, cm)) = hermite_extremum(t0, c0, d0, t, c, dc, -1.0) {
                        self.m.cmax = self.m.cmax.max(cm);
                    }
                }
            }
        }
        self.m.cmax = self.m.cmax.max(c);
        self.prev_c = Some((t, c, dc));
    }

    /// Window metrics of XPO1 engagement (time above the level, maximum).
    fn engagement(&mut self, t: f64, x: f64, dx: f64) {
        if let Some((t0, x0, dx0)) = self.prev_x {
            let lv = self.x_level;
            let cross = || hermite_crossing(t0, x0, dx0, t, x, dx, lv);
            self.m.time_x_above += match (x0 > lv, x > lv) {
                (true, true) => t - t0,
                (false, false) => 0.0,
                (true, false) => cross() - t0,
                (false, true) => t - cross(),
            };
        }
        self.m.x_max = self.m.x_max.max(x);
        self.prev_x = Some((t, x, dx));
    }
}

/// Value and slope at `ts` of the cubic Hermite interpolant between `(t0, v0, d0)` and
/// `(t1, v1, d1)`.
fn hermite_at((t0, v0, d0): (f64, f64, f64), (t1, v1, d1): (f64, f64, f64), ts: f64) -> (f64, f64) {
    let h = t1 - t0;
    let s = (ts - t0) / h;
    let slope = ((6.0 * s * s - 6.0 * s) * (v0 - v1)) / h
        + (3.0 * s * s - 4.0 * s + 1.0) * d0
        + (3.0 * s * s - 2.0 * s) * d1;
    (hermite(v0, d0, v1, d1, h, s), slope)
}

impl StepObserver for MetricsObserver {
    fn dose(&mut self, action: &Action) {
        if let Some(d) = self.doses.as_mut() {
            d.push(*action);
        }
    }

    fn central_peak(&mut self, peak: Option<(f64, f64)>) {
        self.exact_peak = Some(peak);
    }

    fn exact_drugs(&self) -> ExactFill {
        // Cmax needs the central amount and its slope only.
        self.probe.drug.map_or(ExactFill::None, ExactFill::Central)
    }

    fn step(&mut self, t: f64, y: &[f64], dy: &[f64]) {
        let (p, d) = match self.probe.ptx {
            Some(i) => (y[self.probe.plt] + y[i], dy[self.probe.plt] + dy[i]),
            None => (y[self.probe.plt], dy[self.probe.plt]),
        };
        self.crossings(t, p, d);
        let exact_peak = self.exact_peak.take();
        let c = self
            .probe
            .conc
            .map(|(ic, inv_vc)| (y[ic] * inv_vc, dy[ic] * inv_vc));
        let x = self.probe.x.map(|ix| (y[ix], dy[ix]));
        if let (Some(e), Some((x, dx))) = (self.engagement.as_mut(), x) {
            e.step(t, x, dx);
        }
        let ts = self.t_stop;
        if t > ts + 1e-9 {
            // The step that leaves the window still counts up to t_stop (interpolated).
            if let Some(pw) = self.prev_w.filter(|pw| pw.0 < ts && t > pw.0) {
                let (p_s, d_s) = hermite_at(pw, (t, p, d), ts);
                self.platelets(ts, p_s, d_s);
                if let (Some(pc), Some((c, dc))) = (self.prev_c, c) {
                    let (v, dv) = hermite_at(pc, (t, c, dc), ts);
                    self.conc(ts, v, dv, exact_peak);
                }
                if let (Some(px), Some((x, dx))) = (self.prev_x, x) {
                    let (v, dv) = hermite_at(px, (t, x, dx), ts);
                    self.engagement(ts, v, dv);
                }
            }
            return;
        }
        self.platelets(t, p, d);
        if let Some((c, dc)) = c {
            self.conc(t, c, dc, exact_peak);
        }
        if let Some((x, dx)) = x {
            self.engagement(t, x, dx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hermite_finds_parabola_minimum() {
        // p(t) = (t - 0.3)^2 on [0, 1]: minimum 0 at 0.3.
        let (tm, pm) = hermite_extremum(0.0, 0.09, -0.6, 1.0, 0.49, 1.4, 1.0).unwrap();
        assert!((tm - 0.3).abs() < 1e-12 && pm.abs() < 1e-12, "{tm} {pm}");
        assert!(hermite_extremum(0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0).is_none());
    }

    #[test]
    fn crossings_are_exact_for_a_quadratic_trajectory_on_long_steps() {
        // p(t) = 100 - 8 t + t^2/4 (minimum 36 at t = 16) seen every 10 h: the Hermite
        // interpolant reproduces it, so crossing times are exact where linear ones are not.
        let probe = Probe {
            plt: 0,
            conc: None,
            drug: None,
            x: None,
            ptx: None,
        };
        let mut o = MetricsObserver::new(probe, 100.0, 0.5, 1e9);
        for t in [0.0, 10.0, 20.0, 30.0, 40.0] {
            o.step(t, &[100.0 - 8.0 * t + 0.25 * t * t], &[-8.0 + 0.5 * t]);
        }
        let (r50, r75) = (2.0 * 14f64.sqrt(), 2.0 * 39f64.sqrt());
        // Below 50 from 16 - r50 to 16 + r50; back to >= 75 at 16 + r75.
        assert!(
            (o.m.time_g3plus - 2.0 * r50).abs() < 1e-9,
            "{}",
            o.m.time_g3plus
        );
        assert!((o.m.t_onset[2] - (16.0 - r50)).abs() < 1e-9);
        assert!((o.m.t_recovery - (r75 + r50)).abs() < 1e-9);
        assert!((o.m.nadir - 36.0).abs() < 1e-9 && (o.m.t_nadir - 16.0).abs() < 1e-9);
    }

    #[test]
    fn the_step_leaving_the_window_counts_up_to_t_stop() {
        // Below 50 throughout; the window ends at 25 h inside a step from 20 to 40 h.
        let probe = Probe {
            plt: 0,
            conc: None,
            drug: None,
            x: Some(1),
            ptx: None,
        };
        let mut o = MetricsObserver::new(probe, 100.0, 0.5, 25.0);
        for t in [0.0, 20.0, 40.0] {
            o.step(t, &[40.0 - 0.1 * t, 0.8], &[-0.1, 0.0]);
        }
        assert!(
            (o.m.time_g3plus - 25.0).abs() < 1e-12,
            "{}",
            o.m.time_g3plus
        );
        assert!((o.m.time_x_above - 25.0).abs() < 1e-12);
        assert!((o.m.nadir - 37.5).abs() < 1e-12 && (o.m.t_nadir - 25.0).abs() < 1e-12);
    }

    #[test]
    fn crossing_falls_back_to_linear_without_derivatives() {
        let t = hermite_crossing(0.0, 100.0, f64::NAN, 10.0, 40.0, 0.0, 50.0);
        assert!((t - 25.0 / 3.0).abs() < 1e-12);
    }
}
