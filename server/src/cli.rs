//! Command-line interface. Every option also reads an environment variable, and a
//! config file (`--config`) fills what neither gives.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::runtime;

#[derive(Parser, Debug)]
#[command(
    name = "ferrostack",
    version,
    about = "Ferrostack: an OpenStack-compatible cloud in one binary"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// TOML config file (see docs/ARCHITECTURE.md, "Configuration").
    #[arg(long, env = "FERROSTACK_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where the cloud keeps its state: database, token keys, credentials, files.
    #[arg(long, env = "FERROSTACK_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL; default: SQLite under the data dir. postgres://... for PostgreSQL.
    #[arg(long, env = "FERROSTACK_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Base URL clients reach this cloud at (used in the catalog and links).
    #[arg(long, env = "FERROSTACK_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Migrate, bootstrap, and serve the console and every API on one port.
    Serve(ServeArgs),
    /// Create what a new cloud needs (admin user and project, roles, catalog). Idempotent.
    Bootstrap(BootstrapArgs),
    /// Database maintenance.
    #[command(subcommand)]
    Db(DbCommand),
    /// Token key maintenance.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Hypervisor hosts the scheduler places servers on.
    #[command(subcommand)]
    Host(HostCommand),
    /// Show every event and log line one request caused (the request id an error
    /// message or the x-openstack-request-id header gives).
    Trace { request_id: String },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "FERROSTACK_LISTEN")]
    pub listen: Option<String>,
    /// The console's built site (JS, WASM, CSS): cargo-leptos's site root.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Admin password to set at bootstrap; default: the stored one, or a generated one.
    #[arg(long, env = "FERROSTACK_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// A disk image file (e.g. the test ISO from scripts/build-test-image.sh) to offer
    /// as a public image, named after the file, unless an image of that name exists.
    #[arg(long, env = "FERROSTACK_SEED_IMAGE")]
    pub seed_image: Option<PathBuf>,
    /// Convert images imported with glance-direct to this format (qcow2 or raw).
    #[arg(long, env = "FERROSTACK_IMAGE_CONVERT_TO")]
    pub image_convert_to: Option<String>,
}

#[derive(Args, Debug)]
pub struct BootstrapArgs {
    /// Admin password for a new admin (or with --reset-admin-password); default: the
    /// stored one, or a generated one (stored 0600, shown once).
    #[arg(long, env = "FERROSTACK_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Set the existing admin's password (and its admin grants) again; without it an
    /// existing admin is never changed.
    #[arg(long)]
    pub reset_admin_password: bool,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Apply every migration not yet applied.
    Migrate,
}

#[derive(Subcommand, Debug)]
pub enum HostCommand {
    /// Register a host: connects to its libvirt, reads its capacity and (on the local
    /// machine) probes whether KVM is usable and faster than TCG.
    Add {
        #[arg(long)]
        name: String,
        /// qemu:///system (this machine), test:///<file> (simulated), qemu+ssh://... (remote).
        #[arg(long)]
        uri: String,
        #[arg(long)]
        az: Option<String>,
        /// Disk offered to servers, GiB (default: free space of the data dir).
        #[arg(long)]
        disk_gb: Option<i64>,
        /// kvm or qemu, instead of the probe's choice.
        #[arg(long)]
        virt_type: Option<String>,
    },
    /// List hosts with capacity and use.
    List,
    /// Stop placing new servers on a host (those on it keep running).
    Disable {
        name: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Place servers on a host again.
    Enable { name: String },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Promote the staged token key to primary and stage a new one. A running server
    /// picks the new keys up within 30 seconds.
    Rotate,
    /// Promote the staged credential key (`/v3/credentials` blobs) to primary; refused
    /// while a credential is not encrypted with the primary key (run
    /// `credential-migrate` first), as keystone-manage credential_rotate.
    CredentialRotate,
    /// Re-encrypt every credential under the primary credential key.
    CredentialMigrate,
}

pub async fn run(cli: Cli) -> Result<(), String> {
    let mut cfg = Config::load(cli.global.config.as_deref())?;
    cfg.apply_global(&cli.global);
    match cli.command {
        Command::Serve(a) => {
            if let Some(l) = a.listen {
                cfg.listen = l;
            }
            if let Some(s) = a.site_root {
                cfg.site_root = s;
            }
            if let Some(t) = a.image_convert_to {
                cfg.image.convert_to = Some(t);
            }
            runtime::serve(cfg, a.admin_password, a.seed_image).await
        }
        Command::Bootstrap(a) => {
            runtime::bootstrap_only(cfg, a.admin_password, a.reset_admin_password).await
        }
        Command::Db(DbCommand::Migrate) => runtime::migrate_only(cfg).await,
        Command::Keys(KeysCommand::Rotate) => runtime::rotate_keys(cfg).await,
        Command::Keys(k) => {
            runtime::credential_keys(cfg, matches!(k, KeysCommand::CredentialRotate)).await
        }
        Command::Trace { request_id } => runtime::trace(cfg, request_id).await,
        Command::Host(h) => runtime::host(cfg, h).await,
    }
}
