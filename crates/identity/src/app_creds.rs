//! Application credentials: a user delegates some of its roles on one project to a
//! secret that a program can log in with, without the user's password.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrostack_core::error::unique_or;
use ferrostack_core::time::Timestamp;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::{ApplicationCredential, Named};
use rand::RngCore;

use crate::revocations::Event;
use crate::{passwords, policy, validate, Identity};

/// A role named by id or by name, as clients send them.
#[derive(Clone, Debug)]
pub enum RoleSpec {
    Id(String),
    Name(String),
}

#[derive(Clone, Debug, Default)]
pub struct NewApplicationCredential {
    pub name: String,
    pub description: String,
    /// Generated when not given.
    pub secret: Option<String>,
    pub expires_at: Option<Timestamp>,
    /// `expires_at` as the client wrote it, returned so (as Keystone).
    pub expires_at_given: Option<String>,
    /// Empty: every role the caller holds in its current project.
    pub roles: Vec<RoleSpec>,
    pub unrestricted: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct AppCredRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub user_id: String,
    pub project_id: String,
    pub secret_hash: String,
    pub roles: String,
    pub unrestricted: i64,
    pub expires_at: Option<String>,
    pub expires_at_given: Option<String>,
}

impl AppCredRow {
    pub fn role_ids(&self) -> Vec<String> {
        serde_json::from_str(&self.roles).unwrap_or_default()
    }

    pub fn expired(&self) -> bool {
        self.expires_at
            .as_deref()
            .and_then(time::from_db)
            .is_some_and(|t| t <= time::now())
    }
}

const COLUMNS: &str = "SELECT id, name, description, user_id, project_id, secret_hash, roles, unrestricted, expires_at, expires_at_given \
                       FROM application_credentials";

impl Identity {
    /// A token from a restricted application credential may neither create nor delete
    /// application credentials (Keystone's rule): a leaked restricted credential must
    /// not be able to mint others or remove the user's.
    async fn refuse_restricted(&self, ctx: &Ctx, verb: &str) -> Result<()> {
        if ctx.trust_id.is_some() {
            return Err(Error::forbidden(format!(
                "A trust-scoped token cannot {verb} application credentials."
            )));
        }
        if let Some(ac) = &ctx.application_credential_id {
            let restricted = self
                .app_cred_row(ac)
                .await
                .map(|r| r.unrestricted == 0)
                .unwrap_or(true);
            if restricted {
                return Err(Error::forbidden(format!(
                    "A restricted application credential cannot {verb} application credentials; \
                     use one created with --unrestricted or a password-authenticated token."
                )));
            }
        }
        Ok(())
    }

    pub async fn app_cred_create(
        &self,
        ctx: &Ctx,
        user_id: &str,
        new: NewApplicationCredential,
    ) -> Result<ApplicationCredential> {
        policy::require_self(ctx, "create_application_credential", user_id)?;
        self.refuse_restricted(ctx, "create").await?;
        let project_id = ctx.project_id().ok_or_else(|| {
            Error::bad_request("An application credential is bound to a project: use a project-scoped token to create one.")
        })?;
        let name = validate::name(
            "name",
            &new.name,
            ferrostack_types::identity::limits::APP_CRED_NAME_MAX,
        )?;
        validate::text("description", &new.description, validate::DESCRIPTION_MAX)?;
        // The client's own spelling is stored and returned: bounded like any text.
        if let Some(g) = new.expires_at_given.as_deref().filter(|g| g.len() > 64) {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'expires_at': {} bytes; an ISO 8601 time is at most 64.",
                g.len()
            )));
        }
        if let Some(t) = &new.expires_at {
            if *t <= time::now() {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'expires_at': {} is in the past.",
                    time::to_db(t)
                )));
            }
        }
        let mut role_ids = Vec::new();
        if new.roles.is_empty() {
            role_ids.extend(ctx.roles.iter().map(|r| r.id.clone()));
        }
        for spec in &new.roles {
            let held = ctx.roles.iter().find(|r| match spec {
                RoleSpec::Id(id) => &r.id == id,
                RoleSpec::Name(n) => r.name.eq_ignore_ascii_case(n),
            });
            match held {
                Some(r) => role_ids.push(r.id.clone()),
                None => {
                    let what = match spec {
                        RoleSpec::Id(s) | RoleSpec::Name(s) => s,
                    };
                    return Err(Error::forbidden(format!(
                        "You do not hold role {what} on project {project_id}, so you cannot delegate it."
                    )));
                }
            }
        }
        role_ids.sort();
        role_ids.dedup();
        let secret = match new.secret {
            Some(s) => {
                validate::password(&s).map_err(|_| {
                    Error::bad_request(
                        "Invalid input for field 'secret': it must be 1 to 4096 bytes.",
                    )
                })?;
                s
            }
            None => {
                let mut raw = [0u8; 48];
                rand::rngs::OsRng.fill_bytes(&mut raw);
                URL_SAFE_NO_PAD.encode(raw)
            }
        };
        let hash = passwords::hash(self.cfg.password_params, secret.clone()).await?;
        let id = ids::new_id();
        sqlx::query(
            "INSERT INTO application_credentials (id, name, description, user_id, project_id, secret_hash, roles, \
             unrestricted, expires_at, created_at, expires_at_given) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&name)
        .bind(&new.description)
        .bind(user_id)
        .bind(project_id)
        .bind(&hash)
        .bind(serde_json::to_string(&role_ids).map_err(Error::internal)?)
        .bind(i64::from(new.unrestricted))
        .bind(new.expires_at.as_ref().map(time::to_db))
        .bind(time::to_db(&time::now()))
        .bind(new.expires_at.as_ref().and(new.expires_at_given.as_deref()))
        .execute(&self.db.pool)
        .await
        .map_err(|e| unique_or(e, || format!("Conflict occurred attempting to store application_credential - Duplicate entry found with name {name}.")))?;
        let mut out = self.app_cred_get(ctx, user_id, &id).await?;
        out.secret = Some(secret);
        Ok(out)
    }

    pub(crate) async fn app_cred_row(&self, id: &str) -> Result<AppCredRow> {
        validate::id("application_credential_id", id)?;
        sqlx::query_as::<_, AppCredRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| Error::not_found("application credential", id))
    }

    pub(crate) async fn app_cred_row_by_name(
        &self,
        user_id: &str,
        name: &str,
    ) -> Result<AppCredRow> {
        sqlx::query_as::<_, AppCredRow>(&format!("{COLUMNS} WHERE user_id = $1 AND name = $2"))
            .bind(user_id)
            .bind(name)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| Error::not_found("application credential", name))
    }

    async fn app_cred_view(&self, rows: Vec<AppCredRow>) -> Result<Vec<ApplicationCredential>> {
        let roles: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM roles")
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ApplicationCredential {
                roles: r
                    .role_ids()
                    .into_iter()
                    .filter_map(|id| {
                        roles
                            .iter()
                            .find(|(rid, _)| *rid == id)
                            .map(|(id, name)| Named {
                                id: id.clone(),
                                name: name.clone(),
                            })
                    })
                    .collect(),
                id: r.id,
                name: r.name,
                description: r.description,
                user_id: r.user_id,
                project_id: r.project_id,
                unrestricted: r.unrestricted != 0,
                expires_at: r.expires_at_given.or(r.expires_at),
                secret: None,
            })
            .collect())
    }

    pub async fn app_cred_get(
        &self,
        ctx: &Ctx,
        user_id: &str,
        id: &str,
    ) -> Result<ApplicationCredential> {
        policy::require_admin_or_self(ctx, "get_application_credential", user_id)?;
        let row = self.app_cred_row(id).await?;
        if row.user_id != user_id {
            return Err(Error::not_found("application credential", id));
        }
        self.app_cred_view(vec![row])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found("application credential", id))
    }

    pub async fn app_cred_list(
        &self,
        ctx: &Ctx,
        user_id: &str,
        name: Option<String>,
    ) -> Result<Vec<ApplicationCredential>> {
        policy::require_admin_or_self(ctx, "list_application_credentials", user_id)?;
        self.user_fetch(user_id).await?;
        let rows: Vec<AppCredRow> = match name {
            Some(n) => {
                sqlx::query_as(&format!(
                    "{COLUMNS} WHERE user_id = $1 AND name = $2 ORDER BY name"
                ))
                .bind(user_id)
                .bind(n)
                .fetch_all(&self.db.pool)
                .await?
            }
            None => {
                sqlx::query_as(&format!("{COLUMNS} WHERE user_id = $1 ORDER BY name"))
                    .bind(user_id)
                    .fetch_all(&self.db.pool)
                    .await?
            }
        };
        self.app_cred_view(rows).await
    }

    /// Delete a credential; tokens issued with it stop working at once.
    pub async fn app_cred_delete(&self, ctx: &Ctx, user_id: &str, id: &str) -> Result<()> {
        policy::require_admin_or_self(ctx, "delete_application_credential", user_id)?;
        self.refuse_restricted(ctx, "delete").await?;
        let row = self.app_cred_row(id).await?;
        if row.user_id != user_id {
            return Err(Error::not_found("application credential", id));
        }
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM application_credentials WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let events = vec![self.revocation_event(Event {
            application_credential_id: Some(id.to_string()),
            ..Default::default()
        })];
        self.commit(tx, events).await
    }
}
