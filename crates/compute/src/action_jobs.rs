//! The action jobs (start, stop, reboot, pause, suspend and their reverses): the
//! libvirt calls, waiting for the domain's state, and the end of the action recorded —
//! the new state, or the old one with the reason in its instance action.

use ferrostack_core::events::NewEvent;
use ferrostack_core::jobs::{JobFailure, JobRun, Outcome};
use ferrostack_core::{time, Ctx, Error, Result};
use ferrostack_hypervisor::{HvError, PowerState};
use ferrostack_types::compute::Host;

use crate::actions::ServerAction;
use crate::lifecycle::hv_failure;
use crate::status::{self, *};
use crate::{Compute, KIND_SERVER};

impl Compute {
    pub(crate) async fn action_job(&self, run: JobRun) -> Outcome {
        let id = run.job.subject.clone();
        let p = run.job.payload_value();
        let name = p
            .get("action")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let hard = p.get("hard").and_then(|v| v.as_bool()).unwrap_or(false);
        let action = ServerAction::parse(&name, hard)
            .ok_or_else(|| JobFailure::user(format!("Unknown action {name}.")))?;
        // A delete (or anything else) took the server over since this was queued.
        let now = match self.server_row(&id).await {
            Ok(r) => r,
            Err(Error::NotFound { .. }) => return Ok("The server was deleted.".into()),
            Err(e) => return Err(e.into()),
        };
        if now.task_state.as_deref() != Some(action.task_state()) {
            return Ok(format!(
                "{} superseded: the server is now {}",
                action.name(),
                now.task_state.unwrap_or_else(|| now.vm_state.clone())
            ));
        }
        let r = self.action_steps(&run, action).await;
        match r {
            Ok((vm, power)) => {
                self.end_action(Some(&run), &id, Some((vm, power)), "")
                    .await?;
                Ok(format!("{} done", action.name()))
            }
            Err(f) if f.is_lost() || f.retry => Err(f),
            Err(f) => {
                self.change_failed(Some(&run), &run.job, action, &f.message)
                    .await;
                let _ = self.end_action(Some(&run), &id, None, &f.message).await;
                Err(f)
            }
        }
    }

    async fn action_steps(
        &self,
        run: &JobRun,
        action: ServerAction,
    ) -> std::result::Result<(&'static str, PowerState), JobFailure> {
        let id = run.job.subject.clone();
        let row = self.server_row(&id).await?;
        if !action.is_power() {
            return self.change_steps(run, action, &row).await;
        }
        let host = self
            .host_row(row.host_id.as_deref().unwrap_or_default())
            .await?;
        let hv = self.hv.host(&host.uri);
        let fail = |what: &'static str| {
            let host = host.clone();
            move |e: HvError| hv_failure(what, &host, e)
        };
        run.progress(
            action.name(),
            30,
            &format!("{} on {}", action.name(), host.name),
        )
        .await?;
        Ok(match action {
            ServerAction::Start => {
                self.power_on(&host, &id).await?;
                (ACTIVE, PowerState::Running)
            }
            ServerAction::Stop => {
                self.power_off(&host, &id, true).await?;
                (STOPPED, PowerState::Shutdown)
            }
            ServerAction::Reboot { hard } => {
                self.power_off(&host, &id, !hard).await?;
                self.power_on(&host, &id).await?;
                (ACTIVE, PowerState::Running)
            }
            ServerAction::Pause => {
                hv.pause(&id).await.map_err(fail("pause the guest"))?;
                (PAUSED, PowerState::Paused)
            }
            ServerAction::Unpause => {
                hv.unpause(&id).await.map_err(fail("unpause the guest"))?;
                (ACTIVE, PowerState::Running)
            }
            ServerAction::Suspend => {
                hv.suspend(&id).await.map_err(fail("suspend the guest"))?;
                (SUSPENDED, PowerState::Suspended)
            }
            ServerAction::Resume => {
                self.power_on(&host, &id).await?;
                (ACTIVE, PowerState::Running)
            }
            other => return self.change_steps(run, other, &row).await,
        })
    }

    /// What a failed change leaves: its claims given back, and the server in ERROR
    /// when it may be half-moved.
    pub(crate) async fn change_failed(
        &self,
        run: Option<&JobRun>,
        job: &ferrostack_core::jobs::Job,
        action: ServerAction,
        message: &str,
    ) {
        if action.moves() || action == ServerAction::CreateImage {
            if let Err(e) = self.undo_change(job, action).await {
                tracing::error!(server = %job.subject, error = %e.detail(), "cannot undo a failed change");
            }
        }
        if Self::fails_to_error(action) {
            if let Err(e) = self.error_server(run, &job.subject, message).await {
                tracing::error!(server = %job.subject, error = %e.detail(), "cannot record a failed change");
            }
        }
    }

    /// Stop the guest: ask it to shut down first (`graceful`), and pull the plug after
    /// the shutdown timeout. A domain already off (or gone) is left as it is.
    pub(crate) async fn power_off(
        &self,
        host: &Host,
        id: &str,
        graceful: bool,
    ) -> std::result::Result<(), JobFailure> {
        let hv = self.hv.host(&host.uri);
        match hv.state(id).await {
            Ok(Some(PowerState::Shutdown)) | Ok(None) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(hv_failure("report the domain's state", host, e)),
        }
        if graceful {
            hv.shutdown(id)
                .await
                .map_err(|e| hv_failure("shut the guest down", host, e))?;
            let down = self
                .wait_for(host, id, PowerState::Shutdown, self.cfg.shutdown_timeout)
                .await
                .map_err(|e| hv_failure("report the domain's state", host, e))?;
            if down {
                return Ok(());
            }
            tracing::info!(server = %id, "the guest did not shut down in time; powering it off");
        }
        hv.destroy(id)
            .await
            .map_err(|e| hv_failure("power the guest off", host, e))
    }

    /// Start the domain and wait until it runs.
    pub(crate) async fn power_on(
        &self,
        host: &Host,
        id: &str,
    ) -> std::result::Result<(), JobFailure> {
        let hv = self.hv.host(&host.uri);
        hv.start(id)
            .await
            .map_err(|e| hv_failure("start the domain", host, e))?;
        let up = self
            .wait_for(host, id, PowerState::Running, self.cfg.boot_timeout)
            .await
            .map_err(|e| hv_failure("report the domain's state", host, e))?;
        if up {
            Ok(())
        } else {
            Err(JobFailure::user(format!(
                "The guest did not reach running on {}.",
                host.name
            )))
        }
    }

    /// An action ended: the new state (or, on failure, the old one with the reason in
    /// its instance action), task state cleared unless a delete took over.
    pub(crate) async fn end_action(
        &self,
        run: Option<&JobRun>,
        id: &str,
        done: Option<(&str, PowerState)>,
        failure: &str,
    ) -> Result<()> {
        let row = match self.server_row(id).await {
            Ok(r) => r,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        if let Some(run) = run {
            run.fence(&mut tx).await?;
        }
        let (vm, power) = match done {
            Some((vm, p)) => (vm.to_string(), p.code()),
            None => (row.vm_state.clone(), row.power_state),
        };
        sqlx::query(
            "UPDATE servers SET vm_state = $2, power_state = $3, task_state = NULL, updated_at = $4 \
             WHERE id = $1 AND COALESCE(task_state, '') <> 'deleting'",
        )
        .bind(id)
        .bind(&vm)
        .bind(power)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let p = run.map(|r| r.job.payload_value()).unwrap_or_default();
        let action = p
            .get("action")
            .and_then(|v| v.as_str())
            .and_then(|a| ServerAction::parse(a, false));
        if let (Some(a), Some(action)) = (p.get("action_id").and_then(|v| v.as_str()), action) {
            let result = if done.is_some() { "Success" } else { "Error" };
            self.action_event(
                &mut tx,
                a,
                action.event(),
                Some(result),
                row.host_name.as_deref(),
                (!failure.is_empty()).then_some(failure),
            )
            .await?;
        }
        let ctx = run
            .map(|r| r.job.ctx())
            .unwrap_or_else(|| Ctx::internal(""));
        let mut ev = NewEvent::new(&ctx, Some(&row.project_id), KIND_SERVER, id, "state")
            .status(status::status(&vm, None));
        if !failure.is_empty() {
            ev = ev.message(failure);
        }
        self.events.record(&mut tx, ev).await?;
        tx.commit().await?;
        self.events.committed();
        Ok(())
    }
}
