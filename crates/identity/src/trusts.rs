//! Trusts (OS-TRUST): a trustor delegates some of the roles it holds on a project to a
//! trustee, who then gets trust-scoped tokens carrying those roles — acting as the
//! trustor when the trust impersonates. A trust may expire and may be good for a
//! number of tokens only; each token issued with it uses one, atomically. Deleting the
//! trust, or the trustor losing the roles, ends its tokens at once (validation
//! re-reads the trust whenever identity changed).
//!
//! Redelegation (a trust made from a trust-scoped token) is refused: a trust-scoped
//! token may not create trusts or application credentials.

use ferrostack_core::time::Timestamp;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::{Named, Trust};

use crate::app_creds::RoleSpec;
use crate::assignments::TargetRef;
use crate::{policy, validate, Identity};

#[derive(Clone, Debug, Default)]
pub struct NewTrust {
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub project_id: Option<String>,
    pub impersonation: bool,
    pub roles: Vec<RoleSpec>,
    pub expires_at: Option<Timestamp>,
    pub remaining_uses: Option<i64>,
    pub allow_redelegation: bool,
}

#[derive(sqlx::FromRow, Clone)]
pub(crate) struct TrustRow {
    pub id: String,
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub project_id: String,
    pub impersonation: i64,
    pub roles: String,
    pub expires_at: Option<String>,
    pub remaining_uses: Option<i64>,
}

impl TrustRow {
    pub fn role_ids(&self) -> Vec<String> {
        serde_json::from_str(&self.roles).unwrap_or_default()
    }

    pub fn expires(&self) -> Option<Timestamp> {
        self.expires_at.as_deref().and_then(time::from_db)
    }

    pub fn expired(&self) -> bool {
        self.expires().is_some_and(|t| t <= time::now())
    }
}

const COLUMNS: &str =
    "SELECT id, trustor_user_id, trustee_user_id, project_id, impersonation, roles, \
                       expires_at, remaining_uses FROM trusts";

/// Most roles one trust delegates (a bound on what a request may make us check).
const ROLES_MAX: usize = 64;

/// Who may see a trust: its trustor, its trustee, an admin.
fn involved(ctx: &Ctx, t: &TrustRow) -> bool {
    ctx.is_admin() || ctx.is_user(&t.trustor_user_id) || ctx.is_user(&t.trustee_user_id)
}

impl Identity {
    /// A token from a trust, or from a restricted application credential, may not
    /// delegate further (Keystone refuses both).
    pub(crate) async fn refuse_delegated(&self, ctx: &Ctx, what: &str) -> Result<()> {
        if ctx.trust_id.is_some() {
            return Err(Error::forbidden(format!(
                "A trust-scoped token cannot create {what}: redelegation is not supported."
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
                    "A restricted application credential cannot create {what}; use a password-authenticated token."
                )));
            }
        }
        Ok(())
    }

    /// POST /v3/OS-TRUST/trusts. Only the trustor itself makes a trust, and only with
    /// roles it holds on the project now.
    pub async fn trust_create(&self, ctx: &Ctx, new: NewTrust) -> Result<Trust> {
        if !ctx.is_user(&new.trustor_user_id) {
            return Err(Error::forbidden(
                "You are not authorized to perform the requested action: identity:create_trust. \
                 The trustor_user_id must be the user of the token making the trust.",
            ));
        }
        self.refuse_delegated(ctx, "trusts").await?;
        if new.allow_redelegation {
            return Err(Error::bad_request(
                "Invalid input for field 'allow_redelegation': redelegation is not supported; leave it false.",
            ));
        }
        validate::id("trustee_user_id", &new.trustee_user_id)?;
        let project_id = new.project_id.clone().ok_or_else(|| {
            Error::bad_request(
                "Invalid input for field 'project_id': a trust delegates roles on a project; name it.",
            )
        })?;
        if new.roles.is_empty() {
            return Err(Error::bad_request("At least one role should be specified."));
        }
        if new.roles.len() > ROLES_MAX {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'roles': at most {ROLES_MAX} roles."
            )));
        }
        if let Some(n) = new.remaining_uses {
            if n <= 0 {
                return Err(Error::bad_request(
                    "Invalid input for field 'remaining_uses': it must be a positive integer or null.",
                ));
            }
        }
        if let Some(t) = &new.expires_at {
            if *t <= time::now() {
                return Err(Error::bad_request(format!(
                    "Invalid input for field 'expires_at': {} is in the past.",
                    time::to_db(t)
                )));
            }
        }
        self.user_fetch(&new.trustee_user_id).await?;
        let project = self.project_fetch(&project_id).await?;
        let held = self
            .effective_roles(
                &new.trustor_user_id,
                &TargetRef::Project(project.id.clone()),
            )
            .await?;
        let mut role_ids = Vec::new();
        for spec in &new.roles {
            let (found, what) = match spec {
                RoleSpec::Id(id) => (held.iter().find(|r| &r.id == id), id),
                RoleSpec::Name(n) => (held.iter().find(|r| r.name.eq_ignore_ascii_case(n)), n),
            };
            match found {
                Some(r) => role_ids.push(r.id.clone()),
                None => {
                    return Err(Error::forbidden(format!(
                        "The trustor does not hold role {what} on project {}, so it cannot delegate it.",
                        project.name
                    )))
                }
            }
        }
        role_ids.sort();
        role_ids.dedup();
        let id = ids::new_id();
        sqlx::query(
            "INSERT INTO trusts (id, trustor_user_id, trustee_user_id, project_id, impersonation, roles, \
             expires_at, remaining_uses, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&new.trustor_user_id)
        .bind(&new.trustee_user_id)
        .bind(&project.id)
        .bind(i64::from(new.impersonation))
        .bind(serde_json::to_string(&role_ids).map_err(Error::internal)?)
        .bind(new.expires_at.as_ref().map(time::to_db))
        .bind(new.remaining_uses)
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?;
        self.trust_get(ctx, &id).await
    }

    pub(crate) async fn trust_row(&self, id: &str) -> Result<TrustRow> {
        validate::id("trust_id", id)?;
        sqlx::query_as::<_, TrustRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| Error::not_found("trust", id))
    }

    async fn trust_view(&self, rows: Vec<TrustRow>) -> Result<Vec<Trust>> {
        let roles: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM roles")
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Trust {
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
                impersonation: r.impersonation != 0,
                id: r.id,
                trustor_user_id: r.trustor_user_id,
                trustee_user_id: r.trustee_user_id,
                project_id: r.project_id,
                expires_at: r.expires_at,
                remaining_uses: r.remaining_uses,
            })
            .collect())
    }

    /// GET /v3/OS-TRUST/trusts/{id}: for its trustor, its trustee and admins; anyone
    /// else is told it does not exist.
    pub async fn trust_get(&self, ctx: &Ctx, id: &str) -> Result<Trust> {
        let row = self.trust_row(id).await?;
        if !involved(ctx, &row) {
            return Err(Error::not_found("trust", id));
        }
        self.trust_view(vec![row])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found("trust", id))
    }

    /// GET /v3/OS-TRUST/trusts. Listing every trust is for admins; anyone else names
    /// itself as trustor or trustee (`openstack trust list --auth-user`).
    pub async fn trust_list(
        &self,
        ctx: &Ctx,
        trustor: Option<String>,
        trustee: Option<String>,
    ) -> Result<Vec<Trust>> {
        let own = trustor.as_deref().is_some_and(|u| ctx.is_user(u))
            || trustee.as_deref().is_some_and(|u| ctx.is_user(u));
        if !own {
            policy::require_admin(ctx, "list_trusts").map_err(|_| {
                Error::forbidden(
                    "You are not authorized to perform the requested action: identity:list_trusts. \
                     List your own with trustor_user_id or trustee_user_id set to your user id.",
                )
            })?;
        }
        let mut sql = ferrostack_core::db::Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1")
            .and_eq(
                "trustor_user_id",
                trustor.map(ferrostack_core::db::Arg::Text),
            )
            .and_eq(
                "trustee_user_id",
                trustee.map(ferrostack_core::db::Arg::Text),
            )
            .push(" ORDER BY created_at, id");
        let rows = sql.query_as::<TrustRow>().fetch_all(&self.db.pool).await?;
        self.trust_view(rows).await
    }

    /// DELETE /v3/OS-TRUST/trusts/{id}: the trustor or an admin. Its tokens are refused
    /// from now on.
    pub async fn trust_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.trust_row(id).await?;
        if !involved(ctx, &row) {
            return Err(Error::not_found("trust", id));
        }
        if !(ctx.is_admin() || ctx.is_user(&row.trustor_user_id)) {
            return Err(Error::forbidden(
                "You are not authorized to perform the requested action: identity:delete_trust. \
                 Only the trustor or an admin may delete a trust.",
            ));
        }
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM trusts WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, Vec::new()).await
    }

    /// One use of a trust for a token: atomically, so however many requests race, a
    /// trust with `n` uses left issues at most `n` tokens.
    pub(crate) async fn trust_consume(&self, row: &TrustRow) -> Result<()> {
        if row.remaining_uses.is_none() {
            return Ok(());
        }
        let done = sqlx::query(
            "UPDATE trusts SET remaining_uses = remaining_uses - 1 WHERE id = $1 AND remaining_uses > 0",
        )
        .bind(&row.id)
        .execute(&self.db.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::forbidden(format!(
                "Trust {} has no uses left.",
                row.id
            )));
        }
        Ok(())
    }
}
