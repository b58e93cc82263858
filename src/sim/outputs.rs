//! The simulated outputs by name (`C_<drug>`, `AUC_<drug>`, `X`, `E`, `PLT`, `PLT_TX`, `TPO`,
//! `PROL`): the one list that simulation tables, datasets, error models and dose rules read.

use crate::engine::model::Model;

/// The outputs of `model`, in table order: `C_<drug>` and `AUC_<drug>` per drug, then `X`, `E`,
/// `PLT`, `PLT_TX`, `TPO`, `PROL` where the model has them.
pub fn output_names(model: &Model) -> Vec<String> {
    let mut names = Vec::with_capacity(2 * model.drugs.len() + 6);
    for d in &model.drugs {
        names.push(format!("C_{}", d.name));
        names.push(format!("AUC_{}", d.name));
    }
    let probe = vec![0.0; model.n];
    for name in ["X", "E", "PLT", "PLT_TX", "TPO", "PROL"] {
        if output_value(model, &probe, name).is_some() {
            names.push(name.to_string());
        }
    }
    names
}

/// The value of output `name` in state `y` of `model`, `None` when the model has no such
/// output. `PLT` is the measured count: the patient's own platelets plus transfused ones
/// (`PLT_TX`, in a model with transfusions).
pub fn output_value(model: &Model, y: &[f64], name: &str) -> Option<f64> {
    if let Some(d) = name.strip_prefix("C_") {
        return model.drug(d).map(|(_, s)| s.conc(y));
    }
    if let Some(d) = name.strip_prefix("AUC_") {
        return model.drug(d).map(|(_, s)| y[s.auc]);
    }
    let pd = model.pd?;
    let i = match name {
        "PLT" => return Some(model.count(&pd, y)),
        "PLT_TX" => pd.ptx?,
        "X" => pd.x?,
        "E" => pd.e?,
        "TPO" => pd.tpo?,
        "PROL" => pd.prol,
        _ => return None,
    };
    Some(y[i])
}
