//! A server's metadata (key/value pairs, at most the project's `metadata_items`) and
//! tags (Nova's 2.26 tags: at most 50, no `,` or `/`).

use std::collections::BTreeMap;

use ferrostack_core::{time, Action, Ctx, Error, Result};
use ferrostack_types::compute::limits::TAGS_MAX;

use crate::servers::{check_metadata, check_tag};
use crate::Compute;

impl Compute {
    pub async fn server_metadata(&self, ctx: &Ctx, id: &str) -> Result<BTreeMap<String, String>> {
        Ok(self.server_get(ctx, id).await?.metadata)
    }

    /// Replace (`replace`) or merge the server's metadata.
    pub async fn server_metadata_set(
        &self,
        ctx: &Ctx,
        id: &str,
        md: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        Self::check_lock(ctx, &row, "changed")?;
        let mut all: BTreeMap<String, String> = if replace {
            BTreeMap::new()
        } else {
            serde_json::from_str(&row.metadata).unwrap_or_default()
        };
        all.extend(md);
        check_metadata(
            &all,
            self.quota_for(&row.project_id, "metadata_items").await?,
        )?;
        self.store_metadata(&row.id, &all).await?;
        Ok(all)
    }

    pub async fn server_metadata_delete(&self, ctx: &Ctx, id: &str, key: &str) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        Self::check_lock(ctx, &row, "changed")?;
        let mut all: BTreeMap<String, String> =
            serde_json::from_str(&row.metadata).unwrap_or_default();
        if all.remove(key).is_none() {
            return Err(Error::not_found("metadata item", key));
        }
        self.store_metadata(&row.id, &all).await
    }

    async fn store_metadata(&self, id: &str, md: &BTreeMap<String, String>) -> Result<()> {
        sqlx::query("UPDATE servers SET metadata = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(serde_json::to_string(md).map_err(Error::internal)?)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    pub async fn server_tags(&self, ctx: &Ctx, id: &str) -> Result<Vec<String>> {
        Ok(self.server_get(ctx, id).await?.tags)
    }

    /// Add one tag, or (`replace`) set the whole list.
    pub async fn server_tags_set(
        &self,
        ctx: &Ctx,
        id: &str,
        tags: Vec<String>,
        replace: bool,
    ) -> Result<Vec<String>> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        for t in &tags {
            check_tag(t)?;
        }
        let mut tx = self.db.pool.begin().await?;
        if replace {
            sqlx::query("DELETE FROM server_tags WHERE server_id = $1")
                .bind(&row.id)
                .execute(&mut *tx)
                .await?;
        }
        for t in &tags {
            sqlx::query(
                "INSERT INTO server_tags (server_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(&row.id)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM server_tags WHERE server_id = $1")
            .bind(&row.id)
            .fetch_one(&mut *tx)
            .await?;
        if n as usize > TAGS_MAX {
            return Err(Error::bad_request(format!(
                "A server has at most {TAGS_MAX} tags."
            )));
        }
        tx.commit().await?;
        self.server_tags(ctx, id).await
    }

    pub async fn server_tag_delete(&self, ctx: &Ctx, id: &str, tag: &str) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        let n = sqlx::query("DELETE FROM server_tags WHERE server_id = $1 AND tag = $2")
            .bind(&row.id)
            .bind(tag)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::not_found("tag", tag));
        }
        Ok(())
    }
}
