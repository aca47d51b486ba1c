//! Servers: the row and its view, show, list with Nova's filters and marker paging,
//! update and delete (a job). Create is in create.rs, metadata and tags in metadata.rs.

use std::collections::BTreeMap;

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::events::NewEvent;
use ferrostack_core::jobs::NewJob;
use ferrostack_core::list::{self, SortKey};
use ferrostack_core::{time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::compute::limits::*;
use ferrostack_types::compute::{Fault, Flavor, Server};
use serde_json::json;

use crate::status::{self, *};
use crate::{int_bool, Compute, JOB_DELETE, KIND_SERVER};

#[derive(Clone, Debug, Default)]
pub struct ServerQuery {
    /// A regular expression matched anywhere in the name (Nova's).
    pub name: Option<String>,
    pub status: Option<String>,
    pub image: Option<String>,
    pub flavor: Option<String>,
    pub host: Option<String>,
    pub changes_since: Option<String>,
    /// Admins: every project's servers.
    pub all_tenants: bool,
    pub project_id: Option<String>,
    pub tags: Vec<String>,
    pub tags_any: Vec<String>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ServerUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

pub(crate) const COLUMNS: &str = "SELECT id, name, project_id, user_id, image_id, flavor, host_id, host_name, availability_zone, vm_state, task_state, power_state, locked, locked_reason, key_name, metadata, config_drive, fault, description, reservation_id, launch_index, created_at, updated_at, launched_at FROM servers";

#[derive(sqlx::FromRow, Clone)]
pub(crate) struct ServerRow {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub image_id: Option<String>,
    pub flavor: String,
    pub host_id: Option<String>,
    pub host_name: Option<String>,
    pub availability_zone: Option<String>,
    pub vm_state: String,
    pub task_state: Option<String>,
    pub power_state: i64,
    pub locked: i64,
    pub locked_reason: Option<String>,
    pub key_name: Option<String>,
    pub metadata: String,
    pub config_drive: i64,
    pub fault: Option<String>,
    pub description: Option<String>,
    pub reservation_id: String,
    pub launch_index: i64,
    pub created_at: String,
    pub updated_at: String,
    pub launched_at: Option<String>,
}

impl ServerRow {
    pub fn flavor(&self) -> Result<Flavor> {
        serde_json::from_str(&self.flavor).map_err(Error::internal)
    }

    fn into_server(self, tags: Vec<String>) -> Result<Server> {
        let flavor = self.flavor()?;
        let status = status::status(&self.vm_state, self.task_state.as_deref()).to_string();
        let progress = if self.vm_state == BUILDING { 0 } else { 100 };
        Ok(Server {
            status,
            flavor,
            metadata: serde_json::from_str(&self.metadata).unwrap_or_default(),
            fault: self
                .fault
                .as_deref()
                .and_then(|f| serde_json::from_str::<Fault>(f).ok()),
            locked: int_bool(self.locked),
            config_drive: int_bool(self.config_drive),
            tags,
            progress,
            id: self.id,
            name: self.name,
            project_id: self.project_id,
            user_id: self.user_id,
            image_id: self.image_id,
            host_id: self.host_id,
            host_name: self.host_name,
            availability_zone: self.availability_zone,
            vm_state: self.vm_state,
            task_state: self.task_state,
            power_state: self.power_state,
            locked_reason: self.locked_reason,
            key_name: self.key_name,
            description: self.description,
            reservation_id: self.reservation_id,
            launch_index: self.launch_index,
            created_at: self.created_at,
            updated_at: self.updated_at,
            launched_at: self.launched_at,
            addresses: Vec::new(),
        })
    }
}

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "created_at",
        expr: "created_at",
    },
    SortKey {
        name: "id",
        expr: "id",
    },
];

pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(Error::bad_request(format!(
            "Invalid input for field 'name': it must be 1 to {NAME_MAX} printable characters, not only spaces."
        )));
    }
    Ok(())
}

pub(crate) fn check_metadata(md: &BTreeMap<String, String>, limit: i64) -> Result<()> {
    if limit >= 0 && md.len() as i64 > limit {
        return Err(Error::QuotaExceeded {
            resource: "metadata_items".into(),
            used: md.len() as i64,
            limit,
            asked: 0,
        });
    }
    for (k, v) in md {
        if k.is_empty() || k.len() > METADATA_KEY_MAX || k.chars().any(char::is_control) {
            return Err(Error::bad_request(format!(
                "Invalid metadata key '{k}': 1 to {METADATA_KEY_MAX} printable characters."
            )));
        }
        if v.len() > METADATA_VALUE_MAX {
            return Err(Error::bad_request(format!(
                "The value of metadata '{k}' is longer than {METADATA_VALUE_MAX} characters."
            )));
        }
    }
    Ok(())
}

pub(crate) fn check_tag(tag: &str) -> Result<()> {
    if tag.is_empty()
        || tag.len() > TAG_MAX
        || tag.contains(',')
        || tag.contains('/')
        || tag.chars().any(char::is_control)
    {
        return Err(Error::bad_request(format!(
            "Invalid tag '{tag}': 1 to {TAG_MAX} characters, without ',' or '/'."
        )));
    }
    Ok(())
}

impl Compute {
    pub(crate) async fn server_row(&self, id: &str) -> Result<ServerRow> {
        let row: Option<ServerRow> = sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.ok_or_else(|| Error::not_found("server", id))
    }

    /// The server if the caller may do `action` to it (others' servers are 404).
    pub(crate) async fn server_for(
        &self,
        ctx: &Ctx,
        id: &str,
        action: Action,
    ) -> Result<ServerRow> {
        let row = self.server_row(id).await?;
        ctx.authorize(
            action,
            &Owned::of_project(KIND_SERVER, &row.id, &row.project_id),
        )?;
        Ok(row)
    }

    /// Whether the caller may change server `id` (its project's member, or an admin):
    /// handlers ask before they read a request's body, so a refusal does not depend on
    /// what was sent.
    pub async fn server_check_write(&self, ctx: &Ctx, id: &str) -> Result<()> {
        self.server_for(ctx, id, Action::Write).await.map(|_| ())
    }

    async fn tags_of(&self, ids: &[&str]) -> Result<BTreeMap<String, Vec<String>>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new("SELECT server_id, tag FROM server_tags WHERE server_id IN ");
        sql.in_list(ids.iter().copied());
        sql.push(" ORDER BY tag");
        let rows: Vec<(String, String)> = sql.query_as().fetch_all(&self.db.pool).await?;
        for (s, t) in rows {
            out.entry(s).or_default().push(t);
        }
        Ok(out)
    }

    pub(crate) async fn view(&self, rows: Vec<ServerRow>) -> Result<Vec<Server>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut tags = self.tags_of(&ids).await?;
        let mut addresses = match self.net() {
            Some(n) => n.device_addresses(&ids).await?,
            None => Default::default(),
        };
        rows.into_iter()
            .map(|r| {
                let t = tags.remove(&r.id).unwrap_or_default();
                let a = addresses.remove(&r.id).unwrap_or_default();
                r.into_server(t).map(|mut s| {
                    s.addresses = a;
                    s
                })
            })
            .collect()
    }

    pub async fn server_get(&self, ctx: &Ctx, id: &str) -> Result<Server> {
        let row = self.server_for(ctx, id, Action::Read).await?;
        Ok(self.view(vec![row]).await?.remove(0))
    }

    /// Servers the caller may see: its project's (admins: any project's with
    /// `all_tenants` or `project_id`), newest first, a page after `marker`.
    pub async fn server_list(&self, ctx: &Ctx, q: &ServerQuery) -> Result<(Vec<Server>, bool)> {
        let mut sql = Sql::new(&format!("{COLUMNS} WHERE 1 = 1"));
        if ctx.is_admin() && (q.all_tenants || q.project_id.is_some()) {
            sql.and_eq("project_id", q.project_id.clone().map(Arg::Text));
        } else {
            // A non-admin's project_id filter naming another project is ignored, as Nova
            // does: the caller's own project's list.
            let project = ctx.project_id().unwrap_or("").to_string();
            sql.and_eq("project_id", Some(Arg::Text(project)));
        }
        if let Some(s) = &q.status {
            let states = status::vm_states_of(s).ok_or_else(|| {
                Error::bad_request(format!(
                    "Invalid status value '{s}': one of {}.",
                    status::STATUSES.join(", ")
                ))
            })?;
            sql.push(" AND vm_state IN ")
                .in_list(states.iter().copied());
        }
        sql.and_eq("image_id", q.image.clone().map(Arg::Text));
        sql.and_eq("flavor_id", q.flavor.clone().map(Arg::Text));
        if ctx.is_admin() {
            sql.and_eq("host_name", q.host.clone().map(Arg::Text));
        }
        if let Some(cs) = &q.changes_since {
            let at = time::parse_client(cs).ok_or_else(|| {
                Error::bad_request(format!("Invalid input for query parameter 'changes-since': '{cs}' is not an ISO 8601 time."))
            })?;
            sql.push(" AND updated_at >= ")
                .bind(Arg::Text(time::to_db(&at)));
        }
        for t in &q.tags {
            sql.push(" AND id IN (SELECT server_id FROM server_tags WHERE tag = ")
                .bind(Arg::Text(t.clone()));
            sql.push(")");
        }
        if !q.tags_any.is_empty() {
            sql.push(" AND id IN (SELECT server_id FROM server_tags WHERE tag IN ");
            sql.in_list(q.tags_any.iter().map(String::as_str));
            sql.push(")");
        }
        let sort = list::Sort::parse(&[], SORT_KEYS, ("created_at", "desc"))?;
        if let Some(m) = &q.marker {
            let marker = match self.server_row(m).await {
                Ok(r) if ctx.is_admin() || Some(r.project_id.as_str()) == ctx.project_id() => r,
                _ => return Err(Error::bad_request(format!("marker [{m}] not found"))),
            };
            sort.after(&mut sql, |k| {
                Arg::Text(if k == "id" {
                    marker.id.clone()
                } else {
                    marker.created_at.clone()
                })
            });
        }
        let limit = list::limit(q.limit);
        let name_re = match &q.name {
            Some(n) => Some(regex_lite::Regex::new(n).map_err(|e| {
                Error::bad_request(format!(
                    "Invalid input for query parameter 'name': not a regular expression ({e})."
                ))
            })?),
            None => None,
        };
        let rows: Vec<ServerRow> = if let Some(re) = &name_re {
            // The name filter is a regular expression: read the filtered rows in order
            // and keep the matching ones up to the page.
            let mut s = sql.clone();
            let order = " ORDER BY created_at desc, id desc";
            s.push(order);
            let all: Vec<ServerRow> = s.query_as().fetch_all(&self.db.pool).await?;
            all.into_iter()
                .filter(|r| re.is_match(&r.name))
                .take(limit + 1)
                .collect()
        } else {
            sort.order_and_limit(&mut sql, limit);
            sql.query_as().fetch_all(&self.db.pool).await?
        };
        let (page, more) = list::page(rows, limit);
        Ok((self.view(page).await?, more))
    }

    pub async fn server_update(&self, ctx: &Ctx, id: &str, up: ServerUpdate) -> Result<Server> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        if let Some(n) = &up.name {
            check_name(n)?;
        }
        if let Some(Some(d)) = &up.description {
            if d.len() > NAME_MAX {
                return Err(Error::bad_request(format!(
                    "Invalid description: at most {NAME_MAX} characters."
                )));
            }
        }
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE servers SET name = COALESCE($2, name), description = CASE WHEN $3 = 1 THEN $4 ELSE description END, updated_at = $5 WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&up.name)
        .bind(up.description.is_some() as i64)
        .bind(up.description.clone().flatten())
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        let status = status::status(&row.vm_state, row.task_state.as_deref());
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_SERVER, &row.id, "update")
                    .status(status),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.server_get(ctx, id).await
    }

    /// Refuse a non-admin's change to a locked server, with the reason.
    pub(crate) fn check_lock(ctx: &Ctx, row: &ServerRow, what: &str) -> Result<()> {
        if row.locked != 0 && !ctx.is_admin() {
            let why = row
                .locked_reason
                .as_deref()
                .map(|r| format!(" (reason: {r})"))
                .unwrap_or_default();
            return Err(Error::conflict(format!(
                "Instance {} is locked{why}: it cannot be {what} until an admin or its locker unlocks it.",
                row.id
            )));
        }
        Ok(())
    }

    /// Delete a server: marked `deleting` now, removed by a job (domain, disks,
    /// claims, quota), also after a crash halfway.
    pub async fn server_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        Self::check_lock(ctx, &row, "deleted")?;
        let mut tx = self.db.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE servers SET task_state = 'deleting', updated_at = $2 WHERE id = $1 AND COALESCE(task_state, '') <> 'deleting'",
        )
        .bind(&row.id)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            // Already being deleted: nothing more to do (Nova answers 204 again) —
            // unless its delete job is no longer alive (it failed or was given up),
            // in which case this request queues a new one.
            let alive: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE subject = $1 AND kind = $2 AND state IN ('pending', 'running')",
            )
            .bind(&row.id)
            .bind(JOB_DELETE)
            .fetch_one(&mut *tx)
            .await?;
            if alive > 0 {
                return Ok(());
            }
        }
        let action_id = self
            .action_start(&mut tx, ctx, &row.id, &row.project_id, "delete")
            .await?;
        self.action_event(
            &mut tx,
            &action_id,
            "compute_terminate_instance",
            None,
            row.host_name.as_deref(),
            None,
        )
        .await?;
        self.jobs
            .enqueue(
                &mut tx,
                ctx,
                NewJob {
                    kind: JOB_DELETE.into(),
                    subject_kind: KIND_SERVER.into(),
                    subject: row.id.clone(),
                    project_id: Some(row.project_id.clone()),
                    payload: json!({ "action_id": action_id }),
                    message: "Deleting".into(),
                },
            )
            .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_SERVER, &row.id, "delete")
                    .status(status::status(&row.vm_state, Some(DELETING)))
                    .message("Deleting"),
            )
            .await?;
        tx.commit().await?;
        self.jobs.wake(JOB_DELETE);
        Ok(())
    }
}
