//! NONMEM compartment numbers (CMT): the default numbering of a list of drugs, and the map from
//! a dataset's CMT values (numbers or names) to the drug and compartment a dose goes into.
//!
//! Default numbering, for the drugs in order `k = 0, 1, ...` (the regimen's order of first
//! appearance): `2k + 1` is drug k's depot, `2k + 2` its central compartment, and `2n + 1`
//! (after the last drug's) the platelet count (observations only). So selinexor alone is 1
//! depot, 2 central, 3 platelets; selinexor + dexamethasone is 1, 2 (selinexor), 3, 4
//! (dexamethasone), 5 platelets.

use crate::error::{ModelError, Result};

/// Where a dose goes: a drug's depot (extravascular input, with its F and lag) or its central
/// compartment (IV bolus or infusion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmtTarget {
    pub drug: String,
    pub depot: bool,
}

impl CmtTarget {
    /// Parses `drug.depot` or `drug.central`; a bare `drug` is its depot when `has_depot(drug)`,
    /// else its central compartment.
    pub fn parse(text: &str, has_depot: &dyn Fn(&str) -> Result<bool>) -> Result<Self> {
        let t = text.trim();
        let (drug, depot) = match t.rsplit_once('.') {
            Some((d, "depot")) => (d, true),
            Some((d, "central")) => (d, false),
            _ => (t, has_depot(t)?),
        };
        if drug.is_empty() {
            return Err(ModelError::new(
                "cmt_map",
                format!(
                    "{text:?} names no drug: write \"drug\", \"drug.depot\" or \"drug.central\""
                ),
            ));
        }
        has_depot(drug)?; // the drug exists
        Ok(Self {
            drug: drug.to_string(),
            depot,
        })
    }

    /// `drug.depot` or `drug.central`.
    pub fn name(&self) -> String {
        format!(
            "{}.{}",
            self.drug,
            if self.depot { "depot" } else { "central" }
        )
    }
}

/// The default CMT number of drug `k`'s depot or central compartment.
pub fn default_cmt(k: usize, depot: bool) -> u32 {
    2 * k as u32 + if depot { 1 } else { 2 }
}

/// The default CMT number of the platelet count among `n` drugs (observations only).
pub fn platelet_cmt(n: usize) -> u32 {
    2 * n as u32 + 1
}

/// The default map of `drugs`: (CMT number, target) for every depot and central compartment.
pub fn default_cmt_map(drugs: &[String]) -> Vec<(u32, CmtTarget)> {
    let mut out = Vec::with_capacity(2 * drugs.len());
    for (k, d) in drugs.iter().enumerate() {
        for depot in [true, false] {
            out.push((
                default_cmt(k, depot),
                CmtTarget {
                    drug: d.clone(),
                    depot,
                },
            ));
        }
    }
    out
}

/// A dataset's CMT key: a number, or a name as written.
#[derive(Debug, Clone, PartialEq)]
pub enum CmtKey {
    Number(f64),
    Name(String),
}

impl CmtKey {
    /// A number when the text reads as one, else the trimmed name.
    pub fn from_text(text: &str) -> Self {
        let t = text.trim();
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => CmtKey::Number(v),
            _ => CmtKey::Name(t.to_string()),
        }
    }

    pub fn show(&self) -> String {
        match self {
            CmtKey::Number(v) => format!("{v}"),
            CmtKey::Name(s) => format!("{s:?}"),
        }
    }
}

/// The map from a dataset's CMT values to dose targets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CmtMap {
    pub entries: Vec<(CmtKey, CmtTarget)>,
}

impl CmtMap {
    /// From (key as written, target as written) pairs; a key may appear once.
    pub fn parse(
        pairs: &[(String, String)],
        has_depot: &dyn Fn(&str) -> Result<bool>,
    ) -> Result<Self> {
        let mut entries: Vec<(CmtKey, CmtTarget)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let key = CmtKey::from_text(k);
            let field = format!("cmt_map[{}]", key.show());
            if entries.iter().any(|(e, _)| *e == key) {
                return Err(ModelError::new(field, "appears twice"));
            }
            let target = CmtTarget::parse(v, has_depot).map_err(|e| e.within(&field))?;
            entries.push((key, target));
        }
        if entries.is_empty() {
            return Err(ModelError::new(
                "cmt_map",
                "is empty: map each dosing CMT to \"drug\", \"drug.depot\" or \"drug.central\"",
            ));
        }
        Ok(Self { entries })
    }

    /// The default numbering of `drugs` ([`default_cmt_map`]).
    pub fn default_for(drugs: &[String]) -> Self {
        Self {
            entries: default_cmt_map(drugs)
                .into_iter()
                .map(|(n, t)| (CmtKey::Number(f64::from(n)), t))
                .collect(),
        }
    }

    /// The target of a CMT value, if mapped.
    pub fn get(&self, key: &CmtKey) -> Option<&CmtTarget> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// The distinct drugs of the map, in order of first appearance.
    pub fn drugs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, t) in &self.entries {
            if !out.contains(&t.drug) {
                out.push(t.drug.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_numbering_is_depot_then_central_per_drug_then_platelets() {
        let drugs = vec!["selinexor".to_string(), "dexamethasone".to_string()];
        let m = default_cmt_map(&drugs);
        let names: Vec<(u32, String)> = m.iter().map(|(n, t)| (*n, t.name())).collect();
        assert_eq!(
            names,
            vec![
                (1, "selinexor.depot".into()),
                (2, "selinexor.central".into()),
                (3, "dexamethasone.depot".into()),
                (4, "dexamethasone.central".into()),
            ]
        );
        assert_eq!(platelet_cmt(2), 5);
    }

    #[test]
    fn targets_parse_with_and_without_compartment() {
        let has = |d: &str| -> Result<bool> {
            match d {
                "oral" => Ok(true),
                "iv" => Ok(false),
                _ => Err(ModelError::new("drug", format!("unknown drug {d:?}"))),
            }
        };
        assert!(CmtTarget::parse("oral", &has).unwrap().depot);
        assert!(!CmtTarget::parse("iv", &has).unwrap().depot);
        assert!(!CmtTarget::parse("oral.central", &has).unwrap().depot);
        assert!(CmtTarget::parse("nope.depot", &has).is_err());
        let pairs = vec![("1".to_string(), "oral".to_string())];
        let m = CmtMap::parse(&pairs, &has).unwrap();
        assert!(m.get(&CmtKey::from_text("1.0")).is_some());
        let dup = vec![("1".into(), "oral".into()), ("1.0".into(), "iv".into())];
        assert!(CmtMap::parse(&dup, &has).is_err());
    }
}
