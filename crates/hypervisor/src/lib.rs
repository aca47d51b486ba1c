//! Everything that speaks libvirt, in one place. libvirt's C API blocks, so each host
//! connection lives on its own thread ([`Host`]): calls queue to it through a bounded
//! channel and answer through a oneshot, and no libvirt call ever runs on the async
//! runtime. The connection is opened once (the first `qemu:///system` connection takes
//! seconds while libvirt probes QEMU), kept, and opened again — with a log line — when
//! a call finds it broken.
//!
//! A host is a libvirt URI: `qemu:///system` (the real local host), `test:///<file>`
//! (a simulated host whose capacity the file gives: the scheduler's tests run many),
//! or a remote `qemu+ssh://` / `qemu+tls://` URI (the scale-out path; same code).

pub mod console;
pub mod net;
pub mod probe;
pub mod xml;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use virt::connect::Connect;
use virt::domain::{Domain, DomainState};
use virt::enumutil::Enum;
use virt::error::ErrorNumber;

pub use xml::{simulated_node_xml, DiskSpec, DomainSpec, NicSpec};

/// Why a hypervisor call failed.
#[derive(Debug, thiserror::Error)]
pub enum HvError {
    /// The host cannot be reached (connection refused, daemon down).
    #[error("cannot connect to {uri}: {message}")]
    Connect { uri: String, message: String },
    /// No domain with that UUID on the host.
    #[error("no domain {0} on the host")]
    NoDomain(String),
    /// libvirt refused or failed the call; its message.
    #[error("{0}")]
    Libvirt(String),
    /// The host's worker is gone or its queue is full.
    #[error("{0}")]
    Unavailable(String),
}

pub type HvResult<T> = Result<T, HvError>;

/// A domain's power state, as Nova names them (power_state codes 0,1,3,4,6,7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    NoState,
    Running,
    Paused,
    Shutdown,
    Crashed,
    Suspended,
}

impl PowerState {
    /// Nova's numeric `OS-EXT-STS:power_state`.
    pub fn code(self) -> i64 {
        match self {
            PowerState::NoState => 0,
            PowerState::Running => 1,
            PowerState::Paused => 3,
            PowerState::Shutdown => 4,
            PowerState::Crashed => 6,
            PowerState::Suspended => 7,
        }
    }

    fn of(d: &Domain) -> HvResult<PowerState> {
        let (state, _) = d.state().map_err(lv)?;
        Ok(match state {
            Enum::Known(DomainState::Running) | Enum::Known(DomainState::Blocked) => {
                PowerState::Running
            }
            Enum::Known(DomainState::Paused) => {
                // A managed save leaves the domain shut off, not paused; paused is paused.
                PowerState::Paused
            }
            Enum::Known(DomainState::Shutdown) | Enum::Known(DomainState::Shutoff) => {
                if d.has_managed_save(0).unwrap_or(false) {
                    PowerState::Suspended
                } else {
                    PowerState::Shutdown
                }
            }
            Enum::Known(DomainState::Crashed) => PowerState::Crashed,
            Enum::Known(DomainState::PMSuspended) => PowerState::Suspended,
            _ => PowerState::NoState,
        })
    }
}

/// What libvirt says about a host's capacity.
#[derive(Clone, Debug)]
pub struct NodeCapacity {
    pub vcpus: i64,
    pub memory_mib: i64,
    pub cpu_model: String,
    /// libvirt's driver name: `QEMU`, `Test`.
    pub hypervisor_type: String,
    /// The hypervisor's version as Nova reports it (major * 1,000,000 + minor * 1,000 + micro).
    pub hypervisor_version: i64,
    pub hostname: String,
}

/// One domain on a host, as listed.
#[derive(Clone, Debug)]
pub struct DomainInfo {
    pub uuid: String,
    pub name: String,
    pub state: PowerState,
}

fn lv(e: virt::error::Error) -> HvError {
    if matches!(e.code(), Enum::Known(ErrorNumber::NoDomain)) {
        HvError::NoDomain(e.message().to_string())
    } else {
        HvError::Libvirt(e.message().to_string())
    }
}

/// A call failed because the connection broke (not because libvirt said no).
fn is_connection_error(e: &virt::error::Error, conn: &Connect) -> bool {
    matches!(
        e.code(),
        Enum::Known(ErrorNumber::SystemError)
            | Enum::Known(ErrorNumber::NoConnect)
            | Enum::Known(ErrorNumber::InternalError)
    ) && !conn.is_alive().unwrap_or(false)
}

type Call = Box<dyn FnOnce(&mut Worker) + Send>;

/// How many calls may wait for one host's thread before callers wait to queue.
const QUEUE: usize = 256;

/// One host's connection and the thread that owns it.
pub struct Host {
    uri: String,
    tx: mpsc::Sender<Call>,
}

struct Worker {
    uri: String,
    conn: Option<Connect>,
}

impl Worker {
    fn connect(&mut self) -> HvResult<&Connect> {
        if self.conn.is_none() {
            let started = std::time::Instant::now();
            let c = Connect::open(Some(&self.uri)).map_err(|e| HvError::Connect {
                uri: self.uri.clone(),
                message: e.message().to_string(),
            })?;
            tracing::info!(uri = %self.uri, ms = started.elapsed().as_millis() as u64, "connected to libvirt");
            self.conn = Some(c);
        }
        Ok(self.conn.as_ref().expect("connection just opened"))
    }

    /// Run `f` on the connection; on a broken connection, reconnect once and retry.
    fn with<T>(&mut self, f: impl Fn(&Connect) -> Result<T, virt::error::Error>) -> HvResult<T> {
        let first = {
            let c = self.connect()?;
            match f(c) {
                Ok(v) => return Ok(v),
                Err(e) if is_connection_error(&e, c) => e,
                Err(e) => return Err(lv(e)),
            }
        };
        tracing::warn!(uri = %self.uri, error = %first.message(), "libvirt connection lost; reconnecting");
        // Closing a broken connection can fail, and the binding panics when it does:
        // let it go without closing.
        if let Some(old) = self.conn.take() {
            std::mem::forget(old);
        }
        let c = self.connect()?;
        f(c).map_err(lv)
    }
}

impl Host {
    fn spawn(uri: &str) -> Host {
        let (tx, mut rx) = mpsc::channel::<Call>(QUEUE);
        let mut worker = Worker {
            uri: uri.to_string(),
            conn: None,
        };
        let name = format!("libvirt {uri}");
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            while let Some(call) = rx.blocking_recv() {
                call(&mut worker);
            }
        });
        if let Err(e) = spawned {
            tracing::error!(uri, error = %e, "cannot start a libvirt worker thread");
        }
        Host {
            uri: uri.to_string(),
            tx,
        }
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Worker) -> HvResult<T> + Send + 'static,
    ) -> HvResult<T> {
        let (done, answer) = oneshot::channel();
        let call: Call = Box::new(move |w| {
            let _ = done.send(f(w));
        });
        self.tx
            .send(call)
            .await
            .map_err(|_| HvError::Unavailable(format!("the worker of {} stopped", self.uri)))?;
        answer
            .await
            .map_err(|_| HvError::Unavailable(format!("the worker of {} stopped", self.uri)))?
    }

    /// The host's CPUs, memory and hypervisor, from libvirt.
    pub async fn capacity(&self) -> HvResult<NodeCapacity> {
        self.call(|w| {
            w.with(|c| {
                let n = c.node_info()?;
                let ty = c.driver_type()?;
                let v = c.hyp_version().unwrap_or(0) as i64;
                let hostname = c.hostname().unwrap_or_default();
                Ok(NodeCapacity {
                    vcpus: n.cpus as i64,
                    memory_mib: (n.memory / 1024) as i64,
                    cpu_model: n.model,
                    hypervisor_type: ty,
                    hypervisor_version: v,
                    hostname,
                })
            })
        })
        .await
    }

    /// Define (or redefine) the domain from `xml` and start it unless it runs.
    pub async fn define_and_start(&self, xml: String) -> HvResult<()> {
        self.call(move |w| {
            w.with(|c| {
                let d = c.define_domain_xml(&xml)?;
                if !d.is_active()? {
                    d.create()?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Define (or redefine) the domain without starting it.
    pub async fn define(&self, xml: String) -> HvResult<()> {
        self.call(move |w| w.with(|c| c.define_domain_xml(&xml).map(|_| ())))
            .await
    }

    async fn on_domain<T: Send + 'static>(
        &self,
        uuid: &str,
        f: impl Fn(&Domain) -> Result<T, virt::error::Error> + Send + 'static,
    ) -> HvResult<T> {
        let uuid = uuid.to_string();
        self.call(move |w| w.with(|c| f(&c.lookup_domain_by_uuid_string(&uuid)?)))
            .await
    }

    /// Plug a NIC into the domain: live (when it runs) and in its definition, so it
    /// stays across restarts.
    pub async fn nic_attach(&self, uuid: &str, nic: &NicSpec) -> HvResult<()> {
        let xml = nic.to_xml();
        self.on_domain(uuid, move |d| {
            let flags = if d.is_active()? { 1 | 2 } else { 2 };
            d.attach_device_flags(&xml, flags)
        })
        .await
    }

    /// Unplug the NIC with `mac` from the domain (live and from its definition); one
    /// that is not there is fine.
    pub async fn nic_detach(&self, uuid: &str, nic: &NicSpec) -> HvResult<()> {
        let xml = nic.to_xml();
        let mac = nic.mac.to_ascii_lowercase();
        self.on_domain(uuid, move |d| {
            let has = |flags: u32| -> Result<bool, virt::error::Error> {
                Ok(d.xml_desc(flags)?
                    .to_ascii_lowercase()
                    .contains(&format!("<mac address='{mac}'/>")))
            };
            // 2: the inactive (persistent) definition.
            let mut flags = 0;
            if d.is_active()? && has(0)? {
                flags |= 1;
            }
            if has(2)? {
                flags |= 2;
            }
            if flags == 0 {
                return Ok(());
            }
            d.detach_device_flags(&xml, flags)
        })
        .await
    }

    /// Whether the running domain still has a NIC with `mac` (a live detach completes
    /// only once the guest has released the device).
    pub async fn nic_present(&self, uuid: &str, mac: &str) -> HvResult<bool> {
        let mac = mac.to_ascii_lowercase();
        self.on_domain(uuid, move |d| {
            Ok(d.is_active()?
                && d.xml_desc(0)?
                    .to_ascii_lowercase()
                    .contains(&format!("<mac address='{mac}'/>")))
        })
        .await
    }

    /// The domain's power state; `None` when the host has no such domain.
    pub async fn state(&self, uuid: &str) -> HvResult<Option<PowerState>> {
        let uuid = uuid.to_string();
        self.call(move |w| {
            let found = w.with(|c| match c.lookup_domain_by_uuid_string(&uuid) {
                Ok(d) => Ok(Some(d)),
                Err(e) if matches!(e.code(), Enum::Known(ErrorNumber::NoDomain)) => Ok(None),
                Err(e) => Err(e),
            })?;
            match found {
                Some(d) => PowerState::of(&d).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    /// Start a defined domain (a no-op when it runs). A managed save resumes.
    pub async fn start(&self, uuid: &str) -> HvResult<()> {
        self.on_domain(uuid, |d| {
            if !d.is_active()? {
                d.create()?;
            }
            Ok(())
        })
        .await
    }

    /// Ask the guest to shut down (ACPI).
    pub async fn shutdown(&self, uuid: &str) -> HvResult<()> {
        self.on_domain(uuid, |d| {
            if d.is_active()? {
                d.shutdown()?;
            }
            Ok(())
        })
        .await
    }

    /// Pull the plug (a no-op when it is off).
    pub async fn destroy(&self, uuid: &str) -> HvResult<()> {
        self.on_domain(uuid, |d| {
            if d.is_active()? {
                d.destroy()?;
            }
            Ok(())
        })
        .await
    }

    /// Soft (guest-cooperative) or hard (reset) reboot.
    pub async fn reboot(&self, uuid: &str, hard: bool) -> HvResult<()> {
        self.on_domain(uuid, move |d| if hard { d.reset() } else { d.reboot(0) })
            .await
    }

    pub async fn pause(&self, uuid: &str) -> HvResult<()> {
        self.on_domain(uuid, |d| d.suspend()).await
    }

    pub async fn unpause(&self, uuid: &str) -> HvResult<()> {
        self.on_domain(uuid, |d| d.resume()).await
    }

    /// Save the guest's memory to disk and stop it (Nova's suspend).
    pub async fn suspend(&self, uuid: &str) -> HvResult<()> {
        self.on_domain(uuid, |d| d.managed_save(0)).await
    }

    /// Stop (if running) and remove the domain with its managed save; a missing domain
    /// is not an error (delete is idempotent).
    pub async fn remove(&self, uuid: &str) -> HvResult<()> {
        match self
            .on_domain(uuid, |d| {
                if d.is_active()? {
                    d.destroy()?;
                }
                // VIR_DOMAIN_UNDEFINE_MANAGED_SAVE (BIOS guests have no NVRAM)
                d.undefine_flags(1)
            })
            .await
        {
            Ok(()) | Err(HvError::NoDomain(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Live-migrate the running domain to the libvirt at `dest_uri`, peer to peer (this
    /// host's libvirtd connects to the destination itself), defining it there and
    /// undefining it here. The disks must be on storage both hosts see at the same path.
    pub async fn migrate_live(&self, uuid: &str, dest_uri: &str) -> HvResult<()> {
        // VIR_MIGRATE_LIVE | PEER2PEER | PERSIST_DEST | UNDEFINE_SOURCE
        const FLAGS: u32 = 1 | 2 | 8 | 16;
        let dest = dest_uri.to_string();
        self.on_domain(uuid, move |d| d.migrate_to_uri(&dest, FLAGS, None, 0))
            .await
    }

    /// The domain's current XML.
    pub async fn xml(&self, uuid: &str) -> HvResult<String> {
        self.on_domain(uuid, |d| d.xml_desc(0)).await
    }

    /// Every domain on the host.
    pub async fn domains(&self) -> HvResult<Vec<DomainInfo>> {
        self.call(|w| {
            let all = w.with(|c| c.list_all_domains(0))?;
            all.iter()
                .map(|d| {
                    Ok(DomainInfo {
                        uuid: d.uuid_string().map_err(lv)?,
                        name: d.name().map_err(lv)?,
                        state: PowerState::of(d)?,
                    })
                })
                .collect()
        })
        .await
    }
}

/// The connections of this process, one per host URI.
#[derive(Default)]
pub struct Hypervisor {
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

impl Hypervisor {
    pub fn new() -> Arc<Hypervisor> {
        // Before any connection: the event loop the serial console's streams need.
        console::start_event_loop();
        // libvirt prints every error to stderr by default; ours are returned and logged.
        virt::error::clear_error_callback();
        Arc::new(Hypervisor::default())
    }

    /// The host at `uri` (its thread starts on first use, and connects on first call).
    pub fn host(&self, uri: &str) -> Arc<Host> {
        let mut hosts = match self.hosts.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        hosts
            .entry(uri.to_string())
            .or_insert_with(|| Arc::new(Host::spawn(uri)))
            .clone()
    }

    /// A simulated host is libvirt's test driver: no QEMU, no files, instant.
    pub fn is_simulated(uri: &str) -> bool {
        uri.starts_with("test://")
    }

    /// A host on this machine (its disks are files here).
    pub fn is_local(uri: &str) -> bool {
        uri.starts_with("qemu:///")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(vcpus: u32, mib: u64) -> (tempfile_free::Dir, String) {
        let dir = tempfile_free::Dir::new();
        let path = dir.0.join("host.xml");
        std::fs::write(&path, simulated_node_xml(vcpus, mib)).unwrap();
        let uri = format!("test://{}", path.display());
        (dir, uri)
    }

    /// A temporary directory without a dev-dependency.
    mod tempfile_free {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "fs-hv-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[tokio::test]
    async fn a_simulated_host_reports_its_file_capacity_and_runs_domains() {
        let (_dir, uri) = sim(12, 24576);
        let hv = Hypervisor::new();
        let host = hv.host(&uri);
        let cap = host.capacity().await.unwrap();
        assert_eq!((cap.vcpus, cap.memory_mib), (12, 24576));
        assert_eq!(cap.hypervisor_type, "TEST");

        let uuid = "0b5c7e5e-94a4-4b8e-9f0e-5f5d1c7b2a11";
        let spec = DomainSpec::new("fs-test", uuid, 2, 1024, "test");
        host.define_and_start(spec.to_xml()).await.unwrap();
        assert_eq!(host.state(uuid).await.unwrap(), Some(PowerState::Running));
        host.destroy(uuid).await.unwrap();
        assert_eq!(host.state(uuid).await.unwrap(), Some(PowerState::Shutdown));
        host.start(uuid).await.unwrap();
        host.pause(uuid).await.unwrap();
        assert_eq!(host.state(uuid).await.unwrap(), Some(PowerState::Paused));
        host.unpause(uuid).await.unwrap();
        let listed = host.domains().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].uuid, uuid);
        host.remove(uuid).await.unwrap();
        assert_eq!(host.state(uuid).await.unwrap(), None);
        // Removing again is fine (delete is idempotent).
        host.remove(uuid).await.unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_host_says_so() {
        let hv = Hypervisor::new();
        let err = hv
            .host("test:///nonexistent/dir/host.xml")
            .capacity()
            .await
            .unwrap_err();
        assert!(matches!(err, HvError::Connect { .. }), "{err}");
        assert!(err.to_string().contains("nonexistent"), "{err}");
    }
}
