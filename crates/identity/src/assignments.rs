//! Role assignments: a role granted to a user or a group on a project, a domain or the
//! system; and the effective roles a user holds in a scope (direct + through groups).

use std::collections::HashMap;

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::{Ctx, Error, Result};
use ferrostack_types::identity::{Actor, NameInDomain, Named, Role, RoleAssignment, Target};

use crate::revocations::Event;
use crate::{policy, Identity};

/// The `target_id` stored for a system-wide assignment.
const SYSTEM_TARGET: &str = "all";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetRef {
    Project(String),
    Domain(String),
    System,
}

impl TargetRef {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            TargetRef::Project(id) => ("project", id),
            TargetRef::Domain(id) => ("domain", id),
            TargetRef::System => ("system", SYSTEM_TARGET),
        }
    }
}

/// One grant: `role_id` for `actor` on `target`.
#[derive(Clone, Debug)]
pub struct Grant {
    pub actor: Actor,
    pub target: Target,
    pub role_id: String,
}

fn actor_parts(a: &Actor) -> (&'static str, &str) {
    match a {
        Actor::User(id) => ("user", id),
        Actor::Group(id) => ("group", id),
    }
}

fn target_parts(t: &Target) -> (&'static str, &str) {
    match t {
        Target::Project(id) => ("project", id),
        Target::Domain(id) => ("domain", id),
        Target::System => ("system", SYSTEM_TARGET),
    }
}

#[derive(Clone, Debug, Default)]
pub struct AssignmentFilter {
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub role_id: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub system: bool,
    /// Expand group assignments into one per member, and inherited ones into the
    /// projects they reach.
    pub effective: bool,
    /// With `project_id`: the project's whole subtree.
    pub include_subtree: bool,
}

#[derive(sqlx::FromRow)]
struct AssignmentRow {
    actor_type: String,
    actor_id: String,
    target_type: String,
    target_id: String,
    role_id: String,
    role_name: String,
    #[sqlx(skip)]
    inherited: bool,
}

impl Identity {
    pub(crate) async fn grant_check_parts(&self, g: &Grant) -> Result<Role> {
        match &g.actor {
            Actor::User(id) => drop(self.user_fetch(id).await?),
            Actor::Group(id) => drop(self.group_fetch(id).await?),
        }
        match &g.target {
            Target::Project(id) => drop(self.project_fetch(id).await?),
            Target::Domain(id) => drop(self.domain_fetch(id).await?),
            Target::System => {}
        }
        self.role_fetch(&g.role_id).await
    }

    /// Grant a role (PUT .../roles/{role_id}). Granting twice is not an error.
    pub async fn role_grant(&self, ctx: &Ctx, g: Grant) -> Result<()> {
        policy::require_admin(ctx, "create_grant")?;
        self.grant_check_parts(&g).await?;
        let (at, aid) = actor_parts(&g.actor);
        let (tt, tid) = target_parts(&g.target);
        let res = sqlx::query(
            "INSERT INTO role_assignments (actor_type, actor_id, target_type, target_id, role_id) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(at)
        .bind(aid)
        .bind(tt)
        .bind(tid)
        .bind(&g.role_id)
        .execute(&self.db.pool)
        .await;
        // Twice is not an error (Keystone answers 204 too).
        ferrostack_core::error::ok_if_exists(res)?;
        self.changed().await?;
        Ok(())
    }

    /// Check a grant (HEAD/GET .../roles/{role_id}): Ok, or 404 saying what is missing.
    pub async fn role_check(&self, ctx: &Ctx, g: Grant) -> Result<()> {
        match &g.actor {
            Actor::User(u) => policy::require_admin_or_self(ctx, "check_grant", u)?,
            Actor::Group(_) => policy::require_admin(ctx, "check_grant")?,
        }
        let role = self.grant_check_parts(&g).await?;
        let (at, aid) = actor_parts(&g.actor);
        let (tt, tid) = target_parts(&g.target);
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT role_id FROM role_assignments WHERE actor_type = $1 AND actor_id = $2 AND target_type = $3 \
             AND target_id = $4 AND role_id = $5",
        )
        .bind(at)
        .bind(aid)
        .bind(tt)
        .bind(tid)
        .bind(&g.role_id)
        .fetch_optional(&self.db.pool)
        .await?;
        found.map(|_| ()).ok_or_else(|| Error::NotFound {
            kind: "role assignment",
            id: format!("role {} for {at} {aid} on {tt} {tid}", role.name),
        })
    }

    /// Revoke a grant. The actor's tokens for that target stop working at once.
    pub async fn role_revoke(&self, ctx: &Ctx, g: Grant) -> Result<()> {
        policy::require_admin(ctx, "revoke_grant")?;
        self.role_check(ctx, g.clone()).await?;
        let (at, aid) = actor_parts(&g.actor);
        let (tt, tid) = target_parts(&g.target);
        let users = match &g.actor {
            Actor::User(id) => vec![id.clone()],
            Actor::Group(id) => self.group_member_ids(id).await?,
        };
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "DELETE FROM role_assignments WHERE actor_type = $1 AND actor_id = $2 AND target_type = $3 \
             AND target_id = $4 AND role_id = $5",
        )
        .bind(at)
        .bind(aid)
        .bind(tt)
        .bind(tid)
        .bind(&g.role_id)
        .execute(&mut *tx)
        .await?;
        let events = users
            .into_iter()
            .map(|u| {
                let mut e = Event {
                    user_id: Some(u),
                    ..Default::default()
                };
                match &g.target {
                    Target::Project(p) => e.project_id = Some(p.clone()),
                    Target::Domain(d) => e.domain_id = Some(d.clone()),
                    Target::System => {}
                }
                self.revocation_event(e)
            })
            .collect();
        self.commit(tx, events).await
    }

    /// Roles granted directly to `actor` on `target` (GET .../users/{id}/roles).
    pub async fn roles_granted(
        &self,
        ctx: &Ctx,
        actor: Actor,
        target: Target,
    ) -> Result<Vec<Role>> {
        match &actor {
            Actor::User(u) => policy::require_admin_or_self(ctx, "list_grants", u)?,
            Actor::Group(_) => policy::require_admin(ctx, "list_grants")?,
        }
        match &target {
            Target::Project(id) => drop(self.project_fetch(id).await?),
            Target::Domain(id) => drop(self.domain_fetch(id).await?),
            Target::System => {}
        }
        let (at, aid) = actor_parts(&actor);
        let (tt, tid) = target_parts(&target);
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT r.id, r.name, r.description, r.domain_id FROM role_assignments a JOIN roles r ON r.id = a.role_id \
             WHERE a.actor_type = $1 AND a.actor_id = $2 AND a.target_type = $3 AND a.target_id = $4 ORDER BY r.name",
        )
        .bind(at)
        .bind(aid)
        .bind(tt)
        .bind(tid)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(roles_of(rows))
    }

    /// The role ids assigned to `user_id` on `target`, directly or through its groups
    /// (before implications: `effective_roles` follows those).
    pub(crate) async fn assigned_role_ids(
        &self,
        user_id: &str,
        target: &TargetRef,
    ) -> Result<Vec<String>> {
        let (tt, tid) = target.parts();
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT a.role_id FROM role_assignments a \
             WHERE a.target_type = $1 AND a.target_id = $2 AND ((a.actor_type = 'user' AND a.actor_id = $3) OR \
             (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM group_members WHERE user_id = $3)))",
        )
        .bind(tt)
        .bind(tid)
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut ids: Vec<String> = rows.into_iter().map(|(id,)| id).collect();
        if let TargetRef::Project(p) = target {
            for r in self.inherited_role_ids(user_id, p).await? {
                if !ids.contains(&r) {
                    ids.push(r);
                }
            }
        }
        Ok(ids)
    }

    /// GET /v3/role_assignments. An admin may ask anything; anyone else only about
    /// their own user.
    pub async fn assignment_list(
        &self,
        ctx: &Ctx,
        f: AssignmentFilter,
    ) -> Result<Vec<RoleAssignment>> {
        let own = f.user_id.as_deref().is_some_and(|u| ctx.is_user(u));
        if !own {
            policy::require_admin(ctx, "list_role_assignments")?;
        }
        let mut rows = self.assignment_rows("role_assignments", &f, false).await?;
        if !f.system {
            rows.extend(
                self.assignment_rows("inherited_assignments", &f, true)
                    .await?,
            );
        }

        // Members of every group that appears, in one query, for the effective view.
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        if f.effective && f.user_id.is_none() {
            let groups: Vec<&str> = rows
                .iter()
                .filter(|r| r.actor_type == "group")
                .map(|r| r.actor_id.as_str())
                .collect();
            if !groups.is_empty() {
                let mut sql =
                    Sql::new("SELECT group_id, user_id FROM group_members WHERE group_id IN ");
                sql.in_list(groups).push(" ORDER BY user_id");
                for (g, u) in sql
                    .query_as::<(String, String)>()
                    .fetch_all(&self.db.pool)
                    .await?
                {
                    members.entry(g).or_default().push(u);
                }
            }
        }

        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let role = Named {
                id: r.role_id,
                name: r.role_name,
            };
            let target = match r.target_type.as_str() {
                "project" => Target::Project(r.target_id),
                "domain" => Target::Domain(r.target_id),
                _ => Target::System,
            };
            if r.actor_type == "group" && f.effective {
                // One assignment per member, remembering the group it came through.
                let of_group = match &f.user_id {
                    Some(u) => vec![u.clone()],
                    None => members.get(&r.actor_id).cloned().unwrap_or_default(),
                };
                for m in of_group {
                    out.push(RoleAssignment {
                        actor: Actor::User(m),
                        target: target.clone(),
                        role: role.clone(),
                        via_group: Some(r.actor_id.clone()),
                        actor_name: None,
                        target_name: None,
                        inherited: r.inherited,
                    });
                }
            } else {
                let actor = if r.actor_type == "group" {
                    Actor::Group(r.actor_id)
                } else {
                    Actor::User(r.actor_id)
                };
                out.push(RoleAssignment {
                    actor,
                    target,
                    role,
                    via_group: None,
                    actor_name: None,
                    target_name: None,
                    inherited: r.inherited,
                });
            }
        }
        Ok(out)
    }

    /// The stored rows a listing asks for, from `table` (direct or inherited grants).
    /// Inherited rows are filtered by the project they reach when the listing is
    /// effective, by their own target otherwise.
    async fn assignment_rows(
        &self,
        table: &str,
        f: &AssignmentFilter,
        inherited: bool,
    ) -> Result<Vec<AssignmentRow>> {
        if inherited && f.effective && f.domain_id.is_some() {
            // Inherited grants reach projects, never the domain itself.
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT a.actor_type, a.actor_id, a.target_type, a.target_id, a.role_id, r.name AS role_name \
             FROM {table} a JOIN roles r ON r.id = a.role_id WHERE 1 = 1"
        ));
        sql.and_eq("a.role_id", f.role_id.clone().map(Arg::Text));
        let reach_filter = inherited && f.effective;
        if let Some(p) = f.project_id.as_ref().filter(|_| !reach_filter) {
            sql.push(" AND a.target_type = 'project' AND (a.target_id = ")
                .bind(Arg::Text(p.clone()));
            if f.include_subtree {
                sql.push(" OR a.target_id IN (");
                crate::inherit::push_descendants(&mut sql, p);
                sql.push(")");
            }
            sql.push(")");
        }
        if let Some(d) = f.domain_id.as_ref().filter(|_| !reach_filter) {
            sql.push(" AND a.target_type = 'domain' AND a.target_id = ")
                .bind(Arg::Text(d.clone()));
        }
        if f.system {
            sql.push(" AND a.target_type = 'system'");
        }
        match (&f.user_id, &f.group_id, f.effective) {
            (Some(u), _, true) => {
                sql.push(" AND ((a.actor_type = 'user' AND a.actor_id = ")
                    .bind(Arg::Text(u.clone()))
                    .push(") OR (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM group_members WHERE user_id = ")
                    .bind(Arg::Text(u.clone()))
                    .push(")))");
            }
            (Some(u), _, false) => {
                sql.push(" AND a.actor_type = 'user' AND a.actor_id = ")
                    .bind(Arg::Text(u.clone()));
            }
            (None, Some(g), _) => {
                sql.push(" AND a.actor_type = 'group' AND a.actor_id = ")
                    .bind(Arg::Text(g.clone()));
            }
            (None, None, _) => {}
        }
        sql.push(" ORDER BY a.actor_type, a.actor_id, a.target_type, a.target_id, r.name");
        let rows = sql
            .query_as::<AssignmentRow>()
            .fetch_all(&self.db.pool)
            .await?;
        if !inherited {
            return Ok(rows);
        }
        let mut out = Vec::new();
        for mut r in rows {
            r.inherited = true;
            if !f.effective {
                out.push(r);
                continue;
            }
            // Effective: one assignment on each project the inherited grant reaches.
            let mut reach = self.inherited_reach(&r.target_type, &r.target_id).await?;
            if let Some(p) = &f.project_id {
                let mut wanted = vec![p.clone()];
                if f.include_subtree {
                    wanted.extend(self.inherited_reach("project", p).await?);
                }
                reach.retain(|x| wanted.contains(x));
            }
            for p in reach {
                out.push(AssignmentRow {
                    target_type: "project".into(),
                    target_id: p,
                    inherited: false,
                    actor_type: r.actor_type.clone(),
                    actor_id: r.actor_id.clone(),
                    role_id: r.role_id.clone(),
                    role_name: r.role_name.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Fill in actor and target names (`include_names`), one query per kind.
    pub async fn assignment_names(&self, list: &mut [RoleAssignment]) -> Result<()> {
        let domains: HashMap<String, String> =
            sqlx::query_as::<_, (String, String)>("SELECT id, name FROM domains")
                .fetch_all(&self.db.pool)
                .await?
                .into_iter()
                .collect();
        let named = |table: &str, ids: Vec<&str>| {
            let mut sql = Sql::new(&format!(
                "SELECT id, name, domain_id FROM {table} WHERE id IN "
            ));
            sql.in_list(ids);
            sql
        };
        let users = named(
            "users",
            list.iter()
                .filter_map(|a| {
                    if let Actor::User(u) = &a.actor {
                        Some(u.as_str())
                    } else {
                        None
                    }
                })
                .collect(),
        );
        let groups = named(
            "user_groups",
            list.iter()
                .filter_map(|a| {
                    if let Actor::Group(g) = &a.actor {
                        Some(g.as_str())
                    } else {
                        None
                    }
                })
                .collect(),
        );
        let projects = named(
            "projects",
            list.iter()
                .filter_map(|a| {
                    if let Target::Project(p) = &a.target {
                        Some(p.as_str())
                    } else {
                        None
                    }
                })
                .collect(),
        );
        let load = |rows: Vec<(String, String, String)>| -> HashMap<String, NameInDomain> {
            rows.into_iter()
                .map(|(id, name, d)| {
                    let domain = Named {
                        name: domains.get(&d).cloned().unwrap_or_default(),
                        id: d,
                    };
                    (
                        id,
                        NameInDomain {
                            name,
                            domain: Some(domain),
                        },
                    )
                })
                .collect()
        };
        let users = load(users.query_as().fetch_all(&self.db.pool).await?);
        let groups = load(groups.query_as().fetch_all(&self.db.pool).await?);
        let projects = load(projects.query_as().fetch_all(&self.db.pool).await?);
        for a in list.iter_mut() {
            a.actor_name = match &a.actor {
                Actor::User(u) => users.get(u).cloned(),
                Actor::Group(g) => groups.get(g).cloned(),
            };
            a.target_name = match &a.target {
                Target::Project(p) => projects.get(p).cloned(),
                Target::Domain(d) => domains.get(d).map(|n| NameInDomain {
                    name: n.clone(),
                    domain: None,
                }),
                Target::System => None,
            };
        }
        Ok(())
    }
}

/// Roles from (id, name, description, domain_id) rows.
pub(crate) fn roles_of(rows: Vec<(String, String, String, Option<String>)>) -> Vec<Role> {
    rows.into_iter()
        .map(|(id, name, description, domain_id)| Role {
            id,
            name,
            description,
            domain_id,
        })
        .collect()
}
