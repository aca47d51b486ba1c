//! One error type for the service layer. It knows nothing of HTTP: each REST router
//! maps it once to its API's error body, and the console maps it once to a message.
//! Every variant carries a message meant for the user, saying why.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request itself is wrong (field, type, length, value).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials, or credentials that no longer hold.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: authenticated, but policy refuses this action.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource (or not visible to the caller).
    #[error("Could not find {kind}: {id}.")]
    NotFound { kind: &'static str, id: String },
    /// 409: the action conflicts with current state (duplicate name, in use).
    #[error("{0}")]
    Conflict(String),
    /// A refusal an API names with its own code (Neutron's `IpAddressGenerationFailure`,
    /// `NetworkInUse`): the status, the code the API's error body carries, the reason.
    #[error("{message}")]
    Coded {
        status: u16,
        code: &'static str,
        message: String,
    },
    /// 413: over a size or quota limit.
    #[error("{0}")]
    TooLarge(String),
    /// Over a quota: which resource, what is used, the limit (and what was asked).
    #[error("Quota exceeded for {resource}: {used} of {limit} used{}.", asked_text(*.asked))]
    QuotaExceeded {
        resource: String,
        used: i64,
        limit: i64,
        asked: i64,
    },
    /// No place has room: the reason, and each candidate's reason for refusing.
    #[error("{message}{}", reasons_text(.reasons))]
    InsufficientCapacity {
        message: String,
        reasons: Vec<String>,
    },
    /// 429: this caller asked too often; wait `retry_after` seconds.
    #[error("{message}")]
    Throttled { message: String, retry_after: u64 },
    /// 503: the service cannot take this now (overloaded, a backend down); retry later.
    #[error("{message}")]
    Unavailable { message: String, retry_after: u64 },
    /// 500: a fault of ours. The detail is logged, never shown.
    #[error("An unexpected error prevented the server from fulfilling your request.")]
    Internal(String),
}

fn asked_text(asked: i64) -> String {
    if asked > 1 {
        format!(", {asked} more asked")
    } else {
        String::new()
    }
}

fn reasons_text(reasons: &[String]) -> String {
    if reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", reasons.join("; "))
    }
}

impl Error {
    pub fn not_found(kind: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Error::BadRequest(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Error::Forbidden(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Error::Conflict(msg.into())
    }
    /// A refusal with an API's own error code (see [`Error::Coded`]).
    pub fn coded(status: u16, code: &'static str, msg: impl Into<String>) -> Self {
        Error::Coded {
            status,
            code,
            message: msg.into(),
        }
    }
    pub fn internal(msg: impl fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }

    /// The full story for an operator's log or terminal (internal detail included).
    pub fn detail(&self) -> String {
        match self {
            Error::Internal(d) => format!("internal error: {d}"),
            other => other.to_string(),
        }
    }

    /// Seconds a client should wait before retrying (the Retry-After header), when
    /// the error says so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Throttled { retry_after, .. } | Error::Unavailable { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// The HTTP status this error stands for (used by every REST router).
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthenticated(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound { .. } => 404,
            Error::Conflict(_) => 409,
            Error::Coded { status, .. } => *status,
            Error::TooLarge(_) => 413,
            // Glance answers 413 for quotas; APIs that answer 403 (Nova) map it there.
            Error::QuotaExceeded { .. } => 413,
            Error::InsufficientCapacity { .. } => 409,
            Error::Throttled { .. } => 429,
            Error::Unavailable { .. } => 503,
            Error::Internal(_) => 500,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        // Unique violations are turned into user errors by the datastore, which knows
        // the resource; anything reaching here is unexpected.
        Error::Internal(format!("database: {e}"))
    }
}

/// True when `e` is a unique-constraint violation (any backend).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// True when `e` is a foreign-key violation (any backend).
pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

/// Map a write's error: a unique violation becomes a 409 with `conflict`'s message,
/// anything else stays internal.
pub fn unique_or(e: sqlx::Error, conflict: impl FnOnce() -> String) -> Error {
    if is_unique_violation(&e) {
        Error::Conflict(conflict())
    } else {
        Error::from(e)
    }
}

/// For an idempotent insert (grant twice, add a member twice): a unique violation means
/// "already there", which is success.
pub fn ok_if_exists<T>(r: std::result::Result<T, sqlx::Error>) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
