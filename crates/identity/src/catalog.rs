//! The service catalog: regions, services and their endpoints, and the catalog a
//! token carries (built once per identity change, then served from memory).

use std::sync::Arc;

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::error::unique_or;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::{CatalogEndpoint, CatalogEntry, Endpoint, Region, Service};

use crate::{policy, validate, Identity};

#[derive(Clone, Debug, Default)]
pub struct NewRegion {
    pub id: Option<String>,
    pub description: String,
    pub parent_region_id: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct NewService {
    pub service_type: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, Default)]
pub struct ServiceUpdate {
    pub service_type: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct NewEndpoint {
    pub service_id: String,
    pub region_id: Option<String>,
    pub interface: String,
    pub url: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, Default)]
pub struct EndpointUpdate {
    pub region_id: Option<Option<String>>,
    pub interface: Option<String>,
    pub url: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct EndpointFilter {
    pub service_id: Option<String>,
    pub region_id: Option<String>,
    pub interface: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: String,
    r#type: String,
    name: String,
    description: String,
    enabled: i64,
}

impl From<ServiceRow> for Service {
    fn from(r: ServiceRow) -> Self {
        Service {
            id: r.id,
            service_type: r.r#type,
            name: r.name,
            description: r.description,
            enabled: r.enabled != 0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    service_id: String,
    region_id: Option<String>,
    interface: String,
    url: String,
    enabled: i64,
}

impl From<EndpointRow> for Endpoint {
    fn from(r: EndpointRow) -> Self {
        Endpoint {
            id: r.id,
            service_id: r.service_id,
            region_id: r.region_id,
            interface: r.interface,
            url: r.url,
            enabled: r.enabled != 0,
        }
    }
}

const SERVICE_COLUMNS: &str = "SELECT id, type, name, description, enabled FROM services";
const ENDPOINT_COLUMNS: &str =
    "SELECT id, service_id, region_id, interface, url, enabled FROM endpoints";

fn check_interface(i: &str) -> Result<()> {
    if ["public", "internal", "admin"].contains(&i) {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "Invalid input for field 'interface': {i:?} is not one of 'public', 'internal', 'admin'."
        )))
    }
}

fn check_url(u: &str) -> Result<()> {
    validate::text("url", u, 2048)?;
    if !(u.starts_with("http://") || u.starts_with("https://")) {
        return Err(Error::bad_request(format!(
            "Invalid input for field 'url': {u:?} is not an http(s) URL."
        )));
    }
    Ok(())
}

impl Identity {
    // --- regions -------------------------------------------------------------------

    pub async fn region_create(&self, ctx: &Ctx, new: NewRegion) -> Result<Region> {
        policy::require_admin(ctx, "create_region")?;
        let id = match new.id {
            Some(id) => validate::name("id", &id, 255)?,
            None => ids::new_id(),
        };
        validate::text("description", &new.description, validate::DESCRIPTION_MAX)?;
        if let Some(p) = &new.parent_region_id {
            self.region_get(ctx, p).await.map_err(|_| {
                Error::bad_request(format!(
                    "Invalid input for field 'parent_region_id': region {p} does not exist."
                ))
            })?;
        }
        sqlx::query("INSERT INTO regions (id, description, parent_region_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(&new.description)
            .bind(&new.parent_region_id)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await
            .map_err(|e| unique_or(e, || format!("Conflict occurred attempting to store region - Duplicate ID, {id}.")))?;
        self.changed().await?;
        self.region_get(ctx, &id).await
    }

    pub async fn region_get(&self, _ctx: &Ctx, id: &str) -> Result<Region> {
        validate::text("region_id", id, 255)?;
        let row: Option<(String, String, Option<String>)> =
            sqlx::query_as("SELECT id, description, parent_region_id FROM regions WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
        row.map(|(id, description, parent_region_id)| Region {
            id,
            description,
            parent_region_id,
        })
        .ok_or_else(|| Error::not_found("region", id))
    }

    /// Every region, or (`parent`) those whose parent is that region.
    pub async fn region_list(&self, _ctx: &Ctx, parent: Option<&str>) -> Result<Vec<Region>> {
        const COLUMNS: &str = "SELECT id, description, parent_region_id FROM regions";
        let rows: Vec<(String, String, Option<String>)> = match parent {
            Some(p) => {
                sqlx::query_as(&format!(
                    "{COLUMNS} WHERE parent_region_id = $1 ORDER BY id"
                ))
                .bind(p)
                .fetch_all(&self.db.pool)
                .await?
            }
            None => {
                sqlx::query_as(&format!("{COLUMNS} ORDER BY id"))
                    .fetch_all(&self.db.pool)
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(id, description, parent_region_id)| Region {
                id,
                description,
                parent_region_id,
            })
            .collect())
    }

    pub async fn region_update(
        &self,
        ctx: &Ctx,
        id: &str,
        description: Option<String>,
    ) -> Result<Region> {
        policy::require_admin(ctx, "update_region")?;
        let mut r = self.region_get(ctx, id).await?;
        if let Some(d) = description {
            validate::text("description", &d, validate::DESCRIPTION_MAX)?;
            r.description = d;
        }
        sqlx::query("UPDATE regions SET description = $2 WHERE id = $1")
            .bind(id)
            .bind(&r.description)
            .execute(&self.db.pool)
            .await?;
        Ok(r)
    }

    pub async fn region_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_region")?;
        self.region_get(ctx, id).await?;
        let (n,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM endpoints WHERE region_id = $1) + (SELECT COUNT(*) FROM regions WHERE parent_region_id = $1)",
        )
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        if n > 0 {
            return Err(Error::conflict(format!(
                "Region {id} still has {n} endpoint(s) or child region(s); delete them first."
            )));
        }
        sqlx::query("DELETE FROM regions WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        self.changed().await?;
        Ok(())
    }

    // --- services ------------------------------------------------------------------

    pub async fn service_create(&self, ctx: &Ctx, new: NewService) -> Result<Service> {
        policy::require_admin(ctx, "create_service")?;
        let stype = validate::name("type", &new.service_type, 255)?;
        validate::text("name", &new.name, 255)?;
        validate::text("description", &new.description, validate::DESCRIPTION_MAX)?;
        let id = ids::new_id();
        sqlx::query(
            "INSERT INTO services (id, type, name, description, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&stype)
        .bind(&new.name)
        .bind(&new.description)
        .bind(i64::from(new.enabled))
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?;
        self.changed().await?;
        self.service_get(ctx, &id).await
    }

    pub async fn service_get(&self, _ctx: &Ctx, id: &str) -> Result<Service> {
        validate::id("service_id", id)?;
        sqlx::query_as::<_, ServiceRow>(&format!("{SERVICE_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(Service::from)
            .ok_or_else(|| Error::not_found("service", id))
    }

    pub async fn service_list(
        &self,
        _ctx: &Ctx,
        service_type: Option<String>,
        name: Option<String>,
    ) -> Result<Vec<Service>> {
        let mut sql = Sql::new(SERVICE_COLUMNS);
        sql.push(" WHERE 1 = 1")
            .and_eq("type", service_type.map(Arg::Text))
            .and_eq("name", name.map(Arg::Text))
            .push(" ORDER BY type, id");
        sql.fetch_all::<ServiceRow, Service>(&self.db.pool).await
    }

    pub async fn service_update(&self, ctx: &Ctx, id: &str, upd: ServiceUpdate) -> Result<Service> {
        policy::require_admin(ctx, "update_service")?;
        let mut s = self.service_get(ctx, id).await?;
        if let Some(t) = upd.service_type {
            s.service_type = validate::name("type", &t, 255)?;
        }
        if let Some(n) = upd.name {
            validate::text("name", &n, 255)?;
            s.name = n;
        }
        if let Some(d) = upd.description {
            validate::text("description", &d, validate::DESCRIPTION_MAX)?;
            s.description = d;
        }
        if let Some(e) = upd.enabled {
            s.enabled = e;
        }
        sqlx::query("UPDATE services SET type = $2, name = $3, description = $4, enabled = $5 WHERE id = $1")
            .bind(id)
            .bind(&s.service_type)
            .bind(&s.name)
            .bind(&s.description)
            .bind(i64::from(s.enabled))
            .execute(&self.db.pool)
            .await?;
        self.changed().await?;
        Ok(s)
    }

    pub async fn service_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_service")?;
        self.service_get(ctx, id).await?;
        // Its endpoints go with it (ON DELETE CASCADE), as in Keystone.
        sqlx::query("DELETE FROM services WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        self.changed().await?;
        Ok(())
    }

    // --- endpoints -----------------------------------------------------------------

    pub async fn endpoint_create(&self, ctx: &Ctx, new: NewEndpoint) -> Result<Endpoint> {
        policy::require_admin(ctx, "create_endpoint")?;
        check_interface(&new.interface)?;
        check_url(&new.url)?;
        self.service_get(ctx, &new.service_id).await.map_err(|_| {
            Error::bad_request(format!(
                "Invalid input for field 'service_id': service {} does not exist.",
                new.service_id
            ))
        })?;
        if let Some(r) = &new.region_id {
            self.region_get(ctx, r).await.map_err(|_| {
                Error::bad_request(format!(
                    "Invalid input for field 'region_id': region {r} does not exist."
                ))
            })?;
        }
        let id = ids::new_id();
        sqlx::query(
            "INSERT INTO endpoints (id, service_id, region_id, interface, url, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&new.service_id)
        .bind(&new.region_id)
        .bind(&new.interface)
        .bind(&new.url)
        .bind(i64::from(new.enabled))
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?;
        self.changed().await?;
        self.endpoint_get(ctx, &id).await
    }

    pub async fn endpoint_get(&self, _ctx: &Ctx, id: &str) -> Result<Endpoint> {
        validate::id("endpoint_id", id)?;
        sqlx::query_as::<_, EndpointRow>(&format!("{ENDPOINT_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(Endpoint::from)
            .ok_or_else(|| Error::not_found("endpoint", id))
    }

    pub async fn endpoint_list(&self, _ctx: &Ctx, f: EndpointFilter) -> Result<Vec<Endpoint>> {
        let mut sql = Sql::new(ENDPOINT_COLUMNS);
        sql.push(" WHERE 1 = 1")
            .and_eq("service_id", f.service_id.map(Arg::Text))
            .and_eq("region_id", f.region_id.map(Arg::Text))
            .and_eq("interface", f.interface.map(Arg::Text))
            .push(" ORDER BY service_id, interface, id");
        sql.fetch_all::<EndpointRow, Endpoint>(&self.db.pool).await
    }

    pub async fn endpoint_update(
        &self,
        ctx: &Ctx,
        id: &str,
        upd: EndpointUpdate,
    ) -> Result<Endpoint> {
        policy::require_admin(ctx, "update_endpoint")?;
        let mut e = self.endpoint_get(ctx, id).await?;
        if let Some(i) = upd.interface {
            check_interface(&i)?;
            e.interface = i;
        }
        if let Some(u) = upd.url {
            check_url(&u)?;
            e.url = u;
        }
        if let Some(r) = upd.region_id {
            if let Some(rid) = &r {
                self.region_get(ctx, rid).await.map_err(|_| {
                    Error::bad_request(format!(
                        "Invalid input for field 'region_id': region {rid} does not exist."
                    ))
                })?;
            }
            e.region_id = r;
        }
        if let Some(en) = upd.enabled {
            e.enabled = en;
        }
        sqlx::query("UPDATE endpoints SET region_id = $2, interface = $3, url = $4, enabled = $5 WHERE id = $1")
            .bind(id)
            .bind(&e.region_id)
            .bind(&e.interface)
            .bind(&e.url)
            .bind(i64::from(e.enabled))
            .execute(&self.db.pool)
            .await?;
        self.changed().await?;
        Ok(e)
    }

    pub async fn endpoint_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_endpoint")?;
        self.endpoint_get(ctx, id).await?;
        sqlx::query("DELETE FROM endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        self.changed().await?;
        Ok(())
    }

    /// The catalog a scoped token carries: enabled services with enabled endpoints.
    pub async fn catalog(&self) -> Result<Arc<Vec<CatalogEntry>>> {
        if let Some(c) = self.cache.catalog() {
            return Ok(c);
        }
        let generation = self.cache.generation();
        let services: Vec<ServiceRow> = sqlx::query_as(&format!(
            "{SERVICE_COLUMNS} WHERE enabled = $1 ORDER BY type, id"
        ))
        .bind(1_i64)
        .fetch_all(&self.db.pool)
        .await?;
        let endpoints: Vec<EndpointRow> = sqlx::query_as(&format!(
            "{ENDPOINT_COLUMNS} WHERE enabled = $1 ORDER BY interface, id"
        ))
        .bind(1_i64)
        .fetch_all(&self.db.pool)
        .await?;
        let catalog: Vec<CatalogEntry> = services
            .into_iter()
            .map(|s| CatalogEntry {
                endpoints: endpoints
                    .iter()
                    .filter(|e| e.service_id == s.id)
                    .map(|e| CatalogEndpoint {
                        id: e.id.clone(),
                        interface: e.interface.clone(),
                        region_id: e.region_id.clone(),
                        url: e.url.clone(),
                    })
                    .collect(),
                id: s.id,
                service_type: s.r#type,
                name: s.name,
            })
            .collect();
        let catalog = Arc::new(catalog);
        self.cache.put_catalog(generation, catalog.clone());
        Ok(catalog)
    }
}
