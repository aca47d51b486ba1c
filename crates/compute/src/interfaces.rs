//! Interfaces of a server that exists (Nova's os-interface): list, attach a port or a
//! new port on a network, detach. An attach on a real host hot-plugs the NIC into the
//! running domain (and its definition); on a shut-off one it joins the definition.
//! The server's row is held while its interface list changes, so two attaches at
//! once get distinct slots; a failed plug undoes what it did.

use ferrostack_core::{Action, Ctx, Error, Result};
use ferrostack_hypervisor::{Hypervisor, NicSpec};
use ferrostack_network::{FixedIpRequest, NewPort};
use ferrostack_types::compute::InterfaceAttachment;

use crate::servers::ServerRow;
use crate::status::{ACTIVE, PAUSED, STOPPED, SUSPENDED};
use crate::Compute;

/// What an attach names: an existing port, or a network (with an optional address).
#[derive(Clone, Debug, Default)]
pub struct InterfaceRequest {
    pub port_id: Option<String>,
    pub net_id: Option<String>,
    pub fixed_ip: Option<String>,
}

const ATTACHABLE: &[&str] = &[ACTIVE, PAUSED, STOPPED, SUSPENDED];

impl Compute {
    fn interface_state_ok(row: &ServerRow, what: &str) -> Result<()> {
        if row.task_state.is_some() || !ATTACHABLE.contains(&row.vm_state.as_str()) {
            return Err(Error::conflict(format!(
                "Cannot '{what}' instance {} while it is in {}.",
                row.id,
                match &row.task_state {
                    Some(t) => format!("task_state {t}"),
                    None => format!("vm_state {}", row.vm_state),
                }
            )));
        }
        Ok(())
    }

    /// The server's interfaces, in the order they were plugged.
    pub async fn interface_list(
        &self,
        ctx: &Ctx,
        server: &str,
    ) -> Result<Vec<InterfaceAttachment>> {
        let row = self.server_for(ctx, server, Action::Read).await?;
        let Some(net) = self.net() else {
            return Ok(vec![]);
        };
        let ports: Vec<(String,)> = sqlx::query_as(
            "SELECT port_id FROM server_nics WHERE server_id = $1 AND port_id <> '' ORDER BY idx",
        )
        .bind(&row.id)
        .fetch_all(&self.db.pool)
        .await?;
        let internal = Ctx::internal(&ctx.request_id);
        let mut out = Vec::new();
        for (p,) in ports {
            match net.port_get(&internal, &p).await {
                Ok(p) => out.push(InterfaceAttachment {
                    port_state: p.status,
                    fixed_ips: p
                        .fixed_ips
                        .into_iter()
                        .map(|f| (f.subnet_id, f.ip_address))
                        .collect(),
                    mac_addr: p.mac_address,
                    net_id: p.network_id,
                    port_id: p.id,
                }),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    pub async fn interface_get(
        &self,
        ctx: &Ctx,
        server: &str,
        port: &str,
    ) -> Result<InterfaceAttachment> {
        self.interface_list(ctx, server)
            .await?
            .into_iter()
            .find(|i| i.port_id == port)
            .ok_or_else(|| {
                Error::coded(
                    404,
                    "PortNotFound",
                    format!("Server {server} has no interface with port {port}."),
                )
            })
    }

    /// Attach an interface: the port asked for, or a new port on the network asked for
    /// (in the server's project's default security group).
    pub async fn interface_attach(
        &self,
        ctx: &Ctx,
        server: &str,
        req: InterfaceRequest,
    ) -> Result<InterfaceAttachment> {
        let row = self.server_for(ctx, server, Action::Write).await?;
        Self::check_lock(ctx, &row, "attach an interface to")?;
        Self::interface_state_ok(&row, "attach_interface")?;
        let net = self
            .net()
            .ok_or_else(|| Error::conflict("Networking is not offered by this cloud."))?
            .clone();
        let Some(host_id) = row.host_id.clone() else {
            return Err(Error::conflict(format!(
                "Cannot attach an interface to instance {server}: it was never placed on a host."
            )));
        };
        let host = self.host_row(&host_id).await?;
        let owner = format!("compute:{}", host.availability_zone);
        let acting = Ctx::for_job(Some(&row.project_id), Some(&row.user_id), &ctx.request_id);
        let (port_id, created) = match (&req.port_id, &req.net_id) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_request("Give a port_id or a net_id, not both."))
            }
            (Some(p), None) => {
                if req.fixed_ip.is_some() {
                    return Err(Error::bad_request(
                        "fixed_ips go with a net_id: a port has its addresses already.",
                    ));
                }
                // The caller's view: a port of another project is not there.
                let port = net.port_get(ctx, p).await?;
                if !port.device_id.is_empty() {
                    return Err(Error::coded(
                        409,
                        "PortInUse",
                        format!("Port {p} is still in use by device {}.", port.device_id),
                    ));
                }
                (port.id, false)
            }
            (None, Some(n)) => {
                let p = net
                    .port_create(
                        &acting,
                        NewPort {
                            network_id: n.clone(),
                            fixed_ips: req.fixed_ip.clone().map(|ip| {
                                vec![FixedIpRequest {
                                    subnet_id: None,
                                    ip_address: Some(ip),
                                }]
                            }),
                            device_id: row.id.clone(),
                            device_owner: owner.clone(),
                            ..Default::default()
                        },
                    )
                    .await?;
                (p.id, true)
            }
            (None, None) => {
                return Err(Error::bad_request(
                    "Give the port_id or the net_id of the interface to attach.",
                ))
            }
        };
        let undo_port = |net: std::sync::Arc<ferrostack_network::Networking>, port: String| {
            let acting = acting.clone();
            async move {
                if let Err(e) = net.port_unbind(&acting, &port, created).await {
                    tracing::warn!(port, error = %e.detail(), "could not undo an interface attach");
                }
            }
        };
        // The slot, under the server's row.
        let recorded = async {
            let mut tx = self.db.pool.begin().await?;
            let n = sqlx::query("UPDATE servers SET updated_at = updated_at WHERE id = $1")
                .bind(&row.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(Error::not_found("server", &row.id));
            }
            let twice: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM server_nics WHERE port_id = $1")
                    .bind(&port_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if twice > 0 {
                return Err(Error::coded(
                    409,
                    "PortInUse",
                    format!("Port {port_id} is already an interface of a server."),
                ));
            }
            let idx: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(idx), -1) + 1 FROM server_nics WHERE server_id = $1",
            )
            .bind(&row.id)
            .fetch_one(&mut *tx)
            .await?;
            let network: String = net.port_get(&acting, &port_id).await?.network_id;
            sqlx::query(
                "INSERT INTO server_nics (server_id, idx, network_id, port_id, created) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&row.id)
            .bind(idx)
            .bind(&network)
            .bind(&port_id)
            .bind(created as i64)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = recorded {
            // Nothing was bound yet: only a port made here is undone (a given one may
            // be another request's by now).
            if created {
                undo_port(net.clone(), port_id.clone()).await;
            }
            return Err(e);
        }
        let bound = std::sync::atomic::AtomicBool::new(false);
        let plugged = async {
            let spec = net
                .port_bind(&acting, &port_id, &row.id, &owner, &host.name, &host.uri)
                .await?;
            bound.store(true, std::sync::atomic::Ordering::SeqCst);
            if let Some(spec) = spec {
                if !Hypervisor::is_simulated(&host.uri) {
                    self.hv
                        .host(&host.uri)
                        .nic_attach(&row.id, &spec)
                        .await
                        .map_err(|e| Error::Unavailable {
                            message: format!(
                                "The host {} could not plug the interface in: {e}",
                                host.name
                            ),
                            retry_after: 10,
                        })?;
                }
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = plugged {
            sqlx::query("DELETE FROM server_nics WHERE server_id = $1 AND port_id = $2")
                .bind(&row.id)
                .bind(&port_id)
                .execute(&self.db.pool)
                .await?;
            if created || bound.load(std::sync::atomic::Ordering::SeqCst) {
                undo_port(net.clone(), port_id.clone()).await;
            }
            return Err(e);
        }
        self.interface_get(ctx, server, &port_id).await
    }

    /// Detach the interface on `port`: unplugged from the domain, then the port is
    /// freed (or deleted, when the server made it).
    pub async fn interface_detach(&self, ctx: &Ctx, server: &str, port: &str) -> Result<()> {
        let row = self.server_for(ctx, server, Action::Write).await?;
        Self::check_lock(ctx, &row, "detach an interface from")?;
        Self::interface_state_ok(&row, "detach_interface")?;
        let net = self
            .net()
            .ok_or_else(|| Error::conflict("Networking is not offered by this cloud."))?
            .clone();
        let nic: Option<(i64,)> =
            sqlx::query_as("SELECT created FROM server_nics WHERE server_id = $1 AND port_id = $2")
                .bind(&row.id)
                .bind(port)
                .fetch_optional(&self.db.pool)
                .await?;
        let Some((created,)) = nic else {
            return Err(Error::coded(
                404,
                "PortNotFound",
                format!("Server {server} has no interface with port {port}."),
            ));
        };
        let acting = Ctx::for_job(Some(&row.project_id), Some(&row.user_id), &ctx.request_id);
        let p = net.port_get(&acting, port).await?;
        if let Some(host_id) = &row.host_id {
            let host = self.host_row(host_id).await?;
            if !Hypervisor::is_simulated(&host.uri) && !p.binding_host_id.is_empty() {
                let spec = NicSpec {
                    mac: p.mac_address.clone(),
                    source_type: "network".into(),
                    source: ferrostack_network::realize::libvirt_names(&p.network_id).0,
                    filter: None,
                };
                let hv = self.hv.host(&host.uri);
                let failed = |e: ferrostack_hypervisor::HvError| Error::Unavailable {
                    message: format!("The host {} could not unplug the interface: {e}", host.name),
                    retry_after: 10,
                };
                hv.nic_detach(&row.id, &spec).await.map_err(failed)?;
                // A live detach ends when the guest lets the device go; the port keeps
                // its filter until then (libvirt refuses to remove a filter in use).
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                while hv.nic_present(&row.id, &spec.mac).await.map_err(failed)? {
                    if std::time::Instant::now() > deadline {
                        return Err(Error::Unavailable {
                            message: format!(
                                "The guest of server {server} has not released the interface on port {port} yet; try the detach again."
                            ),
                            retry_after: 10,
                        });
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
            }
        }
        net.port_unbind(&acting, port, created != 0).await?;
        sqlx::query("DELETE FROM server_nics WHERE server_id = $1 AND port_id = $2")
            .bind(&row.id)
            .bind(port)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}
