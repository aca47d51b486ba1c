//! `network_do`'s operations carried to the network service: each `NetOp` is one
//! service call (two for "Create network" with a subnet, undone together), the same
//! calls the Neutron routes make.

use ferrostack_core::{Error, Result};
use ferrostack_network::{
    FloatingIpUpdate, GatewayRequest, InterfaceRequest, NewFloatingIp, NewNetwork, NewRouter,
    NewRule, NewSecurityGroup, NewSubnet, RouterUpdate,
};

use super::server::ssr::network;
use super::NetOp;
use crate::kit::Done;

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn new_subnet(
    network: &str,
    name: &str,
    cidr: &str,
    gateway: &str,
    dhcp: bool,
    dns: &str,
) -> NewSubnet {
    use ferrostack_network::subnets::Gateway;
    let cidr = cidr.trim();
    NewSubnet {
        network_id: network.to_string(),
        name: name.trim().to_string(),
        ip_version: Some(if cidr.contains(':') { 6 } else { 4 }),
        cidr: Some(cidr.to_string()),
        gateway: match gateway.trim() {
            "" => Gateway::Default,
            "none" => Gateway::None,
            ip => Gateway::Ip(ip.to_string()),
        },
        enable_dhcp: Some(dhcp),
        dns_nameservers: dns
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        ..Default::default()
    }
}

/// A preset's protocol and ports: (protocol, min, max).
fn preset(p: &str, port: &str) -> Result<(Option<String>, Option<i64>, Option<i64>)> {
    let fixed = |proto: &str, n: i64| Ok((Some(proto.to_string()), Some(n), Some(n)));
    let range = |proto: &str| -> Result<(Option<String>, Option<i64>, Option<i64>)> {
        let port = port.trim();
        let bad = || {
            Error::bad_request(format!(
                "Port \"{port}\" is not a port (1 to 65535) or a range such as 8000-8080."
            ))
        };
        let num = |s: &str| s.trim().parse::<i64>().map_err(|_| bad());
        let (a, b) = match port.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(port)?, num(port)?),
        };
        Ok((Some(proto.to_string()), Some(a), Some(b)))
    };
    match p {
        "ssh" => fixed("tcp", 22),
        "http" => fixed("tcp", 80),
        "https" => fixed("tcp", 443),
        "icmp" => Ok((Some("icmp".into()), None, None)),
        "all-tcp" => Ok((Some("tcp".into()), Some(1), Some(65535))),
        "all-udp" => Ok((Some("udp".into()), Some(1), Some(65535))),
        "custom-tcp" => range("tcp"),
        "custom-udp" => range("udp"),
        other => Err(Error::bad_request(format!(
            "There is no rule preset {other}."
        ))),
    }
}

pub async fn run(op: NetOp) -> Result<Done> {
    let net = network().map_err(Error::internal)?;
    let (_, ctx, _) = crate::auth::ssr::caller()
        .await
        .map_err(|e| Error::Unauthenticated(crate::auth::reason(&e)))?;
    let ctx = &ctx;
    Ok(Done::say(match op {
        NetOp::NetworkCreate {
            name,
            shared,
            subnet_name,
            cidr,
            gateway,
            dhcp,
            dns,
        } => {
            let n = net
                .network_create(
                    ctx,
                    NewNetwork {
                        name: name.trim().to_string(),
                        shared,
                        ..Default::default()
                    },
                )
                .await?;
            if cidr.trim().is_empty() {
                format!("Network {} created.", n.name)
            } else {
                let sub = new_subnet(&n.id, &subnet_name, &cidr, &gateway, dhcp, &dns);
                match net.subnet_create(ctx, sub).await {
                    Ok(s) => format!("Network {} created with subnet {}.", n.name, s.cidr),
                    // No network left half made: it goes again, and the subnet's
                    // refusal is the answer.
                    Err(e) => {
                        if let Err(d) = net.network_delete(ctx, &n.id).await {
                            tracing::warn!(error = %d, network = %n.id, "could not remove the network whose subnet was refused");
                        }
                        return Err(e);
                    }
                }
            }
        }
        NetOp::NetworkDelete { id } => {
            let n = net.network_get(ctx, &id).await?;
            net.network_delete(ctx, &id).await?;
            format!("Network {} deleted.", super::label(&n.name, &n.id))
        }
        NetOp::SubnetCreate {
            network,
            name,
            cidr,
            gateway,
            dhcp,
            dns,
        } => {
            let s = net
                .subnet_create(
                    ctx,
                    new_subnet(&network, &name, &cidr, &gateway, dhcp, &dns),
                )
                .await?;
            format!("Subnet {} created.", s.cidr)
        }
        NetOp::SubnetDelete { id } => {
            let s = net.subnet_get(ctx, &id).await?;
            net.subnet_delete(ctx, &id).await?;
            format!("Subnet {} deleted.", s.cidr)
        }
        NetOp::PortDelete { id } => {
            net.port_delete(ctx, &id).await?;
            "Port deleted.".into()
        }
        NetOp::RouterCreate { name, external } => {
            let r = net
                .router_create(
                    ctx,
                    NewRouter {
                        name: name.trim().to_string(),
                        gateway: some(&external).map(|network_id| GatewayRequest {
                            network_id,
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )
                .await?;
            format!("Router {} created.", r.name)
        }
        NetOp::RouterDelete { id } => {
            let r = net.router_get(ctx, &id).await?;
            net.router_delete(ctx, &id).await?;
            format!("Router {} deleted.", super::label(&r.name, &r.id))
        }
        NetOp::RouterGateway { id, external } => {
            let gw = some(&external).map(|network_id| GatewayRequest {
                network_id,
                ..Default::default()
            });
            let set = gw.is_some();
            let r = net
                .router_update(
                    ctx,
                    &id,
                    RouterUpdate {
                        gateway: Some(gw),
                        ..Default::default()
                    },
                )
                .await?;
            let name = super::label(&r.name, &r.id);
            if set {
                format!("Router {name} has its gateway.")
            } else {
                format!("Router {name} has no gateway now.")
            }
        }
        NetOp::InterfaceAdd { id, subnet } => {
            net.router_add_interface(ctx, &id, InterfaceRequest::Subnet(subnet))
                .await?;
            "Interface added.".into()
        }
        NetOp::InterfaceRemove { id, subnet } => {
            net.router_remove_interface(ctx, &id, InterfaceRequest::Subnet(subnet))
                .await?;
            "Interface removed.".into()
        }
        NetOp::GroupCreate { name, description } => {
            let g = net
                .group_create(
                    ctx,
                    NewSecurityGroup {
                        name: name.trim().to_string(),
                        description: description.trim().to_string(),
                        ..Default::default()
                    },
                )
                .await?;
            format!("Security group {} created.", g.name)
        }
        NetOp::GroupDelete { id } => {
            let g = net.group_get(ctx, &id).await?;
            net.group_delete(ctx, &id).await?;
            format!("Security group {} deleted.", g.name)
        }
        NetOp::RuleCreate {
            group,
            preset: p,
            direction,
            port,
            remote,
        } => {
            let (mut protocol, port_range_min, port_range_max) = preset(&p, &port)?;
            let remote = some(&remote);
            let v6 = remote.as_deref().is_some_and(|r| r.contains(':'));
            let ethertype = if v6 { "IPv6" } else { "IPv4" };
            if v6 && protocol.as_deref() == Some("icmp") {
                protocol = Some("ipv6-icmp".into());
            }
            net.rule_create(
                ctx,
                NewRule {
                    security_group_id: group,
                    direction,
                    ethertype: Some(ethertype.into()),
                    protocol,
                    port_range_min,
                    port_range_max,
                    remote_ip_prefix: remote,
                    ..Default::default()
                },
            )
            .await?;
            "Rule added: running instances in the group follow it now.".into()
        }
        NetOp::RuleDelete { id } => {
            net.rule_delete(ctx, &id).await?;
            "Rule deleted.".into()
        }
        NetOp::FipCreate { network } => {
            let f = net
                .floating_ip_create(
                    ctx,
                    NewFloatingIp {
                        floating_network_id: network,
                        ..Default::default()
                    },
                )
                .await?;
            format!("Floating IP {} allocated.", f.floating_ip_address)
        }
        NetOp::FipAssociate { id, port } => {
            let f = net
                .floating_ip_update(
                    ctx,
                    &id,
                    FloatingIpUpdate {
                        port_id: Some(some(&port)),
                        ..Default::default()
                    },
                )
                .await?;
            format!(
                "Floating IP {} now reaches {}.",
                f.floating_ip_address,
                f.fixed_ip_address.unwrap_or_default()
            )
        }
        NetOp::FipDisassociate { id } => {
            let f = net
                .floating_ip_update(
                    ctx,
                    &id,
                    FloatingIpUpdate {
                        port_id: Some(None),
                        ..Default::default()
                    },
                )
                .await?;
            format!(
                "Floating IP {} is not associated now.",
                f.floating_ip_address
            )
        }
        NetOp::FipDelete { id } => {
            let f = net.floating_ip_get(ctx, &id).await?;
            net.floating_ip_delete(ctx, &id).await?;
            format!("Floating IP {} released.", f.floating_ip_address)
        }
    }))
}
