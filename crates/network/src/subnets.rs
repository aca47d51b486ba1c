//! Subnets: a CIDR on a network with its gateway, allocation pools, DNS servers and
//! host routes, IPv4 or IPv6. CIDRs may overlap across networks (and projects) but
//! not within one network: a create locks its network's row and checks there.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::events::NewEvent;
use ferrostack_core::list::{self, SortKey};
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::network::limits::LIST_MAX;
use ferrostack_types::network::{HostRoute, Pool, Subnet};

use crate::cidr::{ip_string, parse_ip, Cidr};
use crate::common::{
    check_description, check_name, check_tags, tags_of, write_tags, Col, ListQuery,
};
use crate::{Networking, KIND_SUBNET};

/// The gateway asked for: the default (the first address), none, or this one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Gateway {
    #[default]
    Default,
    None,
    Ip(String),
}

#[derive(Clone, Debug, Default)]
pub struct NewSubnet {
    pub network_id: String,
    pub name: String,
    pub description: String,
    pub project_id: Option<String>,
    pub ip_version: Option<i64>,
    pub cidr: Option<String>,
    pub gateway: Gateway,
    pub enable_dhcp: Option<bool>,
    pub dns_nameservers: Vec<String>,
    pub host_routes: Vec<HostRoute>,
    pub allocation_pools: Option<Vec<Pool>>,
    pub ipv6_ra_mode: Option<String>,
    pub ipv6_address_mode: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct SubnetUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub gateway: Option<Gateway>,
    pub enable_dhcp: Option<bool>,
    pub dns_nameservers: Option<Vec<String>>,
    pub host_routes: Option<Vec<HostRoute>>,
    pub allocation_pools: Option<Vec<Pool>>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub(crate) struct SubnetRow {
    pub id: String,
    pub network_id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub ip_version: i64,
    pub cidr: String,
    pub gateway_ip: Option<String>,
    pub enable_dhcp: i64,
    pub dns_nameservers: String,
    pub host_routes: String,
    pub allocation_pools: String,
    pub ipv6_ra_mode: Option<String>,
    pub ipv6_address_mode: Option<String>,
    pub revision_number: i64,
    pub created_at: String,
    pub updated_at: String,
    /// The network is shared or external: every project sees the subnet.
    pub open: i64,
}

pub(crate) const COLUMNS: &str = "SELECT s.id, s.network_id, s.project_id, s.name, s.description, s.ip_version, s.cidr, \
     s.gateway_ip, s.enable_dhcp, s.dns_nameservers, s.host_routes, s.allocation_pools, s.ipv6_ra_mode, \
     s.ipv6_address_mode, s.revision_number, s.created_at, s.updated_at, (n.shared + n.external) AS open \
     FROM net_subnets s JOIN net_networks n ON n.id = s.network_id";

impl SubnetRow {
    pub(crate) fn owned(&self) -> Owned<'_> {
        Owned::of_project(KIND_SUBNET, &self.id, &self.project_id).visible(self.open != 0)
    }

    pub(crate) fn cidr(&self) -> Result<Cidr> {
        Cidr::parse(&self.cidr).map_err(Error::internal)
    }

    pub(crate) fn pools(&self) -> Vec<Pool> {
        serde_json::from_str(&self.allocation_pools).unwrap_or_default()
    }

    /// Whether addresses come from the pools (not SLAAC from the MAC).
    pub(crate) fn slaac(&self) -> bool {
        matches!(
            self.ipv6_address_mode.as_deref(),
            Some("slaac") | Some("dhcpv6-stateless")
        )
    }

    pub(crate) fn view(self, tags: Vec<String>) -> Subnet {
        Subnet {
            dns_nameservers: serde_json::from_str(&self.dns_nameservers).unwrap_or_default(),
            host_routes: serde_json::from_str(&self.host_routes).unwrap_or_default(),
            allocation_pools: self.pools(),
            tags,
            id: self.id,
            network_id: self.network_id,
            project_id: self.project_id,
            name: self.name,
            description: self.description,
            ip_version: self.ip_version,
            cidr: self.cidr,
            gateway_ip: self.gateway_ip,
            enable_dhcp: self.enable_dhcp != 0,
            ipv6_ra_mode: self.ipv6_ra_mode,
            ipv6_address_mode: self.ipv6_address_mode,
            revision_number: self.revision_number,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const FILTERS: &[(&str, Col)] = &[
    ("id", Col::Text("s.id")),
    ("name", Col::Text("s.name")),
    ("description", Col::Text("s.description")),
    ("network_id", Col::Text("s.network_id")),
    ("project_id", Col::Text("s.project_id")),
    ("tenant_id", Col::Text("s.project_id")),
    ("cidr", Col::Text("s.cidr")),
    ("gateway_ip", Col::Text("s.gateway_ip")),
    ("ip_version", Col::Int("s.ip_version")),
    ("enable_dhcp", Col::Bool("s.enable_dhcp")),
    ("ipv6_ra_mode", Col::Text("s.ipv6_ra_mode")),
    ("ipv6_address_mode", Col::Text("s.ipv6_address_mode")),
    ("revision_number", Col::Int("s.revision_number")),
];

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "id",
        expr: "s.id",
    },
    SortKey {
        name: "name",
        expr: "s.name",
    },
    SortKey {
        name: "network_id",
        expr: "s.network_id",
    },
    SortKey {
        name: "project_id",
        expr: "s.project_id",
    },
    SortKey {
        name: "cidr",
        expr: "s.cidr",
    },
    SortKey {
        name: "ip_version",
        expr: "s.ip_version",
    },
    SortKey {
        name: "created_at",
        expr: "s.created_at",
    },
    SortKey {
        name: "updated_at",
        expr: "s.updated_at",
    },
];

const IPV6_MODES: &[&str] = &["slaac", "dhcpv6-stateful", "dhcpv6-stateless"];

fn bad(field: &str, why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Invalid input for {field}. Reason: {why}."))
}

/// An address of `cidr`'s family inside it, or a 400 naming the field.
fn ip_in(field: &str, cidr: &Cidr, s: &str) -> Result<u128> {
    let (v6, n) =
        parse_ip(s).ok_or_else(|| bad(field, format!("'{s}' is not a valid IP address")))?;
    if !cidr.contains(v6, n) {
        return Err(bad(field, format!("{s} is not in subnet {cidr}")));
    }
    Ok(n)
}

/// Check and normalise pools: inside the usable range, start ≤ end, not overlapping,
/// clear of the gateway.
fn check_pools(cidr: &Cidr, gateway: Option<u128>, pools: &[Pool]) -> Result<Vec<(u128, u128)>> {
    if pools.len() > LIST_MAX {
        return Err(bad("allocation_pools", format!("at most {LIST_MAX} pools")));
    }
    let (lo, hi) = cidr
        .usable()
        .ok_or_else(|| bad("cidr", format!("{cidr} has no addresses for hosts")))?;
    let mut out = Vec::new();
    for p in pools {
        let s = ip_in("allocation_pools", cidr, &p.start)?;
        let e = ip_in("allocation_pools", cidr, &p.end)?;
        if s > e || s < lo || e > hi {
            return Err(Error::bad_request(format!(
                "The allocation pool {}-{} spans beyond the subnet cidr {cidr}.",
                p.start, p.end
            )));
        }
        if let Some(g) = gateway {
            if g >= s && g <= e {
                return Err(Error::coded(
                    409,
                    "GatewayConflictWithAllocationPools",
                    format!(
                        "Gateway ip {} conflicts with allocation pool {}-{}.",
                        ip_string(cidr.v6, g),
                        p.start,
                        p.end
                    ),
                ));
            }
        }
        out.push((s, e));
    }
    out.sort();
    for w in out.windows(2) {
        if w[1].0 <= w[0].1 {
            return Err(Error::bad_request(format!(
                "Found overlapping allocation pools: {}-{} and {}-{}.",
                ip_string(cidr.v6, w[0].0),
                ip_string(cidr.v6, w[0].1),
                ip_string(cidr.v6, w[1].0),
                ip_string(cidr.v6, w[1].1)
            )));
        }
    }
    Ok(out)
}

/// Neutron's default pools: the usable range without the gateway.
fn default_pools(cidr: &Cidr, gateway: Option<u128>) -> Result<Vec<Pool>> {
    let (lo, hi) = cidr
        .usable()
        .ok_or_else(|| bad("cidr", format!("{cidr} has no addresses for hosts")))?;
    let mut ranges = vec![];
    match gateway {
        Some(g) if g >= lo && g <= hi => {
            if g > lo {
                ranges.push((lo, g - 1));
            }
            if g < hi {
                ranges.push((g + 1, hi));
            }
        }
        _ => ranges.push((lo, hi)),
    }
    Ok(ranges
        .into_iter()
        .map(|(s, e)| Pool {
            start: ip_string(cidr.v6, s),
            end: ip_string(cidr.v6, e),
        })
        .collect())
}

fn check_gateway(cidr: &Cidr, g: &Gateway) -> Result<Option<u128>> {
    match g {
        Gateway::None => Ok(None),
        Gateway::Default => Ok(cidr.usable().map(|(lo, _)| lo)),
        Gateway::Ip(s) => {
            let n = ip_in("gateway_ip", cidr, s)?;
            if !cidr.v6 && cidr.prefix <= 30 && (n == cidr.first() || n == cidr.last()) {
                return Err(bad(
                    "gateway_ip",
                    format!("{s} is the network or broadcast address of {cidr}"),
                ));
            }
            Ok(Some(n))
        }
    }
}

fn check_dns(v6: bool, dns: &[String]) -> Result<Vec<String>> {
    if dns.len() > LIST_MAX {
        return Err(bad("dns_nameservers", format!("at most {LIST_MAX}")));
    }
    let mut out: Vec<String> = Vec::new();
    for d in dns {
        let (fam, n) = parse_ip(d).ok_or_else(|| {
            bad(
                "dns_nameservers",
                format!("'{d}' is not a valid nameserver"),
            )
        })?;
        let _ = v6;
        let s = ip_string(fam, n);
        if out.contains(&s) {
            return Err(bad(
                "dns_nameservers",
                format!("Duplicate nameserver '{d}'"),
            ));
        }
        out.push(s);
    }
    Ok(out)
}

fn check_routes(cidr: &Cidr, routes: &[HostRoute]) -> Result<Vec<HostRoute>> {
    if routes.len() > LIST_MAX {
        return Err(bad("host_routes", format!("at most {LIST_MAX}")));
    }
    let mut out = Vec::new();
    for r in routes {
        let d = Cidr::parse(&r.destination).map_err(|e| bad("host_routes", e))?;
        let (v6, n) = parse_ip(&r.nexthop).ok_or_else(|| {
            bad(
                "host_routes",
                format!("'{}' is not a valid IP address", r.nexthop),
            )
        })?;
        if d.v6 != cidr.v6 || v6 != cidr.v6 {
            return Err(bad("host_routes", "a route's family must be the subnet's"));
        }
        out.push(HostRoute {
            destination: d.to_string(),
            nexthop: ip_string(v6, n),
        });
    }
    Ok(out)
}

impl Networking {
    pub(crate) async fn subnet_row(&self, ctx: &Ctx, id: &str) -> Result<SubnetRow> {
        let row: Option<SubnetRow> = sqlx::query_as(&format!("{COLUMNS} WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let row = row.ok_or_else(|| Error::not_found(KIND_SUBNET, id))?;
        ctx.authorize(Action::Read, &row.owned())?;
        Ok(row)
    }

    pub(crate) async fn subnets_of(
        &self,
        conn: &mut sqlx::AnyConnection,
        network: &str,
    ) -> Result<Vec<SubnetRow>> {
        Ok(sqlx::query_as(&format!(
            "{COLUMNS} WHERE s.network_id = $1 ORDER BY s.created_at, s.id"
        ))
        .bind(network)
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn subnets_view(&self, rows: Vec<SubnetRow>) -> Result<Vec<Subnet>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut tags = tags_of(&self.db.pool, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let t = tags.remove(&r.id).unwrap_or_default();
                r.view(t)
            })
            .collect())
    }

    pub async fn subnet_create(&self, ctx: &Ctx, new: NewSubnet) -> Result<Subnet> {
        let net = self.network_row(ctx, &new.network_id).await?;
        ctx.authorize(Action::Write, &net.owned())?;
        // Only the network's owner (or an admin) adds subnets, shared or not.
        if ctx.project_id() != Some(net.project_id.as_str()) && !ctx.is_admin() {
            return Err(Error::forbidden(format!(
                "You may not add a subnet to network {}: it belongs to another project.",
                net.id
            )));
        }
        let project = match &new.project_id {
            Some(p) if *p != net.project_id => {
                ctx.authorize(Action::Admin, &net.owned())?;
                p.clone()
            }
            _ => net.project_id.clone(),
        };
        check_name(&new.name)?;
        check_description(&new.description)?;
        check_tags(&new.tags)?;
        let cidr_text = new.cidr.as_deref().ok_or_else(|| {
            Error::bad_request(
                "Bad subnets request: a cidr must be specified (subnet pools are not offered).",
            )
        })?;
        let cidr = Cidr::parse(cidr_text).map_err(|e| bad("cidr", e))?;
        let version = if cidr.v6 { 6 } else { 4 };
        match new.ip_version {
            Some(v) if v != version => {
                return Err(Error::bad_request(format!(
                    "Invalid input for operation: cidr '{cidr_text}' does not match the ip_version '{v}'."
                )))
            }
            Some(4 | 6) | None => {}
            Some(v) => return Err(bad("ip_version", format!("'{v}' is not in [4, 6]"))),
        }
        if cidr.usable().is_none() {
            return Err(bad("cidr", format!("{cidr} has no addresses for hosts")));
        }
        for (field, mode) in [
            ("ipv6_ra_mode", &new.ipv6_ra_mode),
            ("ipv6_address_mode", &new.ipv6_address_mode),
        ] {
            if let Some(m) = mode {
                if !cidr.v6 {
                    return Err(Error::bad_request(format!(
                        "Invalid input for operation: {field} is not valid when ip_version is 4."
                    )));
                }
                if !IPV6_MODES.contains(&m.as_str()) {
                    return Err(bad(field, format!("'{m}' is not in {IPV6_MODES:?}")));
                }
            }
        }
        if let (Some(a), Some(b)) = (&new.ipv6_ra_mode, &new.ipv6_address_mode) {
            if a != b {
                return Err(Error::bad_request(format!(
                    "Invalid input for operation: ipv6_ra_mode set to '{a}' with ipv6_address_mode set to '{b}' is not valid."
                )));
            }
        }
        if new
            .ipv6_address_mode
            .as_deref()
            .is_some_and(|m| m != "dhcpv6-stateful")
            && cidr.prefix != 64
        {
            return Err(Error::bad_request(format!(
                "Invalid input for operation: the SLAAC modes need a /64 prefix, not /{}.",
                cidr.prefix
            )));
        }
        let gateway = check_gateway(&cidr, &new.gateway)?;
        let pools = match &new.allocation_pools {
            Some(p) if !p.is_empty() => {
                check_pools(&cidr, gateway, p)?;
                p.iter()
                    .map(|p| Pool {
                        start: ip_string(cidr.v6, parse_ip(&p.start).map(|x| x.1).unwrap_or(0)),
                        end: ip_string(cidr.v6, parse_ip(&p.end).map(|x| x.1).unwrap_or(0)),
                    })
                    .collect()
            }
            _ => default_pools(&cidr, gateway)?,
        };
        let dns = check_dns(cidr.v6, &new.dns_nameservers)?;
        let routes = check_routes(&cidr, &new.host_routes)?;
        let limit = self.quota_for(&project, "subnet").await?;
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        quotas::claim(&mut tx, &project, "subnet", 1, limit).await?;
        // Lock the network: parallel creates on it check overlaps one at a time.
        crate::common::lock_network(&mut tx, &net.id).await?;
        for other in self.subnets_of(&mut tx, &net.id).await? {
            if other.cidr()?.overlaps(&cidr) {
                return Err(Error::bad_request(format!(
                    "Invalid input for operation: Requested subnet with cidr: {cidr} for network: {} overlaps with another subnet.",
                    net.id
                )));
            }
        }
        sqlx::query(
            "INSERT INTO net_subnets (id, network_id, project_id, name, description, ip_version, cidr, gateway_ip, \
             enable_dhcp, dns_nameservers, host_routes, allocation_pools, ipv6_ra_mode, ipv6_address_mode, ipam_cursor, \
             revision_number, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '', 0, $15, $15)",
        )
        .bind(&id)
        .bind(&net.id)
        .bind(&project)
        .bind(&new.name)
        .bind(&new.description)
        .bind(version)
        .bind(cidr.to_string())
        .bind(gateway.map(|g| ip_string(cidr.v6, g)))
        .bind(new.enable_dhcp.unwrap_or(true) as i64)
        .bind(serde_json::to_string(&dns).map_err(Error::internal)?)
        .bind(serde_json::to_string(&routes).map_err(Error::internal)?)
        .bind(serde_json::to_string(&pools).map_err(Error::internal)?)
        .bind(&new.ipv6_ra_mode)
        .bind(&new.ipv6_address_mode)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        write_tags(&mut tx, &id, &new.tags).await?;
        if new.enable_dhcp.unwrap_or(true) && version == 4 {
            self.dhcp_port(&mut tx, &net.id, &net.project_id, &id)
                .await?;
        }
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&project), KIND_SUBNET, &id, "create").status("ACTIVE"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.subnet_get(ctx, &id).await
    }

    pub async fn subnet_get(&self, ctx: &Ctx, id: &str) -> Result<Subnet> {
        let row = self.subnet_row(ctx, id).await?;
        Ok(self.subnets_view(vec![row]).await?.remove(0))
    }

    pub async fn subnet_list(&self, ctx: &Ctx, q: ListQuery) -> Result<(Vec<Subnet>, bool)> {
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1");
        if !ctx.is_admin() {
            sql.push(" AND (s.project_id = ")
                .bind(Arg::Text(ctx.project_id().unwrap_or("").to_string()));
            sql.push(" OR n.shared = 1 OR n.external = 1)");
        }
        q.apply(&mut sql, FILTERS, "s.id")?;
        let marker_ok = match &q.marker {
            Some(m) => self.subnet_row(ctx, m).await.is_ok(),
            None => true,
        };
        let limit = q.order(&mut sql, SORT_KEYS, "net_subnets s", marker_ok)?;
        let rows: Vec<SubnetRow> = sql.query_as().fetch_all(&self.db.pool).await?;
        let (page, more) = list::page(rows, limit);
        Ok((self.subnets_view(page).await?, more))
    }

    pub async fn subnet_update(&self, ctx: &Ctx, id: &str, u: SubnetUpdate) -> Result<Subnet> {
        let row = self.subnet_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let cidr = row.cidr()?;
        if let Some(n) = &u.name {
            check_name(n)?;
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        let gateway = match &u.gateway {
            Some(g) => check_gateway(&cidr, g)?,
            None => row.gateway_ip.as_deref().and_then(parse_ip).map(|x| x.1),
        };
        let pools = match &u.allocation_pools {
            Some(p) => {
                check_pools(&cidr, gateway, p)?;
                p.clone()
            }
            None => {
                let p = row.pools();
                check_pools(&cidr, gateway, &p)?;
                p
            }
        };
        let dns = match &u.dns_nameservers {
            Some(d) => check_dns(cidr.v6, d)?,
            None => serde_json::from_str(&row.dns_nameservers).unwrap_or_default(),
        };
        let routes = match &u.host_routes {
            Some(r) => check_routes(&cidr, r)?,
            None => serde_json::from_str(&row.host_routes).unwrap_or_default(),
        };
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE net_subnets SET name = $2, description = $3, gateway_ip = $4, enable_dhcp = $5, dns_nameservers = $6, \
             host_routes = $7, allocation_pools = $8, revision_number = revision_number + 1, updated_at = $9 WHERE id = $1",
        )
        .bind(id)
        .bind(u.name.as_ref().unwrap_or(&row.name))
        .bind(u.description.as_ref().unwrap_or(&row.description))
        .bind(gateway.map(|g| ip_string(cidr.v6, g)))
        .bind(u.enable_dhcp.map(i64::from).unwrap_or(row.enable_dhcp))
        .bind(serde_json::to_string(&dns).map_err(Error::internal)?)
        .bind(serde_json::to_string(&routes).map_err(Error::internal)?)
        .bind(serde_json::to_string(&pools).map_err(Error::internal)?)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_SUBNET, id, "update")
                    .status("ACTIVE"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.subnet_get(ctx, id).await
    }

    pub async fn subnet_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.subnet_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let mut tx = self.db.pool.begin().await?;
        crate::common::lock_network(&mut tx, &row.network_id).await?;
        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM net_ip_allocations a JOIN net_ports p ON p.id = a.port_id \
             WHERE a.subnet_id = $1 AND p.device_owner <> 'network:dhcp'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if used > 0 {
            return Err(Error::coded(
                409,
                "SubnetInUse",
                format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."),
            ));
        }
        sqlx::query("DELETE FROM net_ip_allocations WHERE subnet_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_tags WHERE resource_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_subnets WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        quotas::release(&mut tx, &row.project_id, "subnet", 1).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_SUBNET, id, "delete")
                    .status("DELETED"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        Ok(())
    }
}
