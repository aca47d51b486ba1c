//! Listing images (GET /v2/images): Glance's filters (`in:` lists, time comparisons,
//! sizes, tags, properties), what each caller may see, sort keys, and keyset paging
//! from the marker through core's list layer.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::list::{self, Sort, SortKey};
use ferrostack_core::{Ctx, Error, Result};
use ferrostack_types::image::Image;

use crate::{check_choice, ImageRow, Images, COLUMNS};

/// List filters, sorting and paging (GET /v2/images).
#[derive(Clone, Debug, Default)]
pub struct ImageQuery {
    pub name: Option<String>,
    pub status: Option<String>,
    pub visibility: Option<String>,
    pub owner: Option<String>,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub tags: Vec<String>,
    pub properties: Vec<(String, String)>,
    /// `id=x` or `id=in:a,b`: only these images.
    pub id: Option<String>,
    /// `created_at` / `updated_at` comparisons as (column, operator, time), the
    /// operator one of gt, gte, lt, lte, eq, neq (Glance's `created_at=gte:2026-...`).
    pub times: Vec<(String, String, String)>,
    /// `size_min` / `size_max` in bytes.
    pub size_min: Option<i64>,
    pub size_max: Option<i64>,
    /// `member_status` (accepted, pending, rejected, all): which images shared with
    /// the caller's project are listed, by the project's decision; default accepted.
    pub member_status: Option<String>,
    /// `os_hidden`: hidden images are listed only when asked for.
    pub hidden: bool,
    /// (key, "asc" | "desc"); default created_at desc.
    pub sort: Vec<(String, String)>,
    /// Every project's images (the console's Admin > Images): admins only. Without a
    /// visibility filter it lists all of them (as `visibility=all` does for admins).
    pub every_project: bool,
    pub limit: Option<usize>,
    pub marker: Option<String>,
}

/// The sort keys a listing offers (Glance's), with the SQL ordering each.
pub const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "name",
        expr: "COALESCE(name, '')",
    },
    SortKey {
        name: "status",
        expr: "status",
    },
    SortKey {
        name: "container_format",
        expr: "COALESCE(container_format, '')",
    },
    SortKey {
        name: "disk_format",
        expr: "COALESCE(disk_format, '')",
    },
    SortKey {
        name: "size",
        expr: "COALESCE(size, -1)",
    },
    SortKey {
        name: "id",
        expr: "id",
    },
    SortKey {
        name: "created_at",
        expr: "created_at",
    },
    SortKey {
        name: "updated_at",
        expr: "updated_at",
    },
    SortKey {
        name: "visibility",
        expr: "visibility",
    },
    SortKey {
        name: "owner",
        expr: "owner",
    },
    SortKey {
        name: "min_disk",
        expr: "min_disk",
    },
    SortKey {
        name: "min_ram",
        expr: "min_ram",
    },
];

/// The most tag, property and time filters one listing takes.
pub const FILTERS_MAX: usize = 64;

/// The order a listing has when the caller gives none (Glance's).
pub const DEFAULT_SORT: (&str, &str) = ("created_at", "desc");

impl ImageRow {
    /// This row's value for a sort key, as its `SortKey::expr` computes it.
    fn sort_value(&self, key: &str) -> Arg {
        let text = |v: &Option<String>| Arg::Text(v.clone().unwrap_or_default());
        match key {
            "name" => text(&self.name),
            "status" => Arg::Text(self.status.clone()),
            "container_format" => text(&self.container_format),
            "disk_format" => text(&self.disk_format),
            "size" => Arg::Int(self.size.unwrap_or(-1)),
            "created_at" => Arg::Text(self.created_at.clone()),
            "updated_at" => Arg::Text(self.updated_at.clone()),
            "visibility" => Arg::Text(self.visibility.clone()),
            "owner" => Arg::Text(self.owner.clone()),
            "min_disk" => Arg::Int(self.min_disk),
            "min_ram" => Arg::Int(self.min_ram),
            _ => Arg::Text(self.id.clone()),
        }
    }
}

impl Images {
    /// The images the caller may see that match `q`, sorted, one page; and whether
    /// there are more after it.
    pub async fn image_list(&self, ctx: &Ctx, mut q: ImageQuery) -> Result<(Vec<Image>, bool)> {
        if q.every_project {
            if !ctx.is_admin() {
                return Err(Error::forbidden(
                    "Admin > Images lists every project's images: it needs the admin role.",
                ));
            }
            q.visibility.get_or_insert_with(|| "all".into());
        }
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1");
        // id, name, status and the formats take one value or `in:a,b,"c,d"` (Glance's).
        for (column, value) in [
            ("id", &q.id),
            ("name", &q.name),
            ("status", &q.status),
            ("disk_format", &q.disk_format),
            ("container_format", &q.container_format),
        ] {
            if let Some(v) = value {
                list::eq_or_in(&mut sql, column, v)?;
            }
        }
        sql.and_eq("owner", q.owner.clone().map(Arg::Text));
        for (column, op, at) in &q.times {
            if column != "created_at" && column != "updated_at" {
                return Err(Error::bad_request(format!(
                    "Invalid filter {column:?}: times are compared on created_at or updated_at."
                )));
            }
            list::time_compare(&mut sql, column, op, at)?;
        }
        if let Some(n) = q.size_min {
            sql.push(" AND size >= ").bind(Arg::Int(n));
        }
        if let Some(n) = q.size_max {
            sql.push(" AND size <= ").bind(Arg::Int(n));
        }
        if !q.hidden {
            sql.push(" AND hidden = 0");
        }
        check_choice(
            "visibility",
            &q.visibility,
            &["public", "private", "shared", "community", "all"],
        )?;
        check_choice(
            "member_status",
            &q.member_status,
            &["accepted", "pending", "rejected", "all"],
        )?;
        // Each tag, property and time filter is a condition of its own: a listing
        // asking for thousands would pass the database's limits (a 500); past this
        // many it is a 400.
        let n = q.tags.len() + q.properties.len() + q.times.len();
        if n > FILTERS_MAX {
            return Err(Error::bad_request(format!(
                "A listing takes at most {FILTERS_MAX} tag, property and time filters; this one has {n}."
            )));
        }
        let member_status = q.member_status.clone().unwrap_or_else(|| "accepted".into());
        let project = ctx.project_id().unwrap_or("").to_string();
        // Which images a listing shows (Glance's rules): without a visibility filter,
        // public ones, the project's own, and shared ones it accepted; community images
        // only when asked for. Admins see everything with visibility=all.
        // The project's own images or those shared with it and accepted, or (`open`)
        // images of visibilities every project sees.
        let mine = |sql: &mut Sql, open: &str| {
            sql.push(&format!(" AND ({open}owner = "))
                .bind(Arg::Text(project.clone()));
            // Memberships count only while the image is shared (one made private
            // again is its owner's alone, whatever its members decided).
            sql.push(
                " OR (visibility = 'shared' AND id IN (SELECT image_id FROM image_members WHERE member_id = ",
            )
            .bind(Arg::Text(project.clone()));
            if member_status == "all" {
                sql.push(")))");
            } else {
                sql.push(" AND status = ")
                    .bind(Arg::Text(member_status.clone()))
                    .push(")))");
            }
        };
        match q.visibility.as_deref() {
            Some("all") if ctx.is_admin() => {}
            // Everything the caller can see, community images included (Glance's).
            Some("all") => mine(&mut sql, "visibility IN ('public', 'community') OR "),
            Some(v @ ("public" | "community")) => {
                sql.and_eq("visibility", Some(Arg::Text(v.into())));
            }
            Some(v) => {
                sql.and_eq("visibility", Some(Arg::Text(v.into())));
                if !ctx.is_admin() {
                    mine(&mut sql, "");
                }
            }
            None => mine(&mut sql, "visibility = 'public' OR "),
        }
        for t in &q.tags {
            sql.push(" AND id IN (SELECT image_id FROM image_tags WHERE tag = ")
                .bind(Arg::Text(t.clone()));
            sql.push(")");
        }
        for (k, v) in &q.properties {
            sql.push(" AND id IN (SELECT image_id FROM image_properties WHERE name = ")
                .bind(Arg::Text(k.clone()));
            sql.push(" AND value = ").bind(Arg::Text(v.clone()));
            sql.push(")");
        }
        let sort = Sort::parse(&q.sort, SORT_KEYS, DEFAULT_SORT)?;
        // Keyset paging: the page starts after the marker's position in the sort order.
        if let Some(m) = &q.marker {
            let marker = match self.row(m).await {
                Ok(r) if self.visible(ctx, &r).await? => r,
                _ => {
                    return Err(Error::bad_request(format!(
                        "Invalid marker: image {m} was not found."
                    )))
                }
            };
            sort.after(&mut sql, |k| marker.sort_value(k));
        }
        let limit = list::limit(q.limit);
        sort.order_and_limit(&mut sql, limit);
        let rows: Vec<ImageRow> = sql.fetch_all::<ImageRow, _>(&self.db.pool).await?;
        let (page, more) = list::page(rows, limit);
        Ok((self.view(page).await?, more))
    }
}
