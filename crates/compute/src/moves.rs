//! The requests that change where a server runs, or its flavor: resize (with confirm
//! and revert), cold and live migration and evacuation (admins), and unshelve (rebuild,
//! rescue and createImage are in rebuild.rs). Each is checked here, claims what it needs in the
//! transaction that sets the server's task state — the new flavor's quota, a host for
//! the new place (held under the migration's id until the move is confirmed, as Nova's
//! placement does) — and queues the action job that does the work (changes.rs).

use ferrostack_core::events::NewEvent;
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Result};
use ferrostack_types::compute::{Flavor, Migration};
use serde_json::json;

use crate::actions::ServerAction;
use crate::scheduler::{self, Request};
use crate::servers::ServerRow;
use crate::status::*;
use crate::{groups, Compute, KIND_SERVER};

#[derive(sqlx::FromRow, Clone)]
pub(crate) struct MigrationRow {
    pub id: i64,
    pub uuid: String,
    pub server_id: String,
    pub project_id: String,
    pub user_id: String,
    pub migration_type: String,
    pub status: String,
    pub source_host_id: Option<String>,
    pub source_compute: Option<String>,
    pub dest_host_id: Option<String>,
    pub dest_compute: Option<String>,
    pub old_flavor: String,
    pub new_flavor: String,
    pub was_running: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) const MIGRATION_COLUMNS: &str = "SELECT id, uuid, server_id, project_id, user_id, migration_type, status, source_host_id, source_compute, dest_host_id, dest_compute, old_flavor, new_flavor, was_running, created_at, updated_at FROM compute_migrations";

impl MigrationRow {
    pub fn old_flavor(&self) -> Result<Flavor> {
        serde_json::from_str(&self.old_flavor).map_err(Error::internal)
    }
    pub fn new_flavor(&self) -> Result<Flavor> {
        serde_json::from_str(&self.new_flavor).map_err(Error::internal)
    }
    fn view(self) -> Result<Migration> {
        Ok(Migration {
            old_flavor: self.old_flavor()?,
            new_flavor: self.new_flavor()?,
            id: self.id,
            uuid: self.uuid,
            server_id: self.server_id,
            project_id: self.project_id,
            user_id: self.user_id,
            migration_type: self.migration_type,
            status: self.status,
            source_compute: self.source_compute,
            dest_compute: self.dest_compute,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn unlimited(limit: i64) -> i64 {
    if limit < 0 {
        i64::MAX / 4
    } else {
        limit
    }
}

/// "No valid host" as a request's answer (Nova's resize and migrate APIs say 400).
fn no_host(e: Error) -> Error {
    match e {
        e @ Error::InsufficientCapacity { .. } => Error::bad_request(e.to_string()),
        e => e,
    }
}

fn admin_only(ctx: &Ctx, what: &str) -> Result<()> {
    if ctx.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "Only an admin may {what} a server."
        )))
    }
}

impl Compute {
    pub(crate) async fn migration_row(&self, uuid: &str) -> Result<MigrationRow> {
        let row: Option<MigrationRow> =
            sqlx::query_as(&format!("{MIGRATION_COLUMNS} WHERE uuid = $1"))
                .bind(uuid)
                .fetch_optional(&self.db.pool)
                .await?;
        row.ok_or_else(|| Error::not_found("migration", uuid))
    }

    /// The request of one server of the placement a move needs, with its group's rule.
    async fn move_request(
        &self,
        conn: &mut sqlx::AnyConnection,
        row: &ServerRow,
        flavor: &Flavor,
        host: Option<String>,
        avoid_host: Option<String>,
    ) -> Result<Request> {
        let group = match groups::group_of(conn, &row.id).await? {
            Some(g) => groups::rule_in(conn, &g, &row.id).await?,
            None => None,
        };
        let simulated = match &row.host_id {
            Some(h) => Some(ferrostack_hypervisor::Hypervisor::is_simulated(
                &self.host_row(h).await?.uri,
            )),
            None => None,
        };
        // A move stays in the server's zone unless an admin names the host.
        let availability_zone = if host.is_some() {
            None
        } else {
            row.availability_zone.clone()
        };
        Ok(Request {
            vcpus: flavor.vcpus,
            memory_mb: flavor.ram,
            disk_gb: flavor.disk.max(1),
            availability_zone,
            host,
            group,
            avoid_host,
            simulated,
        })
    }

    /// Claim the destination under a new migration's id and record the migration.
    #[allow(clippy::too_many_arguments)]
    async fn migration_start(
        &self,
        conn: &mut sqlx::AnyConnection,
        ctx: &Ctx,
        row: &ServerRow,
        kind: &str,
        new: &Flavor,
        host: Option<String>,
        avoid_host: bool,
    ) -> Result<String> {
        let avoid = if avoid_host {
            row.host_id.clone()
        } else {
            None
        };
        let req = self.move_request(conn, row, new, host, avoid).await?;
        let uuid = ids::new_uuid();
        let dest = scheduler::claim(conn, &uuid, &req, self.cfg.weigher)
            .await
            .map_err(no_host)?;
        let source = match &row.host_id {
            Some(h) => Some(self.host_row(h).await?),
            None => None,
        };
        let next: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM compute_migrations")
                .fetch_one(&mut *conn)
                .await?;
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO compute_migrations (id, uuid, server_id, project_id, user_id, migration_type, status, \
             source_host_id, source_compute, dest_host_id, dest_compute, old_flavor, new_flavor, was_running, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pre-migrating', $7, $8, $9, $10, $11, $12, $13, $14, $14)",
        )
        .bind(next)
        .bind(&uuid)
        .bind(&row.id)
        .bind(&row.project_id)
        .bind(ctx.user_id.clone().unwrap_or_default())
        .bind(kind)
        .bind(source.as_ref().map(|h| h.id.clone()))
        .bind(source.as_ref().map(|h| h.name.clone()))
        .bind(&dest.id)
        .bind(&dest.name)
        .bind(&row.flavor)
        .bind(serde_json::to_string(new).map_err(Error::internal)?)
        .bind((row.vm_state == ACTIVE || row.vm_state == PAUSED) as i64)
        .bind(&now)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            ferrostack_core::error::unique_or(e, || {
                "Another move started at the same moment; ask again.".to_string()
            })
        })?;
        Ok(uuid)
    }

    /// Resize to another flavor: the new one is claimed now (quota and a host, which
    /// may be another one), the server waits in VERIFY_RESIZE for confirm or revert.
    pub async fn server_resize(&self, ctx: &Ctx, id: &str, flavor_id: &str) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        let old = row.flavor()?;
        let new = self.flavor_get(ctx, flavor_id).await.map_err(|e| match e {
            Error::NotFound { .. } => {
                Error::bad_request(format!("Unable to find flavor {flavor_id}."))
            }
            e => e,
        })?;
        if new.id == old.id {
            return Err(Error::bad_request(
                "When resizing, instances must change flavor!",
            ));
        }
        if new.disabled {
            return Err(Error::bad_request(format!(
                "Flavor {} is disabled.",
                new.id
            )));
        }
        if new.disk > 0 && new.disk < old.disk {
            return Err(Error::bad_request(format!(
                "Resize error: Unable to resize disk down ({} GiB to {} GiB).",
                old.disk, new.disk
            )));
        }
        let mut deltas = Vec::new();
        for (r, d) in [("cores", new.vcpus - old.vcpus), ("ram", new.ram - old.ram)] {
            if d > 0 {
                deltas.push((r, d, unlimited(self.quota_for(&row.project_id, r).await?)));
            }
        }
        let (mut tx, row, action_id) = self.begin_action(ctx, id, ServerAction::Resize).await?;
        for (r, d, limit) in deltas {
            quotas::claim(&mut tx, &row.project_id, r, d, limit).await?;
        }
        let m = self
            .migration_start(&mut tx, ctx, &row, "resize", &new, None, false)
            .await?;
        self.queue_action(
            tx,
            ctx,
            &row,
            ServerAction::Resize,
            &action_id,
            json!({"migration": m}),
        )
        .await
    }

    /// Cold-migrate (admin): the same flavor on another host, then VERIFY_RESIZE.
    pub async fn server_migrate(&self, ctx: &Ctx, id: &str, host: Option<String>) -> Result<()> {
        admin_only(ctx, "migrate")?;
        let (mut tx, row, action_id) = self.begin_action(ctx, id, ServerAction::Migrate).await?;
        let flavor = row.flavor()?;
        let m = self
            .migration_start(&mut tx, ctx, &row, "migration", &flavor, host, true)
            .await?;
        self.queue_action(
            tx,
            ctx,
            &row,
            ServerAction::Migrate,
            &action_id,
            json!({"migration": m}),
        )
        .await
    }

    /// Live-migrate (admin): the running guest moves without stopping. Between real
    /// hosts through libvirt's peer-to-peer migration; simulated hosts move by claim.
    pub async fn server_live_migrate(
        &self,
        ctx: &Ctx,
        id: &str,
        host: Option<String>,
    ) -> Result<()> {
        admin_only(ctx, "live-migrate")?;
        let current = self.server_for(ctx, id, Action::Write).await?;
        if let (Some(h), Some(src)) = (&host, &current.host_id) {
            let dest = self
                .host_row(h)
                .await
                .map_err(|_| Error::bad_request(format!("Compute host {h} could not be found.")))?;
            let src = self.host_row(src).await?;
            let sim = ferrostack_hypervisor::Hypervisor::is_simulated;
            if sim(&dest.uri) != sim(&src.uri) {
                return Err(Error::bad_request(format!(
                    "Cannot live-migrate between a simulated and a real host ({} to {}).",
                    src.name, dest.name
                )));
            }
        }
        let (mut tx, row, action_id) = self
            .begin_action(ctx, id, ServerAction::LiveMigrate)
            .await?;
        let flavor = row.flavor()?;
        let m = self
            .migration_start(&mut tx, ctx, &row, "live-migration", &flavor, host, true)
            .await?;
        self.queue_action(
            tx,
            ctx,
            &row,
            ServerAction::LiveMigrate,
            &action_id,
            json!({"migration": m}),
        )
        .await
    }

    /// Evacuate (admin): rebuild a server of a host that is down on another host.
    pub async fn server_evacuate(&self, ctx: &Ctx, id: &str, host: Option<String>) -> Result<()> {
        admin_only(ctx, "evacuate")?;
        let current = self.server_for(ctx, id, Action::Write).await?;
        if let Some(src) = &current.host_id {
            let src = self.host_row(src).await?;
            if !src.forced_down && src.state == "up" {
                return Err(Error::bad_request(format!(
                    "Compute service of {} is still in use: evacuate only servers of a host that is down (openstack compute service set --down {} nova-compute).",
                    src.name, src.name
                )));
            }
        }
        let (mut tx, row, action_id) = self.begin_action(ctx, id, ServerAction::Evacuate).await?;
        let flavor = row.flavor()?;
        let m = self
            .migration_start(&mut tx, ctx, &row, "evacuation", &flavor, host, true)
            .await?;
        self.queue_action(
            tx,
            ctx,
            &row,
            ServerAction::Evacuate,
            &action_id,
            json!({"migration": m}),
        )
        .await
    }

    /// Confirm a resize or cold migration: the old place and flavor are given back.
    pub async fn server_confirm_resize(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        Self::check_lock(ctx, &row, "sent 'confirmResize'")?;
        let m: Option<MigrationRow> = sqlx::query_as(&format!(
            "{MIGRATION_COLUMNS} WHERE server_id = $1 AND status = 'finished' ORDER BY id DESC"
        ))
        .bind(&row.id)
        .fetch_optional(&self.db.pool)
        .await?;
        let (Some(m), RESIZED, None) = (m, row.vm_state.as_str(), row.task_state.as_deref()) else {
            return Err(Error::conflict(format!(
                "Cannot 'confirmResize' instance {id} while it is in vm_state {}{}.",
                row.vm_state,
                row.task_state
                    .as_deref()
                    .map(|t| format!(" (task_state {t})"))
                    .unwrap_or_default()
            )));
        };
        let (old, new) = (m.old_flavor()?, m.new_flavor()?);
        let vm = if m.was_running != 0 { ACTIVE } else { STOPPED };
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE servers SET vm_state = $2, updated_at = $3 WHERE id = $1 AND vm_state = 'resized' AND task_state IS NULL",
        )
        .bind(&row.id)
        .bind(vm)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let done = sqlx::query(
            "UPDATE compute_migrations SET status = 'confirmed', updated_at = $2 WHERE uuid = $1 AND status = 'finished'",
        )
        .bind(&m.uuid)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 || done != 1 {
            return Err(Error::conflict(format!(
                "Instance {id} changed while confirming its resize; look again."
            )));
        }
        for (r, d) in [("cores", old.vcpus - new.vcpus), ("ram", old.ram - new.ram)] {
            if d > 0 {
                quotas::release(&mut tx, &row.project_id, r, d).await?;
            }
        }
        // The source's claim goes; the destination's becomes the server's.
        scheduler::release(&mut tx, &row.id).await?;
        sqlx::query("UPDATE compute_allocations SET server_id = $1 WHERE server_id = $2")
            .bind(&row.id)
            .bind(&m.uuid)
            .execute(&mut *tx)
            .await?;
        let action_id = self
            .action_start(&mut tx, ctx, &row.id, &row.project_id, "confirmResize")
            .await?;
        self.action_event(
            &mut tx,
            &action_id,
            "compute_confirm_resize",
            Some("Success"),
            m.dest_compute.as_deref(),
            None,
        )
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_SERVER, &row.id, "state")
                    .status(status(vm, None))
                    .message("Resize confirmed"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        let _ = tokio::fs::remove_file(self.instance_dir(&row.id).join("disk.pre-resize")).await;
        Ok(())
    }

    /// Revert a resize or cold migration: back to the old flavor and host.
    pub async fn server_revert_resize(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let m: Option<(String,)> = sqlx::query_as(
            "SELECT uuid FROM compute_migrations WHERE server_id = $1 AND status = 'finished' ORDER BY id DESC",
        )
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        let (mut tx, row, action_id) = self
            .begin_action(ctx, id, ServerAction::RevertResize)
            .await?;
        let Some((m,)) = m else {
            return Err(Error::conflict(format!(
                "Instance {id} has no resize to revert."
            )));
        };
        sqlx::query(
            "UPDATE compute_migrations SET status = 'reverting', updated_at = $2 WHERE uuid = $1",
        )
        .bind(&m)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        self.queue_action(
            tx,
            ctx,
            &row,
            ServerAction::RevertResize,
            &action_id,
            json!({"migration": m}),
        )
        .await
    }

    /// Unshelve: a host is claimed again (in `availability_zone` when given).
    pub async fn server_unshelve(
        &self,
        ctx: &Ctx,
        id: &str,
        availability_zone: Option<String>,
    ) -> Result<()> {
        if let Some(z) = &availability_zone {
            let zones = self.availability_zones(ctx).await?;
            if !zones.iter().any(|(name, _)| name == z) {
                return Err(Error::bad_request(format!(
                    "The requested availability zone is not available: {z}."
                )));
            }
        }
        let (mut tx, row, action_id) = self.begin_action(ctx, id, ServerAction::Unshelve).await?;
        let flavor = row.flavor()?;
        let mut req = self
            .move_request(&mut tx, &row, &flavor, None, None)
            .await?;
        if availability_zone.is_some() {
            req.availability_zone = availability_zone;
        }
        let host = scheduler::claim(&mut tx, &row.id, &req, self.cfg.weigher)
            .await
            .map_err(no_host)?;
        sqlx::query(
            "UPDATE servers SET host_id = $2, host_name = $3, availability_zone = $4 WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&host.id)
        .bind(&host.name)
        .bind(&host.availability_zone)
        .execute(&mut *tx)
        .await?;
        self.queue_action(tx, ctx, &row, ServerAction::Unshelve, &action_id, json!({}))
            .await
    }

    /// A server's moves, newest first (GET /servers/{id}/migrations and os-migrations).
    pub async fn migrations(&self, ctx: &Ctx, server: Option<&str>) -> Result<Vec<Migration>> {
        let rows: Vec<MigrationRow> = match server {
            Some(id) => {
                self.server_for(ctx, id, Action::Read).await?;
                sqlx::query_as(&format!(
                    "{MIGRATION_COLUMNS} WHERE server_id = $1 ORDER BY id DESC"
                ))
                .bind(id)
                .fetch_all(&self.db.pool)
                .await?
            }
            None => {
                admin_only(ctx, "list the migrations of")?;
                sqlx::query_as(&format!("{MIGRATION_COLUMNS} ORDER BY id DESC"))
                    .fetch_all(&self.db.pool)
                    .await?
            }
        };
        rows.into_iter().map(MigrationRow::view).collect()
    }
}
