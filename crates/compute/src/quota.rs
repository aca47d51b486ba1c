//! Compute quotas (Nova's os-quota-sets): per-project limits over the cloud's defaults,
//! and what each project uses. Counted resources (instances, cores, ram) are claimed
//! through core's atomic quotas in the transaction that creates a server.

use std::collections::BTreeMap;

use ferrostack_core::{quotas, Action, Ctx, Error, Owned, Result};

use crate::Compute;

/// Nova's quota-set keys, in its order. `-1` is unlimited.
pub const QUOTA_RESOURCES: &[&str] = &[
    "instances",
    "cores",
    "ram",
    "key_pairs",
    "metadata_items",
    "server_groups",
    "server_group_members",
    "injected_files",
    "injected_file_content_bytes",
    "injected_file_path_bytes",
];

/// The resources counted through core's quota_usage.
pub(crate) const COUNTED: &[&str] = &["instances", "cores", "ram", "server_groups"];

#[derive(Clone, Debug, PartialEq)]
pub struct QuotaSet(pub BTreeMap<String, i64>);

impl QuotaSet {
    /// Nova's defaults.
    pub fn defaults() -> QuotaSet {
        QuotaSet(
            [
                ("instances", 10),
                ("cores", 20),
                ("ram", 51200),
                ("key_pairs", 100),
                ("metadata_items", 128),
                ("server_groups", 10),
                ("server_group_members", 10),
                ("injected_files", 5),
                ("injected_file_content_bytes", 10240),
                ("injected_file_path_bytes", 255),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        )
    }

    pub fn get(&self, k: &str) -> i64 {
        self.0.get(k).copied().unwrap_or(-1)
    }
}

impl Compute {
    /// The limit of `resource` for `project` (its own, else the default; -1 unlimited).
    pub(crate) async fn quota_for(&self, project: &str, resource: &str) -> Result<i64> {
        let own: Option<i64> = sqlx::query_scalar(
            "SELECT hard_limit FROM compute_quotas WHERE project_id = $1 AND resource = $2",
        )
        .bind(project)
        .bind(resource)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(own.unwrap_or_else(|| self.cfg.quota_defaults.get(resource)))
    }

    /// The defaults every project starts from.
    pub fn quota_defaults(&self) -> QuotaSet {
        self.cfg.quota_defaults.clone()
    }

    fn may_read_quota(ctx: &Ctx, project: &str) -> Result<()> {
        ctx.authorize(
            Action::Read,
            &Owned::of_project("quota set", project, project),
        )
    }

    /// A project's limits. Its members and admins may read them.
    pub async fn quota_get(&self, ctx: &Ctx, project: &str) -> Result<QuotaSet> {
        Self::may_read_quota(ctx, project)?;
        let mut set = self.cfg.quota_defaults.clone();
        let own: Vec<(String, i64)> =
            sqlx::query_as("SELECT resource, hard_limit FROM compute_quotas WHERE project_id = $1")
                .bind(project)
                .fetch_all(&self.db.pool)
                .await?;
        set.0.extend(own);
        Ok(set)
    }

    /// What a project uses of each counted resource (key pairs count the caller's own).
    pub async fn quota_usage(&self, ctx: &Ctx, project: &str) -> Result<BTreeMap<String, i64>> {
        Self::may_read_quota(ctx, project)?;
        let mut used = BTreeMap::new();
        for r in COUNTED {
            used.insert(
                r.to_string(),
                quotas::in_use(&self.db.pool, project, r).await?,
            );
        }
        let keys: i64 = match &ctx.user_id {
            Some(u) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM keypairs WHERE user_id = $1")
                    .bind(u)
                    .fetch_one(&self.db.pool)
                    .await?
            }
            None => 0,
        };
        used.insert("key_pairs".into(), keys);
        Ok(used)
    }

    /// Set some of a project's limits. Admin only. A limit below what is used is
    /// refused (Nova's default: no `force`).
    pub async fn quota_update(
        &self,
        ctx: &Ctx,
        project: &str,
        limits: BTreeMap<String, i64>,
        force: bool,
    ) -> Result<QuotaSet> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_project("quota set", project, project),
        )?;
        for (k, v) in &limits {
            if !QUOTA_RESOURCES.contains(&k.as_str()) {
                return Err(Error::bad_request(format!(
                    "Bad key(s) {k} in quota_set: one of {}.",
                    QUOTA_RESOURCES.join(", ")
                )));
            }
            if *v < -1 || *v > i32::MAX as i64 {
                return Err(Error::bad_request(format!(
                    "Invalid input for field '{k}': {v} (at least -1, at most {}).",
                    i32::MAX
                )));
            }
            if !force && *v >= 0 && COUNTED.contains(&k.as_str()) {
                let used = quotas::in_use(&self.db.pool, project, k).await?;
                if used > *v {
                    return Err(Error::bad_request(format!(
                        "Quota limit {v} for {k} must be greater than or equal to already used and reserved {used}."
                    )));
                }
            }
        }
        let mut tx = self.db.pool.begin().await?;
        for (k, v) in &limits {
            sqlx::query("DELETE FROM compute_quotas WHERE project_id = $1 AND resource = $2")
                .bind(project)
                .bind(k)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO compute_quotas (project_id, resource, hard_limit) VALUES ($1, $2, $3)",
            )
            .bind(project)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.quota_get(ctx, project).await
    }

    /// Back to the defaults. Admin only.
    pub async fn quota_delete(&self, ctx: &Ctx, project: &str) -> Result<()> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_project("quota set", project, project),
        )?;
        sqlx::query("DELETE FROM compute_quotas WHERE project_id = $1")
            .bind(project)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}
