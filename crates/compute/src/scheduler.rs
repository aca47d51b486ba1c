//! The scheduler: filter hosts (enabled, availability zone, vCPUs / RAM / disk free
//! under the allocation ratios), weigh what passes (spread: most free RAM first; pack:
//! least), and claim on the best host with one conditional update in the transaction
//! that places the server — so concurrent creates cannot over-commit a host: the
//! update re-checks the numbers under the row's lock, and a lost race moves on to the
//! next host. A refusal names every host's reason. `dry_run` answers the same question
//! without claiming ("would this fit, and where?").

use ferrostack_core::{time, Error, Result};
use ferrostack_types::compute::Host;

use crate::hosts::{HostRow, COLUMNS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weigher {
    /// Most free RAM first (Nova's default RAM weigher).
    Spread,
    /// Least free RAM first: fill one host before the next.
    Pack,
}

impl Weigher {
    pub fn parse(s: &str) -> Option<Weigher> {
        match s {
            "spread" => Some(Weigher::Spread),
            "pack" => Some(Weigher::Pack),
            _ => None,
        }
    }
}

/// What one server asks of a host.
#[derive(Clone, Debug)]
pub struct Request {
    pub vcpus: i64,
    pub memory_mb: i64,
    pub disk_gb: i64,
    /// The zone asked for; `None`: any.
    pub availability_zone: Option<String>,
    /// A host named by an admin (`az:host`).
    pub host: Option<String>,
    /// The server's group, with where its other members are.
    pub group: Option<GroupRule>,
    /// The host the server is on, which a cold migration must leave.
    pub avoid_host: Option<String>,
    /// A moving server stays on its kind of host: simulated (`true`) or real.
    pub simulated: Option<bool>,
}

/// A server group's policy as the scheduler applies it.
#[derive(Clone, Debug, Default)]
pub struct GroupRule {
    pub name: String,
    /// affinity, anti-affinity, soft-affinity or soft-anti-affinity.
    pub policy: String,
    /// anti-affinity: members a host may hold (Nova's max_server_per_host, default 1).
    pub max_per_host: i64,
    /// Host id → how many of the group's other members it holds.
    pub members: std::collections::HashMap<String, i64>,
}

impl GroupRule {
    fn on(&self, host: &Host) -> i64 {
        self.members.get(&host.id).copied().unwrap_or(0)
    }

    /// Why the group's hard policy refuses `host`.
    fn refusal(&self, host: &Host, all: &[Host]) -> Option<String> {
        match self.policy.as_str() {
            "affinity" if !self.members.is_empty() && self.on(host) == 0 => {
                let on: Vec<&str> = all
                    .iter()
                    .filter(|h| self.on(h) > 0)
                    .map(|h| h.name.as_str())
                    .collect();
                Some(format!(
                    "{}: server group {} (affinity) has its members on {}",
                    host.name,
                    self.name,
                    if on.is_empty() {
                        "another host".to_string()
                    } else {
                        on.join(", ")
                    }
                ))
            }
            "anti-affinity" if self.on(host) >= self.max_per_host => Some(format!(
                "{}: server group {} (anti-affinity) already has {} member{} here (at most {})",
                host.name,
                self.name,
                self.on(host),
                if self.on(host) == 1 { "" } else { "s" },
                self.max_per_host
            )),
            _ => None,
        }
    }

    /// The soft policies' preference: lower sorts first.
    fn weight(&self, host: &Host) -> i64 {
        match self.policy.as_str() {
            "soft-affinity" => -self.on(host),
            "soft-anti-affinity" => self.on(host),
            _ => 0,
        }
    }
}

/// Where a request would go, or why nowhere.
#[derive(Clone, Debug)]
pub struct Placement {
    /// The host each asked server would land on, in order; fewer than asked when the
    /// rest fit nowhere.
    pub fits: Vec<String>,
    /// When some did not fit: each host's reason for refusing the next one.
    pub reasons: Vec<String>,
}

fn cap(total: i64, ratio: f64) -> i64 {
    (total as f64 * ratio).floor() as i64
}

/// Free vCPUs, MiB and GiB under the ratios.
pub fn free(h: &Host) -> (i64, i64, i64) {
    (
        cap(h.vcpus, h.cpu_ratio) - h.vcpus_used,
        cap(h.memory_mb, h.ram_ratio) - h.memory_mb_used,
        cap(h.disk_gb, h.disk_ratio) - h.disk_gb_used,
    )
}

/// Why `h` cannot take `req`, or `None` when it can.
pub fn refusal(h: &Host, req: &Request) -> Option<String> {
    if let Some(name) = &req.host {
        if &h.name != name {
            return Some(format!("{}: not the host asked for ({name})", h.name));
        }
    }
    if let Some(sim) = req.simulated {
        if ferrostack_hypervisor::Hypervisor::is_simulated(&h.uri) != sim {
            return Some(format!(
                "{}: a {} host, and the server runs on a {} one",
                h.name,
                if sim { "real" } else { "simulated" },
                if sim { "simulated" } else { "real" }
            ));
        }
    }
    if req.avoid_host.as_deref() == Some(h.id.as_str()) {
        return Some(format!("{}: the server is on this host already", h.name));
    }
    if !h.enabled {
        return Some(match &h.disabled_reason {
            Some(r) if !r.is_empty() => format!("{}: disabled ({r})", h.name),
            _ => format!("{}: disabled", h.name),
        });
    }
    if h.forced_down {
        return Some(format!("{}: down (forced down by an admin)", h.name));
    }
    if h.state != "up" {
        // Not libvirt's words: they can name the host's URI, which tenants see here.
        return Some(format!("{}: down (not answering)", h.name));
    }
    if let Some(az) = &req.availability_zone {
        if &h.availability_zone != az {
            return Some(format!(
                "{}: in availability zone {}, not {az}",
                h.name, h.availability_zone
            ));
        }
    }
    let (cpu, ram, disk) = free(h);
    if ram < req.memory_mb {
        return Some(format!(
            "{}: {} MiB RAM free < {} MiB asked",
            h.name,
            ram.max(0),
            req.memory_mb
        ));
    }
    if cpu < req.vcpus {
        return Some(format!(
            "{}: {} vCPUs free < {} asked",
            h.name,
            cpu.max(0),
            req.vcpus
        ));
    }
    if disk < req.disk_gb {
        return Some(format!(
            "{}: {} GiB disk free < {} GiB asked",
            h.name,
            disk.max(0),
            req.disk_gb
        ));
    }
    None
}

/// Filter and weigh `hosts` for `req`.
pub fn place(hosts: &[Host], req: &Request, weigher: Weigher) -> (Vec<Host>, Vec<String>) {
    let mut fits = Vec::new();
    let mut reasons = Vec::new();
    for h in hosts {
        let why = refusal(h, req).or_else(|| req.group.as_ref().and_then(|g| g.refusal(h, hosts)));
        match why {
            Some(r) => reasons.push(r),
            None => fits.push(h.clone()),
        }
    }
    let soft = |h: &Host| req.group.as_ref().map(|g| g.weight(h)).unwrap_or(0);
    fits.sort_by(|a, b| {
        let (fa, fb) = (free(a).1, free(b).1);
        let order = match weigher {
            Weigher::Spread => fb.cmp(&fa),
            Weigher::Pack => fa.cmp(&fb),
        };
        soft(a)
            .cmp(&soft(b))
            .then(order)
            .then_with(|| a.name.cmp(&b.name))
    });
    (fits, reasons)
}

/// "No valid host" with each host's reason.
pub fn no_valid_host(reasons: Vec<String>) -> Error {
    let reasons = if reasons.is_empty() {
        vec!["no compute host is registered (ferrostack host add)".to_string()]
    } else {
        reasons
    };
    Error::InsufficientCapacity {
        message: "No valid host was found".into(),
        reasons,
    }
}

impl crate::Compute {
    /// The scheduler's dry run: would `count` servers of `flavor_id` fit now (in
    /// `availability_zone`), and where — the same filters and weighers as a create,
    /// nothing claimed. The launch dialog asks it before the user clicks. Hosts are
    /// named to admins; members get the reasons with the hosts' names too (Nova shows
    /// them none), since the reason is what tells them what to change.
    pub async fn schedule_check(
        &self,
        ctx: &ferrostack_core::Ctx,
        flavor_id: &str,
        availability_zone: Option<String>,
        count: i64,
        group: Option<&str>,
    ) -> Result<Placement> {
        let flavor = self.flavor_get(ctx, flavor_id).await?;
        let group = match group {
            Some(g) => {
                let id = self.group_for_create(ctx, g).await?;
                let mut conn = self.db.pool.acquire().await?;
                crate::groups::rule_read(&mut conn, &id, "").await?
            }
            None => None,
        };
        let mut req = Request {
            vcpus: flavor.vcpus,
            memory_mb: flavor.ram,
            disk_gb: flavor.disk.max(1),
            availability_zone,
            host: None,
            group,
            avoid_host: None,
            simulated: None,
        };
        let mut hosts = self.hosts_all().await?;
        let mut fits = Vec::new();
        let mut reasons = Vec::new();
        // Place them one after another on a copy of the hosts, as creates would.
        for _ in 0..count.clamp(1, crate::limits::COUNT_MAX) {
            let (ok, why) = place(&hosts, &req, self.cfg.weigher);
            match ok.first() {
                Some(h) => {
                    fits.push(h.name.clone());
                    if let Some(g) = req.group.as_mut() {
                        *g.members.entry(h.id.clone()).or_insert(0) += 1;
                    }
                    if let Some(m) = hosts.iter_mut().find(|x| x.id == h.id) {
                        m.vcpus_used += req.vcpus;
                        m.memory_mb_used += req.memory_mb;
                        m.disk_gb_used += req.disk_gb;
                        m.running_vms += 1;
                    }
                }
                None => {
                    reasons = if why.is_empty() {
                        vec!["no compute host is registered (ferrostack host add)".into()]
                    } else {
                        why
                    };
                    break;
                }
            }
        }
        Ok(Placement { fits, reasons })
    }
}

pub(crate) async fn hosts_in(conn: &mut sqlx::AnyConnection) -> Result<Vec<Host>> {
    let rows: Vec<HostRow> = sqlx::query_as(&format!("{COLUMNS} ORDER BY name"))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(Host::from).collect())
}

/// Claim `req` for `server_id` on the best host, inside `conn`'s transaction: the
/// chosen host, or "No valid host" with every host's reason.
pub(crate) async fn claim(
    conn: &mut sqlx::AnyConnection,
    server_id: &str,
    req: &Request,
    weigher: Weigher,
) -> Result<Host> {
    let hosts = hosts_in(conn).await?;
    let (fits, mut reasons) = place(&hosts, req, weigher);
    for h in fits {
        let n = sqlx::query(
            "UPDATE compute_hosts SET vcpus_used = vcpus_used + $2, memory_mb_used = memory_mb_used + $3, \
             disk_gb_used = disk_gb_used + $4, running_vms = running_vms + 1 \
             WHERE id = $1 AND enabled = 1 AND state = 'up' AND forced_down = 0 \
             AND vcpus_used + $2 <= vcpus * cpu_ratio AND memory_mb_used + $3 <= memory_mb * ram_ratio \
             AND disk_gb_used + $4 <= disk_gb * disk_ratio",
        )
        .bind(&h.id)
        .bind(req.vcpus)
        .bind(req.memory_mb)
        .bind(req.disk_gb)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if n == 1 {
            sqlx::query(
                "INSERT INTO compute_allocations (server_id, host_id, vcpus, memory_mb, disk_gb, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(server_id)
            .bind(&h.id)
            .bind(req.vcpus)
            .bind(req.memory_mb)
            .bind(req.disk_gb)
            .bind(time::to_db(&time::now()))
            .execute(&mut *conn)
            .await?;
            return Ok(h);
        }
        reasons.push(format!(
            "{}: its capacity was just claimed by another request",
            h.name
        ));
    }
    Err(no_valid_host(reasons))
}

/// Give back what `server_id` holds (exactly once: the claim row goes with it).
pub(crate) async fn release(conn: &mut sqlx::AnyConnection, server_id: &str) -> Result<()> {
    let held: Option<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT host_id, vcpus, memory_mb, disk_gb FROM compute_allocations WHERE server_id = $1",
    )
    .bind(server_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((host, vcpus, ram, disk)) = held else {
        return Ok(());
    };
    let gone = sqlx::query("DELETE FROM compute_allocations WHERE server_id = $1")
        .bind(server_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if gone == 1 {
        sqlx::query(
            "UPDATE compute_hosts SET vcpus_used = vcpus_used - $2, memory_mb_used = memory_mb_used - $3, \
             disk_gb_used = disk_gb_used - $4, running_vms = running_vms - 1 WHERE id = $1",
        )
        .bind(&host)
        .bind(vcpus)
        .bind(ram)
        .bind(disk)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, ram: i64, used: i64) -> Host {
        Host {
            id: name.into(),
            name: name.into(),
            uri: String::new(),
            availability_zone: "nova".into(),
            enabled: true,
            disabled_reason: None,
            virt_type: "test".into(),
            virt_probe: String::new(),
            hypervisor_type: String::new(),
            hypervisor_version: 0,
            hostname: String::new(),
            cpu_model: String::new(),
            vcpus: 8,
            memory_mb: ram,
            disk_gb: 100,
            cpu_ratio: 4.0,
            ram_ratio: 1.0,
            disk_ratio: 1.0,
            vcpus_used: 0,
            memory_mb_used: used,
            disk_gb_used: 0,
            running_vms: 0,
            state: "up".into(),
            forced_down: false,
            last_error: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn req(ram: i64) -> Request {
        Request {
            vcpus: 1,
            memory_mb: ram,
            disk_gb: 1,
            availability_zone: None,
            host: None,
            group: None,
            avoid_host: None,
            simulated: None,
        }
    }

    #[test]
    fn spread_takes_the_emptiest_and_pack_the_fullest() {
        let hosts = vec![
            host("a", 8192, 4096),
            host("b", 8192, 0),
            host("c", 8192, 6144),
        ];
        let (fits, _) = place(&hosts, &req(1024), Weigher::Spread);
        assert_eq!(fits[0].name, "b");
        let (fits, _) = place(&hosts, &req(1024), Weigher::Pack);
        assert_eq!(fits[0].name, "c");
    }

    #[test]
    fn each_refusal_says_why() {
        let mut off = host("off", 8192, 0);
        off.enabled = false;
        off.disabled_reason = Some("maintenance".into());
        let mut other = host("z2", 65536, 0);
        other.availability_zone = "zone2".into();
        let hosts = vec![host("small", 8192, 2048), off, other];
        let mut r = req(8192);
        r.availability_zone = Some("nova".into());
        let (fits, reasons) = place(&hosts, &r, Weigher::Spread);
        assert!(fits.is_empty());
        assert_eq!(
            reasons,
            vec![
                "small: 6144 MiB RAM free < 8192 MiB asked",
                "off: disabled (maintenance)",
                "z2: in availability zone zone2, not nova"
            ]
        );
    }
}
