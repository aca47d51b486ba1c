//! Typed reads of a Nova request body's fields, with Nova's wording when a field has
//! the wrong type: one place for every compute handler.

use super::prelude::*;

fn wrong(key: &str, v: &Value, what: &str) -> NovaError {
    NovaError(Error::bad_request(format!(
        "Invalid input for field/attribute {key}. Value: {v}. {v} is not {what}."
    )))
}

/// A string field (absent or null: `None`).
pub(crate) fn text(m: &mut Map<String, Value>, key: &str) -> NResult<Option<String>> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(o) => Err(wrong(key, &o, "of type 'string'")),
    }
}

/// A whole number, also as a string of digits as Nova accepts; absent or null gives
/// `default`, or without one a "required" refusal.
pub(crate) fn int(m: &mut Map<String, Value>, key: &str, default: Option<i64>) -> NResult<i64> {
    let required = || {
        NovaError(Error::bad_request(format!(
            "Invalid input: '{key}' is a required property."
        )))
    };
    match m.remove(key) {
        None | Some(Value::Null) => default.ok_or_else(required),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or(0)),
        Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
            Ok(s.trim().parse().unwrap_or(0))
        }
        Some(Value::String(s)) if s.is_empty() => default.ok_or_else(required),
        Some(o) => Err(wrong(key, &o, "an integer")),
    }
}

/// A boolean, also as the strings Nova's schemas take (`"true"`, `"False"`, `"1"`, …).
pub(crate) fn flag(m: &mut Map<String, Value>, key: &str) -> NResult<Option<bool>> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" => Ok(Some(false)),
            _ => Err(wrong(key, &Value::String(s), "a boolean")),
        },
        Some(o) => Err(wrong(key, &o, "a boolean")),
    }
}

/// A list of strings (tags).
pub(crate) fn strings(m: &mut Map<String, Value>, key: &str) -> NResult<Option<Vec<String>>> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|t| match t {
                Value::String(s) => Ok(s),
                o => Err(wrong(key, &o, "a string")),
            })
            .collect::<NResult<Vec<_>>>()
            .map(Some),
        Some(o) => Err(wrong(key, &o, "a list")),
    }
}

/// An object of string values (metadata).
pub(crate) fn string_map(v: Option<Value>, key: &str) -> NResult<BTreeMap<String, String>> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(o)) => o
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                o => Err(wrong(&format!("{key}.{k}"), &o, "a string")),
            })
            .collect(),
        Some(o) => Err(wrong(key, &o, "an object")),
    }
}
