//! The identity service (Keystone v3 model). Owns domains, projects, users, groups,
//! roles and their assignments, the service catalog, application credentials, token
//! issue and validation, and revocation. Every rule lives here; the REST router and the
//! console only translate.

pub mod app_creds;
pub mod assignments;
pub mod auth;
mod auth_scopes;
pub mod bootstrap;
pub mod cache;
mod catalog;
mod credential_keys;
mod credentials;
mod domains;
mod ep_filter;
mod groups;
mod implied;
mod inherit;
pub mod passwords;
mod policies;
mod policy;
mod projects;
mod revocations;
mod roles;
mod throttle;
pub mod tokens;
mod trusts;
mod users;
mod validate;

use std::path::PathBuf;
use std::sync::Arc;

use ferrostack_core::{Db, Result};

pub use app_creds::{NewApplicationCredential, RoleSpec};
pub use assignments::{AssignmentFilter, Grant, TargetRef};
pub use auth::{AuthMethod, AuthRequest, DomainRef, ProjectRef, ScopeRequest, TokenInfo, UserRef};
pub use bootstrap::{BootstrapOptions, BootstrapReport, CatalogService};
pub use catalog::{
    EndpointFilter, EndpointUpdate, NewEndpoint, NewRegion, NewService, ServiceUpdate,
};
pub use credentials::{CredentialUpdate, NewCredential};
pub use domains::{DomainUpdate, NewDomain};
pub use ep_filter::{EndpointGroup, EndpointGroupUpdate, EpKind};
pub use groups::{GroupUpdate, NewGroup};
pub use passwords::PasswordParams;
pub use policies::PolicyDoc;
pub use projects::{NewProject, ProjectFilter, ProjectUpdate};
pub use roles::{NewRole, RoleUpdate};
pub use tokens::TokenScope;
pub use trusts::NewTrust;
pub use users::{NewUser, UserFilter, UserUpdate};

/// The id of the domain every cloud has.
pub const DEFAULT_DOMAIN_ID: &str = "default";

#[derive(Clone, Debug)]
pub struct IdentityConfig {
    /// Where the token key repository lives (under the data dir).
    pub key_dir: PathBuf,
    /// The credential key repository (`/v3/credentials` blobs are encrypted at rest
    /// under it; never the token keys, so rotating those loses no credential).
    pub credential_key_dir: PathBuf,
    /// Keys kept in the repository (staged + primary + secondaries).
    pub max_active_keys: usize,
    /// Token lifetime in seconds (Keystone's default: one hour).
    pub token_ttl_secs: i64,
    /// Failed logins in a row that lock an account; 0 turns lockout off.
    pub lockout_failure_attempts: i64,
    /// How long a locked account stays locked, in seconds.
    pub lockout_duration_secs: i64,
    pub password_params: PasswordParams,
}

impl IdentityConfig {
    pub fn new(key_dir: PathBuf) -> Self {
        let credential_key_dir = key_dir
            .parent()
            .map(|p| p.join("credential-keys"))
            .unwrap_or_else(|| PathBuf::from("credential-keys"));
        IdentityConfig {
            key_dir,
            credential_key_dir,
            max_active_keys: 3,
            token_ttl_secs: 3600,
            lockout_failure_attempts: 6,
            lockout_duration_secs: 300,
            password_params: PasswordParams::default(),
        }
    }
}

/// The identity service. Cheap to share: hold it in an `Arc`.
pub struct Identity {
    db: Db,
    cfg: IdentityConfig,
    keys: tokens::KeyRing,
    /// Encrypts credential blobs at rest.
    credential_keys: tokens::KeyRing,
    revocations: revocations::Revocations,
    cache: cache::AuthCache,
    /// Passwords checked against a hash (real or, for unknown users, the dummy): what
    /// a guess costs, counted so tests can see which guesses were verified.
    password_checks: std::sync::atomic::AtomicU64,
    /// Failed password logins per client address.
    throttle: throttle::Throttle,
    /// The identity generation (`identity_generation`) this process's cache last
    /// reflected: another process's write moves it, and the sync drops the cache.
    seen_generation: std::sync::atomic::AtomicI64,
}

impl Identity {
    /// Open the service over a migrated database: loads the token keys (creating the
    /// repository if needed) and the revocation events.
    pub async fn open(db: Db, cfg: IdentityConfig) -> Result<Arc<Identity>> {
        migrate(&db).await?;
        let keys = tokens::KeyRing::open(&cfg.key_dir, cfg.max_active_keys)?;
        let credential_keys = tokens::KeyRing::open(&cfg.credential_key_dir, 3)?;
        let revocations = revocations::Revocations::load(&db).await?;
        let generation = current_generation(&db).await?;
        Ok(Arc::new(Identity {
            db,
            cfg,
            keys,
            credential_keys,
            revocations,
            cache: cache::AuthCache::default(),
            password_checks: std::sync::atomic::AtomicU64::new(0),
            throttle: throttle::Throttle::default(),
            seen_generation: std::sync::atomic::AtomicI64::new(generation),
        }))
    }

    /// How many login passwords this service has checked against a hash.
    pub fn password_checks(&self) -> u64 {
        self.password_checks
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.cfg
    }

    /// Re-read the token and credential key repositories (after `ferrostack keys …`
    /// in another process).
    pub fn reload_keys(&self) -> Result<()> {
        self.keys.reload()?;
        self.credential_keys.reload()
    }

    /// Promote the staged key and stage a new one.
    pub fn rotate_keys(&self) -> Result<u32> {
        self.keys.rotate()
    }

    /// Drop cached scope resolutions and the catalog, so the next validation reads
    /// afresh (this process only; `changed` tells the others).
    fn invalidate(&self) {
        self.cache.invalidate();
    }

    /// After an identity write that committed outside `commit`: drop this process's
    /// cache and move the shared generation, so every other process drops its own
    /// within a second (`sync_revocations`).
    /// The write has committed: a failure to move the generation is logged, not
    /// answered (the other processes catch up at the next identity write).
    pub(crate) async fn changed(&self) -> Result<()> {
        self.invalidate();
        if let Err(e) = bump_generation(&self.db.pool).await {
            tracing::warn!(error = %e.detail(), "cannot tell other processes of an identity change");
        }
        Ok(())
    }
}

impl Identity {
    /// Commit an identity write together with the revocation events it causes, then
    /// make both visible: events to validation, the change to the cache.
    pub(crate) async fn commit(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Any>,
        events: Vec<revocations::Event>,
    ) -> Result<()> {
        let mut tx = tx;
        bump_generation(&mut *tx).await?;
        self.commit_revocations(tx, events).await?;
        self.invalidate();
        Ok(())
    }

    /// Commit revocation events that change nothing else (a token revoked): the
    /// cached resolutions stay, since revocation is checked before them — so a caller
    /// revoking in a loop cannot turn every other validation into database reads.
    pub(crate) async fn commit_revocations(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Any>,
        events: Vec<revocations::Event>,
    ) -> Result<()> {
        let mut events = events;
        for e in &mut events {
            revocations::Revocations::store(&mut tx, e).await?;
        }
        tx.commit().await?;
        self.revocations.publish(events);
        Ok(())
    }

    /// Drop revocation events whose tokens have all expired (memory and database); run
    /// periodically so the store stays bounded however many tokens are revoked.
    pub async fn prune_revocations(&self) -> Result<u64> {
        self.revocations.prune(&self.db).await
    }

    /// Take in what other processes sharing the database revoked (and drop cached
    /// resolutions when an event can match more than one token). Run every second by
    /// `serve`, so a token revoked through one process is refused by the others
    /// within a second.
    pub async fn sync_revocations(&self) -> Result<usize> {
        let (fresh, broad) = self.revocations.sync(&self.db).await?;
        let now = current_generation(&self.db).await?;
        let before = self
            .seen_generation
            .swap(now, std::sync::atomic::Ordering::SeqCst);
        if broad || now != before {
            self.invalidate();
        }
        Ok(fresh)
    }

    /// Resolutions cached now, and the cache's generation (tests and metrics).
    pub fn cached_resolutions(&self) -> (usize, u64) {
        (self.cache.entries(), self.cache.generation())
    }

    /// Revocation events held in memory now.
    pub fn revocation_count(&self) -> usize {
        self.revocations.count()
    }

    /// Events ending every token of each of `users` (issued up to now).
    pub(crate) fn user_revocations(
        &self,
        users: impl IntoIterator<Item = String>,
    ) -> Vec<revocations::Event> {
        users
            .into_iter()
            .map(|u| {
                self.revocation_event(revocations::Event {
                    user_id: Some(u),
                    ..Default::default()
                })
            })
            .collect()
    }

    /// A revocation event for tokens issued up to now, kept for one token lifetime.
    pub(crate) fn revocation_event(&self, mut e: revocations::Event) -> revocations::Event {
        let now = ferrostack_core::time::to_micros(&ferrostack_core::time::now());
        e.issued_before_us = now;
        e.prune_after_us = now + self.cfg.token_ttl_secs * 1_000_000;
        e
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Apply identity's own migrations (versions 20000–29999; crates/core/migrations/README.md).
pub async fn migrate(db: &Db) -> Result<()> {
    db.apply(&MIGRATOR).await
}

/// Move the shared identity generation (in the write's transaction when given one).
pub(crate) async fn bump_generation<'e>(
    exec: impl sqlx::Executor<'e, Database = sqlx::Any>,
) -> Result<()> {
    sqlx::query("UPDATE identity_generation SET n = n + 1 WHERE id = 1")
        .execute(exec)
        .await?;
    Ok(())
}

async fn current_generation(db: &Db) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT n FROM identity_generation WHERE id = 1")
            .fetch_one(&db.pool)
            .await?,
    )
}
