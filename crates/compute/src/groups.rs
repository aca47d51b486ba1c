//! Server groups (Nova's os-server-groups): affinity, anti-affinity and their soft
//! variants. A server joins a group at create (`scheduler_hints.group`); the scheduler
//! applies the group's policy to every placement of a member (create, resize,
//! migrations, unshelve), and a refusal names the rule. Each placement in a group first
//! writes the group's row, so placements in one group are serialised: two parallel
//! creates in an anti-affinity group cannot both take the same host.

use std::collections::HashMap;

use ferrostack_core::events::NewEvent;
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::compute::limits::NAME_MAX;
use ferrostack_types::compute::ServerGroup;

use crate::scheduler::GroupRule;
use crate::Compute;

pub const KIND_SERVER_GROUP: &str = "server group";

/// Nova's policies.
pub const POLICIES: &[&str] = &[
    "affinity",
    "anti-affinity",
    "soft-affinity",
    "soft-anti-affinity",
];

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    name: String,
    project_id: String,
    user_id: String,
    policy: String,
    max_server_per_host: Option<i64>,
    created_at: String,
}

const COLUMNS: &str = "SELECT id, name, project_id, user_id, policy, max_server_per_host, created_at FROM server_groups";

fn unlimited(limit: i64) -> i64 {
    if limit < 0 {
        i64::MAX / 4
    } else {
        limit
    }
}

impl Compute {
    /// Create a group in the caller's project (counted against `server_groups`).
    pub async fn group_create(
        &self,
        ctx: &Ctx,
        name: &str,
        policy: &str,
        max_server_per_host: Option<i64>,
    ) -> Result<ServerGroup> {
        let project = ctx
            .project_id()
            .ok_or_else(|| {
                Error::forbidden("Server groups belong to a project: use a project-scoped token.")
            })?
            .to_string();
        if !ctx.can_write_project() {
            return Err(Error::forbidden(
                "Your role in this project is read-only: you may not create server groups.",
            ));
        }
        crate::servers::check_name(name)?;
        if name.len() > NAME_MAX {
            return Err(Error::bad_request("Invalid input for field 'name'."));
        }
        if !POLICIES.contains(&policy) {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute policy. Value: {policy}. '{policy}' is not one of {}.",
                POLICIES.join(", ")
            )));
        }
        if let Some(m) = max_server_per_host {
            if policy != "anti-affinity" {
                return Err(Error::bad_request(
                    "Only the anti-affinity policy has rules (max_server_per_host).",
                ));
            }
            if m < 1 {
                return Err(Error::bad_request(
                    "Invalid input for field 'max_server_per_host': at least 1.",
                ));
            }
        }
        let limit = unlimited(self.quota_for(&project, "server_groups").await?);
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        quotas::claim(&mut tx, &project, "server_groups", 1, limit).await?;
        sqlx::query(
            "INSERT INTO server_groups (id, name, project_id, user_id, policy, max_server_per_host, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(name)
        .bind(&project)
        .bind(ctx.user_id.clone().unwrap_or_default())
        .bind(policy)
        .bind(max_server_per_host)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&project), KIND_SERVER_GROUP, &id, "created")
                    .message(format!("{policy} group {name}")),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.group_get(ctx, &id).await
    }

    async fn group_row(&self, ctx: &Ctx, id: &str, action: Action) -> Result<GroupRow> {
        let row: Option<GroupRow> = sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let row = row.ok_or_else(|| Error::not_found("server group", id))?;
        ctx.authorize(
            action,
            &Owned::of_project(KIND_SERVER_GROUP, &row.id, &row.project_id),
        )?;
        Ok(row)
    }

    async fn group_views(&self, rows: Vec<GroupRow>) -> Result<Vec<ServerGroup>> {
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        if !rows.is_empty() {
            let mut sql = ferrostack_core::db::Sql::new(
                "SELECT m.group_id, m.server_id FROM server_group_members m JOIN servers s ON s.id = m.server_id WHERE m.group_id IN ",
            );
            sql.in_list(rows.iter().map(|r| r.id.as_str()));
            sql.push(" ORDER BY s.created_at, s.id");
            let pairs: Vec<(String, String)> = sql.query_as().fetch_all(&self.db.pool).await?;
            for (g, s) in pairs {
                members.entry(g).or_default().push(s);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| ServerGroup {
                members: members.remove(&r.id).unwrap_or_default(),
                id: r.id,
                name: r.name,
                project_id: r.project_id,
                user_id: r.user_id,
                policy: r.policy,
                max_server_per_host: r.max_server_per_host,
                created_at: r.created_at,
            })
            .collect())
    }

    pub async fn group_get(&self, ctx: &Ctx, id: &str) -> Result<ServerGroup> {
        let row = self.group_row(ctx, id, Action::Read).await?;
        Ok(self.group_views(vec![row]).await?.remove(0))
    }

    /// The caller's project's groups; an admin's `all_projects` lists every project's.
    pub async fn group_list(&self, ctx: &Ctx, all_projects: bool) -> Result<Vec<ServerGroup>> {
        let rows: Vec<GroupRow> = if all_projects && ctx.is_admin() {
            sqlx::query_as(&format!("{COLUMNS} ORDER BY created_at, id"))
                .fetch_all(&self.db.pool)
                .await?
        } else {
            sqlx::query_as(&format!(
                "{COLUMNS} WHERE project_id = $1 ORDER BY created_at, id"
            ))
            .bind(ctx.project_id().unwrap_or(""))
            .fetch_all(&self.db.pool)
            .await?
        };
        self.group_views(rows).await
    }

    /// Delete a group; its servers stay, no longer bound by it (Nova's behaviour).
    pub async fn group_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.group_row(ctx, id, Action::Write).await?;
        let mut tx = self.db.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM server_groups WHERE id = $1")
            .bind(&row.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 1 {
            sqlx::query("DELETE FROM server_group_members WHERE group_id = $1")
                .bind(&row.id)
                .execute(&mut *tx)
                .await?;
            quotas::release(&mut tx, &row.project_id, "server_groups", 1).await?;
            self.events
                .record(
                    &mut tx,
                    NewEvent::new(
                        ctx,
                        Some(&row.project_id),
                        KIND_SERVER_GROUP,
                        &row.id,
                        "deleted",
                    ),
                )
                .await?;
        }
        tx.commit().await?;
        self.events.committed();
        Ok(())
    }

    /// The group a new server joins: it must be the caller's project's, and have room.
    pub(crate) async fn group_for_create(&self, ctx: &Ctx, id: &str) -> Result<String> {
        let row = self
            .group_row(ctx, id, Action::Write)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } | Error::Forbidden(_) => {
                    Error::bad_request(format!("Invalid server group {id}: no such group."))
                }
                e => e,
            })?;
        if Some(row.project_id.as_str()) != ctx.project_id() {
            return Err(Error::bad_request(format!(
                "Server group {id} belongs to another project."
            )));
        }
        Ok(row.id)
    }
}

/// Serialise placements in the group and read where its other members are, inside
/// the placing transaction (after its quota claims, before its host claim).
pub(crate) async fn rule_in(
    conn: &mut sqlx::AnyConnection,
    group_id: &str,
    server_id: &str,
) -> Result<Option<GroupRule>> {
    let locked = sqlx::query("UPDATE server_groups SET updated_at = $2 WHERE id = $1")
        .bind(group_id)
        .bind(time::to_db(&time::now()))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if locked == 0 {
        return Ok(None);
    }
    rule_read(conn, group_id, server_id).await
}

/// Where the group's members other than `server_id` are (the dry run's view: no lock).
pub(crate) async fn rule_read(
    conn: &mut sqlx::AnyConnection,
    group_id: &str,
    server_id: &str,
) -> Result<Option<GroupRule>> {
    let found: Option<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT name, policy, max_server_per_host FROM server_groups WHERE id = $1")
            .bind(group_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((name, policy, max)) = found else {
        return Ok(None);
    };
    // Where the other members are, and where a member being moved is going.
    let hosts: Vec<(String,)> = sqlx::query_as(
        "SELECT s.host_id FROM server_group_members m JOIN servers s ON s.id = m.server_id \
         WHERE m.group_id = $1 AND m.server_id <> $2 AND s.host_id IS NOT NULL \
         UNION ALL SELECT c.dest_host_id FROM server_group_members m JOIN compute_migrations c ON c.server_id = m.server_id \
         WHERE m.group_id = $1 AND m.server_id <> $2 AND c.status IN ('pre-migrating', 'migrating', 'finished') AND c.dest_host_id IS NOT NULL",
    )
    .bind(group_id)
    .bind(server_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut members = HashMap::new();
    for (h,) in hosts {
        *members.entry(h).or_insert(0) += 1;
    }
    Ok(Some(GroupRule {
        name,
        policy,
        max_per_host: max.unwrap_or(1),
        members,
    }))
}

/// Add `server_id` to the group inside the creating transaction, within the
/// `server_group_members` limit.
pub(crate) async fn join(
    conn: &mut sqlx::AnyConnection,
    group_id: &str,
    server_id: &str,
    limit: i64,
) -> Result<()> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM server_group_members WHERE group_id = $1")
            .bind(group_id)
            .fetch_one(&mut *conn)
            .await?;
    if limit >= 0 && n + 1 > limit {
        return Err(Error::QuotaExceeded {
            resource: "server_group_members".into(),
            used: n,
            limit,
            asked: 1,
        });
    }
    sqlx::query("INSERT INTO server_group_members (server_id, group_id) VALUES ($1, $2)")
        .bind(server_id)
        .bind(group_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The group a server is in.
pub(crate) async fn group_of(
    conn: &mut sqlx::AnyConnection,
    server_id: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT group_id FROM server_group_members WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}
