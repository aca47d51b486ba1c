//! Checks of metadata definitions as Glance's schemas have them: names that are path
//! segments, free text, property definitions and objects.

use ferrostack_core::{Error, Result};
use serde_json::{Map, Value};

use crate::metadefs::{DESCRIPTION_MAX, NAME_MAX, PROPERTY_TYPES};

/// A namespace, property, object, tag or resource type name: it is a path segment, so
/// 1–80 printable characters without `/`.
pub fn check_name(field: &str, v: &str) -> Result<()> {
    if v.is_empty() || v.chars().count() > NAME_MAX {
        return Err(Error::bad_request(format!(
            "Invalid {field} {v:?}: it must be 1 to {NAME_MAX} characters."
        )));
    }
    if v.chars().any(|c| c == '/' || c.is_control()) || v.trim() != v {
        return Err(Error::bad_request(format!(
            "Invalid {field} {v:?}: no '/', control characters or surrounding spaces."
        )));
    }
    Ok(())
}

pub(crate) fn check_text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::bad_request(format!(
            "Invalid {field}: at most {max} characters, no control characters."
        )));
    }
    Ok(())
}

/// A property definition (a property's own, or one inside an object): `title` and a
/// JSON-schema `type` are required, as Glance's schema has them.
pub fn check_property(name: &str, def: &Map<String, Value>) -> Result<()> {
    check_name("property name", name)?;
    if !def.get("title").is_some_and(Value::is_string) {
        return Err(Error::bad_request(format!(
            "Invalid property {name:?}: 'title' is required and must be a string."
        )));
    }
    match def.get("type").and_then(Value::as_str) {
        Some(t) if PROPERTY_TYPES.contains(&t) => Ok(()),
        _ => Err(Error::bad_request(format!(
            "Invalid property {name:?}: 'type' must be one of {}.",
            PROPERTY_TYPES.join(", ")
        ))),
    }
}

/// An object's body: `description` text, `required` names, `properties` definitions.
pub fn check_object(name: &str, body: &Map<String, Value>) -> Result<()> {
    check_name("object name", name)?;
    if let Some(d) = body.get("description") {
        check_text(
            "description",
            d.as_str().unwrap_or("\u{0}"),
            DESCRIPTION_MAX,
        )?;
    }
    let props = match body.get("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => {
            return Err(Error::bad_request(format!(
                "Invalid object {name:?}: 'properties' must be an object."
            )))
        }
    };
    for (k, v) in &props {
        let def = v.as_object().ok_or_else(|| {
            Error::bad_request(format!(
                "Invalid object {name:?}: property {k:?} must be an object."
            ))
        })?;
        check_property(k, def)?;
    }
    if let Some(r) = body.get("required") {
        let ok = r.as_array().is_some_and(|a| {
            a.iter()
                .all(|x| x.as_str().is_some_and(|n| props.contains_key(n)))
        });
        if !ok {
            return Err(Error::bad_request(format!(
                "Invalid object {name:?}: 'required' must list names of its properties."
            )));
        }
    }
    Ok(())
}
