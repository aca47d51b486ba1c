//! A server's network interfaces: what the create asked for (networks, ports, a fixed
//! address, security groups) is checked when it is asked and recorded in the
//! creating transaction (`server_nics`); the boot job then makes the ports it needs
//! (finding, after a restart, the one it made before instead of making another),
//! plugs each into the server on its host through the network service (the libvirt
//! network, the DHCP entry, the filter) and gives the domain one NIC per port with
//! the port's MAC. Delete unplugs them, and deletes the ports the server made.

use std::sync::Arc;

use ferrostack_core::{Ctx, Error, Result};
use ferrostack_hypervisor::NicSpec;
use ferrostack_network::{FixedIpRequest, ListQuery, Networking, NewNetwork, NewPort, NewSubnet};
use ferrostack_types::compute::Host;

use crate::servers::ServerRow;
use crate::Compute;

/// One interface asked for: a network (with an optional fixed address) or a port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NicRequest {
    pub network: Option<String>,
    pub port: Option<String>,
    pub fixed_ip: Option<String>,
}

/// An interface as checked: its network, and the port when the user gave one.
#[derive(Clone, Debug)]
pub(crate) struct PlannedNic {
    pub network_id: String,
    pub port_id: Option<String>,
    pub fixed_ip: Option<String>,
}

/// The network `networks: auto` makes for a project that can use none.
pub const AUTO_NETWORK: &str = "auto_allocated_network";
const AUTO_CIDR: &str = "10.0.0.0/24";

impl Compute {
    /// Use `network` for servers' ports (and give it this process's libvirt).
    pub fn attach_network(&self, network: Arc<Networking>) {
        network.attach_hypervisor(self.hv.clone());
        let _ = self.network.set(network);
    }

    pub(crate) fn net(&self) -> Option<&Arc<Networking>> {
        self.network.get()
    }

    /// Check what a create asks for; the interfaces and the security group ids.
    pub(crate) async fn plan_nics(
        &self,
        ctx: &Ctx,
        networks: &crate::Networks,
        count: i64,
        groups: &[String],
    ) -> Result<(Vec<PlannedNic>, Vec<String>)> {
        let Some(net) = self.net() else {
            return match networks {
                crate::Networks::List(l) if !l.is_empty() => Err(Error::bad_request(
                    "Networking is not available in this cloud: use \"networks\": \"none\".",
                )),
                _ => Ok((vec![], vec![])),
            };
        };
        let planned = match networks {
            crate::Networks::None => vec![],
            crate::Networks::Auto => vec![self.auto_network(ctx, net).await?],
            crate::Networks::List(list) => {
                let mut out = Vec::new();
                for r in list {
                    out.push(self.plan_one(ctx, net, r, count).await?);
                }
                out
            }
        };
        let mut ids = Vec::new();
        for g in groups {
            ids.push(self.group_id(ctx, net, g).await?);
        }
        if !ids.is_empty() && planned.is_empty() {
            return Err(Error::bad_request(
                "Security groups need a network to apply to.",
            ));
        }
        Ok((planned, ids))
    }

    async fn plan_one(
        &self,
        ctx: &Ctx,
        net: &Networking,
        r: &NicRequest,
        count: i64,
    ) -> Result<PlannedNic> {
        if let Some(p) = &r.port {
            if count > 1 {
                return Err(Error::bad_request(
                    "Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.",
                ));
            }
            let port = net.port_get(ctx, p).await.map_err(|e| match e {
                Error::NotFound { .. } => {
                    Error::bad_request(format!("Port {p} could not be found."))
                }
                e => e,
            })?;
            if !port.device_id.is_empty() {
                return Err(Error::coded(
                    409,
                    "PortInUse",
                    format!("Port {p} is still in use by device {}.", port.device_id),
                ));
            }
            return Ok(PlannedNic {
                network_id: port.network_id,
                port_id: Some(port.id),
                fixed_ip: None,
            });
        }
        let id = r
            .network
            .as_deref()
            .ok_or_else(|| Error::bad_request("Each network needs a uuid or a port."))?;
        let n = net.network_get(ctx, id).await.map_err(|e| match e {
            Error::NotFound { .. } => {
                Error::bad_request(format!("Network {id} could not be found."))
            }
            e => e,
        })?;
        if r.fixed_ip.is_some() && count > 1 {
            return Err(Error::bad_request(
                "Unable to launch multiple instances with one fixed address.",
            ));
        }
        Ok(PlannedNic {
            network_id: n.id,
            port_id: None,
            fixed_ip: r.fixed_ip.clone(),
        })
    }

    /// Nova's `auto`: the one network the project can use, else a new one of its own.
    async fn auto_network(&self, ctx: &Ctx, net: &Networking) -> Result<PlannedNic> {
        let project = ctx.project_id().unwrap_or_default().to_string();
        let (all, _) = net.network_list(ctx, ListQuery::default()).await?;
        let usable: Vec<_> = all
            .into_iter()
            .filter(|n| {
                !n.external && (n.project_id == project || n.shared) && !n.subnets.is_empty()
            })
            .collect();
        let id = match usable.len() {
            1 => usable[0].id.clone(),
            0 => {
                let n = net
                    .network_create(
                        ctx,
                        NewNetwork {
                            name: AUTO_NETWORK.into(),
                            ..Default::default()
                        },
                    )
                    .await?;
                net.subnet_create(
                    ctx,
                    NewSubnet {
                        network_id: n.id.clone(),
                        name: format!("{AUTO_NETWORK}-subnet"),
                        cidr: Some(AUTO_CIDR.into()),
                        ..Default::default()
                    },
                )
                .await?;
                n.id
            }
            _ => {
                return Err(Error::coded(
                    409,
                    "NetworkAmbiguous",
                    "Multiple possible networks found, use a Network ID to be more specific.",
                ))
            }
        };
        Ok(PlannedNic {
            network_id: id,
            port_id: None,
            fixed_ip: None,
        })
    }

    async fn group_id(&self, ctx: &Ctx, net: &Networking, g: &str) -> Result<String> {
        if let Ok(found) = net.group_get(ctx, g).await {
            return Ok(found.id);
        }
        let q = ListQuery {
            filters: vec![("name".into(), g.into())],
            ..Default::default()
        };
        let project = ctx.project_id().unwrap_or_default();
        let (found, _) = net.group_list(ctx, q).await?;
        let mine: Vec<_> = found
            .into_iter()
            .filter(|x| x.project_id == project)
            .collect();
        match mine.len() {
            1 => Ok(mine[0].id.clone()),
            0 => Err(Error::bad_request(format!(
                "Unable to find security_group with name or id '{g}'"
            ))),
            _ => Err(Error::coded(
                409,
                "NoUniqueMatch",
                format!("Multiple security groups named '{g}': use its id."),
            )),
        }
    }

    /// Record a new server's interfaces (in its creating transaction).
    pub(crate) async fn record_nics(
        conn: &mut sqlx::AnyConnection,
        server: &str,
        nics: &[PlannedNic],
        groups: &[String],
    ) -> Result<()> {
        let groups = serde_json::to_string(groups).map_err(Error::internal)?;
        for (i, n) in nics.iter().enumerate() {
            sqlx::query(
                "INSERT INTO server_nics (server_id, idx, network_id, port_id, fixed_ip, security_groups, created) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0)",
            )
            .bind(server)
            .bind(i as i64)
            .bind(&n.network_id)
            .bind(n.port_id.clone().unwrap_or_default())
            .bind(&n.fixed_ip)
            .bind(&groups)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Make the server's ports if need be and plug them in on `host`: the domain's
    /// NICs (none on a simulated host, whose domains have no networking).
    pub(crate) async fn plug(&self, row: &ServerRow, host: &Host) -> Result<Vec<NicSpec>> {
        let Some(net) = self.net() else {
            return Ok(vec![]);
        };
        let nics: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT idx, network_id, port_id, fixed_ip, security_groups FROM server_nics WHERE server_id = $1 ORDER BY idx",
        )
        .bind(&row.id)
        .fetch_all(&self.db.pool)
        .await?;
        // The server's project, acting through the network service.
        let ctx = Ctx::for_job(
            Some(&row.project_id),
            Some(&row.user_id),
            &format!("req-plug-{}", row.id),
        );
        let owner = format!("compute:{}", host.availability_zone);
        let mut specs = Vec::new();
        for (idx, network, mut port, fixed_ip, groups) in nics {
            if port.is_empty() {
                port = self
                    .make_port(&ctx, net, row, idx, &network, fixed_ip, &groups, &owner)
                    .await?;
            }
            if let Some(spec) = net
                .port_bind(&ctx, &port, &row.id, &owner, &host.name, &host.uri)
                .await?
            {
                specs.push(spec);
            }
        }
        Ok(specs)
    }

    #[allow(clippy::too_many_arguments)]
    async fn make_port(
        &self,
        ctx: &Ctx,
        net: &Networking,
        row: &ServerRow,
        idx: i64,
        network: &str,
        fixed_ip: Option<String>,
        groups: &str,
        owner: &str,
    ) -> Result<String> {
        // A port this server made before a restart, not yet recorded: take it.
        let q = ListQuery {
            filters: vec![
                ("device_id".into(), row.id.clone()),
                ("network_id".into(), network.into()),
            ],
            ..Default::default()
        };
        let recorded: Vec<(String,)> =
            sqlx::query_as("SELECT port_id FROM server_nics WHERE server_id = $1")
                .bind(&row.id)
                .fetch_all(&self.db.pool)
                .await?;
        let (existing, _) = net.port_list(&Ctx::internal(&ctx.request_id), q).await?;
        let port = match existing
            .into_iter()
            .find(|p| !recorded.iter().any(|r| r.0 == p.id))
        {
            Some(p) => p.id,
            None => {
                let groups: Vec<String> = serde_json::from_str(groups).unwrap_or_default();
                let p = net
                    .port_create(
                        ctx,
                        NewPort {
                            network_id: network.into(),
                            fixed_ips: fixed_ip.map(|ip| {
                                vec![FixedIpRequest {
                                    subnet_id: None,
                                    ip_address: Some(ip),
                                }]
                            }),
                            device_id: row.id.clone(),
                            device_owner: owner.into(),
                            security_groups: (!groups.is_empty()).then_some(groups),
                            ..Default::default()
                        },
                    )
                    .await?;
                p.id
            }
        };
        sqlx::query(
            "UPDATE server_nics SET port_id = $3, created = 1 WHERE server_id = $1 AND idx = $2",
        )
        .bind(&row.id)
        .bind(idx)
        .bind(&port)
        .execute(&self.db.pool)
        .await?;
        Ok(port)
    }

    /// Unplug the server's ports (its domain is gone): the ones it made are deleted,
    /// the ones a user gave are kept, free for another server.
    pub(crate) async fn unplug(&self, server: &str) -> Result<()> {
        let Some(net) = self.net() else { return Ok(()) };
        let nics: Vec<(String, i64)> =
            sqlx::query_as("SELECT port_id, created FROM server_nics WHERE server_id = $1 AND port_id <> '' ORDER BY idx")
                .bind(server)
                .fetch_all(&self.db.pool)
                .await?;
        let ctx = Ctx::internal(format!("req-unplug-{server}"));
        for (port, created) in nics {
            net.port_unbind(&ctx, &port, created != 0).await?;
        }
        sqlx::query("DELETE FROM server_nics WHERE server_id = $1")
            .bind(server)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}
