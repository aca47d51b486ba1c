//! Endpoint groups and project endpoint filters (OS-EP-FILTER): an admin narrows the
//! catalog a project's tokens carry to chosen endpoints, one by one or as groups
//! (filters on interface, service and region). A project with nothing associated sees
//! the whole catalog, as Keystone's default.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferrostack_core::error::ok_if_exists;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::{CatalogEntry, Endpoint};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cache::EndpointFilters;
use crate::{policy, validate, EndpointFilter, Identity};

#[derive(Clone, Debug, Serialize)]
pub struct EndpointGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub filters: Map<String, Value>,
}

#[derive(Clone, Debug, Default)]
pub struct EndpointGroupUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub filters: Option<Map<String, Value>>,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    name: String,
    description: String,
    filters: String,
}

impl From<GroupRow> for EndpointGroup {
    fn from(r: GroupRow) -> Self {
        EndpointGroup {
            id: r.id,
            name: r.name,
            description: r.description,
            filters: serde_json::from_str(&r.filters).unwrap_or_default(),
        }
    }
}

const GROUP_COLUMNS: &str = "SELECT id, name, description, filters FROM endpoint_groups";
const FILTER_KEYS: [&str; 3] = ["interface", "service_id", "region_id"];

/// Keystone's schema: filters is an object of string values keyed by interface,
/// service_id or region_id, at least one of them.
fn check_filters(f: &Map<String, Value>) -> Result<()> {
    if f.is_empty() {
        return Err(Error::bad_request(
            "Invalid input for field 'filters': give at least one of interface, service_id, region_id.",
        ));
    }
    for (k, v) in f {
        if !FILTER_KEYS.contains(&k.as_str()) {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'filters': {k:?} is not one of interface, service_id, region_id."
            )));
        }
        let Some(s) = v.as_str() else {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'filters/{k}': {v} is not of type 'string'."
            )));
        };
        validate::text(k, s, 255)?;
    }
    Ok(())
}

fn matches(filters: &Map<String, Value>, e: &Endpoint) -> bool {
    filters.iter().all(|(k, v)| {
        let want = v.as_str().unwrap_or_default();
        match k.as_str() {
            "interface" => e.interface == want,
            "service_id" => e.service_id == want,
            "region_id" => e.region_id.as_deref() == Some(want),
            _ => false,
        }
    })
}

impl Identity {
    pub async fn endpoint_group_create(
        &self,
        ctx: &Ctx,
        name: &str,
        description: &str,
        filters: Map<String, Value>,
    ) -> Result<EndpointGroup> {
        policy::require_admin(ctx, "create_endpoint_group")?;
        let name = validate::name("name", name, validate::NAME_MAX)?;
        validate::text("description", description, validate::DESCRIPTION_MAX)?;
        check_filters(&filters)?;
        let id = ids::new_id();
        sqlx::query(
            "INSERT INTO endpoint_groups (id, name, description, filters, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(&name)
        .bind(description)
        .bind(Value::Object(filters).to_string())
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?;
        self.changed().await?;
        self.endpoint_group_fetch(&id).await
    }

    async fn endpoint_group_fetch(&self, id: &str) -> Result<EndpointGroup> {
        validate::id("endpoint_group_id", id)?;
        sqlx::query_as::<_, GroupRow>(&format!("{GROUP_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(EndpointGroup::from)
            .ok_or_else(|| Error::not_found("endpoint group", id))
    }

    pub async fn endpoint_group_get(&self, ctx: &Ctx, id: &str) -> Result<EndpointGroup> {
        policy::require_admin(ctx, "get_endpoint_group")?;
        self.endpoint_group_fetch(id).await
    }

    pub async fn endpoint_group_list(
        &self,
        ctx: &Ctx,
        name: Option<&str>,
    ) -> Result<Vec<EndpointGroup>> {
        policy::require_admin(ctx, "list_endpoint_groups")?;
        let rows: Vec<GroupRow> = sqlx::query_as(&format!("{GROUP_COLUMNS} ORDER BY name, id"))
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(EndpointGroup::from)
            .filter(|g| name.is_none_or(|n| g.name == n))
            .collect())
    }

    pub async fn endpoint_group_update(
        &self,
        ctx: &Ctx,
        id: &str,
        upd: EndpointGroupUpdate,
    ) -> Result<EndpointGroup> {
        policy::require_admin(ctx, "update_endpoint_group")?;
        validate::id("endpoint_group_id", id)?;
        let mut tx = self.db.pool.begin().await?;
        // Write first: lock the row, then read it.
        let touched = sqlx::query("UPDATE endpoint_groups SET name = name WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if touched == 0 {
            return Err(Error::not_found("endpoint group", id));
        }
        let mut g: EndpointGroup =
            sqlx::query_as::<_, GroupRow>(&format!("{GROUP_COLUMNS} WHERE id = $1"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .into();
        if let Some(n) = upd.name {
            g.name = validate::name("name", &n, validate::NAME_MAX)?;
        }
        if let Some(d) = upd.description {
            validate::text("description", &d, validate::DESCRIPTION_MAX)?;
            g.description = d;
        }
        if let Some(f) = upd.filters {
            check_filters(&f)?;
            g.filters = f;
        }
        sqlx::query(
            "UPDATE endpoint_groups SET name = $2, description = $3, filters = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(&g.name)
        .bind(&g.description)
        .bind(Value::Object(g.filters.clone()).to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed().await?;
        Ok(g)
    }

    pub async fn endpoint_group_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_endpoint_group")?;
        validate::id("endpoint_group_id", id)?;
        let gone = sqlx::query("DELETE FROM endpoint_groups WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(Error::not_found("endpoint group", id));
        }
        self.changed().await
    }

    /// The endpoints an endpoint group's filters select.
    pub async fn endpoint_group_endpoints(&self, ctx: &Ctx, id: &str) -> Result<Vec<Endpoint>> {
        let g = self.endpoint_group_get(ctx, id).await?;
        let all = self.endpoint_list(ctx, EndpointFilter::default()).await?;
        Ok(all.into_iter().filter(|e| matches(&g.filters, e)).collect())
    }

    /// Associate (`add`) or check an association of a project with an endpoint
    /// (`kind` "endpoint") or an endpoint group (`kind` "group").
    pub async fn ep_filter_add(
        &self,
        ctx: &Ctx,
        kind: EpKind,
        target: &str,
        project: &str,
    ) -> Result<()> {
        policy::require_admin(ctx, "add_endpoint_filter")?;
        self.ep_filter_targets(ctx, kind, target, project).await?;
        let sql = match kind {
            EpKind::Endpoint => "INSERT INTO project_endpoints (project_id, endpoint_id) VALUES ($1, $2)",
            EpKind::Group => {
                "INSERT INTO project_endpoint_groups (project_id, endpoint_group_id) VALUES ($1, $2)"
            }
        };
        // Already associated: PUT is idempotent.
        ok_if_exists(
            sqlx::query(sql)
                .bind(project)
                .bind(target)
                .execute(&self.db.pool)
                .await,
        )?;
        self.changed().await
    }

    pub async fn ep_filter_check(
        &self,
        ctx: &Ctx,
        kind: EpKind,
        target: &str,
        project: &str,
    ) -> Result<()> {
        policy::require_admin(ctx, "check_endpoint_filter")?;
        self.ep_filter_targets(ctx, kind, target, project).await?;
        let (n,): (i64,) = sqlx::query_as(&kind.pair_sql("SELECT COUNT(*) FROM"))
            .bind(project)
            .bind(target)
            .fetch_one(&self.db.pool)
            .await?;
        if n == 0 {
            return Err(kind.missing(target, project));
        }
        Ok(())
    }

    pub async fn ep_filter_remove(
        &self,
        ctx: &Ctx,
        kind: EpKind,
        target: &str,
        project: &str,
    ) -> Result<()> {
        policy::require_admin(ctx, "remove_endpoint_filter")?;
        self.ep_filter_targets(ctx, kind, target, project).await?;
        let gone = sqlx::query(&kind.pair_sql("DELETE FROM"))
            .bind(project)
            .bind(target)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(kind.missing(target, project));
        }
        self.changed().await
    }

    /// 404 for an unknown project, endpoint or group, named as Keystone names them.
    async fn ep_filter_targets(
        &self,
        ctx: &Ctx,
        kind: EpKind,
        target: &str,
        project: &str,
    ) -> Result<()> {
        self.project_fetch(project).await?;
        match kind {
            EpKind::Endpoint => self.endpoint_get(ctx, target).await.map(|_| ()),
            EpKind::Group => self.endpoint_group_fetch(target).await.map(|_| ()),
        }
    }

    /// Projects associated with an endpoint (directly) or with an endpoint group.
    pub async fn ep_filter_projects(
        &self,
        ctx: &Ctx,
        kind: EpKind,
        target: &str,
    ) -> Result<Vec<String>> {
        policy::require_admin(ctx, "list_projects_for_endpoint")?;
        let sql = match kind {
            EpKind::Endpoint => {
                self.endpoint_get(ctx, target).await?;
                "SELECT project_id FROM project_endpoints WHERE endpoint_id = $1 ORDER BY project_id"
            }
            EpKind::Group => {
                self.endpoint_group_fetch(target).await?;
                "SELECT project_id FROM project_endpoint_groups WHERE endpoint_group_id = $1 ORDER BY project_id"
            }
        };
        let rows: Vec<(String,)> = sqlx::query_as(sql)
            .bind(target)
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    /// GET /v3/OS-EP-FILTER/projects/{id}/endpoint_groups.
    pub async fn project_endpoint_groups(
        &self,
        ctx: &Ctx,
        project: &str,
    ) -> Result<Vec<EndpointGroup>> {
        policy::require_admin(ctx, "list_endpoint_groups_for_project")?;
        self.project_fetch(project).await?;
        let rows: Vec<GroupRow> = sqlx::query_as(&format!(
            "{GROUP_COLUMNS} WHERE id IN (SELECT endpoint_group_id FROM project_endpoint_groups WHERE project_id = $1) ORDER BY name, id"
        ))
        .bind(project)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(EndpointGroup::from).collect())
    }

    /// GET /v3/OS-EP-FILTER/projects/{id}/endpoints: the endpoints the project's catalog
    /// holds (its own and its groups'; every endpoint when it has no filter).
    pub async fn project_endpoints(&self, ctx: &Ctx, project: &str) -> Result<Vec<Endpoint>> {
        policy::require_admin(ctx, "list_endpoints_for_project")?;
        self.project_fetch(project).await?;
        let all = self.endpoint_list(ctx, EndpointFilter::default()).await?;
        let filters = self.endpoint_filters().await?;
        Ok(match filters.get(project) {
            Some(keep) => all.into_iter().filter(|e| keep.contains(&e.id)).collect(),
            None => all,
        })
    }

    /// Every project's endpoint filter, from memory until the next identity change.
    async fn endpoint_filters(&self) -> Result<Arc<EndpointFilters>> {
        if let Some(f) = self.cache.ep_filters() {
            return Ok(f);
        }
        let generation = self.cache.generation();
        let direct: Vec<(String, String)> =
            sqlx::query_as("SELECT project_id, endpoint_id FROM project_endpoints")
                .fetch_all(&self.db.pool)
                .await?;
        let grouped: Vec<(String, String)> = sqlx::query_as(
            "SELECT p.project_id, g.filters FROM project_endpoint_groups p \
             JOIN endpoint_groups g ON g.id = p.endpoint_group_id",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut out: EndpointFilters = HashMap::new();
        for (p, e) in direct {
            out.entry(p).or_default().insert(e);
        }
        if !grouped.is_empty() {
            let all = self
                .endpoint_list(&Ctx::internal("ep-filter"), EndpointFilter::default())
                .await?;
            for (p, f) in grouped {
                let f: Map<String, Value> = serde_json::from_str(&f).unwrap_or_default();
                let set: &mut HashSet<String> = out.entry(p).or_default();
                set.extend(all.iter().filter(|e| matches(&f, e)).map(|e| e.id.clone()));
            }
        }
        let out = Arc::new(out);
        self.cache.put_ep_filters(generation, out.clone());
        Ok(out)
    }

    /// The catalog a token scoped to `project` carries (OS-EP-FILTER applied).
    pub async fn catalog_for(&self, project: Option<&str>) -> Result<Arc<Vec<CatalogEntry>>> {
        let full = self.catalog().await?;
        let Some(project) = project else {
            return Ok(full);
        };
        let filters = self.endpoint_filters().await?;
        let Some(keep) = filters.get(project) else {
            return Ok(full);
        };
        Ok(Arc::new(
            full.iter()
                .map(|s| CatalogEntry {
                    endpoints: s
                        .endpoints
                        .iter()
                        .filter(|e| keep.contains(&e.id))
                        .cloned()
                        .collect(),
                    ..s.clone()
                })
                .filter(|s| !s.endpoints.is_empty())
                .collect(),
        ))
    }
}

#[derive(Clone, Copy, Debug)]
pub enum EpKind {
    Endpoint,
    Group,
}

impl EpKind {
    /// `<verb> <table> WHERE` the association of project `$1` with target `$2`.
    fn pair_sql(self, verb: &str) -> String {
        let (table, column) = match self {
            EpKind::Endpoint => ("project_endpoints", "endpoint_id"),
            EpKind::Group => ("project_endpoint_groups", "endpoint_group_id"),
        };
        format!("{verb} {table} WHERE project_id = $1 AND {column} = $2")
    }

    fn missing(self, target: &str, project: &str) -> Error {
        let what = match self {
            EpKind::Endpoint => "project endpoint association",
            EpKind::Group => "project endpoint group association",
        };
        Error::not_found(what, format!("{target} / {project}"))
    }
}
