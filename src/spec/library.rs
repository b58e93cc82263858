//! The model library: drugs, platelet-model parameters, regimen presets (and, as they land,
//! populations and dose rules). The defaults are embedded TOML files; a user's TOML/JSON file or
//! dict is deep-merged over them.

use super::dose_rules::DoseRules;
use super::drug::{DrugSpec, ParamSpec, Route};
use super::efficacy::EfficacySpec;
use super::population::PopulationSpec;
use super::regimen::Regimen;
use crate::error::{non_negative, ModelError, Result};
use crate::params::table::{self, Field};
use crate::params::{Overrides, PlateletParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The embedded default files, by name.
pub const DEFAULT_FILES: [(&str, &str); 6] = [
    ("drugs.toml", include_str!("../../data/drugs.toml")),
    ("platelets.toml", include_str!("../../data/platelets.toml")),
    ("regimens.toml", include_str!("../../data/regimens.toml")),
    (
        "populations.toml",
        include_str!("../../data/populations.toml"),
    ),
    (
        "dose_rules.toml",
        include_str!("../../data/dose_rules.toml"),
    ),
    ("efficacy.toml", include_str!("../../data/efficacy.toml")),
];

/// Everything the engine simulates from, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Library {
    pub drugs: BTreeMap<String, DrugSpec>,
    /// TPO platelet model and XPO1 engagement parameters (`kon`, `koff`, `Imax`, ...).
    pub platelets: BTreeMap<String, ParamSpec>,
    /// Classic Friberg model parameters.
    pub friberg: BTreeMap<String, ParamSpec>,
    pub regimens: BTreeMap<String, Regimen>,
    pub populations: BTreeMap<String, PopulationSpec>,
    pub dose_rules: BTreeMap<String, DoseRules>,
    /// The myeloma efficacy model (M-protein, response, progression).
    pub efficacy: EfficacySpec,
}

/// Recursively merges `over` into `base`: tables merge key by key, anything else is replaced.
pub fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A parameter value given without a source is marked `user override`, so that a default's
/// citation never stays attached to a user's number.
fn mark_user_values(v: &mut Value) {
    if let Value::Object(m) = v {
        if m.contains_key("value") && !m.contains_key("source") && !m.contains_key("dist") {
            m.insert("source".into(), Value::String("user override".into()));
        }
        for x in m.values_mut() {
            mark_user_values(x);
        }
    }
}

/// Every `{value, unit}` of `over` whose unit differs from the unit of the same entry in
/// `base`: converted to the base unit when both measure one quantity, else refused (a user's
/// value must never be read in another unit than the one they wrote).
fn convert_units(base: &Value, over: &mut Value, path: &str) -> Result<()> {
    let Value::Object(m) = over else {
        return Ok(());
    };
    if let (Some(Value::String(unit)), Some(Value::String(base_unit))) =
        (m.get("unit"), base.get("unit"))
    {
        if unit != base_unit {
            let field = format!("{path}.unit");
            let f = super::units::factor(unit, base_unit).ok_or_else(|| {
                ModelError::new(
                    &field,
                    format!("{unit:?} cannot be converted to this parameter's unit {base_unit:?}"),
                )
            })?;
            if let Some(x) = m.get("value").and_then(Value::as_f64) {
                m.insert("value".into(), Value::from(x * f));
            }
            m.insert("unit".into(), Value::String(base_unit.clone()));
        }
        return Ok(());
    }
    for (k, v) in m.iter_mut() {
        if let Some(b) = base.get(k) {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            convert_units(b, v, &p)?;
        }
    }
    Ok(())
}

/// Parses TOML or JSON text (JSON when it starts with `{`).
pub fn parse_text(text: &str, origin: &str) -> Result<Value> {
    if text.trim_start().starts_with('{') {
        super::input::from_json(text, origin)
    } else {
        let v: toml::Value = toml::from_str(text)
            .map_err(|e| ModelError::new(origin, format!("invalid TOML: {e}")))?;
        serde_json::to_value(v).map_err(|e| ModelError::new(origin, e.to_string()))
    }
}

/// Serialising the library (never fails for these types; kept as an error, not a panic).
fn serde_error(e: serde_json::Error) -> ModelError {
    ModelError::new("library", e.to_string())
}

impl Library {
    /// The embedded defaults as one JSON value.
    pub fn default_value() -> Result<Value> {
        let mut v = Value::Object(Default::default());
        for (name, text) in DEFAULT_FILES {
            deep_merge(&mut v, parse_text(text, name)?);
        }
        Ok(v)
    }

    /// The embedded defaults.
    pub fn embedded() -> Result<Self> {
        Self::from_value(Self::default_value()?)
    }

    /// A library from a full JSON value, validated.
    pub fn from_value(v: Value) -> Result<Self> {
        let lib: Library = super::input::from_value(v, "library")?;
        lib.validate()?;
        Ok(lib)
    }

    /// This library with `over` (a partial library) deep-merged on top.
    pub fn with_overrides(&self, mut over: Value) -> Result<Self> {
        if !over.is_object() {
            return Err(ModelError::new("library", "overrides must be a table/dict"));
        }
        mark_user_values(&mut over);
        let mut v = serde_json::to_value(self).map_err(serde_error)?;
        convert_units(&v, &mut over, "")?;
        deep_merge(&mut v, over);
        Self::from_value(v)
    }

    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(serde_error)
    }

    pub fn validate(&self) -> Result<()> {
        for (name, d) in &self.drugs {
            d.validate(name)?;
        }
        check_namespace(table::PLATELETS, &table::PLATELET, &self.platelets)?;
        check_namespace(table::FRIBERG, &table::FRIBERG_FIELDS, &self.friberg)?;
        for (name, p) in &self.populations {
            p.validate()
                .map_err(|e| e.within(&format!("populations.{name}")))?;
        }
        for (name, r) in &self.dose_rules {
            r.validate()
                .map_err(|e| e.within(&format!("dose_rules.{name}")))?;
        }
        self.efficacy.validate()?;
        for name in self.efficacy.partners.keys() {
            self.drug(name).map_err(|e| e.within("efficacy.partners"))?;
        }
        for (name, r) in &self.regimens {
            r.validate()
                .map_err(|e| e.within(&format!("regimens.{name}")))?;
            for d in r.drugs() {
                self.drug(&d)
                    .map_err(|e| e.within(&format!("regimens.{name}")))?;
            }
        }
        Ok(())
    }

    pub fn drug(&self, name: &str) -> Result<&DrugSpec> {
        self.drugs.get(name).ok_or_else(|| {
            ModelError::new(
                "drug",
                format!(
                    "unknown drug {name:?} (available: {})",
                    self.drugs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    pub fn default_route(&self, name: &str) -> Result<Route> {
        Ok(self.drug(name)?.default_route)
    }

    pub fn population(&self, name: &str) -> Result<&PopulationSpec> {
        self.populations.get(name).ok_or_else(|| {
            ModelError::new(
                "population",
                format!(
                    "unknown population {name:?} (available: {})",
                    self.populations
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// Dose rules by name; `label` picks `label_biw` for a regimen giving the ruled drug on more
    /// than one day a week and `label_qw` otherwise.
    pub fn dose_rules_for(&self, name: &str, regimen: &Regimen) -> Result<&DoseRules> {
        let name = if name == "label" {
            let per_week = regimen
                .planned_dosing("selinexor")?
                .map_or(1.0, |(_, per_week, _)| per_week);
            // More than one dose a week (BIW, also when given 3 weeks of 4) takes the BIW ladder.
            if per_week > 1.0 + 1e-9 {
                "label_biw"
            } else {
                "label_qw"
            }
        } else {
            name
        };
        self.dose_rules.get(name).ok_or_else(|| {
            ModelError::new(
                "dose_rules",
                format!(
                    "unknown dose rules {name:?} (available: label, {})",
                    self.dose_rules
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    pub fn regimen(&self, name: &str) -> Result<&Regimen> {
        self.regimens.get(name).ok_or_else(|| {
            ModelError::new(
                "regimen",
                format!(
                    "unknown preset {name:?} (available: {})",
                    self.regimens.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// Checks that every override names a known namespace and parameter with a valid value.
    /// Errors name the field as `{at}.{namespace}.{param}`: `at` is where the user wrote the
    /// overrides (`params`, `population.typical`, `patients[3]`).
    pub fn check_overrides(&self, over: &Overrides, at: &str) -> Result<()> {
        for (ns, params) in over {
            match table::platelet_namespace(ns) {
                Some(fields) => {
                    for (p, v) in params {
                        let f = format!("{at}.{ns}.{p}");
                        if !fields.iter().any(|x| x.name == p) {
                            return Err(ModelError::new(
                                f,
                                format!(
                                    "unknown parameter (known: {})",
                                    table::names(fields).join(", ")
                                ),
                            ));
                        }
                        non_negative(&f, *v)?;
                    }
                }
                None => {
                    let spec = self.drug(ns).map_err(|e| e.within(at))?;
                    spec.check_overrides(ns, params, at)?;
                }
            }
        }
        Ok(())
    }

    /// Checks that `namespace.param` names a parameter (of a platelet model, or of a drug).
    pub fn check_param_name(&self, ns: &str, p: &str) -> Result<()> {
        match table::platelet_namespace(ns) {
            Some(fields) if fields.iter().any(|f| f.name == p) => Ok(()),
            Some(fields) => Err(ModelError::new(
                format!("params.{ns}.{p}"),
                format!(
                    "unknown parameter (known: {})",
                    table::names(fields).join(", ")
                ),
            )),
            None => {
                if self.drug(ns)?.param_names().iter().any(|n| n == p) {
                    Ok(())
                } else {
                    Err(ModelError::new(
                        format!("{ns}.{p}"),
                        format!("unknown parameter of {ns}"),
                    ))
                }
            }
        }
    }
}

/// Checks a platelet-model namespace of the library: every required parameter present, no
/// unknown name.
fn check_namespace(
    ns: &str,
    fields: &[Field<PlateletParams>],
    given: &BTreeMap<String, ParamSpec>,
) -> Result<()> {
    for f in fields {
        let optional =
            ns == table::PLATELETS && table::OPTIONAL_PLATELET.iter().any(|(n, _)| *n == f.name);
        if !optional && !given.contains_key(f.name) {
            return Err(ModelError::new(
                format!("{ns}.{}", f.name),
                "is required but missing",
            ));
        }
    }
    for p in given.keys() {
        if !fields.iter().any(|f| f.name == p) {
            return Err(ModelError::new(
                format!("{ns}.{p}"),
                format!(
                    "unknown parameter (known: {})",
                    table::names(fields).join(", ")
                ),
            ));
        }
    }
    Ok(())
}
