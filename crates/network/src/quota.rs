//! Network quotas (Neutron's /v2.0/quotas): per-project limits over the cloud's
//! defaults. Every counted resource is claimed through core's atomic quotas in the
//! transaction that creates it, and released in the one that deletes it.

use std::collections::BTreeMap;

use ferrostack_core::{quotas, Action, Ctx, Error, Owned, Result};

use crate::Networking;

/// Neutron's quota keys. `-1` is unlimited.
pub const QUOTA_RESOURCES: &[&str] = &[
    "network",
    "subnet",
    "port",
    "router",
    "floatingip",
    "security_group",
    "security_group_rule",
];

#[derive(Clone, Debug, PartialEq)]
pub struct QuotaSet(pub BTreeMap<String, i64>);

impl QuotaSet {
    /// Neutron's defaults.
    pub fn defaults() -> QuotaSet {
        QuotaSet(
            [
                ("network", 100),
                ("subnet", 100),
                ("port", 500),
                ("router", 10),
                ("floatingip", 50),
                ("security_group", 10),
                ("security_group_rule", 100),
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

fn unlimited(limit: i64) -> i64 {
    if limit < 0 {
        i64::MAX / 4
    } else {
        limit
    }
}

impl Networking {
    /// The limit of `resource` for `project` (its own, else the default), ready for
    /// `quotas::claim` (unlimited as a very large number).
    pub(crate) async fn quota_for(&self, project: &str, resource: &str) -> Result<i64> {
        let own: Option<i64> = sqlx::query_scalar(
            "SELECT hard_limit FROM net_quotas WHERE project_id = $1 AND resource = $2",
        )
        .bind(project)
        .bind(resource)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(unlimited(
            own.unwrap_or_else(|| self.cfg.quota_defaults.get(resource)),
        ))
    }

    pub fn quota_defaults(&self) -> QuotaSet {
        self.cfg.quota_defaults.clone()
    }

    fn may_read_quota(ctx: &Ctx, project: &str) -> Result<()> {
        ctx.authorize(Action::Read, &Owned::of_project("quota", project, project))
    }

    /// A project's limits. Its members and admins may read them.
    pub async fn quota_get(&self, ctx: &Ctx, project: &str) -> Result<QuotaSet> {
        Self::may_read_quota(ctx, project)?;
        let mut set = self.cfg.quota_defaults.clone();
        let own: Vec<(String, i64)> =
            sqlx::query_as("SELECT resource, hard_limit FROM net_quotas WHERE project_id = $1")
                .bind(project)
                .fetch_all(&self.db.pool)
                .await?;
        set.0.extend(own);
        Ok(set)
    }

    /// What a project uses of each resource.
    pub async fn quota_usage(&self, ctx: &Ctx, project: &str) -> Result<BTreeMap<String, i64>> {
        Self::may_read_quota(ctx, project)?;
        let mut used = BTreeMap::new();
        for r in QUOTA_RESOURCES {
            used.insert(
                r.to_string(),
                quotas::in_use(&self.db.pool, project, r).await?,
            );
        }
        Ok(used)
    }

    /// Projects with limits of their own (admins: GET /v2.0/quotas).
    pub async fn quota_projects(&self, ctx: &Ctx) -> Result<Vec<(String, QuotaSet)>> {
        if !ctx.is_admin() {
            return Err(Error::forbidden(
                "Only an admin may list every project's quotas.",
            ));
        }
        let projects: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT project_id FROM net_quotas ORDER BY project_id")
                .fetch_all(&self.db.pool)
                .await?;
        let mut out = Vec::new();
        for (p,) in projects {
            let set = self.quota_get(ctx, &p).await?;
            out.push((p, set));
        }
        Ok(out)
    }

    /// Set some of a project's limits. Admin only.
    pub async fn quota_update(
        &self,
        ctx: &Ctx,
        project: &str,
        limits: BTreeMap<String, i64>,
    ) -> Result<QuotaSet> {
        ctx.authorize(Action::Admin, &Owned::of_project("quota", project, project))?;
        for (k, v) in &limits {
            if !QUOTA_RESOURCES.contains(&k.as_str()) {
                return Err(Error::bad_request(format!(
                    "Unrecognized attribute(s) '{k}': quotas are {}.",
                    QUOTA_RESOURCES.join(", ")
                )));
            }
            if *v < -1 || *v > i32::MAX as i64 {
                return Err(Error::bad_request(format!(
                    "Invalid input for {k}. Reason: '{v}' is not in range -1 through {}.",
                    i32::MAX
                )));
            }
        }
        let mut tx = self.db.pool.begin().await?;
        for (k, v) in &limits {
            sqlx::query("DELETE FROM net_quotas WHERE project_id = $1 AND resource = $2")
                .bind(project)
                .bind(k)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO net_quotas (project_id, resource, hard_limit) VALUES ($1, $2, $3)",
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
        ctx.authorize(Action::Admin, &Owned::of_project("quota", project, project))?;
        sqlx::query("DELETE FROM net_quotas WHERE project_id = $1")
            .bind(project)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}
