//! Configuration: defaults, then the TOML file, then environment and flags.

use std::path::{Path, PathBuf};

use ferrostack_identity::{IdentityConfig, PasswordParams};
use serde::Deserialize;

use crate::cli::GlobalArgs;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub listen: String,
    pub public_url: Option<String>,
    pub site_root: PathBuf,
    pub region: String,
    pub identity: IdentitySection,
    pub image: ImageSection,
    pub jobs: JobsSection,
    pub compute: ComputeSection,
    pub network: NetworkSection,
}

/// Networking: the host bridges external networks are wired to, and the host routers
/// run on.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSection {
    /// Physical network name → host bridge (Neutron's bridge_mappings), e.g.
    /// `bridge_mappings = { public = "br-ex" }`. An external network created with
    /// `provider:physical_network public` reaches the world through `br-ex`. None:
    /// routers and floating IPs are kept and validated, and route nothing.
    pub bridge_mappings: std::collections::BTreeMap<String, String>,
    /// The libvirt URI of the host whose network namespaces hold the routers.
    pub l3_host: String,
}

impl Default for NetworkSection {
    fn default() -> Self {
        let d = ferrostack_network::NetworkConfig::default();
        NetworkSection {
            bridge_mappings: d.bridge_mappings,
            l3_host: d.l3_host,
        }
    }
}

/// Compute: the scheduler's weigher, allocation ratios, time limits, default quotas,
/// and hosts registered at start (those missing are added; `ferrostack host add` adds
/// more).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComputeSection {
    /// `spread` (default) or `pack`.
    pub weigher: String,
    pub cpu_allocation_ratio: f64,
    pub ram_allocation_ratio: f64,
    pub disk_allocation_ratio: f64,
    pub default_availability_zone: String,
    pub boot_timeout_secs: u64,
    pub shutdown_timeout_secs: u64,
    pub quota_instances: i64,
    pub quota_cores: i64,
    pub quota_ram: i64,
    /// Seconds between reconciler passes (power states, host state).
    pub reconcile_secs: u64,
    pub hosts: Vec<HostEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    pub name: String,
    pub uri: String,
    pub availability_zone: Option<String>,
    pub disk_gb: Option<i64>,
    pub virt_type: Option<String>,
}

impl Default for ComputeSection {
    fn default() -> Self {
        let d = ferrostack_compute::ComputeConfig::new(PathBuf::new());
        ComputeSection {
            weigher: "spread".into(),
            cpu_allocation_ratio: d.cpu_ratio,
            ram_allocation_ratio: d.ram_ratio,
            disk_allocation_ratio: d.disk_ratio,
            default_availability_zone: d.default_az,
            boot_timeout_secs: d.boot_timeout.as_secs(),
            shutdown_timeout_secs: d.shutdown_timeout.as_secs(),
            quota_instances: d.quota_defaults.get("instances"),
            quota_cores: d.quota_defaults.get("cores"),
            quota_ram: d.quota_defaults.get("ram"),
            reconcile_secs: 10,
            hosts: Vec::new(),
        }
    }
}

/// Durable jobs: how long a worker's claim holds without renewal (another process
/// takes a job over once it ran out), and how often idle workers look for work queued
/// by other processes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsSection {
    pub lease_secs: u64,
    pub poll_ms: u64,
}

impl Default for JobsSection {
    fn default() -> Self {
        let d = ferrostack_core::jobs::JobsConfig::default();
        JobsSection {
            lease_secs: d.lease.as_secs(),
            poll_ms: d.poll.as_millis() as u64,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageSection {
    /// Convert imported images to this format (`qcow2` or `raw`); unset keeps them.
    pub convert_to: Option<String>,
    pub quota_images: i64,
    pub quota_bytes: i64,
    /// Show image owners and admins where the data is (`locations`, `direct_url`), as
    /// Glance's options of these names do; off by default.
    pub show_multiple_locations: bool,
    pub show_image_direct_url: bool,
}

impl Default for ImageSection {
    fn default() -> Self {
        let d = ferrostack_image::ImageConfig::new(PathBuf::new());
        ImageSection {
            convert_to: None,
            quota_images: d.quota_images,
            quota_bytes: d.quota_bytes,
            show_multiple_locations: false,
            show_image_direct_url: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySection {
    pub token_ttl_secs: i64,
    pub max_active_keys: usize,
    pub lockout_failure_attempts: i64,
    pub lockout_duration_secs: i64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("/var/lib/ferrostack"),
            database_url: None,
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            site_root: PathBuf::from("target/site"),
            region: "RegionOne".into(),
            identity: IdentitySection::default(),
            image: ImageSection::default(),
            jobs: JobsSection::default(),
            compute: ComputeSection::default(),
            network: NetworkSection::default(),
        }
    }
}

impl Default for IdentitySection {
    fn default() -> Self {
        let p = PasswordParams::default();
        IdentitySection {
            token_ttl_secs: 3600,
            max_active_keys: 3,
            lockout_failure_attempts: 6,
            lockout_duration_secs: 300,
            argon2_memory_kib: p.memory_kib,
            argon2_iterations: p.iterations,
            argon2_parallelism: p.parallelism,
        }
    }
}

impl Config {
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        match path {
            None => Ok(Config::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read config {}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| format!("config {}: {e}", p.display()))
            }
        }
    }

    pub fn apply_global(&mut self, g: &GlobalArgs) {
        if let Some(d) = &g.data_dir {
            self.data_dir = d.clone();
        }
        if let Some(u) = &g.database_url {
            self.database_url = Some(u.clone());
        }
        if let Some(u) = &g.public_url {
            self.public_url = Some(u.clone());
        }
    }

    /// The URL clients use: configured, else derived from the listen address.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let host = self
                    .listen
                    .replace("0.0.0.0", "127.0.0.1")
                    .replace("[::]", "[::1]");
                format!("http://{host}")
            }
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| ferrostack_core::db::Db::sqlite_url(&self.data_dir))
    }

    pub fn jobs_config(&self) -> ferrostack_core::jobs::JobsConfig {
        ferrostack_core::jobs::JobsConfig {
            lease: std::time::Duration::from_secs(self.jobs.lease_secs.max(1)),
            poll: std::time::Duration::from_millis(self.jobs.poll_ms.max(50)),
        }
    }

    pub fn image_config(&self) -> ferrostack_image::ImageConfig {
        let mut c = ferrostack_image::ImageConfig::new(self.data_dir.join("images"));
        c.convert_to = self.image.convert_to.clone();
        c.quota_images = self.image.quota_images;
        c.quota_bytes = self.image.quota_bytes;
        c.show_multiple_locations = self.image.show_multiple_locations;
        c.show_image_direct_url = self.image.show_image_direct_url;
        c
    }

    pub fn compute_config(&self) -> Result<ferrostack_compute::ComputeConfig, String> {
        let s = &self.compute;
        let mut c = ferrostack_compute::ComputeConfig::new(self.data_dir.join("compute"));
        c.weigher = ferrostack_compute::Weigher::parse(&s.weigher)
            .ok_or_else(|| format!("[compute] weigher = {:?}: spread or pack", s.weigher))?;
        c.cpu_ratio = s.cpu_allocation_ratio;
        c.ram_ratio = s.ram_allocation_ratio;
        c.disk_ratio = s.disk_allocation_ratio;
        c.default_az = s.default_availability_zone.clone();
        c.boot_timeout = std::time::Duration::from_secs(s.boot_timeout_secs.max(1));
        c.shutdown_timeout = std::time::Duration::from_secs(s.shutdown_timeout_secs);
        c.quota_defaults
            .0
            .insert("instances".into(), s.quota_instances);
        c.quota_defaults.0.insert("cores".into(), s.quota_cores);
        c.quota_defaults.0.insert("ram".into(), s.quota_ram);
        Ok(c)
    }

    pub fn network_config(&self) -> Result<ferrostack_network::NetworkConfig, String> {
        let mut c = ferrostack_network::NetworkConfig::default();
        for (physnet, bridge) in &self.network.bridge_mappings {
            ferrostack_network::l3::check_mapping(physnet, bridge)
                .map_err(|e| format!("[network] bridge_mappings: {e}"))?;
        }
        c.bridge_mappings = self.network.bridge_mappings.clone();
        c.l3_host = self.network.l3_host.clone();
        Ok(c)
    }

    pub fn identity_config(&self) -> IdentityConfig {
        let i = &self.identity;
        let mut c = IdentityConfig::new(self.data_dir.join("fernet-keys"));
        c.token_ttl_secs = i.token_ttl_secs;
        c.max_active_keys = i.max_active_keys;
        c.lockout_failure_attempts = i.lockout_failure_attempts;
        c.lockout_duration_secs = i.lockout_duration_secs;
        c.password_params = PasswordParams {
            memory_kib: i.argon2_memory_kib,
            iterations: i.argon2_iterations,
            parallelism: i.argon2_parallelism,
        };
        c
    }
}
