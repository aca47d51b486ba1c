//! Inherited role assignments (OS-INHERIT): a role granted to a user or group on a
//! domain or a project that it then holds on every project below (all the domain's
//! projects, or the project's subtree), not on the target itself, as Keystone's
//! `inherited_to_projects` grants.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::{Ctx, Error, Result};
use ferrostack_types::identity::{Actor, Role, Target};

use crate::revocations::Event;
use crate::{policy, Grant, Identity};

fn parts(g: &Grant) -> Result<(&'static str, &str, &'static str, &str)> {
    let (at, aid) = match &g.actor {
        Actor::User(id) => ("user", id.as_str()),
        Actor::Group(id) => ("group", id.as_str()),
    };
    let (tt, tid) = match &g.target {
        Target::Project(id) => ("project", id.as_str()),
        Target::Domain(id) => ("domain", id.as_str()),
        Target::System => {
            return Err(Error::bad_request(
                "System grants are not inherited: grant on a domain or a project.",
            ))
        }
    };
    Ok((at, aid, tt, tid))
}

/// SQL for the ids of the projects strictly below project `$N` (its subtree, itself
/// excluded), as a recursive query both backends run.
pub(crate) fn push_descendants(sql: &mut Sql, project_id: &str) {
    sql.push(
        "WITH RECURSIVE sub(id) AS (SELECT id FROM projects WHERE parent_id = ",
    )
    .bind(Arg::Text(project_id.to_string()))
    .push(" UNION SELECT p.id FROM projects p JOIN sub ON p.parent_id = sub.id) SELECT id FROM sub");
}

impl Identity {
    /// PUT .../roles/{role}/inherited_to_projects. Twice is not an error.
    pub async fn inherited_grant(&self, ctx: &Ctx, g: Grant) -> Result<()> {
        policy::require_admin(ctx, "create_inherited_grant")?;
        self.grant_check_parts(&g).await?;
        let (at, aid, tt, tid) = parts(&g)?;
        let res = sqlx::query(
            "INSERT INTO inherited_assignments (actor_type, actor_id, target_type, target_id, role_id) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(at)
        .bind(aid)
        .bind(tt)
        .bind(tid)
        .bind(&g.role_id)
        .execute(&self.db.pool)
        .await;
        ferrostack_core::error::ok_if_exists(res)?;
        self.changed().await
    }

    /// HEAD/GET .../roles/{role}/inherited_to_projects: Ok, or 404 saying what is
    /// missing. A user may check its own.
    pub async fn inherited_check(&self, ctx: &Ctx, g: Grant) -> Result<()> {
        match &g.actor {
            Actor::User(u) => policy::require_admin_or_self(ctx, "check_inherited_grant", u)?,
            Actor::Group(_) => policy::require_admin(ctx, "check_inherited_grant")?,
        }
        let role = self.grant_check_parts(&g).await?;
        let (at, aid, tt, tid) = parts(&g)?;
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM inherited_assignments WHERE actor_type = $1 AND actor_id = $2 \
             AND target_type = $3 AND target_id = $4 AND role_id = $5",
        )
        .bind(at)
        .bind(aid)
        .bind(tt)
        .bind(tid)
        .bind(&g.role_id)
        .fetch_one(&self.db.pool)
        .await?;
        if n == 0 {
            return Err(Error::NotFound {
                kind: "inherited role assignment",
                id: format!("role {} for {at} {aid} on {tt} {tid}", role.name),
            });
        }
        Ok(())
    }

    /// DELETE .../roles/{role}/inherited_to_projects. The actor's tokens end (every
    /// project below may have held the role through it).
    pub async fn inherited_revoke(&self, ctx: &Ctx, g: Grant) -> Result<()> {
        policy::require_admin(ctx, "revoke_inherited_grant")?;
        self.inherited_check(ctx, g.clone()).await?;
        let (at, aid, tt, tid) = parts(&g)?;
        let users = match &g.actor {
            Actor::User(id) => vec![id.clone()],
            Actor::Group(id) => self.group_member_ids(id).await?,
        };
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "DELETE FROM inherited_assignments WHERE actor_type = $1 AND actor_id = $2 \
             AND target_type = $3 AND target_id = $4 AND role_id = $5",
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
                self.revocation_event(Event {
                    user_id: Some(u),
                    ..Default::default()
                })
            })
            .collect();
        self.commit(tx, events).await
    }

    /// GET .../roles/inherited_to_projects: the roles inherited from this target.
    pub async fn inherited_roles(
        &self,
        ctx: &Ctx,
        actor: Actor,
        target: Target,
    ) -> Result<Vec<Role>> {
        match &actor {
            Actor::User(u) => policy::require_admin_or_self(ctx, "list_inherited_grants", u)?,
            Actor::Group(_) => policy::require_admin(ctx, "list_inherited_grants")?,
        }
        let g = Grant {
            actor,
            target,
            role_id: String::new(),
        };
        let (at, aid, tt, tid) = parts(&g)?;
        match &g.target {
            Target::Project(id) => drop(self.project_fetch(id).await?),
            Target::Domain(id) => drop(self.domain_fetch(id).await?),
            Target::System => {}
        }
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT r.id, r.name, r.description, r.domain_id FROM inherited_assignments a \
             JOIN roles r ON r.id = a.role_id WHERE a.actor_type = $1 AND a.actor_id = $2 \
             AND a.target_type = $3 AND a.target_id = $4 ORDER BY r.name",
        )
        .bind(at)
        .bind(aid)
        .bind(tt)
        .bind(tid)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(crate::assignments::roles_of(rows))
    }

    /// Role ids `user_id` inherits on project `project_id`: from its domain, and from
    /// every project above it, directly or through its groups.
    pub(crate) async fn inherited_role_ids(
        &self,
        user_id: &str,
        project_id: &str,
    ) -> Result<Vec<String>> {
        let mut sql = Sql::new(
            "WITH RECURSIVE up(id, parent_id, domain_id) AS (\
             SELECT id, parent_id, domain_id FROM projects WHERE id = ",
        );
        sql.bind(Arg::Text(project_id.to_string()))
            .push(
                " UNION SELECT p.id, p.parent_id, p.domain_id FROM projects p JOIN up ON p.id = up.parent_id) \
                 SELECT DISTINCT a.role_id FROM inherited_assignments a WHERE \
                 ((a.target_type = 'domain' AND a.target_id IN (SELECT domain_id FROM up)) OR \
                 (a.target_type = 'project' AND a.target_id IN (SELECT id FROM up WHERE id <> ",
            )
            .bind(Arg::Text(project_id.to_string()))
            .push(")))  AND ((a.actor_type = 'user' AND a.actor_id = ")
            .bind(Arg::Text(user_id.to_string()))
            .push(") OR (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM group_members WHERE user_id = ")
            .bind(Arg::Text(user_id.to_string()))
            .push(")))");
        let rows: Vec<(String,)> = sql.query_as().fetch_all(&self.db.pool).await?;
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }

    /// The projects an inherited assignment on (`target_type`, `target_id`) reaches.
    pub(crate) async fn inherited_reach(
        &self,
        target_type: &str,
        target_id: &str,
    ) -> Result<Vec<String>> {
        let mut sql = Sql::default();
        if target_type == "domain" {
            sql.push("SELECT id FROM projects WHERE domain_id = ")
                .bind(Arg::Text(target_id.to_string()));
        } else {
            push_descendants(&mut sql, target_id);
        }
        let rows: Vec<(String,)> = sql.query_as().fetch_all(&self.db.pool).await?;
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }
}
