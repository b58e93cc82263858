//! The per-subject table of a virtual trial: every output column, its name and its values,
//! derived here once (weeks on treatment, dose intensity, relative dose intensity, worst grade)
//! so that the bindings only convert. A new column is one entry of [`subject_columns`].

use super::trial::SubjectResult;
use crate::spec::grading::ctcae_grade;
use crate::spec::patient::Sex;

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    F64(Vec<f64>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
    Str(Vec<&'static str>),
}

impl SubjectResult {
    /// Weeks of treatment started (a patient stopping on day 2 had 1 week): the denominator of
    /// the per-week columns.
    pub fn weeks_started(&self) -> f64 {
        (self.t_treated_h / 168.0 - 1e-9).ceil().max(1.0)
    }

    /// Selinexor delivered per week of treatment started, mg/week.
    pub fn dose_intensity_mg_week(&self) -> f64 {
        self.delivered_mg / self.weeks_started()
    }

    /// Delivered over planned selinexor over the time on treatment (NaN when none was planned).
    pub fn relative_dose_intensity(&self) -> f64 {
        if self.planned_mg > 0.0 {
            self.delivered_mg / self.planned_mg
        } else {
            f64::NAN
        }
    }

    /// Worst CTCAE grade of the continuous platelet trajectory (from its nadir).
    pub fn worst_grade(&self) -> u8 {
        ctcae_grade(self.metrics.nadir)
    }
}

/// The subject table's columns, in order; `param_names` names the IIV parameters' columns
/// (`namespace.param`, in `SubjectResult::params` order). Times are in days.
pub fn subject_columns(rows: &[SubjectResult], param_names: &[String]) -> Vec<(String, Column)> {
    let f = |g: &dyn Fn(&SubjectResult) -> f64| Column::F64(rows.iter().map(g).collect());
    let i = |g: &dyn Fn(&SubjectResult) -> i64| Column::I64(rows.iter().map(g).collect());
    let days = |h: f64| h / 24.0;
    let mut out: Vec<(String, Column)> = Vec::new();
    let mut push = |name: &str, c: Column| out.push((name.to_string(), c));
    push("ID", i(&|r| r.id as i64));
    push("weight", f(&|r| r.patient.weight));
    push("height", f(&|r| r.patient.height));
    push("bsa", f(&|r| r.patient.bsa()));
    push("age", f(&|r| r.patient.age));
    push(
        "sex",
        Column::Str(
            rows.iter()
                .map(|r| match r.patient.sex {
                    Sex::Female => "female",
                    Sex::Male => "male",
                })
                .collect(),
        ),
    );
    push("crcl", f(&|r| r.patient.crcl));
    push("P0", f(&|r| r.metrics.baseline));
    for (k, name) in param_names.iter().enumerate() {
        push(name, f(&|r| r.params[k]));
    }
    push("nadir", f(&|r| r.metrics.nadir));
    push("t_nadir_days", f(&|r| days(r.metrics.t_nadir)));
    push("worst_grade", i(&|r| i64::from(r.worst_grade())));
    push("worst_grade_lab", i(&|r| i64::from(r.worst_grade_lab)));
    for (g, name) in [
        "t_onset_g1_days",
        "t_onset_g2_days",
        "t_onset_g3_days",
        "t_onset_g4_days",
    ]
    .into_iter()
    .enumerate()
    {
        push(name, f(&|r| days(r.metrics.t_onset[g])));
    }
    push("days_g3plus", f(&|r| days(r.metrics.time_g3plus)));
    push("days_g4", f(&|r| days(r.metrics.time_g4)));
    push("t_recovery_days", f(&|r| days(r.metrics.t_recovery)));
    push("days_on_treatment", f(&|r| days(r.t_treated_h)));
    push("dose_intensity_mg_week", f(&|r| r.dose_intensity_mg_week()));
    push("planned_mg_week", f(&|r| r.planned_mg / r.weeks_started()));
    push(
        "relative_dose_intensity",
        f(&|r| r.relative_dose_intensity()),
    );
    push(
        "n_interruptions",
        i(&|r| i64::from(r.rules.n_interruptions)),
    );
    push("n_reductions", i(&|r| i64::from(r.rules.n_reductions)));
    push(
        "stopped_by_rule",
        Column::Bool(rows.iter().map(|r| r.rules.stopped).collect()),
    );
    push("final_level", i(&|r| r.rules.final_level as i64));
    push("auc_week", f(&|r| r.auc / r.weeks_started()));
    push("cmax", f(&|r| r.metrics.cmax));
    push("days_x_above", f(&|r| days(r.metrics.time_x_above)));
    push("x_max", f(&|r| r.metrics.x_max));
    push("n_labs", i(&|r| i64::from(r.n_labs)));
    // Supportive care (docs/supportive_care.md): transfusions (the regimen's and the rules'),
    // and when a rule first started a withheld drug (a TPO-RA rescue).
    push(
        "n_transfusions",
        i(&|r| i64::from(r.support.n_transfusions)),
    );
    push("units_transfused", f(&|r| r.support.units_transfused));
    push("t_rescue_start_days", f(&|r| days(r.support.t_first_start)));
    push("rhs_evals", i(&|r| r.rhs_evals as i64));
    efficacy_columns(rows, &mut push);
    out
}

/// The platelet counts read at the scheduled lab visits `grid` (h), one row per subject
/// (row-major, `rows.len() x grid.len()`), NaN where the subject had no visit (after
/// discontinuation).
pub fn lab_count_grid(rows: &[SubjectResult], grid: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; rows.len() * grid.len()];
    for (r, row) in rows.iter().zip(out.chunks_mut(grid.len().max(1))) {
        for &(t, count) in &r.labs {
            if let Some(j) = grid.iter().position(|&g| g == t) {
                if row[j].is_nan() {
                    row[j] = count;
                }
            }
        }
    }
    out
}

/// The efficacy columns: tumour parameters, M-protein, IMWG response, progression and PFS.
fn efficacy_columns(rows: &[SubjectResult], push: &mut dyn FnMut(&str, Column)) {
    let f = |g: &dyn Fn(&SubjectResult) -> f64| Column::F64(rows.iter().map(g).collect());
    let b = |g: &dyn Fn(&SubjectResult) -> bool| Column::Bool(rows.iter().map(g).collect());
    let days = |h: f64| h / 24.0;
    push("tumour_growth_rate", f(&|r| r.tumour.kg));
    push("tumour_resistance_rate", f(&|r| r.tumour.lambda));
    push("tumour_sensitivity", f(&|r| r.tumour.sensitivity));
    push("mprotein_baseline", f(&|r| r.efficacy.m0));
    push("mprotein_nadir", f(&|r| r.efficacy.m_nadir));
    push(
        "best_response",
        Column::Str(rows.iter().map(|r| r.efficacy.best.as_str()).collect()),
    );
    push("responder", b(&|r| r.efficacy.responder()));
    push("vgpr_or_better", b(&|r| r.efficacy.vgpr_or_better()));
    push("progressed", b(&|r| r.efficacy.progressed()));
    push(
        "t_progression_days",
        f(&|r| days(r.efficacy.t_progression_h)),
    );
    push("died_without_progression", b(&|r| r.efficacy.died));
    push("pfs_days", f(&|r| days(r.efficacy.pfs_h)));
    push("pfs_event", b(&|r| r.efficacy.pfs_event));
}
