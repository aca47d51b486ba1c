//! The addresses and MACs of ports: the IPAM's requests as a port asks them (one
//! address per subnet by default, exact addresses, SLAAC), a MAC unique on the network,
//! the network's DHCP port and the ports the service holds itself (callers hold the
//! network's row lock); and a port's delete.

use ferrostack_core::events::NewEvent;
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Result};
use ferrostack_types::network::limits::LIST_MAX;
use ferrostack_types::network::FixedIp;
use rand::Rng;

use crate::cidr::{mac_string, parse_ip, parse_mac};
use crate::ipam::{self, Allocation};
use crate::ports::{bad, FixedIpRequest};
use crate::subnets::SubnetRow;
use crate::{Networking, KIND_PORT};

impl Networking {
    /// A MAC not used on the network (the network's row is locked by the caller).
    pub(crate) async fn fresh_mac(
        &self,
        conn: &mut sqlx::AnyConnection,
        network: &str,
    ) -> Result<String> {
        for _ in 0..32 {
            let tail: [u8; 3] = rand::thread_rng().gen();
            let b = self.cfg.base_mac;
            let mac = mac_string(&[b[0], b[1], b[2], tail[0], tail[1], tail[2]]);
            let used: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM net_ports WHERE network_id = $1 AND mac_address = $2",
            )
            .bind(network)
            .bind(&mac)
            .fetch_one(&mut *conn)
            .await?;
            if used == 0 {
                return Ok(mac);
            }
        }
        Err(Error::coded(
            409,
            "MacAddressGenerationFailure",
            format!("Unable to generate unique mac on network {network}."),
        ))
    }

    /// Give `port` the addresses `asked` describes (network row locked by the caller).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn allocate(
        &self,
        conn: &mut sqlx::AnyConnection,
        network: &str,
        port: &str,
        mac: &str,
        asked: Option<&[FixedIpRequest]>,
        keep: &[FixedIp],
        router_port: bool,
    ) -> Result<()> {
        let subnets = self.subnets_of(conn, network).await?;
        let mac = parse_mac(mac).ok_or_else(|| Error::internal(format!("bad stored mac {mac}")))?;
        let mut chosen: Vec<Allocation> = Vec::new();
        match asked {
            None => {
                // Neutron's default: one IPv4 address from the first subnet with room,
                // each SLAAC subnet's address, one stateful IPv6 address.
                let mut v4_done = false;
                let mut v6_done = false;
                let mut full: Option<&SubnetRow> = None;
                for s in &subnets {
                    let slaac = s.slaac();
                    if (s.ip_version == 4 && v4_done) || (s.ip_version == 6 && !slaac && v6_done) {
                        continue;
                    }
                    if !slaac && !ipam::has_room(conn, s).await? {
                        full.get_or_insert(s);
                        continue;
                    }
                    let a = ipam::next(conn, s, &mac).await?;
                    record(conn, network, port, &a).await?;
                    chosen.push(a);
                    if s.ip_version == 4 {
                        v4_done = true;
                    } else if !slaac {
                        v6_done = true;
                    }
                }
                if let (Some(s), true) = (full, chosen.is_empty()) {
                    // Every subnet is full: allocating from it says why.
                    ipam::next(conn, s, &mac).await?;
                }
            }
            Some(list) => {
                if list.len() > LIST_MAX {
                    return Err(bad("fixed_ips", format!("at most {LIST_MAX} addresses")));
                }
                for f in list {
                    let subnet = match (&f.subnet_id, &f.ip_address) {
                        (Some(id), _) => subnets.iter().find(|s| &s.id == id).ok_or_else(|| {
                            Error::bad_request(format!(
                                "Invalid input for operation: Failed to create port on network {network}, because fixed_ips included invalid subnet {id}."
                            ))
                        })?,
                        (None, Some(ip)) => {
                            let (v6, n) = parse_ip(ip).ok_or_else(|| bad("fixed_ips", format!("'{ip}' is not a valid IP address")))?;
                            subnets
                                .iter()
                                .find(|s| s.cidr().map(|c| c.contains(v6, n)).unwrap_or(false))
                                .ok_or_else(|| {
                                    Error::bad_request(format!(
                                        "Invalid input for operation: IP address {ip} does not belong to any subnet of network {network}."
                                    ))
                                })?
                        }
                        (None, None) => return Err(bad("fixed_ips", "each entry needs a subnet_id or an ip_address")),
                    };
                    let a = match &f.ip_address {
                        Some(ip) => {
                            let mine = keep.iter().any(|k| {
                                k.subnet_id == subnet.id && parse_ip(&k.ip_address) == parse_ip(ip)
                            });
                            if mine {
                                let (v6, n) = parse_ip(ip).unwrap_or((false, 0));
                                Allocation {
                                    subnet_id: subnet.id.clone(),
                                    ip_address: crate::cidr::ip_string(v6, n),
                                    key: crate::cidr::key(n),
                                }
                            } else {
                                ipam::exact(conn, subnet, ip, router_port).await?
                            }
                        }
                        None => match keep.iter().find(|k| {
                            k.subnet_id == subnet.id
                                && !chosen.iter().any(|c| c.ip_address == k.ip_address)
                        }) {
                            Some(k) => {
                                let n = parse_ip(&k.ip_address).map(|x| x.1).unwrap_or(0);
                                Allocation {
                                    subnet_id: subnet.id.clone(),
                                    ip_address: k.ip_address.clone(),
                                    key: crate::cidr::key(n),
                                }
                            }
                            None => ipam::next(conn, subnet, &mac).await?,
                        },
                    };
                    if chosen
                        .iter()
                        .any(|c| c.subnet_id == a.subnet_id && c.key == a.key)
                    {
                        return Err(bad(
                            "fixed_ips",
                            format!("{} is asked for twice", a.ip_address),
                        ));
                    }
                    record(conn, network, port, &a).await?;
                    chosen.push(a);
                }
            }
        }
        Ok(())
    }
}

/// Record one allocation (the unique key refuses a second holder of the address).
async fn record(
    conn: &mut sqlx::AnyConnection,
    network: &str,
    port: &str,
    a: &Allocation,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO net_ip_allocations (subnet_id, ip_key, ip_address, port_id, network_id) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&a.subnet_id)
    .bind(&a.key)
    .bind(&a.ip_address)
    .bind(port)
    .bind(network)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        ferrostack_core::error::unique_or(e, || format!("IP address {} already allocated in subnet {}", a.ip_address, a.subnet_id))
    })?;
    Ok(())
}

impl Networking {
    /// The network's DHCP port gets an address on `subnet` (the port is made with the
    /// network's first DHCP subnet). Not counted against the project's port quota: it
    /// is the network's own. A subnet with no room gets no DHCP server.
    pub(crate) async fn dhcp_port(
        &self,
        conn: &mut sqlx::AnyConnection,
        network: &str,
        project: &str,
        subnet: &str,
    ) -> Result<()> {
        let s: SubnetRow = sqlx::query_as(&format!("{} WHERE s.id = $1", crate::subnets::COLUMNS))
            .bind(subnet)
            .fetch_one(&mut *conn)
            .await?;
        if !ipam::has_room(conn, &s).await? {
            tracing::warn!(subnet, "no address left for the subnet's DHCP server");
            return Ok(());
        }
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT id, mac_address FROM net_ports WHERE network_id = $1 AND device_owner = $2",
        )
        .bind(network)
        .bind(crate::realize::DHCP_OWNER)
        .fetch_optional(&mut *conn)
        .await?;
        let (id, mac) = match found {
            Some(p) => p,
            None => {
                let id = ids::new_uuid();
                let mac = self.fresh_mac(conn, network).await?;
                let now = time::to_db(&time::now());
                sqlx::query(
                    "INSERT INTO net_ports (id, network_id, project_id, name, description, mac_address, admin_state_up, status, \
                     device_id, device_owner, binding_host_id, port_security_enabled, allowed_address_pairs, revision_number, \
                     created_at, updated_at) VALUES ($1, $2, $3, '', '', $4, 1, 'ACTIVE', $5, $6, '', 0, '[]', 1, $7, $7)",
                )
                .bind(&id)
                .bind(network)
                .bind(project)
                .bind(&mac)
                .bind(format!("dhcp-{network}"))
                .bind(crate::realize::DHCP_OWNER)
                .bind(&now)
                .execute(&mut *conn)
                .await?;
                (id, mac)
            }
        };
        let m = parse_mac(&mac).ok_or_else(|| Error::internal(format!("bad stored mac {mac}")))?;
        let a = ipam::next(conn, &s, &m).await?;
        record(conn, network, &id, &a).await
    }
}

impl Networking {
    /// A port the cloud holds for itself on `network` (a router's interface or
    /// gateway, a floating IP): no security groups, no quota of its own unless the
    /// caller claimed one. The network's row is locked by the caller. Its id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn system_port(
        &self,
        conn: &mut sqlx::AnyConnection,
        network: &str,
        project: &str,
        device_id: &str,
        device_owner: &str,
        asked: Option<&[FixedIpRequest]>,
        router_port: bool,
    ) -> Result<String> {
        let id = ids::new_uuid();
        let mac = self.fresh_mac(conn, network).await?;
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO net_ports (id, network_id, project_id, name, description, mac_address, admin_state_up, status, \
             device_id, device_owner, binding_host_id, port_security_enabled, allowed_address_pairs, revision_number, \
             created_at, updated_at) VALUES ($1, $2, $3, '', '', $4, 1, 'ACTIVE', $5, $6, '', 0, '[]', 1, $7, $7)",
        )
        .bind(&id)
        .bind(network)
        .bind(project)
        .bind(&mac)
        .bind(device_id)
        .bind(device_owner)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        self.allocate(conn, network, &id, &mac, asked, &[], router_port)
            .await?;
        Ok(id)
    }
}

/// Delete a port's rows (addresses, group memberships, tags, the port); how many ports
/// went (0: it was gone).
pub(crate) async fn drop_port(conn: &mut sqlx::AnyConnection, id: &str) -> Result<u64> {
    for sql in [
        "DELETE FROM net_ip_allocations WHERE port_id = $1",
        "DELETE FROM net_port_security_groups WHERE port_id = $1",
        "DELETE FROM net_tags WHERE resource_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(sqlx::query("DELETE FROM net_ports WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// The addresses a port holds: (subnet, address, IP version).
pub(crate) async fn addresses_of(
    conn: &mut sqlx::AnyConnection,
    port: &str,
) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT a.subnet_id, a.ip_address, s.ip_version FROM net_ip_allocations a \
         JOIN net_subnets s ON s.id = a.subnet_id WHERE a.port_id = $1 ORDER BY s.ip_version, a.ip_key",
    )
    .bind(port)
    .fetch_all(&mut *conn)
    .await?)
}

impl Networking {
    /// Delete a port: refused while a router or floating IP holds it; its floating IPs
    /// stay, associated with nothing.
    pub async fn port_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.port_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let held = row.device_owner.starts_with("network:router")
            || row.device_owner == "network:floatingip";
        if held && !row.device_id.is_empty() {
            return Err(Error::coded(
                409,
                "PortInUse",
                format!("Port {id} cannot be deleted directly via the port API: it has device owner {} (remove the router interface, gateway or floating IP).", row.device_owner),
            ));
        }
        let groups = self.groups_of(id).await?;
        let mut tx = self.db.pool.begin().await?;
        // The port's row first: a write, so the transaction holds the lock before it
        // reads (SQLite cannot upgrade a reading transaction once another wrote).
        let there =
            sqlx::query("UPDATE net_ports SET revision_number = revision_number WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if there == 0 {
            return Err(Error::not_found(KIND_PORT, id));
        }
        // Held by a router or a floating IP, whatever its fields say now (read under
        // the lock, so an interface added meanwhile is seen).
        let held: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM net_router_interfaces WHERE port_id = $1) \
             + (SELECT COUNT(*) FROM net_floating_ips WHERE floating_port_id = $1) \
             + (SELECT COUNT(*) FROM net_routers WHERE gateway_port_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if held > 0 {
            return Err(Error::coded(
                409,
                "PortInUse",
                format!("Port {id} cannot be deleted directly via the port API: a router or a floating IP holds it."),
            ));
        }
        // Its floating IPs stay, associated with nothing (Neutron's behaviour).
        let routers = crate::floating_ips::disassociate_port(&mut tx, id).await?;
        if crate::port_ips::drop_port(&mut tx, id).await? == 0 {
            return Err(Error::not_found(KIND_PORT, id));
        }
        // A DHCP port was never counted.
        if row.device_owner != crate::realize::DHCP_OWNER && !row.project_id.is_empty() {
            quotas::release(&mut tx, &row.project_id, "port", 1).await?;
        }
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_PORT, id, "delete")
                    .status("DELETED"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.refresh_filters(&groups).await;
        for r in routers {
            self.l3_sync(&r).await;
        }
        Ok(())
    }
}
