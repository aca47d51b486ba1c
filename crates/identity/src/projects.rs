//! Projects: the tenants. Every other service scopes its resources to one.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::error::unique_or;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::Project;

use crate::revocations::Event;
use crate::{policy, validate, Identity, DEFAULT_DOMAIN_ID};

#[derive(Clone, Debug, Default)]
pub struct NewProject {
    pub name: String,
    pub domain_id: Option<String>,
    pub parent_id: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub tags: Vec<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub tags: Option<Vec<String>>,
    /// Extra attributes to set (merged over the stored ones, as Keystone).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default)]
pub struct ProjectFilter {
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub parent_id: Option<String>,
    pub enabled: Option<bool>,
    /// Only projects carrying every one of these tags.
    pub tags: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: String,
    name: String,
    domain_id: String,
    parent_id: Option<String>,
    description: String,
    enabled: i64,
    tags: String,
    extra: String,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: r.id,
            name: r.name,
            domain_id: r.domain_id,
            parent_id: r.parent_id,
            description: r.description,
            enabled: r.enabled != 0,
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            extra: serde_json::from_str(&r.extra).unwrap_or_default(),
        }
    }
}

const COLUMNS: &str =
    "SELECT id, name, domain_id, parent_id, description, enabled, tags, extra FROM projects";
const TAG_MAX: usize = 255;
const TAGS_MAX: usize = 80;

fn check_tags(tags: &[String]) -> Result<()> {
    if tags.len() > TAGS_MAX {
        return Err(Error::bad_request(format!(
            "Invalid input for field 'tags': at most {TAGS_MAX} tags are allowed."
        )));
    }
    for t in tags {
        validate::name("tags", t, TAG_MAX)?;
        if t.contains('/') || t.contains(',') {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'tags': tag {t:?} may not contain '/' or ','."
            )));
        }
    }
    Ok(())
}

/// SQL selecting the ids of projects where `user` holds a role, directly or through a
/// group, granted there or inherited (OS-INHERIT: from the project's domain or from a
/// project above it).
pub(crate) fn push_projects_of_user(sql: &mut Sql, user_id: &str) {
    let actor = |sql: &mut Sql| {
        sql.push("((actor_type = 'user' AND actor_id = ")
            .bind(Arg::Text(user_id.to_string()))
            .push(") OR (actor_type = 'group' AND actor_id IN (SELECT group_id FROM group_members WHERE user_id = ")
            .bind(Arg::Text(user_id.to_string()))
            .push(")))");
    };
    sql.push("SELECT target_id FROM role_assignments WHERE target_type = 'project' AND ");
    actor(sql);
    sql.push(
        " UNION SELECT id FROM projects WHERE domain_id IN (SELECT target_id FROM inherited_assignments \
         WHERE target_type = 'domain' AND ",
    );
    actor(sql);
    // The projects strictly below an inherited project grant's target.
    sql.push(
        ") UNION SELECT id FROM (WITH RECURSIVE below(id) AS (SELECT p.id FROM projects p WHERE p.parent_id IN \
         (SELECT target_id FROM inherited_assignments WHERE target_type = 'project' AND ",
    );
    actor(sql);
    sql.push(
        ") UNION SELECT p.id FROM projects p JOIN below b ON p.parent_id = b.id) SELECT id FROM below) inherited_below",
    );
}

impl Identity {
    pub async fn project_create(&self, ctx: &Ctx, new: NewProject) -> Result<Project> {
        policy::require_admin(ctx, "create_project")?;
        let name = validate::name("name", &new.name, validate::NAME_MAX)?;
        validate::text("description", &new.description, validate::DESCRIPTION_MAX)?;
        check_tags(&new.tags)?;
        validate::extra("the project", validate::PROJECT_FIELDS, &new.extra)?;
        // Keystone shows a top-level project's parent as its domain, and accepts that
        // form back: a parent_id naming a domain means "top level in that domain".
        let mut new = new;
        if let Some(p) = new.parent_id.clone() {
            if self.project_fetch(&p).await.is_err() && self.domain_fetch(&p).await.is_ok() {
                if new.domain_id.as_ref().is_some_and(|d| *d != p) {
                    return Err(Error::bad_request(format!(
                        "Invalid input for field 'parent_id': domain {p} is not the project's domain."
                    )));
                }
                new.domain_id = Some(p);
                new.parent_id = None;
            }
        }
        let parent = match &new.parent_id {
            Some(p) => Some(self.project_fetch(p).await.map_err(|_| {
                Error::bad_request(format!(
                    "Invalid input for field 'parent_id': project {p} does not exist."
                ))
            })?),
            None => None,
        };
        let domain_id = match (&new.domain_id, &parent) {
            // Keystone lets the parent's domain id stand for "top level in this domain".
            (Some(d), Some(p)) if *d != p.domain_id => {
                return Err(Error::bad_request(format!(
                "Invalid input for field 'domain_id': parent project {} is in domain {}, not {d}.",
                p.id, p.domain_id
            )))
            }
            (Some(d), _) => d.clone(),
            (None, Some(p)) => p.domain_id.clone(),
            (None, None) => DEFAULT_DOMAIN_ID.to_string(),
        };
        let domain = self.domain_fetch(&domain_id).await.map_err(|_| {
            Error::bad_request(format!(
                "Invalid input for field 'domain_id': domain {domain_id} does not exist."
            ))
        })?;
        let id = ids::new_id();
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO projects (id, name, domain_id, parent_id, description, enabled, tags, created_at, updated_at, extra) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        )
        .bind(&id)
        .bind(&name)
        .bind(&domain.id)
        .bind(parent.as_ref().map(|p| p.id.clone()))
        .bind(&new.description)
        .bind(i64::from(new.enabled))
        .bind(serde_json::to_string(&new.tags).map_err(Error::internal)?)
        .bind(&now)
        .bind(serde_json::Value::Object(new.extra.clone()).to_string())
        .execute(&self.db.pool)
        .await
        .map_err(|e| {
            unique_or(e, || {
                format!("Conflict occurred attempting to store project - Duplicate entry found with name {name} at domain ID {}.", domain.id)
            })
        })?;
        self.changed().await?;
        self.project_fetch(&id).await
    }

    /// A project the caller may see: any for an admin, else one where it holds a role.
    pub async fn project_get(&self, ctx: &Ctx, id: &str) -> Result<Project> {
        let p = self.project_fetch(id).await?;
        // Beyond its own scope, a caller sees the projects it holds a role on.
        let member = if ctx.is_admin() || ctx.project_id() == Some(id) {
            false
        } else {
            let user = ctx.user_id.clone().unwrap_or_default();
            !self
                .effective_roles(
                    &user,
                    &crate::assignments::TargetRef::Project(id.to_string()),
                )
                .await?
                .is_empty()
        };
        ctx.authorize(
            ferrostack_core::Action::Read,
            &ferrostack_core::Owned::of_project("project", id, id).visible(member),
        )?;
        Ok(p)
    }

    pub(crate) async fn project_fetch(&self, id: &str) -> Result<Project> {
        validate::id("project_id", id)?;
        sqlx::query_as::<_, ProjectRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(Project::from)
            .ok_or_else(|| Error::not_found("project", id))
    }

    pub(crate) async fn project_by_name(&self, domain_id: &str, name: &str) -> Result<Project> {
        sqlx::query_as::<_, ProjectRow>(&format!(
            "{COLUMNS} WHERE domain_id = $1 AND lower(name) = lower($2)"
        ))
        .bind(domain_id)
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?
        .map(Project::from)
        .ok_or_else(|| Error::not_found("project", name))
    }

    /// The id of the project named `name` in the domain named by id or name (one
    /// query: token requests scope by name).
    pub(crate) async fn project_id_by_name(
        &self,
        name: &str,
        domain: &crate::DomainRef,
    ) -> Result<String> {
        let (cond, d) = match domain {
            crate::DomainRef::Id(d) => ("d.id = $2", d),
            crate::DomainRef::Name(d) => ("lower(d.name) = lower($2)", d),
        };
        let row: Option<(String,)> = sqlx::query_as(&format!(
            "SELECT p.id FROM projects p JOIN domains d ON d.id = p.domain_id WHERE lower(p.name) = lower($1) AND {cond}"
        ))
        .bind(name)
        .bind(d)
        .fetch_optional(&self.db.pool)
        .await?;
        row.map(|r| r.0)
            .ok_or_else(|| Error::not_found("project", name))
    }

    /// Projects matching `f`. An admin sees all; anyone else only the projects where
    /// they hold a role.
    /// Every project (GET /v3/projects): an admin's listing, as Keystone's policy has
    /// it; others list their own at /v3/auth/projects or /v3/users/{id}/projects.
    pub async fn project_list(&self, ctx: &Ctx, f: ProjectFilter) -> Result<Vec<Project>> {
        if !ctx.is_admin() {
            return Err(Error::forbidden(
                "Listing every project needs the admin role: list your own projects with \
                 GET /v3/auth/projects (openstack project list --my-projects).",
            ));
        }
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1")
            .and_eq("name", f.name.map(Arg::Text))
            .and_eq("domain_id", f.domain_id.map(Arg::Text))
            .and_eq("enabled", f.enabled.map(Arg::Bool));
        if let Some(parent) = f.parent_id {
            // A top-level project's parent, as the API shows it, is its domain.
            sql.push(" AND (parent_id = ")
                .bind(Arg::Text(parent.clone()));
            sql.push(" OR (parent_id IS NULL AND domain_id = ")
                .bind(Arg::Text(parent))
                .push("))");
        }
        sql.push(" ORDER BY name, id");
        let mut out: Vec<Project> = sql
            .query_as::<ProjectRow>()
            .fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .map(Project::from)
            .collect();
        if !f.tags.is_empty() {
            out.retain(|p| f.tags.iter().all(|t| p.tags.contains(t)));
        }
        Ok(out)
    }

    /// One page of every project, for the admin's Identity > Projects panel: names
    /// containing `search` (any case), ordered by name, with the total that match.
    pub async fn project_page(
        &self,
        ctx: &Ctx,
        search: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Project>, i64)> {
        policy::require_admin(ctx, "list_projects")?;
        validate::text("search", search, validate::NAME_MAX)?;
        let pattern = format!(
            "%{}%",
            search.trim().to_lowercase().replace(['\\', '%', '_'], "")
        );
        let (total,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM projects WHERE lower(name) LIKE $1")
                .bind(&pattern)
                .fetch_one(&self.db.pool)
                .await?;
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE lower(name) LIKE ")
            .bind(Arg::Text(pattern))
            .push(" ORDER BY lower(name), id LIMIT ")
            .bind(Arg::Int(limit.clamp(1, 200)))
            .push(" OFFSET ")
            .bind(Arg::Int(offset.max(0)));
        Ok((
            sql.fetch_all::<ProjectRow, Project>(&self.db.pool).await?,
            total,
        ))
    }

    /// Projects where `user_id` holds a role (GET /v3/users/{id}/projects,
    /// /v3/auth/projects).
    pub async fn user_projects(&self, ctx: &Ctx, user_id: &str) -> Result<Vec<Project>> {
        policy::require_admin_or_self(ctx, "list_user_projects", user_id)?;
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE id IN (");
        push_projects_of_user(&mut sql, user_id);
        sql.push(") ORDER BY name, id");
        sql.fetch_all::<ProjectRow, Project>(&self.db.pool).await
    }

    pub async fn project_update(&self, ctx: &Ctx, id: &str, upd: ProjectUpdate) -> Result<Project> {
        policy::require_admin(ctx, "update_project")?;
        validate::id("project_id", id)?;
        // Write first: the row is locked before it is read, so two updates (two tags
        // added at once, say) cannot each write back what the other did not see.
        let mut tx = self.db.pool.begin().await?;
        let mut p = Self::project_lock(&mut tx, id).await?;
        if let Some(n) = upd.name {
            p.name = validate::name("name", &n, validate::NAME_MAX)?;
        }
        if let Some(d) = upd.description {
            validate::text("description", &d, validate::DESCRIPTION_MAX)?;
            p.description = d;
        }
        if let Some(t) = upd.tags {
            check_tags(&t)?;
            p.tags = t;
        }
        for (k, v) in upd.extra {
            p.extra.insert(k, v);
        }
        validate::extra("the project", validate::PROJECT_FIELDS, &p.extra)?;
        let disabling = upd.enabled == Some(false) && p.enabled;
        if let Some(e) = upd.enabled {
            p.enabled = e;
        }
        Self::project_write(&mut tx, &p).await?;
        let mut events = Vec::new();
        if disabling {
            events.push(self.revocation_event(Event {
                project_id: Some(p.id.clone()),
                ..Default::default()
            }));
        }
        self.commit(tx, events).await?;
        Ok(p)
    }

    /// Lock a project's row (a write) and read it, inside `tx`.
    async fn project_lock(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str) -> Result<Project> {
        sqlx::query("UPDATE projects SET updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(time::to_db(&time::now()))
            .execute(&mut **tx)
            .await?;
        sqlx::query_as::<_, ProjectRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .map(Project::from)
            .ok_or_else(|| Error::not_found("project", id))
    }

    async fn project_write(tx: &mut sqlx::Transaction<'_, sqlx::Any>, p: &Project) -> Result<()> {
        sqlx::query(
            "UPDATE projects SET name = $2, description = $3, enabled = $4, tags = $5, updated_at = $6, extra = $7 WHERE id = $1",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.description)
        .bind(i64::from(p.enabled))
        .bind(serde_json::to_string(&p.tags).map_err(Error::internal)?)
        .bind(time::to_db(&time::now()))
        .bind(serde_json::Value::Object(p.extra.clone()).to_string())
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            unique_or(e, || {
                format!("Conflict occurred attempting to update project - Duplicate entry found with name {} at domain ID {}.", p.name, p.domain_id)
            })
        })?;
        Ok(())
    }

    /// GET /v3/projects/{id}/tags/{tag}: Ok when the project carries the tag.
    pub async fn project_tag_check(&self, ctx: &Ctx, id: &str, tag: &str) -> Result<()> {
        let p = self.project_get(ctx, id).await?;
        if p.tags.iter().any(|t| t == tag) {
            Ok(())
        } else {
            Err(Error::not_found("project tag", tag))
        }
    }

    /// PUT /v3/projects/{id}/tags/{tag}: add one tag (kept once; at most 80).
    pub async fn project_tag_add(&self, ctx: &Ctx, id: &str, tag: &str) -> Result<Project> {
        policy::require_admin(ctx, "create_project_tag")?;
        validate::id("project_id", id)?;
        let mut tx = self.db.pool.begin().await?;
        let mut p = Self::project_lock(&mut tx, id).await?;
        if !p.tags.iter().any(|t| t == tag) {
            p.tags.push(tag.to_string());
        }
        check_tags(&p.tags)?;
        Self::project_write(&mut tx, &p).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// DELETE /v3/projects/{id}/tags/{tag}.
    pub async fn project_tag_remove(&self, ctx: &Ctx, id: &str, tag: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_project_tag")?;
        validate::id("project_id", id)?;
        let mut tx = self.db.pool.begin().await?;
        let mut p = Self::project_lock(&mut tx, id).await?;
        let before = p.tags.len();
        p.tags.retain(|t| t != tag);
        if p.tags.len() == before {
            return Err(Error::not_found("project tag", tag));
        }
        Self::project_write(&mut tx, &p).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Delete a project with no child projects; its role assignments and application
    /// credentials go with it and its tokens stop working at once.
    pub async fn project_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_project")?;
        let p = self.project_fetch(id).await?;
        let (children,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM projects WHERE parent_id = $1")
                .bind(id)
                .fetch_one(&self.db.pool)
                .await?;
        if children > 0 {
            return Err(Error::conflict(format!(
                "Project {} has {children} child project(s); delete them first.",
                p.name
            )));
        }
        let mut tx = self.db.pool.begin().await?;
        for table in ["role_assignments", "inherited_assignments"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE target_type = 'project' AND target_id = $1"
            ))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE users SET default_project_id = NULL WHERE default_project_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let events = vec![self.revocation_event(Event {
            project_id: Some(id.to_string()),
            ..Default::default()
        })];
        self.commit(tx, events).await
    }
}
