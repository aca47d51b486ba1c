//! A router's interfaces: add one on a subnet (a new port holding the subnet's
//! gateway address) or with a free port of the router's project; remove one (its port
//! is deleted). Both run under the router's row lock, the quota claimed first, so
//! overlapping subnets can never both be added and a floating IP never loses the
//! interface it routes through.

use ferrostack_core::events::NewEvent;
use ferrostack_core::{quotas, time, Action, Ctx, Error, Result};
use ferrostack_types::network::RouterInterface;

use crate::cidr::Cidr;
use crate::common::lock_network;
use crate::ports::FixedIpRequest;
use crate::routers::{bad_router, lock_router, InterfaceRequest, INTERFACE_OWNER};
use crate::{Networking, KIND_ROUTER};

impl Networking {
    /// Add an interface: on a subnet (a new port holding its gateway address) or with
    /// a port of the router's project that no device holds.
    pub async fn router_add_interface(
        &self,
        ctx: &Ctx,
        id: &str,
        req: InterfaceRequest,
    ) -> Result<RouterInterface> {
        let router = self.router_row(ctx, id).await?;
        ctx.authorize(Action::Write, &router.owned())?;
        let (subnet_id, port_given) = match &req {
            InterfaceRequest::Subnet(s) => (s.clone(), None),
            InterfaceRequest::Port(p) => {
                let port = self.port_row(ctx, p).await?;
                ctx.authorize(Action::Write, &port.owned())?;
                if !port.device_id.is_empty() {
                    return Err(Error::coded(
                        409,
                        "PortInUse",
                        format!("Port {p} is still in use by device {}.", port.device_id),
                    ));
                }
                let mut conn = self.db.pool.acquire().await?;
                let ips = crate::port_ips::addresses_of(&mut conn, p).await?;
                let v4: Vec<_> = ips.iter().filter(|(_, _, v)| *v == 4).collect();
                if v4.len() != 1 || ips.len() != 1 {
                    return Err(bad_router(format!(
                        "Port {p} must have exactly one fixed IP, an IPv4 address, to be a router interface."
                    )));
                }
                (v4[0].0.clone(), Some(port))
            }
        };
        let subnet = self.subnet_row(ctx, &subnet_id).await?;
        let net = self.network_row(ctx, &subnet.network_id).await?;
        if net.project_id != router.project_id && !ctx.is_admin() {
            return Err(Error::forbidden(format!(
                "Subnet {subnet_id} belongs to another project: a router's interfaces are on its own project's subnets."
            )));
        }
        if net.external != 0 {
            return Err(bad_router(format!(
                "Subnet {subnet_id} is on external network {}: set it as the router's gateway instead.",
                net.id
            )));
        }
        if subnet.ip_version != 4 {
            return Err(bad_router(format!(
                "Subnet {subnet_id} is IPv6: routers here route IPv4 subnets only."
            )));
        }
        let gateway_ip = match (&port_given, &subnet.gateway_ip) {
            (Some(_), _) => None,
            (None, Some(g)) => Some(g.clone()),
            (None, None) => {
                return Err(bad_router(format!(
                    "Subnet {subnet_id} does not have a gateway IP."
                )))
            }
        };
        let cidr = subnet.cidr()?;
        let mut tx = self.db.pool.begin().await?;
        // The quota first, as a port create takes it (then the locks, router before
        // network): the same order everywhere, so no two changes wait on each other.
        if port_given.is_none() {
            let limit = self.quota_for(&router.project_id, "port").await?;
            quotas::claim(&mut tx, &router.project_id, "port", 1, limit).await?;
        }
        lock_router(&mut tx, id).await?;
        let mut existing: Vec<(String, String)> = sqlx::query_as(
            "SELECT s.id, s.cidr FROM net_router_interfaces i JOIN net_subnets s ON s.id = i.subnet_id WHERE i.router_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        // The external network's subnets too: an interface overlapping them would
        // answer on the outside for addresses that are not the router's.
        let outside: Vec<(String, String)> = sqlx::query_as(
            "SELECT s.id, s.cidr FROM net_routers r JOIN net_subnets s ON s.network_id = r.gateway_network_id WHERE r.id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        existing.extend(outside);
        for (other, other_cidr) in &existing {
            if *other == subnet_id {
                return Err(bad_router(format!(
                    "Router already has a port on subnet {subnet_id}."
                )));
            }
            if Cidr::parse(other_cidr).is_ok_and(|c| c.overlaps(&cidr)) {
                return Err(bad_router(format!(
                    "Cidr {} of subnet {subnet_id} overlaps with cidr {other_cidr} of subnet {other}.",
                    subnet.cidr
                )));
            }
        }
        lock_network(&mut tx, &net.id).await?;
        let port_id = match &port_given {
            Some(p) => {
                let n = sqlx::query(
                    "UPDATE net_ports SET device_id = $2, device_owner = $3, status = 'ACTIVE', \
                     revision_number = revision_number + 1, updated_at = $4 WHERE id = $1 AND device_id = ''",
                )
                .bind(&p.id)
                .bind(id)
                .bind(INTERFACE_OWNER)
                .bind(time::to_db(&time::now()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(Error::coded(
                        409,
                        "PortInUse",
                        format!("Port {} was taken by another device meanwhile.", p.id),
                    ));
                }
                p.id.clone()
            }
            None => {
                let asked = [FixedIpRequest {
                    subnet_id: Some(subnet_id.clone()),
                    ip_address: gateway_ip.clone(),
                }];
                self.system_port(
                    &mut tx,
                    &net.id,
                    &router.project_id,
                    id,
                    INTERFACE_OWNER,
                    Some(&asked),
                    true,
                )
                .await?
            }
        };
        sqlx::query(
            "INSERT INTO net_router_interfaces (router_id, port_id, subnet_id) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(&port_id)
        .bind(&subnet_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE net_routers SET revision_number = revision_number + 1, updated_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        let ip = crate::port_ips::addresses_of(&mut tx, &port_id)
            .await?
            .into_iter()
            .next()
            .map(|a| a.1)
            .unwrap_or_default();
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&router.project_id),
                    KIND_ROUTER,
                    id,
                    "add interface",
                ),
            )
            .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&router.project_id),
                    crate::KIND_PORT,
                    &port_id,
                    "bind",
                )
                .status("ACTIVE"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.l3_sync(id).await;
        Ok(RouterInterface {
            port_id,
            subnet_id,
            network_id: net.id,
            ip_address: ip,
        })
    }

    /// Remove an interface (named by subnet or port); its port is deleted. Refused
    /// while a floating IP routes through it.
    pub async fn router_remove_interface(
        &self,
        ctx: &Ctx,
        id: &str,
        req: InterfaceRequest,
    ) -> Result<RouterInterface> {
        let router = self.router_row(ctx, id).await?;
        ctx.authorize(Action::Write, &router.owned())?;
        let mut tx = self.db.pool.begin().await?;
        lock_router(&mut tx, id).await?;
        let (col, val) = match &req {
            InterfaceRequest::Subnet(s) => ("i.subnet_id", s),
            InterfaceRequest::Port(p) => ("i.port_id", p),
        };
        let found: Option<(String, String, String)> = sqlx::query_as(&format!(
            "SELECT i.port_id, i.subnet_id, p.network_id FROM net_router_interfaces i \
             JOIN net_ports p ON p.id = i.port_id WHERE i.router_id = $1 AND {col} = $2"
        ))
        .bind(id)
        .bind(val)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((port_id, subnet_id, network_id)) = found else {
            return Err(match &req {
                InterfaceRequest::Subnet(s) => Error::coded(
                    404,
                    "RouterInterfaceNotFoundForSubnet",
                    format!("Router {id} has no interface on subnet {s}"),
                ),
                InterfaceRequest::Port(p) => Error::coded(
                    404,
                    "RouterInterfaceNotFound",
                    format!("Router {id} does not have an interface with id {p}"),
                ),
            });
        };
        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM net_floating_ips f JOIN net_ip_allocations a \
             ON a.port_id = f.port_id AND a.ip_address = f.fixed_ip_address \
             WHERE f.router_id = $1 AND a.subnet_id = $2",
        )
        .bind(id)
        .bind(&subnet_id)
        .fetch_one(&mut *tx)
        .await?;
        if used > 0 {
            return Err(Error::coded(
                409,
                "RouterInterfaceInUseByFloatingIP",
                format!("Router interface for subnet {subnet_id} on router {id} cannot be deleted, as it is required by one or more floating IPs."),
            ));
        }
        let ip = crate::port_ips::addresses_of(&mut tx, &port_id)
            .await?
            .into_iter()
            .next()
            .map(|a| a.1)
            .unwrap_or_default();
        sqlx::query("DELETE FROM net_router_interfaces WHERE router_id = $1 AND port_id = $2")
            .bind(id)
            .bind(&port_id)
            .execute(&mut *tx)
            .await?;
        let owner: Option<(String,)> =
            sqlx::query_as("SELECT project_id FROM net_ports WHERE id = $1")
                .bind(&port_id)
                .fetch_optional(&mut *tx)
                .await?;
        crate::port_ips::drop_port(&mut tx, &port_id).await?;
        if let Some((p,)) = owner.filter(|o| !o.0.is_empty()) {
            quotas::release(&mut tx, &p, "port", 1).await?;
        }
        sqlx::query(
            "UPDATE net_routers SET revision_number = revision_number + 1, updated_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&router.project_id),
                    KIND_ROUTER,
                    id,
                    "remove interface",
                ),
            )
            .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&router.project_id),
                    crate::KIND_PORT,
                    &port_id,
                    "delete",
                )
                .status("DELETED"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.l3_sync(id).await;
        Ok(RouterInterface {
            port_id,
            subnet_id,
            network_id,
            ip_address: ip,
        })
    }
}
