//! Security groups: named sets of rules a port's traffic must match. Each project has
//! a `default` group, made on first use with Neutron's standard rules (all egress;
//! ingress from members of the group itself); `net_default_security_groups` makes two
//! first uses at once agree on one. A new group starts with the two egress rules.

use std::collections::HashMap;

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::events::NewEvent;
use ferrostack_core::list::{self, SortKey};
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::network::SecurityGroup;

use crate::common::{
    check_description, check_name, check_tags, tags_of, write_tags, Col, ListQuery,
};
use crate::rules::{insert_rule, RuleRow, RULE_COLUMNS};
use crate::{Networking, KIND_SECURITY_GROUP};

#[derive(Clone, Debug, Default)]
pub struct NewSecurityGroup {
    pub name: String,
    pub description: String,
    pub project_id: Option<String>,
    pub stateful: Option<bool>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct SecurityGroupUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub stateful: Option<bool>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub(crate) struct GroupRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub stateful: i64,
    pub revision_number: i64,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "SELECT g.id, g.project_id, g.name, g.description, g.stateful, g.revision_number, g.created_at, \
     g.updated_at FROM net_security_groups g";

impl GroupRow {
    pub(crate) fn owned(&self) -> Owned<'_> {
        Owned::of_project(KIND_SECURITY_GROUP, &self.id, &self.project_id)
    }
}

const FILTERS: &[(&str, Col)] = &[
    ("id", Col::Text("g.id")),
    ("name", Col::Text("g.name")),
    ("description", Col::Text("g.description")),
    ("project_id", Col::Text("g.project_id")),
    ("tenant_id", Col::Text("g.project_id")),
    ("stateful", Col::Bool("g.stateful")),
    ("revision_number", Col::Int("g.revision_number")),
];

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "id",
        expr: "g.id",
    },
    SortKey {
        name: "name",
        expr: "g.name",
    },
    SortKey {
        name: "project_id",
        expr: "g.project_id",
    },
    SortKey {
        name: "created_at",
        expr: "g.created_at",
    },
    SortKey {
        name: "updated_at",
        expr: "g.updated_at",
    },
];

/// The rules a group starts with: (direction, ethertype, remote group is the group).
const EGRESS: &[(&str, &str, bool)] = &[("egress", "IPv4", false), ("egress", "IPv6", false)];
const DEFAULT_RULES: &[(&str, &str, bool)] = &[
    ("egress", "IPv4", false),
    ("egress", "IPv6", false),
    ("ingress", "IPv4", true),
    ("ingress", "IPv6", true),
];

impl Networking {
    pub(crate) async fn group_row(&self, ctx: &Ctx, id: &str) -> Result<GroupRow> {
        let row: Option<GroupRow> = sqlx::query_as(&format!("{COLUMNS} WHERE g.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let row = row.ok_or_else(|| Error::not_found(KIND_SECURITY_GROUP, id))?;
        ctx.authorize(Action::Read, &row.owned())?;
        Ok(row)
    }

    pub(crate) async fn groups_view(&self, rows: Vec<GroupRow>) -> Result<Vec<SecurityGroup>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut tags = tags_of(&self.db.pool, &ids).await?;
        let mut rules: HashMap<String, Vec<_>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let mut sql = Sql::new(RULE_COLUMNS);
            sql.push(" WHERE r.security_group_id IN ");
            sql.in_list(chunk.iter().copied());
            sql.push(" ORDER BY r.created_at, r.id");
            let found: Vec<RuleRow> = sql.query_as().fetch_all(&self.db.pool).await?;
            for r in found {
                rules
                    .entry(r.security_group_id.clone())
                    .or_default()
                    .push(r.view());
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| SecurityGroup {
                rules: rules.remove(&r.id).unwrap_or_default(),
                tags: tags.remove(&r.id).unwrap_or_default(),
                id: r.id,
                project_id: r.project_id,
                name: r.name,
                description: r.description,
                stateful: r.stateful != 0,
                revision_number: r.revision_number,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// Insert a group with its starting rules in `tx` (quotas claimed by the caller).
    async fn insert_group(
        &self,
        conn: &mut sqlx::AnyConnection,
        project: &str,
        name: &str,
        description: &str,
        stateful: bool,
        rules: &[(&str, &str, bool)],
    ) -> Result<String> {
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO net_security_groups (id, project_id, name, description, stateful, revision_number, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(&id)
        .bind(project)
        .bind(name)
        .bind(description)
        .bind(stateful as i64)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        for (direction, ethertype, own) in rules {
            let rule = crate::rules::Checked {
                direction: direction.to_string(),
                ethertype: ethertype.to_string(),
                remote_group_id: own.then(|| id.clone()),
                ..Default::default()
            };
            insert_rule(conn, &id, project, &rule).await?;
        }
        Ok(id)
    }

    /// The project's `default` group, made now if it has none.
    pub async fn default_group(&self, ctx: &Ctx, project: &str) -> Result<String> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT security_group_id FROM net_default_security_groups WHERE project_id = $1",
        )
        .bind(project)
        .fetch_optional(&self.db.pool)
        .await?;
        if let Some(id) = found {
            return Ok(id);
        }
        let mut tx = self.db.pool.begin().await?;
        // Counted like any group, but never refused: a project always has its default.
        quotas::claim(&mut tx, project, "security_group", 1, i64::MAX / 4).await?;
        quotas::claim(
            &mut tx,
            project,
            "security_group_rule",
            DEFAULT_RULES.len() as i64,
            i64::MAX / 4,
        )
        .await?;
        let id = self
            .insert_group(
                &mut tx,
                project,
                "default",
                "Default security group",
                true,
                DEFAULT_RULES,
            )
            .await?;
        let won = sqlx::query("INSERT INTO net_default_security_groups (project_id, security_group_id) VALUES ($1, $2)")
            .bind(project)
            .bind(&id)
            .execute(&mut *tx)
            .await;
        match won {
            Ok(_) => {
                self.events
                    .record(
                        &mut tx,
                        NewEvent::new(ctx, Some(project), KIND_SECURITY_GROUP, &id, "create"),
                    )
                    .await?;
                tx.commit().await?;
                self.events.committed();
                Ok(id)
            }
            Err(e) if ferrostack_core::error::is_unique_violation(&e) => {
                drop(tx);
                Ok(sqlx::query_scalar("SELECT security_group_id FROM net_default_security_groups WHERE project_id = $1")
                    .bind(project)
                    .fetch_one(&self.db.pool)
                    .await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn group_create(&self, ctx: &Ctx, new: NewSecurityGroup) -> Result<SecurityGroup> {
        let project =
            crate::common::owner_project(ctx, new.project_id.as_deref(), "security group")?;
        check_name(&new.name)?;
        check_description(&new.description)?;
        check_tags(&new.tags)?;
        if new.name == "default" {
            return Err(Error::coded(
                409,
                "SecurityGroupDefaultAlreadyExists",
                "Default security group already exists.",
            ));
        }
        // The default group first, as Neutron does on a project's first group.
        self.default_group(ctx, &project).await?;
        let groups = self.quota_for(&project, "security_group").await?;
        let rules = self.quota_for(&project, "security_group_rule").await?;
        let mut tx = self.db.pool.begin().await?;
        quotas::claim(&mut tx, &project, "security_group", 1, groups).await?;
        quotas::claim(
            &mut tx,
            &project,
            "security_group_rule",
            EGRESS.len() as i64,
            rules,
        )
        .await?;
        let id = self
            .insert_group(
                &mut tx,
                &project,
                &new.name,
                &new.description,
                new.stateful.unwrap_or(true),
                EGRESS,
            )
            .await?;
        write_tags(&mut tx, &id, &new.tags).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&project), KIND_SECURITY_GROUP, &id, "create"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.group_get(ctx, &id).await
    }

    pub async fn group_get(&self, ctx: &Ctx, id: &str) -> Result<SecurityGroup> {
        let row = self.group_row(ctx, id).await?;
        Ok(self.groups_view(vec![row]).await?.remove(0))
    }

    pub async fn group_list(&self, ctx: &Ctx, q: ListQuery) -> Result<(Vec<SecurityGroup>, bool)> {
        if let Some(p) = ctx.project_id() {
            // First use makes the default group (Neutron lists it at once).
            self.default_group(ctx, p).await?;
        }
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1");
        if !ctx.is_admin() {
            sql.push(" AND g.project_id = ")
                .bind(Arg::Text(ctx.project_id().unwrap_or("").to_string()));
        }
        q.apply(&mut sql, FILTERS, "g.id")?;
        let marker_ok = match &q.marker {
            Some(m) => self.group_row(ctx, m).await.is_ok(),
            None => true,
        };
        let limit = q.order(&mut sql, SORT_KEYS, "net_security_groups g", marker_ok)?;
        let rows: Vec<GroupRow> = sql.query_as().fetch_all(&self.db.pool).await?;
        let (page, more) = list::page(rows, limit);
        Ok((self.groups_view(page).await?, more))
    }

    pub async fn group_update(
        &self,
        ctx: &Ctx,
        id: &str,
        u: SecurityGroupUpdate,
    ) -> Result<SecurityGroup> {
        let row = self.group_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        if let Some(n) = &u.name {
            check_name(n)?;
            if row.name == "default" && n != "default" {
                return Err(Error::coded(
                    409,
                    "SecurityGroupCannotUpdateDefault",
                    "Updating default security group not allowed.",
                ));
            }
            if n == "default" && row.name != "default" {
                return Err(Error::coded(
                    409,
                    "SecurityGroupDefaultAlreadyExists",
                    "Default security group already exists.",
                ));
            }
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE net_security_groups SET name = $2, description = $3, stateful = $4, revision_number = revision_number + 1, \
             updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(u.name.as_ref().unwrap_or(&row.name))
        .bind(u.description.as_ref().unwrap_or(&row.description))
        .bind(u.stateful.map(i64::from).unwrap_or(row.stateful))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&row.project_id),
                    KIND_SECURITY_GROUP,
                    id,
                    "update",
                ),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.group_get(ctx, id).await
    }

    pub async fn group_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.group_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let is_default: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM net_default_security_groups WHERE security_group_id = $1",
        )
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        if is_default > 0 && !ctx.is_admin() {
            return Err(Error::coded(
                409,
                "SecurityGroupCannotRemoveDefault",
                "Removing default security group not allowed.",
            ));
        }
        let referring: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT security_group_id FROM net_security_group_rules WHERE remote_group_id = $1 AND security_group_id <> $1",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE net_security_groups SET revision_number = revision_number + 1 WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM net_port_security_groups WHERE security_group_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if used > 0 {
            return Err(Error::coded(
                409,
                "SecurityGroupInUse",
                format!("Security Group {id} in use."),
            ));
        }
        // Its rules, and other groups' rules that name it as their remote group.
        let rules: Vec<(String,)> = sqlx::query_as(
            "SELECT project_id FROM net_security_group_rules WHERE security_group_id = $1 OR remote_group_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let mut per_project: HashMap<String, i64> = HashMap::new();
        for (p,) in rules {
            *per_project.entry(p).or_default() += 1;
        }
        for (p, n) in per_project {
            quotas::release(&mut tx, &p, "security_group_rule", n).await?;
        }
        sqlx::query("DELETE FROM net_security_group_rules WHERE security_group_id = $1 OR remote_group_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_default_security_groups WHERE security_group_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_tags WHERE resource_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_security_groups WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        quotas::release(&mut tx, &row.project_id, "security_group", 1).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&row.project_id),
                    KIND_SECURITY_GROUP,
                    id,
                    "delete",
                )
                .status("DELETED"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        let referring: Vec<String> = referring.into_iter().map(|r| r.0).collect();
        self.refresh_filters(&referring).await;
        Ok(())
    }
}
