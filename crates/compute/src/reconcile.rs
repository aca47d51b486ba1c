//! The reconciler: servers' power states brought in line with what libvirt says (a
//! guest shut down from inside shows SHUTOFF; a domain gone puts its server in ERROR
//! saying so), hosts marked up or down, and domains without a server reported (never
//! touched: an operator decides) — except the domain a server left behind on a host it
//! was moved off (an evacuation from a host that was down, as Nova's compute removes
//! evacuated instances when it comes back).

use ferrostack_core::events::NewEvent;
use ferrostack_core::{time, Ctx, Result};
use ferrostack_hypervisor::PowerState;

use crate::servers::ServerRow;
use crate::status::{self, *};
use crate::{Compute, KIND_SERVER};

impl Compute {
    /// Whether `server`'s domain on `host` was left behind by a finished move off it:
    /// the server lives elsewhere, is not being moved or changed, and moved off `host`.
    async fn left_behind(&self, host: &str, server: &str) -> Result<bool> {
        let elsewhere: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT host_id, task_state FROM servers WHERE id = $1")
                .bind(server)
                .fetch_optional(&self.db.pool)
                .await?;
        let Some((Some(now_on), None)) = elsewhere else {
            return Ok(false);
        };
        if now_on == host {
            return Ok(false);
        }
        let (moving, moved_off): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN status IN ('pre-migrating', 'migrating', 'finished', 'reverting') THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN source_host_id = $2 AND status IN ('done', 'completed', 'confirmed') THEN 1 ELSE 0 END), 0) \
             FROM compute_migrations WHERE server_id = $1",
        )
        .bind(server)
        .bind(host)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(moving == 0 && moved_off > 0)
    }

    /// Bring servers' power states in line with libvirt (a guest shut down from inside
    /// shows SHUTOFF), mark hosts up or down, and report domains that have no server.
    pub async fn reconcile(&self) -> Result<Reconciled> {
        let mut report = Reconciled::default();
        for host in self.hosts_all().await? {
            let hv = self.hv.host(&host.uri);
            // The rows before the domains: a row that changes after this read (a boot
            // turning ACTIVE, a start finishing) fails the update's guard below rather
            // than being overwritten from an older view of libvirt.
            let rows: Vec<ServerRow> =
                sqlx::query_as(&format!("{} WHERE host_id = $1", crate::servers::COLUMNS))
                    .bind(&host.id)
                    .fetch_all(&self.db.pool)
                    .await?;
            let domains = match hv.domains().await {
                Ok(d) => {
                    self.host_seen(&host.id, None).await;
                    d
                }
                Err(e) => {
                    self.host_seen(&host.id, Some(e.to_string())).await;
                    continue;
                }
            };
            for d in &domains {
                if d.name.starts_with("fs-") && !rows.iter().any(|r| r.id == d.uuid) {
                    if !host.forced_down && self.left_behind(&host.id, &d.uuid).await? {
                        tracing::info!(host = %host.name, domain = %d.name, "removing the domain a moved server left on this host");
                        if hv.remove(&d.uuid).await.is_ok() {
                            report.removed.push(format!("{}: {}", host.name, d.name));
                            continue;
                        }
                    }
                    tracing::warn!(host = %host.name, domain = %d.name, "a domain on this host has no server");
                    report.orphans.push(format!("{}: {}", host.name, d.name));
                }
            }
            for r in rows {
                if r.task_state.is_some()
                    || ![ACTIVE, STOPPED, PAUSED, SUSPENDED].contains(&r.vm_state.as_str())
                {
                    continue;
                }
                let found = domains.iter().find(|d| d.uuid == r.id).map(|d| d.state);
                let (vm, power, message) = match found {
                    Some(PowerState::Running) => (ACTIVE, 1, None),
                    Some(PowerState::Shutdown) | Some(PowerState::Crashed) => (STOPPED, 4, None),
                    Some(PowerState::Paused) => (PAUSED, 3, None),
                    Some(PowerState::Suspended) => (SUSPENDED, 7, None),
                    Some(PowerState::NoState) => continue,
                    None => (
                        ERROR,
                        0,
                        Some(format!(
                            "The server's domain is gone from host {}.",
                            host.name
                        )),
                    ),
                };
                if vm == r.vm_state && power == r.power_state {
                    continue;
                }
                let now = time::to_db(&time::now());
                let fault = message.as_ref().map(|m| {
                    serde_json::json!({"code": 500, "message": m, "created": now}).to_string()
                });
                let mut tx = self.db.pool.begin().await?;
                let n = sqlx::query(
                    "UPDATE servers SET vm_state = $2, power_state = $3, fault = COALESCE($4, fault), updated_at = $5 \
                     WHERE id = $1 AND task_state IS NULL AND vm_state = $6 AND updated_at = $7",
                )
                .bind(&r.id)
                .bind(vm)
                .bind(power)
                .bind(&fault)
                .bind(&now)
                .bind(&r.vm_state)
                .bind(&r.updated_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 1 {
                    let ctx = Ctx::internal(ferrostack_core::ids::new_request_id());
                    let mut ev =
                        NewEvent::new(&ctx, Some(&r.project_id), KIND_SERVER, &r.id, "power")
                            .status(status::status(vm, None));
                    if let Some(m) = &message {
                        ev = ev.message(m.clone());
                    }
                    self.events.record(&mut tx, ev).await?;
                    report
                        .changed
                        .push(format!("{}: {} -> {vm}", r.id, r.vm_state));
                }
                tx.commit().await?;
            }
        }
        self.events.committed();
        Ok(report)
    }
}

/// What a reconciler pass did.
#[derive(Clone, Debug, Default)]
pub struct Reconciled {
    /// `server: old -> new` for each server whose state changed.
    pub changed: Vec<String>,
    /// `host: domain` for each domain without a server.
    pub orphans: Vec<String>,
    /// Domains removed because their server moved to another host for good.
    pub removed: Vec<String>,
}
