//! Hypervisor hosts: rows naming a libvirt URI, with the capacity libvirt reports, the
//! allocation ratios, the availability zone, whether the scheduler may use it, and what
//! is claimed of it (kept in the same row, so a claim is one conditional update).

use ferrostack_core::{ids, time, Action, Ctx, Error, Owned, Result};
use ferrostack_hypervisor::{probe, Hypervisor};
use ferrostack_types::compute::Host;

use crate::{int_bool, Compute, KIND_HOST};

/// `ferrostack host add` / the config file's `[[compute.hosts]]`.
#[derive(Clone, Debug, Default)]
pub struct NewHost {
    pub name: String,
    pub uri: String,
    pub availability_zone: Option<String>,
    /// Disk the host offers to servers, GiB; default: free space of the data dir
    /// (local hosts) or 1,000 GiB (simulated hosts).
    pub disk_gb: Option<i64>,
    pub cpu_ratio: Option<f64>,
    pub ram_ratio: Option<f64>,
    pub disk_ratio: Option<f64>,
    /// `kvm` or `qemu`, instead of the probe's choice.
    pub virt_type: Option<String>,
}

pub(crate) const COLUMNS: &str = "SELECT id, name, uri, availability_zone, enabled, disabled_reason, virt_type, virt_probe, hypervisor_type, hypervisor_version, hostname, cpu_model, vcpus, memory_mb, disk_gb, cpu_ratio, ram_ratio, disk_ratio, vcpus_used, memory_mb_used, disk_gb_used, running_vms, state, forced_down, last_error, created_at, updated_at FROM compute_hosts";

#[derive(sqlx::FromRow)]
pub(crate) struct HostRow {
    id: String,
    name: String,
    uri: String,
    availability_zone: String,
    enabled: i64,
    disabled_reason: Option<String>,
    virt_type: String,
    virt_probe: String,
    hypervisor_type: String,
    hypervisor_version: i64,
    hostname: String,
    cpu_model: String,
    vcpus: i64,
    memory_mb: i64,
    disk_gb: i64,
    cpu_ratio: f64,
    ram_ratio: f64,
    disk_ratio: f64,
    vcpus_used: i64,
    memory_mb_used: i64,
    disk_gb_used: i64,
    running_vms: i64,
    state: String,
    forced_down: i64,
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<HostRow> for Host {
    fn from(r: HostRow) -> Host {
        Host {
            id: r.id,
            name: r.name,
            uri: r.uri,
            availability_zone: r.availability_zone,
            enabled: int_bool(r.enabled),
            disabled_reason: r.disabled_reason,
            virt_type: r.virt_type,
            virt_probe: r.virt_probe,
            hypervisor_type: r.hypervisor_type,
            hypervisor_version: r.hypervisor_version,
            hostname: r.hostname,
            cpu_model: r.cpu_model,
            vcpus: r.vcpus,
            memory_mb: r.memory_mb,
            disk_gb: r.disk_gb,
            cpu_ratio: r.cpu_ratio,
            ram_ratio: r.ram_ratio,
            disk_ratio: r.disk_ratio,
            vcpus_used: r.vcpus_used,
            memory_mb_used: r.memory_mb_used,
            disk_gb_used: r.disk_gb_used,
            running_vms: r.running_vms,
            state: r.state,
            forced_down: int_bool(r.forced_down),
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "Invalid host name '{name}': use 1 to 64 letters, digits, '-', '_' or '.'."
        )))
    }
}

fn check_uri(uri: &str) -> Result<()> {
    let scheme = uri.split("://").next().unwrap_or("");
    let known = [
        "qemu",
        "test",
        "qemu+ssh",
        "qemu+tls",
        "qemu+tcp",
        "qemu+unix",
    ];
    if !uri.contains("://") || !known.contains(&scheme) || uri.chars().any(char::is_control) {
        return Err(Error::bad_request(format!(
            "Invalid libvirt URI '{uri}': expected qemu:///system, test:///<file> or a qemu+ssh:// / qemu+tls:// URI."
        )));
    }
    Ok(())
}

fn ratio(v: Option<f64>, default: f64, what: &str) -> Result<f64> {
    let r = v.unwrap_or(default);
    if !(r.is_finite() && r > 0.0 && r <= 1000.0) {
        return Err(Error::bad_request(format!(
            "Invalid {what} allocation ratio {r}: it must be above 0 and at most 1000."
        )));
    }
    Ok(r)
}

/// Free space of the file system holding `dir`, GiB.
fn free_gb(dir: &std::path::Path) -> i64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1G"])
        .arg(dir)
        .output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().nth(1).and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0)
}

impl Compute {
    /// Register a host: connect, read its capacity, choose its accelerator (a short
    /// probe on a local host), and store it. Admin only.
    pub async fn host_add(&self, ctx: &Ctx, new: NewHost) -> Result<Host> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_HOST, &new.name).visible(true),
        )?;
        check_name(&new.name)?;
        check_uri(&new.uri)?;
        let az = new
            .availability_zone
            .clone()
            .unwrap_or_else(|| self.cfg.default_az.clone());
        if az.is_empty() || az.len() > 255 || az.contains(':') {
            return Err(Error::bad_request(format!(
                "Invalid availability zone '{az}': 1 to 255 characters, without ':'."
            )));
        }
        let cpu_ratio = ratio(new.cpu_ratio, self.cfg.cpu_ratio, "CPU")?;
        let ram_ratio = ratio(new.ram_ratio, self.cfg.ram_ratio, "RAM")?;
        let disk_ratio = ratio(new.disk_ratio, self.cfg.disk_ratio, "disk")?;
        if let Some(v) = &new.virt_type {
            if !["kvm", "qemu"].contains(&v.as_str()) {
                return Err(Error::bad_request(format!(
                    "Invalid virt type '{v}': kvm or qemu."
                )));
            }
        }
        let cap = self
            .hv
            .host(&new.uri)
            .capacity()
            .await
            .map_err(|e| Error::bad_request(format!("Cannot add host {}: {e}", new.name)))?;
        let (virt_type, why) = if Hypervisor::is_simulated(&new.uri) {
            (
                "test".to_string(),
                "simulated host (libvirt test driver)".to_string(),
            )
        } else if let Some(v) = new.virt_type.clone() {
            (v.clone(), format!("{v} set by the operator"))
        } else if Hypervisor::is_local(&new.uri) {
            let p = probe::local(&self.cfg.qemu, &self.cfg.dir).await;
            (p.virt_type, p.why)
        } else {
            (
                "kvm".to_string(),
                "remote host: KVM assumed (host add --virt-type qemu to change)".to_string(),
            )
        };
        tracing::info!(host = %new.name, uri = %new.uri, virt_type = %virt_type, why = %why, "host accelerator");
        let disk_gb = match new.disk_gb {
            Some(d) if d > 0 => d,
            Some(d) => {
                return Err(Error::bad_request(format!(
                    "Invalid disk size {d} GiB: it must be positive."
                )))
            }
            None if Hypervisor::is_simulated(&new.uri) => 1000,
            None => free_gb(&self.cfg.dir),
        };
        let now = time::to_db(&time::now());
        let id = ids::new_uuid();
        sqlx::query(
            "INSERT INTO compute_hosts (id, name, uri, availability_zone, virt_type, virt_probe, hypervisor_type, \
             hypervisor_version, hostname, cpu_model, vcpus, memory_mb, disk_gb, cpu_ratio, ram_ratio, disk_ratio, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
        )
        .bind(&id)
        .bind(&new.name)
        .bind(&new.uri)
        .bind(&az)
        .bind(&virt_type)
        .bind(&why)
        .bind(&cap.hypervisor_type)
        .bind(cap.hypervisor_version)
        .bind(&cap.hostname)
        .bind(&cap.cpu_model)
        .bind(cap.vcpus)
        .bind(cap.memory_mib)
        .bind(disk_gb)
        .bind(cpu_ratio)
        .bind(ram_ratio)
        .bind(disk_ratio)
        .bind(&now)
        .execute(&self.db.pool)
        .await
        .map_err(|e| {
            ferrostack_core::error::unique_or(e, || {
                format!("A host named {} or with URI {} exists.", new.name, new.uri)
            })
        })?;
        self.host_get(ctx, &id).await
    }

    /// Hosts, by name. Admin only.
    pub async fn host_list(&self, ctx: &Ctx) -> Result<Vec<Host>> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_HOST, "*").visible(true),
        )?;
        self.hosts_all().await
    }

    pub(crate) async fn hosts_all(&self) -> Result<Vec<Host>> {
        let rows: Vec<HostRow> = sqlx::query_as(&format!("{COLUMNS} ORDER BY name"))
            .fetch_all(&self.db.pool)
            .await?;
        Ok(rows.into_iter().map(Host::from).collect())
    }

    /// A host by id or name. Admin only.
    pub async fn host_get(&self, ctx: &Ctx, id_or_name: &str) -> Result<Host> {
        ctx.authorize(
            Action::Admin,
            &Owned::of_cloud(KIND_HOST, id_or_name).visible(true),
        )?;
        self.host_row(id_or_name).await
    }

    pub(crate) async fn host_row(&self, id_or_name: &str) -> Result<Host> {
        let row: Option<HostRow> = sqlx::query_as(&format!("{COLUMNS} WHERE id = $1 OR name = $1"))
            .bind(id_or_name)
            .fetch_optional(&self.db.pool)
            .await?;
        row.map(Host::from)
            .ok_or_else(|| Error::not_found("host", id_or_name))
    }

    /// Mark a host down (Nova's forced_down), or no longer: a forced-down host takes
    /// no servers, and its servers may be evacuated.
    pub async fn host_set_forced_down(
        &self,
        ctx: &Ctx,
        id_or_name: &str,
        down: bool,
    ) -> Result<Host> {
        let host = self.host_get(ctx, id_or_name).await?;
        sqlx::query("UPDATE compute_hosts SET forced_down = $2, updated_at = $3 WHERE id = $1")
            .bind(&host.id)
            .bind(down as i64)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await?;
        self.host_row(&host.id).await
    }

    /// Let the scheduler use a host again, or stop it (servers on it keep running).
    pub async fn host_set_enabled(
        &self,
        ctx: &Ctx,
        id_or_name: &str,
        enabled: bool,
        reason: Option<String>,
    ) -> Result<Host> {
        let host = self.host_get(ctx, id_or_name).await?;
        if reason.as_ref().is_some_and(|r| r.len() > 255) {
            return Err(Error::bad_request(
                "The disabled reason is longer than 255 characters.",
            ));
        }
        sqlx::query(
            "UPDATE compute_hosts SET enabled = $2, disabled_reason = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(&host.id)
        .bind(enabled as i64)
        .bind(if enabled { None } else { reason })
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?;
        self.host_row(&host.id).await
    }

    /// Record whether the host answered (the reconciler's and the jobs' view).
    pub(crate) async fn host_seen(&self, host_id: &str, error: Option<String>) {
        let state = if error.is_some() { "down" } else { "up" };
        let r = sqlx::query(
            "UPDATE compute_hosts SET state = $2, last_error = $3 WHERE id = $1 AND (state <> $2 OR COALESCE(last_error, '') <> COALESCE($3, ''))",
        )
        .bind(host_id)
        .bind(state)
        .bind(&error)
        .execute(&self.db.pool)
        .await;
        if let Err(e) = r {
            tracing::warn!(host = host_id, error = %e, "cannot record a host's state");
        }
    }

    /// The availability zones hosts are in, with whether each has an enabled host.
    pub async fn availability_zones(&self, _ctx: &Ctx) -> Result<Vec<(String, bool)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT availability_zone, MAX(enabled) FROM compute_hosts GROUP BY availability_zone ORDER BY availability_zone",
        )
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(|(z, e)| (z, e != 0)).collect())
    }
}
