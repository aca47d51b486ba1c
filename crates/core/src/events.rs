//! Resource events: after each change a service records what happened (in the same
//! transaction as the change, so an event exists exactly when its change does), and
//! every server process pushes it to the consoles watching.
//!
//! Events are rows of `events`, numbered in commit order: on PostgreSQL the number is
//! assigned under a transaction-scoped advisory lock (so no later number commits before
//! an earlier one), on SQLite under its single writer. Each process runs one tailer that
//! reads rows past the last it saw and broadcasts them in memory; it is woken by
//! `LISTEN/NOTIFY` on PostgreSQL (a notification sent in the writing transaction is
//! delivered when it commits, to every process) and directly by the writer on SQLite.
//! A subscriber that reconnects passes the last number it saw and gets what it missed
//! from the table first; one that falls behind the in-memory channel catches up the
//! same way, so nothing is lost and nothing is unbounded.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrostack_types::events::Event;
use tokio::sync::{broadcast, Notify};

use crate::db::{Backend, Db};
use crate::{time, Ctx, Error, Result};

/// The PostgreSQL notification channel, and the advisory-lock key that orders numbers.
const CHANNEL: &str = "ferrostack_events";
const ORDER_LOCK: i64 = 0x6665_7276_6e74;
/// Rows read per query while catching up.
const BATCH: i64 = 500;
/// In-memory events held for subscribers that are behind; past this they read the table.
const LIVE_CAPACITY: usize = 1024;
/// Open subscriptions per process (each is a console tab): past this, refused (503).
pub const MAX_SUBSCRIBERS: usize = 2000;

const COLUMNS: &str = "SELECT seq, at, project_id, public, kind, resource_id, action, status, progress, message, request_id, user_id, user_name FROM events";

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    at: String,
    project_id: Option<String>,
    public: i64,
    kind: String,
    resource_id: String,
    action: String,
    status: String,
    progress: Option<i64>,
    message: String,
    request_id: Option<String>,
    user_id: Option<String>,
    user_name: String,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Self {
        Event {
            seq: r.seq,
            at: r.at,
            project_id: r.project_id,
            public: r.public != 0,
            kind: r.kind,
            resource_id: r.resource_id,
            action: r.action,
            status: r.status,
            progress: r.progress,
            message: r.message,
            request_id: r.request_id,
            user_id: r.user_id,
            user_name: r.user_name,
        }
    }
}

/// An event about to be recorded. Who and which request come from the caller's `Ctx`.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub project_id: Option<String>,
    pub public: bool,
    pub kind: String,
    pub resource_id: String,
    pub action: String,
    pub status: String,
    pub progress: Option<i64>,
    pub message: String,
    pub request_id: Option<String>,
    pub user_id: Option<String>,
    pub user_name: String,
}

impl NewEvent {
    /// `ctx` did `action` to the `kind` resource `id`, which belongs to `project`.
    pub fn new(ctx: &Ctx, project: Option<&str>, kind: &str, id: &str, action: &str) -> Self {
        NewEvent {
            project_id: project.map(str::to_string),
            public: false,
            kind: kind.into(),
            resource_id: id.into(),
            action: action.into(),
            status: String::new(),
            progress: None,
            message: String::new(),
            request_id: Some(ctx.request_id.clone()).filter(|r| !r.is_empty()),
            user_id: ctx.user_id.clone(),
            user_name: ctx.user_name.clone(),
        }
    }
    pub fn status(mut self, s: impl Into<String>) -> Self {
        self.status = s.into();
        self
    }
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = m.into();
        self
    }
    pub fn progress(mut self, p: i64) -> Self {
        self.progress = Some(p.clamp(0, 100));
        self
    }
    /// Every signed-in user may see this event (the resource is public).
    pub fn public(mut self, yes: bool) -> Self {
        self.public = yes;
        self
    }
}

/// Which events a subscriber may see.
#[derive(Clone, Debug)]
enum Audience {
    Everything,
    /// A project's events and public ones (`None`: public ones only).
    Project(Option<String>),
}

/// Another project's event (a public resource's): what happened, not who did it or
/// under which request.
pub fn redacted(mut e: Event) -> Event {
    e.user_id = None;
    e.user_name = String::new();
    e.request_id = None;
    e
}

impl Audience {
    fn redact(&self, e: Event) -> Event {
        match self {
            Audience::Project(p) if e.project_id != *p => redacted(e),
            _ => e,
        }
    }

    fn sees(&self, e: &Event) -> bool {
        match self {
            Audience::Everything => true,
            Audience::Project(p) => e.public || (p.is_some() && e.project_id == *p),
        }
    }
}

pub struct Events {
    db: Db,
    live: broadcast::Sender<Arc<Event>>,
    wake: Notify,
    /// The last event this process's tailer broadcast.
    seen: AtomicI64,
    subscribers: Arc<AtomicUsize>,
    /// Set when the server shuts down: every subscription ends (a browser reconnects
    /// to whichever process serves next).
    closing: tokio::sync::watch::Sender<bool>,
}

impl Events {
    /// Open the event log and start this process's tailer (and, on PostgreSQL, its
    /// listener).
    pub async fn open(db: Db) -> Result<Arc<Events>> {
        let last: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM events")
                .fetch_one(&db.pool)
                .await?;
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        let events = Arc::new(Events {
            db,
            live,
            wake: Notify::new(),
            seen: AtomicI64::new(last),
            subscribers: Arc::new(AtomicUsize::new(0)),
            closing: tokio::sync::watch::channel(false).0,
        });
        let weak = Arc::downgrade(&events);
        tokio::spawn(tail(weak.clone()));
        if events.db.backend == Backend::Postgres {
            tokio::spawn(listen(weak, events.db.url().to_string()));
        }
        Ok(events)
    }

    /// Record an event inside the transaction that makes the change. Call
    /// [`Events::committed`] after the commit (on PostgreSQL the notification travels
    /// with the commit by itself; on SQLite this is what wakes the tailer).
    pub async fn record(&self, conn: &mut sqlx::AnyConnection, ev: NewEvent) -> Result<()> {
        if self.db.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ORDER_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        // One statement that writes from its start (SQLite takes its write lock at
        // once, so a number cannot be taken twice).
        sqlx::query(
            "INSERT INTO events (seq, at, project_id, public, kind, resource_id, action, status, progress, message, request_id, user_id, user_name) \
             SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM events",
        )
        .bind(time::to_db(&time::now()))
        .bind(&ev.project_id)
        .bind(ev.public as i64)
        .bind(&ev.kind)
        .bind(&ev.resource_id)
        .bind(&ev.action)
        .bind(&ev.status)
        .bind(ev.progress)
        .bind(&ev.message)
        .bind(&ev.request_id)
        .bind(&ev.user_id)
        .bind(&ev.user_name)
        .execute(&mut *conn)
        .await?;
        if self.db.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(CHANNEL)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Record an event on its own (a change already committed, or progress).
    pub async fn publish(&self, ev: NewEvent) -> Result<()> {
        let mut tx = self.db.pool.begin().await?;
        self.record(&mut tx, ev).await?;
        tx.commit().await?;
        self.committed();
        Ok(())
    }

    /// A transaction holding recorded events committed: push them out now.
    pub fn committed(&self) {
        self.wake.notify_one();
    }

    /// Follow the events the caller may see, from after `after` (the last one it saw;
    /// `None`: from now). `all` asks for every project's, which only an admin may.
    pub fn subscribe(
        self: &Arc<Self>,
        ctx: &Ctx,
        after: Option<i64>,
        all: bool,
    ) -> Result<Subscription> {
        let audience = if all {
            if !ctx.is_admin() {
                return Err(Error::forbidden(
                    "Every project's events are for admins; leave out all=true to follow your project's.",
                ));
            }
            Audience::Everything
        } else {
            Audience::Project(ctx.project_id().map(str::to_string))
        };
        let n = self.subscribers.fetch_add(1, Ordering::SeqCst);
        if n >= MAX_SUBSCRIBERS {
            self.subscribers.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Unavailable {
                message: format!("This server already has {MAX_SUBSCRIBERS} live connections; try again shortly."),
                retry_after: 5,
            });
        }
        let rx = self.live.subscribe();
        let now = self.seen.load(Ordering::SeqCst);
        Ok(Subscription {
            events: self.clone(),
            rx,
            closing: self.closing.subscribe(),
            last: after.unwrap_or(now),
            catch_up: after.is_some(),
            backlog: VecDeque::new(),
            audience,
            _slot: Slot(self.subscribers.clone()),
        })
    }

    /// The events of one resource, oldest first (its timeline). The caller's service
    /// has already decided that it may see the resource.
    pub async fn for_resource(&self, kind: &str, id: &str, limit: i64) -> Result<Vec<Event>> {
        let mut rows: Vec<Event> = sqlx::query_as::<_, EventRow>(&format!(
            "{COLUMNS} WHERE kind = $1 AND resource_id = $2 ORDER BY seq DESC LIMIT $3"
        ))
        .bind(kind)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?
        .into_iter()
        .map(Event::from)
        .collect();
        rows.reverse();
        Ok(rows)
    }

    /// Every event one request caused (an admin's trace of a request id).
    pub async fn for_request(&self, ctx: &Ctx, request_id: &str) -> Result<Vec<Event>> {
        if !ctx.is_admin() {
            return Err(Error::forbidden("Tracing a request is for admins."));
        }
        Ok(sqlx::query_as::<_, EventRow>(&format!(
            "{COLUMNS} WHERE request_id = $1 ORDER BY seq LIMIT 1000"
        ))
        .bind(request_id)
        .fetch_all(&self.db.pool)
        .await?
        .into_iter()
        .map(Event::from)
        .collect())
    }

    /// Drop events older than `keep` (the table stays bounded).
    pub async fn prune(&self, keep: Duration) -> Result<u64> {
        let before = time::now() - chrono::Duration::from_std(keep).unwrap_or_default();
        // The newest event is kept whatever its age: numbers are MAX + 1, and must
        // never go back (tailers and browsers resume by number).
        Ok(
            sqlx::query("DELETE FROM events WHERE at < $1 AND seq < (SELECT MAX(seq) FROM events)")
                .bind(time::to_db(&before))
                .execute(&self.db.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn read_after(&self, after: i64, audience: Option<&Audience>) -> Result<Vec<Event>> {
        let filter = match audience {
            None | Some(Audience::Everything) => String::new(),
            Some(Audience::Project(_)) => " AND (public = 1 OR project_id = $3)".into(),
        };
        let sql = format!("{COLUMNS} WHERE seq > $1{filter} ORDER BY seq LIMIT $2");
        let mut q = sqlx::query_as::<_, EventRow>(&sql).bind(after).bind(BATCH);
        if let Some(Audience::Project(p)) = audience {
            q = q.bind(p.clone().unwrap_or_default());
        }
        Ok(q.fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .map(Event::from)
            .collect())
    }

    /// End every subscription (the server is shutting down).
    pub fn shutdown(&self) {
        self.closing.send_replace(true);
    }

    /// The last event number this process has pushed out.
    pub fn last_seq(&self) -> i64 {
        self.seen.load(Ordering::SeqCst)
    }
}

/// Read what was committed past the last broadcast event and broadcast it, whenever
/// woken (and now and then, should a wake-up be missed).
async fn tail(events: std::sync::Weak<Events>) {
    loop {
        let Some(me) = events.upgrade() else { return };
        let fallback = match me.db.backend {
            Backend::Sqlite => Duration::from_secs(10),
            Backend::Postgres => Duration::from_secs(5),
        };
        loop {
            let after = me.seen.load(Ordering::SeqCst);
            match me.read_after(after, None).await {
                Ok(rows) => {
                    let full = rows.len() as i64 == BATCH;
                    for e in rows {
                        me.seen.store(e.seq, Ordering::SeqCst);
                        let _ = me.live.send(Arc::new(e));
                    }
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e.detail(), "reading new events failed");
                    break;
                }
            }
        }
        let wake = async { me.wake.notified().await };
        let _ = tokio::time::timeout(fallback, wake).await;
    }
}

/// PostgreSQL: wake the tailer on every notification (from any process).
async fn listen(events: std::sync::Weak<Events>, url: String) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut l) => {
                if let Err(e) = l.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "LISTEN for events failed");
                } else {
                    loop {
                        match l.recv().await {
                            Ok(_) => match events.upgrade() {
                                Some(me) => me.wake.notify_one(),
                                None => return,
                            },
                            Err(e) => {
                                tracing::warn!(error = %e, "event notifications: connection lost, reconnecting");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "event notifications: cannot connect"),
        }
        if events.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Frees a subscriber slot when the subscription ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One caller's stream of events, in order, without gaps.
pub struct Subscription {
    events: Arc<Events>,
    rx: broadcast::Receiver<Arc<Event>>,
    closing: tokio::sync::watch::Receiver<bool>,
    last: i64,
    /// Read the table before the live channel (a resumed or lagging subscriber).
    catch_up: bool,
    backlog: VecDeque<Event>,
    audience: Audience,
    _slot: Slot,
}

impl Subscription {
    /// The next event the caller may see.
    pub async fn next(&mut self) -> Result<Event> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                self.last = e.seq;
                return Ok(self.audience.redact(e));
            }
            if self.catch_up {
                // In number order, so delivering them moves `last` forward; the live
                // channel's copies of what the table gave are then skipped by number.
                let rows = self
                    .events
                    .read_after(self.last, Some(&self.audience))
                    .await?;
                self.catch_up = rows.len() as i64 == BATCH;
                self.backlog.extend(rows);
                continue;
            }
            if *self.closing.borrow() {
                return Err(Error::Unavailable {
                    message: "The server is shutting down.".into(),
                    retry_after: 2,
                });
            }
            let got = tokio::select! {
                r = self.rx.recv() => r,
                _ = self.closing.changed() => continue,
            };
            match got {
                Ok(e) => {
                    if e.seq <= self.last {
                        continue;
                    }
                    let seq = e.seq;
                    if self.audience.sees(&e) {
                        self.last = seq;
                        return Ok(self.audience.redact((*e).clone()));
                    }
                    self.last = seq;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up = true,
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(Error::Unavailable {
                        message: "The server is shutting down.".into(),
                        retry_after: 2,
                    })
                }
            }
        }
    }

    /// The number of the last event delivered (or skipped as not the caller's).
    pub fn last(&self) -> i64 {
        self.last
    }
}
