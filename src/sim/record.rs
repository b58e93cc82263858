//! A recorded subject's doses as dataset rows: the dose actions the solver applied turned back
//! into administrations (AMT before bioavailability, infusions with their rate), plus the drugs
//! the trial does not simulate as planned, numbered by the default CMT map of the regimen's drugs.

use super::dataset::{dose_rows, DoseRow};
use super::trial::SubjectRecord;
use crate::engine::events::{ActionKind, TRANSFUSED};
use crate::error::{ModelError, Result};
use crate::spec::cmt::{default_cmt, platelet_cmt};
use crate::spec::regimen::TRANSFUSION;

/// The dose rows of `rec` (time order), CMT numbers from `drugs` (the regimen's drugs, in
/// order); an infusion still running at `t_end_h` is written with the amount given by then.
pub fn applied_dose_rows(
    rec: &SubjectRecord,
    drugs: &[String],
    t_end_h: f64,
) -> Result<Vec<DoseRow>> {
    let cmt_of = |name: &str, depot: bool| -> Result<u32> {
        let k = drugs
            .iter()
            .position(|d| d == name)
            .ok_or_else(|| ModelError::new("drug", format!("{name:?} is not among {drugs:?}")))?;
        Ok(default_cmt(k, depot))
    };
    let mut rows = dose_rows(&rec.not_simulated, drugs)?;
    for (i, a) in rec.applied.iter().enumerate() {
        if a.drug == TRANSFUSED {
            if let ActionKind::Jump { amount, .. } = a.kind {
                rows.push(DoseRow {
                    time: a.given_at,
                    cmt: platelet_cmt(drugs.len()),
                    amt: amount / (rec.model.pp.tx_increment * rec.model.tx_bsa_factor),
                    rate: 0.0,
                    ii: 0.0,
                    ss: 0,
                    drug: TRANSFUSION.to_string(),
                });
            }
            continue;
        }
        let slot = rec.model.drugs.get(a.drug).ok_or_else(|| {
            ModelError::new(
                "drug",
                format!("dose action of an unknown drug index {}", a.drug),
            )
        })?;
        match a.kind {
            ActionKind::Jump { state, amount } => {
                let depot = slot.depot == Some(state);
                let f = if depot { slot.pk.f } else { 1.0 };
                rows.push(DoseRow {
                    time: a.given_at,
                    cmt: cmt_of(&slot.name, depot)?,
                    amt: if f > 0.0 { amount / f } else { 0.0 },
                    rate: 0.0,
                    ii: 0.0,
                    ss: 0,
                    drug: slot.name.clone(),
                });
            }
            ActionKind::Rate { delta, .. } if delta > 0.0 => {
                let end = rec.applied[i + 1..]
                    .iter()
                    .find(|b| {
                        b.drug == a.drug
                            && b.given_at == a.given_at
                            && matches!(b.kind, ActionKind::Rate { delta: d, .. } if d == -delta)
                    })
                    .map_or(t_end_h, |b| b.time);
                rows.push(DoseRow {
                    time: a.given_at,
                    cmt: cmt_of(&slot.name, false)?,
                    amt: delta * (end - a.time),
                    rate: delta,
                    ii: 0.0,
                    ss: 0,
                    drug: slot.name.clone(),
                });
            }
            ActionKind::Rate { .. } => {} // an infusion's end: written with its start
            ActionKind::SteadyState { .. } => {
                return Err(ModelError::new(
                    "regimen",
                    format!(
                        "{} is dosed at steady state: a subject's applied doses cannot be written \
                         as dataset rows",
                        slot.name
                    ),
                ))
            }
            _ => {}
        }
    }
    rows.sort_by(|a, b| a.time.total_cmp(&b.time));
    Ok(rows)
}
