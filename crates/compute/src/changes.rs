//! The jobs of the actions that change what a server is or where it runs (requests in
//! moves.rs). Each step is idempotent and reads where it started from the migration
//! row, never from the server's current host, so a job resumed after kill -9 redoes
//! only what was not done; the end of each move (claims handed over, quota given back)
//! commits fenced by the job's lease and guarded by the migration's status, so it
//! happens once.
//!
//! Disks: a server's files live in the data dir whichever host runs it (remote hosts
//! see them at the same path, as they already must to boot), so a move between hosts
//! redefines the domain on the destination with the same disks.

use ferrostack_core::events::NewEvent;
use ferrostack_core::jobs::{JobFailure, JobRun};
use ferrostack_core::{quotas, time, Ctx, Error, Result};
use ferrostack_hypervisor::{DiskSpec, Hypervisor, PowerState};
use ferrostack_types::compute::{Fault, Flavor, Host};

use crate::actions::ServerAction;
use crate::lifecycle::hv_failure;
use crate::servers::ServerRow;
use crate::status::*;
use crate::{scheduler, Compute, KIND_SERVER};

type Step<T> = std::result::Result<T, JobFailure>;

fn vm_static(s: &str) -> &'static str {
    match s {
        ACTIVE => ACTIVE,
        STOPPED => STOPPED,
        PAUSED => PAUSED,
        SUSPENDED => SUSPENDED,
        RESIZED => RESIZED,
        RESCUED => RESCUED,
        SHELVED => SHELVED,
        SHELVED_OFFLOADED => SHELVED_OFFLOADED,
        _ => ERROR,
    }
}

fn power_of(code: i64) -> PowerState {
    match code {
        1 => PowerState::Running,
        3 => PowerState::Paused,
        4 => PowerState::Shutdown,
        6 => PowerState::Crashed,
        7 => PowerState::Suspended,
        _ => PowerState::NoState,
    }
}

pub(crate) fn disk_failure(e: Error) -> JobFailure {
    match e {
        Error::Internal(d) => JobFailure::because("The server's disks could not be prepared.", d),
        e => e.into(),
    }
}

impl Compute {
    /// The disks of `row` on `host`, with a rescue image booting first when asked.
    async fn disks_for(
        &self,
        row: &ServerRow,
        host: &Host,
        rescue: Option<&str>,
    ) -> Step<Vec<DiskSpec>> {
        if Hypervisor::is_simulated(&host.uri) {
            let mut d = vec![DiskSpec {
                path: format!("/simulated/{}/disk", row.id),
                format: "qcow2".into(),
                device: "disk".into(),
                boot: Some(1),
            }];
            if rescue.is_some() {
                d[0].boot = None;
                d.insert(
                    0,
                    DiskSpec {
                        path: format!("/simulated/{}/disk.rescue", row.id),
                        format: "qcow2".into(),
                        device: "disk".into(),
                        boot: Some(1),
                    },
                );
            }
            return Ok(d);
        }
        let mut disks = self.prepare_disks(row).await.map_err(disk_failure)?;
        let Some(image) = rescue else {
            return Ok(disks);
        };
        // The server's own disk (and config drive) stays; its boot ISO does not.
        let config = disks
            .iter()
            .find(|d| d.path.ends_with("disk.config"))
            .cloned();
        let mut root = disks.remove(0);
        root.boot = None;
        let rescue = self.rescue_disk(row, image).await.map_err(disk_failure)?;
        let mut out = vec![rescue, root];
        out.extend(config);
        Ok(out)
    }

    /// Define `row` (with `flavor` instead of its own when given) on `host`, and start
    /// it when `run`.
    async fn place_domain(
        &self,
        row: &ServerRow,
        host: &Host,
        flavor: Option<&Flavor>,
        rescue: Option<&str>,
        run: bool,
    ) -> Step<()> {
        let mut row = row.clone();
        if let Some(f) = flavor {
            row.flavor = serde_json::to_string(f).map_err(Error::internal)?;
        }
        let disks = self.disks_for(&row, host, rescue).await?;
        let xml = self.domain_spec(&row, host, disks).await?.to_xml();
        self.hv
            .host(&host.uri)
            .define(xml)
            .await
            .map_err(|e| hv_failure("define the domain", host, e))?;
        if run {
            self.power_on(host, &row.id).await?;
        }
        Ok(())
    }

    async fn remove_domain(&self, host: &Host, id: &str) -> Step<()> {
        self.hv
            .host(&host.uri)
            .remove(id)
            .await
            .map_err(|e| hv_failure("remove the domain", host, e))
    }

    /// The end state of a change's job. Called by the action job for every action that
    /// is not a plain power change.
    pub(crate) async fn change_steps(
        &self,
        run: &JobRun,
        action: ServerAction,
        row: &ServerRow,
    ) -> Step<(&'static str, PowerState)> {
        let p = run.job.payload_value();
        let text = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let id = row.id.clone();
        let here = || async {
            self.host_row(row.host_id.as_deref().unwrap_or_default())
                .await
                .map_err(JobFailure::from)
        };
        run.progress(action.name(), 20, &format!("{} started", action.name()))
            .await?;
        match action {
            ServerAction::Resize | ServerAction::Migrate => {
                let m = self
                    .migration_row(&text("migration").unwrap_or_default())
                    .await?;
                self.set_migration(&m.uuid, "migrating", &["pre-migrating"])
                    .await?;
                let new = m.new_flavor()?;
                let old = m.old_flavor()?;
                let src = self
                    .host_row(m.source_host_id.as_deref().unwrap_or_default())
                    .await?;
                let dst = self
                    .host_row(m.dest_host_id.as_deref().unwrap_or_default())
                    .await?;
                run.progress("power off", 40, &format!("Stopping on {}", src.name))
                    .await?;
                self.power_off(&src, &id, true).await?;
                if !Hypervisor::is_simulated(&dst.uri) && new.disk > old.disk {
                    self.grow_disk(&id, new.disk).await.map_err(disk_failure)?;
                }
                if src.id != dst.id {
                    self.remove_domain(&src, &id).await?;
                }
                run.progress("place", 70, &format!("Starting on {}", dst.name))
                    .await?;
                self.place_domain(row, &dst, Some(&new), None, m.was_running != 0)
                    .await?;
                let mut tx = self.db.pool.begin().await.map_err(Error::from)?;
                run.fence(&mut tx).await?;
                let n = sqlx::query("UPDATE compute_migrations SET status = 'finished', updated_at = $2 WHERE uuid = $1 AND status = 'migrating'")
                    .bind(&m.uuid)
                    .bind(time::to_db(&time::now()))
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::from)?
                    .rows_affected();
                if n == 1 {
                    self.move_server_row(&mut tx, &id, &dst, Some(&new)).await?;
                }
                tx.commit().await.map_err(Error::from)?;
                let power = if m.was_running != 0 {
                    PowerState::Running
                } else {
                    PowerState::Shutdown
                };
                Ok((RESIZED, power))
            }
            ServerAction::RevertResize => {
                let m = self
                    .migration_row(&text("migration").unwrap_or_default())
                    .await?;
                let old = m.old_flavor()?;
                let src = self
                    .host_row(m.source_host_id.as_deref().unwrap_or_default())
                    .await?;
                let dst = self
                    .host_row(m.dest_host_id.as_deref().unwrap_or_default())
                    .await?;
                run.progress("power off", 40, &format!("Stopping on {}", dst.name))
                    .await?;
                self.power_off(&dst, &id, false).await?;
                if src.id != dst.id {
                    self.remove_domain(&dst, &id).await?;
                }
                let dir = self.instance_dir(&id);
                if tokio::fs::metadata(dir.join("disk.pre-resize"))
                    .await
                    .is_ok()
                {
                    tokio::fs::rename(dir.join("disk.pre-resize"), dir.join("disk"))
                        .await
                        .map_err(|e| {
                            JobFailure::because(
                                "The disk before the resize could not be restored.",
                                e,
                            )
                        })?;
                }
                run.progress("place", 70, &format!("Starting on {}", src.name))
                    .await?;
                self.place_domain(row, &src, Some(&old), None, m.was_running != 0)
                    .await?;
                let new = m.new_flavor()?;
                let mut tx = self.db.pool.begin().await.map_err(Error::from)?;
                run.fence(&mut tx).await?;
                let n = sqlx::query("UPDATE compute_migrations SET status = 'reverted', updated_at = $2 WHERE uuid = $1 AND status = 'reverting'")
                    .bind(&m.uuid)
                    .bind(time::to_db(&time::now()))
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::from)?
                    .rows_affected();
                if n == 1 {
                    self.move_server_row(&mut tx, &id, &src, Some(&old)).await?;
                    for (r, d) in [("cores", new.vcpus - old.vcpus), ("ram", new.ram - old.ram)] {
                        if d > 0 {
                            quotas::release(&mut tx, &m.project_id, r, d).await?;
                        }
                    }
                    scheduler::release(&mut tx, &m.uuid).await?;
                }
                tx.commit().await.map_err(Error::from)?;
                let vm = if m.was_running != 0 { ACTIVE } else { STOPPED };
                let power = if m.was_running != 0 {
                    PowerState::Running
                } else {
                    PowerState::Shutdown
                };
                Ok((vm, power))
            }
            ServerAction::LiveMigrate | ServerAction::Evacuate => {
                let m = self
                    .migration_row(&text("migration").unwrap_or_default())
                    .await?;
                self.set_migration(&m.uuid, "migrating", &["pre-migrating"])
                    .await?;
                let src = self
                    .host_row(m.source_host_id.as_deref().unwrap_or_default())
                    .await?;
                let dst = self
                    .host_row(m.dest_host_id.as_deref().unwrap_or_default())
                    .await?;
                let simulated = Hypervisor::is_simulated(&dst.uri);
                let (vm, power) = if action == ServerAction::LiveMigrate {
                    run.progress(
                        "migrate",
                        50,
                        &format!("Migrating from {} to {}", src.name, dst.name),
                    )
                    .await?;
                    let here_state = self
                        .hv
                        .host(&src.uri)
                        .state(&id)
                        .await
                        .map_err(|e| hv_failure("report the domain's state", &src, e))?;
                    if here_state.is_some() {
                        if simulated {
                            // The test driver has no migration: the same domain, defined
                            // and started there, removed here.
                            self.place_domain(row, &dst, None, None, true).await?;
                            if row.vm_state == PAUSED {
                                let _ = self.hv.host(&dst.uri).pause(&id).await;
                            }
                            self.remove_domain(&src, &id).await?;
                        } else {
                            self.hv
                                .host(&src.uri)
                                .migrate_live(&id, &dst.uri)
                                .await
                                .map_err(|e| hv_failure("live-migrate the guest", &src, e))?;
                        }
                    }
                    let vm = vm_static(&row.vm_state);
                    (vm, power_of(row.power_state))
                } else {
                    // Evacuate: the source is down; the server starts on the destination.
                    run.progress("rebuild", 50, &format!("Rebuilding on {}", dst.name))
                        .await?;
                    let running = row.vm_state != STOPPED;
                    self.place_domain(row, &dst, None, None, running).await?;
                    if running {
                        (ACTIVE, PowerState::Running)
                    } else {
                        (STOPPED, PowerState::Shutdown)
                    }
                };
                let done = if action == ServerAction::LiveMigrate {
                    "completed"
                } else {
                    "done"
                };
                let mut tx = self.db.pool.begin().await.map_err(Error::from)?;
                run.fence(&mut tx).await?;
                let n = sqlx::query("UPDATE compute_migrations SET status = $3, updated_at = $2 WHERE uuid = $1 AND status = 'migrating'")
                    .bind(&m.uuid)
                    .bind(time::to_db(&time::now()))
                    .bind(done)
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::from)?
                    .rows_affected();
                if n == 1 {
                    self.move_server_row(&mut tx, &id, &dst, None).await?;
                    scheduler::release(&mut tx, &id).await?;
                    sqlx::query(
                        "UPDATE compute_allocations SET server_id = $1 WHERE server_id = $2",
                    )
                    .bind(&id)
                    .bind(&m.uuid)
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::from)?;
                }
                tx.commit().await.map_err(Error::from)?;
                Ok((vm, power))
            }
            ServerAction::Rebuild => {
                let host = here().await?;
                let running = p
                    .get("was_running")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true);
                run.progress("power off", 30, "Stopping the guest").await?;
                self.power_off(&host, &id, true).await?;
                if !Hypervisor::is_simulated(&host.uri) {
                    // A new root disk from the new image (and a new config drive).
                    let dir = self.instance_dir(&id);
                    for f in ["disk", "disk.config"] {
                        let _ = tokio::fs::remove_file(dir.join(f)).await;
                    }
                }
                run.progress("spawn", 60, "Booting the new image").await?;
                self.place_domain(row, &host, None, None, running).await?;
                Ok(if running {
                    (ACTIVE, PowerState::Running)
                } else {
                    (STOPPED, PowerState::Shutdown)
                })
            }
            ServerAction::Rescue => {
                let host = here().await?;
                let image = text("rescue_image").unwrap_or_default();
                self.power_off(&host, &id, true).await?;
                run.progress("spawn", 60, "Booting the rescue image")
                    .await?;
                self.place_domain(row, &host, None, Some(&image), true)
                    .await?;
                Ok((RESCUED, PowerState::Running))
            }
            ServerAction::Unrescue => {
                let host = here().await?;
                self.power_off(&host, &id, false).await?;
                self.place_domain(row, &host, None, None, true).await?;
                let _ = tokio::fs::remove_file(self.instance_dir(&id).join("disk.rescue")).await;
                Ok((ACTIVE, PowerState::Running))
            }
            ServerAction::Shelve | ServerAction::ShelveOffload => {
                let host = here().await?;
                let graceful = ![PAUSED, SUSPENDED].contains(&row.vm_state.as_str());
                run.progress("power off", 30, "Stopping the guest").await?;
                self.power_off(&host, &id, graceful).await?;
                run.progress("offload", 60, &format!("Freeing {}", host.name))
                    .await?;
                self.remove_domain(&host, &id).await?;
                let mut tx = self.db.pool.begin().await.map_err(Error::from)?;
                run.fence(&mut tx).await?;
                sqlx::query("UPDATE servers SET host_id = NULL, host_name = NULL WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::from)?;
                scheduler::release(&mut tx, &id).await?;
                tx.commit().await.map_err(Error::from)?;
                Ok((SHELVED_OFFLOADED, PowerState::Shutdown))
            }
            ServerAction::Unshelve => {
                let host = here().await?;
                run.progress("spawn", 60, &format!("Starting on {}", host.name))
                    .await?;
                self.place_domain(row, &host, None, None, true).await?;
                Ok((ACTIVE, PowerState::Running))
            }
            ServerAction::CreateImage => {
                let host = here().await?;
                let image = text("image_id").unwrap_or_default();
                run.progress("snapshot", 30, "Copying the root disk")
                    .await?;
                let snap = self.snapshot_file(row, &host).await?;
                run.progress("upload", 70, "Uploading the snapshot").await?;
                let up = self.upload_file(&run.job.ctx(), &image, &snap).await;
                let _ = tokio::fs::remove_file(&snap).await;
                up.map_err(|e| {
                    JobFailure::because("The snapshot could not be stored as an image.", e.detail())
                })?;
                Ok((vm_static(&row.vm_state), power_of(row.power_state)))
            }
            _ => Err(JobFailure::user(format!(
                "{} is not a change.",
                action.name()
            ))),
        }
    }

    async fn set_migration(&self, uuid: &str, to: &str, from: &[&str]) -> Result<()> {
        // The statuses are this file's constants, never input.
        let from = from
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query(&format!(
            "UPDATE compute_migrations SET status = $2, updated_at = $3 WHERE uuid = $1 AND status IN ({from})"
        ))
        .bind(uuid)
        .bind(to)
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// The server row now names `host` (and `flavor`).
    async fn move_server_row(
        &self,
        conn: &mut sqlx::AnyConnection,
        id: &str,
        host: &Host,
        flavor: Option<&Flavor>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE servers SET host_id = $2, host_name = $3, availability_zone = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(&host.id)
        .bind(&host.name)
        .bind(&host.availability_zone)
        .execute(&mut *conn)
        .await?;
        if let Some(f) = flavor {
            sqlx::query("UPDATE servers SET flavor = $2, flavor_id = $3 WHERE id = $1")
                .bind(id)
                .bind(serde_json::to_string(f).map_err(Error::internal)?)
                .bind(&f.id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// A change failed or was given up: give back what it claimed (the destination, the
    /// new flavor's quota), and remove the image a snapshot was filling.
    pub(crate) async fn undo_change(
        &self,
        job: &ferrostack_core::jobs::Job,
        action: ServerAction,
    ) -> Result<()> {
        let p = job.payload_value();
        if let Some(uuid) = p.get("migration").and_then(|v| v.as_str()) {
            let m = self.migration_row(uuid).await?;
            let mut tx = self.db.pool.begin().await?;
            let n = sqlx::query("UPDATE compute_migrations SET status = 'error', updated_at = $2 WHERE uuid = $1 AND status IN ('pre-migrating', 'migrating')")
                .bind(uuid)
                .bind(time::to_db(&time::now()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                let (old, new) = (m.old_flavor()?, m.new_flavor()?);
                for (r, d) in [("cores", new.vcpus - old.vcpus), ("ram", new.ram - old.ram)] {
                    if d > 0 {
                        quotas::release(&mut tx, &m.project_id, r, d).await?;
                    }
                }
                scheduler::release(&mut tx, uuid).await?;
            }
            tx.commit().await?;
        }
        if action == ServerAction::Unshelve {
            let mut tx = self.db.pool.begin().await?;
            sqlx::query("UPDATE servers SET host_id = NULL, host_name = NULL WHERE id = $1")
                .bind(&job.subject)
                .execute(&mut *tx)
                .await?;
            scheduler::release(&mut tx, &job.subject).await?;
            tx.commit().await?;
        }
        if let Some(image) = p.get("image_id").and_then(|v| v.as_str()) {
            let _ = self.images.image_delete(&job.ctx(), image).await;
        }
        Ok(())
    }

    /// Whether a failed `action` leaves the server in ERROR (Nova's behaviour for the
    /// changes that may have half-moved or half-rebuilt it).
    pub(crate) fn fails_to_error(action: ServerAction) -> bool {
        matches!(
            action,
            ServerAction::Resize
                | ServerAction::Migrate
                | ServerAction::RevertResize
                | ServerAction::Evacuate
                | ServerAction::Rebuild
                | ServerAction::Rescue
                | ServerAction::Unrescue
        )
    }

    /// The server goes to ERROR with the reason as its fault.
    pub(crate) async fn error_server(
        &self,
        run: Option<&JobRun>,
        id: &str,
        message: &str,
    ) -> Result<()> {
        let fault = Fault {
            code: 500,
            message: message.to_string(),
            created: time::to_db(&time::now()),
        };
        let mut tx = self.db.pool.begin().await?;
        if let Some(run) = run {
            run.fence(&mut tx).await?;
        }
        let project: Option<String> =
            sqlx::query_scalar("SELECT project_id FROM servers WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(project) = project else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE servers SET vm_state = 'error', fault = $2, updated_at = $3 WHERE id = $1 AND COALESCE(task_state, '') <> 'deleting'",
        )
        .bind(id)
        .bind(serde_json::to_string(&fault).map_err(Error::internal)?)
        .bind(&fault.created)
        .execute(&mut *tx)
        .await?;
        let ctx = run
            .map(|r| r.job.ctx())
            .unwrap_or_else(|| Ctx::internal(""));
        self.events
            .record(
                &mut tx,
                NewEvent::new(&ctx, Some(&project), KIND_SERVER, id, "error")
                    .status("ERROR")
                    .message(message),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        Ok(())
    }
}
