//! What an attacker of the image service tries, each refused: parallel creates and
//! uploads past the quotas, a deleted image's id taken again, crafted VMDKs, qemu-img
//! runs without limits, and reading who did what to another project's image.

mod common;

use common::{bytes, ctx, new, qemu_img, setup};
use ferrostack_core::Platform;
use ferrostack_image::{ImageConfig, ImageQuery, Images, NewImage, Patch};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn fifty_parallel_creates_against_a_quota_of_ten_leave_exactly_ten() {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ImageConfig::new(dir.path().join("images"));
    cfg.quota_images = 10;
    let images = Images::open(&platform, cfg).await.unwrap();
    let a = ctx("proj-a", "member");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (images, a) = (images.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            images.image_create(&a, new(&format!("i{i}"), "raw")).await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.status(), 413, "{}", e.detail());
                assert_eq!(e.to_string(), "Quota exceeded for images: 10 of 10 used.");
                refused += 1;
            }
        }
    }
    assert_eq!((ok, refused), (10, 40));
    let (all, _) = images
        .image_list(
            &a,
            ImageQuery {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.iter().filter(|i| i.owner == "proj-a").count(), 10);
    // A delete gives one back.
    images.image_delete(&a, &all[0].id).await.unwrap();
    images.image_create(&a, new("again", "raw")).await.unwrap();
    assert_eq!(images.project_usage(&a).await.unwrap().images, 10);
}

#[tokio::test]
async fn a_deleted_images_id_cannot_be_taken_again() {
    let t = setup().await;
    let admin = ctx("admin-proj", "admin");
    let mallory = ctx("proj-m", "member");
    let trusted = NewImage {
        visibility: Some("public".into()),
        ..new("debian-12", "raw")
    };
    let img = t.images.image_create(&admin, trusted).await.unwrap();
    t.images.image_delete(&admin, &img.id).await.unwrap();
    // Another tenant recreates the well-known id as a community image (OSSN-0075).
    let copy = NewImage {
        id: Some(img.id.clone()),
        visibility: Some("community".into()),
        ..new("debian-12", "raw")
    };
    let e = t.images.image_create(&mallory, copy).await.unwrap_err();
    assert_eq!(e.status(), 409);
    assert!(e.to_string().contains("ids are never reused"), "{e}");
    // Nor can its first owner.
    let e = t
        .images
        .image_create(
            &admin,
            NewImage {
                id: Some(img.id.clone()),
                ..new("x", "raw")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409);
}

#[tokio::test]
async fn an_images_timeline_shows_what_happened_by_whom_under_which_request() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let img = t.images.image_create(&a, new("blob", "raw")).await.unwrap();
    t.images
        .image_upload(&a, &img.id, bytes(vec![7u8; 100_000]))
        .await
        .unwrap();
    t.images
        .image_update(
            &a,
            &img.id,
            vec![Patch::Replace("name".into(), json!("renamed"))],
        )
        .await
        .unwrap();
    let evs = t.images.image_events(&a, &img.id).await.unwrap();
    let seen: Vec<(&str, &str)> = evs
        .iter()
        .map(|e| (e.action.as_str(), e.status.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("created", "queued"),
            ("saving", "saving"),
            ("active", "active"),
            ("updated", "active")
        ]
    );
    assert!(evs
        .iter()
        .all(|e| e.user_id.as_deref() == Some("user-of-proj-a")));
    assert!(evs
        .iter()
        .all(|e| e.project_id.as_deref() == Some("proj-a")));
    // Another project sees neither the image nor its timeline.
    let b = ctx("proj-b", "member");
    assert_eq!(
        t.images
            .image_events(&b, &img.id)
            .await
            .unwrap_err()
            .status(),
        404
    );
}

/// A genuine monolithicSparse VMDK made by qemu-img, with its embedded descriptor
/// (sector 1 on) rewritten to `desc` and its header's fields patched by `patch`.
fn crafted_vmdk(w: &std::path::Path, desc: Option<&str>, patch: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut data = std::fs::read(w.join("genuine.vmdk")).unwrap();
    if let Some(d) = desc {
        let start = 512;
        let size = 20 * 512;
        let mut region = d.as_bytes().to_vec();
        region.resize(size, 0);
        data[start..start + size].copy_from_slice(&region);
    }
    patch(&mut data);
    data
}

#[tokio::test]
async fn vmdk_descriptors_are_read_as_qemu_reads_them_and_crafted_ones_refused() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    qemu_img(
        &[
            "create",
            "-f",
            "vmdk",
            "-o",
            "subformat=monolithicSparse",
            "genuine.vmdk",
            "1M",
        ],
        w,
    );
    let fifo = w.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let genuine = std::fs::read(w.join("genuine.vmdk")).unwrap();
    let text = String::from_utf8_lossy(&genuine[512..512 + 20 * 512]).to_string();
    assert!(
        text.contains("RW 2048 SPARSE \"genuine.vmdk\""),
        "qemu-img wrote {text}"
    );
    let head = text
        .split("# Extent description")
        .next()
        .unwrap()
        .to_string();
    let with_extent = |line: &str| format!("{head}# Extent description\n{line}\n");
    let le64 =
        |data: &mut Vec<u8>, at: usize, v: u64| data[at..at + 8].copy_from_slice(&v.to_le_bytes());
    let fifo_line = format!("RW 2048 FLAT \"{}\" 0", fifo.display());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("tab-separated extent to /etc/passwd", crafted_vmdk(w, Some(&with_extent("RW\t2048\tFLAT\t\"/etc/passwd\"\t0")), |_| {}), "extent points at a file"),
        ("extent to a FIFO", crafted_vmdk(w, Some(&with_extent(&fifo_line)), |_| {}), "extent points at a file"),
        ("extent to a json: target", crafted_vmdk(w, Some(&with_extent("RW 2048 SPARSE \"json:{\\\"driver\\\":\\\"file\\\",\\\"filename\\\":\\\"/etc/shadow\\\"}\"")), |_| {}), "extent points at a file"),
        ("extent to an nbd: target", crafted_vmdk(w, Some(&with_extent("RW 2048 FLAT \"nbd://127.0.0.1:10809\" 0")), |_| {}), "extent points at a file"),
        ("a parent file", crafted_vmdk(w, Some(&format!("{head}parentFileNameHint=\"/etc/passwd\"\n")), |_| {}), "parent file"),
        ("zero desc_size", crafted_vmdk(w, None, |d| le64(d, 36, 0)), "descriptor size (0 sectors)"),
        ("huge desc_size", crafted_vmdk(w, None, |d| le64(d, 36, 1 << 20)), "is 0 or over 2048"),
        ("capacity 0", crafted_vmdk(w, None, |d| le64(d, 12, 0)), "capacity (0 sectors)"),
        ("a 40-byte KDMV", genuine[..40].to_vec(), "cut short"),
    ];
    for (what, data, why) in cases {
        let img = t.images.image_create(&a, new(what, "vmdk")).await.unwrap();
        let e = t
            .images
            .image_upload(&a, &img.id, bytes(data))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 400, "{what}: {}", e.detail());
        assert!(e.to_string().contains(why), "{what}: {e}");
        assert!(
            !e.to_string().contains(w.to_str().unwrap()) || what == "extent to a FIFO",
            "{what}: no host path from qemu-img: {e}"
        );
    }
    // The genuine one is accepted, with its virtual size.
    let img = t
        .images
        .image_create(&a, new("genuine", "vmdk"))
        .await
        .unwrap();
    let done = t
        .images
        .image_upload(&a, &img.id, bytes(genuine))
        .await
        .unwrap();
    assert_eq!(done.status, "active");
    assert_eq!(done.virtual_size, Some(1 << 20));
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_parallel_uploads_against_a_quota_of_three_cannot_all_pass() {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ImageConfig::new(dir.path().join("images"));
    let one = 300_000usize;
    cfg.quota_bytes = 3 * one as i64 + 1000;
    let images = Images::open(&platform, cfg).await.unwrap();
    let a = ctx("proj-a", "member");
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            images
                .image_create(&a, new(&format!("u{i}"), "raw"))
                .await
                .unwrap()
                .id,
        );
    }
    let mut tasks = Vec::new();
    for id in ids {
        let (images, a) = (images.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            images.image_upload(&a, &id, bytes(vec![3u8; one])).await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.status(), 413, "{}", e.detail());
                assert!(e.to_string().contains("image storage quota"), "{e}");
                refused += 1;
            }
        }
    }
    assert!(ok <= 3, "{ok} uploads passed a quota of 3");
    assert_eq!(ok + refused, 10);
    // What is counted is what is stored: nothing is left reserved by the refused ones.
    let u = images.project_usage(&a).await.unwrap();
    assert_eq!(u.bytes, ok * one as i64);
    // Deleting gives the bytes back; a new upload then fits.
    let (all, _) = images
        .image_list(
            &a,
            ImageQuery {
                status: Some("active".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for img in &all {
        images.image_delete(&a, &img.id).await.unwrap();
    }
    assert_eq!(images.project_usage(&a).await.unwrap().bytes, 0);
    let img = images.image_create(&a, new("after", "raw")).await.unwrap();
    images
        .image_upload(&a, &img.id, bytes(vec![1u8; 3 * one]))
        .await
        .unwrap();
}

#[tokio::test]
async fn qemu_img_runs_under_memory_and_time_limits() {
    // The same service with qemu-img allowed 16 MiB of address space: it cannot even
    // start, and the upload is refused with our words (no 500, no qemu-img text).
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ImageConfig::new(dir.path().join("images"));
    cfg.info_limits.address_space = 16 << 20;
    let images = Images::open(&platform, cfg).await.unwrap();
    let a = ctx("proj-a", "member");
    let work = tempfile::tempdir().unwrap();
    qemu_img(&["create", "-f", "qcow2", "disk.qcow2", "1M"], work.path());
    let img = images
        .image_create(&a, new("limited", "qcow2"))
        .await
        .unwrap();
    let data = std::fs::read(work.path().join("disk.qcow2")).unwrap();
    let e = images
        .image_upload(&a, &img.id, bytes(data.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400, "{}", e.detail());
    assert_eq!(e.to_string(), "The image data is not a valid qcow2 file.");
    // And a qemu-img that runs past its wall-clock limit is killed: a stand-in
    // binary that sleeps plays a qemu-img stuck on a crafted file.
    let mut cfg = ImageConfig::new(dir.path().join("images2"));
    let stuck = dir.path().join("stuck-qemu-img");
    std::fs::write(&stuck, "#!/bin/sh\nsleep 30\n").unwrap();
    std::fs::set_permissions(&stuck, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    cfg.qemu_img = stuck.display().to_string();
    cfg.info_limits.wall = std::time::Duration::from_secs(1);
    let images = Images::open(&platform, cfg).await.unwrap();
    let img = images
        .image_create(&a, new("stuck", "qcow2"))
        .await
        .unwrap();
    let e = images
        .image_upload(&a, &img.id, bytes(data))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("took too long"), "{e}");
    assert_eq!(
        images.image_get(&a, &img.id).await.unwrap().status,
        "queued"
    );
}

#[tokio::test]
async fn another_projects_view_of_a_public_images_timeline_names_nobody() {
    let t = setup().await;
    let admin = ctx("admin-proj", "admin");
    let img = t
        .images
        .image_create(
            &admin,
            NewImage {
                visibility: Some("public".into()),
                ..new("shared-base", "raw")
            },
        )
        .await
        .unwrap();
    t.images
        .image_upload(&admin, &img.id, bytes(vec![1u8; 4096]))
        .await
        .unwrap();
    let own = t.images.image_events(&admin, &img.id).await.unwrap();
    assert!(own.iter().all(|e| e.user_id.is_some()));
    let b = ctx("proj-b", "member");
    let theirs = t.images.image_events(&b, &img.id).await.unwrap();
    assert!(
        !theirs.is_empty(),
        "what happened to a public image is visible"
    );
    assert!(theirs.iter().all(|e| e.public
        && e.user_id.is_none()
        && e.user_name.is_empty()
        && e.request_id.is_none()));
}

/// An admin may create an image for another project: it counts against that
/// project's quota (refused when it has no room). A member cannot give images away
/// (moving one afterwards: owner.rs).
#[tokio::test]
async fn an_image_made_for_another_project_counts_there() {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ImageConfig::new(dir.path().join("images"));
    cfg.quota_images = 1;
    let images = Images::open(&platform, cfg).await.unwrap();
    let (a, b, admin) = (
        ctx("proj-a", "member"),
        ctx("proj-b", "member"),
        ctx("proj-a", "admin"),
    );
    let for_b = |name: &str| NewImage {
        owner: Some("proj-b".into()),
        ..new(name, "raw")
    };
    let given = images.image_create(&admin, for_b("given")).await.unwrap();
    assert_eq!(given.owner, "proj-b");
    assert_eq!(images.project_usage(&b).await.unwrap().images, 1);
    assert_eq!(images.project_usage(&a).await.unwrap().images, 0);
    // proj-b is at its quota of one.
    let e = images
        .image_create(&admin, for_b("more"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 413, "{e}");
    // A member may not make one for another project.
    let e = images.image_create(&a, for_b("gift")).await.unwrap_err();
    assert_eq!(e.status(), 403, "{e}");
    assert_eq!(images.project_usage(&a).await.unwrap().images, 0);
}
