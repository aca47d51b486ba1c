//! The image service (Glance v2 model): image records in the database, image data under
//! `<data>/images/`. Every rule is here — who sees and changes what, the status
//! lifecycle, quotas, and vetting of uploaded bytes — so the REST API and the console
//! cannot disagree.
//!
//! Data is written to `<data>/images/staging/<id>.<random>.part` while streaming (MD5
//! and SHA-512 computed on the way), fsynced, vetted (`inspect`), then renamed to
//! `<data>/images/<id>`; only then does the row say `active`. On start, anything left
//! in `staging/` is removed and uploads that were in flight become `killed`, so a crash
//! or a cut connection leaves neither an active image nor orphan bytes.

mod digest;
mod import;
pub mod inspect;
mod list;
mod locations;
mod members;
pub mod metadefs;
mod metadefs_check;
pub mod status;
mod store;
mod tasks;
mod update;
mod usage;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ferrostack_core::db::{Db, Sql};
use ferrostack_core::events::{Events, NewEvent};
use ferrostack_core::jobs::Jobs;
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Platform, Result};
use ferrostack_types::events::Event;
use ferrostack_types::image::Image;

pub use import::{CONVERT_TARGETS, IMPORT_METHODS};
pub use list::{ImageQuery, DEFAULT_SORT, FILTERS_MAX, SORT_KEYS};
pub use locations::STORE;
pub use members::MEMBER_STATUSES;
pub use status::Status;
pub use store::UploadBody;
pub use tasks::{TaskQuery, TASK_TYPE};

pub use ferrostack_types::image::limits::{NAME_MAX, VISIBILITIES};
const PROPERTY_VALUE_MAX: usize = 65_535;

#[derive(Clone, Debug)]
pub struct ImageConfig {
    /// Where image data lives (`<data>/images`).
    pub dir: PathBuf,
    /// The `qemu-img` binary used for a second opinion and virtual sizes.
    pub qemu_img: String,
    /// Per-project quotas: number of images, and bytes of image data.
    pub quota_images: i64,
    pub quota_bytes: i64,
    /// Convert imported images to this format (`raw` or `qcow2`); `None` keeps them.
    pub convert_to: Option<String>,
    /// Memory, CPU and time limits of each `qemu-img info` and `qemu-img convert`.
    pub info_limits: inspect::Limits,
    pub convert_limits: inspect::Limits,
    /// Show owners and admins where an image's data is (`locations`), and
    /// `direct_url` (Glance's options of the same names); both off by default.
    pub show_multiple_locations: bool,
    pub show_image_direct_url: bool,
}

impl ImageConfig {
    pub fn new(dir: PathBuf) -> Self {
        ImageConfig {
            dir,
            qemu_img: "qemu-img".into(),
            quota_images: 1000,
            quota_bytes: 1 << 40,
            convert_to: None,
            info_limits: inspect::Limits::INFO,
            convert_limits: inspect::Limits::CONVERT,
            show_multiple_locations: false,
            show_image_direct_url: false,
        }
    }
}

/// The image service. Cheap to share: hold it in an `Arc`.
pub struct Images {
    db: Db,
    cfg: ImageConfig,
    events: Arc<Events>,
    jobs: Arc<Jobs>,
    /// This process's name on the images it is receiving data for (`images.receiver`):
    /// another process sharing the database and data directory leaves those alone.
    receiver: String,
}

/// The quota'd resource an image counts as.
const QUOTA_IMAGES: &str = "images";
/// The resource kind in events and policy.
const KIND: &str = "image";

/// A new image record (POST /v2/images).
#[derive(Clone, Debug, Default)]
pub struct NewImage {
    pub id: Option<String>,
    pub name: Option<String>,
    pub visibility: Option<String>,
    pub protected: bool,
    pub hidden: bool,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub tags: Vec<String>,
    pub properties: BTreeMap<String, String>,
    /// The owning project: an admin may name another (Glance's `owner`).
    pub owner: Option<String>,
}

/// One JSON-patch operation on an image (PATCH /v2/images/{id}). `path` is the
/// attribute's name without the leading `/`.
#[derive(Clone, Debug)]
pub enum Patch {
    Add(String, serde_json::Value),
    Replace(String, serde_json::Value),
    Remove(String),
}

/// Attributes a client may never set.
const READ_ONLY: &[&str] = &[
    "id",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "os_hash_algo",
    "os_hash_value",
    "owner",
    "created_at",
    "updated_at",
    "file",
    "self",
    "schema",
    "direct_url",
    "locations",
    "stores",
];

#[derive(sqlx::FromRow)]
struct ImageRow {
    id: String,
    name: Option<String>,
    owner: String,
    status: String,
    visibility: String,
    protected: i64,
    hidden: i64,
    disk_format: Option<String>,
    container_format: Option<String>,
    size: Option<i64>,
    virtual_size: Option<i64>,
    checksum: Option<String>,
    os_hash_algo: Option<String>,
    os_hash_value: Option<String>,
    min_disk: i64,
    min_ram: i64,
    created_at: String,
    updated_at: String,
    /// Bytes reserved for data in flight (usage.rs).
    reserved: i64,
}

const COLUMNS: &str = "SELECT id, name, owner, status, visibility, protected, hidden, disk_format, container_format, \
    size, virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, created_at, updated_at, reserved FROM images";

fn check_name(name: &Option<String>) -> Result<()> {
    if let Some(n) = name {
        if n.chars().count() > NAME_MAX {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'name': it is {} characters long; the limit is {NAME_MAX}.",
                n.chars().count()
            )));
        }
        if n.chars().any(char::is_control) {
            return Err(Error::bad_request(
                "Invalid input for field 'name': control characters are not allowed.",
            ));
        }
    }
    Ok(())
}

fn check_choice(field: &str, value: &Option<String>, allowed: &[&str]) -> Result<()> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(Error::bad_request(format!(
            "Invalid input for field '{field}': {v:?} is not one of {}.",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

fn check_property(name: &str, value: &str) -> Result<()> {
    if name.starts_with("os_glance") {
        return Err(Error::forbidden(format!(
            "Attribute '{name}' is reserved: os_glance_* properties are set by the image service."
        )));
    }
    if name.is_empty()
        || name.chars().count() > NAME_MAX
        || name.chars().any(|c| c.is_control() || c == '/')
    {
        return Err(Error::bad_request(format!(
            "Invalid property name {name:?}: 1 to {NAME_MAX} characters, no '/' or control characters."
        )));
    }
    if value.chars().count() > PROPERTY_VALUE_MAX {
        return Err(Error::bad_request(format!(
            "Property {name} is {} characters long; the limit is {PROPERTY_VALUE_MAX}.",
            value.chars().count()
        )));
    }
    Ok(())
}

pub(crate) fn check_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.chars().count() > NAME_MAX || tag.chars().any(char::is_control) {
        return Err(Error::bad_request(format!(
            "Invalid tag {tag:?}: 1 to {NAME_MAX} characters, no control characters."
        )));
    }
    Ok(())
}

/// Only an admin gives an image to another project (Glance's policy), and an owner is
/// a project id's worth of text.
fn check_owner(ctx: &Ctx, owner: &str) -> Result<()> {
    if !ctx.is_admin() {
        return Err(Error::forbidden(
            "Only an admin may set an image's owner to another project.",
        ));
    }
    if owner.trim().is_empty() || owner.len() > 255 || owner.chars().any(char::is_control) {
        return Err(Error::bad_request(
            "Invalid input for field 'owner': a project id of 1 to 255 characters.",
        ));
    }
    Ok(())
}

fn check_min(field: &str, v: i64) -> Result<()> {
    if v < 0 {
        return Err(Error::bad_request(format!(
            "Invalid input for field '{field}': it must be 0 or more."
        )));
    }
    Ok(())
}

/// Publishing for everyone is an operator's decision.
fn check_publish(ctx: &Ctx, visibility: &str) -> Result<()> {
    if visibility == "public" && !ctx.is_admin() {
        return Err(Error::forbidden(
            "Only an admin can make an image public; use 'shared' or 'community' to share it.",
        ));
    }
    Ok(())
}

impl Images {
    /// Open the service over a migrated database, creating the data directory and
    /// cleaning up after a crash (see the module documentation).
    pub async fn open(platform: &Platform, cfg: ImageConfig) -> Result<Arc<Images>> {
        migrate(&platform.db).await?;
        if let Some(t) = &cfg.convert_to {
            if !import::CONVERT_TARGETS.contains(&t.as_str()) {
                return Err(Error::bad_request(format!(
                    "Cannot convert imported images to {t:?}: choose one of {}.",
                    import::CONVERT_TARGETS.join(", ")
                )));
            }
        }
        let images = Images {
            db: platform.db.clone(),
            cfg,
            events: platform.events.clone(),
            jobs: platform.jobs.clone(),
            receiver: ferrostack_core::process::new_name(),
        };
        images.recover().await?;
        images.recover_staged().await?;
        Ok(Arc::new(images))
    }

    /// Whether the process named `receiver` on an image receiving data is gone (no name:
    /// a row from before receivers were recorded, taken as gone).
    fn receiver_gone(&self, receiver: Option<&str>) -> bool {
        match receiver {
            None => true,
            Some(r) => r != self.receiver && ferrostack_core::process::is_gone(r),
        }
    }

    pub fn config(&self) -> &ImageConfig {
        &self.cfg
    }

    async fn row(&self, id: &str) -> Result<ImageRow> {
        sqlx::query_as::<_, ImageRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| Error::not_found("image", id))
    }

    /// Whether callers outside the owning project may see the image: anyone for public
    /// and community images, member projects for shared ones.
    async fn seen_by_others(&self, ctx: &Ctx, row: &ImageRow) -> Result<bool> {
        match row.visibility.as_str() {
            "public" | "community" => Ok(true),
            "shared" => {
                let Some(p) = ctx.project_id() else {
                    return Ok(false);
                };
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM image_members WHERE image_id = $1 AND member_id = $2",
                )
                .bind(&row.id)
                .bind(p)
                .fetch_one(&self.db.pool)
                .await?;
                Ok(n > 0)
            }
            _ => Ok(false),
        }
    }

    /// The one policy check of this service, with the image in hand (core's
    /// `Ctx::authorize`: NotFound for what the caller may not see, Forbidden for what
    /// it sees but may not change).
    async fn authorize(&self, ctx: &Ctx, action: Action, row: &ImageRow) -> Result<()> {
        // Only asked when it matters: admins and the owner see it anyway.
        let others = if ctx.is_admin() || ctx.project_id() == Some(row.owner.as_str()) {
            false
        } else {
            self.seen_by_others(ctx, row).await?
        };
        ctx.authorize(
            action,
            &Owned::of_project(KIND, &row.id, &row.owner).visible(others),
        )
    }

    async fn visible(&self, ctx: &Ctx, row: &ImageRow) -> Result<bool> {
        match self.authorize(ctx, Action::Read, row).await {
            Ok(()) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The image if the caller may see it; "not found" otherwise, so nobody learns
    /// what exists in other projects.
    async fn visible_row(&self, ctx: &Ctx, id: &str) -> Result<ImageRow> {
        let row = self.row(id).await?;
        self.authorize(ctx, Action::Read, &row).await?;
        Ok(row)
    }

    /// Whether the caller may change an image of project `owner` (the console asks
    /// this to offer actions; the same rule as every change's check).
    pub fn may_change(&self, ctx: &Ctx, owner: &str) -> bool {
        ctx.authorize(
            Action::Write,
            &Owned::of_project(KIND, "", owner).visible(true),
        )
        .is_ok()
    }

    /// The image if the caller may change it: its project's members and admins.
    async fn writable_row(&self, ctx: &Ctx, id: &str) -> Result<ImageRow> {
        let row = self.row(id).await?;
        self.authorize(ctx, Action::Write, &row).await?;
        Ok(row)
    }

    /// Tell watchers that image `id` changed (after the change committed).
    async fn changed(&self, ctx: &Ctx, id: &str, action: &str) {
        let ev = match self.row(id).await {
            Ok(r) => self.event(ctx, &r, action),
            Err(_) => return,
        };
        if let Err(e) = self.events.publish(ev).await {
            tracing::warn!(image = %id, error = %e.detail(), "cannot publish an image event");
        }
    }

    fn event(&self, ctx: &Ctx, r: &ImageRow, action: &str) -> NewEvent {
        NewEvent::new(ctx, Some(&r.owner), KIND, &r.id, action)
            .status(r.status.clone())
            .public(r.visibility == "public" || r.visibility == "community")
    }

    /// An image's timeline: its events, oldest first, for whoever may see it.
    pub async fn image_events(&self, ctx: &Ctx, id: &str) -> Result<Vec<Event>> {
        let row = self.visible_row(ctx, id).await?;
        let all = self.events.for_resource(KIND, id, 200).await?;
        if ctx.is_admin() || ctx.project_id() == Some(row.owner.as_str()) {
            return Ok(all);
        }
        // Others see what happened while it was public, not who did it.
        Ok(all
            .into_iter()
            .filter(|e| e.public)
            .map(ferrostack_core::events::redacted)
            .collect())
    }

    async fn view(&self, rows: Vec<ImageRow>) -> Result<Vec<Image>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut props: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut sql =
            Sql::new("SELECT image_id, name, value FROM image_properties WHERE image_id IN ");
        sql.in_list(ids.iter().copied());
        for (i, n, v) in sql
            .fetch_all::<(String, String, String), _>(&self.db.pool)
            .await?
        {
            props.entry(i).or_default().insert(n, v);
        }
        let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut sql = Sql::new("SELECT image_id, tag FROM image_tags WHERE image_id IN ");
        sql.in_list(ids.iter().copied());
        for (i, t) in sql.fetch_all::<(String, String), _>(&self.db.pool).await? {
            tags.entry(i).or_default().push(t);
        }
        Ok(rows
            .into_iter()
            .map(|r| Image {
                properties: props.remove(&r.id).unwrap_or_default(),
                tags: tags.remove(&r.id).unwrap_or_default(),
                id: r.id,
                name: r.name,
                owner: r.owner,
                status: r.status,
                visibility: r.visibility,
                protected: r.protected != 0,
                hidden: r.hidden != 0,
                disk_format: r.disk_format,
                container_format: r.container_format,
                size: r.size,
                virtual_size: r.virtual_size,
                checksum: r.checksum,
                os_hash_algo: r.os_hash_algo,
                os_hash_value: r.os_hash_value,
                min_disk: r.min_disk,
                min_ram: r.min_ram,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }

    async fn one(&self, row: ImageRow) -> Result<Image> {
        self.view(vec![row])
            .await?
            .pop()
            .ok_or_else(|| Error::internal("image view lost its row"))
    }

    /// Create an image record in the caller's project (status `queued`, no data yet).
    pub async fn image_create(&self, ctx: &Ctx, new: NewImage) -> Result<Image> {
        let owner = ctx
            .project_id()
            .ok_or_else(|| Error::forbidden("Creating an image needs a project-scoped token."))?
            .to_string();
        if !ctx.can_write_project() {
            return Err(Error::forbidden(
                "Creating an image needs the member or admin role in the project.",
            ));
        }
        let owner = match new.owner.clone() {
            Some(o) if o != owner => {
                check_owner(ctx, &o)?;
                o
            }
            _ => owner,
        };
        check_name(&new.name)?;
        let visibility = new.visibility.clone().unwrap_or_else(|| "shared".into());
        check_choice("visibility", &Some(visibility.clone()), VISIBILITIES)?;
        check_publish(ctx, &visibility)?;
        check_choice("disk_format", &new.disk_format, inspect::DISK_FORMATS)?;
        check_choice(
            "container_format",
            &new.container_format,
            inspect::CONTAINER_FORMATS,
        )?;
        check_min("min_disk", new.min_disk)?;
        check_min("min_ram", new.min_ram)?;
        for t in &new.tags {
            check_tag(t)?;
        }
        for (k, v) in &new.properties {
            if READ_ONLY.contains(&k.as_str()) {
                return Err(Error::forbidden(format!("Attribute '{k}' is read-only.")));
            }
            check_property(k, v)?;
        }
        let id = match new.id {
            Some(id) => ids::check_uuid(&id)?,
            None => ids::new_uuid(),
        };
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        // First, so that the count and the insert are one step however many creates
        // run at once.
        quotas::claim(&mut tx, &owner, QUOTA_IMAGES, 1, self.cfg.quota_images).await?;
        let gone: Option<String> =
            sqlx::query_scalar("SELECT id FROM image_deleted_ids WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?;
        if gone.is_some() {
            return Err(Error::conflict(format!(
                "Image id {id} belonged to an image that was deleted; ids are never reused. Leave out the id to get a new one."
            )));
        }
        sqlx::query(
            "INSERT INTO images (id, name, owner, status, visibility, protected, hidden, disk_format, \
             container_format, min_disk, min_ram, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(&id)
        .bind(&new.name)
        .bind(&owner)
        .bind(&visibility)
        .bind(new.protected as i64)
        .bind(new.hidden as i64)
        .bind(&new.disk_format)
        .bind(&new.container_format)
        .bind(new.min_disk)
        .bind(new.min_ram)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| ferrostack_core::error::unique_or(e, || format!("An image with id {id} already exists.")))?;
        for t in &new.tags {
            sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)")
                .bind(&id)
                .bind(t)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    ferrostack_core::error::unique_or(e, || format!("Tag {t} is given twice."))
                })?;
        }
        for (k, v) in &new.properties {
            sqlx::query("INSERT INTO image_properties (image_id, name, value) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
        let ev = NewEvent::new(ctx, Some(&owner), KIND, &id, "created")
            .status("queued")
            .public(visibility == "public" || visibility == "community");
        self.events.record(&mut tx, ev).await?;
        tx.commit().await?;
        self.events.committed();
        self.one(self.row(&id).await?).await
    }

    pub async fn image_get(&self, ctx: &Ctx, id: &str) -> Result<Image> {
        let row = self.visible_row(ctx, id).await?;
        self.one(row).await
    }

    /// Delete an image and its data. A protected image is refused, saying why.
    pub async fn image_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.writable_row(ctx, id).await?;
        if row.protected != 0 {
            return Err(Error::forbidden(format!(
                "Image {id} is protected and cannot be deleted; set protected to false first."
            )));
        }
        let mut tx = self.db.pool.begin().await?;
        // The image's row first (a write, so SQLite takes its lock at once; and the
        // order a PATCH takes: row, then tags and properties — never the reverse, which
        // deadlocked with it on PostgreSQL).
        sqlx::query("UPDATE images SET updated_at = updated_at WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for table in ["image_properties", "image_tags", "image_members"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE image_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // What it held is read as it goes (an upload may have reserved more meanwhile).
        let gone: Option<(Option<i64>, i64)> =
            sqlx::query_as("DELETE FROM images WHERE id = $1 RETURNING size, reserved")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((size, reserved)) = gone else {
            return Err(Error::not_found(KIND, id));
        };
        quotas::release(&mut tx, &row.owner, QUOTA_IMAGES, 1).await?;
        usage::release_row(&mut tx, &row.owner, size, reserved).await?;
        sqlx::query("INSERT INTO image_deleted_ids (id, deleted_at) VALUES ($1, $2)")
            .bind(id)
            .bind(time::to_db(&time::now()))
            .execute(&mut *tx)
            .await?;
        Jobs::delete_for_subject(&mut tx, import::JOB_KIND, id).await?;
        self.events
            .record(&mut tx, self.event(ctx, &row, "deleted").status("deleted"))
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.remove_data(id).await;
        let _ = tokio::fs::remove_file(self.staged_path(id)).await;
        Ok(())
    }

    /// Move image `id` from status `from` to `to` if it is still `from`; watchers are
    /// told when it moved.
    async fn set_status(&self, ctx: &Ctx, id: &str, from: &str, to: &str) -> Result<bool> {
        match (Status::parse(from), Status::parse(to)) {
            (Some(f), Some(t)) if f.can_become(t) => {}
            _ => {
                return Err(Error::internal(format!(
                    "image {id}: no move from {from} to {to}"
                )))
            }
        }
        // Receiving data (an upload, a stage) is marked with this process's name.
        let receiver = matches!(to, "saving" | "uploading").then(|| self.receiver.clone());
        let r = sqlx::query(
            "UPDATE images SET status = $3, updated_at = $4, receiver = $5 WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(time::to_db(&time::now()))
        .bind(receiver)
        .execute(&self.db.pool)
        .await?;
        let moved = r.rows_affected() == 1;
        if moved {
            self.changed(ctx, id, to).await;
        }
        Ok(moved)
    }
}

/// What a project uses of its image quotas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    pub images: i64,
    pub bytes: i64,
    pub quota_images: i64,
    pub quota_bytes: i64,
}

impl Images {
    /// The caller's project's image count and bytes against its quotas.
    pub async fn project_usage(&self, ctx: &Ctx) -> Result<Usage> {
        let project = ctx.project_id().ok_or_else(|| {
            Error::forbidden("Usage is counted per project: choose a project first.")
        })?;
        let images = quotas::in_use(&self.db.pool, project, QUOTA_IMAGES).await?;
        Ok(Usage {
            images,
            bytes: self.used_bytes(project).await?,
            quota_images: self.cfg.quota_images,
            quota_bytes: self.cfg.quota_bytes,
        })
    }
}

pub(crate) fn new_part_name(id: &str) -> String {
    format!("{id}.{}.part", ids::new_id())
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Apply the image service's own migrations (versions 30000–39999;
/// crates/core/migrations/README.md).
pub async fn migrate(db: &ferrostack_core::Db) -> Result<()> {
    db.apply(&MIGRATOR).await
}
