//! Reading user input (JSON text or values) into spec types, with errors that name the field
//! path as the user wrote it (`regimen.blocks[0].doses[1].unit`) and say what was expected,
//! instead of serde's position in the internal JSON text.

use crate::error::{ModelError, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Deepest nesting accepted in user input (serde_json's own limit is 128; a deeper document is
/// refused before it is parsed).
pub const MAX_DEPTH: usize = 64;

/// Parses JSON text into `T`; `what` is the root of the field path (`regimen`, `patient`, ...).
pub fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    check_depth(text, what)?;
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| translate(what, e))
}

/// Converts a JSON value into `T`, naming the field path under `what`.
pub fn from_value<T: DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    serde_path_to_error::deserialize(v).map_err(|e| translate(what, e))
}

/// Refuses text nested deeper than [`MAX_DEPTH`] (counting brackets outside strings).
pub fn check_depth(text: &str, what: &str) -> Result<()> {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for c in text.chars() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ModelError::new(
                        what,
                        format!("nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn translate(what: &str, e: serde_path_to_error::Error<serde_json::Error>) -> ModelError {
    let path = e.path().to_string();
    let mut field = if path == "." || path.is_empty() {
        what.to_string()
    } else {
        format!("{what}.{path}")
    };
    let inner = e.into_inner();
    if matches!(
        inner.classify(),
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof
    ) {
        return ModelError::new(field, format!("invalid JSON: {inner}"));
    }
    let raw = inner.to_string();
    // serde_json appends the position in its own text, which the user never wrote.
    let msg = raw
        .rsplit_once(" at line ")
        .map_or(raw.as_str(), |(m, _)| m)
        .to_string();
    let message = if let Some(rest) = msg.strip_prefix("missing field ") {
        field = format!("{field}.{}", rest.trim_matches('`'));
        "is required but missing".to_string()
    } else if let Some(rest) = msg.strip_prefix("unknown field ") {
        // The path already ends at the unknown key.
        let expected = rest.split_once(", expected ").map_or("", |(_, x)| x);
        format!("unknown key (known: {})", plain_list(expected))
    } else if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let (name, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        format!(
            "unknown value {} (known: {})",
            name.replace('`', "\""),
            plain_list(expected)
        )
    } else if let Some(rest) = msg.strip_prefix("invalid type: ") {
        match rest.split_once(", expected ") {
            Some((got, want)) => format!("must be {}, got {got}", plain_type(want)),
            None => msg.clone(),
        }
    } else if let Some(rest) = msg.strip_prefix("invalid value: ") {
        match rest.split_once(", expected ") {
            Some((got, want)) => format!("must be {}, got {got}", plain_type(want)),
            None => msg.clone(),
        }
    } else {
        msg
    };
    ModelError::new(field, message)
}

/// serde's "one of `a`, `b`" / "`a` or `b`" as "a, b".
fn plain_list(s: &str) -> String {
    s.trim_start_matches("one of ")
        .replace('`', "")
        .replace(" or ", ", ")
}

/// serde's Rust type names in words.
fn plain_type(s: &str) -> &str {
    match s {
        "f64" | "f32" => "a number",
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number >= 0",
        "i32" | "i64" => "a whole number",
        "a boolean" | "bool" => "true or false",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::regimen::Regimen;

    fn err(text: &str) -> ModelError {
        match from_json::<Regimen>(text, "regimen") {
            Ok(_) => panic!("accepted {text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn names_the_path_and_the_expectation() {
        let e = err(
            r#"{"blocks": [{"cycle_days": 28, "doses": [{"drug": "x", "amount": 1, "unit": "g", "days": [1]}]}]}"#,
        );
        assert_eq!(e.field, "regimen.blocks[0].doses[0].unit");
        assert!(
            e.message.contains("\"g\"") && e.message.contains("mg/m2"),
            "{e}"
        );
        let e = err(
            r#"{"blocks": [{"cycle_days": 28, "doses": [{"drug": "x", "amount": null, "days": [1]}]}]}"#,
        );
        assert_eq!(e.field, "regimen.blocks[0].doses[0].amount");
        assert!(e.message.starts_with("must be"), "{e}");
        let e = err(r#"{"blocks": [{"doses": []}]}"#);
        assert_eq!(e.field, "regimen.blocks[0].cycle_days");
        let e = err(r#"{"blocks": [], "bogus": 1}"#);
        assert_eq!(e.field, "regimen.bogus");
        assert!(!e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(from_json::<Value>(&deep, "x").is_err());
        assert!(from_json::<Value>(
            r#"{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#,
            "x"
        )
        .is_ok());
    }
}
