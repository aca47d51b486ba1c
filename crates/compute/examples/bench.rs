//! Compute benchmarks (scripts/bench-compute.sh runs this; figures go to
//! docs/benchmarks.md):
//!   control  create→ACTIVE of one server at a time on a simulated host (p50, p99),
//!            timed from the request to the ACTIVE event it pushes;
//!   scale    1,000 servers over 20 simulated hosts from 10 parallel clients: total time
//!            until every one is ACTIVE, and what each create request costs;
//!   qemu     the test ISO on this machine's QEMU: create→running through the service
//!            against `virsh define` + `virsh start` of the same domain XML.
//! Usage: bench [control N | scale N HOSTS | qemu ISO ROUNDS]...

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrostack_compute::{Compute, ComputeConfig, NewFlavor, NewHost, NewServer};
use ferrostack_core::{Ctx, Platform};
use ferrostack_image::{ImageConfig, Images, NewImage};

fn admin() -> Ctx {
    Ctx::for_test("bench-project", "admin")
}

struct Rig {
    compute: Arc<Compute>,
    images: Arc<Images>,
    platform: Platform,
    dir: tempfile::TempDir,
}

async fn rig(dir_in: Option<&std::path::Path>) -> Rig {
    let platform = Platform::for_tests().await.expect("platform");
    let dir = match dir_in {
        Some(d) => tempfile::tempdir_in(d).expect("tempdir"),
        None => tempfile::tempdir().expect("tempdir"),
    };
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).expect("chmod");
    let images = Images::open(&platform, ImageConfig::new(dir.path().join("images")))
        .await
        .expect("images");
    let mut cfg = ComputeConfig::new(dir.path().join("compute"));
    cfg.shutdown_timeout = Duration::from_secs(1);
    let compute = Compute::open(&platform, images.clone(), cfg)
        .await
        .expect("compute");
    compute.start_jobs();
    let a = admin();
    let mut q = std::collections::BTreeMap::new();
    for k in ["instances", "cores", "ram"] {
        q.insert(k.to_string(), -1);
    }
    compute
        .quota_update(&a, "bench-project", q, false)
        .await
        .expect("quota");
    Rig {
        compute,
        images,
        platform,
        dir,
    }
}

async fn image(r: &Rig, name: &str, format: &str, data: Vec<u8>) -> String {
    let a = admin();
    let img = r
        .images
        .image_create(
            &a,
            NewImage {
                name: Some(name.into()),
                disk_format: Some(format.into()),
                container_format: Some("bare".into()),
                visibility: Some("public".into()),
                ..Default::default()
            },
        )
        .await
        .expect("image");
    let chunks: Vec<Result<bytes::Bytes, String>> = data
        .chunks(1 << 20)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    r.images
        .image_upload(&a, &img.id, Box::pin(futures_util::stream::iter(chunks)))
        .await
        .expect("upload");
    img.id
}

async fn sim_hosts(r: &Rig, n: usize) {
    for i in 0..n {
        let path = r.dir.path().join(format!("sim-{i}.xml"));
        std::fs::write(&path, ferrostack_compute::simulated_node_xml(64, 262_144))
            .expect("host file");
        r.compute
            .host_add(
                &admin(),
                NewHost {
                    name: format!("sim-{i:02}"),
                    uri: format!("test://{}", path.display()),
                    disk_gb: Some(100_000),
                    ..Default::default()
                },
            )
            .await
            .expect("host");
    }
}

async fn flavor(r: &Rig, ram: i64) -> String {
    r.compute
        .flavor_create(
            &admin(),
            NewFlavor {
                name: format!("bench-{ram}"),
                vcpus: 1,
                ram,
                disk: 1,
                rxtx_factor: 1.0,
                is_public: true,
                ..Default::default()
            },
        )
        .await
        .expect("flavor")
        .id
}

fn new_server(name: &str, image: &str, flavor: &str) -> NewServer {
    NewServer {
        name: name.into(),
        image_id: Some(image.into()),
        flavor_id: flavor.into(),
        min_count: 1,
        max_count: 1,
        ..Default::default()
    }
}

/// Wait for the ACTIVE event of server `id`.
async fn active(sub: &mut ferrostack_core::events::Subscription, id: &str) {
    loop {
        let e = sub.next().await.expect("event");
        if e.resource_id == id && e.status == "ACTIVE" {
            return;
        }
        if e.resource_id == id && e.status == "ERROR" {
            panic!("server {id} failed: {}", e.message);
        }
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn control(n: usize) {
    let r = rig(None).await;
    sim_hosts(&r, 1).await;
    let img = image(&r, "bench", "raw", vec![0u8; 4096]).await;
    let f = flavor(&r, 64).await;
    let a = admin();
    let mut times = Vec::new();
    for i in 0..n {
        let mut sub = r
            .platform
            .events
            .subscribe(&a, None, true)
            .expect("subscribe");
        let started = Instant::now();
        let s = r
            .compute
            .server_create(&a, new_server(&format!("c{i}"), &img, &f))
            .await
            .expect("create")
            .remove(0);
        active(&mut sub, &s.id).await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "control: {n} creates, create→ACTIVE p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(&times, 0.5),
        pct(&times, 0.99),
        times[times.len() - 1]
    );
}

async fn scale(n: usize, hosts: usize) {
    let r = Arc::new(rig(None).await);
    sim_hosts(&r, hosts).await;
    let img = image(&r, "bench", "raw", vec![0u8; 4096]).await;
    let f = flavor(&r, 64).await;
    let started = Instant::now();
    let clients = 10;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let r = r.clone();
        let (img, f) = (img.clone(), f.clone());
        tasks.push(tokio::spawn(async move {
            let mut spent = Duration::ZERO;
            for i in 0..n / clients {
                let t = Instant::now();
                r.compute
                    .server_create(&admin(), new_server(&format!("s{c}-{i}"), &img, &f))
                    .await
                    .expect("create");
                spent += t.elapsed();
            }
            spent
        }));
    }
    let mut request_time = Duration::ZERO;
    for t in tasks {
        request_time += t.await.expect("client");
    }
    let accepted = started.elapsed();
    let q = ferrostack_compute::ServerQuery {
        status: Some("BUILD".into()),
        limit: Some(1),
        ..Default::default()
    };
    loop {
        let (building, _) = r.compute.server_list(&admin(), &q).await.expect("list");
        if building.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = started.elapsed();
    let hosts_used: i64 = r
        .compute
        .host_list(&admin())
        .await
        .expect("hosts")
        .iter()
        .map(|h| h.running_vms)
        .sum();
    assert_eq!(hosts_used as usize, n, "every server placed");
    println!(
        "scale: {n} servers over {hosts} hosts from {clients} clients: all ACTIVE in {:.1} s (accepted in {:.1} s); {:.1} ms per create request",
        total.as_secs_f64(),
        accepted.as_secs_f64(),
        request_time.as_secs_f64() * 1000.0 / n as f64
    );
}

fn virsh(args: &[&str]) -> String {
    let o = std::process::Command::new("virsh")
        .arg("-c")
        .arg("qemu:///system")
        .args(args)
        .output()
        .expect("virsh");
    assert!(
        o.status.success(),
        "virsh {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

async fn qemu(iso: &str, rounds: usize) {
    let r = rig(Some(std::path::Path::new("/var/tmp"))).await;
    r.compute
        .host_add(
            &admin(),
            NewHost {
                name: "local".into(),
                uri: "qemu:///system".into(),
                ..Default::default()
            },
        )
        .await
        .expect("local host");
    let img = image(
        &r,
        "ferrostack-test",
        "iso",
        std::fs::read(iso).expect("iso"),
    )
    .await;
    let f = flavor(&r, 256).await;
    let a = admin();
    let (mut ours, mut bare) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let mut sub = r
            .platform
            .events
            .subscribe(&a, None, true)
            .expect("subscribe");
        let started = Instant::now();
        let s = r
            .compute
            .server_create(&a, new_server(&format!("q{i}"), &img, &f))
            .await
            .expect("create")
            .remove(0);
        active(&mut sub, &s.id).await;
        ours.push(started.elapsed().as_secs_f64() * 1000.0);
        // The same XML, started bare: a new name and uuid, its own copy of the disk.
        let host = r.compute.host_get(&a, "local").await.expect("host");
        let xml = r
            .compute
            .hypervisor()
            .host(&host.uri)
            .xml(&s.id)
            .await
            .expect("xml");
        let uuid = format!("00000000-0000-4000-8000-{:012}", i);
        let disk = r.dir.path().join(format!("bare-{i}.qcow2"));
        let made = std::process::Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&disk)
            .arg("1G")
            .status()
            .expect("qemu-img");
        assert!(made.success());
        let instance_disk = r
            .compute
            .config()
            .dir
            .join("instances")
            .join(&s.id)
            .join("disk");
        // The disk path first: it holds the server's id too.
        let bare_xml = xml
            .replace(
                &instance_disk.display().to_string(),
                &disk.display().to_string(),
            )
            .replace(&s.id, &uuid);
        let bare_xml: String = bare_xml
            .lines()
            .filter(|l| !l.contains("<log file="))
            .collect::<Vec<_>>()
            .join("\n");
        let path = r.dir.path().join(format!("bare-{i}.xml"));
        std::fs::write(&path, bare_xml).expect("xml file");
        r.compute.server_delete(&a, &s.id).await.expect("delete");
        while r.compute.server_get(&a, &s.id).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let t = Instant::now();
        virsh(&["define", &path.display().to_string()]);
        virsh(&["start", &format!("fs-{uuid}")]);
        while virsh(&["domstate", &format!("fs-{uuid}")]) != "running" {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        bare.push(t.elapsed().as_secs_f64() * 1000.0);
        virsh(&["destroy", &format!("fs-{uuid}")]);
        virsh(&["undefine", &format!("fs-{uuid}")]);
    }
    ours.sort_by(|a, b| a.total_cmp(b));
    bare.sort_by(|a, b| a.total_cmp(b));
    let (o, b) = (pct(&ours, 0.5), pct(&bare, 0.5));
    println!("qemu: {rounds} rounds, create→running median {o:.0} ms through Ferrostack against {b:.0} ms for virsh define+start of the same XML ({:.2}×)", o / b);
    tokio::time::sleep(Duration::from_secs(2)).await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let num = |k: usize, d: usize| args.get(i + k).and_then(|v| v.parse().ok()).unwrap_or(d);
        match args[i].as_str() {
            "control" => {
                control(num(1, 200)).await;
                i += 2;
            }
            "scale" => {
                scale(num(1, 1000), num(2, 20)).await;
                i += 3;
            }
            "qemu" => {
                qemu(&args[i + 1], num(2, 5)).await;
                i += 3;
            }
            other => {
                panic!("unknown benchmark {other}: control N | scale N HOSTS | qemu ISO ROUNDS")
            }
        }
    }
}
