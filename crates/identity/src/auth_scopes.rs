//! What the caller may scope a token to: `/v3/auth/projects` and `/v3/auth/domains`.

use ferrostack_core::{Ctx, Result};

use crate::auth::unauthenticated;
use crate::Identity;

impl Identity {
    /// Projects the caller may scope to (GET /v3/auth/projects): enabled ones where it
    /// holds a role.
    pub async fn auth_projects(
        &self,
        ctx: &Ctx,
    ) -> Result<Vec<ferrostack_types::identity::Project>> {
        let uid = ctx
            .user_id
            .clone()
            .ok_or_else(|| unauthenticated("No user in this request."))?;
        let mut list = self.user_projects(ctx, &uid).await?;
        list.retain(|p| p.enabled);
        Ok(list)
    }

    /// Domains the caller may scope to (GET /v3/auth/domains).
    pub async fn auth_domains(&self, ctx: &Ctx) -> Result<Vec<ferrostack_types::identity::Domain>> {
        let uid = ctx
            .user_id
            .clone()
            .ok_or_else(|| unauthenticated("No user in this request."))?;
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT target_id FROM role_assignments WHERE target_type = 'domain' AND \
             ((actor_type = 'user' AND actor_id = $1) OR \
             (actor_type = 'group' AND actor_id IN (SELECT group_id FROM group_members WHERE user_id = $1)))",
        )
        .bind(&uid)
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = self
            .domains_by_ids(ids.iter().map(|(id,)| id.as_str()))
            .await?;
        out.retain(|d| d.enabled);
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
