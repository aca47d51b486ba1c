//! Bringing the cloud up: data dir, database, migrations, services, bootstrap, and
//! the HTTP server with its background work.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferrostack_core::{ids, Ctx, Db};
use ferrostack_identity::{BootstrapOptions, Identity};
use leptos::config::LeptosOptions;
use rand::distributions::{Alphanumeric, DistString};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::state::AppState;

/// Logs go to standard error and, once `serve` has opened it, to the data dir's log
/// file (crate::logs), which `ferrostack trace` reads.
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_env("FERROSTACK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_writer(std::io::stderr),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(false)
                .with_writer(|| crate::logs::LogFile),
        )
        .try_init();
}

fn prepare_data_dir(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
    // Traversable, not listable: QEMU (its own user) must reach <data>/compute's
    // disks. Everything else in it is the owner's alone, also what an older version
    // left readable (the SQLite file was 0644 under a 0700 directory).
    fs::set_permissions(dir, fs::Permissions::from_mode(0o711))
        .map_err(|e| format!("cannot set permissions on {}: {e}", dir.display()))?;
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        if entry.file_name() == "compute" {
            continue;
        }
        let path = entry.path();
        if let Ok(meta) = fs::symlink_metadata(&path) {
            let mode = meta.permissions().mode();
            if !meta.file_type().is_symlink() && mode & 0o077 != 0 {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o700))
                    .map_err(|e| format!("cannot set permissions on {}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

async fn open_db(cfg: &Config) -> Result<Db, String> {
    prepare_data_dir(&cfg.data_dir)?;
    let db = Db::connect(&cfg.database_url())
        .await
        .map_err(|e| e.detail())?;
    // Core (with the shared history) first, then each service in dependency order.
    db.migrate().await.map_err(|e| e.detail())?;
    ferrostack_identity::migrate(&db)
        .await
        .map_err(|e| e.detail())?;
    ferrostack_image::migrate(&db)
        .await
        .map_err(|e| e.detail())?;
    ferrostack_compute::migrate(&db)
        .await
        .map_err(|e| e.detail())?;
    ferrostack_network::migrate(&db)
        .await
        .map_err(|e| e.detail())?;
    Ok(db)
}

const CREDENTIALS_FILE: &str = "admin-openrc.sh";

/// The admin password for a new admin (or a reset): the one given, else the stored
/// one, else a new random one (`true`: generated now).
fn admin_password(data_dir: &Path, given: Option<String>) -> Result<(String, bool), String> {
    if let Some(p) = given.filter(|p| !p.is_empty()) {
        return Ok((p, false));
    }
    let path = data_dir.join(CREDENTIALS_FILE);
    if let Ok(text) = fs::read_to_string(&path) {
        if let Some(p) = text
            .lines()
            .find_map(|l| l.strip_prefix("export OS_PASSWORD="))
        {
            return Ok((shell_unquote(p), false));
        }
    }
    Ok((Alphanumeric.sample_string(&mut rand::rngs::OsRng, 24), true))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn shell_unquote(s: &str) -> String {
    let s = s.trim();
    match s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        Some(inner) => inner.replace(r"'\''", "'"),
        None => s.to_string(),
    }
}

fn write_private(data_dir: &Path, name: &str, contents: &str) -> Result<(), String> {
    ferrostack_core::files::write_private(data_dir, name, contents.as_bytes())
        .map_err(|e| e.detail())
}

fn write_credentials(cfg: &Config, password: &str) -> Result<(), String> {
    let auth_url = format!("{}/identity/v3", cfg.public_url());
    let openrc = format!(
        "# Ferrostack admin credentials. Load with: . {dir}/{CREDENTIALS_FILE}\n\
         export OS_AUTH_URL={auth_url}\nexport OS_USERNAME=admin\nexport OS_PASSWORD={pw}\n\
         export OS_PROJECT_NAME=admin\nexport OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n\
         export OS_REGION_NAME={region}\nexport OS_IDENTITY_API_VERSION=3\nexport OS_INTERFACE=public\n",
        dir = cfg.data_dir.display(),
        pw = shell_quote(password),
        region = cfg.region,
    );
    write_private(&cfg.data_dir, CREDENTIALS_FILE, &openrc)?;
    let yaml = format!(
        "clouds:\n  ferrostack:\n    auth:\n      auth_url: {auth_url}\n      username: admin\n      password: {pw}\n      \
         project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    \
         region_name: {region}\n    identity_api_version: 3\n    interface: public\n",
        pw = serde_json::to_string(password).map_err(|e| e.to_string())?,
        region = cfg.region,
    );
    write_private(&cfg.data_dir, "clouds.yaml", &yaml)
}

async fn open_identity(cfg: &Config, db: Db) -> Result<Arc<Identity>, String> {
    Identity::open(db, cfg.identity_config())
        .await
        .map_err(|e| e.detail())
}

/// Bootstrap; returns the admin password when this run generated and set it (to be
/// shown once), and the admin project's id. An existing admin is left as it is unless
/// `reset` asks.
async fn bootstrap(
    cfg: &Config,
    identity: &Identity,
    given_password: Option<String>,
    reset: bool,
) -> Result<(Option<String>, String), String> {
    let given = given_password.is_some();
    let (password, generated) = admin_password(&cfg.data_dir, given_password)?;
    let mut opts = BootstrapOptions::new(password.clone(), cfg.public_url());
    opts.region = cfg.region.clone();
    opts.reset_admin_password = reset;
    let report = identity
        .bootstrap(&Ctx::internal(ids::new_request_id()), &opts)
        .await
        .map_err(|e| format!("bootstrap failed: {}", e.detail()))?;
    if report.password_set {
        write_credentials(cfg, &password)?;
    } else {
        if given {
            tracing::warn!("the admin exists: its password is left as it is (ferrostack bootstrap --reset-admin-password sets it)");
        }
        // The credentials file of an older cloud: rewritten only if missing (the
        // catalog URL may have moved; the password in it is the operator's business).
        if !cfg.data_dir.join(CREDENTIALS_FILE).exists() {
            tracing::warn!(file = %cfg.data_dir.join(CREDENTIALS_FILE).display(), "no admin credentials file, and the admin exists: reset its password to get one");
        }
    }
    if report.changed.is_empty() {
        tracing::info!("bootstrap: everything was in place");
    } else {
        tracing::info!(changed = %report.changed.join(", "), "bootstrap: created or updated");
    }
    let shown = (report.password_set && generated).then_some(password);
    Ok((shown, report.admin_project_id))
}

/// Every service, opened in one place over one platform (database, events, jobs);
/// the REST routers and the console both get this value.
async fn open_services(
    cfg: &Config,
    identity: Arc<Identity>,
) -> Result<app::services::Services, String> {
    let platform = ferrostack_core::Platform::open(identity.db().clone(), cfg.jobs_config())
        .await
        .map_err(|e| format!("platform: {}", e.detail()))?;
    let images = ferrostack_image::Images::open(&platform, cfg.image_config())
        .await
        .map_err(|e| format!("image service: {}", e.detail()))?;
    let compute =
        ferrostack_compute::Compute::open(&platform, images.clone(), cfg.compute_config()?)
            .await
            .map_err(|e| format!("compute service: {}", e.detail()))?;
    let network = ferrostack_network::Networking::open(&platform, cfg.network_config()?)
        .await
        .map_err(|e| format!("network service: {}", e.detail()))?;
    compute.attach_network(network.clone());
    Ok(app::services::Services {
        platform,
        identity,
        images,
        compute,
        network,
    })
}

/// Offer `path` as a public image named after the file (admin project's), unless an
/// image of that name exists: a new cloud has something to boot at once.
async fn seed_image(
    images: &ferrostack_image::Images,
    admin_project_id: &str,
    path: &Path,
) -> Result<(), String> {
    use ferrostack_core::{RoleRef, Scope};
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| format!("--seed-image {}: not a file name", path.display()))?;
    let ctx = Ctx {
        scope: Scope::Project {
            id: admin_project_id.to_string(),
            name: "admin".into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        },
        roles: vec![RoleRef {
            id: String::new(),
            name: "admin".into(),
        }],
        ..Ctx::internal(ids::new_request_id())
    };
    let q = ferrostack_image::ImageQuery {
        name: Some(name.clone()),
        visibility: Some("all".into()),
        ..Default::default()
    };
    let (existing, _) = images.image_list(&ctx, q).await.map_err(|e| e.detail())?;
    if existing.iter().any(|i| i.status == "active") {
        return Ok(());
    }
    let disk_format = match path.extension().and_then(|e| e.to_str()) {
        Some("iso") => "iso",
        Some("qcow2") => "qcow2",
        _ => "raw",
    };
    let new = ferrostack_image::NewImage {
        name: Some(name.clone()),
        visibility: Some("public".into()),
        disk_format: Some(disk_format.into()),
        container_format: Some("bare".into()),
        ..Default::default()
    };
    let img = images
        .image_create(&ctx, new)
        .await
        .map_err(|e| e.detail())?;
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("--seed-image {}: {e}", path.display()))?;
    let stream = futures_util::StreamExt::map(tokio_util::io::ReaderStream::new(file), |r| {
        r.map_err(|e| e.to_string())
    });
    images
        .image_upload(&ctx, &img.id, Box::pin(stream))
        .await
        .map_err(|e| format!("--seed-image {}: {}", path.display(), e.detail()))?;
    tracing::info!(image = %img.id, name = %name, "seeded a public image");
    Ok(())
}

pub async fn migrate_only(cfg: Config) -> Result<(), String> {
    let db = open_db(&cfg).await?;
    let applied = db.applied_migrations().await.map_err(|e| e.detail())?;
    println!(
        "database migrated: {} migration(s) applied, latest {:?}",
        applied.len(),
        applied.last()
    );
    Ok(())
}

/// `ferrostack host ...`: on the database directly (a running server sees the change
/// at its next placement).
pub async fn host(cfg: Config, cmd: crate::cli::HostCommand) -> Result<(), String> {
    use crate::cli::HostCommand;
    let db = open_db(&cfg).await?;
    let platform = ferrostack_core::Platform::open(db, cfg.jobs_config())
        .await
        .map_err(|e| e.detail())?;
    let images = ferrostack_image::Images::open(&platform, cfg.image_config())
        .await
        .map_err(|e| e.detail())?;
    let compute = ferrostack_compute::Compute::open(&platform, images, cfg.compute_config()?)
        .await
        .map_err(|e| e.detail())?;
    let ctx = Ctx::internal(ids::new_request_id());
    let show = |h: &ferrostack_types::compute::Host| {
        format!(
            "{:<16} {:<8} {:<6} {:<9} {:>3}/{:<3} vCPU {:>7}/{:<7} MiB {:>5}/{:<5} GiB {:>4} servers  {}  {}",
            h.name,
            h.availability_zone,
            h.virt_type,
            if h.enabled { h.state.clone() } else { "disabled".to_string() },
            h.vcpus_used,
            (h.vcpus as f64 * h.cpu_ratio) as i64,
            h.memory_mb_used,
            (h.memory_mb as f64 * h.ram_ratio) as i64,
            h.disk_gb_used,
            (h.disk_gb as f64 * h.disk_ratio) as i64,
            h.running_vms,
            h.uri,
            h.disabled_reason.clone().unwrap_or_default(),
        )
    };
    match cmd {
        HostCommand::Add {
            name,
            uri,
            az,
            disk_gb,
            virt_type,
        } => {
            let h = compute
                .host_add(
                    &ctx,
                    ferrostack_compute::NewHost {
                        name,
                        uri,
                        availability_zone: az,
                        disk_gb,
                        virt_type,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| e.detail())?;
            println!("host {} added: {} ({})", h.name, h.virt_type, h.virt_probe);
            println!("{}", show(&h));
        }
        HostCommand::List => {
            println!(
                "{:<16} {:<8} {:<6} {:<9} {:<12} {:<19} {:<15} {:<12}  URI  REASON",
                "NAME", "ZONE", "VIRT", "STATE", "vCPU used/cap", "RAM", "DISK", "SERVERS"
            );
            for h in compute.host_list(&ctx).await.map_err(|e| e.detail())? {
                println!("{}", show(&h));
            }
        }
        HostCommand::Disable { name, reason } => {
            let h = compute
                .host_set_enabled(&ctx, &name, false, reason)
                .await
                .map_err(|e| e.detail())?;
            println!("{}", show(&h));
        }
        HostCommand::Enable { name } => {
            let h = compute
                .host_set_enabled(&ctx, &name, true, None)
                .await
                .map_err(|e| e.detail())?;
            println!("{}", show(&h));
        }
    }
    Ok(())
}

pub async fn bootstrap_only(
    cfg: Config,
    password: Option<String>,
    reset: bool,
) -> Result<(), String> {
    let db = open_db(&cfg).await?;
    let identity = open_identity(&cfg, db).await?;
    let (shown, _) = bootstrap(&cfg, &identity, password, reset).await?;
    if let Some(p) = shown {
        println!("admin password (generated, shown once): {p}");
    }
    println!(
        "bootstrap done; admin credentials in {}",
        cfg.data_dir.join(CREDENTIALS_FILE).display()
    );
    Ok(())
}

/// `ferrostack trace REQUEST_ID`: every event the request caused and every log line
/// that names it (the id an error message gives).
pub async fn trace(cfg: Config, request_id: String) -> Result<(), String> {
    let db = open_db(&cfg).await?;
    let events = ferrostack_core::events::Events::open(db)
        .await
        .map_err(|e| e.detail())?;
    let found = events
        .for_request(&Ctx::internal(ids::new_request_id()), &request_id)
        .await
        .map_err(|e| e.detail())?;
    println!("events of {request_id}: {}", found.len());
    for e in &found {
        println!(
            "  #{} {} {} {} {} {}{}{}",
            e.seq,
            e.at,
            e.kind,
            e.resource_id,
            e.action,
            e.status,
            e.progress.map(|p| format!(" {p}%")).unwrap_or_default(),
            if e.message.is_empty() {
                String::new()
            } else {
                format!(" — {}", e.message)
            },
        );
    }
    let lines = crate::logs::grep(&cfg.data_dir, &request_id);
    println!("log lines naming {request_id}: {}", lines.len());
    for l in lines {
        println!("  {l}");
    }
    Ok(())
}

pub async fn rotate_keys(cfg: Config) -> Result<(), String> {
    prepare_data_dir(&cfg.data_dir)?;
    let ring = ferrostack_identity::tokens::KeyRing::open(
        &cfg.identity_config().key_dir,
        cfg.identity.max_active_keys,
    )
    .map_err(|e| e.detail())?;
    let n = ring.rotate().map_err(|e| e.detail())?;
    println!("token keys rotated: key {n} is now primary");
    Ok(())
}

/// `ferrostack keys credential-rotate` (`rotate`) or `credential-migrate`.
pub async fn credential_keys(cfg: Config, rotate: bool) -> Result<(), String> {
    let db = open_db(&cfg).await?;
    let identity = open_identity(&cfg, db).await?;
    if rotate {
        let n = identity
            .credential_keys_rotate()
            .await
            .map_err(|e| e.detail())?;
        println!("credential keys rotated: key {n} is now primary; run `ferrostack keys credential-migrate` once every server has reloaded (within 30 seconds)");
    } else {
        let moved = identity
            .credential_keys_migrate()
            .await
            .map_err(|e| e.detail())?;
        println!("{moved} credential(s) re-encrypted under the primary credential key");
    }
    Ok(())
}

pub async fn serve(
    cfg: Config,
    admin_password: Option<String>,
    seed: Option<PathBuf>,
) -> Result<(), String> {
    let db = open_db(&cfg).await?;
    crate::logs::open(&cfg.data_dir)?;
    let identity = open_identity(&cfg, db).await?;
    let (shown, admin_project_id) = bootstrap(&cfg, &identity, admin_password, false).await?;
    let services = open_services(&cfg, identity.clone()).await?;
    let images = services.images.clone();
    if let Some(path) = &seed {
        seed_image(&images, &admin_project_id, path).await?;
    }
    images.start_jobs();
    start_compute(&cfg, &services.compute).await;
    start_network(&services.network);

    let public_url = cfg.public_url();
    let leptos = LeptosOptions::builder()
        .output_name("ferrostack")
        .site_root(cfg.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .build();
    spawn_event_pruner(services.platform.events.clone());
    let events = services.platform.events.clone();
    let state = AppState {
        services,
        public_url: public_url.clone(),
        cloud: app::CloudInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            auth_url: format!("{public_url}/identity/v3"),
            region: cfg.region.clone(),
        },
        leptos,
    };
    if !cfg.site_root.join("pkg").exists() {
        tracing::warn!(site_root = %cfg.site_root.display(), "the console's built site is missing: run `cargo leptos build --release` (the APIs work without it)");
    }
    let state_db = state.services.platform.db.clone();
    let app = crate::app(state);
    spawn_session_sweeper(crate::sessions::DbSessionStore::new(state_db.clone()));

    let limits = crate::http::Limits::default();
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    spawn_key_reloader(identity.clone());
    spawn_revocation_sync(identity.clone());
    // The password is shown once, when it was generated; later it is in the file.
    let password_line = match &shown {
        Some(p) => format!("{p} (generated: shown this once)"),
        None => format!("in {}", cfg.data_dir.join(CREDENTIALS_FILE).display()),
    };
    println!(
        "\nFerrostack is up.\n  Console:        {public_url}/\n  Identity API:   {public_url}/identity/v3\n  \
         Admin user:     admin\n  Admin password: {password_line}\n  Credentials:    {} (source it for the openstack CLI)\n  \
         clouds.yaml:    {}\n",
        cfg.data_dir.join(CREDENTIALS_FILE).display(),
        cfg.data_dir.join("clouds.yaml").display(),
    );
    tracing::info!(listen = %cfg.listen, max_connections = limits.max_connections, header_read_secs = limits.header_read.as_secs(), "serving");
    // Live event streams end first, so that connections can drain.
    let stopping = async move {
        shutdown_signal().await;
        events.shutdown();
    };
    crate::http::serve(listener, app, limits, stopping)
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// Remove expired console sessions now and then.
/// Seed the usual flavors on a new cloud, add the hosts the config file names that
/// are missing, run the compute jobs and the reconciler.
async fn start_compute(cfg: &Config, compute: &Arc<ferrostack_compute::Compute>) {
    let ctx = Ctx::internal(ids::new_request_id());
    match compute.seed_flavors(&ctx).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            flavors = n,
            "seeded the usual flavors (m1.tiny ... m1.large)"
        ),
        Err(e) => tracing::warn!(error = %e.detail(), "cannot seed flavors"),
    }
    for h in &cfg.compute.hosts {
        if compute.host_get(&ctx, &h.name).await.is_ok() {
            continue;
        }
        let new = ferrostack_compute::NewHost {
            name: h.name.clone(),
            uri: h.uri.clone(),
            availability_zone: h.availability_zone.clone(),
            disk_gb: h.disk_gb,
            virt_type: h.virt_type.clone(),
            ..Default::default()
        };
        match compute.host_add(&ctx, new).await {
            Ok(host) => {
                tracing::info!(host = %host.name, uri = %host.uri, virt_type = %host.virt_type, "host added from the config file")
            }
            Err(e) => {
                tracing::warn!(host = %h.name, error = %e.detail(), "cannot add a host from the config file")
            }
        }
    }
    compute.start_jobs();
    let every = Duration::from_secs(cfg.compute.reconcile_secs.max(1));
    let compute = compute.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match compute.reconcile().await {
                Ok(r) if !r.changed.is_empty() => {
                    tracing::info!(changed = %r.changed.join(", "), "reconciler: power states synced")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e.detail(), "reconciler pass failed"),
            }
        }
    });
}

/// Keep the hosts' security-group filters in line with the database: at start (a
/// process killed mid-change), then every 30 s.
fn start_network(network: &Arc<ferrostack_network::Networking>) {
    let network = network.clone();
    tokio::spawn(async move {
        loop {
            match network.reconcile().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(filters = n, "network reconciler: filters redefined"),
                Err(e) => tracing::warn!(error = %e.detail(), "network reconciler pass failed"),
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
}

fn spawn_session_sweeper(store: crate::sessions::DbSessionStore) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.sweep().await {
                tracing::error!(error = %e, "sweeping expired sessions failed");
            }
        }
    });
}

/// Keep the event log bounded: events older than a week are dropped, hourly.
fn spawn_event_pruner(events: Arc<ferrostack_core::events::Events>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match events.prune(Duration::from_secs(7 * 24 * 3600)).await {
                Ok(n) if n > 0 => tracing::info!(events = n, "pruned old events"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e.detail(), "pruning events failed"),
            }
        }
    });
}

/// Take in revocations made by other processes sharing the database (every second),
/// and drop expired revocation events (every ten minutes), so the store stays bounded.
fn spawn_revocation_sync(identity: Arc<Identity>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            n += 1;
            if let Err(e) = identity.sync_revocations().await {
                tracing::warn!(error = %e.detail(), "reading other processes' revocations failed");
            }
            if n.is_multiple_of(600) {
                match identity.prune_revocations().await {
                    Ok(k) if k > 0 => {
                        tracing::info!(events = k, "pruned expired revocation events")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e.detail(), "pruning revocation events failed")
                    }
                }
            }
        }
    });
}

/// Pick up keys rotated by `ferrostack keys …` in another process.
fn spawn_key_reloader(identity: Arc<Identity>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = identity.reload_keys() {
                tracing::error!(error = %e, "reloading token and credential keys failed");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
