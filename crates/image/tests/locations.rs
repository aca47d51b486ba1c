//! Where an image's data is (Glance's `locations` and `direct_url`), where the operator
//! shows it: the owner and admins see the image's own file in the store, others see
//! nothing. Attacked: pointing an image at another URL (server-side request forgery),
//! at another image's file (swapping its bytes), activating a queued image with a
//! location instead of data, removing its last location, and malformed entries.

mod common;

use common::{bytes, ctx, new};
use ferrostack_core::Platform;
use ferrostack_image::{ImageConfig, Images, NewImage, Patch};
use ferrostack_types::image::Image;
use serde_json::{json, Value};

async fn shown(locations: bool, direct_url: bool) -> (std::sync::Arc<Images>, tempfile::TempDir) {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ImageConfig::new(dir.path().join("images"));
    cfg.show_multiple_locations = locations;
    cfg.show_image_direct_url = direct_url;
    (Images::open(&platform, cfg).await.unwrap(), dir)
}

/// A raw image of 4 KiB of `byte` uploaded by `ctx`, as it is once active.
async fn active(images: &Images, ctx: &ferrostack_core::Ctx, name: &str, byte: u8) -> Image {
    let img = images.image_create(ctx, new(name, "raw")).await.unwrap();
    images
        .image_upload(ctx, &img.id, bytes(vec![byte; 4096]))
        .await
        .unwrap();
    images.image_get(ctx, &img.id).await.unwrap()
}

fn loc(url: &str) -> Value {
    json!({"url": url, "metadata": {}})
}

#[tokio::test]
async fn the_owner_and_admins_see_the_images_own_file() {
    let (images, _dir) = shown(true, true).await;
    let (a, b, admin) = (
        ctx("proj-a", "member"),
        ctx("proj-b", "member"),
        ctx("proj-z", "admin"),
    );
    let img = images
        .image_create(
            &a,
            NewImage {
                visibility: Some("community".into()),
                ..new("seen", "raw")
            },
        )
        .await
        .unwrap();
    // No data yet: no location.
    assert_eq!(images.locations(&a, &img), Some(vec![]));
    assert_eq!(images.direct_url(&a, &img), None);
    let data = vec![9u8; 70_000];
    images
        .image_upload(&a, &img.id, bytes(data.clone()))
        .await
        .unwrap();
    let img = images.image_get(&a, &img.id).await.unwrap();
    let locs = images.locations(&a, &img).expect("the owner sees them");
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(
        locs[0].metadata.get("store").map(String::as_str),
        Some("local")
    );
    // The location is the stored file itself, with the uploaded bytes.
    let path = locs[0].url.strip_prefix("file://").expect("a file URL");
    assert_eq!(std::fs::read(path).unwrap(), data);
    assert_eq!(images.direct_url(&a, &img), Some(locs[0].url.clone()));
    assert_eq!(images.locations(&admin, &img), Some(locs.clone()));
    // Another project may use the (community) image but not learn where it is kept.
    let theirs = images.image_get(&b, &img.id).await.unwrap();
    assert_eq!(images.locations(&b, &theirs), None);
    assert_eq!(images.direct_url(&b, &theirs), None);

    // Replacing the list with itself, or an entry with itself, changes nothing.
    let same = json!([{"url": locs[0].url, "metadata": {"store": "local"}}]);
    images
        .image_update(&a, &img.id, vec![Patch::Replace("locations".into(), same)])
        .await
        .unwrap();
    images
        .image_update(
            &a,
            &img.id,
            vec![Patch::Replace("locations/0".into(), loc(&locs[0].url))],
        )
        .await
        .unwrap();
    let after = images.image_get(&a, &img.id).await.unwrap();
    assert_eq!(
        (after.status.as_str(), after.checksum.clone()),
        ("active", img.checksum)
    );
}

#[tokio::test]
async fn an_image_cannot_be_pointed_anywhere_else() {
    let (images, _dir) = shown(true, false).await;
    let a = ctx("proj-a", "member");
    let victim = active(&images, &a, "victim", 1).await;
    let other = active(&images, &a, "other", 2).await;
    let own = images.locations(&a, &victim).unwrap()[0].url.clone();
    let others_file = images.locations(&a, &other).unwrap()[0].url.clone();

    let metadata_service = "http://169.254.169.254/latest/meta-data/";
    let refused = [
        // Somewhere the server can reach, or the host's own files.
        (
            Patch::Add("locations/-".into(), loc(metadata_service)),
            400,
            "not in this cloud's image store",
        ),
        (
            Patch::Add("locations/-".into(), loc("file:///etc/shadow")),
            400,
            "not in this cloud's image store",
        ),
        // Another image's bytes.
        (
            Patch::Add("locations/0".into(), loc(&others_file)),
            400,
            "not in this cloud's image store",
        ),
        (
            Patch::Replace("locations".into(), json!([loc(&others_file)])),
            400,
            "not in this cloud's image store",
        ),
        (
            Patch::Replace("locations/0".into(), loc(metadata_service)),
            400,
            "not in this cloud's image store",
        ),
        (
            Patch::Replace("locations".into(), json!([loc(&own), loc(&own)])),
            400,
            "more than once",
        ),
        // Its own file again, or without its data.
        (
            Patch::Add("locations/-".into(), loc(&own)),
            400,
            "already exists",
        ),
        (Patch::Remove("locations/0".into()), 403, "last location"),
        (
            Patch::Replace("locations".into(), json!([])),
            403,
            "empty list",
        ),
        (Patch::Remove("locations".into()), 403, "delete the image"),
        // Malformed entries and indexes.
        (
            Patch::Add("locations/-".into(), json!("http://x/")),
            400,
            "must be an object",
        ),
        (
            Patch::Add("locations/-".into(), json!({"url": 7})),
            400,
            "must be an object",
        ),
        (
            Patch::Add(
                "locations/-".into(),
                json!({"url": own, "metadata": {"k": [1]}}),
            ),
            400,
            "must be an object",
        ),
        (
            Patch::Replace(
                "locations/0".into(),
                json!({"url": own, "metadata": {"store": "elsewhere"}}),
            ),
            400,
            "metadata",
        ),
        (Patch::Remove("locations/5".into()), 400, "index"),
        (Patch::Add("locations/9".into(), loc(&own)), 400, "index"),
    ];
    for (op, status, says) in refused {
        let what = format!("{op:?}");
        let e = images
            .image_update(
                &a,
                &victim.id,
                vec![op, Patch::Replace("name".into(), json!("changed"))],
            )
            .await
            .unwrap_err();
        assert_eq!(e.status(), status, "{what}: {e}");
        assert!(e.to_string().contains(says), "{what}: {e}");
    }
    // All or nothing: the name in the same patch did not change, the data is the same.
    let after = images.image_get(&a, &victim.id).await.unwrap();
    assert_eq!(after.name.as_deref(), Some("victim"));
    assert_eq!(after.checksum, victim.checksum);
    assert_eq!(images.locations(&a, &after).unwrap()[0].url, own);
    // The URL repeated in an error is bounded.
    let long = format!("http://{}/", "a".repeat(10_000));
    let e = images
        .image_update(
            &a,
            &victim.id,
            vec![Patch::Add("locations/-".into(), loc(&long))],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().len() < 1_000, "{}", e.to_string().len());

    // A queued image does not become active by naming a location, even a real file.
    let queued = images.image_create(&a, new("queued", "raw")).await.unwrap();
    let e = images
        .image_update(
            &a,
            &queued.id,
            vec![Patch::Add("locations/-".into(), loc(&others_file))],
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400, "{e}");
    let queued = images.image_get(&a, &queued.id).await.unwrap();
    assert_eq!((queued.status.as_str(), queued.size), ("queued", None));
}

#[tokio::test]
async fn locations_are_hidden_and_fixed_unless_the_operator_shows_them() {
    let (images, _dir) = shown(false, false).await;
    let a = ctx("proj-a", "member");
    let admin = ctx("proj-a", "admin");
    let img = active(&images, &a, "plain", 5).await;
    assert_eq!(images.locations(&admin, &img), None);
    assert_eq!(images.direct_url(&admin, &img), None);
    let e = images
        .image_update(
            &admin,
            &img.id,
            vec![Patch::Replace("locations".into(), json!([]))],
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e}");
    assert!(e.to_string().contains("locations are invisible"), "{e}");
}
