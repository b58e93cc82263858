//! The one table of public parameter names: for each namespace (a drug, `platelets`,
//! `friberg`), every name a user may write, the field of the resolved struct it sets, and
//! whether its random effect acts on the logit scale. Everything that reads or writes a
//! parameter by name goes through here.

pub use super::effect::EffectKind;
use super::resolved::{PkParams, PlateletParams};

/// Namespace of the TPO platelet model's (and XPO1 engagement's) parameters.
pub const PLATELETS: &str = "platelets";
/// Namespace of the classic Friberg model's parameters.
pub const FRIBERG: &str = "friberg";

/// One public parameter: its name and the field of `T` it reads and sets.
pub struct Field<T> {
    pub name: &'static str,
    pub get: fn(&T) -> f64,
    pub slot: fn(&mut T) -> &mut f64,
    /// Bounded in [0, 1]: random effects act on the logit scale.
    pub bounded: bool,
}

macro_rules! fields {
    ($t:ty; $($name:literal => $f:ident $(, $b:ident)?);* $(;)?) => {
        [$(Field::<$t> {
            name: $name,
            get: |p| p.$f,
            slot: |p| &mut p.$f,
            bounded: fields!(@bounded $($b)?),
        }),*]
    };
    (@bounded) => { false };
    (@bounded bounded) => { true };
}

/// PK parameters of a drug, in the order they are resolved.
pub const PK: [Field<PkParams>; 12] = fields!(PkParams;
    "ka" => ka; "CL" => cl; "Vc" => vc; "Q" => q; "Vp" => vp; "Q2" => q2; "Vp2" => vp2;
    "F" => f, bounded; "tlag" => tlag; "Vmax" => vmax; "Km" => km; "kdes" => kdes;
);

/// Platelet-effect parameters of a drug (which ones a drug has depends on its [`EffectKind`]).
pub const EFFECT: [Field<PkParams>; 7] = fields!(PkParams;
    "Emax" => e1, bounded; "Imax" => e1, bounded; "slope" => e1; "EC50" => e2; "IC50" => e2;
    "Smax" => e1; "SC50" => e2;
);

/// The `platelets` namespace: TPO model and XPO1 engagement.
pub const PLATELET: [Field<PlateletParams>; 15] = fields!(PlateletParams;
    "kon" => kon; "koff" => koff; "Imax" => imax, bounded; "gamma" => gamma; "P0" => p0;
    "MTT" => mtt; "lifespan" => lifespan; "tpo_half" => tpo_half; "fP" => fp, bounded;
    "ke0" => ke0; "renewal" => renewal, bounded; "tx_increment" => tx_increment;
    "tx_survival" => tx_survival; "downstream" => downstream, bounded;
    "gamma_yield" => gamma_yield;
);

/// The `friberg` namespace.
pub const FRIBERG_FIELDS: [Field<PlateletParams>; 5] = fields!(PlateletParams;
    "MTT" => f_mtt; "gamma" => f_gamma; "slope" => f_slope; "Emax" => f_emax, bounded;
    "EC50" => f_ec50;
);

/// Parameters of the `platelets` namespace a library may omit, with the value used then.
pub const OPTIONAL_PLATELET: [(&str, f64); 4] = [
    ("ke0", 0.0),
    ("renewal", 1.0),
    ("downstream", 0.0),
    ("gamma_yield", 0.0),
];

/// The fields of a platelet-model namespace (`platelets` or `friberg`); `None` for a drug.
pub fn platelet_namespace(ns: &str) -> Option<&'static [Field<PlateletParams>]> {
    match ns {
        PLATELETS => Some(&PLATELET),
        FRIBERG => Some(&FRIBERG_FIELDS),
        _ => None,
    }
}

/// The field of a platelet-model parameter.
pub fn platelet_field(ns: &str, name: &str) -> Option<&'static Field<PlateletParams>> {
    platelet_namespace(ns)?.iter().find(|f| f.name == name)
}

/// The field of a drug parameter (PK or effect).
pub fn pk_field(name: &str) -> Option<&'static Field<PkParams>> {
    PK.iter().chain(EFFECT.iter()).find(|f| f.name == name)
}

/// The names of a list of fields, for messages.
pub fn names<T>(fields: &[Field<T>]) -> Vec<&'static str> {
    fields.iter().map(|f| f.name).collect()
}

/// Whether random effects of a parameter name act on the logit scale (bounded in [0, 1]).
pub fn is_bounded(name: &str) -> bool {
    PK.iter()
        .chain(EFFECT.iter())
        .map(|f| (f.name, f.bounded))
        .chain(
            PLATELET
                .iter()
                .chain(FRIBERG_FIELDS.iter())
                .map(|f| (f.name, f.bounded)),
        )
        .any(|(n, b)| b && n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_sets_its_own_field() {
        let mut p = PlateletParams::default();
        for (i, f) in PLATELET.iter().chain(FRIBERG_FIELDS.iter()).enumerate() {
            *(f.slot)(&mut p) = i as f64 + 1.0;
        }
        for (i, f) in PLATELET.iter().chain(FRIBERG_FIELDS.iter()).enumerate() {
            assert_eq!((f.get)(&p), i as f64 + 1.0, "{}", f.name);
        }
        let mut k = PkParams::default();
        for (i, f) in PK.iter().enumerate() {
            *(f.slot)(&mut k) = i as f64 + 1.0;
        }
        for (i, f) in PK.iter().enumerate() {
            assert_eq!((f.get)(&k), i as f64 + 1.0, "{}", f.name);
        }
    }

    #[test]
    fn bounded_names() {
        for n in ["Imax", "fP", "F", "Emax"] {
            assert!(is_bounded(n), "{n}");
        }
        for n in ["CL", "kon", "slope", "P0"] {
            assert!(!is_bounded(n), "{n}");
        }
    }
}
