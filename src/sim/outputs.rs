//! The model outputs of a state vector, by name: the one list of output names (`C_<drug>`,
//! `AUC_<drug>`, `X`, `E`, `PLT`, `TPO`, `PROL`) that simulation tables, datasets and error
//! models use.

use crate::engine::model::Model;

/// The outputs of `model`, in table order: `C_<drug>` and `AUC_<drug>` per drug, then `X`, `E`,
/// `PLT`, `TPO`, `PROL` where the model has them.
pub fn output_names(model: &Model) -> Vec<String> {
    let mut names = Vec::with_capacity(2 * model.drugs.len() + 5);
    for d in &model.drugs {
        names.push(format!("C_{}", d.name));
        names.push(format!("AUC_{}", d.name));
    }
    let probe = vec![0.0; model.n];
    for name in ["X", "E", "PLT", "TPO", "PROL"] {
        if output_value(model, &probe, name).is_some() {
            names.push(name.to_string());
        }
    }
    names
}

/// The value of output `name` in state `y` of `model`, `None` when the model has no such
/// output.
pub fn output_value(model: &Model, y: &[f64], name: &str) -> Option<f64> {
    if let Some(d) = name.strip_prefix("C_") {
        return model.drug(d).map(|(_, s)| s.conc(y));
    }
    if let Some(d) = name.strip_prefix("AUC_") {
        return model.drug(d).map(|(_, s)| y[s.auc]);
    }
    let pd = model.pd?;
    let i = match name {
        "X" => pd.x?,
        "E" => pd.e?,
        "PLT" => pd.plt,
        "TPO" => pd.tpo?,
        "PROL" => pd.prol,
        _ => return None,
    };
    Some(y[i])
}
