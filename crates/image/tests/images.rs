//! The image service against a real database and real files: lifecycle, visibility,
//! patching, protection, quotas, and the refusal of unsafe or mislabelled data (built
//! with the real qemu-img), and recovery after an interrupted upload.

mod common;

use common::{body, bytes, ctx, files_under, new, qemu_img, setup};
use ferrostack_core::{Ctx, Platform};
use ferrostack_image::{ImageConfig, ImageQuery, Images, NewImage, Patch};
use serde_json::json;

#[tokio::test]
async fn upload_computes_checksums_and_the_image_becomes_active() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let img = t.images.image_create(&a, new("blob", "raw")).await.unwrap();
    assert_eq!(img.status, "queued");
    assert_eq!(img.visibility, "shared");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let done = t
        .images
        .image_upload(&a, &img.id, bytes(data.clone()))
        .await
        .unwrap();
    assert_eq!(done.status, "active");
    assert_eq!(done.size, Some(data.len() as i64));
    assert_eq!(done.virtual_size, Some(data.len() as i64));
    use md5::Digest;
    assert_eq!(
        done.checksum.as_deref(),
        Some(hex::encode(md5::Md5::digest(&data)).as_str())
    );
    assert_eq!(done.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(
        done.os_hash_value.as_deref(),
        Some(hex::encode(sha2::Sha512::digest(&data)).as_str())
    );
    let (_, path) = t.images.image_data(&a, &img.id).await.unwrap();
    assert_eq!(std::fs::read(path.unwrap()).unwrap(), data);
    // Data goes in once.
    let again = t
        .images
        .image_upload(&a, &img.id, bytes(vec![1, 2, 3]))
        .await
        .unwrap_err();
    assert_eq!(again.status(), 409, "{again}");
}

#[tokio::test]
async fn other_projects_see_only_what_is_shared_with_them() {
    let t = setup().await;
    let (a, b) = (ctx("proj-a", "member"), ctx("proj-b", "member"));
    let private = t
        .images
        .image_create(
            &a,
            NewImage {
                visibility: Some("private".into()),
                ..new("mine", "raw")
            },
        )
        .await
        .unwrap();
    let community = t
        .images
        .image_create(
            &a,
            NewImage {
                visibility: Some("community".into()),
                ..new("ours", "raw")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        t.images
            .image_get(&b, &private.id)
            .await
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        t.images
            .image_get(&b, &community.id)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("ours")
    );
    // Listings: community images only when asked for; nothing private of others.
    let (list, _) = t
        .images
        .image_list(&b, ImageQuery::default())
        .await
        .unwrap();
    assert!(list.is_empty(), "{list:?}");
    let (list, _) = t
        .images
        .image_list(
            &b,
            ImageQuery {
                visibility: Some("community".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    // visibility=all: everything b can see (the community image), still nothing private
    // of a; for an admin, every project's.
    let all = ImageQuery {
        visibility: Some("all".into()),
        ..Default::default()
    };
    let (list, _) = t.images.image_list(&b, all.clone()).await.unwrap();
    assert_eq!(
        list.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        vec![community.id.as_str()]
    );
    let (list, _) = t
        .images
        .image_list(&ctx("proj-c", "admin"), all)
        .await
        .unwrap();
    assert_eq!(list.len(), 2, "the admin sees a's private image too");
    // Changing or deleting another project's image is refused.
    let e = t.images.image_delete(&b, &community.id).await.unwrap_err();
    assert_eq!(e.status(), 403, "{e}");
    // Only admins publish.
    let e = t
        .images
        .image_create(
            &a,
            NewImage {
                visibility: Some("public".into()),
                ..new("pub", "raw")
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Only an admin"), "{e}");
    let admin = ctx("proj-admin", "admin");
    let public = t
        .images
        .image_create(
            &admin,
            NewImage {
                visibility: Some("public".into()),
                ..new("pub", "raw")
            },
        )
        .await
        .unwrap();
    let (list, _) = t
        .images
        .image_list(&b, ImageQuery::default())
        .await
        .unwrap();
    assert_eq!(
        list.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        vec![public.id.as_str()]
    );
}

#[tokio::test]
async fn patch_sets_and_removes_properties_and_protected_blocks_delete() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let img = t.images.image_create(&a, new("p", "qcow2")).await.unwrap();
    let ops = vec![
        Patch::Add("os_distro".into(), json!("debian")),
        Patch::Replace("name".into(), json!("renamed")),
        Patch::Replace("protected".into(), json!(true)),
        Patch::Add("tags".into(), json!(["b", "a", "a"])),
    ];
    let img = t.images.image_update(&a, &img.id, ops).await.unwrap();
    assert_eq!(
        img.properties.get("os_distro").map(String::as_str),
        Some("debian")
    );
    assert_eq!(img.name.as_deref(), Some("renamed"));
    assert_eq!(img.tags, vec!["a", "b"]);
    let e = t.images.image_delete(&a, &img.id).await.unwrap_err();
    assert_eq!(e.status(), 403);
    assert!(e.to_string().contains("is protected"), "{e}");
    let e = t
        .images
        .image_update(
            &a,
            &img.id,
            vec![Patch::Replace("status".into(), json!("active"))],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("read-only"), "{e}");
    let e = t
        .images
        .image_update(&a, &img.id, vec![Patch::Remove("nope".into())])
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409, "{e}");
    // All or nothing: a bad second op leaves the first undone.
    let ops = vec![
        Patch::Replace("name".into(), json!("x")),
        Patch::Replace("min_ram".into(), json!(-1)),
    ];
    assert!(t.images.image_update(&a, &img.id, ops).await.is_err());
    assert_eq!(
        t.images
            .image_get(&a, &img.id)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("renamed")
    );
    let img = t
        .images
        .image_update(
            &a,
            &img.id,
            vec![
                Patch::Replace("protected".into(), json!(false)),
                Patch::Remove("os_distro".into()),
            ],
        )
        .await
        .unwrap();
    assert!(img.properties.is_empty());
    t.images.image_delete(&a, &img.id).await.unwrap();
    assert_eq!(
        t.images.image_get(&a, &img.id).await.unwrap_err().status(),
        404
    );
}

#[tokio::test]
async fn list_filters_sorts_and_pages_with_a_marker() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    for (i, name) in ["c", "a", "e", "b", "d"].iter().enumerate() {
        let mut n = new(name, if i % 2 == 0 { "raw" } else { "qcow2" });
        n.properties.insert(
            "tier".into(),
            if i < 2 { "gold".into() } else { "iron".into() },
        );
        t.images.image_create(&a, n).await.unwrap();
    }
    let sorted = |list: &[ferrostack_types::image::Image]| {
        list.iter()
            .map(|i| i.name.clone().unwrap())
            .collect::<Vec<_>>()
    };
    let q = |limit, marker: Option<String>| ImageQuery {
        sort: vec![("name".into(), "asc".into())],
        limit: Some(limit),
        marker,
        ..Default::default()
    };
    let (p1, more) = t.images.image_list(&a, q(2, None)).await.unwrap();
    assert_eq!(
        (sorted(&p1), more),
        (vec!["a".to_string(), "b".into()], true)
    );
    let (p2, _) = t
        .images
        .image_list(&a, q(2, Some(p1[1].id.clone())))
        .await
        .unwrap();
    assert_eq!(sorted(&p2), vec!["c", "d"]);
    let (p3, more) = t
        .images
        .image_list(&a, q(2, Some(p2[1].id.clone())))
        .await
        .unwrap();
    assert_eq!((sorted(&p3), more), (vec!["e".to_string()], false));
    let (gold, _) = t
        .images
        .image_list(
            &a,
            ImageQuery {
                properties: vec![("tier".into(), "gold".into())],
                ..q(10, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(sorted(&gold), vec!["a", "c"]);
    let (qcow, _) = t
        .images
        .image_list(
            &a,
            ImageQuery {
                disk_format: Some("qcow2".into()),
                ..q(10, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(sorted(&qcow), vec!["a", "b"]);
    let e = t
        .images
        .image_list(
            &a,
            ImageQuery {
                sort: vec![("password".into(), "asc".into())],
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Invalid sort key"), "{e}");

    // Glance's operators: in: lists (with quoted values), time comparisons, sizes.
    t.images.image_create(&a, new("", "raw")).await.unwrap();
    let (some, _) = t
        .images
        .image_list(
            &a,
            ImageQuery {
                name: Some("in:\"a\",d,zz".into()),
                ..q(10, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(sorted(&some), vec!["a", "d"], "and not an image named \"\"");
    let (by_id, _) = t
        .images
        .image_list(
            &a,
            ImageQuery {
                id: Some(format!("in:{},\"{}\"", p1[0].id, p3[0].id)),
                ..q(10, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(sorted(&by_id), vec!["a", "e"]);
    // Created in the order c, a, e, b, d; p2[0] is "c", p3[0] is "e".
    let (newer, _) = t
        .images
        .image_list(
            &a,
            ImageQuery {
                times: vec![("created_at".into(), "gt".into(), p2[0].created_at.clone())],
                ..q(10, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        sorted(&newer),
        vec!["", "a", "b", "d", "e"],
        "created after c"
    );
    let (older, _) = t
        .images
        .image_list(
            &a,
            ImageQuery {
                times: vec![("created_at".into(), "lt".into(), p3[0].created_at.clone())],
                ..q(10, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(sorted(&older), vec!["a", "c"], "created before e");
    let e = t
        .images
        .image_list(
            &a,
            ImageQuery {
                times: vec![("created_at".into(), "gte".into(), "yesterday".into())],
                ..q(10, None)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("ISO 8601"), "{e}");
    let e = t
        .images
        .image_list(
            &a,
            ImageQuery {
                status: Some("in:\"active".into()),
                ..q(10, None)
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not closed"), "{e}");
}

#[tokio::test]
async fn unsafe_or_mislabelled_data_is_refused_and_removed() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    qemu_img(&["create", "-f", "qcow2", "base.qcow2", "1M"], w);
    qemu_img(
        &[
            "create",
            "-f",
            "qcow2",
            "-b",
            "base.qcow2",
            "-F",
            "qcow2",
            "backed.qcow2",
        ],
        w,
    );
    qemu_img(
        &[
            "create",
            "-f",
            "qcow2",
            "-o",
            "data_file=data.raw",
            "datafile.qcow2",
            "1M",
        ],
        w,
    );
    qemu_img(
        &[
            "create",
            "-f",
            "vmdk",
            "-o",
            "subformat=monolithicFlat",
            "flat.vmdk",
            "1M",
        ],
        w,
    );
    let cases = [
        ("backed.qcow2", "qcow2", "backing file"),
        ("datafile.qcow2", "qcow2", "external data file"),
        ("flat.vmdk", "vmdk", "extents are separate files"),
        (
            "base.qcow2",
            "raw",
            "The image data is qcow2 but disk_format says raw",
        ),
    ];
    for (file, disk, why) in cases {
        let img = t.images.image_create(&a, new(file, disk)).await.unwrap();
        let data = std::fs::read(w.join(file)).unwrap();
        let e = t
            .images
            .image_upload(&a, &img.id, bytes(data))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 400, "{file}: {e}");
        assert!(e.to_string().contains(why), "{file}: {e}");
        let after = t.images.image_get(&a, &img.id).await.unwrap();
        assert_eq!(
            after.status, "queued",
            "{file}: refused data leaves the image queued"
        );
        assert_eq!(after.size, None);
    }
    // A clean qcow2 is accepted, with its virtual size from qemu-img.
    let img = t
        .images
        .image_create(&a, new("clean", "qcow2"))
        .await
        .unwrap();
    let done = t
        .images
        .image_upload(
            &a,
            &img.id,
            bytes(std::fs::read(w.join("base.qcow2")).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(done.virtual_size, Some(1 << 20));
    // Nothing but the accepted image's data is left on disk.
    let left = files_under(&t.dir.path().join("images"));
    assert_eq!(
        left,
        vec![t.dir.path().join("images").join(&img.id)],
        "{left:?}"
    );
}

#[tokio::test]
async fn a_cut_upload_kills_the_image_and_leaves_no_bytes() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let img = t.images.image_create(&a, new("cut", "raw")).await.unwrap();
    let chunks = vec![
        Ok(vec![7u8; 100_000]),
        Ok(vec![8u8; 100_000]),
        Err("connection reset by peer".to_string()),
    ];
    let e = t
        .images
        .image_upload(&a, &img.id, body(chunks))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cut short"), "{e}");
    assert_eq!(
        t.images.image_get(&a, &img.id).await.unwrap().status,
        "killed"
    );
    assert!(files_under(&t.dir.path().join("images")).is_empty());
}

#[tokio::test]
async fn a_restart_after_a_crash_mid_upload_cleans_up() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let img = t
        .images
        .image_create(&a, new("crash", "raw"))
        .await
        .unwrap();
    // What a crash mid-upload leaves: the row says saving, a partial file in staging,
    // and (say) a stray file nobody owns.
    sqlx::query("UPDATE images SET status = 'saving' WHERE id = $1")
        .bind(&img.id)
        .execute(&t.db.pool)
        .await
        .unwrap();
    let root = t.dir.path().join("images");
    std::fs::write(
        root.join("staging").join(format!("{}.x.part", img.id)),
        vec![0u8; 4096],
    )
    .unwrap();
    std::fs::write(root.join("stray"), b"junk").unwrap();
    let restarted = Images::open(&t.platform, ImageConfig::new(root.clone()))
        .await
        .unwrap();
    assert_eq!(
        restarted.image_get(&a, &img.id).await.unwrap().status,
        "killed"
    );
    assert!(files_under(&root).is_empty(), "{:?}", files_under(&root));
}

#[tokio::test]
async fn quotas_limit_bytes_at_upload_time() {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ImageConfig::new(dir.path().join("images"));
    cfg.quota_bytes = 250_000;
    cfg.quota_images = 2;
    let images = Images::open(&platform, cfg).await.unwrap();
    let a = ctx("proj-a", "member");
    let one = images.image_create(&a, new("one", "raw")).await.unwrap();
    images
        .image_upload(&a, &one.id, bytes(vec![1u8; 200_000]))
        .await
        .unwrap();
    let two = images.image_create(&a, new("two", "raw")).await.unwrap();
    let e = images
        .image_upload(&a, &two.id, bytes(vec![2u8; 100_000]))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 413, "{e}");
    assert!(e.to_string().contains("quota"), "{e}");
    assert_eq!(
        images.image_get(&a, &two.id).await.unwrap().status,
        "queued"
    );
    let e = images
        .image_create(&a, new("three", "raw"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 413, "{e}");
    // Another project has its own quota.
    let b = ctx("proj-b", "member");
    images.image_create(&b, new("theirs", "raw")).await.unwrap();
}

#[tokio::test]
async fn members_see_a_shared_image_only_after_accepting_and_only_they_decide() {
    let t = setup().await;
    let (a, b, c) = (
        ctx("proj-a", "member"),
        ctx("proj-b", "member"),
        ctx("proj-c", "member"),
    );
    let img = t.images.image_create(&a, new("s", "raw")).await.unwrap();
    let listed = |x: Ctx| {
        let images = t.images.clone();
        async move {
            images
                .image_list(&x, ImageQuery::default())
                .await
                .unwrap()
                .0
                .len()
        }
    };
    assert_eq!(
        t.images.image_get(&b, &img.id).await.unwrap_err().status(),
        404
    );
    let m = t.images.member_add(&a, &img.id, "proj-b").await.unwrap();
    assert_eq!(m.status, "pending");
    assert_eq!(
        t.images
            .member_add(&a, &img.id, "proj-b")
            .await
            .unwrap_err()
            .status(),
        409
    );
    // Pending: reachable by id, not listed; the owner cannot accept for it.
    assert!(t.images.image_get(&b, &img.id).await.is_ok());
    assert_eq!(listed(b.clone()).await, 0);
    let e = t
        .images
        .member_update(&a, &img.id, "proj-b", "accepted")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e}");
    t.images
        .member_update(&b, &img.id, "proj-b", "accepted")
        .await
        .unwrap();
    assert_eq!(listed(b.clone()).await, 1);
    // A member sees its own entry only; a stranger sees nothing.
    assert_eq!(t.images.member_list(&b, &img.id).await.unwrap().len(), 1);
    assert_eq!(
        t.images.image_get(&c, &img.id).await.unwrap_err().status(),
        404
    );
    // A member cannot change the image; the owner can stop sharing.
    assert_eq!(
        t.images
            .image_delete(&b, &img.id)
            .await
            .unwrap_err()
            .status(),
        403
    );
    t.images.member_delete(&a, &img.id, "proj-b").await.unwrap();
    assert_eq!(
        t.images.image_get(&b, &img.id).await.unwrap_err().status(),
        404
    );
    // Only shared images have members.
    let private = t
        .images
        .image_create(
            &a,
            NewImage {
                visibility: Some("private".into()),
                ..new("p", "raw")
            },
        )
        .await
        .unwrap();
    let e = t
        .images
        .member_add(&a, &private.id, "proj-b")
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("only shared images have members"),
        "{e}"
    );
}

#[tokio::test]
async fn tags_and_deactivation() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    let img = t.images.image_create(&a, new("t", "raw")).await.unwrap();
    t.images.tag_add(&a, &img.id, "gold").await.unwrap();
    t.images.tag_add(&a, &img.id, "gold").await.unwrap();
    assert_eq!(
        t.images.image_get(&a, &img.id).await.unwrap().tags,
        vec!["gold"]
    );
    let (tagged, _) = t
        .images
        .image_list(
            &a,
            ImageQuery {
                tags: vec!["gold".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1);
    t.images.tag_delete(&a, &img.id, "gold").await.unwrap();
    assert_eq!(
        t.images
            .tag_delete(&a, &img.id, "gold")
            .await
            .unwrap_err()
            .status(),
        404
    );
    // Only an active image can be deactivated; then its data is withheld from non-admins.
    let e = t
        .images
        .image_set_active(&a, &img.id, false)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("only active images can be deactivated"),
        "{e}"
    );
    t.images
        .image_upload(&a, &img.id, bytes(vec![5u8; 1000]))
        .await
        .unwrap();
    t.images.image_set_active(&a, &img.id, false).await.unwrap();
    let e = t.images.image_data(&a, &img.id).await.unwrap_err();
    assert!(e.to_string().contains("deactivated"), "{e}");
    t.images.image_set_active(&a, &img.id, true).await.unwrap();
    assert!(t.images.image_data(&a, &img.id).await.unwrap().1.is_some());
}

#[tokio::test]
async fn marker_paging_walks_any_sort_without_gaps_or_repeats() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    // Ties and NULLs in the sort keys: names repeat or are missing, formats repeat or
    // are missing, sizes are missing.
    let specs = [
        (Some("x"), Some("raw")),
        (Some("x"), Some("qcow2")),
        (None, Some("raw")),
        (Some("b"), None),
        (None, None),
        (Some("x"), Some("raw")),
        (Some("a"), Some("iso")),
    ];
    for (name, disk) in specs {
        let n = NewImage {
            name: name.map(str::to_string),
            disk_format: disk.map(str::to_string),
            container_format: disk.map(|_| "bare".to_string()),
            ..Default::default()
        };
        t.images.image_create(&a, n).await.unwrap();
    }
    let sorts: Vec<Vec<(&str, &str)>> = vec![
        vec![("name", "asc")],
        vec![("disk_format", "asc"), ("name", "desc")],
        vec![("size", "desc"), ("name", "asc")],
        vec![("created_at", "desc")],
    ];
    for sort in sorts {
        let q = |limit, marker: Option<String>| ImageQuery {
            sort: sort
                .iter()
                .map(|(k, d)| (k.to_string(), d.to_string()))
                .collect(),
            limit: Some(limit),
            marker,
            ..Default::default()
        };
        let (all, more) = t.images.image_list(&a, q(100, None)).await.unwrap();
        assert!(!more);
        let all: Vec<String> = all.into_iter().map(|i| i.id).collect();
        assert_eq!(all.len(), specs.len());
        let mut walked = Vec::new();
        let mut marker = None;
        loop {
            let (page, more) = t.images.image_list(&a, q(2, marker.clone())).await.unwrap();
            walked.extend(page.iter().map(|i| i.id.clone()));
            if !more {
                break;
            }
            marker = page.last().map(|i| i.id.clone());
        }
        assert_eq!(
            walked, all,
            "pages of 2 in {sort:?} equal the whole listing"
        );
    }
    let e = t
        .images
        .image_list(
            &a,
            ImageQuery {
                marker: Some("no-such-image".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    // Another project's private image is no marker either (it would reveal its place).
    let b = ctx("proj-b", "member");
    let hidden = t
        .images
        .image_create(
            &b,
            NewImage {
                visibility: Some("private".into()),
                ..new("theirs", "raw")
            },
        )
        .await
        .unwrap();
    let e = t
        .images
        .image_list(
            &a,
            ImageQuery {
                marker: Some(hidden.id),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
}
