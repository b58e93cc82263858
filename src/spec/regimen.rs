//! Regimens: cycles, dose days, weekly patterns, per-size doses and patient-dependent rules,
//! written in TOML/JSON (serde) and expanded into a sorted dose-event table.

use super::drug::Route;
use super::patient::Patient;
use crate::error::{in_range, non_negative, positive, ModelError, Result};
use serde::{Deserialize, Serialize};

/// Longest simulation accepted, days (100 years).
pub const MAX_DAYS: f64 = 36_500.0;
/// Largest dose amount accepted (mg, mg/m2 or mg/kg): 100 g.
pub const MAX_AMOUNT: f64 = 1e5;
/// Longest cycle accepted, days.
pub const MAX_CYCLE_DAYS: u32 = 3_650;

/// The name of a platelet transfusion in a regimen's dose lines: `{ drug =
/// "platelet_transfusion", amount = 1, unit = "units", days = [...] }` transfuses `amount`
/// apheresis units intravenously (docs/supportive_care.md). It is not a drug of the library.
pub const TRANSFUSION: &str = "platelet_transfusion";
/// Most platelet units one transfusion may give (a rule's `units` has the same bound).
pub const MAX_UNITS: f64 = 20.0;

/// Unit of a dose amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DoseUnit {
    #[default]
    #[serde(rename = "mg")]
    Mg,
    /// Per m2 of body surface area (Mosteller).
    #[serde(rename = "mg/m2")]
    MgPerM2,
    #[serde(rename = "mg/kg")]
    MgPerKg,
    /// Units of a blood product (platelet transfusion only: adult apheresis units).
    #[serde(rename = "units")]
    Units,
}

impl DoseUnit {
    pub fn name(self) -> &'static str {
        match self {
            DoseUnit::Mg => "mg",
            DoseUnit::MgPerM2 => "mg/m2",
            DoseUnit::MgPerKg => "mg/kg",
            DoseUnit::Units => "units",
        }
    }
}

/// A day of a cycle (1-based) or an inclusive range written `"1-21"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DaySel {
    Day(u32),
    Range(String),
}

/// A patient-dependent change of amount, e.g. dexamethasone 20 mg instead of 40 at age >= 75.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseAdjust {
    /// Applies when the patient's age is at least this.
    pub min_age: f64,
    /// The amount that replaces the dose's amount (same unit).
    pub amount: f64,
}

/// One drug's dosing inside a block of cycles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseSpec {
    pub drug: String,
    pub amount: f64,
    #[serde(default)]
    pub unit: DoseUnit,
    /// Route; the drug's default route when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    /// Infusion duration, h (IV only). Absent or 0: bolus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_h: Option<f64>,
    /// Infusion rate, mg/h (IV only), instead of a duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_mg_h: Option<f64>,
    /// Days of the cycle (1-based), as numbers or ranges `"1-21"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<DaySel>,
    /// Days of each week of the cycle (1..7): `[1]` once weekly, `[1, 3]` twice weekly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<u32>,
    /// Which cycles of the block (1-based, counted within the block): `"1-2"`, `"3-6"`, `"7-"`;
    /// all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles: Option<String>,
    /// Clock time of the dose, hours after the start of the day (default 0).
    #[serde(default)]
    pub hour: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjust: Vec<DoseAdjust>,
    /// Steady state (NONMEM's SS) of the line's first administration: 1 resets the drug's
    /// compartments to the steady state of this dose given every `ii` hours, then doses; 2 adds
    /// that steady state to the current state (superposition), then doses. Absent: no steady
    /// state. See docs/nonmem.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ss: Option<u8>,
    /// Dosing interval (h) of the steady state (with `ss` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ii: Option<f64>,
}

/// A run of cycles of one length sharing their dosing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    pub cycle_days: u32,
    /// Number of cycles; absent: repeat until the end of the simulation (last block only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles: Option<u32>,
    pub doses: Vec<DoseSpec>,
}

/// Scheduled lab visits, days of the cycle: cycle 1 and later cycles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSchedule {
    pub cycle1: Vec<u32>,
    pub later: Vec<u32>,
}

impl Default for LabSchedule {
    /// Cycle 1 days 1, 8, 15, 22, then days 1 and 15 (docs/model.md, lab visits).
    fn default() -> Self {
        Self {
            cycle1: vec![1, 8, 15, 22],
            later: vec![1, 15],
        }
    }
}

/// A treatment regimen: one or more blocks of cycles, and its lab schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regimen {
    #[serde(default)]
    pub description: String,
    pub blocks: Vec<Block>,
    #[serde(default)]
    pub labs: LabSchedule,
}

/// One administration, NONMEM-style.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseEvent {
    /// Time of administration, h (before any lag time).
    pub time: f64,
    pub drug: String,
    /// Amount in mg, after per-size scaling and patient rules.
    pub amount: f64,
    pub route: Route,
    /// Infusion duration, h; 0 for a bolus or an extravascular dose.
    pub duration: f64,
    /// Index of the block, study cycle (1-based, counted across blocks) and day of the cycle.
    pub block: usize,
    pub cycle: u32,
    pub day: u32,
    /// Index of the dose line inside its block.
    pub line: usize,
    /// NONMEM's SS: 0 a plain dose, 1 the drug at the steady state of this dose every `ii`
    /// hours (its compartments reset to it), 2 that steady state added to the current state.
    pub ss: u8,
    /// Dosing interval (h) of the steady state (0 without one).
    pub ii: f64,
}

impl DoseEvent {
    /// Infusion rate, mg/h (0 when not an infusion).
    pub fn rate(&self) -> f64 {
        if self.duration > 0.0 {
            self.amount / self.duration
        } else {
            0.0
        }
    }
}

fn parse_range(s: &str, field: &str, open_end: u32) -> Result<(u32, u32)> {
    let bad = || {
        ModelError::new(
            field,
            format!("cannot read {s:?}: write a number, \"a-b\" or \"a-\""),
        )
    };
    let t = s.trim();
    if let Some((a, b)) = t.split_once('-') {
        let lo: u32 = a.trim().parse().map_err(|_| bad())?;
        let hi: u32 = if b.trim().is_empty() {
            open_end
        } else {
            b.trim().parse().map_err(|_| bad())?
        };
        if lo == 0 || hi < lo {
            return Err(ModelError::new(
                field,
                format!("range {s:?} must be ascending and start at 1 or later"),
            ));
        }
        Ok((lo, hi))
    } else {
        let d: u32 = t.parse().map_err(|_| bad())?;
        if d == 0 {
            return Err(ModelError::new(
                field,
                "days and cycles count from 1, got 0",
            ));
        }
        Ok((d, d))
    }
}

/// Checks a steady-state flag and its interval: `ss` 1 or 2 with `ii > 0`, or neither.
pub fn check_steady_state(field: &str, ss: Option<u8>, ii: Option<f64>) -> Result<()> {
    match (ss, ii) {
        (None | Some(0), None) => Ok(()),
        (Some(1 | 2), Some(ii)) => {
            positive(&format!("{field}.ii"), ii)?;
            in_range(&format!("{field}.ii"), ii, 0.0, MAX_DAYS * 24.0)?;
            Ok(())
        }
        (Some(1 | 2), None) => Err(ModelError::new(
            format!("{field}.ii"),
            "a steady-state dose (ss 1 or 2) needs its dosing interval ii (h)",
        )),
        (None | Some(0), Some(ii)) => Err(ModelError::new(
            format!("{field}.ii"),
            format!("ii = {ii} is only used with ss = 1 or 2"),
        )),
        (Some(v), _) => Err(ModelError::new(
            format!("{field}.ss"),
            format!("must be 1 (reset to steady state) or 2 (superposition), got {v}"),
        )),
    }
}

impl DoseSpec {
    /// The sorted days of a cycle of `cycle_days` on which this line doses.
    pub fn days_in_cycle(&self, cycle_days: u32, field: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        for (i, d) in self.days.iter().enumerate() {
            let f = format!("{field}.days[{i}]");
            let (lo, hi) = match d {
                DaySel::Day(d) => parse_range(&d.to_string(), &f, cycle_days)?,
                DaySel::Range(s) => parse_range(s, &f, cycle_days)?,
            };
            if hi > cycle_days {
                return Err(ModelError::new(
                    f,
                    format!("day {hi} is outside its {cycle_days}-day cycle"),
                ));
            }
            out.extend(lo..=hi);
        }
        for (i, &w) in self.weekdays.iter().enumerate() {
            if !(1..=7).contains(&w) {
                return Err(ModelError::new(
                    format!("{field}.weekdays[{i}]"),
                    format!("must be 1..7, got {w}"),
                ));
            }
            let mut d = w;
            while d <= cycle_days {
                out.push(d);
                d += 7;
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn applies_to_cycle(&self, cycle: u32, field: &str) -> Result<bool> {
        match &self.cycles {
            None => Ok(true),
            Some(s) => {
                let (lo, hi) = parse_range(s, &format!("{field}.cycles"), u32::MAX)?;
                Ok(cycle >= lo && cycle <= hi)
            }
        }
    }

    /// Dose in mg for this patient (per-size scaling and age rules applied).
    pub fn amount_mg(&self, patient: &Patient, field: &str) -> Result<f64> {
        let mut amount = self.amount;
        for a in &self.adjust {
            if patient.age >= a.min_age {
                amount = a.amount;
            }
        }
        Ok(match self.unit {
            DoseUnit::Mg | DoseUnit::Units => amount,
            DoseUnit::MgPerM2 => {
                let bsa = patient.validate().and_then(|_| patient.size("bsa"));
                amount
                    * bsa.map_err(|e| {
                        ModelError::new(field, format!("a mg/m2 dose needs height and weight: {e}"))
                    })?
            }
            DoseUnit::MgPerKg => {
                let wt = patient.validate().and_then(|_| patient.size("weight"));
                amount
                    * wt.map_err(|e| {
                        ModelError::new(field, format!("a mg/kg dose needs the weight: {e}"))
                    })?
            }
        })
    }

    fn validate(&self, field: &str, cycle_days: u32) -> Result<()> {
        positive(&format!("{field}.amount"), self.amount)?;
        let transfusion = self.drug == TRANSFUSION;
        if transfusion != (self.unit == DoseUnit::Units) {
            return Err(ModelError::new(
                format!("{field}.unit"),
                if transfusion {
                    format!(
                        "a {TRANSFUSION} is given in \"units\", got {:?}",
                        self.unit.name()
                    )
                } else {
                    format!("\"units\" are for {TRANSFUSION} only, not {:?}", self.drug)
                },
            ));
        }
        if transfusion && self.amount > MAX_UNITS {
            return Err(ModelError::new(
                format!("{field}.amount"),
                format!(
                    "at most {MAX_UNITS} platelet units at once, got {}",
                    self.amount
                ),
            ));
        }
        if transfusion
            && (self.route.is_some_and(|r| r != Route::Iv)
                || self.duration_h.is_some()
                || self.rate_mg_h.is_some()
                || self.ss.is_some())
        {
            return Err(ModelError::new(
                field,
                format!("a {TRANSFUSION} takes no route, duration, rate or steady state (an IV bolus of units)"),
            ));
        }
        in_range(&format!("{field}.amount"), self.amount, 0.0, MAX_AMOUNT)?;
        for (i, a) in self.adjust.iter().enumerate() {
            non_negative(&format!("{field}.adjust[{i}].min_age"), a.min_age)?;
            positive(&format!("{field}.adjust[{i}].amount"), a.amount)?;
        }
        non_negative(&format!("{field}.hour"), self.hour)?;
        if self.hour >= 24.0 {
            return Err(ModelError::new(
                format!("{field}.hour"),
                format!("must be < 24, got {}", self.hour),
            ));
        }
        if let Some(d) = self.duration_h {
            positive(&format!("{field}.duration_h"), d)?;
        }
        if let Some(r) = self.rate_mg_h {
            positive(&format!("{field}.rate_mg_h"), r)?;
        }
        if self.duration_h.is_some() && self.rate_mg_h.is_some() {
            return Err(ModelError::new(
                field,
                "give duration_h or rate_mg_h, not both",
            ));
        }
        check_steady_state(field, self.ss, self.ii)?;
        if self.days.is_empty() && self.weekdays.is_empty() {
            return Err(ModelError::new(
                format!("{field}.days"),
                "no dose day given (use days or weekdays)",
            ));
        }
        self.days_in_cycle(cycle_days, field)?;
        self.applies_to_cycle(1, field)?;
        Ok(())
    }
}

impl Regimen {
    /// Checks structure and values, naming the offending field.
    pub fn validate(&self) -> Result<()> {
        if self.blocks.is_empty() {
            return Err(ModelError::new(
                "regimen.blocks",
                "a regimen needs at least one block of cycles",
            ));
        }
        for (b, block) in self.blocks.iter().enumerate() {
            let f = format!("regimen.blocks[{b}]");
            if block.cycle_days == 0 || block.cycle_days > MAX_CYCLE_DAYS {
                return Err(ModelError::new(
                    format!("{f}.cycle_days"),
                    format!("must be in 1..={MAX_CYCLE_DAYS}, got {}", block.cycle_days),
                ));
            }
            match block.cycles {
                Some(0) => return Err(ModelError::new(format!("{f}.cycles"), "must be >= 1")),
                None if b + 1 < self.blocks.len() => {
                    return Err(ModelError::new(
                        format!("{f}.cycles"),
                        "only the last block may be open-ended",
                    ))
                }
                _ => {}
            }
            for (i, d) in block.doses.iter().enumerate() {
                d.validate(&format!("{f}.doses[{i}]"), block.cycle_days)?;
            }
        }
        for (name, days) in [("cycle1", &self.labs.cycle1), ("later", &self.labs.later)] {
            for (i, &d) in days.iter().enumerate() {
                if d == 0 {
                    return Err(ModelError::new(
                        format!("regimen.labs.{name}[{i}]"),
                        "days count from 1",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether a dose line transfuses platelets ([`TRANSFUSION`]).
    pub fn has_transfusion(&self) -> bool {
        self.blocks
            .iter()
            .flat_map(|b| &b.doses)
            .any(|d| d.drug == TRANSFUSION)
    }

    /// Distinct drugs in order of first appearance (a platelet transfusion is not a drug).
    pub fn drugs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in self.blocks.iter().flat_map(|b| &b.doses) {
            if d.drug != TRANSFUSION && !out.contains(&d.drug) {
                out.push(d.drug.clone());
            }
        }
        out
    }

    /// The first dose line of `drug` (in block order): its amount (in the line's unit) and its
    /// doses per week, `dose days x 7 / cycle_days`. `None` when the regimen does not dose it.
    pub fn planned_dosing(&self, drug: &str) -> Result<Option<(f64, f64, DoseUnit)>> {
        let Some((block, d)) = self
            .blocks
            .iter()
            .find_map(|b| b.doses.iter().find(|d| d.drug == drug).map(|d| (b, d)))
        else {
            return Ok(None);
        };
        let per_week = d.days_in_cycle(block.cycle_days, "regimen")?.len() as f64 * 7.0
            / f64::from(block.cycle_days);
        Ok(Some((d.amount, per_week, d.unit)))
    }

    /// Planned weekly dose of `drug` (amount x doses per week of its first dose line, in the
    /// line's unit); `None` when the regimen does not dose it.
    pub fn weekly_dose(&self, drug: &str) -> Result<Option<f64>> {
        Ok(self.planned_dosing(drug)?.map(|(a, w, _)| a * w))
    }

    /// Start time (h) and (block index, cycle number, cycle length days) of every cycle that
    /// starts before `horizon_h`.
    pub fn cycles_until(&self, horizon_h: f64) -> Vec<(f64, usize, u32, u32)> {
        let mut out = Vec::new();
        let mut start = 0.0;
        for (b, block) in self.blocks.iter().enumerate() {
            let len = f64::from(block.cycle_days) * 24.0;
            let mut c = 1;
            while start < horizon_h && block.cycles.is_none_or(|n| c <= n) {
                out.push((start, b, c, block.cycle_days));
                start += len;
                c += 1;
            }
        }
        out
    }

    /// Lab visit times (h) before `horizon_h`. Cycles count across blocks.
    pub fn lab_times(&self, horizon_h: f64) -> Vec<f64> {
        let mut out = Vec::new();
        for (k, (start, _, _, len)) in self.cycles_until(horizon_h).into_iter().enumerate() {
            let days = if k == 0 {
                &self.labs.cycle1
            } else {
                &self.labs.later
            };
            for &d in days.iter().filter(|&&d| d <= len) {
                let t = start + f64::from(d - 1) * 24.0;
                if t < horizon_h {
                    out.push(t);
                }
            }
        }
        out
    }

    /// Expands to administrations before `horizon_h`, sorted by time (stable in line order).
    /// `route_of` gives each drug's default route.
    pub fn expand(
        &self,
        patient: &Patient,
        horizon_h: f64,
        route_of: &dyn Fn(&str) -> Result<Route>,
    ) -> Result<Vec<DoseEvent>> {
        self.validate()?;
        non_negative("days", horizon_h)?;
        if horizon_h > MAX_DAYS * 24.0 {
            return Err(ModelError::new(
                "days",
                format!(
                    "must be <= {MAX_DAYS} (100 years), got {}",
                    horizon_h / 24.0
                ),
            ));
        }
        let mut events = Vec::new();
        let mut seen_lines = std::collections::BTreeSet::new();
        for (k, (start, b, cycle, len)) in self.cycles_until(horizon_h).into_iter().enumerate() {
            let study_cycle = k as u32 + 1;
            for (i, d) in self.blocks[b].doses.iter().enumerate() {
                let field = format!("regimen.blocks[{b}].doses[{i}]");
                if !d.applies_to_cycle(cycle, &field)? {
                    continue;
                }
                let default_route = if d.drug == TRANSFUSION {
                    Route::Iv
                } else {
                    route_of(&d.drug).map_err(|e| e.within(&field))?
                };
                let route = d.route.unwrap_or(default_route);
                let amount = d.amount_mg(patient, &field)?;
                let duration = match (route, d.duration_h, d.rate_mg_h) {
                    (Route::Iv, Some(h), _) => h,
                    (Route::Iv, None, Some(r)) => amount / r,
                    (Route::Iv, None, None) => 0.0,
                    (_, None, None) => 0.0,
                    _ => {
                        return Err(ModelError::new(
                            field,
                            "infusion duration or rate given for a non-IV route",
                        ))
                    }
                };
                for day in d.days_in_cycle(len, &field)? {
                    let time = start + f64::from(day - 1) * 24.0 + d.hour;
                    if time < horizon_h {
                        // The steady state belongs to the line's first administration.
                        let first = seen_lines.insert((b, i));
                        let ss = if first { d.ss.unwrap_or(0) } else { 0 };
                        events.push(DoseEvent {
                            time,
                            drug: d.drug.clone(),
                            amount,
                            route,
                            duration,
                            block: b,
                            cycle: study_cycle,
                            day,
                            line: i,
                            ss,
                            ii: if ss > 0 { d.ii.unwrap_or(0.0) } else { 0.0 },
                        });
                    }
                }
            }
        }
        events.sort_by(|a, b| a.time.total_cmp(&b.time));
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oral(_: &str) -> Result<Route> {
        Ok(Route::Oral)
    }

    #[test]
    fn ranges_and_weekdays() {
        let d = DoseSpec {
            drug: "x".into(),
            amount: 10.0,
            unit: DoseUnit::Mg,
            route: None,
            duration_h: None,
            rate_mg_h: None,
            days: vec![DaySel::Range("1-3".into()), DaySel::Day(10)],
            weekdays: vec![2],
            cycles: None,
            hour: 0.0,
            adjust: vec![],
            ss: None,
            ii: None,
        };
        assert_eq!(d.days_in_cycle(14, "f").unwrap(), vec![1, 2, 3, 9, 10]);
        let e = d.days_in_cycle(7, "f").unwrap_err();
        assert!(e.field.contains("days[1]"), "{e}");
    }

    #[test]
    fn open_ended_block_runs_to_horizon() {
        let r: Regimen = toml::from_str(
            r#"
            [[blocks]]
            cycle_days = 7
            doses = [{ drug = "x", amount = 80, weekdays = [1, 3] }]
            "#,
        )
        .unwrap();
        let ev = r.expand(&Patient::default(), 14.0 * 24.0, &oral).unwrap();
        let days: Vec<f64> = ev.iter().map(|e| e.time / 24.0).collect();
        assert_eq!(days, vec![0.0, 2.0, 7.0, 9.0]);
    }
}
