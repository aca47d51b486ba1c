//! Durable jobs: all long work (image import today; boot, attach, stack create next) is
//! a row of `jobs`, and its state lives there, not in a task.
//!
//! A worker claims a job with a lease (`lease_owner`, `lease_expires_at`, one
//! conditional update, so two workers — in one process or in two sharing PostgreSQL —
//! cannot both claim it), renews the lease while it works, and every write it makes to
//! the row is fenced by the lease: a worker that lost its lease cannot overwrite the
//! one that took over, and it stops. A job whose lease ran out (its worker died, was
//! killed -9, lost its host) is claimed again by whichever worker looks next; start-up
//! resets nothing. A process that starts also frees leases held by an earlier process
//! of this host that no longer runs, so a restart picks its jobs up at once.
//!
//! Handlers make each step idempotent and record it with [`JobRun::checkpoint`], so a
//! job taken over resumes from its last finished step. A failure keeps the cause for
//! the operator (`last_error` and the log, with the job's request id) and a reason the
//! user can act on in `message`. A job that keeps dying is given up after
//! `max_attempts` claims.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tracing::Instrument;

use crate::db::{Arg, Sql};
use crate::events::{Events, NewEvent};
use crate::{ids, time, Ctx, Db, Error, Result};

pub const PENDING: &str = "pending";
pub const RUNNING: &str = "running";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

const COLUMNS: &str = "SELECT id, kind, subject, project_id, user_id, request_id, payload, state, step, progress, message, attempts, max_attempts, lease_owner, lease_expires_at, last_error, created_at, updated_at FROM jobs";

/// One job, as its row says.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    /// The resource the job works on (an image id, a server id).
    pub subject: String,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    /// JSON: the job's input and what its finished steps recorded.
    pub payload: String,
    pub state: String,
    pub step: String,
    pub progress: i64,
    pub message: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Job {
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.payload)
            .map_err(|e| Error::internal(format!("job {} payload: {e}", self.id)))
    }

    pub fn payload_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }

    /// The caller the job acts for: the project and user that asked, and their request.
    pub fn ctx(&self) -> Ctx {
        Ctx::for_job(
            self.project_id.as_deref(),
            self.user_id.as_deref(),
            self.request_id.as_deref().unwrap_or(""),
        )
    }
}

/// A job to queue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: String,
    /// The resource kind of `subject`, for the events the job publishes.
    pub subject_kind: String,
    pub subject: String,
    pub project_id: Option<String>,
    pub payload: serde_json::Value,
    pub message: String,
}

/// Why a job did not finish: words for the user, and the cause for the operator.
#[derive(Debug)]
pub struct JobFailure {
    pub message: String,
    pub cause: Option<String>,
    /// Put the job back in the queue (the cause is passing: a host down); it counts
    /// as an attempt.
    pub retry: bool,
}

impl JobFailure {
    /// A reason the user can act on; nothing more for the operator.
    pub fn user(message: impl Into<String>) -> Self {
        JobFailure {
            message: message.into(),
            cause: None,
            retry: false,
        }
    }
    /// A reason for the user and the real cause for the log.
    pub fn because(message: impl Into<String>, cause: impl std::fmt::Display) -> Self {
        JobFailure {
            message: message.into(),
            cause: Some(cause.to_string()),
            retry: false,
        }
    }
}

/// What a lost lease's error says (see [`JobFailure::is_lost`]).
const LOST: &str = "was taken over by another worker";

impl JobFailure {
    /// The job's lease was lost (another worker took it over): stop and touch nothing.
    pub fn is_lost(&self) -> bool {
        self.message.contains(LOST)
    }
}

impl From<Error> for JobFailure {
    fn from(e: Error) -> Self {
        match e {
            Error::Internal(detail) => JobFailure {
                message: "An internal error stopped the job; an operator can find its cause in the log by the job's request id.".into(),
                cause: Some(detail),
                retry: false,
            },
            other => JobFailure::user(other.to_string()),
        }
    }
}

pub type Outcome = std::result::Result<String, JobFailure>;
type BoxOutcome = Pin<Box<dyn Future<Output = Outcome> + Send>>;
type Handler = Arc<dyn Fn(JobRun) -> BoxOutcome + Send + Sync>;

#[derive(Clone, Debug)]
pub struct JobsConfig {
    /// How long a claim holds without renewal; renewed every third of it.
    pub lease: Duration,
    /// How often idle workers look for jobs queued by other processes (and leases
    /// that ran out); jobs queued in this process wake them at once.
    pub poll: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(2),
        }
    }
}

struct Kind {
    subject_kind: String,
    wake: Arc<Notify>,
}

/// The job runner of one process.
pub struct Jobs {
    db: Db,
    events: Arc<Events>,
    cfg: JobsConfig,
    /// This worker's name in leases: host, process id and a random part.
    owner: String,
    kinds: Mutex<HashMap<String, Kind>>,
    /// What to undo when a job of a kind is given up (see `on_give_up`).
    give_ups: Mutex<HashMap<String, GiveUp>>,
}

type GiveUp = Arc<dyn Fn(Job) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

impl Jobs {
    pub fn new(db: Db, events: Arc<Events>, cfg: JobsConfig) -> Arc<Jobs> {
        let owner = crate::process::new_name();
        Arc::new(Jobs {
            db,
            events,
            cfg,
            owner,
            kinds: Mutex::new(HashMap::new()),
            give_ups: Mutex::new(HashMap::new()),
        })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Queue a job inside the transaction that asks for it (the job exists exactly
    /// when the change that needs it does). Call [`Jobs::wake`] after the commit.
    pub async fn enqueue(
        &self,
        conn: &mut sqlx::AnyConnection,
        ctx: &Ctx,
        job: NewJob,
    ) -> Result<String> {
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO jobs (id, kind, subject, project_id, user_id, request_id, payload, state, message, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $9)",
        )
        .bind(&id)
        .bind(&job.kind)
        .bind(&job.subject)
        .bind(&job.project_id)
        .bind(&ctx.user_id)
        .bind(Some(ctx.request_id.clone()).filter(|r| !r.is_empty()))
        .bind(job.payload.to_string())
        .bind(&job.message)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        let ev = NewEvent::new(
            ctx,
            job.project_id.as_deref(),
            &job.subject_kind,
            &job.subject,
            "job.queued",
        )
        .status(PENDING)
        .message(job.message.clone());
        self.events.record(conn, ev).await?;
        Ok(id)
    }

    /// Jobs of `kind` were queued: wake this process's workers for it.
    pub fn wake(&self, kind: &str) {
        if let Some(k) = self
            .kinds
            .lock()
            .ok()
            .and_then(|m| m.get(kind).map(|k| k.wake.clone()))
        {
            k.notify_one();
        }
        self.events.committed();
    }

    pub async fn get(&self, id: &str) -> Result<Job> {
        sqlx::query_as::<_, Job>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| Error::not_found("job", id))
    }

    /// The jobs of `kind` about `subject`, newest first.
    pub async fn for_subject(&self, kind: &str, subject: &str) -> Result<Vec<Job>> {
        Ok(sqlx::query_as::<_, Job>(&format!(
            "{COLUMNS} WHERE kind = $1 AND subject = $2 ORDER BY created_at DESC, id"
        ))
        .bind(kind)
        .bind(subject)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// A page of the jobs of `kind` (of `project` when given; in `state` when given),
    /// in `sort` (keys over the jobs table's columns), after the job `marker`.
    pub async fn page(
        &self,
        kind: &str,
        filter: (Option<&str>, Option<&str>),
        sort: &crate::list::Sort,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Job>, bool)> {
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE kind = ").bind(Arg::Text(kind.into()));
        sql.and_eq("project_id", filter.0.map(|p| Arg::Text(p.into())));
        sql.and_eq("state", filter.1.map(|s| Arg::Text(s.into())));
        if let Some(m) = marker {
            sort.after_row(&mut sql, "jobs", m);
        }
        sort.order_and_limit(&mut sql, limit);
        let rows = sql.query_as::<Job>().fetch_all(&self.db.pool).await?;
        Ok(crate::list::page(rows, limit))
    }

    /// Forget the jobs about `subject` (it was deleted), inside its transaction.
    pub async fn delete_for_subject(
        conn: &mut sqlx::AnyConnection,
        kind: &str,
        subject: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM jobs WHERE kind = $1 AND subject = $2")
            .bind(kind)
            .bind(subject)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Run jobs of `kind` with `handler`, at most `concurrency` at a time in this
    /// process. Events about the jobs name the subject as a `subject_kind`.
    pub fn register<F, Fut>(
        self: &Arc<Self>,
        kind: &str,
        subject_kind: &str,
        concurrency: usize,
        handler: F,
    ) where
        F: Fn(JobRun) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let wake = Arc::new(Notify::new());
        if let Ok(mut m) = self.kinds.lock() {
            m.insert(
                kind.to_string(),
                Kind {
                    subject_kind: subject_kind.to_string(),
                    wake: wake.clone(),
                },
            );
        }
        let handler: Handler = Arc::new(move |run| Box::pin(handler(run)));
        for _ in 0..concurrency.max(1) {
            let me = self.clone();
            let kind = kind.to_string();
            let handler = handler.clone();
            let wake = wake.clone();
            tokio::spawn(async move {
                if let Err(e) = me.free_dead_local_leases(&kind).await {
                    tracing::warn!(error = %e.detail(), "cannot free the leases of a stopped process");
                }
                loop {
                    match me.claim(&kind).await {
                        Ok(Some(job)) => me.execute(job, handler.clone()).await,
                        Ok(None) => {
                            let _ = tokio::time::timeout(me.cfg.poll, wake.notified()).await;
                        }
                        Err(e) => {
                            tracing::error!(kind = %kind, error = %e.detail(), "job worker cannot claim jobs");
                            tokio::time::sleep(me.cfg.poll).await;
                        }
                    }
                }
            });
        }
    }

    /// What to undo when a job of `kind` is given up after `max_attempts` (its handler
    /// never finished, so its own clean-up never ran): called once, after the job is
    /// marked failed. Register it before `register`.
    pub fn on_give_up<F, Fut>(&self, kind: &str, undo: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let undo: GiveUp = Arc::new(move |job| Box::pin(undo(job)));
        if let Ok(mut m) = self.give_ups.lock() {
            m.insert(kind.to_string(), undo);
        }
    }

    /// Leases held by an earlier process of this host that no longer runs end now.
    async fn free_dead_local_leases(&self, kind: &str) -> Result<()> {
        let held: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, lease_owner FROM jobs WHERE kind = $1 AND state = 'running' AND lease_owner IS NOT NULL",
        )
        .bind(kind)
        .fetch_all(&self.db.pool)
        .await?;
        for (id, owner) in held {
            if owner != self.owner && crate::process::is_gone(&owner) {
                tracing::warn!(job = %id, owner = %owner, "the process that ran this job is gone: its lease ends now");
                sqlx::query("UPDATE jobs SET lease_expires_at = $3 WHERE id = $1 AND lease_owner = $2 AND state = 'running'")
                    .bind(&id)
                    .bind(&owner)
                    .bind(time::to_db(&(time::now() - chrono::Duration::seconds(1))))
                    .execute(&self.db.pool)
                    .await?;
            }
        }
        Ok(())
    }

    fn lease_until(&self) -> String {
        time::to_db(&(time::now() + chrono::Duration::from_std(self.cfg.lease).unwrap_or_default()))
    }

    /// The oldest claimable job of `kind`, claimed with a lease.
    async fn claim(&self, kind: &str) -> Result<Option<Job>> {
        loop {
            let now = time::to_db(&time::now());
            let next: Option<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT id, state, lease_owner FROM jobs WHERE kind = $1 AND (state = 'pending' OR (state = 'running' AND lease_expires_at < $2)) \
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(kind)
            .bind(&now)
            .fetch_optional(&self.db.pool)
            .await?;
            let Some((id, state, previous)) = next else {
                return Ok(None);
            };
            let claimed = sqlx::query(
                "UPDATE jobs SET state = 'running', lease_owner = $3, lease_expires_at = $4, attempts = attempts + 1, updated_at = $2 \
                 WHERE id = $1 AND (state = 'pending' OR (state = 'running' AND lease_expires_at < $2))",
            )
            .bind(&id)
            .bind(&now)
            .bind(&self.owner)
            .bind(self.lease_until())
            .execute(&self.db.pool)
            .await?
            .rows_affected();
            if claimed != 1 {
                continue; // another worker was quicker
            }
            let job = self.get(&id).await?;
            if state == RUNNING {
                tracing::warn!(job = %id, kind = %kind, from = ?previous, attempt = job.attempts, "taking over a job whose lease ran out");
            }
            if job.attempts > job.max_attempts {
                let why = format!(
                    "Given up after {} attempts: the work stopped each time before it finished.",
                    job.max_attempts
                );
                tracing::error!(job = %id, kind = %kind, "{why}");
                let run = JobRun {
                    job: job.clone(),
                    jobs: self.clone_handle(),
                };
                run.finish(Err(JobFailure::user(why))).await;
                let undo = self.give_ups.lock().ok().and_then(|m| m.get(kind).cloned());
                if let Some(undo) = undo {
                    undo(job).await;
                }
                continue;
            }
            return Ok(Some(job));
        }
    }

    fn clone_handle(&self) -> JobsHandle {
        JobsHandle {
            db: self.db.clone(),
            events: self.events.clone(),
            owner: self.owner.clone(),
            lease: self.cfg.lease,
            subject_kinds: self
                .kinds
                .lock()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.subject_kind.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    async fn execute(&self, job: Job, handler: Handler) {
        let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, request = %job.request_id.clone().unwrap_or_default());
        let handle = self.clone_handle();
        let run = JobRun {
            job: job.clone(),
            jobs: handle.clone(),
        };
        let work = handler(run);
        let renew = async {
            loop {
                tokio::time::sleep(self.cfg.lease / 3).await;
                match handle.renew(&job.id, job.attempts).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e.detail(), "cannot renew a job's lease"),
                }
            }
        };
        async {
            tracing::info!(attempt = job.attempts, subject = %job.subject, "job started");
            tokio::select! {
                outcome = work => {
                    let run = JobRun { job: job.clone(), jobs: handle.clone() };
                    run.finish(outcome).await;
                }
                _ = renew => {
                    tracing::warn!("this worker lost the job's lease (another took it over): stopping");
                }
            }
        }
        .instrument(span)
        .await;
    }
}

/// What a running job needs of the runner (cloneable, so a handler can keep it).
#[derive(Clone)]
struct JobsHandle {
    db: Db,
    events: Arc<Events>,
    owner: String,
    lease: Duration,
    subject_kinds: HashMap<String, String>,
}

impl JobsHandle {
    async fn renew(&self, id: &str, attempt: i64) -> Result<bool> {
        let until = time::to_db(
            &(time::now() + chrono::Duration::from_std(self.lease).unwrap_or_default()),
        );
        Ok(sqlx::query(
            "UPDATE jobs SET lease_expires_at = $3 WHERE id = $1 AND lease_owner = $2 AND attempts = $4 AND state = 'running'",
        )
        .bind(id)
        .bind(&self.owner)
        .bind(until)
        .bind(attempt)
        .execute(&self.db.pool)
        .await?
        .rows_affected()
            == 1)
    }
}

/// A job being run: what a handler reads and records through.
pub struct JobRun {
    pub job: Job,
    jobs: JobsHandle,
}

impl JobRun {
    fn lost(&self) -> Error {
        Error::conflict(format!("Job {} {LOST}.", self.job.id))
    }

    fn event(&self, action: &str, status: &str) -> NewEvent {
        let kind = self
            .jobs
            .subject_kinds
            .get(&self.job.kind)
            .cloned()
            .unwrap_or_else(|| self.job.kind.clone());
        NewEvent::new(
            &self.job.ctx(),
            self.job.project_id.as_deref(),
            &kind,
            &self.job.subject,
            action,
        )
        .status(status)
    }

    /// Inside a transaction that makes the job's result visible (an image turning
    /// active): fails unless this claim still holds the job, so a worker that lost
    /// its lease cannot commit over the one that took it over.
    pub async fn fence(&self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        let n = sqlx::query(
            "UPDATE jobs SET updated_at = $3 WHERE id = $1 AND lease_owner = $2 AND attempts = $4 AND state = 'running'",
        )
        .bind(&self.job.id)
        .bind(&self.jobs.owner)
        .bind(time::to_db(&time::now()))
        .bind(self.job.attempts)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if n == 1 {
            Ok(())
        } else {
            Err(self.lost())
        }
    }

    /// Say what the job is doing (`step`, percent of it, in words); renews the lease.
    /// An error means the lease is lost: stop.
    pub async fn progress(&self, step: &str, percent: i64, message: &str) -> Result<()> {
        let percent = percent.clamp(0, 100);
        let mut tx = self.jobs.db.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE jobs SET step = $3, progress = $4, message = $5, updated_at = $6, lease_expires_at = $7 \
             WHERE id = $1 AND lease_owner = $2 AND attempts = $8 AND state = 'running'",
        )
        .bind(&self.job.id)
        .bind(&self.jobs.owner)
        .bind(step)
        .bind(percent)
        .bind(message)
        .bind(time::to_db(&time::now()))
        .bind(time::to_db(&(time::now() + chrono::Duration::from_std(self.jobs.lease).unwrap_or_default())))
        .bind(self.job.attempts)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(self.lost());
        }
        let ev = self
            .event("job.progress", RUNNING)
            .progress(percent)
            .message(message);
        self.jobs.events.record(&mut tx, ev).await?;
        tx.commit().await?;
        self.jobs.events.committed();
        Ok(())
    }

    /// Record that `step` finished, merging `data` into the payload: a job taken over
    /// later starts after it (`self.job.step`, `self.job.payload`).
    pub async fn checkpoint(&mut self, step: &str, data: serde_json::Value) -> Result<()> {
        let mut payload = self.job.payload_value();
        if let (Some(p), serde_json::Value::Object(d)) = (payload.as_object_mut(), data) {
            p.extend(d);
        }
        let text = payload.to_string();
        let n = sqlx::query(
            "UPDATE jobs SET step = $3, payload = $4, updated_at = $5 WHERE id = $1 AND lease_owner = $2 AND attempts = $6 AND state = 'running'",
        )
        .bind(&self.job.id)
        .bind(&self.jobs.owner)
        .bind(step)
        .bind(&text)
        .bind(time::to_db(&time::now()))
        .bind(self.job.attempts)
        .execute(&self.jobs.db.pool)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(self.lost());
        }
        self.job.step = step.to_string();
        self.job.payload = text;
        Ok(())
    }

    async fn finish(&self, outcome: Outcome) {
        let (state, message, cause, retry) = match outcome {
            Ok(m) => (SUCCEEDED, m, None, false),
            Err(f) if f.retry => (PENDING, f.message, f.cause, true),
            Err(f) => (FAILED, f.message, f.cause, false),
        };
        if let Some(c) = &cause {
            tracing::error!(job = %self.job.id, cause = %c, message = %message, "job failed");
        } else if state == FAILED {
            tracing::info!(job = %self.job.id, reason = %message, "job failed");
        } else {
            tracing::info!(job = %self.job.id, "job {state}");
        }
        let r = async {
            let mut tx = self.jobs.db.pool.begin().await?;
            let n = sqlx::query(
                "UPDATE jobs SET state = $3, message = $4, last_error = COALESCE($5, last_error), \
                 progress = CASE WHEN $3 = 'succeeded' THEN 100 ELSE progress END, \
                 lease_owner = NULL, lease_expires_at = NULL, updated_at = $6 \
                 WHERE id = $1 AND lease_owner = $2 AND attempts = $7 AND state = 'running'",
            )
            .bind(&self.job.id)
            .bind(&self.jobs.owner)
            .bind(state)
            .bind(&message)
            .bind(&cause)
            .bind(time::to_db(&time::now()))
            .bind(self.job.attempts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                return Err(self.lost());
            }
            let action = match state {
                SUCCEEDED => "job.succeeded",
                FAILED => "job.failed",
                _ => "job.retry",
            };
            let ev = self.event(action, state).message(message.clone());
            self.jobs.events.record(&mut tx, ev).await?;
            tx.commit().await?;
            self.jobs.events.committed();
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = r {
            // The lease ran out meanwhile: whoever holds it now finishes the job.
            tracing::warn!(job = %self.job.id, error = %e.detail(), retry, "cannot record the end of a job");
        }
    }
}
