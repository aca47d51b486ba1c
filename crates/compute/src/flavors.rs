//! Flavors: admins create and delete them; everyone sees public ones, and a private
//! flavor is seen by admins and the projects on its access list. Extra specs are free
//! key/value pairs (`hw:cpu_policy`, ...) kept with the flavor.

use std::collections::BTreeMap;

use ferrostack_core::{ids, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::compute::Flavor;

use crate::{int_bool, Compute, KIND_FLAVOR};

#[derive(Clone, Debug, Default)]
pub struct NewFlavor {
    pub id: Option<String>,
    pub name: String,
    pub vcpus: i64,
    pub ram: i64,
    pub disk: i64,
    pub ephemeral: i64,
    pub swap: i64,
    pub rxtx_factor: f64,
    pub is_public: bool,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct FlavorQuery {
    /// `None`: public plus those the caller may use (admins: all).
    pub is_public: Option<bool>,
    pub min_ram: Option<i64>,
    pub min_disk: Option<i64>,
}

const COLUMNS: &str = "SELECT id, name, vcpus, ram, disk, ephemeral, swap, rxtx_factor, is_public, disabled, description, extra_specs FROM flavors";

#[derive(sqlx::FromRow)]
struct FlavorRow {
    id: String,
    name: String,
    vcpus: i64,
    ram: i64,
    disk: i64,
    ephemeral: i64,
    swap: i64,
    rxtx_factor: f64,
    is_public: i64,
    disabled: i64,
    description: Option<String>,
    extra_specs: String,
}

impl From<FlavorRow> for Flavor {
    fn from(r: FlavorRow) -> Flavor {
        Flavor {
            id: r.id,
            name: r.name,
            vcpus: r.vcpus,
            ram: r.ram,
            disk: r.disk,
            ephemeral: r.ephemeral,
            swap: r.swap,
            rxtx_factor: r.rxtx_factor,
            is_public: int_bool(r.is_public),
            disabled: int_bool(r.disabled),
            description: r.description,
            extra_specs: serde_json::from_str(&r.extra_specs).unwrap_or_default(),
        }
    }
}

/// Flavors a new cloud has, as devstack seeds them.
const SEED: &[(&str, &str, i64, i64, i64)] = &[
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
];

fn check_flavor_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
        && !id.starts_with(' ')
        && !id.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "Invalid flavor id '{id}': 1 to 255 letters, digits, '-', '_', '.' or inner spaces."
        )))
    }
}

fn check_spec(key: &str, value: &str) -> Result<()> {
    let ok_key = !key.is_empty()
        && key.len() <= 255
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | ' '));
    if !ok_key {
        return Err(Error::bad_request(format!(
            "Invalid extra spec key '{key}': 1 to 255 letters, digits, '-', '_', ':', '.' or spaces."
        )));
    }
    if value.len() > 255 {
        return Err(Error::bad_request(format!(
            "The value of extra spec '{key}' is longer than 255 characters."
        )));
    }
    Ok(())
}

impl Compute {
    /// Create a flavor. Admin only.
    pub async fn flavor_create(&self, ctx: &Ctx, new: NewFlavor) -> Result<Flavor> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_FLAVOR, &new.name).visible(true),
        )?;
        let name = new.name.trim().to_string();
        if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
            return Err(Error::bad_request(
                "Invalid flavor name: 1 to 255 printable characters.",
            ));
        }
        let id = match new.id {
            Some(id) if id != "auto" => {
                check_flavor_id(&id)?;
                id
            }
            _ => ids::new_uuid(),
        };
        for (what, v, min) in [
            ("vcpus", new.vcpus, 1),
            ("ram", new.ram, 1),
            ("disk", new.disk, 0),
            ("OS-FLV-EXT-DATA:ephemeral", new.ephemeral, 0),
            ("swap", new.swap, 0),
        ] {
            if v < min || v > i32::MAX as i64 {
                return Err(Error::bad_request(format!(
                    "Invalid input for field '{what}': {v} is out of range ({min} to {}).",
                    i32::MAX
                )));
            }
        }
        if !(new.rxtx_factor.is_finite() && new.rxtx_factor > 0.0) {
            return Err(Error::bad_request(
                "Invalid rxtx_factor: it must be positive.",
            ));
        }
        if new.description.as_ref().is_some_and(|d| d.len() > 65_535) {
            return Err(Error::bad_request("The flavor description is too long."));
        }
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO flavors (id, name, vcpus, ram, disk, ephemeral, swap, rxtx_factor, is_public, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(&id)
        .bind(&name)
        .bind(new.vcpus)
        .bind(new.ram)
        .bind(new.disk)
        .bind(new.ephemeral)
        .bind(new.swap)
        .bind(new.rxtx_factor)
        .bind(new.is_public as i64)
        .bind(&new.description)
        .bind(&now)
        .execute(&self.db.pool)
        .await
        .map_err(|e| {
            ferrostack_core::error::unique_or(e, || {
                format!("Flavor with name {name} or id {id} already exists.")
            })
        })?;
        self.flavor_row(&id).await
    }

    /// Seed the usual flavors on a cloud that has none.
    pub async fn seed_flavors(&self, ctx: &Ctx) -> Result<usize> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM flavors")
            .fetch_one(&self.db.pool)
            .await?;
        if n > 0 {
            return Ok(0);
        }
        for (id, name, vcpus, ram, disk) in SEED {
            self.flavor_create(
                ctx,
                NewFlavor {
                    id: Some(id.to_string()),
                    name: name.to_string(),
                    vcpus: *vcpus,
                    ram: *ram,
                    disk: *disk,
                    rxtx_factor: 1.0,
                    is_public: true,
                    ..Default::default()
                },
            )
            .await?;
        }
        Ok(SEED.len())
    }

    pub(crate) async fn flavor_row(&self, id: &str) -> Result<Flavor> {
        let row: Option<FlavorRow> = sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.map(Flavor::from)
            .ok_or_else(|| Error::not_found("flavor", id))
    }

    async fn may_use_flavor(&self, ctx: &Ctx, f: &Flavor) -> Result<bool> {
        if f.is_public || ctx.is_admin() {
            return Ok(true);
        }
        let Some(project) = ctx.project_id() else {
            return Ok(false);
        };
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM flavor_access WHERE flavor_id = $1 AND project_id = $2",
        )
        .bind(&f.id)
        .bind(project)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(n > 0)
    }

    /// A flavor the caller may see (public, or private with the caller's project on
    /// its access list, or any for admins).
    pub async fn flavor_get(&self, ctx: &Ctx, id: &str) -> Result<Flavor> {
        let f = self.flavor_row(id).await?;
        if !self.may_use_flavor(ctx, &f).await? {
            return Err(Error::not_found("flavor", id));
        }
        Ok(f)
    }

    /// Flavors the caller may see, by id.
    pub async fn flavor_list(&self, ctx: &Ctx, q: &FlavorQuery) -> Result<Vec<Flavor>> {
        let rows: Vec<FlavorRow> = sqlx::query_as(&format!(
            "{COLUMNS} WHERE ram >= $1 AND disk >= $2 ORDER BY id"
        ))
        .bind(q.min_ram.unwrap_or(0))
        .bind(q.min_disk.unwrap_or(0))
        .fetch_all(&self.db.pool)
        .await?;
        let access: Vec<String> = match ctx.project_id() {
            Some(p) => {
                sqlx::query_scalar("SELECT flavor_id FROM flavor_access WHERE project_id = $1")
                    .bind(p)
                    .fetch_all(&self.db.pool)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(rows
            .into_iter()
            .map(Flavor::from)
            .filter(|f| match q.is_public {
                // Nova: is_public=None lists everything the caller may see (admins:
                // all); true, public ones; false, private ones the caller may see.
                Some(true) => f.is_public,
                Some(false) => !f.is_public && (ctx.is_admin() || access.contains(&f.id)),
                None => f.is_public || ctx.is_admin() || access.contains(&f.id),
            })
            .collect())
    }

    pub async fn flavor_update_description(
        &self,
        ctx: &Ctx,
        id: &str,
        description: Option<String>,
    ) -> Result<Flavor> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_FLAVOR, id).visible(true),
        )?;
        self.flavor_row(id).await?;
        sqlx::query("UPDATE flavors SET description = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(&description)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await?;
        self.flavor_row(id).await
    }

    /// Delete a flavor. Servers keep the copy they were created with. Admin only.
    pub async fn flavor_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_FLAVOR, id).visible(true),
        )?;
        let n = sqlx::query("DELETE FROM flavors WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::not_found("flavor", id));
        }
        Ok(())
    }

    /// The projects a private flavor is open to. Admin only.
    pub async fn flavor_access_list(&self, ctx: &Ctx, id: &str) -> Result<Vec<String>> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_FLAVOR, id).visible(true),
        )?;
        let f = self.flavor_row(id).await?;
        if f.is_public {
            return Err(Error::not_found("flavor access of public flavor", id));
        }
        Ok(sqlx::query_scalar(
            "SELECT project_id FROM flavor_access WHERE flavor_id = $1 ORDER BY project_id",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    pub async fn flavor_access_add(
        &self,
        ctx: &Ctx,
        id: &str,
        project: &str,
    ) -> Result<Vec<String>> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_FLAVOR, id).visible(true),
        )?;
        let f = self.flavor_row(id).await?;
        if f.is_public {
            return Err(Error::conflict(format!(
                "Flavor {id} is public: access lists are for private flavors."
            )));
        }
        if project.is_empty() || project.len() > 255 {
            return Err(Error::bad_request("Invalid tenant id."));
        }
        sqlx::query("INSERT INTO flavor_access (flavor_id, project_id) VALUES ($1, $2)")
            .bind(id)
            .bind(project)
            .execute(&self.db.pool)
            .await
            .map_err(|e| {
                ferrostack_core::error::unique_or(e, || {
                    format!("Flavor access already exists for flavor {id} and project {project} combination.")
                })
            })?;
        self.flavor_access_list(ctx, id).await
    }

    pub async fn flavor_access_remove(
        &self,
        ctx: &Ctx,
        id: &str,
        project: &str,
    ) -> Result<Vec<String>> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_FLAVOR, id).visible(true),
        )?;
        self.flavor_row(id).await?;
        let n = sqlx::query("DELETE FROM flavor_access WHERE flavor_id = $1 AND project_id = $2")
            .bind(id)
            .bind(project)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::not_found("flavor access", format!("{id}/{project}")));
        }
        self.flavor_access_list(ctx, id).await
    }

    /// Set extra specs (merged with those there). Admin only.
    pub async fn flavor_specs_set(
        &self,
        ctx: &Ctx,
        id: &str,
        specs: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_FLAVOR, id).visible(true),
        )?;
        for (k, v) in &specs {
            check_spec(k, v)?;
        }
        let mut f = self.flavor_row(id).await?;
        f.extra_specs.extend(specs);
        if f.extra_specs.len() > 1000 {
            return Err(Error::bad_request("A flavor has at most 1000 extra specs."));
        }
        self.store_specs(id, &f.extra_specs).await?;
        Ok(f.extra_specs)
    }

    pub async fn flavor_spec_delete(&self, ctx: &Ctx, id: &str, key: &str) -> Result<()> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_FLAVOR, id).visible(true),
        )?;
        let mut f = self.flavor_row(id).await?;
        if f.extra_specs.remove(key).is_none() {
            return Err(Error::not_found("extra spec", format!("{id}/{key}")));
        }
        self.store_specs(id, &f.extra_specs).await
    }

    async fn store_specs(&self, id: &str, specs: &BTreeMap<String, String>) -> Result<()> {
        let text = serde_json::to_string(specs).map_err(Error::internal)?;
        sqlx::query("UPDATE flavors SET extra_specs = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(text)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}
