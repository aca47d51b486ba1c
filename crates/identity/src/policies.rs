//! Keystone's policies API (`/v3/policies`): policy documents stored and served as
//! given (a blob and its media type). Keystone does not enforce these documents
//! either; this cloud's own rules are in `policy.rs`. Admins only, as Keystone's
//! defaults; at most [`POLICIES_MAX`] documents of at most [`BLOB_MAX`] bytes.

use ferrostack_core::{ids, time, Ctx, Error, Result};

use crate::{policy, validate, Identity};

pub const POLICIES_MAX: i64 = 1000;
pub const BLOB_MAX: usize = 64 * 1024;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PolicyDoc {
    pub id: String,
    #[sqlx(rename = "type")]
    pub media_type: String,
    pub blob: String,
}

fn check(media_type: &str, blob: &str) -> Result<()> {
    validate::name("type", media_type, 255)?;
    if blob.len() > BLOB_MAX {
        return Err(Error::bad_request(format!(
            "Invalid input for field 'blob': {} bytes; the limit is {BLOB_MAX}.",
            blob.len()
        )));
    }
    Ok(())
}

impl Identity {
    pub async fn policy_create(
        &self,
        ctx: &Ctx,
        media_type: &str,
        blob: &str,
    ) -> Result<PolicyDoc> {
        policy::require_admin(ctx, "create_policy")?;
        check(media_type, blob)?;
        let id = ids::new_id();
        let mut tx = self.db.pool.begin().await?;
        // Write first, then count: parallel creates cannot pass the bound together.
        sqlx::query("INSERT INTO policies (id, type, blob, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(media_type)
            .bind(blob)
            .bind(time::to_db(&time::now()))
            .execute(&mut *tx)
            .await?;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM policies")
            .fetch_one(&mut *tx)
            .await?;
        if n > POLICIES_MAX {
            return Err(Error::TooLarge(format!(
                "This cloud keeps at most {POLICIES_MAX} policy documents."
            )));
        }
        tx.commit().await?;
        self.policy_get(ctx, &id).await
    }

    pub async fn policy_get(&self, ctx: &Ctx, id: &str) -> Result<PolicyDoc> {
        policy::require_admin(ctx, "get_policy")?;
        validate::id("policy_id", id)?;
        sqlx::query_as::<_, PolicyDoc>("SELECT id, type, blob FROM policies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| Error::not_found("policy", id))
    }

    pub async fn policy_list(&self, ctx: &Ctx, media_type: Option<&str>) -> Result<Vec<PolicyDoc>> {
        policy::require_admin(ctx, "list_policies")?;
        let sql = if media_type.is_some() {
            "SELECT id, type, blob FROM policies WHERE type = $1 ORDER BY created_at, id"
        } else {
            "SELECT id, type, blob FROM policies ORDER BY created_at, id"
        };
        let mut q = sqlx::query_as::<_, PolicyDoc>(sql);
        if let Some(t) = media_type {
            q = q.bind(t);
        }
        Ok(q.fetch_all(&self.db.pool).await?)
    }

    pub async fn policy_update(
        &self,
        ctx: &Ctx,
        id: &str,
        media_type: Option<&str>,
        blob: Option<&str>,
    ) -> Result<PolicyDoc> {
        policy::require_admin(ctx, "update_policy")?;
        validate::id("policy_id", id)?;
        // One statement: the fields not given keep their stored values, so two
        // updates at once cannot undo each other's field.
        check(media_type.unwrap_or("x"), blob.unwrap_or(""))?;
        let done = sqlx::query(
            "UPDATE policies SET type = COALESCE($2, type), blob = COALESCE($3, blob) WHERE id = $1",
        )
        .bind(id)
        .bind(media_type)
        .bind(blob)
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(Error::not_found("policy", id));
        }
        self.policy_get(ctx, id).await
    }

    pub async fn policy_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        self.policy_get(ctx, id).await?;
        policy::require_admin(ctx, "delete_policy")?;
        sqlx::query("DELETE FROM policies WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// A Keystone feature this cloud does not offer: 403 for non-admins (as the
    /// feature's own policy would be), else 400 saying what is not offered and why.
    pub fn not_offered(&self, ctx: &Ctx, feature: &str, why: &str) -> Result<()> {
        policy::require_admin(ctx, feature)?;
        Err(Error::bad_request(format!(
            "{feature} is not offered by this cloud: {why}"
        )))
    }
}
