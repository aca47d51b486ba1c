//! The one mapping from service errors to OpenStack error responses: one renderer per
//! API body shape. Keystone's is `{"error": {"code": N, "title": "...", "message": "..."}}`,
//! Glance's `{"code": N, "title": "...", "message": "..."}`.
//! Internal errors are logged in full and answered without detail.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrostack_core::Error;
use serde_json::json;

/// A service error rendered in Keystone's shape.
#[derive(Debug)]
pub struct KeystoneError(pub Error);

impl From<Error> for KeystoneError {
    fn from(e: Error) -> Self {
        KeystoneError(e)
    }
}

pub fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl IntoResponse for KeystoneError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Error::Internal(detail) = &self.0 {
            tracing::error!(detail = %detail, "internal error");
        }
        let message = match &self.0 {
            // Keystone's own wording, with our reason after it.
            Error::Unauthenticated(why) => {
                format!("The request you have made requires authentication. {why}")
            }
            other => other.to_string(),
        };
        let body =
            json!({"error": {"code": status.as_u16(), "title": title(status), "message": message}});
        let mut resp = (status, Json(body)).into_response();
        with_retry_after(&mut resp, &self.0);
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Keystone uri=\"/identity/v3\""),
            );
        }
        resp
    }
}

pub type KsResult<T> = Result<T, KeystoneError>;

/// A service error in Glance's shape: `{"code": N, "title": "...", "message": "..."}`.
#[derive(Debug)]
pub struct GlanceError(pub Error);

impl From<Error> for GlanceError {
    fn from(e: Error) -> Self {
        GlanceError(e)
    }
}

impl IntoResponse for GlanceError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Error::Internal(detail) = &self.0 {
            tracing::error!(detail = %detail, "internal error");
        }
        let body =
            json!({"code": status.as_u16(), "title": title(status), "message": self.0.to_string()});
        let mut resp = (status, Json(body)).into_response();
        with_retry_after(&mut resp, &self.0);
        resp
    }
}

pub type GResult<T> = Result<T, GlanceError>;

/// `Retry-After` on a response whose error says when to come back (429, 503).
pub fn with_retry_after(resp: &mut Response, e: &Error) {
    if let Some(secs) = e.retry_after() {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
    }
}
