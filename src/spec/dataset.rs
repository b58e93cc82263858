//! NONMEM-style datasets in: the columns as read (numbers, or text as written), checked record
//! by record into subjects with their dosing records, resets and output times. A bad value is a
//! [`ModelError`] on the field `row <r>.<COLUMN>` (`r` counts data rows from 1, the header not
//! counted), with the value as written. See docs/nonmem.md.

use super::cmt::{CmtKey, CmtMap, CmtTarget};
use super::patient::{Patient, Sex};
use super::regimen::{check_steady_state, MAX_AMOUNT, MAX_DAYS};
use crate::error::{ModelError, Result};

/// One column of a dataset: numbers (NaN for a missing value) or text as written (`""` and
/// `"."` are missing).
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Num(Vec<f64>),
    Text(Vec<String>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Num(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    /// Row `i`'s value as a number, `None` when missing; text that is not a number is an error
    /// on `field`.
    fn number(&self, i: usize, field: &dyn Fn() -> String) -> Result<Option<f64>> {
        match self {
            Column::Num(v) => Ok(Some(v[i]).filter(|x| !x.is_nan())),
            Column::Text(v) => {
                let s = v[i].trim();
                if s.is_empty() || s == "." {
                    return Ok(None);
                }
                match s.parse::<f64>() {
                    Ok(x) if !x.is_nan() => Ok(Some(x)),
                    _ => Err(ModelError::new(
                        field(),
                        format!("must be a number, got {:?}", v[i]),
                    )),
                }
            }
        }
    }

    /// Row `i`'s CMT key (number or name), `None` when missing.
    fn cmt_key(&self, i: usize) -> Option<CmtKey> {
        match self {
            Column::Num(v) => Some(v[i]).filter(|x| x.is_finite()).map(CmtKey::Number),
            Column::Text(v) => {
                let s = v[i].trim();
                (!s.is_empty() && s != ".").then(|| CmtKey::from_text(s))
            }
        }
    }
}

/// Covariate columns and the patient field each sets. They may change within a subject
/// ([`CovariateFill`]), except `PLT0`. `FEMALE` is 1 for female, 0 for male; `PLT0` the
/// baseline platelet count (10^9/L).
pub const COVARIATES: [(&str, &str); 6] = [
    ("WT", "weight"),
    ("HT", "height"),
    ("AGE", "age"),
    ("FEMALE", "sex"),
    ("CRCL", "crcl"),
    ("PLT0", "platelets"),
];

/// Most dose events one dataset may expand to (records and their additional doses).
pub const MAX_EVENTS: usize = 1_000_000;

/// What a record does (NONMEM's EVID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evid {
    /// 0: an observation.
    Observation,
    /// 1: a dose.
    Dose,
    /// 2: another event (an output time without observation).
    Other,
    /// 3: reset every state to the initial state.
    Reset,
    /// 4: reset, then dose.
    ResetDose,
}

impl Evid {
    pub fn is_dose(self) -> bool {
        matches!(self, Evid::Dose | Evid::ResetDose)
    }
    pub fn resets(self) -> bool {
        matches!(self, Evid::Reset | Evid::ResetDose)
    }
}

/// A dose of a record: its target, amount (mg), infusion rate (mg/h, 0 for a bolus or depot
/// input), steady state and additional doses.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDose {
    pub target: CmtTarget,
    pub amt: f64,
    pub rate: f64,
    pub ii: f64,
    pub addl: u32,
    pub ss: u8,
}

/// One record, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Data row, from 1.
    pub row: usize,
    pub time: f64,
    pub evid: Evid,
    pub dose: Option<RecordDose>,
}

/// How a covariate that changes within a subject holds between its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CovariateFill {
    /// Last observation carried forward: a record's value holds from its time until the next
    /// change.
    #[default]
    Locf,
    /// Next observation carried backward: a record's value holds from just after the previous
    /// record's time up to its own.
    Nocb,
}

impl CovariateFill {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "locf" => Ok(Self::Locf),
            "nocb" => Ok(Self::Nocb),
            other => Err(ModelError::new(
                "covariates",
                format!("must be \"locf\" or \"nocb\", got {other:?}"),
            )),
        }
    }
}

/// A change of a subject's covariates: from `time` on, `patients[index]` (`after`: from just
/// after `time`, the other events at `time` still seeing the previous values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CovariateChange {
    pub time: f64,
    pub index: usize,
    pub after: bool,
}

/// One subject: its records in dataset order and its covariates over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub id: f64,
    pub records: Vec<Record>,
    /// The distinct covariate sets in time order: `patients[0]` from time 0.
    pub patients: Vec<Patient>,
    /// When each later set takes over.
    pub changes: Vec<CovariateChange>,
    /// The covariate set of each record.
    pub record_patient: Vec<usize>,
}

impl Subject {
    /// The covariate set in effect at `t` for events that come before the changes marked
    /// `after` at `t` (doses, outputs).
    pub fn patient_at(&self, t: f64) -> usize {
        self.changes
            .iter()
            .take_while(|c| c.time < t || (c.time == t && !c.after))
            .last()
            .map_or(0, |c| c.index)
    }
}

/// A checked dataset: subjects in order, and the drugs of its CMT map.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub subjects: Vec<Subject>,
    pub drugs: Vec<String>,
}

/// The columns of a dataset as read: names as written and their values.
pub struct RawDataset {
    pub columns: Vec<(String, Column)>,
}

impl RawDataset {
    /// The column named `name` (case-insensitive), if present.
    fn column(&self, name: &str) -> Option<(&str, &Column)> {
        self.columns
            .iter()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(n, c)| (n.as_str(), c))
    }

    fn rows(&self) -> Result<usize> {
        let n = self.columns.first().map_or(0, |(_, c)| c.len());
        for (name, c) in &self.columns {
            if c.len() != n {
                return Err(ModelError::new(
                    name.as_str(),
                    format!("has {} values where the first column has {n}", c.len()),
                ));
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for (name, _) in &self.columns {
            let up = name.trim().to_ascii_uppercase();
            if seen.contains(&up) {
                return Err(ModelError::new(
                    name.as_str(),
                    "appears twice (column names are case-insensitive)",
                ));
            }
            seen.push(up);
        }
        if n == 0 {
            return Err(ModelError::new("data", "has no rows"));
        }
        Ok(n)
    }

    /// Checks every record and groups them into subjects; `map` says where each dose's CMT
    /// goes.
    pub fn parse(&self, map: &CmtMap, fill: CovariateFill) -> Result<Dataset> {
        let n = self.rows()?;
        let required = |name: &str| {
            self.column(name).ok_or_else(|| {
                ModelError::new(
                    "data",
                    format!("has no {name} column (the columns are {})", self.names()),
                )
            })
        };
        let id = required("ID")?;
        let time = required("TIME")?;
        let evid = self.column("EVID");
        let amt = self.column("AMT");
        let cmt = self.column("CMT");
        let rate = self.column("RATE");
        let ii = self.column("II");
        let addl = self.column("ADDL");
        let ss = self.column("SS");
        if cmt.is_none() && amt.is_some() {
            return Err(ModelError::new(
                "data",
                "has AMT but no CMT column: the CMT of each dose says which drug it is",
            ));
        }
        let covs: Vec<(&str, &str, &Column)> = COVARIATES
            .iter()
            .filter_map(|(c, f)| self.column(c).map(|(name, col)| (name, *f, col)))
            .collect();
        let mut subjects: Vec<Subject> = Vec::new();
        let mut events = 0usize;
        for i in 0..n {
            let row = i + 1;
            let num = |c: Option<(&str, &Column)>| -> Result<Option<f64>> {
                match c {
                    Some((name, col)) => col.number(i, &|| format!("row {row}.{name}")),
                    None => Ok(None),
                }
            };
            let field = |c: Option<(&str, &Column)>, dflt: &str| {
                format!("row {row}.{}", c.map_or(dflt, |(n, _)| n))
            };
            let id_v = num(Some(id))?
                .filter(|v| v.is_finite())
                .ok_or_else(|| ModelError::new(field(Some(id), "ID"), "is missing"))?;
            let t = num(Some(time))?
                .ok_or_else(|| ModelError::new(field(Some(time), "TIME"), "is missing"))?;
            if !(0.0..=MAX_DAYS * 24.0).contains(&t) {
                return Err(ModelError::new(
                    field(Some(time), "TIME"),
                    format!("must be a time in [0, {}] h, got {t}", MAX_DAYS * 24.0),
                ));
            }
            let amt_v = num(amt)?.unwrap_or(0.0);
            let evid_v = match num(evid)? {
                Some(v) => match v {
                    0.0 => Evid::Observation,
                    1.0 => Evid::Dose,
                    2.0 => Evid::Other,
                    3.0 => Evid::Reset,
                    4.0 => Evid::ResetDose,
                    _ => {
                        return Err(ModelError::new(
                            field(evid, "EVID"),
                            format!("must be 0, 1, 2, 3 or 4, got {v}"),
                        ))
                    }
                },
                // Without EVID: a record with an amount is a dose, the others observations.
                None if amt_v != 0.0 && evid.is_none() => Evid::Dose,
                None if evid.is_none() => Evid::Observation,
                None => {
                    return Err(ModelError::new(field(evid, "EVID"), "is missing"));
                }
            };
            let dose = if evid_v.is_dose() {
                let d = self.record_dose(
                    row,
                    amt_v,
                    [
                        (amt, "AMT"),
                        (cmt, "CMT"),
                        (rate, "RATE"),
                        (ii, "II"),
                        (addl, "ADDL"),
                        (ss, "SS"),
                    ],
                    i,
                    map,
                )?;
                events += 1 + d.addl as usize;
                if events > MAX_EVENTS {
                    return Err(ModelError::new(
                        field(addl, "ADDL"),
                        format!("the dataset expands to more than {MAX_EVENTS} doses"),
                    ));
                }
                Some(d)
            } else {
                None
            };
            let record = Record {
                row,
                time: t,
                evid: evid_v,
                dose,
            };
            let new_subject = subjects.last().is_none_or(|s| s.id != id_v);
            if new_subject {
                if subjects.iter().any(|s| s.id == id_v) {
                    return Err(ModelError::new(
                        field(Some(id), "ID"),
                        format!(
                            "ID {id_v} appears again after other subjects: a subject's records \
                             must be contiguous"
                        ),
                    ));
                }
                subjects.push(Subject {
                    id: id_v,
                    records: Vec::new(),
                    patients: Vec::new(),
                    changes: Vec::new(),
                    record_patient: Vec::new(),
                });
            }
            let s = subjects
                .last_mut()
                .ok_or_else(|| ModelError::new("data", "internal: no subject for a record"))?;
            if let Some(prev) = s.records.last() {
                if t < prev.time {
                    return Err(ModelError::new(
                        field(Some(time), "TIME"),
                        format!(
                            "{t} h comes before the subject's previous record ({} h): sort each \
                             subject's records by time",
                            prev.time
                        ),
                    ));
                }
            }
            s.records.push(record);
        }
        for s in &mut subjects {
            covariates_over_time(s, &covs, fill)?;
        }
        Ok(Dataset {
            subjects,
            drugs: map.drugs(),
        })
    }

    fn names(&self) -> String {
        self.columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The dose of a dosing record (EVID 1 or 4).
    #[allow(clippy::type_complexity)]
    fn record_dose(
        &self,
        row: usize,
        amt_v: f64,
        cols: [(Option<(&str, &Column)>, &str); 6],
        i: usize,
        map: &CmtMap,
    ) -> Result<RecordDose> {
        let field = |k: usize| {
            let (c, d) = cols[k];
            format!("row {row}.{}", c.map_or(d, |(n, _)| n))
        };
        let num = |k: usize| -> Result<f64> {
            match cols[k].0 {
                Some((_, col)) => Ok(col.number(i, &|| field(k))?.unwrap_or(0.0)),
                None => Ok(0.0),
            }
        };
        let (rate, ii, addl, ss) = (num(2)?, num(3)?, num(4)?, num(5)?);
        let key = cols[1].0.and_then(|(_, c)| c.cmt_key(i));
        let key = key.ok_or_else(|| ModelError::new(field(1), "a dose needs its CMT"))?;
        let target = map.get(&key).cloned().ok_or_else(|| {
            ModelError::new(
                field(1),
                format!(
                    "CMT {} is not in the CMT map (mapped: {})",
                    key.show(),
                    map.entries
                        .iter()
                        .map(|(k, t)| format!("{} -> {}", k.show(), t.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        if rate == -1.0 || rate == -2.0 {
            return Err(ModelError::new(
                field(2),
                format!(
                    "RATE {rate} asks for a modelled {} of {}; the model has no rate or duration \
                     parameter: give the infusion rate (mg/h) in RATE",
                    if rate == -1.0 { "rate" } else { "duration" },
                    target.drug
                ),
            ));
        }
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(ModelError::new(
                field(2),
                format!("must be 0 (bolus), a rate > 0 (mg/h), -1 or -2, got {rate}"),
            ));
        }
        if rate > 0.0 && target.depot {
            return Err(ModelError::new(
                field(2),
                format!(
                    "a zero-order input into {} (RATE {rate}) is not modelled: infusions go \
                     into a central compartment",
                    target.name()
                ),
            ));
        }
        if !(amt_v.is_finite() && amt_v > 0.0 && amt_v <= MAX_AMOUNT) {
            let why = if amt_v == 0.0 && ss > 0.0 && rate > 0.0 {
                " (a steady-state constant infusion, AMT 0 with RATE, is not supported)"
            } else {
                ""
            };
            return Err(ModelError::new(
                field(0),
                format!("a dose needs an amount in (0, {MAX_AMOUNT}] mg, got {amt_v}{why}"),
            ));
        }
        if !(addl.is_finite() && addl >= 0.0 && addl.fract() == 0.0 && addl <= 1e6) {
            return Err(ModelError::new(
                field(4),
                format!("must be a whole number of additional doses in 0..=1000000, got {addl}"),
            ));
        }
        if !(ii.is_finite() && ii >= 0.0) {
            return Err(ModelError::new(
                field(3),
                format!("must be an interval >= 0 h, got {ii}"),
            ));
        }
        if addl > 0.0 && ii <= 0.0 {
            return Err(ModelError::new(
                field(3),
                format!("ADDL {addl} additional doses need an interval II > 0, got {ii}"),
            ));
        }
        let ss_u = match ss {
            0.0 => 0,
            1.0 => 1,
            2.0 => 2,
            _ => {
                return Err(ModelError::new(
                    field(5),
                    format!("must be 0, 1 (reset to steady state) or 2 (superposition), got {ss}"),
                ))
            }
        };
        if ss_u > 0 {
            check_steady_state(&format!("row {row}"), Some(ss_u), Some(ii)).map_err(|e| {
                ModelError::new(
                    field(3),
                    format!("SS {ss_u} needs its dosing interval: {}", e.message),
                )
            })?;
        }
        Ok(RecordDose {
            target,
            amt: amt_v,
            rate,
            ii,
            addl: addl as u32,
            ss: ss_u,
        })
    }
}

/// Each record's covariate values (row index `i`; a missing cell carries the previous record's
/// value, or the next one's before the first value), as patients; a subject's distinct sets in
/// time order and when each takes over (`fill`).
fn covariates_over_time(
    s: &mut Subject,
    covs: &[(&str, &str, &Column)],
    fill: CovariateFill,
) -> Result<()> {
    let n = s.records.len();
    let mut values: Vec<Vec<Option<f64>>> = vec![vec![None; covs.len()]; n];
    for (c, (name, _, col)) in covs.iter().enumerate() {
        for (k, r) in s.records.iter().enumerate() {
            values[k][c] = col.number(r.row - 1, &|| format!("row {}.{name}", r.row))?;
        }
        // Carry forward, then back-fill the leading missing cells.
        for k in 1..n {
            if values[k][c].is_none() {
                values[k][c] = values[k - 1][c];
            }
        }
        for k in (0..n.saturating_sub(1)).rev() {
            if values[k][c].is_none() {
                values[k][c] = values[k + 1][c];
            }
        }
    }
    for (k, r) in s.records.iter().enumerate() {
        let p = patient_of(covs, &values[k], r.row)?;
        if let Some(prev) = k.checked_sub(1) {
            let same = values[k] == values[prev];
            if !same && s.records[prev].time == r.time {
                return Err(ModelError::new(
                    format!("row {}.{}", r.row, changed(covs, &values[prev], &values[k])),
                    format!(
                        "covariates change between two records at the same time ({} h)",
                        r.time
                    ),
                ));
            }
            if !same {
                let col = changed(covs, &values[prev], &values[k]);
                if col.eq_ignore_ascii_case("PLT0") {
                    return Err(ModelError::new(
                        format!("row {}.{col}", r.row),
                        "the baseline platelet count is constant per subject",
                    ));
                }
                let (time, after) = match fill {
                    CovariateFill::Locf => (r.time, false),
                    CovariateFill::Nocb => (s.records[prev].time, true),
                };
                s.patients.push(p);
                s.changes.push(CovariateChange {
                    time,
                    index: s.patients.len() - 1,
                    after,
                });
            }
        } else {
            s.patients.push(p);
        }
        s.record_patient.push(s.patients.len() - 1);
    }
    Ok(())
}

/// The name of the first covariate column whose value differs between `a` and `b`.
fn changed<'a>(covs: &[(&'a str, &str, &Column)], a: &[Option<f64>], b: &[Option<f64>]) -> &'a str {
    covs.iter()
        .zip(a.iter().zip(b))
        .find(|(_, (x, y))| x != y)
        .map_or("", |((name, _, _), _)| name)
}

/// A patient from covariate values (`None`: the default), checked, errors on row `row`.
fn patient_of(
    covs: &[(&str, &str, &Column)],
    values: &[Option<f64>],
    row: usize,
) -> Result<Patient> {
    let mut p = Patient::default();
    for ((name, f, _), v) in covs.iter().zip(values) {
        let Some(v) = *v else {
            continue; // missing: the default
        };
        match *f {
            "weight" => p.weight = v,
            "height" => p.height = v,
            "age" => p.age = v,
            "crcl" => p.crcl = v,
            "platelets" => p.platelets = Some(v),
            _ => {
                p.sex = match v {
                    0.0 => Sex::Male,
                    1.0 => Sex::Female,
                    _ => {
                        return Err(ModelError::new(
                            format!("row {row}.{name}"),
                            format!("must be 1 (female) or 0 (male), got {v}"),
                        ))
                    }
                }
            }
        }
    }
    p.validate().map_err(|e| {
        let col = covs
            .iter()
            .find(|(_, f, _)| e.field == format!("patient.{f}"))
            .map_or("", |(n, _, _)| n);
        ModelError::new(format!("row {row}.{col}"), e.message)
    })?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::cmt::CmtMap;

    fn data(cols: &[(&str, Vec<f64>)]) -> RawDataset {
        RawDataset {
            columns: cols
                .iter()
                .map(|(n, v)| (n.to_string(), Column::Num(v.clone())))
                .collect(),
        }
    }

    fn map() -> CmtMap {
        CmtMap::default_for(&["x".to_string()])
    }

    #[test]
    fn records_group_into_subjects_with_doses_and_defaults() {
        let d = data(&[
            ("id", vec![1.0, 1.0, 2.0]),
            ("TIME", vec![0.0, 1.0, 0.0]),
            ("AMT", vec![10.0, 0.0, 5.0]),
            ("CMT", vec![1.0, f64::NAN, 2.0]),
            ("ADDL", vec![2.0, f64::NAN, 0.0]),
            ("II", vec![12.0, f64::NAN, 0.0]),
        ]);
        let ds = d.parse(&map(), CovariateFill::Locf).unwrap();
        assert_eq!(ds.subjects.len(), 2);
        let s = &ds.subjects[0];
        assert_eq!(s.records[0].evid, Evid::Dose);
        assert_eq!(s.records[1].evid, Evid::Observation);
        let dose = s.records[0].dose.as_ref().unwrap();
        assert_eq!((dose.addl, dose.ii, dose.target.depot), (2, 12.0, true));
        assert!(
            !ds.subjects[1].records[0]
                .dose
                .as_ref()
                .unwrap()
                .target
                .depot
        );
    }

    #[test]
    fn errors_name_row_and_column_as_written() {
        let d = RawDataset {
            columns: vec![
                ("ID".into(), Column::Num(vec![1.0, 1.0])),
                ("Time".into(), Column::Num(vec![0.0, 1.0])),
                ("Amt".into(), Column::Text(vec!["10".into(), "1O".into()])),
                ("CMT".into(), Column::Num(vec![1.0, 1.0])),
            ],
        };
        let e = d.parse(&map(), CovariateFill::Locf).unwrap_err();
        assert_eq!(e.field, "row 2.Amt");
        assert!(e.message.contains("\"1O\""), "{e}");
    }

    #[test]
    fn covariate_steps_follow_locf_or_nocb() {
        let d = data(&[
            ("ID", vec![1.0; 3]),
            ("TIME", vec![0.0, 10.0, 20.0]),
            ("WT", vec![70.0, f64::NAN, 60.0]),
        ]);
        let locf = d.parse(&map(), CovariateFill::Locf).unwrap();
        let s = &locf.subjects[0];
        assert_eq!(s.patients.len(), 2);
        assert_eq!(s.record_patient, vec![0, 0, 1]);
        assert_eq!((s.changes[0].time, s.changes[0].after), (20.0, false));
        assert_eq!((s.patient_at(19.0), s.patient_at(20.0)), (0, 1));
        let nocb = d.parse(&map(), CovariateFill::Nocb).unwrap();
        let s = &nocb.subjects[0];
        assert_eq!((s.changes[0].time, s.changes[0].after), (10.0, true));
        assert_eq!((s.patient_at(10.0), s.patient_at(10.5)), (0, 1));
    }
}
