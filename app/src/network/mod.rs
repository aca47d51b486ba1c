//! Project > Network: Networks (each with its subnets and ports), Routers (interfaces
//! and gateway), Security Groups (a rules editor with presets), Floating IPs (allocate,
//! associate with an instance's port) and the Network Topology, an SVG graph of the
//! project's networks, routers and instances that follows pushed events (no polling).
//! Reads are server functions; every change goes through `network_do`, which calls the
//! network service with the same calls as the Neutron API, so the service refuses (and
//! says why), never the page.

mod floating;
mod networks;
mod routers;
#[cfg(feature = "ssr")]
mod run;
mod security;
mod server;
mod topology;

pub use floating::FloatingIpsPanel;
pub use networks::{NetworkDetailPage, NetworksPanel};
pub use routers::{RouterDetailPage, RoutersPanel};
pub use security::{SecurityGroupPage, SecurityGroupsPanel};
pub use server::*;
pub use topology::TopologyPanel;

mod prelude {
    #![allow(unused_imports)]
    pub(crate) use leptos::prelude::*;
    pub(crate) use leptos::server_fn::codec::Json;
    pub(crate) use leptos_router::hooks::use_params_map;
    pub(crate) use serde::{Deserialize, Serialize};

    pub(crate) use ferrostack_types::network::{
        FloatingIp, Network, Port, Router, SecurityGroup, SecurityGroupRule, Subnet,
    };

    pub(crate) use crate::error::ConsoleError;
    pub(crate) use crate::kit::{
        val, Cell, DataTable, Dialog, Done, Field, Kind, Refused, Row, Runner, RunnerDialog,
    };

    pub(crate) use super::server::*;
    pub(crate) use super::*;
}

use prelude::*;

/// A change the network panels ask for. Empty strings mean "not given".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetOp {
    /// A network and, when `cidr` is given, its first subnet (Horizon's Create Network).
    NetworkCreate {
        name: String,
        shared: bool,
        subnet_name: String,
        cidr: String,
        /// Empty: the subnet's first address; `none`: no gateway.
        gateway: String,
        dhcp: bool,
        /// Name servers, one per line or comma-separated.
        dns: String,
    },
    NetworkDelete {
        id: String,
    },
    SubnetCreate {
        network: String,
        name: String,
        cidr: String,
        gateway: String,
        dhcp: bool,
        dns: String,
    },
    SubnetDelete {
        id: String,
    },
    PortDelete {
        id: String,
    },
    RouterCreate {
        name: String,
        /// The external network of its gateway (empty: none).
        external: String,
    },
    RouterDelete {
        id: String,
    },
    /// Set (`external` given) or clear the router's gateway.
    RouterGateway {
        id: String,
        external: String,
    },
    InterfaceAdd {
        id: String,
        subnet: String,
    },
    InterfaceRemove {
        id: String,
        subnet: String,
    },
    GroupCreate {
        name: String,
        description: String,
    },
    GroupDelete {
        id: String,
    },
    /// A rule from a preset (`ssh`, `http`, `https`, `icmp`, `all-tcp`, `all-udp`,
    /// `custom-tcp`, `custom-udp`); `port` is `N` or `N-M` for the custom ones, `remote`
    /// a CIDR (empty: any IPv4 address).
    RuleCreate {
        group: String,
        preset: String,
        direction: String,
        port: String,
        remote: String,
    },
    RuleDelete {
        id: String,
    },
    FipCreate {
        network: String,
    },
    /// Associate with a port's (only) IPv4 address.
    FipAssociate {
        id: String,
        port: String,
    },
    FipDisassociate {
        id: String,
    },
    FipDelete {
        id: String,
    },
}

#[server(endpoint = "network_do", input = Json)]
pub async fn network_do(op: NetOp) -> Result<Done, ConsoleError> {
    run::run(op).await.map_err(crate::auth::ssr::say)
}

pub(crate) fn runner() -> Runner<NetOp> {
    Runner::new(Action::new(|op: &NetOp| network_do(op.clone())))
}

/// Neutron's statuses as badges.
pub(crate) fn status_badge(status: &str) -> Cell {
    let class = match status {
        "ACTIVE" => "ok",
        "ERROR" => "bad",
        "DOWN" => "off",
        _ => "busy",
    };
    Cell::Badge(status.to_string(), class)
}

pub(crate) fn yes_no(b: bool) -> Cell {
    Cell::Text(if b { "Yes" } else { "No" }.into())
}

/// The fields of a subnet, in Create Network and Create Subnet.
pub(crate) fn subnet_fields(cidr_required: bool) -> Vec<Field> {
    let cidr = Field::text("cidr", "Network address (CIDR)")
        .hint("For example 192.168.10.0/24 or fd00:10::/64.");
    vec![
        Field::text("subnet_name", "Subnet name"),
        if cidr_required {
            cidr.required()
        } else {
            cidr.hint("Leave empty to create the network without a subnet.")
        },
        Field::text("gateway", "Gateway IP")
            .hint("Empty: the subnet's first address. \"none\": no gateway."),
        Field::new("dhcp", "Enable DHCP", Kind::Check).checked(true),
        Field::new("dns", "DNS name servers", Kind::Area)
            .hint("One address per line.")
            .max(1000),
    ]
}

/// A label for an option list: `name (id prefix)` when a name is empty.
pub(crate) fn label(name: &str, id: &str) -> String {
    if name.is_empty() {
        id.chars().take(8).collect()
    } else {
        name.to_string()
    }
}
