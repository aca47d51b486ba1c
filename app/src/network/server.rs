//! The network panels' server functions: what each page reads (through the network
//! and compute services, with the caller's context, so a page shows exactly what the
//! Neutron API would), and `ssr::run`, which carries every `NetOp` to the service.

use super::prelude::*;

/// A network with its subnets as a list row shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkItem {
    pub network: Network,
    /// (name, CIDR) of each subnet.
    pub subnets: Vec<(String, String)>,
    /// Whether it belongs to the caller's project (or the caller is an admin).
    pub own: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworksPage {
    pub items: Vec<NetworkItem>,
    pub next: Option<String>,
    pub can_create: bool,
}

/// The networks the caller sees (its project's, shared and external ones; an admin's:
/// all), a page after `marker`.
#[server(endpoint = "list_networks")]
pub async fn list_networks(marker: String) -> Result<NetworksPage, ConsoleError> {
    let net = ssr::network()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let per_page = crate::settings::ssr::page_size().await;
    let q = ferrostack_network::ListQuery {
        limit: Some(per_page as usize),
        marker: (!marker.is_empty()).then_some(marker),
        ..Default::default()
    };
    let (networks, more) = net.network_list(&ctx, q).await.map_err(say)?;
    let subnets = ssr::subnets_of(&net, &ctx, networks.iter().map(|n| n.id.clone())).await?;
    Ok(NetworksPage {
        next: more
            .then(|| networks.last().map(|n| n.id.clone()))
            .flatten(),
        items: networks
            .into_iter()
            .map(|n| NetworkItem {
                subnets: subnets
                    .iter()
                    .filter(|s| s.network_id == n.id)
                    .map(|s| (label(&s.name, &s.id), s.cidr.clone()))
                    .collect(),
                own: ssr::owns(&ctx, &n.project_id),
                network: n,
            })
            .collect(),
        can_create: ctx.project_id().is_some() && ctx.can_write_project(),
    })
}

/// One network: its subnets and the ports on it the caller sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkDetail {
    pub network: Network,
    pub subnets: Vec<Subnet>,
    pub ports: Vec<Port>,
    pub own: bool,
}

#[server(endpoint = "get_network")]
pub async fn get_network(id: String) -> Result<NetworkDetail, ConsoleError> {
    let net = ssr::network()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let network = net.network_get(&ctx, &id).await.map_err(say)?;
    let subnets = ssr::subnets_of(&net, &ctx, [id.clone()]).await?;
    let (ports, _) = net
        .port_list(&ctx, ssr::query(&[("network_id", &id)], 1000))
        .await
        .map_err(say)?;
    Ok(NetworkDetail {
        own: ssr::owns(&ctx, &network.project_id),
        network,
        subnets,
        ports,
    })
}

/// The project's routers, the external networks a gateway may use, and the names of
/// the networks they reach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoutersPage {
    pub routers: Vec<Router>,
    /// (id, name) of external networks.
    pub externals: Vec<(String, String)>,
    /// (id, name) of every network a router here names.
    pub names: Vec<(String, String)>,
    pub can_create: bool,
}

#[server(endpoint = "list_routers")]
pub async fn list_routers() -> Result<RoutersPage, ConsoleError> {
    let net = ssr::network()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let (routers, _) = net
        .router_list(&ctx, ssr::own(&ctx, 1000))
        .await
        .map_err(say)?;
    let externals = ssr::externals(&net, &ctx).await?;
    let names = ssr::network_names(&net, &ctx).await?;
    Ok(RoutersPage {
        routers,
        externals,
        names,
        can_create: ctx.project_id().is_some() && ctx.can_write_project(),
    })
}

/// One router, the names of what its interfaces reach, and the project's subnets that
/// could become an interface (not external, not attached yet).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterDetail {
    pub router: Router,
    /// (subnet id, "network: subnet CIDR").
    pub subnets: Vec<(String, String)>,
    /// (id, label) of subnets that may be added.
    pub addable: Vec<(String, String)>,
    pub externals: Vec<(String, String)>,
    /// Whether the caller may change it (a member who may write, or an admin).
    pub can_change: bool,
}

#[server(endpoint = "get_router")]
pub async fn get_router(id: String) -> Result<RouterDetail, ConsoleError> {
    let net = ssr::network()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let router = net.router_get(&ctx, &id).await.map_err(say)?;
    let owner = [("project_id", router.project_id.as_str())];
    let (networks, _) = net
        .network_list(&ctx, ssr::query(&owner, 1000))
        .await
        .map_err(say)?;
    let (subnets, _) = net
        .subnet_list(&ctx, ssr::query(&owner, 1000))
        .await
        .map_err(say)?;
    let describe = |s: &Subnet| {
        let n = networks.iter().find(|n| n.id == s.network_id);
        let nname = n.map(|n| label(&n.name, &n.id)).unwrap_or_default();
        format!("{nname}: {} {}", label(&s.name, &s.id), s.cidr)
    };
    let attached: Vec<&str> = router
        .interfaces
        .iter()
        .map(|i| i.subnet_id.as_str())
        .collect();
    let addable = subnets
        .iter()
        .filter(|s| s.gateway_ip.is_some())
        .filter(|s| !attached.contains(&s.id.as_str()))
        .filter(|s| networks.iter().any(|n| n.id == s.network_id && !n.external))
        .map(|s| (s.id.clone(), describe(s)))
        .collect();
    Ok(RouterDetail {
        subnets: subnets
            .iter()
            .filter(|s| attached.contains(&s.id.as_str()))
            .map(|s| (s.id.clone(), describe(s)))
            .collect(),
        addable,
        externals: ssr::externals(&net, &ctx).await?,
        can_change: ssr::owns(&ctx, &router.project_id) && ctx.can_write_project(),
        router,
    })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupsPage {
    pub groups: Vec<SecurityGroup>,
    /// The project's `default` group (the service refuses its deletion to members).
    pub default: Option<String>,
    pub can_create: bool,
}

#[server(endpoint = "list_security_groups")]
pub async fn list_security_groups() -> Result<GroupsPage, ConsoleError> {
    let net = ssr::network()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    // Listing makes the project's default group if it has none (Neutron's behaviour).
    let (groups, _) = net
        .group_list(&ctx, ssr::own(&ctx, 1000))
        .await
        .map_err(say)?;
    let default = match ctx.project_id() {
        Some(p) => Some(net.default_group(&ctx, p).await.map_err(say)?),
        None => None,
    };
    Ok(GroupsPage {
        groups,
        default,
        can_create: ctx.project_id().is_some() && ctx.can_write_project(),
    })
}

/// A security group and the names of the groups its rules name as remotes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupDetail {
    pub group: SecurityGroup,
    pub names: Vec<(String, String)>,
}

#[server(endpoint = "get_security_group")]
pub async fn get_security_group(id: String) -> Result<GroupDetail, ConsoleError> {
    let net = ssr::network()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let group = net.group_get(&ctx, &id).await.map_err(say)?;
    let (groups, _) = net
        .group_list(&ctx, ssr::query(&[("project_id", &group.project_id)], 1000))
        .await
        .map_err(say)?;
    Ok(GroupDetail {
        group,
        names: groups.into_iter().map(|g| (g.id, g.name)).collect(),
    })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloatingIpsPage {
    pub ips: Vec<FloatingIp>,
    pub externals: Vec<(String, String)>,
    /// (port id, "instance: address") of the project's instance ports with an IPv4
    /// address.
    pub ports: Vec<(String, String)>,
    pub can_create: bool,
}

#[server(endpoint = "list_floating_ips")]
pub async fn list_floating_ips() -> Result<FloatingIpsPage, ConsoleError> {
    let s = crate::services::services()?;
    let net = s.network.clone();
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let (ips, _) = net
        .floating_ip_list(&ctx, ssr::own(&ctx, 1000))
        .await
        .map_err(say)?;
    let (ports, _) = net
        .port_list(&ctx, ssr::own(&ctx, 1000))
        .await
        .map_err(say)?;
    let servers = ssr::server_names(&s.compute, &ctx).await?;
    let ports = ports
        .iter()
        .filter(|p| p.device_owner.starts_with("compute:"))
        .flat_map(|p| {
            let who = servers
                .iter()
                .find(|(id, _)| *id == p.device_id)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| label(&p.name, &p.id));
            p.fixed_ips
                .iter()
                .filter(|ip| !ip.ip_address.contains(':'))
                .map(move |ip| (p.id.clone(), format!("{who}: {}", ip.ip_address)))
        })
        .collect();
    Ok(FloatingIpsPage {
        ips,
        externals: ssr::externals(&net, &ctx).await?,
        ports,
        can_create: ctx.project_id().is_some() && ctx.can_write_project(),
    })
}

/// What the topology draws.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    /// (id, name, CIDRs, external).
    pub networks: Vec<(String, String, Vec<String>, bool)>,
    /// (id, name, status, networks reached: gateway first when it has one).
    pub routers: Vec<(String, String, String, Vec<String>)>,
    /// (id, name, status, networks it has a port on).
    pub servers: Vec<(String, String, String, Vec<String>)>,
    /// Whether there was more than the graph shows (1,000 of each).
    pub truncated: bool,
    pub can_create: bool,
}

/// The caller's project as a graph: its networks and the shared and external ones its
/// routers and instances use, its routers and its instances.
#[server(endpoint = "network_topology")]
pub async fn network_topology() -> Result<Topology, ConsoleError> {
    let s = crate::services::services()?;
    let net = s.network.clone();
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let Some(project) = ctx.project_id().map(str::to_string) else {
        return Ok(Topology::default());
    };
    const MAX: usize = 1000;
    let (mut networks, m1) = net
        .network_list(&ctx, ssr::query(&[("project_id", &project)], MAX))
        .await
        .map_err(say)?;
    let (routers, m2) = net
        .router_list(&ctx, ssr::own(&ctx, MAX))
        .await
        .map_err(say)?;
    let (ports, m3) = net
        .port_list(&ctx, ssr::own(&ctx, MAX))
        .await
        .map_err(say)?;
    let (servers, m4) = s
        .compute
        .server_list(
            &ctx,
            &ferrostack_compute::ServerQuery {
                project_id: Some(project.clone()),
                limit: Some(MAX),
                ..Default::default()
            },
        )
        .await
        .map_err(say)?;
    // The shared and external networks the project's routers and ports reach.
    let mut reached: Vec<String> = ports.iter().map(|p| p.network_id.clone()).collect();
    for r in &routers {
        reached.extend(r.external_gateway_info.iter().map(|g| g.network_id.clone()));
        reached.extend(r.interfaces.iter().map(|i| i.network_id.clone()));
    }
    reached.sort();
    reached.dedup();
    reached.retain(|id| !networks.iter().any(|n| n.id == *id));
    if !reached.is_empty() {
        let mut q = ssr::query(&[], MAX);
        q.filters = reached
            .into_iter()
            .map(|id| ("id".to_string(), id))
            .collect();
        networks.extend(net.network_list(&ctx, q).await.map_err(say)?.0);
    }
    let subnets = ssr::subnets_of(&net, &ctx, networks.iter().map(|n| n.id.clone())).await?;
    let mut routers_out = Vec::new();
    for r in routers {
        let mut reach: Vec<String> = r
            .external_gateway_info
            .iter()
            .map(|g| g.network_id.clone())
            .collect();
        for i in &r.interfaces {
            if !reach.contains(&i.network_id) {
                reach.push(i.network_id.clone());
            }
        }
        routers_out.push((r.id, r.name, r.status, reach));
    }
    let servers_out: Vec<_> = servers
        .into_iter()
        .map(|sv| {
            let mut on: Vec<String> = Vec::new();
            for p in ports.iter().filter(|p| p.device_id == sv.id) {
                if !on.contains(&p.network_id) {
                    on.push(p.network_id.clone());
                }
            }
            (sv.id, sv.name, sv.status, on)
        })
        .collect();
    // Shared and external networks appear when something of the project uses them.
    let used = |id: &str| {
        routers_out.iter().any(|r| r.3.iter().any(|n| n == id))
            || servers_out.iter().any(|s| s.3.iter().any(|n| n == id))
    };
    let networks_out = networks
        .into_iter()
        .filter(|n| n.project_id == project || used(&n.id))
        .map(|n| {
            let cidrs = subnets
                .iter()
                .filter(|s| s.network_id == n.id)
                .map(|s| s.cidr.clone())
                .collect();
            (n.id, n.name, cidrs, n.external)
        })
        .collect();
    Ok(Topology {
        networks: networks_out,
        routers: routers_out,
        servers: servers_out,
        truncated: m1 || m2 || m3 || m4,
        can_create: ctx.can_write_project(),
    })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use ferrostack_core::Ctx;
    use ferrostack_network::{ListQuery, Networking};
    use ferrostack_types::network::Subnet;

    use crate::error::ConsoleError;

    pub fn network() -> std::result::Result<Arc<Networking>, ConsoleError> {
        crate::services::services().map(|s| s.network)
    }

    pub fn owns(ctx: &Ctx, project: &str) -> bool {
        ctx.is_admin() || ctx.project_id() == Some(project)
    }

    pub fn query(filters: &[(&str, &str)], limit: usize) -> ListQuery {
        ListQuery {
            filters: filters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            limit: Some(limit),
            ..Default::default()
        }
    }

    /// The caller's project's resources (an admin's list would hold every project's).
    pub fn own(ctx: &Ctx, limit: usize) -> ListQuery {
        match ctx.project_id() {
            Some(p) => query(&[("project_id", p)], limit),
            None => query(&[], limit),
        }
    }

    pub async fn subnets_of(
        net: &Networking,
        ctx: &Ctx,
        networks: impl IntoIterator<Item = String>,
    ) -> std::result::Result<Vec<Subnet>, ConsoleError> {
        let mut q = query(&[], 5000);
        q.filters = networks
            .into_iter()
            .map(|n| ("network_id".to_string(), n))
            .collect();
        if q.filters.is_empty() {
            return Ok(Vec::new());
        }
        net.subnet_list(ctx, q)
            .await
            .map(|(s, _)| s)
            .map_err(crate::auth::ssr::say)
    }

    pub async fn externals(
        net: &Networking,
        ctx: &Ctx,
    ) -> std::result::Result<Vec<(String, String)>, ConsoleError> {
        let (ns, _) = net
            .network_list(ctx, query(&[("router:external", "true")], 1000))
            .await
            .map_err(crate::auth::ssr::say)?;
        Ok(ns
            .into_iter()
            .map(|n| (n.id.clone(), super::label(&n.name, &n.id)))
            .collect())
    }

    pub async fn network_names(
        net: &Networking,
        ctx: &Ctx,
    ) -> std::result::Result<Vec<(String, String)>, ConsoleError> {
        let (ns, _) = net
            .network_list(ctx, query(&[], 1000))
            .await
            .map_err(crate::auth::ssr::say)?;
        Ok(ns
            .into_iter()
            .map(|n| (n.id.clone(), super::label(&n.name, &n.id)))
            .collect())
    }

    pub async fn server_names(
        compute: &ferrostack_compute::Compute,
        ctx: &Ctx,
    ) -> std::result::Result<Vec<(String, String)>, ConsoleError> {
        let q = ferrostack_compute::ServerQuery {
            project_id: ctx.project_id().map(str::to_string),
            limit: Some(1000),
            ..Default::default()
        };
        let (servers, _) = compute
            .server_list(ctx, &q)
            .await
            .map_err(crate::auth::ssr::say)?;
        Ok(servers.into_iter().map(|s| (s.id, s.name)).collect())
    }
}
