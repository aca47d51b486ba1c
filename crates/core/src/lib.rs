//! What every service shares: the caller context ([`Ctx`]), the error type, ids and
//! timestamps, and the database (one portable pool over SQLite or PostgreSQL, with the
//! one ordered migration history).

pub mod ctx;
pub mod db;
pub mod error;
pub mod files;
pub mod ids;
pub mod time;

pub use ctx::{Ctx, RoleRef, Scope};
pub use db::Db;
pub use error::{Error, Result};
