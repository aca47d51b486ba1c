//! The jobs behind a server's life: boot (disk → define → start → running) and delete
//! (domain → files → claims and quota); the action jobs are in action_jobs.rs and the
//! reconciler in reconcile.rs. Each step is idempotent and every state change
//! commits fenced by the job's lease, so a process killed -9 mid-way leaves a job that
//! another worker (or the restarted process) resumes; a job given up fails its server
//! with the reason, never leaving it in BUILD.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrostack_core::events::NewEvent;
use ferrostack_core::jobs::{JobFailure, JobRun, Outcome};
use ferrostack_core::{quotas, time, Ctx, Error, Result};
use ferrostack_hypervisor::{DiskSpec, DomainSpec, HvError, Hypervisor, PowerState};
use ferrostack_types::compute::{Fault, Host};

use crate::servers::ServerRow;
use crate::status::*;
use crate::{scheduler, Compute, JOB_ACTION, JOB_BOOT, JOB_DELETE, KIND_SERVER};

pub(crate) fn register(c: &Arc<Compute>) {
    let me = c.clone();
    c.jobs.on_give_up(JOB_BOOT, move |job| {
        let me = me.clone();
        async move {
            let msg = "The build was given up: its worker kept stopping before it finished.";
            if let Err(e) = me.fail_boot(None, &job.subject, msg).await {
                tracing::error!(server = %job.subject, error = %e.detail(), "cannot fail a given-up build");
            }
        }
    });
    let me = c.clone();
    c.jobs.on_give_up(JOB_ACTION, move |job| {
        let me = me.clone();
        async move {
            let msg = "The action was given up: its worker kept stopping.";
            let p = job.payload_value();
            if let Some(a) = p
                .get("action")
                .and_then(|v| v.as_str())
                .and_then(|a| crate::ServerAction::parse(a, false))
            {
                me.change_failed(None, &job, a, msg).await;
            }
            let _ = me.end_action(None, &job.subject, None, msg).await;
        }
    });
    let me = c.clone();
    c.jobs.on_give_up(JOB_DELETE, move |job| {
        let me = me.clone();
        async move {
            let msg = "The delete was given up: its worker kept stopping before it finished. Delete the server again.";
            if let Err(e) = me.fail_delete(None, &job.subject, msg).await {
                tracing::error!(server = %job.subject, error = %e.detail(), "cannot record a given-up delete");
            }
        }
    });
    let me = c.clone();
    c.jobs.register(JOB_BOOT, KIND_SERVER, 8, move |run| {
        let me = me.clone();
        async move { me.boot(run).await }
    });
    let me = c.clone();
    c.jobs.register(JOB_DELETE, KIND_SERVER, 4, move |run| {
        let me = me.clone();
        async move {
            let id = run.job.subject.clone();
            let r = me.delete_steps(&run).await;
            if let Err(f) = &r {
                if !f.is_lost() && !f.retry {
                    if let Err(e) = me.fail_delete(Some(&run), &id, &f.message).await {
                        tracing::error!(server = %id, error = %e.detail(), "cannot record a failed delete");
                    }
                }
            }
            r
        }
    });
    let me = c.clone();
    c.jobs.register(JOB_ACTION, KIND_SERVER, 4, move |run| {
        let me = me.clone();
        async move { me.action_job(run).await }
    });
}

pub(crate) fn hv_failure(what: &str, host: &Host, e: HvError) -> JobFailure {
    match e {
        HvError::Connect { .. } | HvError::Unavailable(_) => JobFailure {
            message: format!("Host {} cannot be reached to {what}; retrying.", host.name),
            cause: Some(e.to_string()),
            retry: true,
        },
        e => JobFailure::because(format!("Host {} refused to {what}: {e}", host.name), &e),
    }
}

impl Compute {
    fn domain_name(id: &str) -> String {
        format!("fs-{id}")
    }

    /// The domain XML of a server on `host`.
    pub(crate) async fn domain_spec(
        &self,
        row: &ServerRow,
        host: &Host,
        disks: Vec<DiskSpec>,
    ) -> Result<DomainSpec> {
        let f = row.flavor()?;
        let mut spec = DomainSpec::new(
            &Self::domain_name(&row.id),
            &row.id,
            f.vcpus,
            f.ram,
            &host.virt_type,
        );
        spec.disks = disks;
        spec.nics = self.plug(row, host).await?;
        spec.project_id = row.project_id.clone();
        spec.display_name = row.name.clone();
        if !Hypervisor::is_simulated(&host.uri) {
            spec.console_log = Some(
                self.instance_dir(&row.id)
                    .join("console.log")
                    .display()
                    .to_string(),
            );
        }
        Ok(spec)
    }

    async fn deleting(&self, id: &str) -> Result<bool> {
        Ok(match self.server_row(id).await {
            Ok(r) => r.task_state.as_deref() == Some(DELETING),
            Err(Error::NotFound { .. }) => true,
            Err(e) => return Err(e),
        })
    }

    /// Poll the domain until it is in `want` (or `timeout` passes).
    pub(crate) async fn wait_for(
        &self,
        host: &Host,
        id: &str,
        want: PowerState,
        timeout: Duration,
    ) -> std::result::Result<bool, HvError> {
        let hv = self.hv.host(&host.uri);
        let started = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            if hv.state(id).await? == Some(want) {
                return Ok(true);
            }
            if started.elapsed() >= timeout {
                return Ok(false);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    async fn boot(&self, mut run: JobRun) -> Outcome {
        let id = run.job.subject.clone();
        let r = self.boot_steps(&mut run).await;
        if let Err(f) = &r {
            // A passing cause (a host that could not be reached) is retried: the
            // server keeps building.
            if !f.is_lost() && !f.retry {
                if let Err(e) = self.fail_boot(Some(&run), &id, &f.message).await {
                    tracing::error!(server = %id, error = %e.detail(), "cannot record a failed build");
                }
            }
        }
        r
    }

    async fn boot_steps(&self, run: &mut JobRun) -> Outcome {
        let id = run.job.subject.clone();
        let row = match self.server_row(&id).await {
            Ok(r) => r,
            Err(Error::NotFound { .. }) => {
                return Ok("The server was deleted before it was built.".into())
            }
            Err(e) => return Err(e.into()),
        };
        if row.vm_state != BUILDING || row.task_state.as_deref() == Some(DELETING) {
            return Ok(format!(
                "Nothing to build: the server is {} ({}).",
                row.vm_state,
                row.task_state.unwrap_or_default()
            ));
        }
        let host_id = row
            .host_id
            .clone()
            .ok_or_else(|| JobFailure::user("The server was not placed on a host."))?;
        let host = self.host_row(&host_id).await?;
        let hv = self.hv.host(&host.uri);
        let simulated = Hypervisor::is_simulated(&host.uri);
        run.progress("disk", 10, "Preparing disks").await?;
        let disks = if simulated {
            vec![DiskSpec {
                path: format!("/simulated/{id}/disk"),
                format: "qcow2".into(),
                device: "disk".into(),
                boot: Some(1),
            }]
        } else {
            self.prepare_disks(&row).await.map_err(|e| match e {
                Error::Internal(d) => {
                    JobFailure::because("The server's disks could not be prepared.", d)
                }
                e => e.into(),
            })?
        };
        if self.deleting(&id).await? {
            return Ok("Deleted while building.".into());
        }
        run.progress("define", 50, "Defining the domain").await?;
        run.progress("network", 40, "Plugging in the ports").await?;
        let xml = self.domain_spec(&row, &host, disks).await?.to_xml();
        hv.define(xml)
            .await
            .map_err(|e| hv_failure("define the domain", &host, e))?;
        run.progress("start", 70, "Starting").await?;
        hv.start(&id)
            .await
            .map_err(|e| hv_failure("start the domain", &host, e))?;
        run.progress("running", 90, "Waiting for the guest to run")
            .await?;
        let up = self
            .wait_for(&host, &id, PowerState::Running, self.cfg.boot_timeout)
            .await
            .map_err(|e| hv_failure("report the domain's state", &host, e))?;
        if !up {
            return Err(JobFailure::user(format!(
                "The guest did not reach running on {} within {} s.",
                host.name,
                self.cfg.boot_timeout.as_secs()
            )));
        }
        self.host_seen(&host.id, None).await;
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await.map_err(Error::from)?;
        run.fence(&mut tx).await?;
        let n = sqlx::query(
            "UPDATE servers SET vm_state = 'active', task_state = NULL, power_state = 1, launched_at = $2, updated_at = $2 \
             WHERE id = $1 AND vm_state = 'building' AND COALESCE(task_state, '') <> 'deleting'",
        )
        .bind(&id)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(Error::from)?
        .rows_affected();
        if n == 0 {
            return Ok("Deleted while building.".into());
        }
        if let Some(a) = run
            .job
            .payload_value()
            .get("action_id")
            .and_then(|v| v.as_str())
        {
            self.action_event(
                &mut tx,
                a,
                "compute__do_build_and_run_instance",
                Some("Success"),
                Some(&host.name),
                None,
            )
            .await?;
        }
        let ctx = run.job.ctx();
        self.events
            .record(
                &mut tx,
                NewEvent::new(&ctx, Some(&row.project_id), KIND_SERVER, &id, "active")
                    .status("ACTIVE")
                    .message(format!("Running on {}", host.name)),
            )
            .await?;
        tx.commit().await.map_err(Error::from)?;
        self.events.committed();
        Ok(format!("Active on {}", host.name))
    }

    /// A build failed: the server goes to ERROR with the reason, its host claim is
    /// given back and whatever was made on the host removed.
    pub(crate) async fn fail_boot(
        &self,
        run: Option<&JobRun>,
        id: &str,
        message: &str,
    ) -> Result<()> {
        let row = match self.server_row(id).await {
            Ok(r) => r,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let fault = Fault {
            code: 500,
            message: message.to_string(),
            created: time::to_db(&time::now()),
        };
        // The failure first (only a build still in progress fails), then the clean-up.
        let mut tx = self.db.pool.begin().await?;
        if let Some(run) = run {
            run.fence(&mut tx).await?;
        }
        let n = sqlx::query(
            "UPDATE servers SET vm_state = 'error', task_state = CASE WHEN task_state = 'deleting' THEN task_state ELSE NULL END, \
             power_state = 0, fault = $2, updated_at = $3 WHERE id = $1 AND vm_state = 'building'",
        )
        .bind(id)
        .bind(serde_json::to_string(&fault).map_err(Error::internal)?)
        .bind(&fault.created)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(());
        }
        if let Some(a) = run.and_then(|r| {
            r.job
                .payload_value()
                .get("action_id")
                .and_then(|v| v.as_str().map(str::to_string))
        }) {
            self.action_event(
                &mut tx,
                &a,
                "compute__do_build_and_run_instance",
                Some("Error"),
                row.host_name.as_deref(),
                Some(message),
            )
            .await?;
        }
        let ctx = run
            .map(|r| r.job.ctx())
            .unwrap_or_else(|| Ctx::internal(""));
        self.events
            .record(
                &mut tx,
                NewEvent::new(&ctx, Some(&row.project_id), KIND_SERVER, id, "error")
                    .status("ERROR")
                    .message(message),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        // The host's claim goes only with the domain: a domain that could not be
        // removed (its host unreachable) keeps its capacity claimed, and the server's
        // delete removes both later.
        let mut removed = true;
        if let Some(host_id) = &row.host_id {
            if let Ok(host) = self.host_row(host_id).await {
                if let Err(e) = self.hv.host(&host.uri).remove(id).await {
                    tracing::warn!(server = id, host = %host.name, error = %e, "cannot remove the domain of a failed build; its claim stays until the server is deleted");
                    removed = false;
                }
            }
        }
        if removed {
            let _ = self.remove_files(id).await;
            let mut tx = self.db.pool.begin().await?;
            sqlx::query("UPDATE servers SET host_id = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            scheduler::release(&mut tx, id).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// A delete that failed: the server goes to ERROR with the reason and may be
    /// deleted again (Nova's behaviour); what it still holds stays held until then.
    async fn fail_delete(&self, run: Option<&JobRun>, id: &str, message: &str) -> Result<()> {
        let fault = Fault {
            code: 500,
            message: message.to_string(),
            created: time::to_db(&time::now()),
        };
        let mut tx = self.db.pool.begin().await?;
        if let Some(run) = run {
            run.fence(&mut tx).await?;
        }
        let n = sqlx::query(
            "UPDATE servers SET vm_state = 'error', task_state = NULL, fault = $2, updated_at = $3 WHERE id = $1 AND task_state = 'deleting'",
        )
        .bind(id)
        .bind(serde_json::to_string(&fault).map_err(Error::internal)?)
        .bind(&fault.created)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            let project: String =
                sqlx::query_scalar("SELECT project_id FROM servers WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            if let Some(a) = run.and_then(|r| {
                r.job
                    .payload_value()
                    .get("action_id")
                    .and_then(|v| v.as_str().map(str::to_string))
            }) {
                self.action_event(
                    &mut tx,
                    &a,
                    "compute_terminate_instance",
                    Some("Error"),
                    None,
                    Some(message),
                )
                .await?;
            }
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
        }
        tx.commit().await?;
        self.events.committed();
        Ok(())
    }

    async fn delete_steps(&self, run: &JobRun) -> Outcome {
        let id = run.job.subject.clone();
        let row = match self.server_row(&id).await {
            Ok(r) => r,
            Err(Error::NotFound { .. }) => return Ok("Already deleted.".into()),
            Err(e) => return Err(e.into()),
        };
        // A build or action still running finishes (or notices the delete) first, so
        // it cannot define a domain after this removed it.
        let started = Instant::now();
        loop {
            let busy: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE subject = $1 AND kind IN ($2, $3) AND state IN ('pending', 'running')",
            )
            .bind(&id)
            .bind(JOB_BOOT)
            .bind(JOB_ACTION)
            .fetch_one(&self.db.pool)
            .await
            .map_err(Error::from)?;
            if busy == 0 || started.elapsed() > Duration::from_secs(600) {
                break;
            }
            run.progress("wait", 5, "Waiting for the server's running job to stop")
                .await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        run.progress("domain", 30, "Removing the domain").await?;
        if let Some(host_id) = &row.host_id {
            let host = self.host_row(host_id).await?;
            self.hv
                .host(&host.uri)
                .remove(&id)
                .await
                .map_err(|e| hv_failure("remove the domain", &host, e))?;
        }
        run.progress("ports", 50, "Unplugging the ports").await?;
        self.unplug(&id).await?;
        run.progress("files", 60, "Removing disks").await?;
        self.remove_files(&id).await?;
        let flavor = row.flavor()?;
        let mut tx = self.db.pool.begin().await.map_err(Error::from)?;
        run.fence(&mut tx).await?;
        let gone = sqlx::query("DELETE FROM servers WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(Error::from)?
            .rows_affected();
        if gone == 1 {
            // Quota rows before host rows: the order a create takes them in, so the
            // two cannot deadlock on PostgreSQL.
            quotas::release(&mut tx, &row.project_id, "instances", 1).await?;
            quotas::release(&mut tx, &row.project_id, "cores", flavor.vcpus).await?;
            quotas::release(&mut tx, &row.project_id, "ram", flavor.ram).await?;
            scheduler::release(&mut tx, &id).await?;
            // A move in flight holds a claim of its own on the destination.
            let moving: Vec<(String,)> = sqlx::query_as(
                "SELECT uuid FROM compute_migrations WHERE server_id = $1 AND status IN ('pre-migrating', 'migrating', 'finished', 'reverting')",
            )
            .bind(&id)
            .fetch_all(&mut *tx)
            .await
            .map_err(Error::from)?;
            for (m,) in moving {
                scheduler::release(&mut tx, &m).await?;
            }
            sqlx::query("UPDATE compute_migrations SET status = 'error', updated_at = $2 WHERE server_id = $1 AND status IN ('pre-migrating', 'migrating', 'finished', 'reverting')")
                .bind(&id)
                .bind(time::to_db(&time::now()))
                .execute(&mut *tx)
                .await
                .map_err(Error::from)?;
            sqlx::query("DELETE FROM server_group_members WHERE server_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(Error::from)?;
            sqlx::query("DELETE FROM jobs WHERE subject = $1 AND kind IN ($2, $3) AND state IN ('succeeded', 'failed')")
                .bind(&id)
                .bind(JOB_BOOT)
                .bind(JOB_ACTION)
                .execute(&mut *tx)
                .await
                .map_err(Error::from)?;
        }
        if let Some(a) = run
            .job
            .payload_value()
            .get("action_id")
            .and_then(|v| v.as_str())
        {
            self.action_event(
                &mut tx,
                a,
                "compute_terminate_instance",
                Some("Success"),
                row.host_name.as_deref(),
                None,
            )
            .await?;
        }
        let ctx = run.job.ctx();
        self.events
            .record(
                &mut tx,
                NewEvent::new(&ctx, Some(&row.project_id), KIND_SERVER, &id, "deleted")
                    .status("DELETED")
                    .message("Deleted"),
            )
            .await?;
        tx.commit().await.map_err(Error::from)?;
        self.events.committed();
        Ok("Deleted".into())
    }
}
