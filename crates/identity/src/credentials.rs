//! Credentials (`/v3/credentials`) and EC2 credentials
//! (`/v3/users/{user_id}/credentials/OS-EC2`). A credential is a typed blob a user
//! keeps with the cloud — an EC2 access/secret pair, a certificate, a TOTP seed. The
//! blob is encrypted at rest under the credential key repository (never the token
//! keys), and shown only to its user and admins. An EC2 credential's id is the SHA-256
//! of its access key, as Keystone makes it, so one access key is one credential.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::error::unique_or;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::Credential;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::assignments::TargetRef;
use crate::{policy, validate, Identity};

/// The EC2 type: a JSON blob with `access` and `secret`.
pub const EC2: &str = "ec2";
/// The largest blob kept (Keystone's column is a TEXT; a bound keeps requests small).
pub const BLOB_MAX: usize = 65_536;

#[derive(Clone, Debug, Default)]
pub struct NewCredential {
    pub user_id: String,
    pub project_id: Option<String>,
    pub credential_type: String,
    pub blob: String,
}

#[derive(Clone, Debug, Default)]
pub struct CredentialUpdate {
    pub project_id: Option<String>,
    pub credential_type: Option<String>,
    pub blob: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CredRow {
    id: String,
    user_id: String,
    project_id: Option<String>,
    #[sqlx(rename = "type")]
    credential_type: String,
    blob_sealed: String,
}

const COLUMNS: &str = "SELECT id, user_id, project_id, type, blob_sealed FROM credentials";

/// The id an EC2 credential gets: the hex SHA-256 of its access key.
fn ec2_id(access: &str) -> String {
    hex::encode(Sha256::digest(access.as_bytes()))
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// An EC2 blob's access key, checked: a JSON object with string `access` and `secret`.
fn ec2_access(blob: &str) -> Result<String> {
    let v: serde_json::Value = serde_json::from_str(blob).map_err(|_| {
        Error::bad_request("Invalid input for field 'blob': an ec2 credential's blob is a JSON object with 'access' and 'secret'.")
    })?;
    match (v["access"].as_str(), v["secret"].as_str()) {
        (Some(a), Some(s)) if !a.is_empty() && !s.is_empty() && a.len() <= 255 => Ok(a.to_string()),
        _ => Err(Error::bad_request(
            "Invalid input for field 'blob': an ec2 credential's blob needs a non-empty 'access' and 'secret'.",
        )),
    }
}

impl Identity {
    fn seal_blob(&self, blob: &str) -> Result<String> {
        self.credential_keys.seal_bytes(blob.as_bytes())
    }

    fn open_row(&self, r: CredRow) -> Result<Credential> {
        let blob = self
            .credential_keys
            .open_bytes(&r.blob_sealed)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                Error::internal(format!(
                    "credential {} cannot be decrypted with the credential keys",
                    r.id
                ))
            })?;
        Ok(Credential {
            id: r.id,
            user_id: r.user_id,
            project_id: r.project_id,
            credential_type: r.credential_type,
            blob,
        })
    }

    async fn cred_row(&self, id: &str) -> Result<CredRow> {
        validate::id("credential_id", id)?;
        sqlx::query_as::<_, CredRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| Error::not_found("credential", id))
    }

    /// A credential the caller may act on: its own, or any for an admin. Anyone else is
    /// told it does not exist.
    async fn cred_mine(&self, ctx: &Ctx, id: &str) -> Result<CredRow> {
        let row = self.cred_row(id).await?;
        if !(ctx.is_admin() || ctx.is_user(&row.user_id)) {
            return Err(Error::not_found("credential", id));
        }
        Ok(row)
    }

    /// The checks every write shares: who, what type, what blob, which project.
    async fn cred_check(
        &self,
        ctx: &Ctx,
        user_id: &str,
        project_id: Option<&str>,
        kind: &str,
        blob: &str,
    ) -> Result<()> {
        policy::require_admin_or_self(ctx, "create_credential", user_id)?;
        self.refuse_delegated(ctx, "credentials").await?;
        validate::name("type", kind, 255)?;
        if blob.is_empty() || blob.len() > BLOB_MAX {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'blob': it must be 1 to {BLOB_MAX} bytes."
            )));
        }
        if let Some(p) = project_id {
            self.project_fetch(p).await?;
        }
        if kind == EC2 && project_id.is_none() {
            return Err(Error::bad_request(
                "Invalid input for field 'project_id': an ec2 credential belongs to a project.",
            ));
        }
        Ok(())
    }

    /// POST /v3/credentials
    pub async fn credential_create(&self, ctx: &Ctx, new: NewCredential) -> Result<Credential> {
        validate::id("user_id", &new.user_id)?;
        self.cred_check(
            ctx,
            &new.user_id,
            new.project_id.as_deref(),
            &new.credential_type,
            &new.blob,
        )
        .await?;
        self.user_fetch(&new.user_id).await?;
        let id = if new.credential_type == EC2 {
            ec2_id(&ec2_access(&new.blob)?)
        } else {
            ids::new_id()
        };
        sqlx::query(
            "INSERT INTO credentials (id, user_id, project_id, type, blob_sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&new.user_id)
        .bind(&new.project_id)
        .bind(&new.credential_type)
        .bind(self.seal_blob(&new.blob)?)
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await
        .map_err(|e| {
            unique_or(e, || {
                "Conflict occurred attempting to store credential - Duplicate entry: a credential with that access key exists.".to_string()
            })
        })?;
        self.credential_get(ctx, &id).await
    }

    pub async fn credential_get(&self, ctx: &Ctx, id: &str) -> Result<Credential> {
        let row = self.cred_mine(ctx, id).await?;
        self.open_row(row)
    }

    /// GET /v3/credentials: an admin's may name any user; anyone else sees its own.
    pub async fn credential_list(
        &self,
        ctx: &Ctx,
        user_id: Option<String>,
        kind: Option<String>,
    ) -> Result<Vec<Credential>> {
        let user_id = if ctx.is_admin() {
            user_id
        } else {
            let me = ctx
                .user_id
                .clone()
                .ok_or_else(|| Error::forbidden("Only a user has credentials."))?;
            if user_id.as_deref().is_some_and(|u| u != me) {
                return Ok(Vec::new());
            }
            Some(me)
        };
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1")
            .and_eq("user_id", user_id.map(Arg::Text))
            .and_eq("type", kind.map(Arg::Text))
            .push(" ORDER BY created_at, id");
        sql.query_as::<CredRow>()
            .fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .map(|r| self.open_row(r))
            .collect()
    }

    /// PATCH /v3/credentials/{id}. An EC2 credential keeps its access key (its id is
    /// made from it).
    pub async fn credential_update(
        &self,
        ctx: &Ctx,
        id: &str,
        upd: CredentialUpdate,
    ) -> Result<Credential> {
        let row = self.cred_mine(ctx, id).await?;
        let mut c = self.open_row(row)?;
        if let Some(p) = upd.project_id {
            c.project_id = Some(p);
        }
        if let Some(t) = upd.credential_type {
            c.credential_type = t;
        }
        if let Some(b) = upd.blob {
            c.blob = b;
        }
        self.cred_check(
            ctx,
            &c.user_id,
            c.project_id.as_deref(),
            &c.credential_type,
            &c.blob,
        )
        .await?;
        if c.credential_type == EC2 && ec2_id(&ec2_access(&c.blob)?) != c.id {
            return Err(Error::bad_request(
                "Invalid input for field 'blob': an ec2 credential's access key is its id and cannot change; make a new credential.",
            ));
        }
        sqlx::query(
            "UPDATE credentials SET project_id = $2, type = $3, blob_sealed = $4 WHERE id = $1",
        )
        .bind(&c.id)
        .bind(&c.project_id)
        .bind(&c.credential_type)
        .bind(self.seal_blob(&c.blob)?)
        .execute(&self.db.pool)
        .await?;
        Ok(c)
    }

    pub async fn credential_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        self.cred_mine(ctx, id).await?;
        sqlx::query("DELETE FROM credentials WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// POST /v3/users/{user_id}/credentials/OS-EC2: a new access/secret pair for the
    /// user on a project it holds a role on.
    pub async fn ec2_create(
        &self,
        ctx: &Ctx,
        user_id: &str,
        project_id: &str,
    ) -> Result<Credential> {
        policy::require_admin_or_self(ctx, "ec2_create_credential", user_id)?;
        validate::id("tenant_id", project_id)?;
        self.user_fetch(user_id).await?;
        self.project_fetch(project_id).await?;
        if self
            .effective_roles(user_id, &TargetRef::Project(project_id.to_string()))
            .await?
            .is_empty()
        {
            return Err(Error::forbidden(format!(
                "User {user_id} has no role on project {project_id}, so it cannot have EC2 credentials there."
            )));
        }
        let blob = serde_json::json!({
            "access": random_hex(),
            "secret": random_hex(),
            "trust_id": ctx.trust_id,
        })
        .to_string();
        self.credential_create(
            ctx,
            NewCredential {
                user_id: user_id.to_string(),
                project_id: Some(project_id.to_string()),
                credential_type: EC2.into(),
                blob,
            },
        )
        .await
    }

    pub async fn ec2_list(&self, ctx: &Ctx, user_id: &str) -> Result<Vec<Credential>> {
        policy::require_admin_or_self(ctx, "ec2_list_credentials", user_id)?;
        self.user_fetch(user_id).await?;
        self.credential_list(ctx, Some(user_id.to_string()), Some(EC2.into()))
            .await
    }

    /// One of the user's EC2 credentials, by access key.
    pub async fn ec2_get(&self, ctx: &Ctx, user_id: &str, access: &str) -> Result<Credential> {
        policy::require_admin_or_self(ctx, "ec2_get_credential", user_id)?;
        validate::text("access", access, 255)?;
        let c = self
            .credential_get(ctx, &ec2_id(access))
            .await
            .ok()
            .filter(|c| c.user_id == user_id && c.credential_type == EC2)
            .ok_or_else(|| Error::not_found("credential", access))?;
        Ok(c)
    }

    pub async fn ec2_delete(&self, ctx: &Ctx, user_id: &str, access: &str) -> Result<()> {
        let c = self.ec2_get(ctx, user_id, access).await?;
        self.credential_delete(ctx, &c.id).await
    }
}
