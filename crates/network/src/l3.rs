//! Routers made real, as Neutron's L3 agent makes them: each router is a network
//! namespace (`fsr-<router id>`) on the L3 host with one veth leg per interface,
//! plugged into the tenant network's bridge and holding the subnet's gateway address,
//! and a gateway leg on the external network's host bridge (the operator's bridge
//! mapping) holding the gateway address and every floating IP (/32). nftables inside
//! the namespace translates: a floating IP's traffic is DNATed to its fixed address
//! and SNATed back from it; everything else leaving by the gateway is SNATed to the
//! gateway address (when the router does SNAT).
//!
//! The namespace is brought in line with the database as a whole (legs added and
//! removed, addresses diffed, the NAT table replaced atomically with `nft -f`), so a
//! sync after any change — or the reconciler after a crash — converges. Commands run
//! without a shell, with fixed argument lists built from ids and addresses the
//! service generated and parsed, each under a time limit.

use std::collections::BTreeSet;
use std::time::Duration;

use ferrostack_core::{Error, Result};

use crate::cidr::{parse_ip, Cidr};

/// How long one `ip` or `nft` command may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(15);
/// How much of a command's output is read.
const OUTPUT_MAX: usize = 1 << 20;

/// The namespace of a router.
pub fn namespace(router_id: &str) -> String {
    format!("fsr-{}", hex_of(router_id, 32))
}

fn hex_of(id: &str, n: usize) -> String {
    id.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_lowercase())
        .take(n)
        .collect()
}

/// The host end of a leg (at most 15 characters, unique per port).
fn host_if(port_id: &str) -> String {
    format!("fsq{}", hex_of(port_id, 12))
}

/// The namespace end: `qr-` on a tenant subnet, `qg-` on the external network.
fn ns_if(port_id: &str, gateway: bool) -> String {
    format!(
        "{}{}",
        if gateway { "qg-" } else { "qr-" },
        hex_of(port_id, 11)
    )
}

/// Checks a bridge mapping from the config: a physical network name and a Linux
/// interface name.
pub fn check_mapping(physnet: &str, bridge: &str) -> std::result::Result<(), String> {
    if physnet.is_empty() || physnet.len() > 64 || physnet.contains(char::is_whitespace) {
        return Err(format!("{physnet:?}: a physical network is a short name"));
    }
    if !valid_ifname(bridge) {
        return Err(format!(
            "{bridge:?}: a bridge is an interface name (1 to 15 letters, digits, '-', '_' or '.')"
        ));
    }
    Ok(())
}

fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// One leg of a router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Leg {
    pub port_id: String,
    pub gateway: bool,
    pub bridge: String,
    pub mac: String,
    pub mtu: i64,
    /// `ip/prefix` addresses the namespace end holds.
    pub addresses: Vec<String>,
}

/// What a router's namespace should hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub legs: Vec<Leg>,
    /// The external subnet's gateway (the namespace's default route).
    pub default_via: Option<String>,
    /// Floating IPs: (floating address, fixed address).
    pub floating: Vec<(String, String)>,
    /// SNAT of everything else leaving by the gateway: (gateway address, the CIDRs
    /// of the router's subnets).
    pub snat: Option<(String, Vec<String>)>,
}

/// An address re-rendered from its parsed form (so nothing but an address reaches a
/// command line or the NAT rules).
fn clean_ip(ip: &str) -> Result<String> {
    let (v6, n) = parse_ip(ip).ok_or_else(|| Error::internal(format!("bad address {ip}")))?;
    if v6 {
        return Err(Error::internal(format!("{ip}: routers route IPv4")));
    }
    Ok(crate::cidr::ip_string(false, n))
}

fn clean_cidr(c: &str) -> Result<String> {
    let c = Cidr::parse(c).map_err(Error::internal)?;
    Ok(format!(
        "{}/{}",
        crate::cidr::ip_string(c.v6, c.net),
        c.prefix
    ))
}

fn clean_mac(m: &str) -> Result<String> {
    crate::cidr::parse_mac(m)
        .map(|b| crate::cidr::mac_string(&b))
        .ok_or_else(|| Error::internal(format!("bad MAC {m}")))
}

impl Plan {
    /// The NAT table (`nft -f` input): replaced as one transaction.
    pub fn nft(&self) -> Result<String> {
        let gw_if = self
            .legs
            .iter()
            .find(|l| l.gateway)
            .map(|l| ns_if(&l.port_id, true));
        let mut pre = String::new();
        let mut post = String::new();
        if let Some(qg) = &gw_if {
            for (fip, fixed) in &self.floating {
                let (fip, fixed) = (clean_ip(fip)?, clean_ip(fixed)?);
                pre.push_str(&format!("    ip daddr {fip} dnat to {fixed}\n"));
                post.push_str(&format!(
                    "    oifname \"{qg}\" ip saddr {fixed} snat to {fip}\n"
                ));
            }
            if let Some((gw, cidrs)) = &self.snat {
                let gw = clean_ip(gw)?;
                for c in cidrs {
                    post.push_str(&format!(
                        "    oifname \"{qg}\" ip saddr {} snat to {gw}\n",
                        clean_cidr(c)?
                    ));
                }
            }
        }
        Ok(format!(
            "table ip ferrostack\ndelete table ip ferrostack\ntable ip ferrostack {{\n  \
             chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n{pre}  }}\n  \
             chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n{post}  }}\n}}\n"
        ))
    }
}

/// Run a command (no shell), with a time limit; its stdout, or why it failed.
async fn run(args: &[&str], stdin: Option<&str>) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut cmd = tokio::process::Command::new(args[0]);
    cmd.args(&args[1..])
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let unavailable = |why: String| Error::Unavailable {
        message: format!("The router could not be set up on this host: {why}"),
        retry_after: 10,
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| unavailable(format!("{}: {e}", args[0])))?;
    let input = stdin.map(str::to_string);
    let mut sin = child.stdin.take();
    let mut sout = child.stdout.take();
    let mut serr = child.stderr.take();
    let work = async move {
        if let (Some(i), Some(w)) = (input, sin.as_mut()) {
            w.write_all(i.as_bytes()).await?;
        }
        drop(sin);
        let mut out = Vec::new();
        let mut err = Vec::new();
        if let Some(o) = sout.as_mut() {
            o.take(OUTPUT_MAX as u64).read_to_end(&mut out).await?;
        }
        if let Some(e) = serr.as_mut() {
            e.take(OUTPUT_MAX as u64).read_to_end(&mut err).await?;
        }
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out, err))
    };
    let (status, out, err) = tokio::time::timeout(COMMAND_LIMIT, work)
        .await
        .map_err(|_| {
            unavailable(format!(
                "{} took longer than {COMMAND_LIMIT:?}",
                args.join(" ")
            ))
        })?
        .map_err(|e| unavailable(format!("{}: {e}", args[0])))?;
    if !status.success() {
        return Err(unavailable(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&err).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn netns_dir() -> &'static std::path::Path {
    std::path::Path::new("/run/netns")
}

/// The router namespaces present on this host.
pub async fn namespaces() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(mut rd) = tokio::fs::read_dir(netns_dir()).await {
        while let Ok(Some(e)) = rd.next_entry().await {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("fsr-") {
                out.push(n);
            }
        }
    }
    out
}

async fn link_exists(name: &str) -> bool {
    tokio::fs::metadata(format!("/sys/class/net/{name}"))
        .await
        .is_ok()
}

/// The `qr-`/`qg-` links inside a namespace.
async fn ns_links(ns: &str) -> Result<BTreeSet<String>> {
    let out = run(&["ip", "-n", ns, "-o", "link", "show"], None).await?;
    Ok(out
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .filter(|n| n.starts_with("qr-") || n.starts_with("qg-"))
        .collect())
}

async fn ns_addresses(ns: &str, dev: &str) -> Result<BTreeSet<String>> {
    let out = run(
        &["ip", "-n", ns, "-o", "-4", "addr", "show", "dev", dev],
        None,
    )
    .await?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.position(|x| x == "inet")?;
            w.next().map(str::to_string)
        })
        .collect())
}

/// Bring namespace `ns` in line with `plan`.
pub(crate) async fn apply(ns: &str, plan: &Plan) -> Result<()> {
    if tokio::fs::metadata(netns_dir().join(ns)).await.is_err() {
        run(&["ip", "netns", "add", ns], None).await?;
    }
    run(&["ip", "-n", ns, "link", "set", "lo", "up"], None).await?;
    // Forward; answer ARP only for an address on the leg asked, and announce only
    // the leg's own addresses (no leg speaks for another's).
    run(
        &[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
            "net.ipv4.conf.all.arp_ignore=1",
            "net.ipv4.conf.all.arp_announce=2",
            "net.ipv4.conf.default.arp_ignore=1",
            "net.ipv4.conf.default.arp_announce=2",
        ],
        None,
    )
    .await?;
    let want: BTreeSet<String> = plan
        .legs
        .iter()
        .map(|l| ns_if(&l.port_id, l.gateway))
        .collect();
    for gone in ns_links(ns).await?.difference(&want) {
        run(&["ip", "-n", ns, "link", "del", gone], None).await?;
    }
    let present = ns_links(ns).await?;
    for leg in &plan.legs {
        let inner = ns_if(&leg.port_id, leg.gateway);
        let outer = host_if(&leg.port_id);
        let mtu = leg.mtu.clamp(68, 9000).to_string();
        if !valid_ifname(&leg.bridge) {
            return Err(Error::internal(format!("bad bridge {}", leg.bridge)));
        }
        if !present.contains(&inner) {
            if link_exists(&outer).await {
                // The host end of a leg whose namespace end went away.
                run(&["ip", "link", "del", &outer], None).await?;
            }
            run(
                &[
                    "ip", "link", "add", &outer, "type", "veth", "peer", "name", &inner, "netns",
                    ns,
                ],
                None,
            )
            .await?;
        }
        let mac = clean_mac(&leg.mac)?;
        run(
            &[
                "ip", "-n", ns, "link", "set", &inner, "address", &mac, "mtu", &mtu, "up",
            ],
            None,
        )
        .await?;
        run(
            &[
                "ip",
                "link",
                "set",
                &outer,
                "master",
                &leg.bridge,
                "mtu",
                &mtu,
                "up",
            ],
            None,
        )
        .await?;
        let mut want_addrs = BTreeSet::new();
        for a in &leg.addresses {
            want_addrs.insert(clean_cidr_host(a)?);
        }
        let have = ns_addresses(ns, &inner).await?;
        for a in have.difference(&want_addrs) {
            run(&["ip", "-n", ns, "addr", "del", a, "dev", &inner], None).await?;
        }
        for a in want_addrs.difference(&have) {
            run(&["ip", "-n", ns, "addr", "add", a, "dev", &inner], None).await?;
        }
    }
    match (&plan.default_via, plan.legs.iter().find(|l| l.gateway)) {
        (Some(via), Some(g)) => {
            let via = clean_ip(via)?;
            let dev = ns_if(&g.port_id, true);
            run(
                &[
                    "ip", "-n", ns, "route", "replace", "default", "via", &via, "dev", &dev,
                ],
                None,
            )
            .await?;
        }
        _ => {
            // No gateway: no default route (a missing one is fine).
            let _ = run(&["ip", "-n", ns, "route", "del", "default"], None).await;
        }
    }
    run(
        &["ip", "netns", "exec", ns, "nft", "-f", "-"],
        Some(&plan.nft()?),
    )
    .await?;
    Ok(())
}

/// `ip/prefix` with the address part re-rendered.
fn clean_cidr_host(a: &str) -> Result<String> {
    let (ip, prefix) = a
        .split_once('/')
        .ok_or_else(|| Error::internal(format!("bad address {a}")))?;
    let p: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| Error::internal(format!("bad prefix {a}")))?;
    Ok(format!("{}/{p}", clean_ip(ip)?))
}

/// Remove a router's namespace (its legs go with it); a missing one is fine.
pub(crate) async fn remove(ns: &str) -> Result<()> {
    if tokio::fs::metadata(netns_dir().join(ns)).await.is_err() {
        return Ok(());
    }
    run(&["ip", "netns", "del", ns], None).await.map(|_| ())
}

/// The NAT rules a namespace holds now (for tests and the reconciler's readback).
pub async fn nat_rules(ns: &str) -> Result<String> {
    run(
        &[
            "ip",
            "netns",
            "exec",
            ns,
            "nft",
            "list",
            "table",
            "ip",
            "ferrostack",
        ],
        None,
    )
    .await
}

impl crate::Networking {
    /// Whether routers are made real here: a bridge mapping is configured and the L3
    /// host is a real libvirt host this process is attached to.
    fn l3_active(&self) -> bool {
        !self.cfg.bridge_mappings.is_empty()
            && self.hv.get().is_some()
            && !ferrostack_hypervisor::Hypervisor::is_simulated(&self.cfg.l3_host)
    }

    /// What router `id`'s namespace should hold, and the tenant networks its legs plug
    /// into ((id, MTU)); `None`: the router is gone or administratively down.
    async fn router_plan(&self, id: &str) -> Result<Option<(Plan, Vec<(String, i64)>)>> {
        let row: Option<crate::routers::RouterRow> =
            sqlx::query_as(&format!("{} WHERE r.id = $1", crate::routers::COLUMNS))
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
        let Some(r) = row.filter(|r| r.admin_state_up != 0) else {
            return Ok(None);
        };
        let mut plan = Plan::default();
        let mut networks = Vec::new();
        type Iface = (String, String, String, String, String, i64);
        let ifaces: Vec<Iface> = sqlx::query_as(
            "SELECT i.port_id, p.mac_address, p.network_id, a.ip_address, s.cidr, n.mtu FROM net_router_interfaces i \
             JOIN net_ports p ON p.id = i.port_id JOIN net_networks n ON n.id = p.network_id \
             JOIN net_ip_allocations a ON a.port_id = i.port_id AND a.subnet_id = i.subnet_id \
             JOIN net_subnets s ON s.id = i.subnet_id WHERE i.router_id = $1 ORDER BY i.port_id",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut cidrs = Vec::new();
        for (port, mac, network, ip, cidr, mtu) in ifaces {
            let prefix = Cidr::parse(&cidr).map_err(Error::internal)?.prefix;
            plan.legs.push(Leg {
                port_id: port,
                gateway: false,
                bridge: crate::realize::libvirt_names(&network).1,
                mac,
                mtu,
                addresses: vec![format!("{ip}/{prefix}")],
            });
            cidrs.push(cidr);
            networks.push((network, mtu));
        }
        if let (Some(net), Some(port)) = (&r.gateway_network_id, &r.gateway_port_id) {
            let ext: Option<(String, i64, String)> = sqlx::query_as(
                "SELECT n.backing, n.mtu, p.mac_address FROM net_networks n JOIN net_ports p ON p.network_id = n.id \
                 WHERE n.id = $1 AND p.id = $2",
            )
            .bind(net)
            .bind(port)
            .fetch_optional(&self.db.pool)
            .await?;
            let bridge = ext
                .as_ref()
                .and_then(|(physnet, _, _)| self.cfg.bridge_mappings.get(physnet));
            if let (Some((_, mtu, mac)), Some(bridge)) = (&ext, bridge) {
                let gw: Option<(String, String, Option<String>)> = sqlx::query_as(
                    "SELECT a.ip_address, s.cidr, s.gateway_ip FROM net_ip_allocations a \
                     JOIN net_subnets s ON s.id = a.subnet_id WHERE a.port_id = $1 AND s.ip_version = 4 \
                     ORDER BY a.ip_key LIMIT 1",
                )
                .bind(port)
                .fetch_optional(&self.db.pool)
                .await?;
                if let Some((ip, cidr, via)) = gw {
                    let prefix = Cidr::parse(&cidr).map_err(Error::internal)?.prefix;
                    let fips: Vec<(String, String)> = sqlx::query_as(
                        "SELECT floating_ip_address, fixed_ip_address FROM net_floating_ips \
                         WHERE router_id = $1 AND port_id IS NOT NULL AND fixed_ip_address IS NOT NULL \
                         ORDER BY floating_ip_address",
                    )
                    .bind(id)
                    .fetch_all(&self.db.pool)
                    .await?;
                    let mut addresses = vec![format!("{ip}/{prefix}")];
                    addresses.extend(fips.iter().map(|(f, _)| format!("{f}/32")));
                    plan.legs.push(Leg {
                        port_id: port.clone(),
                        gateway: true,
                        bridge: bridge.clone(),
                        mac: mac.clone(),
                        mtu: *mtu,
                        addresses,
                    });
                    plan.default_via = via;
                    plan.floating = fips;
                    if r.enable_snat != 0 {
                        plan.snat = Some((ip, cidrs));
                    }
                }
            }
        }
        Ok(Some((plan, networks)))
    }

    /// Bring router `id`'s namespace in line with the database (removed when the
    /// router is gone or down). Failures are logged; the reconciler retries.
    pub(crate) async fn l3_sync(&self, id: &str) {
        if !self.l3_active() {
            return;
        }
        if let Err(e) = self.l3_sync_inner(id).await {
            tracing::warn!(router = id, error = %e.detail(), "could not bring the router's namespace in line");
        }
    }

    async fn l3_sync_inner(&self, id: &str) -> Result<()> {
        let _guard = self.l3_lock.lock().await;
        let ns = namespace(id);
        match self.router_plan(id).await? {
            None => remove(&ns).await,
            Some((plan, networks)) => {
                let uri = self.cfg.l3_host.clone();
                for (net, mtu) in networks {
                    self.realize_network(&net, mtu, &uri).await?;
                }
                apply(&ns, &plan).await
            }
        }
    }

    /// Every router's namespace brought in line, and namespaces of routers that are
    /// gone removed. How many stray namespaces were removed.
    pub(crate) async fn l3_reconcile(&self) -> Result<usize> {
        if !self.l3_active() {
            return Ok(0);
        }
        let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM net_routers ORDER BY id")
            .fetch_all(&self.db.pool)
            .await?;
        let known: BTreeSet<String> = ids.iter().map(|(i,)| namespace(i)).collect();
        let mut n = 0;
        for (id,) in &ids {
            self.l3_sync(id).await;
        }
        for ns in namespaces().await {
            if !known.contains(&ns) {
                let _guard = self.l3_lock.lock().await;
                match remove(&ns).await {
                    Ok(()) => n += 1,
                    Err(e) => {
                        tracing::warn!(namespace = ns, error = %e.detail(), "cannot remove a stray router namespace")
                    }
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_linux_limits() {
        let id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        assert_eq!(host_if(id), "fsq0f1e2d3c4b5a");
        assert!(host_if(id).len() <= 15);
        assert_eq!(ns_if(id, true), "qg-0f1e2d3c4b5");
        assert_eq!(namespace(id), "fsr-0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    }

    #[test]
    fn mappings_are_checked() {
        assert!(check_mapping("public", "br-ex").is_ok());
        assert!(check_mapping("public", "a-bridge-name-too-long").is_err());
        assert!(check_mapping("public", "br ex").is_err());
        assert!(check_mapping("public", "../x").is_err());
        assert!(check_mapping("", "br-ex").is_err());
    }

    #[test]
    fn nat_rules_name_only_addresses() {
        let plan = Plan {
            legs: vec![Leg {
                port_id: "aaaa0000-0000-0000-0000-000000000000".into(),
                gateway: true,
                bridge: "br-ex".into(),
                mac: "fa:16:3e:00:00:01".into(),
                mtu: 1500,
                addresses: vec!["203.0.113.100/24".into()],
            }],
            default_via: Some("203.0.113.1".into()),
            floating: vec![("203.0.113.150".into(), "10.0.0.5".into())],
            snat: Some(("203.0.113.100".into(), vec!["10.0.0.0/24".into()])),
        };
        let nft = plan.nft().unwrap();
        assert!(
            nft.contains("ip daddr 203.0.113.150 dnat to 10.0.0.5"),
            "{nft}"
        );
        assert!(
            nft.contains("oifname \"qg-aaaa0000000\" ip saddr 10.0.0.5 snat to 203.0.113.150"),
            "{nft}"
        );
        assert!(
            nft.contains("ip saddr 10.0.0.0/24 snat to 203.0.113.100"),
            "{nft}"
        );
        // The floating IP's own SNAT comes before the router's.
        assert!(nft.find("snat to 203.0.113.150") < nft.find("snat to 203.0.113.100"));
        let mut bad = plan.clone();
        bad.floating = vec![("1.2.3.4; flush ruleset".into(), "10.0.0.5".into())];
        assert!(bad.nft().is_err());
    }
}
