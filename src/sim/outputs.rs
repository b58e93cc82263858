//! The simulated outputs by name (`PLT`, `X`, `C_<drug>`, ...): what error models and dose rules
//! read from a state vector.

use crate::engine::model::Model;

/// The value of output `name` (`C_<drug>`, `AUC_<drug>`, `X`, `E`, `PLT`, `TPO`, `PROL`, and
/// `PLT_TX` in a model with transfusions) in state `y` of `model`, `None` when the model has no
/// such output. `PLT` is the measured count: the patient's own platelets plus transfused ones.
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
