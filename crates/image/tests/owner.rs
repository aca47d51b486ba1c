//! An admin gives an image to another project (Glance's PATCH of `owner`): its count
//! and stored bytes move with it, against the receiving project's quotas, and never
//! while data is arriving. Attacked: a member giving images away, a move into a full
//! project, a move racing an upload, and moves both ways at once.

mod common;

use common::{bytes, ctx, new, setup};
use ferrostack_core::{Ctx, Platform};
use ferrostack_image::{ImageConfig, Images, Patch};
use serde_json::json;

fn to(project: &str) -> Vec<Patch> {
    vec![Patch::Replace("owner".into(), json!(project))]
}

async fn counted(images: &Images, project: &str) -> (i64, i64) {
    let u = images.project_usage(&ctx(project, "member")).await.unwrap();
    (u.images, u.bytes)
}

async fn with_quota(images: i64) -> (std::sync::Arc<Images>, tempfile::TempDir) {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ImageConfig::new(dir.path().join("images"));
    cfg.quota_images = images;
    (Images::open(&platform, cfg).await.unwrap(), dir)
}

#[tokio::test]
async fn an_admin_moves_an_image_with_its_count_and_bytes() {
    let (images, _dir) = with_quota(1).await;
    let (a, b, admin) = (
        ctx("proj-a", "member"),
        ctx("proj-b", "member"),
        ctx("proj-a", "admin"),
    );
    let mine = images.image_create(&a, new("mine", "raw")).await.unwrap();
    images
        .image_upload(&a, &mine.id, bytes(vec![3u8; 100_000]))
        .await
        .unwrap();
    // A member cannot give it away, nor can the owner be removed.
    let e = images
        .image_update(&a, &mine.id, to("proj-b"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e}");
    let e = images
        .image_update(&admin, &mine.id, vec![Patch::Remove("owner".into())])
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e}");
    let e = images
        .image_update(
            &admin,
            &mine.id,
            vec![Patch::Replace("owner".into(), json!(7))],
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400, "{e}");
    // proj-b is full (a quota of one image): refused, and nothing moved.
    let theirs = images.image_create(&b, new("theirs", "raw")).await.unwrap();
    let e = images
        .image_update(
            &admin,
            &mine.id,
            vec![
                Patch::Replace("name".into(), json!("renamed")),
                Patch::Replace("owner".into(), json!("proj-b")),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 413, "{e}");
    assert!(e.to_string().contains("proj-b"), "{e}");
    let still = images.image_get(&a, &mine.id).await.unwrap();
    assert_eq!(
        (still.owner.as_str(), still.name.as_deref()),
        ("proj-a", Some("mine"))
    );
    assert_eq!(counted(&images, "proj-a").await, (1, 100_000));
    // With room, it moves: proj-b sees and counts it, proj-a neither.
    images.image_delete(&b, &theirs.id).await.unwrap();
    let moved = images
        .image_update(&admin, &mine.id, to("proj-b"))
        .await
        .unwrap();
    assert_eq!(moved.owner, "proj-b");
    assert_eq!(counted(&images, "proj-a").await, (0, 0));
    assert_eq!(counted(&images, "proj-b").await, (1, 100_000));
    assert_eq!(
        images.image_get(&a, &mine.id).await.unwrap_err().status(),
        404
    );
    images
        .image_update(
            &b,
            &mine.id,
            vec![Patch::Replace("name".into(), json!("ours"))],
        )
        .await
        .unwrap();
    // proj-a has room again; deleting in proj-b gives proj-b's back.
    images.image_create(&a, new("again", "raw")).await.unwrap();
    images.image_delete(&b, &mine.id).await.unwrap();
    assert_eq!(counted(&images, "proj-b").await, (0, 0));
}

#[tokio::test]
async fn an_image_whose_data_is_staged_does_not_move() {
    let t = setup().await;
    let (a, admin) = (ctx("proj-a", "member"), ctx("proj-a", "admin"));
    let img = t
        .images
        .image_create(&a, new("staged", "raw"))
        .await
        .unwrap();
    t.images
        .image_stage(&a, &img.id, bytes(vec![1u8; 4096]))
        .await
        .unwrap();
    let e = t
        .images
        .image_update(&admin, &img.id, to("proj-b"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 409, "{e}");
    assert!(e.to_string().contains("when that has finished"), "{e}");
    assert_eq!(
        t.images.image_get(&a, &img.id).await.unwrap().owner,
        "proj-a"
    );
}

/// An upload and a move at once, many times: whichever wins, the bytes are counted
/// once, in the project that owns the image at the end.
#[tokio::test(flavor = "multi_thread")]
async fn a_move_racing_an_upload_leaves_the_bytes_with_the_final_owner() {
    let (images, _dir) = with_quota(100).await;
    let (a, admin) = (ctx("proj-a", "member"), ctx("proj-a", "admin"));
    for round in 0..10 {
        let img = images
            .image_create(&a, new(&format!("r{round}"), "raw"))
            .await
            .unwrap();
        let (i1, i2, a1, ad) = (images.clone(), images.clone(), a.clone(), admin.clone());
        let (id1, id2) = (img.id.clone(), img.id.clone());
        // Each starts first in half the rounds.
        let upload = async move { i1.image_upload(&a1, &id1, bytes(vec![5u8; 70_000])).await };
        let give = async move { i2.image_update(&ad, &id2, to("proj-c")).await };
        let (up, mv) = if round % 2 == 0 {
            let mv = tokio::spawn(give);
            (tokio::spawn(upload), mv)
        } else {
            let up = tokio::spawn(upload);
            (up, tokio::spawn(give))
        };
        let (up, mv) = (up.await.unwrap(), mv.await.unwrap());
        let upload_ok = up.is_ok();
        let owner = images.image_get(&admin, &img.id).await.unwrap().owner;
        // A refused move says why (data arriving); it is not an error of ours.
        if let Err(e) = &mv {
            assert_eq!(e.status(), 409, "{e}");
        }
        assert_eq!(owner == "proj-c", mv.is_ok(), "round {round}");
        // The image is counted once, with its bytes if they landed, where it is.
        let size = images
            .image_get(&admin, &img.id)
            .await
            .unwrap()
            .size
            .unwrap_or(0);
        assert_eq!(size, if upload_ok { 70_000 } else { 0 }, "round {round}");
        let (other, o_bytes) = counted(
            &images,
            if owner == "proj-c" {
                "proj-a"
            } else {
                "proj-c"
            },
        )
        .await;
        let (here, h_bytes) = counted(&images, &owner).await;
        assert_eq!(
            (other, o_bytes),
            (0, 0),
            "round {round}: nothing left behind"
        );
        assert_eq!((here, h_bytes), (1, size), "round {round}");
        images.image_delete(&admin, &img.id).await.unwrap();
    }
}

/// Twenty moves each way between two projects at once: none deadlocks or is lost.
#[tokio::test(flavor = "multi_thread")]
async fn moves_both_ways_at_once_all_land() {
    let (images, _dir) = with_quota(100).await;
    let admin = ctx("proj-a", "admin");
    let (a, b) = (ctx("proj-a", "member"), ctx("proj-b", "member"));
    let mut ids: Vec<(String, &'static str)> = Vec::new();
    for i in 0..20 {
        let (who, dest): (&Ctx, &'static str) = if i % 2 == 0 {
            (&a, "proj-b")
        } else {
            (&b, "proj-a")
        };
        let img = images
            .image_create(who, new(&format!("m{i}"), "raw"))
            .await
            .unwrap();
        images
            .image_upload(who, &img.id, bytes(vec![9u8; 1000 + i]))
            .await
            .unwrap();
        ids.push((img.id, dest));
    }
    let moves: Vec<_> = ids
        .iter()
        .cloned()
        .map(|(id, dest)| {
            let (images, admin) = (images.clone(), admin.clone());
            tokio::spawn(async move { images.image_update(&admin, &id, to(dest)).await })
        })
        .collect();
    for m in moves {
        m.await.unwrap().unwrap();
    }
    let total: i64 = (0..20).map(|i| 1000 + i).sum();
    let (ca, ba) = counted(&images, "proj-a").await;
    let (cb, bb) = counted(&images, "proj-b").await;
    assert_eq!((ca, cb), (10, 10));
    assert_eq!(ba + bb, total);
    for (id, dest) in &ids {
        assert_eq!(images.image_get(&admin, id).await.unwrap().owner, *dest);
    }
}
