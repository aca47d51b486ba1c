//! Extractors shared by the REST routers: the JSON body (with errors that name the
//! field), the caller context from `X-Auth-Token`, and list-filter parsing.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use ferrostack_core::{Ctx, Error};
use serde::de::DeserializeOwned;

use super::error::KeystoneError;
use super::RequestId;
use crate::state::AppState;

/// A JSON request body. Empty, malformed, too deeply nested, or wrongly typed bodies
/// are refused with 400 and a message naming what is wrong and where.
pub struct JsonBody<T>(pub T);

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad_request(
            "Expecting to find a JSON body in the request: the body is empty.",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.to_string().contains("escape") {
            // serde_json's words for "\ud800" alone are "unexpected end of hex escape".
            Error::bad_request(format!(
                "The request body is not valid JSON: {inner} (a \\u escape is malformed or is a lone UTF-16 \
                 surrogate, which is not valid Unicode)."
            ))
        } else if inner.is_syntax() || inner.is_eof() {
            Error::bad_request(format!("The request body is not valid JSON: {inner}."))
        } else if path == "." || path.is_empty() {
            Error::bad_request(format!("Invalid input: {inner}."))
        } else {
            Error::bad_request(format!("Invalid input for field '{path}': {inner}."))
        }
    })?;
    de.end()
        .map_err(|e| Error::bad_request(format!("The request body is not valid JSON: {e}.")))?;
    Ok(value)
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = KeystoneError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status().as_u16();
            if status == 413 {
                KeystoneError(Error::TooLarge("The request body is too large.".into()))
            } else {
                KeystoneError(Error::bad_request(format!(
                    "Cannot read the request body: {e}"
                )))
            }
        })?;
        Ok(JsonBody(parse_json(&bytes)?))
    }
}

fn request_id(parts: &Parts) -> String {
    parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_else(ferrostack_core::ids::new_request_id)
}

/// The authenticated caller, from `X-Auth-Token`.
pub struct Authed(pub Ctx);

impl FromRequestParts<AppState> for Authed {
    type Rejection = KeystoneError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Unauthenticated("No X-Auth-Token header was sent.".into()))?;
        let ctx = state
            .services
            .identity
            .authenticate(&request_id(parts), token)
            .await?;
        Ok(Authed(ctx))
    }
}

/// Query-string filters as Keystone reads them.
pub struct Filters(pub HashMap<String, String>);

impl Filters {
    /// Every `key=value` pair in order, repeated keys kept (`?tag=a&tag=b`).
    pub fn pairs(q: Option<&str>) -> Vec<(String, String)> {
        q.unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k), decode(v))
            })
            .collect()
    }

    pub fn from_query(q: Option<&str>) -> Filters {
        let mut map = HashMap::new();
        for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(decode(k), decode(v));
        }
        Filters(map)
    }

    pub fn text(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    /// Keystone's reading of a boolean filter: "0", "false", "no" and "off" are false
    /// (any case); anything else present is true.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.0.get(key).map(|v| {
            !matches!(
                v.to_ascii_lowercase().as_str(),
                "0" | "false" | "no" | "off"
            )
        })
    }

    /// A flag given without a value (`?effective`) counts as true.
    pub fn flag(&self, key: &str) -> bool {
        self.bool(key).unwrap_or(false)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Filters {
    type Rejection = KeystoneError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Filters::from_query(parts.uri.query()))
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        let f = Filters::from_query(Some("name=a%20b+c&enabled=False&effective&x=%zz&y=%4"));
        assert_eq!(f.text("name").as_deref(), Some("a b c"));
        assert_eq!(f.bool("enabled"), Some(false));
        assert!(f.flag("effective"));
        assert_eq!(f.text("x").as_deref(), Some("%zz"));
        assert_eq!(f.text("y").as_deref(), Some("%4"));
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        project: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[test]
    fn body_errors_name_the_field() {
        let e = parse_json::<Outer>(br#"{"project": {"name": 5}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'project.name'") && e.contains("expected a string"),
            "{e}"
        );
        let e = parse_json::<Outer>(b"").unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = parse_json::<Outer>(br#"{"project": {"name": "x"}} trailing"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not valid JSON"), "{e}");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse_json::<serde_json::Value>(deep.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("recursion limit"), "{e}");
        let e = parse_json::<Outer>(br#"{"project": {"name": "\ud800"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("surrogate"), "{e}");
    }
}
