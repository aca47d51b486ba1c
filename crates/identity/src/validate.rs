//! Input checks shared by the identity resources. Messages name the field and say
//! what is wrong, in the form Keystone's schema errors take.

use ferrostack_core::{Error, Result};

/// A required name: not blank, at most `max` characters, no control characters.
pub fn name(field: &str, value: &str, max: usize) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::bad_request(format!(
            "Invalid input for field '{field}': it must not be empty."
        )));
    }
    text(field, value, max)?;
    Ok(value.to_string())
}

/// Optional free text: at most `max` characters, no control characters but newlines
/// and tabs.
pub fn text(field: &str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(Error::bad_request(format!(
            "Invalid input for field '{field}': it is {n} characters long; the limit is {max}."
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Error::bad_request(format!(
            "Invalid input for field '{field}': control characters are not allowed."
        )));
    }
    Ok(())
}

/// An id in a path or body: bounded, printable, so it cannot smuggle anything into a
/// message or a log line.
pub fn id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::bad_request(format!(
            "Invalid input for field '{field}': {value:?} is not a valid id."
        )));
    }
    Ok(())
}

pub use ferrostack_types::identity::limits::{
    DESCRIPTION_MAX, NAME_MAX, PASSWORD_MAX, USER_NAME_MAX,
};

pub fn password(value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::bad_request(
            "Invalid input for field 'password': it must not be empty.",
        ));
    }
    if value.len() > PASSWORD_MAX {
        return Err(Error::bad_request(format!(
            "Invalid input for field 'password': it is longer than {PASSWORD_MAX} bytes."
        )));
    }
    Ok(())
}

/// The attributes a user's extras may not be named after: what the service sets or
/// keeps in its own fields (an extra of that name would shadow it in every view).
pub const USER_FIELDS: &[&str] = &[
    "id",
    "links",
    "name",
    "domain_id",
    "enabled",
    "password",
    "password_expires_at",
    "default_project_id",
    "email",
    "description",
    "options",
    "federated",
];
/// The same for a project's extras.
pub const PROJECT_FIELDS: &[&str] = &[
    "id",
    "links",
    "name",
    "domain_id",
    "parent_id",
    "is_domain",
    "enabled",
    "description",
    "tags",
    "options",
];

/// Extra attributes a client gives a user or project: not named after one of its
/// `fields`, at most 32, names of at most 64 characters, 16 KiB of JSON in all.
pub fn extra(
    kind: &str,
    fields: &[&str],
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    if let Some(k) = extra.keys().find(|k| fields.contains(&k.as_str())) {
        return Err(Error::bad_request(format!(
            "Invalid input for field '{k}': it is set by the service, not by a client."
        )));
    }
    const KEYS_MAX: usize = 32;
    const KEY_MAX: usize = 64;
    const BYTES_MAX: usize = 16 * 1024;
    if extra.len() > KEYS_MAX {
        return Err(Error::bad_request(format!(
            "Invalid input for {kind}: at most {KEYS_MAX} extra attributes are kept."
        )));
    }
    for k in extra.keys() {
        name("extra attribute", k, KEY_MAX)?;
    }
    let bytes = serde_json::to_string(extra)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    if bytes > BYTES_MAX {
        return Err(Error::bad_request(format!(
            "Invalid input for {kind}: its extra attributes are {bytes} bytes of JSON; the limit is {BYTES_MAX}."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_for_blank_length_and_control_characters() {
        assert!(name("name", "web", 64).is_ok());
        let e = name("name", "   ", 64).unwrap_err().to_string();
        assert!(e.contains("'name'") && e.contains("empty"), "{e}");
        let e = name("name", &"x".repeat(65), 64).unwrap_err().to_string();
        assert!(e.contains("65 characters") && e.contains("64"), "{e}");
        assert!(name("name", "a\u{0}b", 64).is_err());
        // Multi-byte characters count as one.
        assert!(name("name", &"é".repeat(64), 64).is_ok());
    }
}
