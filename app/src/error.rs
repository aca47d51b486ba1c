//! The console's one error type. Every server function returns `Result<T, ConsoleError>`:
//! the status the REST API would answer (401 sign in again, 403 refused, 404 not there,
//! 409, 413, 429, 503, 500) and the service's reason in words. A service error becomes
//! one here once (`From<ferrostack_core::Error>`); an internal error is logged once with
//! its cause and shown as "Internal error (request id …)" so `ferrostack trace` finds it.
//! The server answers with the status it carries (server/src/console.rs), so a
//! refusal is a 4xx on the wire too, not the framework's blanket 500.

use std::fmt;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleError {
    /// The HTTP status it stands for (0: the server was never reached).
    pub status: u16,
    /// What the user is told.
    pub message: String,
}

pub type Fallible<T> = Result<T, ConsoleError>;

impl ConsoleError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ConsoleError {
            status,
            message: message.into(),
        }
    }

    /// The request is wrong (a field, a value).
    pub fn bad_request(message: impl Into<String>) -> Self {
        ConsoleError::new(400, message)
    }

    /// No session, or one that no longer holds: sign in (again).
    pub fn sign_in(message: impl Into<String>) -> Self {
        ConsoleError::new(401, message)
    }

    /// A fault of ours that the user cannot act on but may retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ConsoleError::new(503, message)
    }

    /// Whether the answer means the session has ended.
    pub fn needs_sign_in(&self) -> bool {
        self.status == 401
    }
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConsoleError {}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        match e {
            // Arguments the function could not read: the request is wrong.
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::MissingArg(m)
            | ServerFnErrorErr::Deserialization(m) => ConsoleError::bad_request(format!(
                "The console sent a request the server could not read: {m}"
            )),
            // The browser's side: the request never got an answer.
            ServerFnErrorErr::Request(m) => {
                ConsoleError::new(0, format!("The console could not reach the server: {m}"))
            }
            other => ConsoleError::new(500, other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<ferrostack_core::Error> for ConsoleError {
    fn from(e: ferrostack_core::Error) -> Self {
        if let ferrostack_core::Error::Internal(detail) = &e {
            let rid = request_id();
            tracing::error!(request = %rid, detail = %detail, "internal error in a console call");
            return ConsoleError::new(500, format!("Internal error (request id {rid})."));
        }
        ConsoleError::new(e.status(), e.to_string())
    }
}

/// The id of the request being served (what the logs and events carry).
#[cfg(feature = "ssr")]
pub fn request_id() -> String {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|p| {
            p.extensions
                .get::<ferrostack_core::ctx::RequestId>()
                .cloned()
        })
        .map(|r| r.0)
        .unwrap_or_else(|| "console".into())
}
