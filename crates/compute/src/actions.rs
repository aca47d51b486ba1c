//! Server actions (start, stop, reboot, pause, suspend and their reverses), lock and
//! unlock, the console log, and the instance-action log Nova keeps of each request.
//! An action is accepted only from the states Nova accepts it in, sets its task state
//! with one conditional update (so two actions cannot race), and runs as a job.

use ferrostack_core::events::NewEvent;
use ferrostack_core::jobs::NewJob;
use ferrostack_core::{ids, time, Action, Ctx, Error, Result};
use ferrostack_types::compute::{InstanceAction, InstanceActionEvent};
use serde_json::json;

use crate::status::{self, *};
use crate::{Compute, JOB_ACTION, KIND_SERVER};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerAction {
    Start,
    Stop,
    Reboot { hard: bool },
    Pause,
    Unpause,
    Suspend,
    Resume,
    Resize,
    Migrate,
    RevertResize,
    LiveMigrate,
    Evacuate,
    Rebuild,
    Rescue,
    Unrescue,
    Shelve,
    ShelveOffload,
    Unshelve,
    CreateImage,
}

impl ServerAction {
    /// Nova's action name (instance actions, errors).
    pub fn name(self) -> &'static str {
        match self {
            ServerAction::Start => "start",
            ServerAction::Stop => "stop",
            ServerAction::Reboot { .. } => "reboot",
            ServerAction::Pause => "pause",
            ServerAction::Unpause => "unpause",
            ServerAction::Suspend => "suspend",
            ServerAction::Resume => "resume",
            ServerAction::Resize => "resize",
            ServerAction::Migrate => "migrate",
            ServerAction::RevertResize => "revertResize",
            ServerAction::LiveMigrate => "live-migration",
            ServerAction::Evacuate => "evacuate",
            ServerAction::Rebuild => "rebuild",
            ServerAction::Rescue => "rescue",
            ServerAction::Unrescue => "unrescue",
            ServerAction::Shelve => "shelve",
            ServerAction::ShelveOffload => "shelveOffload",
            ServerAction::Unshelve => "unshelve",
            ServerAction::CreateImage => "createImage",
        }
    }

    pub fn parse(name: &str, hard: bool) -> Option<ServerAction> {
        Some(match name {
            "start" => ServerAction::Start,
            "stop" => ServerAction::Stop,
            "reboot" => ServerAction::Reboot { hard },
            "pause" => ServerAction::Pause,
            "unpause" => ServerAction::Unpause,
            "suspend" => ServerAction::Suspend,
            "resume" => ServerAction::Resume,
            "resize" => ServerAction::Resize,
            "migrate" => ServerAction::Migrate,
            "revertResize" => ServerAction::RevertResize,
            "live-migration" => ServerAction::LiveMigrate,
            "evacuate" => ServerAction::Evacuate,
            "rebuild" => ServerAction::Rebuild,
            "rescue" => ServerAction::Rescue,
            "unrescue" => ServerAction::Unrescue,
            "shelve" => ServerAction::Shelve,
            "shelveOffload" => ServerAction::ShelveOffload,
            "unshelve" => ServerAction::Unshelve,
            "createImage" => ServerAction::CreateImage,
            _ => return None,
        })
    }

    /// The vm_states it may start from, and the task state it sets.
    fn rule(self) -> (&'static [&'static str], &'static str) {
        match self {
            ServerAction::Start => (&[STOPPED], POWERING_ON),
            ServerAction::Stop => (&[ACTIVE, ERROR], POWERING_OFF),
            ServerAction::Reboot { hard: false } => (&[ACTIVE], REBOOTING),
            ServerAction::Reboot { hard: true } => {
                (&[ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR], REBOOTING_HARD)
            }
            ServerAction::Pause => (&[ACTIVE], PAUSING),
            ServerAction::Unpause => (&[PAUSED], UNPAUSING),
            ServerAction::Suspend => (&[ACTIVE], SUSPENDING),
            ServerAction::Resume => (&[SUSPENDED], RESUMING),
            ServerAction::Resize | ServerAction::Migrate => (&[ACTIVE, STOPPED], RESIZE_PREP),
            ServerAction::RevertResize => (&[RESIZED], RESIZE_REVERTING),
            ServerAction::LiveMigrate => (&[ACTIVE, PAUSED], MIGRATING),
            ServerAction::Evacuate | ServerAction::Rebuild => {
                (&[ACTIVE, STOPPED, ERROR], REBUILDING)
            }
            ServerAction::Rescue => (&[ACTIVE, STOPPED, ERROR], RESCUING),
            ServerAction::Unrescue => (&[RESCUED], UNRESCUING),
            ServerAction::Shelve => (&[ACTIVE, STOPPED, PAUSED, SUSPENDED], SHELVING),
            ServerAction::ShelveOffload => (&[SHELVED], SHELVING_OFFLOADING),
            ServerAction::Unshelve => (&[SHELVED, SHELVED_OFFLOADED], UNSHELVING),
            ServerAction::CreateImage => (&[ACTIVE, STOPPED, PAUSED, SUSPENDED], IMAGE_SNAPSHOT),
        }
    }

    /// A plain power change (start, stop, reboot, pause, suspend and their reverses).
    pub(crate) fn is_power(self) -> bool {
        matches!(
            self,
            ServerAction::Start
                | ServerAction::Stop
                | ServerAction::Reboot { .. }
                | ServerAction::Pause
                | ServerAction::Unpause
                | ServerAction::Suspend
                | ServerAction::Resume
        )
    }

    /// Whether the action moves the server's claim (a failure gives the new one back).
    pub(crate) fn moves(self) -> bool {
        matches!(
            self,
            ServerAction::Resize
                | ServerAction::Migrate
                | ServerAction::LiveMigrate
                | ServerAction::Evacuate
                | ServerAction::Unshelve
        )
    }

    /// The task state it runs under.
    pub(crate) fn task_state(self) -> &'static str {
        self.rule().1
    }

    /// The event name Nova records for it.
    pub(crate) fn event(self) -> &'static str {
        match self {
            ServerAction::Start => "compute_start_instance",
            ServerAction::Stop => "compute_stop_instance",
            ServerAction::Reboot { .. } => "compute_reboot_instance",
            ServerAction::Pause => "compute_pause_instance",
            ServerAction::Unpause => "compute_unpause_instance",
            ServerAction::Suspend => "compute_suspend_instance",
            ServerAction::Resume => "compute_resume_instance",
            ServerAction::Resize | ServerAction::Migrate => "compute_resize_instance",
            ServerAction::RevertResize => "compute_revert_resize",
            ServerAction::LiveMigrate => "compute_live_migration",
            ServerAction::Evacuate | ServerAction::Rebuild => "compute_rebuild_instance",
            ServerAction::Rescue => "compute_rescue_instance",
            ServerAction::Unrescue => "compute_unrescue_instance",
            ServerAction::Shelve => "compute_shelve_instance",
            ServerAction::ShelveOffload => "compute_shelve_offload_instance",
            ServerAction::Unshelve => "compute_unshelve_instance",
            ServerAction::CreateImage => "compute_snapshot_instance",
        }
    }
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    id: String,
    server_id: String,
    project_id: String,
    user_id: Option<String>,
    action: String,
    request_id: String,
    message: Option<String>,
    start_time: String,
    updated_at: String,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    event: String,
    start_time: String,
    finish_time: Option<String>,
    result: Option<String>,
    host: Option<String>,
    details: Option<String>,
}

impl Compute {
    /// Ask for `action` on a server: checked now, carried out by a job.
    pub async fn server_action(&self, ctx: &Ctx, id: &str, action: ServerAction) -> Result<()> {
        let (tx, row, action_id) = self.begin_action(ctx, id, action).await?;
        self.queue_action(tx, ctx, &row, action, &action_id, json!({}))
            .await
    }

    /// The checks and the conditional update every action starts with, and its
    /// instance action: the caller adds what its action needs to the transaction, then
    /// [`Compute::queue_action`] commits it with the job.
    pub(crate) async fn begin_action(
        &self,
        ctx: &Ctx,
        id: &str,
        action: ServerAction,
    ) -> Result<(
        sqlx::Transaction<'static, sqlx::Any>,
        crate::servers::ServerRow,
        String,
    )> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        Self::check_lock(ctx, &row, &format!("sent '{}'", action.name()))?;
        let (from, task) = action.rule();
        let refuse = |vm: &str, t: Option<&str>| {
            Error::conflict(match t {
                Some(t) => format!(
                    "Cannot '{}' instance {id} while it is in task_state {t}.",
                    action.name()
                ),
                None => format!(
                    "Cannot '{}' instance {id} while it is in vm_state {vm}.",
                    action.name()
                ),
            })
        };
        if row.task_state.is_some() || !from.contains(&row.vm_state.as_str()) {
            return Err(refuse(&row.vm_state, row.task_state.as_deref()));
        }
        if row.host_id.is_none() && action != ServerAction::Unshelve {
            return Err(Error::conflict(format!(
                "Cannot '{}' instance {id}: it was never placed on a host.",
                action.name()
            )));
        }
        let mut tx = self.db.pool.begin().await?;
        // The states are this file's constants, never input: safe to write into the SQL.
        let states = from
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "UPDATE servers SET task_state = $2, updated_at = $3 WHERE id = $1 AND task_state IS NULL AND vm_state IN ({states})"
        );
        let q = sqlx::query(&text)
            .bind(&row.id)
            .bind(task)
            .bind(time::to_db(&time::now()));
        if q.execute(&mut *tx).await?.rows_affected() != 1 {
            let now = self.server_row(id).await?;
            return Err(refuse(&now.vm_state, now.task_state.as_deref()));
        }
        let action_id = self
            .action_start(&mut tx, ctx, &row.id, &row.project_id, action.name())
            .await?;
        Ok((tx, row, action_id))
    }

    /// Queue the action's job and its event, and commit.
    pub(crate) async fn queue_action(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        ctx: &Ctx,
        row: &crate::servers::ServerRow,
        action: ServerAction,
        action_id: &str,
        extra: serde_json::Value,
    ) -> Result<()> {
        let task = action.task_state();
        self.action_event(
            &mut tx,
            action_id,
            action.event(),
            None,
            row.host_name.as_deref(),
            None,
        )
        .await?;
        let hard = matches!(action, ServerAction::Reboot { hard: true });
        let mut payload = json!({ "action": action.name(), "hard": hard, "action_id": action_id });
        if let (Some(p), serde_json::Value::Object(e)) = (payload.as_object_mut(), extra) {
            p.extend(e);
        }
        self.jobs
            .enqueue(
                &mut tx,
                ctx,
                NewJob {
                    kind: JOB_ACTION.into(),
                    subject_kind: KIND_SERVER.into(),
                    subject: row.id.clone(),
                    project_id: Some(row.project_id.clone()),
                    payload,
                    message: format!("{} requested", action.name()),
                },
            )
            .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&row.project_id),
                    KIND_SERVER,
                    &row.id,
                    action.name(),
                )
                .status(status::status(&row.vm_state, Some(task)))
                .message(format!("{} requested", action.name())),
            )
            .await?;
        tx.commit().await?;
        self.jobs.wake(JOB_ACTION);
        Ok(())
    }

    /// Lock a server: its project's members may no longer change it (admins may).
    pub async fn server_lock(&self, ctx: &Ctx, id: &str, reason: Option<String>) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        if reason.as_ref().is_some_and(|r| r.len() > 255) {
            return Err(Error::bad_request(
                "Invalid input for field 'locked_reason': at most 255 characters.",
            ));
        }
        let by = if ctx.is_admin() && ctx.project_id() != Some(row.project_id.as_str()) {
            "admin"
        } else {
            "owner"
        };
        self.set_lock(ctx, &row.id, &row.project_id, true, reason, Some(by))
            .await
    }

    /// Unlock: whoever locked it, except that a lock set by an admin needs an admin.
    pub async fn server_unlock(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        let by: Option<String> = sqlx::query_scalar("SELECT locked_by FROM servers WHERE id = $1")
            .bind(&row.id)
            .fetch_one(&self.db.pool)
            .await?;
        if by.as_deref() == Some("admin") && !ctx.is_admin() {
            return Err(Error::forbidden(format!(
                "Server {id} was locked by an admin: only an admin may unlock it."
            )));
        }
        self.set_lock(ctx, &row.id, &row.project_id, false, None, None)
            .await
    }

    async fn set_lock(
        &self,
        ctx: &Ctx,
        id: &str,
        project: &str,
        locked: bool,
        reason: Option<String>,
        by: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("UPDATE servers SET locked = $2, locked_reason = $3, locked_by = $4, updated_at = $5 WHERE id = $1")
            .bind(id)
            .bind(locked as i64)
            .bind(&reason)
            .bind(by)
            .bind(time::to_db(&time::now()))
            .execute(&mut *tx)
            .await?;
        let name = if locked { "lock" } else { "unlock" };
        let action_id = self.action_start(&mut tx, ctx, id, project, name).await?;
        sqlx::query("UPDATE instance_actions SET message = NULL WHERE id = $1")
            .bind(&action_id)
            .execute(&mut *tx)
            .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(project), KIND_SERVER, id, name),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        Ok(())
    }

    /// The last `length` lines of the server's serial console (all without one).
    pub async fn console_output(&self, ctx: &Ctx, id: &str, length: Option<i64>) -> Result<String> {
        let row = self.server_for(ctx, id, Action::Read).await?;
        if row.vm_state == BUILDING && row.launched_at.is_none() && row.host_id.is_none() {
            return Err(Error::conflict(format!("Instance {id} is not ready yet.")));
        }
        if let Some(n) = length {
            if n < -1 {
                return Err(Error::bad_request(
                    "Invalid input for field 'length': at least -1.",
                ));
            }
        }
        let path = self.instance_dir(&row.id).join("console.log");
        // Read at most the last 1 MiB: a console log can grow without end.
        let text = match tokio::fs::File::open(&path).await {
            Ok(mut f) => {
                use tokio::io::{AsyncReadExt, AsyncSeekExt};
                let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
                let start = len.saturating_sub(1 << 20);
                f.seek(std::io::SeekFrom::Start(start))
                    .await
                    .map_err(Error::internal)?;
                let mut buf = Vec::new();
                f.read_to_end(&mut buf).await.map_err(Error::internal)?;
                String::from_utf8_lossy(&buf).into_owned()
            }
            Err(_) => String::new(),
        };
        Ok(match length {
            Some(n) if n >= 0 => {
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(n as usize)..].join("\n")
            }
            _ => text,
        })
    }

    /// Open an instance action (one per request that changes the server).
    pub(crate) async fn action_start(
        &self,
        conn: &mut sqlx::AnyConnection,
        ctx: &Ctx,
        server: &str,
        project: &str,
        action: &str,
    ) -> Result<String> {
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO instance_actions (id, server_id, project_id, user_id, action, request_id, start_time, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(server)
        .bind(project)
        .bind(&ctx.user_id)
        .bind(action)
        .bind(if ctx.request_id.is_empty() { ids::new_request_id() } else { ctx.request_id.clone() })
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        Ok(id)
    }

    /// Start (result `None`) or finish an action's event.
    pub(crate) async fn action_event(
        &self,
        conn: &mut sqlx::AnyConnection,
        action_id: &str,
        event: &str,
        result: Option<&str>,
        host: Option<&str>,
        details: Option<&str>,
    ) -> Result<()> {
        let now = time::to_db(&time::now());
        let finish = result.map(|_| now.clone());
        let n = sqlx::query(
            "UPDATE instance_action_events SET finish_time = $3, result = $4, details = COALESCE($5, details) WHERE action_id = $1 AND event = $2",
        )
        .bind(action_id)
        .bind(event)
        .bind(&finish)
        .bind(result)
        .bind(details)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if n == 0 {
            sqlx::query(
                "INSERT INTO instance_action_events (action_id, event, start_time, finish_time, result, host, details) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(action_id)
            .bind(event)
            .bind(&now)
            .bind(&finish)
            .bind(result)
            .bind(host)
            .bind(details)
            .execute(&mut *conn)
            .await?;
        }
        if let Some(r) = result {
            let message = (r == "Error").then(|| details.unwrap_or("Error").to_string());
            sqlx::query("UPDATE instance_actions SET updated_at = $2, message = COALESCE($3, message) WHERE id = $1")
                .bind(action_id)
                .bind(&now)
                .bind(message)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// The server's actions, newest first (also after the server is deleted).
    pub async fn instance_actions(&self, ctx: &Ctx, server: &str) -> Result<Vec<InstanceAction>> {
        let rows: Vec<ActionRow> = sqlx::query_as(
            "SELECT id, server_id, project_id, user_id, action, request_id, message, start_time, updated_at FROM instance_actions WHERE server_id = $1 ORDER BY start_time DESC, id DESC",
        )
        .bind(server)
        .fetch_all(&self.db.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Err(Error::not_found("server", server));
        };
        ctx.authorize(
            Action::Read,
            &ferrostack_core::Owned::of_project(KIND_SERVER, server, &first.project_id),
        )?;
        let mut out = Vec::new();
        for r in rows {
            out.push(self.action_view(r, false).await?);
        }
        Ok(out)
    }

    pub async fn instance_action(
        &self,
        ctx: &Ctx,
        server: &str,
        request_id: &str,
    ) -> Result<InstanceAction> {
        let row: Option<ActionRow> = sqlx::query_as(
            "SELECT id, server_id, project_id, user_id, action, request_id, message, start_time, updated_at FROM instance_actions WHERE server_id = $1 AND request_id = $2 ORDER BY start_time DESC",
        )
        .bind(server)
        .bind(request_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let row = row.ok_or_else(|| Error::not_found("instance action", request_id))?;
        ctx.authorize(
            Action::Read,
            &ferrostack_core::Owned::of_project(KIND_SERVER, server, &row.project_id),
        )?;
        self.action_view(row, true).await
    }

    async fn action_view(&self, r: ActionRow, events: bool) -> Result<InstanceAction> {
        let evs: Vec<EventRow> = if events {
            sqlx::query_as("SELECT event, start_time, finish_time, result, host, details FROM instance_action_events WHERE action_id = $1 ORDER BY start_time, event")
                .bind(&r.id)
                .fetch_all(&self.db.pool)
                .await?
        } else {
            Vec::new()
        };
        Ok(InstanceAction {
            id: r.id,
            server_id: r.server_id,
            project_id: r.project_id,
            user_id: r.user_id,
            action: r.action,
            request_id: r.request_id,
            message: r.message,
            start_time: r.start_time,
            updated_at: r.updated_at,
            events: evs
                .into_iter()
                .map(|e| InstanceActionEvent {
                    event: e.event,
                    start_time: e.start_time,
                    finish_time: e.finish_time,
                    result: e.result,
                    host: e.host,
                    details: e.details,
                })
                .collect(),
        })
    }
}

/// What the console offers on a server: the actions the caller may ask for in the
/// server's state, by the same rules as the requests (a reader, another project or a
/// lock held by someone else get none). Names: the [`ServerAction`] names, and
/// `lock`, `unlock`, `delete`, `confirmResize`, `createImage`, `console`.
pub fn offered(ctx: &Ctx, s: &ferrostack_types::compute::Server) -> Vec<&'static str> {
    let own = ctx.project_id() == Some(s.project_id.as_str()) || ctx.is_admin();
    if !own || !ctx.can_write_project() {
        return Vec::new();
    }
    if s.task_state.as_deref() == Some(DELETING) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let locked = s.locked && !ctx.is_admin();
    let idle = s.task_state.is_none();
    if !locked && idle {
        for a in [
            ServerAction::Start,
            ServerAction::Stop,
            ServerAction::Reboot { hard: false },
            ServerAction::Pause,
            ServerAction::Unpause,
            ServerAction::Suspend,
            ServerAction::Resume,
            ServerAction::Resize,
            ServerAction::RevertResize,
            ServerAction::Rebuild,
            ServerAction::Rescue,
            ServerAction::Unrescue,
            ServerAction::Shelve,
            ServerAction::Unshelve,
            ServerAction::CreateImage,
        ] {
            if a.rule().0.contains(&s.vm_state.as_str())
                && (s.host_id.is_some() || a == ServerAction::Unshelve)
            {
                out.push(a.name());
            }
        }
        if s.vm_state == RESIZED {
            out.push("confirmResize");
        }
        if [ACTIVE, PAUSED, RESCUED].contains(&s.vm_state.as_str()) {
            out.push("console");
        }
    }
    if s.locked {
        out.push("unlock");
    } else {
        out.push("lock");
    }
    if !locked {
        out.push("delete");
    }
    out
}
