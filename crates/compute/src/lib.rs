//! The compute service (Nova v2.1 model): hosts, flavors, key pairs, quotas, servers,
//! the scheduler and the jobs that boot, change and delete servers. Every rule is here,
//! so the REST API and the console cannot disagree.
//!
//! A server's life is rows and jobs. Create claims the project's quota and a host's
//! capacity in the transaction that inserts the server (so no number of parallel
//! creates over-commits either) and queues a durable boot job; the job prepares disks,
//! defines and starts the libvirt domain and waits for it to run, recording each step,
//! so a process killed mid-boot resumes or fails the server with the reason. Delete and
//! every action are jobs too. The hypervisor crate is the only place that speaks
//! libvirt; a reconciler brings power states back in line with what libvirt says.

mod action_jobs;
mod actions;
mod change_disks;
mod changes;
mod consoles;
mod create;
mod disks;
mod flavors;
mod groups;
mod hosts;
mod interfaces;
mod keypairs;
mod lifecycle;
mod metadata;
mod moves;
mod nics;
mod quota;
mod rebuild;
mod reconcile;
pub mod scheduler;
mod servers;
pub mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferrostack_core::db::Db;
use ferrostack_core::events::Events;
use ferrostack_core::jobs::Jobs;
use ferrostack_core::{Platform, Result};
use ferrostack_hypervisor::Hypervisor;
use ferrostack_image::Images;

pub use actions::{offered, ServerAction};
pub use consoles::{ConsoleKind, Session as ConsoleSession, TOKEN_TTL as CONSOLE_TOKEN_TTL};
pub use create::{Networks, NewServer};
pub use flavors::{FlavorQuery, NewFlavor};
pub use groups::{KIND_SERVER_GROUP, POLICIES};
pub use hosts::NewHost;
pub use interfaces::InterfaceRequest;
pub use nics::{NicRequest, AUTO_NETWORK};
pub use quota::{QuotaSet, QUOTA_RESOURCES};
pub use rebuild::Rebuild;
pub use reconcile::Reconciled;
pub use scheduler::{Placement, Weigher};
pub use servers::{ServerQuery, ServerUpdate};

pub use ferrostack_hypervisor::console::SerialConsole;
pub use ferrostack_hypervisor::simulated_node_xml;
pub use ferrostack_types::compute::limits;

/// Resource kinds in events and policy.
pub const KIND_SERVER: &str = "server";
pub const KIND_FLAVOR: &str = "flavor";
pub const KIND_HOST: &str = "host";
pub const KIND_KEYPAIR: &str = "keypair";

/// Job kinds.
pub const JOB_BOOT: &str = "compute.boot";
pub const JOB_DELETE: &str = "compute.delete";
pub const JOB_ACTION: &str = "compute.action";

#[derive(Clone, Debug)]
pub struct ComputeConfig {
    /// Where servers' disks, config drives and console logs live, and the base-image
    /// cache (`<data>/compute`).
    pub dir: PathBuf,
    pub qemu_img: String,
    /// The system emulator the KVM probe runs.
    pub qemu: String,
    /// The availability zone of hosts added without one (Nova's `nova`).
    pub default_az: String,
    /// Allocation ratios of hosts added without their own (Nova's defaults).
    pub cpu_ratio: f64,
    pub ram_ratio: f64,
    pub disk_ratio: f64,
    pub weigher: Weigher,
    /// How long a boot may take to reach running before the server fails.
    pub boot_timeout: Duration,
    /// How long stop and soft reboot wait for the guest to shut down before pulling
    /// the plug (Nova's clean-shutdown timeout).
    pub shutdown_timeout: Duration,
    /// Default quotas of a project without its own.
    pub quota_defaults: QuotaSet,
}

impl ComputeConfig {
    pub fn new(dir: PathBuf) -> Self {
        ComputeConfig {
            dir,
            qemu_img: "qemu-img".into(),
            qemu: "qemu-system-x86_64".into(),
            default_az: "nova".into(),
            cpu_ratio: 4.0,
            ram_ratio: 1.0,
            disk_ratio: 1.0,
            weigher: Weigher::Spread,
            boot_timeout: Duration::from_secs(300),
            shutdown_timeout: Duration::from_secs(60),
            quota_defaults: QuotaSet::defaults(),
        }
    }
}

/// The compute service. Cheap to share: hold it in an `Arc`.
pub struct Compute {
    db: Db,
    cfg: ComputeConfig,
    events: Arc<Events>,
    jobs: Arc<Jobs>,
    images: Arc<Images>,
    hv: Arc<Hypervisor>,
    /// Console sessions open in this process (consoles.rs).
    consoles: Arc<tokio::sync::Semaphore>,
    /// The network service servers' ports come from, once attached (nics.rs).
    network: std::sync::OnceLock<Arc<ferrostack_network::Networking>>,
}

impl Compute {
    pub async fn open(
        platform: &Platform,
        images: Arc<Images>,
        cfg: ComputeConfig,
    ) -> Result<Arc<Compute>> {
        migrate(&platform.db).await?;
        tokio::fs::create_dir_all(cfg.dir.join("instances"))
            .await
            .map_err(|e| ferrostack_core::Error::internal(format!("{}: {e}", cfg.dir.display())))?;
        tokio::fs::create_dir_all(cfg.dir.join("base"))
            .await
            .map_err(|e| ferrostack_core::Error::internal(format!("{}: {e}", cfg.dir.display())))?;
        Ok(Arc::new(Compute {
            db: platform.db.clone(),
            cfg,
            events: platform.events.clone(),
            jobs: platform.jobs.clone(),
            images,
            hv: Hypervisor::new(),
            consoles: consoles::sessions(),
            network: std::sync::OnceLock::new(),
        }))
    }

    pub fn config(&self) -> &ComputeConfig {
        &self.cfg
    }

    /// The libvirt connections of this process (the reconciler's tests act on a
    /// domain behind the service's back through it).
    pub fn hypervisor(&self) -> &Arc<Hypervisor> {
        &self.hv
    }

    /// Run this process's boot, delete and action workers.
    pub fn start_jobs(self: &Arc<Self>) {
        lifecycle::register(self);
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Apply the compute service's own migrations (versions 40000–49999;
/// crates/core/migrations/README.md).
pub async fn migrate(db: &Db) -> Result<()> {
    db.apply(&MIGRATOR).await
}

/// Nova's `hostId`: which host a server is on, as its project may know it — a hash of
/// project and host, so that two servers on one host are seen together without the
/// host's name.
pub fn host_id(project: &str, host: &str) -> String {
    openssl::hash::hash(
        openssl::hash::MessageDigest::sha224(),
        format!("{project}{host}").as_bytes(),
    )
    .map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
    .unwrap_or_default()
}

fn int_bool(v: i64) -> bool {
    v != 0
}
