//! Networks made real on a host. A port bound to a server on a real host makes its
//! network a libvirt network there (an isolated bridge; libvirt's dnsmasq on the
//! subnet's DHCP port address, serving host entries only), adds the port's entry (its
//! MAC → its fixed IP, so the guest's lease is exactly the port's address) and defines
//! the port's nwfilter from its security groups. A change to a group's rules, or to
//! the members a rule's remote group names, redefines the filters of the ports it
//! touches, and libvirt applies them to running guests at once. Simulated hosts
//! (libvirt's test driver) get the records and no plumbing.
//!
//! The filter (`fs-port-<id>`): libvirt's anti-spoofing filters on the port's MAC and
//! addresses, ARP and DHCP allowed, then one accept rule per security-group rule
//! (ingress = to the guest, `in`; egress = from it, `out`; connection tracking lets
//! replies back), and a final drop of all other IPv4 and IPv6 traffic.

use std::collections::{BTreeSet, HashMap};

use ferrostack_core::db::Sql;
use ferrostack_core::events::NewEvent;
use ferrostack_core::{time, Action, Ctx, Error, Result};
use ferrostack_hypervisor::net::{DhcpHost, NetworkSpec};
use ferrostack_hypervisor::{Hypervisor, NicSpec};

use crate::cidr::{parse_ip, Cidr};
use crate::ports::{PortRow, COLUMNS as PORT_COLUMNS};
use crate::rules::{RuleRow, RULE_COLUMNS};
use crate::xml::esc;
use crate::{Networking, KIND_PORT};

/// The device owner of the port a subnet's DHCP server holds.
pub const DHCP_OWNER: &str = "network:dhcp";

/// libvirt's names for a network: the network and its bridge (15 characters at most).
pub fn libvirt_names(network_id: &str) -> (String, String) {
    let hex: String = network_id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(12)
        .collect();
    (format!("fs-{network_id}"), format!("fsb{hex}"))
}

pub fn filter_name(port_id: &str) -> String {
    format!("fs-port-{port_id}")
}

fn hv_err(uri: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable {
        message: format!("The host {uri} could not set up networking: {e}"),
        retry_after: 10,
    }
}

/// One security-group rule as nwfilter elements: (direction, element, attributes).
fn rule_elements(r: &RuleRow, remote_ips: &[String]) -> Vec<(String, String)> {
    let v6 = r.ethertype == "IPv6";
    let element = match (r.protocol.as_deref(), v6) {
        (None, false) => "all",
        (None, true) => "all-ipv6",
        (Some("tcp" | "6"), false) => "tcp",
        (Some("tcp" | "6"), true) => "tcp-ipv6",
        (Some("udp" | "17"), false) => "udp",
        (Some("udp" | "17"), true) => "udp-ipv6",
        (Some("sctp" | "132"), false) => "sctp",
        (Some("sctp" | "132"), true) => "sctp-ipv6",
        (Some("icmp" | "1"), false) => "icmp",
        (Some("icmp" | "ipv6-icmp" | "58"), true) => "icmpv6",
        // Other protocols have no nwfilter element: not allowed (fail closed).
        _ => return vec![],
    };
    let direction = if r.direction == "ingress" {
        "in"
    } else {
        "out"
    };
    let side = if r.direction == "ingress" {
        "src"
    } else {
        "dst"
    };
    let mut attrs = String::new();
    match element {
        "icmp" | "icmpv6" => {
            if let Some(t) = r.port_range_min {
                attrs.push_str(&format!(" type='{t}'"));
            }
            if let Some(c) = r.port_range_max {
                attrs.push_str(&format!(" code='{c}'"));
            }
        }
        "all" | "all-ipv6" => {}
        _ => {
            if let (Some(a), Some(b)) = (r.port_range_min, r.port_range_max) {
                attrs.push_str(&format!(" dstportstart='{a}' dstportend='{b}'"));
            }
        }
    }
    let mut remotes: Vec<String> = Vec::new();
    if let Some(p) = &r.remote_ip_prefix {
        if let Ok(c) = Cidr::parse(p) {
            if c.prefix == 0 {
                remotes.push(String::new());
            } else {
                remotes.push(format!(
                    " {side}ipaddr='{}' {side}ipmask='{}'",
                    crate::cidr::ip_string(c.v6, c.net),
                    c.prefix
                ));
            }
        }
    } else if r.remote_group_id.is_some() {
        for ip in remote_ips {
            if let Some((fam, _)) = parse_ip(ip) {
                if fam == v6 {
                    remotes.push(format!(" {side}ipaddr='{}'", esc(ip)));
                }
            }
        }
    } else {
        remotes.push(String::new());
    }
    remotes
        .into_iter()
        .map(|remote| {
            (
                direction.to_string(),
                format!("<{element}{remote}{attrs}/>"),
            )
        })
        .collect()
}

/// The nwfilter XML of a port: its addresses, and its groups' rules with each remote
/// group's member addresses.
pub(crate) fn filter_xml(
    port: &PortRow,
    ips: &[String],
    rules: &[(RuleRow, Vec<String>)],
) -> String {
    let name = filter_name(&port.id);
    let mut x = format!(
        "<filter name='{}' chain='root'>\n  <uuid>{}</uuid>\n",
        esc(&name),
        esc(&port.id)
    );
    x.push_str("  <filterref filter='no-mac-spoofing'/>\n");
    let v4: Vec<&String> = ips.iter().filter(|ip| !ip.contains(':')).collect();
    let params: String = v4
        .iter()
        .map(|ip| format!("<parameter name='IP' value='{}'/>", esc(ip)))
        .collect();
    x.push_str(&format!(
        "  <filterref filter='no-ip-spoofing'>{params}</filterref>\n"
    ));
    x.push_str(&format!(
        "  <filterref filter='no-arp-spoofing'>{params}</filterref>\n"
    ));
    x.push_str("  <rule action='accept' direction='inout' priority='-500'><mac protocolid='arp'/></rule>\n");
    x.push_str("  <rule action='accept' direction='inout' priority='-650'><mac protocolid='ipv4'/></rule>\n");
    x.push_str("  <rule action='accept' direction='inout' priority='-650'><mac protocolid='ipv6'/></rule>\n");
    x.push_str("  <filterref filter='no-other-l2-traffic'/>\n");
    // DHCP with the network's server, whatever the groups say.
    x.push_str("  <rule action='accept' direction='out' priority='100'><udp srcportstart='68' dstportstart='67'/></rule>\n");
    x.push_str("  <rule action='accept' direction='in' priority='100'><udp srcportstart='67' dstportstart='68'/></rule>\n");
    for (r, remote) in rules {
        for (direction, element) in rule_elements(r, remote) {
            x.push_str(&format!(
                "  <rule action='accept' direction='{direction}' priority='500'>{element}</rule>\n"
            ));
        }
    }
    x.push_str("  <rule action='drop' direction='inout' priority='1000'><all/></rule>\n");
    x.push_str("  <rule action='drop' direction='inout' priority='1000'><all-ipv6/></rule>\n");
    x.push_str("</filter>\n");
    x
}

impl Networking {
    pub(crate) fn hv(&self) -> Result<&std::sync::Arc<Hypervisor>> {
        self.hv
            .get()
            .ok_or_else(|| Error::internal("the network service has no hypervisor connections"))
    }

    /// Give the network service the process's libvirt connections (compute's).
    pub fn attach_hypervisor(&self, hv: std::sync::Arc<Hypervisor>) {
        let _ = self.hv.set(hv);
    }

    async fn port_ips(&self, port: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT ip_address FROM net_ip_allocations WHERE port_id = $1 ORDER BY ip_key",
        )
        .bind(port)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The addresses a port may send from: its fixed IPs and exact-address pairs.
    async fn port_sources(&self, port: &PortRow) -> Result<Vec<String>> {
        let mut ips = self.port_ips(&port.id).await?;
        let pairs: Vec<ferrostack_types::network::AddressPair> =
            serde_json::from_str(&port.allowed_address_pairs).unwrap_or_default();
        ips.extend(
            pairs
                .into_iter()
                .filter(|p| !p.ip_address.contains('/'))
                .map(|p| p.ip_address),
        );
        Ok(ips)
    }

    /// The filter a port should have now (from the database).
    pub(crate) async fn desired_filter(&self, port: &PortRow) -> Result<String> {
        let ips = self.port_sources(port).await?;
        let rules: Vec<RuleRow> = sqlx::query_as(&format!(
            "{RULE_COLUMNS} WHERE r.security_group_id IN (SELECT security_group_id FROM net_port_security_groups WHERE port_id = $1) \
             ORDER BY r.created_at, r.id"
        ))
        .bind(&port.id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::new();
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        for r in rules {
            let remote = match &r.remote_group_id {
                Some(g) => {
                    if !members.contains_key(g) {
                        let ips: Vec<(String,)> = sqlx::query_as(
                            "SELECT a.ip_address FROM net_ip_allocations a JOIN net_port_security_groups m ON m.port_id = a.port_id \
                             WHERE m.security_group_id = $1 ORDER BY a.ip_key",
                        )
                        .bind(g)
                        .fetch_all(&self.db.pool)
                        .await?;
                        members.insert(g.clone(), ips.into_iter().map(|x| x.0).collect());
                    }
                    members[g].clone()
                }
                None => vec![],
            };
            out.push((r, remote));
        }
        Ok(filter_xml(port, &ips, &out))
    }

    /// The libvirt network spec of `network` on `uri`: its DHCP port's address and the
    /// entries of its ports bound there.
    async fn network_spec(&self, network: &str, uri: &str, mtu: i64) -> Result<NetworkSpec> {
        let (name, bridge) = libvirt_names(network);
        let dhcp: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT a.ip_address, s.cidr, s.gateway_ip FROM net_ip_allocations a JOIN net_ports p ON p.id = a.port_id \
             JOIN net_subnets s ON s.id = a.subnet_id \
             WHERE p.network_id = $1 AND p.device_owner = $2 AND s.ip_version = 4 AND s.enable_dhcp = 1 \
             ORDER BY s.created_at, s.id LIMIT 1",
        )
        .bind(network)
        .bind(DHCP_OWNER)
        .fetch_optional(&self.db.pool)
        .await?;
        let gateway = dhcp.as_ref().and_then(|d| d.2.clone());
        let dhcp_ip = match dhcp {
            Some((ip, cidr, _)) => Some((ip, Cidr::parse(&cidr).map_err(Error::internal)?.prefix)),
            None => None,
        };
        let hosts: Vec<(String, String)> = sqlx::query_as(
            "SELECT p.mac_address, a.ip_address FROM net_ports p JOIN net_ip_allocations a ON a.port_id = p.id \
             JOIN net_subnets s ON s.id = a.subnet_id \
             WHERE p.network_id = $1 AND p.binding_uri = $2 AND s.ip_version = 4 ORDER BY a.ip_key",
        )
        .bind(network)
        .bind(uri)
        .fetch_all(&self.db.pool)
        .await?;
        let mut seen = BTreeSet::new();
        let hosts = hosts
            .into_iter()
            .filter(|(mac, _)| seen.insert(mac.clone()))
            .map(|(mac, ip)| DhcpHost {
                mac,
                ip,
                name: String::new(),
            })
            .collect();
        Ok(NetworkSpec {
            name,
            bridge,
            mtu,
            dhcp_ip,
            hosts,
            gateway,
        })
    }

    /// Make `network` a libvirt network on `uri` unless it is one there, and record
    /// that it is (so deleting the network removes it). Its spec.
    pub(crate) async fn realize_network(
        &self,
        network: &str,
        mtu: i64,
        uri: &str,
    ) -> Result<NetworkSpec> {
        let h = self.hv()?.host(uri);
        let spec = self.network_spec(network, uri, mtu).await?;
        h.network_ensure(spec.clone())
            .await
            .map_err(|e| hv_err(uri, e))?;
        sqlx::query(
            "INSERT INTO net_backings (network_id, host_uri, libvirt_name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (network_id, host_uri) DO NOTHING",
        )
        .bind(network)
        .bind(uri)
        .bind(&spec.name)
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?;
        Ok(spec)
    }

    /// Plug `port` into `device` (a server) on host `host` at libvirt `uri`: the
    /// binding is recorded, and on a real host the network, the DHCP entry and the
    /// filter are made. The NIC the domain gets; `None` on a simulated host.
    pub async fn port_bind(
        &self,
        ctx: &Ctx,
        port_id: &str,
        device_id: &str,
        device_owner: &str,
        host: &str,
        uri: &str,
    ) -> Result<Option<NicSpec>> {
        let port = self.port_row(ctx, port_id).await?;
        ctx.authorize(Action::Write, &port.owned())?;
        if !port.device_id.is_empty() && port.device_id != device_id {
            return Err(Error::coded(
                409,
                "PortInUse",
                format!(
                    "Port {port_id} is still in use by device {}.",
                    port.device_id
                ),
            ));
        }
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        // Only a port free or already this device's: two devices binding at once
        // cannot both have it.
        let n = sqlx::query(
            "UPDATE net_ports SET device_id = $2, device_owner = $3, binding_host_id = $4, binding_uri = $5, status = 'ACTIVE', \
             revision_number = revision_number + 1, updated_at = $6 WHERE id = $1 AND (device_id = '' OR device_id = $2)",
        )
        .bind(port_id)
        .bind(device_id)
        .bind(device_owner)
        .bind(host)
        .bind(uri)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::coded(
                409,
                "PortInUse",
                format!("Port {port_id} was taken by another device meanwhile."),
            ));
        }
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&port.project_id), KIND_PORT, port_id, "bind")
                    .status("ACTIVE"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        if Hypervisor::is_simulated(uri) {
            return Ok(None);
        }
        let port = self.port_row(ctx, port_id).await?;
        let net = self
            .network_row(&Ctx::internal(&ctx.request_id), &port.network_id)
            .await?;
        let h = self.hv()?.host(uri);
        let spec = self.realize_network(&net.id, net.mtu, uri).await?;
        let name = spec.name.clone();
        if spec.dhcp_ip.is_some() {
            for entry in spec.hosts.iter().filter(|e| e.mac == port.mac_address) {
                h.dhcp_host(&name, entry.clone(), true)
                    .await
                    .map_err(|e| hv_err(uri, e))?;
            }
        }
        let filter = if port.port_security_enabled != 0 {
            self.apply_filter(&port).await?;
            Some(filter_name(&port.id))
        } else {
            None
        };
        Ok(Some(NicSpec {
            mac: port.mac_address,
            source_type: "network".into(),
            source: name,
            filter,
        }))
    }

    /// Take `port` out of its device (after the domain is gone): its DHCP entry and
    /// filter are removed from the host, and the binding cleared — or the port deleted
    /// when the device made it (`delete`).
    pub async fn port_unbind(&self, ctx: &Ctx, port_id: &str, delete: bool) -> Result<()> {
        let port = match self.port_row(ctx, port_id).await {
            Ok(p) => p,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        ctx.authorize(Action::Write, &port.owned())?;
        // Under the filter lock, the binding is cleared first: a refresh running now
        // (another port of the group deleted) then no longer defines this filter.
        let _guard = self.filter_lock.lock().await;
        let uri = port.binding_uri.clone();
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE net_ports SET binding_host_id = '', binding_uri = '', status = 'DOWN', \
             revision_number = revision_number + 1, updated_at = $2 WHERE id = $1",
        )
        .bind(port_id)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if !uri.is_empty() && !Hypervisor::is_simulated(&uri) {
            let h = self.hv()?.host(&uri);
            let (name, _) = libvirt_names(&port.network_id);
            let entry = DhcpHost {
                mac: port.mac_address.clone(),
                ip: String::new(),
                name: String::new(),
            };
            if let Err(e) = h.dhcp_host(&name, entry, false).await {
                tracing::warn!(port = port_id, error = %e, "could not remove the port's DHCP entry");
            }
            h.nwfilter_remove(&filter_name(port_id))
                .await
                .map_err(|e| hv_err(&uri, e))?;
            self.remember(port_id, None);
        }
        drop(_guard);
        if delete {
            return self.port_delete(ctx, port_id).await;
        }
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE net_ports SET device_id = '', device_owner = '', binding_host_id = '', binding_uri = '', status = 'DOWN', \
             revision_number = revision_number + 1, updated_at = $2 WHERE id = $1",
        )
        .bind(port_id)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&port.project_id), KIND_PORT, port_id, "unbind")
                    .status("DOWN"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        Ok(())
    }

    /// Redefine the filters of the bound ports the change of `groups` reaches: their
    /// members, and the members of groups whose rules name them as remote group.
    /// Failures are logged (the reconciler puts them right).
    pub(crate) async fn refresh_filters(&self, groups: &[String]) {
        if groups.is_empty() || self.hv.get().is_none() {
            return;
        }
        if let Err(e) = self.refresh_filters_inner(groups).await {
            tracing::warn!(error = %e.detail(), "could not refresh security-group filters");
        }
    }

    async fn refresh_filters_inner(&self, groups: &[String]) -> Result<()> {
        let mut sql = Sql::new(&format!(
            "{PORT_COLUMNS} WHERE p.binding_uri <> '' AND p.port_security_enabled = 1 AND p.id IN \
             (SELECT port_id FROM net_port_security_groups WHERE security_group_id IN "
        ));
        sql.in_list(groups.iter().map(String::as_str));
        sql.push(" OR security_group_id IN (SELECT security_group_id FROM net_security_group_rules WHERE remote_group_id IN ");
        sql.in_list(groups.iter().map(String::as_str));
        sql.push("))");
        let ports: Vec<PortRow> = sql.query_as().fetch_all(&self.db.pool).await?;
        for p in ports {
            self.apply_filter(&p).await?;
        }
        Ok(())
    }

    pub(crate) async fn apply_filter(&self, p: &PortRow) -> Result<()> {
        let _guard = self.filter_lock.lock().await;
        // Still bound where it was read bound (an unbind may have come between).
        let now: Option<(String, i64)> = sqlx::query_as(
            "SELECT binding_uri, port_security_enabled FROM net_ports WHERE id = $1",
        )
        .bind(&p.id)
        .fetch_optional(&self.db.pool)
        .await?;
        match now {
            Some((uri, 1)) if uri == p.binding_uri && !uri.is_empty() => {}
            _ => return Ok(()),
        }
        if Hypervisor::is_simulated(&p.binding_uri) {
            return Ok(());
        }
        let xml = self.desired_filter(p).await?;
        let d = digest(&xml);
        self.hv()?
            .host(&p.binding_uri)
            .nwfilter_define(xml)
            .await
            .map_err(|e| hv_err(&p.binding_uri, e))?;
        self.remember(&p.id, Some(d));
        Ok(())
    }

    /// Which filter this process last gave a port (the reconciler's memory).
    fn remember(&self, port: &str, d: Option<u64>) {
        if let Ok(mut m) = self.applied.lock() {
            match d {
                Some(d) => m.insert(port.to_string(), d),
                None => m.remove(port),
            };
        }
    }

    /// The groups a port is in.
    pub(crate) async fn groups_of(&self, port: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT security_group_id FROM net_port_security_groups WHERE port_id = $1",
        )
        .bind(port)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Bring every bound port's filter on real hosts in line with the database (after
    /// a restart, or a refresh that failed). How many were redefined.
    pub async fn reconcile(&self) -> Result<usize> {
        if self.hv.get().is_none() {
            return Ok(0);
        }
        let ports: Vec<PortRow> = sqlx::query_as(&format!(
            "{PORT_COLUMNS} WHERE p.binding_uri <> '' AND p.binding_uri NOT LIKE 'test:%' AND p.port_security_enabled = 1"
        ))
        .fetch_all(&self.db.pool)
        .await?;
        let mut changed = 0;
        // Filters of ports no longer bound on a host (an unbind that failed half way).
        let hosts: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT host_uri FROM net_backings WHERE host_uri NOT LIKE 'test:%'",
        )
        .fetch_all(&self.db.pool)
        .await?;
        for (uri,) in hosts {
            let h = self.hv()?.host(&uri);
            let names = h
                .nwfilter_names("fs-port-")
                .await
                .map_err(|e| hv_err(&uri, e))?;
            for name in names {
                let id = name.trim_start_matches("fs-port-");
                let bound = ports.iter().any(|p| p.id == id && p.binding_uri == uri);
                if !bound {
                    let _guard = self.filter_lock.lock().await;
                    match h.nwfilter_remove(&name).await {
                        Ok(()) => changed += 1,
                        Err(e) => {
                            tracing::warn!(filter = name, error = %e, "cannot remove a stray filter")
                        }
                    }
                }
            }
        }
        changed += self.l3_reconcile().await?;
        for p in ports {
            let want = self.desired_filter(&p).await?;
            let present = self
                .hv()?
                .host(&p.binding_uri)
                .nwfilter_xml(&filter_name(&p.id))
                .await
                .map_err(|e| hv_err(&p.binding_uri, e))?
                .is_some();
            let applied = self
                .applied
                .lock()
                .map(|m| m.get(&p.id).copied())
                .unwrap_or(None);
            if !present || applied != Some(digest(&want)) {
                self.apply_filter(&p).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// The libvirt networks of a deleted network removed from its hosts
    /// ((host URI, libvirt name) pairs); failures are logged.
    pub(crate) async fn unrealize(&self, network: &str, backings: Vec<(String, String)>) {
        let Some(hv) = self.hv.get() else { return };
        for (uri, name) in backings {
            if let Err(e) = hv.host(&uri).network_remove(&name).await {
                tracing::warn!(uri, network, error = %e, "could not remove the libvirt network");
            }
        }
    }
}

fn digest(xml: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    xml.hash(&mut h);
    h.finish()
}

impl Networking {
    /// The addresses of the ports plugged into each of `devices` (servers), for their
    /// views: fixed IPs with their network's name and the port's MAC.
    pub async fn device_addresses(
        &self,
        devices: &[&str],
    ) -> Result<HashMap<String, Vec<ferrostack_types::compute::ServerAddress>>> {
        let mut out: HashMap<String, Vec<ferrostack_types::compute::ServerAddress>> =
            HashMap::new();
        for chunk in devices.chunks(500) {
            let mut sql = Sql::new(
                "SELECT p.device_id, n.name, n.id, p.id, a.ip_address, s.ip_version, p.mac_address FROM net_ports p \
                 JOIN net_networks n ON n.id = p.network_id JOIN net_ip_allocations a ON a.port_id = p.id \
                 JOIN net_subnets s ON s.id = a.subnet_id WHERE p.device_id IN ",
            );
            sql.in_list(chunk.iter().copied());
            sql.push(" ORDER BY p.created_at, p.id, s.ip_version, a.ip_key");
            type Row = (String, String, String, String, String, i64, String);
            let rows: Vec<Row> = sql.query_as().fetch_all(&self.db.pool).await?;
            for (device, network, network_id, port_id, addr, version, mac) in rows {
                out.entry(device)
                    .or_default()
                    .push(ferrostack_types::compute::ServerAddress {
                        network,
                        network_id,
                        port_id,
                        addr,
                        version,
                        mac,
                        kind: "fixed".into(),
                    });
            }
            // Floating IPs, under the network of the port they reach (as Nova lists them).
            let mut sql = Sql::new(
                "SELECT p.device_id, n.name, n.id, p.id, f.floating_ip_address, p.mac_address FROM net_floating_ips f \
                 JOIN net_ports p ON p.id = f.port_id JOIN net_networks n ON n.id = p.network_id WHERE p.device_id IN ",
            );
            sql.in_list(chunk.iter().copied());
            sql.push(" ORDER BY f.floating_ip_address");
            type Fip = (String, String, String, String, String, String);
            let rows: Vec<Fip> = sql.query_as().fetch_all(&self.db.pool).await?;
            for (device, network, network_id, port_id, addr, mac) in rows {
                out.entry(device)
                    .or_default()
                    .push(ferrostack_types::compute::ServerAddress {
                        network,
                        network_id,
                        port_id,
                        addr,
                        version: 4,
                        mac,
                        kind: "floating".into(),
                    });
            }
        }
        Ok(out)
    }
}
