//! What the compute service's tests share: a platform, an image service with one
//! active image, simulated hosts (libvirt's test driver, each with its own capacity
//! file) and helpers that wait — boundedly — for servers to settle.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use ferrostack_compute::{Compute, ComputeConfig, NewFlavor, NewHost, NewServer};
use ferrostack_core::{Ctx, Platform};
use ferrostack_image::{ImageConfig, Images, NewImage};
use ferrostack_types::compute::{Host, Server};

pub fn ctx(project: &str, role: &str) -> Ctx {
    Ctx::for_test(project, role)
}

pub fn admin() -> Ctx {
    Ctx::for_test("admin-project", "admin")
}

pub struct T {
    pub compute: Arc<Compute>,
    pub images: Arc<Images>,
    pub platform: Platform,
    pub dir: tempfile::TempDir,
    /// An active raw image every project may boot.
    pub image: String,
}

pub async fn setup() -> T {
    setup_with(|_| {}).await
}

pub async fn setup_with(f: impl FnOnce(&mut ComputeConfig)) -> T {
    open(f, true).await
}

/// A compute service whose job workers never start: its jobs stay as a process that
/// died would leave them.
pub async fn setup_without_jobs(f: impl FnOnce(&mut ComputeConfig)) -> T {
    open(f, false).await
}

async fn open(f: impl FnOnce(&mut ComputeConfig), workers: bool) -> T {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let images = Images::open(&platform, ImageConfig::new(dir.path().join("images")))
        .await
        .unwrap();
    let mut cfg = ComputeConfig::new(dir.path().join("compute"));
    cfg.shutdown_timeout = Duration::from_secs(5);
    f(&mut cfg);
    let compute = Compute::open(&platform, images.clone(), cfg).await.unwrap();
    if workers {
        compute.start_jobs();
    }
    let a = admin();
    let img = images
        .image_create(
            &a,
            NewImage {
                name: Some("test".into()),
                disk_format: Some("raw".into()),
                container_format: Some("bare".into()),
                visibility: Some("public".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let data = vec![0u8; 4096];
    let body: ferrostack_image::UploadBody = Box::pin(futures_util::stream::iter(vec![Ok(
        bytes::Bytes::from(data),
    )]));
    images.image_upload(&a, &img.id, body).await.unwrap();
    T {
        compute,
        images,
        platform,
        dir,
        image: img.id,
    }
}

impl T {
    /// A simulated host with `vcpus` CPUs and `mib` MiB, in zone `az`.
    pub async fn sim_host(&self, name: &str, vcpus: u32, mib: u64, az: &str) -> Host {
        let path = self.dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, ferrostack_compute::simulated_node_xml(vcpus, mib)).unwrap();
        self.compute
            .host_add(
                &admin(),
                NewHost {
                    name: name.into(),
                    uri: format!("test://{}", path.display()),
                    availability_zone: Some(az.into()),
                    disk_gb: Some(1000),
                    cpu_ratio: Some(1.0),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }

    pub async fn flavor(&self, name: &str, vcpus: i64, ram: i64, disk: i64) -> String {
        self.compute
            .flavor_create(
                &admin(),
                NewFlavor {
                    name: name.into(),
                    vcpus,
                    ram,
                    disk,
                    rxtx_factor: 1.0,
                    is_public: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .id
    }

    pub fn new_server(&self, name: &str, flavor: &str) -> NewServer {
        NewServer {
            name: name.into(),
            image_id: Some(self.image.clone()),
            flavor_id: flavor.into(),
            min_count: 1,
            max_count: 1,
            ..Default::default()
        }
    }

    pub async fn host(&self, name: &str) -> Host {
        self.compute.host_get(&admin(), name).await.unwrap()
    }
}

/// Wait (at most 20 s) until the server's status is not `from`; the server as it is then.
pub async fn settle(c: &Compute, ctx: &Ctx, id: &str, from: &[&str]) -> Server {
    for _ in 0..400 {
        let s = c.server_get(ctx, id).await.unwrap();
        if !from.contains(&s.status.as_str()) && s.task_state.is_none() {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server {id} did not settle");
}

/// Wait (at most 20 s) until the server is gone.
pub async fn gone(c: &Compute, ctx: &Ctx, id: &str) {
    for _ in 0..400 {
        if c.server_get(ctx, id).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server {id} was not deleted");
}
