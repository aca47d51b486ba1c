//! Ports: a MAC and fixed IPs on a network, bound to a device (a server, a router),
//! with security groups, port security and allowed address pairs. Create claims the
//! port quota first, then locks the network's row, so its MAC and addresses are
//! chosen one port at a time (the IPAM, ipam.rs); delete gives them back.

use std::collections::HashMap;

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::events::NewEvent;
use ferrostack_core::list::{self, SortKey};
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::network::limits::LIST_MAX;
use ferrostack_types::network::{AddressPair, FixedIp, Port};

use crate::cidr::{mac_string, parse_ip, parse_mac, Cidr};
use crate::common::{
    check_description, check_name, check_tags, tags_of, write_tags, Col, ListQuery,
};
use crate::{Networking, KIND_PORT};

/// One entry of a port's `fixed_ips` as asked: a subnet, an address, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixedIpRequest {
    pub subnet_id: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct NewPort {
    pub network_id: String,
    pub name: String,
    pub description: String,
    pub project_id: Option<String>,
    pub admin_state_up: Option<bool>,
    pub mac_address: Option<String>,
    /// `None`: one address from the network's subnets (Neutron's default); `Some([])`:
    /// none.
    pub fixed_ips: Option<Vec<FixedIpRequest>>,
    pub device_id: String,
    pub device_owner: String,
    pub binding_host_id: String,
    /// `None`: the project's default group (for ports with port security).
    pub security_groups: Option<Vec<String>>,
    pub port_security_enabled: Option<bool>,
    pub allowed_address_pairs: Vec<AddressPair>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct PortUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub mac_address: Option<String>,
    pub fixed_ips: Option<Vec<FixedIpRequest>>,
    pub device_id: Option<String>,
    pub device_owner: Option<String>,
    pub binding_host_id: Option<String>,
    pub security_groups: Option<Vec<String>>,
    pub port_security_enabled: Option<bool>,
    pub allowed_address_pairs: Option<Vec<AddressPair>>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub(crate) struct PortRow {
    pub id: String,
    pub network_id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub mac_address: String,
    pub admin_state_up: i64,
    pub status: String,
    pub device_id: String,
    pub device_owner: String,
    pub binding_host_id: String,
    pub binding_uri: String,
    pub port_security_enabled: i64,
    pub allowed_address_pairs: String,
    pub revision_number: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) const COLUMNS: &str = "SELECT p.id, p.network_id, p.project_id, p.name, p.description, p.mac_address, p.admin_state_up, \
     p.status, p.device_id, p.device_owner, p.binding_host_id, p.binding_uri, p.port_security_enabled, p.allowed_address_pairs, \
     p.revision_number, p.created_at, p.updated_at FROM net_ports p";

impl PortRow {
    pub(crate) fn owned(&self) -> Owned<'_> {
        Owned::of_project(KIND_PORT, &self.id, &self.project_id)
    }
}

const FILTERS: &[(&str, Col)] = &[
    ("id", Col::Text("p.id")),
    ("name", Col::Text("p.name")),
    ("description", Col::Text("p.description")),
    ("network_id", Col::Text("p.network_id")),
    ("project_id", Col::Text("p.project_id")),
    ("tenant_id", Col::Text("p.project_id")),
    ("mac_address", Col::Text("p.mac_address")),
    ("device_id", Col::Text("p.device_id")),
    ("device_owner", Col::Text("p.device_owner")),
    ("status", Col::Text("p.status")),
    ("binding:host_id", Col::Text("p.binding_host_id")),
    ("admin_state_up", Col::Bool("p.admin_state_up")),
    (
        "port_security_enabled",
        Col::Bool("p.port_security_enabled"),
    ),
    ("revision_number", Col::Int("p.revision_number")),
];

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "id",
        expr: "p.id",
    },
    SortKey {
        name: "name",
        expr: "p.name",
    },
    SortKey {
        name: "network_id",
        expr: "p.network_id",
    },
    SortKey {
        name: "project_id",
        expr: "p.project_id",
    },
    SortKey {
        name: "mac_address",
        expr: "p.mac_address",
    },
    SortKey {
        name: "device_id",
        expr: "p.device_id",
    },
    SortKey {
        name: "device_owner",
        expr: "p.device_owner",
    },
    SortKey {
        name: "status",
        expr: "p.status",
    },
    SortKey {
        name: "created_at",
        expr: "p.created_at",
    },
    SortKey {
        name: "updated_at",
        expr: "p.updated_at",
    },
];

pub(crate) fn bad(field: &str, why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Invalid input for {field}. Reason: {why}."))
}

fn check_mac(s: &str) -> Result<[u8; 6]> {
    let m = parse_mac(s)
        .ok_or_else(|| bad("mac_address", format!("'{s}' is not a valid MAC address")))?;
    if m[0] & 1 == 1 || m == [0; 6] {
        return Err(bad(
            "mac_address",
            format!("'{s}' is not a valid MAC address (multicast or zero)"),
        ));
    }
    Ok(m)
}

fn check_pairs(pairs: &[AddressPair], port_mac: &str) -> Result<Vec<AddressPair>> {
    if pairs.len() > LIST_MAX {
        return Err(bad(
            "allowed_address_pairs",
            format!("at most {LIST_MAX} pairs"),
        ));
    }
    let mut out = Vec::new();
    for p in pairs {
        let ip = if p.ip_address.contains('/') {
            Cidr::parse(&p.ip_address)
                .map_err(|e| bad("allowed_address_pairs", e))?
                .to_string()
        } else {
            let (v6, n) = parse_ip(&p.ip_address).ok_or_else(|| {
                bad(
                    "allowed_address_pairs",
                    format!("'{}' is not a valid IP address", p.ip_address),
                )
            })?;
            crate::cidr::ip_string(v6, n)
        };
        let mac = if p.mac_address.is_empty() {
            port_mac.to_string()
        } else {
            mac_string(&check_mac(&p.mac_address)?)
        };
        let pair = AddressPair {
            ip_address: ip,
            mac_address: mac,
        };
        if out.contains(&pair) {
            return Err(bad("allowed_address_pairs", "duplicate address pair"));
        }
        out.push(pair);
    }
    Ok(out)
}

fn no_security_without_port_security() -> Error {
    Error::coded(
        409,
        "PortSecurityAndIPRequiredForSecurityGroups",
        "Port security must be enabled and port must have an IP address in order to use security groups.",
    )
}

impl Networking {
    pub(crate) async fn port_row(&self, ctx: &Ctx, id: &str) -> Result<PortRow> {
        let row: Option<PortRow> = sqlx::query_as(&format!("{COLUMNS} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let row = row.ok_or_else(|| Error::not_found(KIND_PORT, id))?;
        ctx.authorize(Action::Read, &row.owned())?;
        Ok(row)
    }

    async fn ports_view(&self, rows: Vec<PortRow>) -> Result<Vec<Port>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut tags = tags_of(&self.db.pool, &ids).await?;
        let mut ips: HashMap<String, Vec<FixedIp>> = HashMap::new();
        let mut groups: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let mut sql = Sql::new(
                "SELECT a.port_id, a.subnet_id, a.ip_address FROM net_ip_allocations a \
                 JOIN net_subnets s ON s.id = a.subnet_id WHERE a.port_id IN ",
            );
            sql.in_list(chunk.iter().copied());
            sql.push(" ORDER BY s.ip_version, s.created_at, a.ip_key");
            let found: Vec<(String, String, String)> =
                sql.query_as().fetch_all(&self.db.pool).await?;
            for (p, subnet_id, ip_address) in found {
                ips.entry(p).or_default().push(FixedIp {
                    subnet_id,
                    ip_address,
                });
            }
            let mut sql = Sql::new(
                "SELECT port_id, security_group_id FROM net_port_security_groups WHERE port_id IN ",
            );
            sql.in_list(chunk.iter().copied());
            sql.push(" ORDER BY security_group_id");
            let found: Vec<(String, String)> = sql.query_as().fetch_all(&self.db.pool).await?;
            for (p, g) in found {
                groups.entry(p).or_default().push(g);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| Port {
                fixed_ips: ips.remove(&r.id).unwrap_or_default(),
                security_groups: groups.remove(&r.id).unwrap_or_default(),
                tags: tags.remove(&r.id).unwrap_or_default(),
                allowed_address_pairs: serde_json::from_str(&r.allowed_address_pairs)
                    .unwrap_or_default(),
                id: r.id,
                network_id: r.network_id,
                project_id: r.project_id,
                name: r.name,
                description: r.description,
                mac_address: r.mac_address,
                admin_state_up: r.admin_state_up != 0,
                status: r.status,
                device_id: r.device_id,
                device_owner: r.device_owner,
                binding_host_id: r.binding_host_id,
                port_security_enabled: r.port_security_enabled != 0,
                revision_number: r.revision_number,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// Security groups a port of `project` may use: that project's (admins: any).
    async fn check_groups(
        &self,
        ctx: &Ctx,
        project: &str,
        groups: &[String],
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for g in groups {
            let row = self.group_row(ctx, g).await?;
            if row.project_id != project && !ctx.is_admin() {
                return Err(Error::not_found(crate::KIND_SECURITY_GROUP, g));
            }
            if !out.contains(&row.id) {
                out.push(row.id);
            }
        }
        Ok(out)
    }

    pub async fn port_create(&self, ctx: &Ctx, new: NewPort) -> Result<Port> {
        let net = self.network_row(ctx, &new.network_id).await?;
        let project = crate::common::owner_project(ctx, new.project_id.as_deref(), "port")?;
        if net.project_id != project && net.shared == 0 && !ctx.is_admin() {
            return Err(Error::not_found(crate::KIND_NETWORK, &net.id));
        }
        if net.external != 0 && net.project_id != project && !ctx.is_admin() {
            return Err(Error::forbidden(format!(
                "Only an admin may create ports on external network {}: use a floating IP.",
                net.id
            )));
        }
        check_name(&new.name)?;
        check_description(&new.description)?;
        check_tags(&new.tags)?;
        crate::common::check_text("device_id", &new.device_id, 255)?;
        crate::common::check_text("device_owner", &new.device_owner, 255)?;
        crate::common::check_text("binding:host_id", &new.binding_host_id, 255)?;
        if new.device_owner.starts_with("network:") {
            network_owner_only(ctx, &net.project_id, &new.device_owner)?;
        }
        let router_port = new.device_owner.starts_with("network:router");
        let port_security = new
            .port_security_enabled
            .unwrap_or(net.port_security_enabled != 0);
        let groups = match &new.security_groups {
            Some(g) => self.check_groups(ctx, &project, g).await?,
            None if port_security && !new.device_owner.starts_with("network:") => {
                vec![self.default_group(ctx, &project).await?]
            }
            None => vec![],
        };
        if !port_security && (!groups.is_empty() || !new.allowed_address_pairs.is_empty()) {
            return Err(if groups.is_empty() {
                Error::coded(409, "AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.")
            } else {
                no_security_without_port_security()
            });
        }
        let asked_mac = match &new.mac_address {
            Some(m) => Some(mac_string(&check_mac(m)?)),
            None => None,
        };
        let limit = self.quota_for(&project, "port").await?;
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        quotas::claim(&mut tx, &project, "port", 1, limit).await?;
        // The network's lock: MACs and addresses on it are chosen one port at a time.
        crate::common::lock_network(&mut tx, &net.id).await?;
        let mac = match asked_mac {
            Some(m) => {
                let used: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM net_ports WHERE network_id = $1 AND mac_address = $2",
                )
                .bind(&net.id)
                .bind(&m)
                .fetch_one(&mut *tx)
                .await?;
                if used > 0 {
                    return Err(Error::coded(
                        409,
                        "MacAddressInUse",
                        format!("Unable to complete operation for network {}. The mac address {m} is in use.", net.id),
                    ));
                }
                m
            }
            None => self.fresh_mac(&mut tx, &net.id).await?,
        };
        let pairs = check_pairs(&new.allowed_address_pairs, &mac)?;
        sqlx::query(
            "INSERT INTO net_ports (id, network_id, project_id, name, description, mac_address, admin_state_up, status, \
             device_id, device_owner, binding_host_id, port_security_enabled, allowed_address_pairs, revision_number, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'DOWN', $8, $9, $10, $11, $12, 1, $13, $13)",
        )
        .bind(&id)
        .bind(&net.id)
        .bind(&project)
        .bind(&new.name)
        .bind(&new.description)
        .bind(&mac)
        .bind(new.admin_state_up.unwrap_or(true) as i64)
        .bind(&new.device_id)
        .bind(&new.device_owner)
        .bind(&new.binding_host_id)
        .bind(port_security as i64)
        .bind(serde_json::to_string(&pairs).map_err(Error::internal)?)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        self.allocate(
            &mut tx,
            &net.id,
            &id,
            &mac,
            new.fixed_ips.as_deref(),
            &[],
            router_port,
        )
        .await?;
        for g in &groups {
            sqlx::query(
                "INSERT INTO net_port_security_groups (port_id, security_group_id) VALUES ($1, $2)",
            )
            .bind(&id)
            .bind(g)
            .execute(&mut *tx)
            .await?;
        }
        write_tags(&mut tx, &id, &new.tags).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&project), KIND_PORT, &id, "create").status("DOWN"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        // Its addresses join the remote groups its groups are.
        self.refresh_filters(&groups).await;
        self.port_get(ctx, &id).await
    }

    pub async fn port_get(&self, ctx: &Ctx, id: &str) -> Result<Port> {
        let row = self.port_row(ctx, id).await?;
        Ok(self.ports_view(vec![row]).await?.remove(0))
    }

    pub async fn port_list(&self, ctx: &Ctx, mut q: ListQuery) -> Result<(Vec<Port>, bool)> {
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1");
        if !ctx.is_admin() {
            sql.push(" AND p.project_id = ")
                .bind(Arg::Text(ctx.project_id().unwrap_or("").to_string()));
        }
        // fixed_ips=ip_address=10.0.0.5 / fixed_ips=subnet_id=... (Neutron's form).
        for f in q.take("fixed_ips") {
            let (k, v) = f.split_once('=').unwrap_or(("", ""));
            let column = match k {
                "ip_address" => "ip_address",
                "subnet_id" => "subnet_id",
                _ => {
                    return Err(Error::bad_request(format!(
                        "Invalid fixed_ips filter {f:?}: use ip_address=X or subnet_id=Y."
                    )))
                }
            };
            let v = if column == "ip_address" {
                parse_ip(v)
                    .map(|(v6, n)| crate::cidr::ip_string(v6, n))
                    .unwrap_or_else(|| v.to_string())
            } else {
                v.to_string()
            };
            sql.push(&format!(
                " AND p.id IN (SELECT port_id FROM net_ip_allocations WHERE {column} = "
            ))
            .bind(Arg::Text(v));
            sql.push(")");
        }
        for g in q.take("security_groups") {
            sql.push(" AND p.id IN (SELECT port_id FROM net_port_security_groups WHERE security_group_id = ")
                .bind(Arg::Text(g));
            sql.push(")");
        }
        q.apply(&mut sql, FILTERS, "p.id")?;
        let marker_ok = match &q.marker {
            Some(m) => self.port_row(ctx, m).await.is_ok(),
            None => true,
        };
        let limit = q.order(&mut sql, SORT_KEYS, "net_ports p", marker_ok)?;
        let rows: Vec<PortRow> = sql.query_as().fetch_all(&self.db.pool).await?;
        let (page, more) = list::page(rows, limit);
        Ok((self.ports_view(page).await?, more))
    }

    pub async fn port_update(&self, ctx: &Ctx, id: &str, u: PortUpdate) -> Result<Port> {
        let row = self.port_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let current = self.ports_view(vec![row.clone()]).await?.remove(0);
        if let Some(n) = &u.name {
            check_name(n)?;
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        for (f, v) in [
            ("device_id", &u.device_id),
            ("device_owner", &u.device_owner),
            ("binding:host_id", &u.binding_host_id),
        ] {
            if let Some(v) = v {
                crate::common::check_text(f, v, 255)?;
            }
        }
        let owner_changes = u
            .device_owner
            .as_ref()
            .is_some_and(|o| *o != row.device_owner)
            || u.device_id.as_ref().is_some_and(|d| *d != row.device_id);
        if owner_changes {
            let held = row.device_owner.starts_with("network:") && !row.device_id.is_empty();
            if held && !ctx.is_admin() {
                return Err(Error::coded(
                    409,
                    "PortInUse",
                    format!("Port {id} is held by {} {}: its device cannot be changed through the port API.", row.device_owner, row.device_id),
                ));
            }
            if let Some(o) = u
                .device_owner
                .as_ref()
                .filter(|o| o.starts_with("network:"))
            {
                let net = self.network_row(ctx, &row.network_id).await?;
                network_owner_only(ctx, &net.project_id, o)?;
            }
        }
        if u.fixed_ips.is_some()
            && row.device_owner.starts_with("network:")
            && !row.device_id.is_empty()
            && !ctx.is_admin()
        {
            return Err(Error::coded(
                409,
                "PortInUse",
                format!(
                    "Port {id} is held by {} {}: its addresses cannot be changed.",
                    row.device_owner, row.device_id
                ),
            ));
        }
        let mac = match &u.mac_address {
            Some(m) => {
                let m = mac_string(&check_mac(m)?);
                if m != row.mac_address && !row.binding_host_id.is_empty() {
                    return Err(Error::coded(409, "PortBound", format!("Unable to complete operation on port {id}: the MAC of a bound port cannot change.")));
                }
                m
            }
            None => row.mac_address.clone(),
        };
        let port_security = u
            .port_security_enabled
            .unwrap_or(row.port_security_enabled != 0);
        let groups = match &u.security_groups {
            Some(g) => Some(self.check_groups(ctx, &row.project_id, g).await?),
            None => None,
        };
        let pairs = match &u.allowed_address_pairs {
            Some(p) => check_pairs(p, &mac)?,
            None => current.allowed_address_pairs.clone(),
        };
        let final_groups = groups
            .clone()
            .unwrap_or_else(|| current.security_groups.clone());
        if !port_security && !final_groups.is_empty() {
            return Err(no_security_without_port_security());
        }
        if !port_security && !pairs.is_empty() {
            return Err(Error::coded(
                409,
                "AddressPairAndPortSecurityRequired",
                "Port Security must be enabled in order to have allowed address pairs on a port.",
            ));
        }
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        crate::common::lock_network(&mut tx, &row.network_id).await?;
        if u.mac_address.is_some() && mac != row.mac_address {
            let used: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM net_ports WHERE network_id = $1 AND mac_address = $2",
            )
            .bind(&row.network_id)
            .bind(&mac)
            .fetch_one(&mut *tx)
            .await?;
            if used > 0 {
                return Err(Error::coded(409, "MacAddressInUse", format!("Unable to complete operation for network {}. The mac address {mac} is in use.", row.network_id)));
            }
        }
        sqlx::query(
            "UPDATE net_ports SET name = $2, description = $3, admin_state_up = $4, mac_address = $5, device_id = $6, \
             device_owner = $7, binding_host_id = $8, port_security_enabled = $9, allowed_address_pairs = $10, \
             revision_number = revision_number + 1, updated_at = $11 WHERE id = $1",
        )
        .bind(id)
        .bind(u.name.as_ref().unwrap_or(&row.name))
        .bind(u.description.as_ref().unwrap_or(&row.description))
        .bind(u.admin_state_up.map(i64::from).unwrap_or(row.admin_state_up))
        .bind(&mac)
        .bind(u.device_id.as_ref().unwrap_or(&row.device_id))
        .bind(u.device_owner.as_ref().unwrap_or(&row.device_owner))
        .bind(u.binding_host_id.as_ref().unwrap_or(&row.binding_host_id))
        .bind(port_security as i64)
        .bind(serde_json::to_string(&pairs).map_err(Error::internal)?)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        if let Some(asked) = &u.fixed_ips {
            sqlx::query("DELETE FROM net_ip_allocations WHERE port_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let router_port = u
                .device_owner
                .as_ref()
                .unwrap_or(&row.device_owner)
                .starts_with("network:router");
            self.allocate(
                &mut tx,
                &row.network_id,
                id,
                &mac,
                Some(asked),
                &current.fixed_ips,
                router_port,
            )
            .await?;
        }
        if let Some(g) = &groups {
            sqlx::query("DELETE FROM net_port_security_groups WHERE port_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for g in g {
                sqlx::query("INSERT INTO net_port_security_groups (port_id, security_group_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(g)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_PORT, id, "update")
                    .status(&row.status),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        // The port's own filter, and the filters that name its groups (old and new).
        let mut touched = current.security_groups.clone();
        touched.extend(final_groups.iter().cloned());
        if u.fixed_ips.is_some()
            || u.allowed_address_pairs.is_some()
            || u.port_security_enabled.is_some()
            || groups.is_some()
        {
            if !row.binding_uri.is_empty() && port_security {
                if let Ok(fresh) = self.port_row(ctx, id).await {
                    if let Err(e) = self.apply_filter(&fresh).await {
                        tracing::warn!(port = id, error = %e.detail(), "could not redefine the port's filter");
                    }
                }
            }
            self.refresh_filters(&touched).await;
        }
        self.port_get(ctx, id).await
    }
}

/// `network:*` device owners (router ports, DHCP) are the network owner's or an admin's
/// to set, as in Neutron: anyone else could take a subnet's gateway address.
pub(crate) fn network_owner_only(ctx: &Ctx, network_project: &str, owner: &str) -> Result<()> {
    if ctx.is_admin() || ctx.project_id() == Some(network_project) {
        return Ok(());
    }
    Err(Error::forbidden(format!(
        "device_owner {owner} is set only by the network's owner or an admin."
    )))
}
