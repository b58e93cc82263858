//! Virtual trials: one regimen over a population, with dose rules, time on treatment, lab
//! visits and per-subject metrics, in parallel with rayon. Subject `i` depends only on
//! (seed, i), so results are bit-identical for any thread count and any chunking.

use super::lab_error::NoisyLabs;
use super::metrics::{MetricsObserver, PlateletMetrics, Probe};
use super::response::{assess, EfficacyOutcome};
use super::rules::{RuleController, RuleOutcome, RuleSets, SupportOutcome, Withheld};
use super::sampling::{IivModel, Subject};
use super::simulate::{build_model, check_times, run_events};
use super::tumour::{assessment_times, m_protein, EngagementIntegral, PartnerDose, TumourParams};
use crate::engine::events::{Action, LabController};
use crate::engine::model::Model;
use crate::engine::solver::SolverOptions;
use crate::error::{non_negative, ModelError, Result};
use crate::params::Overrides;
use crate::spec::dose_rules::{DoseRules, RuleAction};
use crate::spec::grading::ctcae_grade;
use crate::spec::library::Library;
use crate::spec::patient::Patient;
use crate::spec::platelet_model::PlateletModel;
use crate::spec::population::PopulationSpec;
use crate::spec::regimen::{DoseEvent, Regimen, TRANSFUSION};
use crate::spec::residual::ErrorModel;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// An explicit patient (one row of a user's table).
#[derive(Debug, Clone, PartialEq)]
pub struct PatientRow {
    pub patient: Patient,
    pub overrides: Overrides,
    pub t_disc_days: Option<f64>,
}

/// Everything a virtual trial needs, validated once.
pub struct TrialSetup {
    pub lib: Library,
    pub regimen: Regimen,
    pub population: PopulationSpec,
    pub iiv: IivModel,
    pub rules: Option<DoseRules>,
    pub over: Overrides,
    pub horizon_h: f64,
    pub platelet_model: PlateletModel,
    pub opts: SolverOptions,
    pub seed: u64,
    /// Trajectory output times (h); empty for none.
    pub observe: Vec<f64>,
    pub rows: Option<Vec<PatientRow>>,
    /// XPO1 engagement level for `days_x_above`.
    pub x_level: f64,
    /// Days after discontinuation that still count for toxicity (CTCAE reporting window).
    pub follow_up_days: f64,
    /// Compute the efficacy outcome (false: the efficacy columns are NaN / false / "NE", for
    /// toxicity-only runs and for measuring the efficacy model's cost).
    pub efficacy: bool,
    /// Stop treatment at progression (the assessment that shows it), on top of discontinuation
    /// and the dose rules. Needs `efficacy`.
    pub stop_at_progression: bool,
    /// Observation error of the lab platelet counts that grading and dose rules read (None:
    /// the model's counts).
    pub lab_error: Option<ErrorModel>,
    drugs: Vec<String>,
    /// The model needs the transfused-platelet state (the regimen or a rule transfuses).
    transfusion: bool,
    /// The regimen at each reduced dose level of the rules (level 0, the regimen as planned,
    /// left out); empty without rules.
    reduced_levels: Vec<Regimen>,
    /// Response-assessment times, h.
    assessments: Vec<f64>,
    /// The regimen's drugs with a tumour kill: (name, log-kill per mg, effect elimination 1/day).
    partner_kill: Vec<(String, f64, f64)>,
    /// Rule sets after the first ([`TrialSetup::with_rule_sets`]), each with its reduced levels.
    more_rules: Vec<(DoseRules, Vec<Regimen>)>,
    /// Per rule set (the primary first): the levels its increase rules reach above the
    /// regimen's dose, with their amounts, and the amounts of its own and reduced levels
    /// (empty for a set without increase rules).
    above_levels: Vec<AboveLevels>,
}

/// The levels above a regimen's dose that a set's increase rules reach ((amount, regimen),
/// the next higher first), and the amounts of the regimen's own and reduced levels.
type AboveLevels = (Vec<(f64, Regimen)>, Vec<f64>);

/// What one subject was given and showed ([`TrialSetup::run_recorded`]).
#[derive(Debug, Clone)]
pub struct SubjectRecord {
    /// The dose actions the solver applied, in time order.
    pub applied: Vec<Action>,
    /// The doses of the regimen's drugs that the trial does not simulate (no platelet effect),
    /// as planned until the end of treatment.
    pub not_simulated: Vec<DoseEvent>,
    /// The full state at each output time.
    pub states: Vec<Vec<f64>>,
    pub model: Model,
}

/// One subject's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectResult {
    pub id: usize,
    pub patient: Patient,
    /// Individual values of the parameters with IIV, in `TrialSetup::iiv.params` order.
    pub params: Vec<f64>,
    pub metrics: PlateletMetrics,
    pub worst_grade_lab: u8,
    pub n_labs: u32,
    pub rules: RuleOutcome,
    /// What the supportive-care rules did (transfusions, rescue starts), all rule sets; the
    /// transfusions include the regimen's own.
    pub support: SupportOutcome,
    /// Time on treatment, h: until discontinuation, a stop by the dose rules, or the end.
    pub t_treated_h: f64,
    /// Selinexor delivered, mg, and planned over the same time on treatment.
    pub delivered_mg: f64,
    pub planned_mg: f64,
    /// Selinexor AUC over the whole simulation, mg.h/L.
    pub auc: f64,
    /// After the last selinexor dose: time until platelets are >= 75, and >= 90% of baseline
    /// (h; 0 when already there, NaN when not reached within the simulation).
    pub t_recovery75_after_last: f64,
    pub t_recovery_baseline_after_last: f64,
    /// Time of the last selinexor dose, h (NaN if none).
    pub t_last_dose: f64,
    /// PLT at the observation times.
    pub trajectory: Vec<f64>,
    /// The scheduled lab visits of this subject (until discontinuation) as the grading and the
    /// dose rules read them: (time h, platelet count, with the lab error when there is one), in
    /// order. Rechecks between scheduled visits are left out (they count in `n_labs` and
    /// `worst_grade_lab`).
    pub labs: Vec<(f64, f64)>,
    pub rhs_evals: u64,
    /// The tumour parameters and the efficacy outcome (M-protein, response, progression).
    pub tumour: TumourParams,
    pub efficacy: EfficacyOutcome,
}

impl TrialSetup {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        lib: Library,
        regimen: Regimen,
        population: PopulationSpec,
        rules: Option<DoseRules>,
        over: Overrides,
        days: f64,
        platelet_model: PlateletModel,
        opts: SolverOptions,
        seed: u64,
        observe_days: Vec<f64>,
        rows: Option<Vec<PatientRow>>,
    ) -> Result<Self> {
        if !(days.is_finite() && days > 0.0) {
            return Err(ModelError::new(
                "days",
                format!("must be finite and > 0, got {days}"),
            ));
        }
        if platelet_model == PlateletModel::None {
            return Err(ModelError::new(
                "platelet_model",
                "a virtual trial needs a platelet model",
            ));
        }
        opts.validate()?;
        regimen.validate()?;
        population.validate()?;
        lib.check_overrides(&over, "params")?;
        // the population's own typical values, under the run's `over`
        let mut typical = population.typical_values()?;
        lib.check_overrides(&typical, "population.typical")?;
        for (ns, params) in over {
            typical.entry(ns).or_default().extend(params);
        }
        let over = typical;
        if let Some(r) = &rules {
            r.validate()?;
        }
        if let Some(rows) = &rows {
            if rows.is_empty() {
                return Err(ModelError::new("population", "the patient table is empty"));
            }
            for (i, r) in rows.iter().enumerate() {
                r.patient
                    .validate()
                    .map_err(|e| e.within(&format!("patients[{i}]")))?;
                if let Some(d) = r.t_disc_days {
                    non_negative(&format!("patients[{i}].disc_days"), d)?;
                }
                lib.check_overrides(&r.overrides, &format!("patients[{i}]"))?;
            }
        }
        check_times(&observe_days).map_err(|e| e.within("observe"))?;
        let observe: Vec<f64> = observe_days.iter().map(|d| d * 24.0).collect();
        // Only drugs that act on platelets enter the ODE system of a trial.
        let drugs: Vec<String> = regimen
            .drugs()
            .into_iter()
            .map(|d| lib.drug(&d).map(|s| (d, s.effect.is_some())))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter_map(|(d, acts)| acts.then_some(d))
            .collect();
        let mut lib_iiv = BTreeMap::new();
        for d in &drugs {
            for (p, cv) in &lib.drug(d)?.iiv {
                lib_iiv.insert(format!("{d}.{p}"), *cv);
            }
        }
        let known = |ns: &str, p: &str| lib.check_param_name(ns, p);
        let iiv = population.iiv_model(&lib_iiv, &known)?;
        let transfusion = regimen.has_transfusion();
        let reduced_levels = match &rules {
            Some(r) if r.rules.iter().any(|x| x.action.needs_ladder()) => {
                r.levels_for(&regimen)?.split_off(1)
            }
            _ => Vec::new(),
        };
        let assessments = assessment_times(lib.efficacy.assessment_days.value, days * 24.0);
        let partner_kill = regimen
            .drugs()
            .into_iter()
            .filter_map(|d| {
                let p = lib.efficacy.partners.get(&d)?;
                let per_mg = p.kill.value / p.reference_mg.value;
                Some((d, per_mg, std::f64::consts::LN_2 / p.effect_half_life.value))
            })
            .collect();
        Ok(Self {
            lib,
            regimen,
            population,
            iiv,
            rules,
            over,
            horizon_h: days * 24.0,
            platelet_model,
            opts,
            seed,
            observe,
            rows,
            x_level: 0.5,
            follow_up_days: 30.0,
            efficacy: true,
            stop_at_progression: false,
            lab_error: None,
            drugs,
            transfusion,
            reduced_levels,
            assessments,
            partner_kill,
            more_rules: Vec::new(),
            above_levels: Vec::new(),
        })
        .and_then(|mut t: Self| {
            if let Some(r) = t.rules.clone() {
                t.check_rule_set(&r)?;
                t.check_transfused_quantity(&r)?;
                t.above_levels = vec![t.levels_above_of(&r)?];
            }
            Ok(t)
        })
    }

    /// Stops treatment at progression; the population's discontinuation for other reasons
    /// (`discontinuation_other`), when it has one, replaces its overall one, whose median
    /// already includes progression ([`PopulationSpec::stopping_at_progression`]).
    pub fn stopping_at_progression(mut self) -> Self {
        self.stop_at_progression = true;
        self.population = self.population.stopping_at_progression();
        self
    }

    /// Several rule sets in one run, replacing the rules given to [`TrialSetup::new`]: each
    /// sees every lab visit, in order; the first is the primary one (its drug's dose intensity
    /// and rule outcome are the subject's columns). Errors name the set: `dose_rules[k]...`.
    pub fn with_rule_sets(mut self, sets: Vec<DoseRules>) -> Result<Self> {
        let name = |k: usize| move |e: ModelError| in_set(e, k);
        let mut more = Vec::new();
        self.rules = None;
        self.reduced_levels = Vec::new();
        self.above_levels = Vec::new();
        for (k, set) in sets.into_iter().enumerate() {
            set.validate().map_err(name(k))?;
            self.check_rule_set(&set).map_err(name(k))?;
            let levels = self.levels_of(&set).map_err(name(k))?;
            let above = self.levels_above_of(&set).map_err(name(k))?;
            self.above_levels.push(above);
            if k == 0 {
                self.reduced_levels = levels;
                self.rules = Some(set);
            } else {
                more.push((set, levels));
            }
        }
        self.more_rules = more;
        let sets = self
            .rules
            .iter()
            .chain(self.more_rules.iter().map(|(r, _)| r));
        for (k, set) in sets.enumerate() {
            self.check_transfused_quantity(set).map_err(name(k))?;
        }
        Ok(self)
    }

    /// A rule set reading `PLT_TX` needs a run that transfuses (checked once every set is
    /// known, since any set's `transfuse` rule adds the state).
    fn check_transfused_quantity(&self, set: &DoseRules) -> Result<()> {
        if set.quantity == "PLT_TX" && !self.transfusion {
            return Err(ModelError::new(
                "dose_rules.quantity",
                "\"PLT_TX\" needs transfusions in the run (a platelet_transfusion line in the \
                 regimen or a transfuse rule)",
            ));
        }
        Ok(())
    }

    /// The reduced levels of a rule set (none when no rule needs its ladder).
    fn levels_of(&self, set: &DoseRules) -> Result<Vec<Regimen>> {
        if set.rules.iter().any(|r| r.action.needs_ladder()) {
            Ok(set.levels_for(&self.regimen)?.split_off(1))
        } else {
            Ok(Vec::new())
        }
    }

    /// The levels a set's increase rules reach, and its levels' amounts (none without them).
    fn levels_above_of(&self, set: &DoseRules) -> Result<AboveLevels> {
        if set.rules.iter().any(|r| r.action == RuleAction::Increase) {
            Ok((
                set.levels_above_for(&self.regimen)?,
                set.level_amounts(&self.regimen)?,
            ))
        } else {
            Ok((Vec::new(), Vec::new()))
        }
    }

    /// Checks a rule set against the run: the drugs it names are dosed, its quantity is
    /// simulated; a set that transfuses turns on the transfused-platelet state.
    fn check_rule_set(&mut self, set: &DoseRules) -> Result<()> {
        let dosed = self.regimen.drugs();
        let quantity_drug = set
            .quantity
            .strip_prefix("C_")
            .or_else(|| set.quantity.strip_prefix("AUC_"));
        if let Some(d) = quantity_drug {
            if !self.drugs.iter().any(|x| x == d) {
                return Err(ModelError::new(
                    "dose_rules.quantity",
                    format!(
                        "{:?}: {d:?} is not simulated in this trial (only drugs of the regimen \
                         that act on platelets are: {})",
                        set.quantity,
                        self.drugs.join(", ")
                    ),
                ));
            }
        }
        if matches!(set.quantity.as_str(), "X" | "E")
            && !self.drugs.iter().any(|d| d == "selinexor")
        {
            return Err(ModelError::new(
                "dose_rules.quantity",
                format!("{:?} needs selinexor in the regimen", set.quantity),
            ));
        }
        if set.quantity == "TPO" && self.platelet_model != PlateletModel::Tpo {
            return Err(ModelError::new(
                "dose_rules.quantity",
                "\"TPO\" needs platelet_model = \"tpo\"",
            ));
        }
        for (i, r) in set.rules.iter().enumerate() {
            for (field, d) in [
                ("drug", &r.drug),
                ("while_held", &r.while_held),
                ("unless_held", &r.unless_held),
                ("unless_stopped", &r.unless_stopped),
            ] {
                if let Some(d) = d {
                    if !dosed.contains(d) {
                        return Err(ModelError::new(
                            format!("dose_rules.rules[{i}].{field}"),
                            format!(
                                "{d:?} is not dosed in the regimen (dosed: {})",
                                dosed.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        if set.transfuses() {
            self.transfusion = true;
        }
        Ok(())
    }

    /// Number of subjects when a patient table is given.
    /// The scheduled lab visits of the regimen within the horizon, h: every subject's scheduled
    /// visits are among them (fewer when treatment ends early).
    pub fn lab_grid(&self) -> Vec<f64> {
        self.regimen.lab_times(self.horizon_h)
    }

    pub fn table_len(&self) -> Option<usize> {
        self.rows.as_ref().map(Vec::len)
    }

    /// Subject `id` (sampled, or row `id` of the table).
    pub fn subject(&self, id: usize) -> Result<Subject> {
        match &self.rows {
            None => Ok(self.population.sample(&self.iiv, self.seed, id)),
            Some(rows) => {
                let r = rows
                    .get(id)
                    .ok_or_else(|| ModelError::new("population", format!("no patient row {id}")))?;
                Ok(self.population.from_row(
                    &self.iiv,
                    self.seed,
                    id,
                    r.patient.clone(),
                    r.overrides.clone(),
                    r.t_disc_days,
                ))
            }
        }
    }

    fn model_for(&self, s: &Subject) -> Result<Model> {
        let model = build_model(
            &self.lib,
            &self.drugs,
            &s.patient,
            &self.over,
            Some(&s.etas),
            self.platelet_model,
        )?;
        let model = if self.transfusion {
            model.with_transfusion()
        } else {
            model
        };
        if s.overrides.is_empty() {
            Ok(model)
        } else {
            model.with_individual_values(&s.overrides)
        }
    }

    /// Simulates subject `id`.
    ///
    /// With `stop_at_progression`, a patient still on treatment when progression shows is run
    /// again with treatment ending there: nothing before that time changes (the same events up
    /// to it, hence the same solver steps), so the efficacy outcome, which only looks up to
    /// progression, is the same, and the doses, toxicity and time on treatment are those of a
    /// patient who stops at progression.
    pub fn run_subject(&self, id: usize) -> Result<SubjectResult> {
        Ok(self.run_recorded(id, false)?.0)
    }

    /// [`TrialSetup::run_subject`] with, when `record`, what the subject was given and showed:
    /// the doses actually applied (after the dose rules), the doses of the drugs not simulated
    /// (as planned until the end of treatment), the model and the states at the output times.
    pub fn run_recorded(
        &self,
        id: usize,
        record: bool,
    ) -> Result<(SubjectResult, Option<SubjectRecord>)> {
        let within = |e: ModelError| e.within(&format!("subject[{id}]"));
        let s = self.subject(id)?;
        let first = self.run(&s, record).map_err(within)?;
        let t_prog = first.0.efficacy.t_progression_h;
        if !(self.stop_at_progression && self.efficacy && t_prog < first.0.t_treated_h) {
            return Ok(first);
        }
        let stopped = Subject {
            t_disc_h: t_prog,
            ..s
        };
        let mut second = self.run(&stopped, record).map_err(within)?;
        // The outcome is the first run's (the second computes the same from the same steps;
        // kept from the first so that it cannot differ by a rounding of the last step).
        second.0.efficacy = first.0.efficacy;
        Ok(second)
    }

    fn run(&self, s: &Subject, record: bool) -> Result<(SubjectResult, Option<SubjectRecord>)> {
        let model = self.model_for(s)?;
        let pd = model
            .pd
            .ok_or_else(|| ModelError::new("platelet_model", "missing platelet states"))?;
        let t_treat = s.t_disc_h.min(self.horizon_h);
        let route = |d: &str| self.lib.default_route(d);
        let cut = |mut ev: Vec<DoseEvent>| {
            ev.retain(|e| {
                e.time < t_treat && (self.drugs.contains(&e.drug) || e.drug == TRANSFUSION)
            });
            ev
        };
        let expanded = self.regimen.expand(&s.patient, self.horizon_h, &route)?;
        let partner_doses: Vec<PartnerDose> = expanded
            .iter()
            .filter(|e| e.time < t_treat)
            .filter_map(|e| {
                let (_, per_mg, kde) = self.partner_kill.iter().find(|p| p.0 == e.drug)?;
                Some(PartnerDose {
                    time_h: e.time,
                    log_kill: per_mg * e.amount,
                    kde: *kde,
                })
            })
            .collect();
        let not_simulated: Vec<DoseEvent> = if record {
            expanded
                .iter()
                .filter(|e| {
                    e.time < t_treat && !self.drugs.contains(&e.drug) && e.drug != TRANSFUSION
                })
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let all = cut(expanded);
        let ruled = self
            .rules
            .as_ref()
            .map_or("selinexor", |r| r.drug.as_str())
            .to_string();
        // The ruled drug's events at each dose level. Level 0 is the regimen as planned, whose
        // expansion is `all`; the reduced levels are expanded here.
        let ruled_events = |ev: &[DoseEvent]| -> Vec<DoseEvent> {
            ev.iter().filter(|e| e.drug == ruled).cloned().collect()
        };
        let mut level_events = vec![ruled_events(&all)];
        for l in &self.reduced_levels {
            let ev = cut(l.expand(&s.patient, self.horizon_h, &route)?);
            level_events.push(ruled_events(&ev));
        }
        // Sums fold from +0: `sum` of no dose gives -0, shown as "-0.0" in the subject table.
        let planned_mg: f64 = level_events
            .first()
            .map_or(0.0, |v| v.iter().fold(0.0, |s, e| s + e.amount));
        let labs: Vec<f64> = self
            .regimen
            .lab_times(self.horizon_h)
            .into_iter()
            .filter(|&t| t <= t_treat)
            .collect();
        let ruled_idx = model.drug(&ruled).map_or(usize::MAX, |(i, _)| i);
        let mut sets = vec![RuleController::new(
            self.rules.as_ref(),
            level_events,
            ruled_idx,
            pd.plt,
            t_treat,
        )];
        for (set, reduced) in &self.more_rules {
            let mut levels = vec![all.iter().filter(|e| e.drug == set.drug).cloned().collect()];
            for l in reduced {
                let ev = cut(l.expand(&s.patient, self.horizon_h, &route)?);
                levels.push(ev.into_iter().filter(|e| e.drug == set.drug).collect());
            }
            let idx = model.drug(&set.drug).map_or(usize::MAX, |(i, _)| i);
            sets.push(RuleController::new(Some(set), levels, idx, pd.plt, t_treat));
        }
        // The levels above the regimen's dose that increase rules reach.
        for (ctl, (above, amounts)) in sets.iter_mut().zip(&self.above_levels) {
            if above.is_empty() {
                continue;
            }
            let drug = ctl.drug_name().unwrap_or_default().to_string();
            let mut up = Vec::with_capacity(above.len());
            for (a, l) in above {
                let ev = cut(l.expand(&s.patient, self.horizon_h, &route)?);
                up.push((*a, ev.into_iter().filter(|e| e.drug == drug).collect()));
            }
            ctl.set_levels_above(up, amounts.clone());
        }
        // Drugs that a rule starts are withheld until it does.
        let mut all = all;
        let mut withheld: Vec<Withheld> = Vec::new();
        for d in self
            .rules
            .iter()
            .chain(self.more_rules.iter().map(|(r, _)| r))
            .flat_map(DoseRules::started_drugs)
        {
            if withheld.iter().all(|w| w.name != d) {
                let events = all.iter().filter(|e| e.drug == d).cloned().collect();
                all.retain(|e| e.drug != d);
                withheld.push(Withheld::new(d, events));
            }
        }
        let regimen_units: (u32, f64) = all
            .iter()
            .filter(|e| e.drug == TRANSFUSION)
            .fold((0, 0.0), |(n, u), e| (n + 1, u + e.amount));
        let mut ctl = RuleSets::new(sets, withheld);
        let sel = model.drug("selinexor").map(|(i, d)| (i, d.clone()));
        let probe = Probe {
            plt: pd.plt,
            conc: sel.as_ref().map(|(_, d)| (d.central, 1.0 / d.pk.vc)),
            drug: sel.as_ref().map(|(i, _)| *i),
            x: pd.x,
            ptx: pd.ptx,
        };
        let t_stop = (t_treat + self.follow_up_days * 24.0).min(self.horizon_h);
        let mut obs = MetricsObserver::new(probe, model.pp.p0, self.x_level, t_stop);
        if record {
            obs.doses = Some(Vec::new());
        }
        let factor = self
            .population
            .tumour_sensitivity
            .as_ref()
            .map_or(1.0, |p| p.value);
        let tumour = TumourParams::draw(&self.lib.efficacy, factor, self.seed, s.id);
        if self.efficacy {
            obs.engagement = Some(EngagementIntegral::new(
                tumour.lambda,
                self.assessments.clone(),
            ));
        }
        let mut noisy;
        let labs_ctl: &mut dyn LabController = match &self.lab_error {
            None => &mut ctl,
            Some(e) => {
                noisy = NoisyLabs::new(&mut ctl, e, pd.plt, self.seed, s.id);
                &mut noisy
            }
        };
        let (states, stats, last) = run_events(
            &model,
            &all,
            &self.observe,
            self.horizon_h,
            &labs,
            &self.opts,
            &mut obs,
            labs_ctl,
        )?;
        let mut support = ctl.shared.support.clone();
        support.n_transfusions += regimen_units.0;
        support.units_transfused += regimen_units.1;
        let Some(ctl) = ctl.primary() else {
            return Err(ModelError::new("dose_rules", "no rule controller"));
        };
        let worst_grade_lab = ctl
            .labs
            .iter()
            .map(|&(_, p)| ctcae_grade(p))
            .max()
            .unwrap_or(0);
        let delivered_mg = ctl
            .schedule
            .iter()
            .filter(|&&(t, _)| t < t_treat)
            .fold(0.0, |s, &(_, a)| s + a);
        let t_last_dose = ctl
            .schedule
            .iter()
            .filter(|&&(t, _)| t < t_treat)
            .map(|&(t, _)| t)
            .fold(f64::NAN, f64::max);
        let params = self
            .iiv
            .params
            .iter()
            .map(|(ns, p)| model.param(ns, p).unwrap_or(f64::NAN))
            .collect();
        let auc = sel.as_ref().map_or(0.0, |(_, d)| last[d.auc]);
        let t_treated_h = t_treat.min(ctl.outcome.t_stopped);
        let efficacy = if self.efficacy {
            self.efficacy(&tumour, &obs, &partner_doses, t_treated_h)
        } else {
            EfficacyOutcome::not_computed(tumour.m0)
        };
        let recorded = obs.doses.take().map(|applied| SubjectRecord {
            applied,
            not_simulated,
            states: states.clone(),
            model: model.clone(),
        });
        let result = SubjectResult {
            id: s.id,
            patient: s.patient.clone(),
            params,
            metrics: obs.m,
            worst_grade_lab,
            n_labs: ctl.labs.len() as u32,
            rules: ctl.outcome.clone(),
            support,
            t_treated_h,
            delivered_mg,
            planned_mg,
            auc,
            t_recovery75_after_last: obs.cross75.recovery_after(t_last_dose),
            t_recovery_baseline_after_last: obs.cross_base.recovery_after(t_last_dose),
            t_last_dose,
            trajectory: states.iter().map(|y| model.count(&pd, y)).collect(),
            labs: labs
                .iter()
                .filter_map(|&t| ctl.labs.iter().find(|&&(tl, _)| tl == t).copied())
                .collect(),
            rhs_evals: stats.rhs_evals,
            tumour,
            efficacy,
        };
        Ok((result, recorded))
    }

    /// M-protein at the assessments and the response and progression it shows: selinexor's
    /// kill from the engagement integral the observer accumulated, the partners' from their
    /// doses before the end of treatment `t_treated_h`.
    fn efficacy(
        &self,
        tumour: &TumourParams,
        obs: &MetricsObserver,
        partner_doses: &[PartnerDose],
        t_treated_h: f64,
    ) -> EfficacyOutcome {
        let spec = &self.lib.efficacy;
        let given: Vec<PartnerDose> = partner_doses
            .iter()
            .filter(|d| d.time_h < t_treated_h)
            .copied()
            .collect();
        let none = vec![0.0; self.assessments.len()];
        let ix = obs.engagement.as_ref().map_or(&none, |e| &e.values);
        let m = m_protein(
            tumour,
            spec.selinexor_kill.value,
            ix,
            &given,
            &self.assessments,
        );
        assess(
            &self.assessments,
            &m,
            tumour.m0,
            spec.detection_limit.value,
            tumour.t_death_h,
            self.horizon_h,
        )
    }

    /// Simulates subjects `start..end` on `threads` threads (None: rayon's default).
    pub fn run_range(
        &self,
        start: usize,
        end: usize,
        threads: Option<usize>,
    ) -> Result<Vec<SubjectResult>> {
        let pool = threads.map(thread_pool).transpose()?;
        self.run_blocks(start, end, pool.as_ref(), &mut || false)
    }

    /// Simulates subjects `start..end` on `pool` (None: rayon's global pool) in blocks of
    /// [`BLOCK`] subjects, calling `interrupted` between blocks: when it returns true the run
    /// stops with an error on the field `interrupted`. Results do not depend on the blocks (each
    /// subject depends only on the seed and its index).
    pub fn run_blocks(
        &self,
        start: usize,
        end: usize,
        pool: Option<&rayon::ThreadPool>,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<SubjectResult>> {
        let mut out = Vec::with_capacity(end.saturating_sub(start));
        let mut a = start;
        while a < end {
            let b = end.min(a + BLOCK);
            let work = || {
                (a..b)
                    .into_par_iter()
                    .map(|i| self.run_subject(i))
                    .collect::<Result<Vec<_>>>()
            };
            out.extend(match pool {
                Some(p) => p.install(work)?,
                None => work()?,
            });
            if interrupted() {
                return Err(ModelError::new(
                    "interrupted",
                    format!("stopped after {} of {} subjects", b - start, end - start),
                ));
            }
            a = b;
        }
        Ok(out)
    }
}

/// Subjects per block of [`TrialSetup::run_blocks`]: small enough that an interruption is seen
/// within a fraction of a second (about 0.1 s of work on 2 threads for 24 weeks).
pub const BLOCK: usize = 256;

/// The most worker threads a run may use: the machine's available parallelism.
pub fn max_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A thread pool of `threads` workers, `1..=max_threads()`.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    let max = max_threads();
    if threads == 0 || threads > max {
        return Err(ModelError::new(
            "threads",
            format!("must be 1..={max} (this machine's available parallelism), got {threads}"),
        ));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ModelError::new("threads", e.to_string()))
}

/// An error of rule set `k` of a list: `dose_rules.x` becomes `dose_rules[k].x`.
fn in_set(mut e: ModelError, k: usize) -> ModelError {
    if let Some(rest) = e.field.strip_prefix("dose_rules") {
        e.field = format!("dose_rules[{k}]{rest}");
    } else {
        e = e.within(&format!("dose_rules[{k}]"));
    }
    e
}
