//! Users: people and service accounts, with argon2id password hashes.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::error::unique_or;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::User;

use crate::{passwords, policy, validate, Identity, DEFAULT_DOMAIN_ID};

#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub name: String,
    pub domain_id: Option<String>,
    pub password: Option<String>,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// `options.ignore_lockout_failure_attempts`.
    pub ignore_lockout: bool,
}

/// Changes to a user; `Some(None)` clears a nullable field.
#[derive(Clone, Debug, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub password: Option<String>,
    pub default_project_id: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub description: Option<Option<String>>,
    /// `options.ignore_lockout_failure_attempts` (admins only, as every user update).
    pub ignore_lockout: Option<bool>,
    /// Extra attributes to set (merged over the stored ones, as Keystone).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub enabled: Option<bool>,
    pub default_project_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    name: String,
    domain_id: String,
    enabled: i64,
    default_project_id: Option<String>,
    email: Option<String>,
    description: Option<String>,
    ignore_lockout: i64,
    extra: String,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            name: r.name,
            domain_id: r.domain_id,
            enabled: r.enabled != 0,
            default_project_id: r.default_project_id,
            email: r.email,
            description: r.description,
            password_expires_at: None,
            ignore_lockout: r.ignore_lockout != 0,
            extra: serde_json::from_str(&r.extra).unwrap_or_default(),
        }
    }
}

const COLUMNS: &str =
    "SELECT id, name, domain_id, enabled, default_project_id, email, description, ignore_lockout, extra FROM users";

/// What login needs of a user, beyond the public record.
#[derive(sqlx::FromRow)]
pub(crate) struct Credentials {
    pub id: String,
    pub default_project_id: Option<String>,
    pub enabled: i64,
    pub domain_enabled: i64,
    pub password_hash: Option<String>,
    pub ignore_lockout: i64,
}

impl Identity {
    pub async fn user_create(&self, ctx: &Ctx, new: NewUser) -> Result<User> {
        policy::require_admin(ctx, "create_user")?;
        let name = validate::name("name", &new.name, validate::USER_NAME_MAX)?;
        validate::extra("the user", validate::USER_FIELDS, &new.extra)?;
        let domain_id = new
            .domain_id
            .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_string());
        // Keystone answers an unknown domain with 404 ("Could not find domain: …").
        self.domain_fetch(&domain_id)
            .await
            .map_err(|_| Error::not_found("domain", &domain_id))?;
        if let Some(p) = &new.default_project_id {
            self.project_fetch(p).await.map_err(|_| {
                Error::bad_request(format!(
                    "Invalid input for field 'default_project_id': project {p} does not exist."
                ))
            })?;
        }
        check_optional_text(&new.email, &new.description)?;
        let hash = match new.password {
            Some(pw) => {
                validate::password(&pw)?;
                Some(passwords::hash(self.cfg.password_params, pw).await?)
            }
            None => None,
        };
        let id = ids::new_id();
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO users (id, name, domain_id, enabled, default_project_id, email, description, \
             password_hash, password_changed_at, created_at, updated_at, extra, ignore_lockout) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&name)
        .bind(&domain_id)
        .bind(i64::from(new.enabled))
        .bind(&new.default_project_id)
        .bind(&new.email)
        .bind(&new.description)
        .bind(&hash)
        .bind(&now)
        .bind(serde_json::Value::Object(new.extra.clone()).to_string())
        .bind(i64::from(new.ignore_lockout))
        .execute(&self.db.pool)
        .await
        .map_err(|e| {
            unique_or(e, || {
                format!("Conflict occurred attempting to store user - Duplicate entry found with name {name} at domain ID {domain_id}.")
            })
        })?;
        self.changed().await?;
        self.user_fetch(&id).await
    }

    /// Create a user with a role on its primary project (the console's Create User,
    /// as Horizon's): project and role are checked before anything is written.
    pub async fn user_create_in_project(
        &self,
        ctx: &Ctx,
        mut new: NewUser,
        project_id: &str,
        role_id: &str,
    ) -> Result<User> {
        policy::require_admin(ctx, "create_user")?;
        let project = self.project_fetch(project_id).await.map_err(|_| {
            Error::bad_request(format!(
                "Invalid input for field 'project': project {project_id} does not exist."
            ))
        })?;
        let role = self.role_fetch(role_id).await.map_err(|_| {
            Error::bad_request(format!(
                "Invalid input for field 'role': role {role_id} does not exist."
            ))
        })?;
        new.default_project_id = Some(project.id.clone());
        let user = self.user_create(ctx, new).await?;
        let grant = crate::Grant {
            actor: ferrostack_types::identity::Actor::User(user.id.clone()),
            target: ferrostack_types::identity::Target::Project(project.id),
            role_id: role.id,
        };
        self.role_grant(ctx, grant).await?;
        Ok(user)
    }

    pub async fn user_get(&self, ctx: &Ctx, id: &str) -> Result<User> {
        policy::require_admin_or_self(ctx, "get_user", id)?;
        self.user_fetch(id).await
    }

    pub(crate) async fn user_fetch(&self, id: &str) -> Result<User> {
        validate::id("user_id", id)?;
        sqlx::query_as::<_, UserRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(User::from)
            .ok_or_else(|| Error::not_found("user", id))
    }

    pub(crate) async fn user_by_name(&self, domain_id: &str, name: &str) -> Result<User> {
        sqlx::query_as::<_, UserRow>(&format!(
            "{COLUMNS} WHERE domain_id = $1 AND lower(name) = lower($2)"
        ))
        .bind(domain_id)
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?
        .map(User::from)
        .ok_or_else(|| Error::not_found("user", name))
    }

    /// What a password login needs, found by id or by name in a domain named by id or
    /// name: one query, since every login pays for it.
    pub(crate) async fn user_login(&self, user: &crate::UserRef) -> Result<Option<Credentials>> {
        use crate::{DomainRef, UserRef};
        const SELECT: &str =
            "SELECT u.id, u.default_project_id, u.enabled, d.enabled AS domain_enabled, \
             u.password_hash, u.ignore_lockout FROM users u JOIN domains d ON d.id = u.domain_id";
        let (cond, first, second) = match user {
            UserRef::Id(id) => ("u.id = $1", id, None),
            UserRef::Name {
                name,
                domain: DomainRef::Id(d),
            } => (
                "u.domain_id = $2 AND lower(u.name) = lower($1)",
                name,
                Some(d),
            ),
            UserRef::Name {
                name,
                domain: DomainRef::Name(d),
            } => (
                "lower(d.name) = lower($2) AND lower(u.name) = lower($1)",
                name,
                Some(d),
            ),
        };
        let sql = format!("{SELECT} WHERE {cond}");
        let mut q = sqlx::query_as::<_, Credentials>(&sql).bind(first);
        if let Some(s) = second {
            q = q.bind(s);
        }
        Ok(q.fetch_optional(&self.db.pool).await?)
    }

    pub(crate) async fn users_in_group(&self, group_id: &str) -> Result<Vec<User>> {
        Ok(sqlx::query_as::<_, UserRow>(&format!(
            "{COLUMNS} WHERE id IN (SELECT user_id FROM group_members WHERE group_id = $1) ORDER BY name, id"
        ))
        .bind(group_id)
        .fetch_all(&self.db.pool)
        .await?
        .into_iter()
        .map(User::from)
        .collect())
    }

    pub(crate) async fn user_credentials(&self, id: &str) -> Result<Option<Credentials>> {
        Ok(sqlx::query_as::<_, Credentials>(
            "SELECT u.id, u.default_project_id, u.enabled, d.enabled AS domain_enabled, u.password_hash, u.ignore_lockout \
             FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?)
    }

    pub async fn user_list(&self, ctx: &Ctx, f: UserFilter) -> Result<Vec<User>> {
        policy::require_admin(ctx, "list_users")?;
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1")
            .and_eq("name", f.name.map(Arg::Text))
            .and_eq("domain_id", f.domain_id.map(Arg::Text))
            .and_eq("enabled", f.enabled.map(Arg::Bool))
            .and_eq("default_project_id", f.default_project_id.map(Arg::Text))
            .push(" ORDER BY name, id");
        sql.fetch_all::<UserRow, User>(&self.db.pool).await
    }

    pub async fn user_update(&self, ctx: &Ctx, id: &str, upd: UserUpdate) -> Result<User> {
        policy::require_admin(ctx, "update_user")?;
        validate::extra("the user", validate::USER_FIELDS, &upd.extra)?;
        let new_hash = match &upd.password {
            Some(pw) => {
                validate::password(pw)?;
                Some(passwords::hash(self.cfg.password_params, pw.clone()).await?)
            }
            None => None,
        };
        let now = time::to_db(&time::now());
        // Write first: the row is locked before it is read, so two updates (extras
        // merged, say) cannot each write back what the other did not see.
        let mut tx = self.db.pool.begin().await?;
        validate::id("user_id", id)?;
        sqlx::query("UPDATE users SET updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        let mut u: User = sqlx::query_as::<_, UserRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(User::from)
            .ok_or_else(|| Error::not_found("user", id))?;
        for (k, v) in upd.extra {
            u.extra.insert(k, v);
        }
        validate::extra("the user", validate::USER_FIELDS, &u.extra)?;
        if let Some(n) = upd.name {
            u.name = validate::name("name", &n, validate::USER_NAME_MAX)?;
        }
        if let Some(p) = upd.default_project_id {
            if let Some(pid) = &p {
                // Read through this transaction's connection: a second one from the
                // pool could wait on every other update holding theirs.
                validate::id("default_project_id", pid)?;
                let found: Option<String> =
                    sqlx::query_scalar("SELECT id FROM projects WHERE id = $1")
                        .bind(pid)
                        .fetch_optional(&mut *tx)
                        .await?;
                if found.is_none() {
                    return Err(Error::bad_request(format!(
                        "Invalid input for field 'default_project_id': project {pid} does not exist."
                    )));
                }
            }
            u.default_project_id = p;
        }
        if let Some(e) = upd.email {
            u.email = e;
        }
        if let Some(d) = upd.description {
            u.description = d;
        }
        check_optional_text(&u.email, &u.description)?;
        let disabling = upd.enabled == Some(false) && u.enabled;
        if let Some(e) = upd.enabled {
            u.enabled = e;
        }
        sqlx::query(
            "UPDATE users SET name = $2, enabled = $3, default_project_id = $4, email = $5, description = $6, \
             updated_at = $7, extra = $8 WHERE id = $1",
        )
        .bind(&u.id)
        .bind(&u.name)
        .bind(i64::from(u.enabled))
        .bind(&u.default_project_id)
        .bind(&u.email)
        .bind(&u.description)
        .bind(&now)
        .bind(serde_json::Value::Object(u.extra.clone()).to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique_or(e, || {
                format!("Conflict occurred attempting to update user - Duplicate entry found with name {} at domain ID {}.", u.name, u.domain_id)
            })
        })?;
        if let Some(h) = &new_hash {
            set_password_in_txn(&mut tx, id, h, &now).await?;
        }
        if let Some(on) = upd.ignore_lockout {
            sqlx::query("UPDATE users SET ignore_lockout = $2 WHERE id = $1")
                .bind(id)
                .bind(on as i64)
                .execute(&mut *tx)
                .await?;
            u.ignore_lockout = on;
        }
        let ends_tokens = disabling || new_hash.is_some();
        let events = if ends_tokens {
            self.user_revocations([u.id.clone()])
        } else {
            Vec::new()
        };
        self.commit(tx, events).await?;
        Ok(u)
    }

    /// A user changes its own password, proving the old one. All its tokens end.
    pub async fn user_change_password(
        &self,
        ctx: &Ctx,
        id: &str,
        original: &str,
        new: &str,
    ) -> Result<()> {
        policy::require_self(ctx, "change_password", id)?;
        validate::password(new)?;
        let creds = self.user_credentials(id).await?;
        // The same counted, lockable check as a login: holding one of the user's
        // tokens must not give an unlimited oracle for its password.
        self.check_password(creds, original).await.map_err(|e| match e {
            Error::Unauthenticated(_) => Error::Unauthenticated(
                "The original password is not correct (or the account is locked after too many failures).".into(),
            ),
            other => other,
        })?;
        let hash = passwords::hash(self.cfg.password_params, new.to_string()).await?;
        let mut tx = self.db.pool.begin().await?;
        set_password_in_txn(&mut tx, id, &hash, &time::to_db(&time::now())).await?;
        self.commit(tx, self.user_revocations([id.to_string()]))
            .await
    }

    /// Delete a user with its memberships, assignments and application credentials;
    /// its tokens stop working at once.
    pub async fn user_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_user")?;
        self.user_fetch(id).await?;
        if ctx.is_user(id) {
            return Err(Error::conflict(
                "You cannot delete the user you are signed in as.",
            ));
        }
        let mut tx = self.db.pool.begin().await?;
        for table in ["role_assignments", "inherited_assignments"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE actor_type = 'user' AND actor_id = $1"
            ))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, self.user_revocations([id.to_string()]))
            .await
    }

    /// Count a login attempt against the lockout before its password is checked, in
    /// one statement (however many guesses run at once, each takes one of the
    /// `attempts` a lock period allows). `None`: the account is locked now, and the
    /// guess must not be checked. A count older than the lock period starts afresh.
    pub(crate) async fn user_take_attempt(
        &self,
        id: &str,
        attempts: i64,
        lock_secs: i64,
    ) -> Result<Option<i64>> {
        let now = time::now();
        let cutoff = time::to_db(&(now - chrono::Duration::seconds(lock_secs)));
        Ok(sqlx::query_scalar(
            "UPDATE users SET failed_auth_count = CASE WHEN failed_auth_at IS NULL OR failed_auth_at < $3 THEN 1 \
             ELSE failed_auth_count + 1 END, failed_auth_at = $4 \
             WHERE id = $1 AND NOT (failed_auth_count >= $2 AND failed_auth_at IS NOT NULL AND failed_auth_at >= $3) \
             RETURNING failed_auth_count",
        )
        .bind(id)
        .bind(attempts)
        .bind(cutoff)
        .bind(time::to_db(&now))
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// Keystone's `ignore_lockout_failure_attempts` option for a user.
    pub async fn user_set_ignore_lockout(&self, id: &str, on: bool) -> Result<()> {
        sqlx::query("UPDATE users SET ignore_lockout = $2 WHERE id = $1")
            .bind(id)
            .bind(on as i64)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn user_clear_failures(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_auth_count = 0, failed_auth_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}

fn check_optional_text(email: &Option<String>, description: &Option<String>) -> Result<()> {
    if let Some(e) = email {
        validate::text("email", e, ferrostack_types::identity::limits::EMAIL_MAX)?;
    }
    if let Some(d) = description {
        validate::text("description", d, validate::DESCRIPTION_MAX)?;
    }
    Ok(())
}

async fn set_password_in_txn(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    hash: &str,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, password_changed_at = $3, failed_auth_count = 0, \
         failed_auth_at = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
