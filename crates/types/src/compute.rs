//! Compute resources as the compute service returns them. The REST layer renders these
//! in Nova's JSON shapes; the console uses them as they are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A hypervisor host: a libvirt URI with its capacity and what is claimed of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub uri: String,
    pub availability_zone: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// `kvm`, `qemu` (TCG) or `test` (simulated).
    pub virt_type: String,
    /// Why that accelerator (the probe's result).
    pub virt_probe: String,
    pub hypervisor_type: String,
    pub hypervisor_version: i64,
    pub hostname: String,
    pub cpu_model: String,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub disk_gb: i64,
    pub cpu_ratio: f64,
    pub ram_ratio: f64,
    pub disk_ratio: f64,
    pub vcpus_used: i64,
    pub memory_mb_used: i64,
    pub disk_gb_used: i64,
    pub running_vms: i64,
    /// `up` or `down`.
    pub state: String,
    /// An admin said the host is down (Nova's forced_down): its servers may be
    /// evacuated, and nothing is placed on it.
    pub forced_down: bool,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: i64,
    /// MiB.
    pub ram: i64,
    /// GiB.
    pub disk: i64,
    pub ephemeral: i64,
    pub swap: i64,
    pub rxtx_factor: f64,
    pub is_public: bool,
    pub disabled: bool,
    pub description: Option<String>,
    pub extra_specs: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keypair {
    pub name: String,
    pub user_id: String,
    /// `ssh` or `x509`.
    pub key_type: String,
    pub public_key: String,
    pub fingerprint: String,
    /// Only when the cloud generated the pair, once, in the create answer.
    pub private_key: Option<String>,
    pub created_at: String,
}

/// A server's fault: why it is in ERROR.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub code: i64,
    pub message: String,
    pub created: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub image_id: Option<String>,
    /// The flavor as it was when the server was created.
    pub flavor: Flavor,
    pub host_id: Option<String>,
    pub host_name: Option<String>,
    pub availability_zone: Option<String>,
    /// Nova's `status`, derived from vm_state and task_state.
    pub status: String,
    pub vm_state: String,
    pub task_state: Option<String>,
    /// Nova's numeric power state (0 nostate, 1 running, 3 paused, 4 shutdown, 6 crashed, 7 suspended).
    pub power_state: i64,
    pub locked: bool,
    pub locked_reason: Option<String>,
    pub key_name: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub config_drive: bool,
    pub fault: Option<Fault>,
    pub description: Option<String>,
    pub reservation_id: String,
    pub launch_index: i64,
    /// Build progress, percent.
    pub progress: i64,
    pub created_at: String,
    pub updated_at: String,
    /// The addresses of its ports, in interface order.
    #[serde(default)]
    pub addresses: Vec<ServerAddress>,
    pub launched_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceActionEvent {
    pub event: String,
    pub start_time: String,
    pub finish_time: Option<String>,
    /// `Success` or `Error` once finished.
    pub result: Option<String>,
    pub host: Option<String>,
    pub details: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceAction {
    pub id: String,
    pub server_id: String,
    pub project_id: String,
    pub user_id: Option<String>,
    pub action: String,
    pub request_id: String,
    pub message: Option<String>,
    pub start_time: String,
    pub updated_at: String,
    pub events: Vec<InstanceActionEvent>,
}

/// Limits of the compute service, shared by the service and the console's forms.
/// A server group: servers placed together (affinity) or apart (anti-affinity), hard
/// or soft (`soft-` policies only weigh).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub policy: String,
    /// anti-affinity's `max_server_per_host` rule, when given.
    pub max_server_per_host: Option<i64>,
    pub members: Vec<String>,
    pub created_at: String,
}

/// One move of a server: a resize, a cold or live migration, or an evacuation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    pub id: i64,
    pub uuid: String,
    pub server_id: String,
    pub project_id: String,
    pub user_id: String,
    pub migration_type: String,
    pub status: String,
    pub source_compute: Option<String>,
    pub dest_compute: Option<String>,
    pub old_flavor: Flavor,
    pub new_flavor: Flavor,
    pub created_at: String,
    pub updated_at: String,
}

pub mod limits {
    pub const NAME_MAX: usize = 255;
    /// Nova: user_data is at most 65535 bytes of base64.
    pub const USER_DATA_MAX: usize = 65_535;
    pub const METADATA_ITEMS_MAX: usize = 128;
    pub const METADATA_KEY_MAX: usize = 255;
    pub const METADATA_VALUE_MAX: usize = 255;
    pub const TAG_MAX: usize = 60;
    pub const TAGS_MAX: usize = 50;
    pub const KEY_NAME_MAX: usize = 255;
    pub const PUBLIC_KEY_MAX: usize = 16_384;
    /// One request may ask for at most this many servers (max_count).
    pub const COUNT_MAX: i64 = 100;
}

/// One address of a server: a fixed IP of one of its ports (Nova's `addresses`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerAddress {
    /// The network's name (Nova keys `addresses` by it).
    pub network: String,
    pub network_id: String,
    pub port_id: String,
    pub addr: String,
    pub version: i64,
    pub mac: String,
    /// `fixed` or `floating`.
    pub kind: String,
}

/// One of a server's network interfaces (Nova's os-interface attachment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceAttachment {
    pub port_id: String,
    pub net_id: String,
    pub mac_addr: String,
    /// The port's status (ACTIVE once plugged in, DOWN otherwise).
    pub port_state: String,
    /// (subnet id, address)
    pub fixed_ips: Vec<(String, String)>,
}
