//! What every service shares: the caller context and its one policy call ([`Ctx`],
//! [`Ctx::authorize`]), the error type, ids and timestamps, the database (one portable
//! pool over SQLite or PostgreSQL, with the one ordered migration history), durable
//! jobs, resource events, quotas and the list layer.

pub mod ctx;
pub mod db;
pub mod error;
pub mod events;
pub mod files;
pub mod ids;
pub mod jobs;
pub mod list;
pub mod process;
pub mod quotas;
pub mod time;

use std::sync::Arc;

pub use ctx::{Action, Ctx, Owned, RoleRef, Scope};
pub use db::Db;
pub use error::{Error, Result};

/// The shared machinery a service is opened with: the database, the event log and
/// the job runner of this process.
#[derive(Clone)]
pub struct Platform {
    pub db: Db,
    pub events: Arc<events::Events>,
    pub jobs: Arc<jobs::Jobs>,
}

impl Platform {
    pub async fn open(db: Db, jobs: jobs::JobsConfig) -> Result<Platform> {
        let events = events::Events::open(db.clone()).await?;
        let jobs = jobs::Jobs::new(db.clone(), events.clone(), jobs);
        Ok(Platform { db, events, jobs })
    }

    /// A fresh, migrated database (see [`Db::for_tests`]) with short job leases.
    pub async fn for_tests() -> Result<Platform> {
        let db = Db::for_tests().await?;
        Platform::open(
            db,
            jobs::JobsConfig {
                lease: std::time::Duration::from_secs(3),
                poll: std::time::Duration::from_millis(200),
            },
        )
        .await
    }
}
