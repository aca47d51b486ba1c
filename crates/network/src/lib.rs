//! The network service (Neutron v2.0 model): networks, subnets, ports with the IPAM
//! that gives them addresses, security groups and their rules, and quotas. Every rule
//! is here, so the REST API and the console cannot disagree.
//!
//! Visibility is Neutron's: a project sees its own resources, and every project sees
//! shared and external networks (and their subnets); admins see everything. Creates
//! that count against a quota claim it first in their transaction (core's atomic
//! quotas); the IPAM serialises allocations on the network's row and keeps one row per
//! address with a unique key, so no address is handed out twice.

pub mod cidr;
mod common;
mod floating_ips;
mod ipam;
pub mod l3;
mod networks;
mod port_ips;
mod ports;
mod quota;
pub mod realize;
mod router_interfaces;
mod routers;
mod rules;
mod security_groups;
pub mod subnets;
mod xml;

use std::sync::Arc;

use ferrostack_core::db::Db;
use ferrostack_core::events::Events;
use ferrostack_core::{Platform, Result};

pub use common::{ListQuery, TagChange, TAGGED};
pub use floating_ips::{FloatingIpUpdate, NewFloatingIp};
pub use networks::{NetworkUpdate, NewNetwork};
pub use ports::{FixedIpRequest, NewPort, PortUpdate};
pub use quota::{QuotaSet, QUOTA_RESOURCES};
pub use routers::{GatewayRequest, InterfaceRequest, NewRouter, RouterUpdate};
pub use rules::NewRule;
pub use security_groups::{NewSecurityGroup, SecurityGroupUpdate};
pub use subnets::{NewSubnet, SubnetUpdate};

pub use ferrostack_types::network::limits;

/// Resource kinds in events and policy.
pub const KIND_NETWORK: &str = "network";
pub const KIND_SUBNET: &str = "subnet";
pub const KIND_PORT: &str = "port";
pub const KIND_SECURITY_GROUP: &str = "security group";
pub const KIND_SECURITY_GROUP_RULE: &str = "security group rule";
pub const KIND_ROUTER: &str = "router";
pub const KIND_FLOATING_IP: &str = "floating IP";

#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The MTU of networks created without one.
    pub default_mtu: i64,
    /// The first three bytes of every generated MAC (Neutron's base_mac).
    pub base_mac: [u8; 3],
    /// Default quotas of a project without its own.
    pub quota_defaults: QuotaSet,
    /// Physical network → host bridge: where external networks are wired. Empty: no
    /// router is made real (they are kept and validated, and say so).
    pub bridge_mappings: std::collections::BTreeMap<String, String>,
    /// The libvirt URI of the host whose network namespaces hold the routers.
    pub l3_host: String,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            default_mtu: 1500,
            base_mac: [0xfa, 0x16, 0x3e],
            quota_defaults: QuotaSet::defaults(),
            bridge_mappings: Default::default(),
            l3_host: "qemu:///system".into(),
        }
    }
}

/// The network service. Cheap to share: hold it in an `Arc`.
pub struct Networking {
    db: Db,
    cfg: NetworkConfig,
    events: Arc<Events>,
    /// The process's libvirt connections (compute's), once attached.
    hv: std::sync::OnceLock<Arc<ferrostack_hypervisor::Hypervisor>>,
    /// A digest of the filter this process last defined for each bound port.
    applied: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    /// Held while a filter is defined or removed (an unbind and a refresh of the
    /// same port at once would otherwise leave a filter behind).
    filter_lock: tokio::sync::Mutex<()>,
    /// Held while a router's namespace is brought in line (one at a time).
    l3_lock: tokio::sync::Mutex<()>,
}

impl Networking {
    pub async fn open(platform: &Platform, cfg: NetworkConfig) -> Result<Arc<Networking>> {
        migrate(&platform.db).await?;
        Ok(Arc::new(Networking {
            db: platform.db.clone(),
            cfg,
            events: platform.events.clone(),
            hv: std::sync::OnceLock::new(),
            applied: Default::default(),
            filter_lock: tokio::sync::Mutex::new(()),
            l3_lock: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.cfg
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Apply the network service's own migrations (versions 50000–59999;
/// crates/core/migrations/README.md).
pub async fn migrate(db: &Db) -> Result<()> {
    db.apply(&MIGRATOR).await
}
