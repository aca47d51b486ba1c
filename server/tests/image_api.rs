//! Glance v2 over HTTP: discovery, the catalog entry, JSON shapes and status codes,
//! streamed data with Content-MD5 and Range, JSON-patch, paging links, and refusals in
//! Glance's error body.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

async fn create(api: &Api, token: &str, body: Value) -> Reply {
    api.call(Method::POST, "/image/v2/images", Some(token), Some(body))
        .await
}

async fn get(api: &Api, token: &str, path: &str) -> Reply {
    api.call(Method::GET, path, Some(token), None).await
}

async fn upload(api: &Api, token: &str, id: &str, data: &[u8]) -> Reply {
    api.raw(
        Method::PUT,
        &format!("/image/v2/images/{id}/file"),
        Some(token),
        Some(data.to_vec()),
        &[("content-type", "application/octet-stream")],
    )
    .await
}

#[tokio::test]
async fn discovery_and_the_catalog_point_clients_at_v2() {
    let api = Api::new().await;
    // With and without the trailing slash clients configured with one send.
    let r = api.call(Method::GET, "/image/", None, None).await;
    assert_eq!(r.status, 300, "/image/");
    let r = api.call(Method::GET, "/image", None, None).await;
    assert_eq!(r.status, 300);
    assert_eq!(r.body["versions"][0]["status"], "CURRENT");
    assert_eq!(
        r.body["versions"][0]["links"][0]["href"],
        format!("{PUBLIC_URL}/image/v2/")
    );
    let r = api
        .admin(Method::GET, "/identity/v3/auth/catalog", None)
        .await;
    let image = r.body["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "image")
        .cloned()
        .unwrap();
    assert_eq!(image["endpoints"][0]["url"], format!("{PUBLIC_URL}/image"));
}

#[tokio::test]
async fn create_upload_download_with_md5_and_ranges() {
    let api = Api::new().await;
    let t = api.admin_token.clone();
    let r = create(&api, &t, json!({"name": "d", "disk_format": "raw", "container_format": "bare", "os_distro": "debian"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.headers["location"],
        format!("{PUBLIC_URL}/image/v2/images/{id}").as_str()
    );
    assert_eq!(r.body["status"], "queued");
    assert_eq!(
        r.body["os_distro"], "debian",
        "custom properties sit at the top level"
    );
    assert_eq!(r.body["file"], format!("/v2/images/{id}/file"));
    // No data yet: 204.
    let r = get(&api, &t, &format!("/image/v2/images/{id}/file")).await;
    assert_eq!(r.status, 204);

    let wrong = api
        .raw(
            Method::PUT,
            &format!("/image/v2/images/{id}/file"),
            Some(&t),
            Some(b"x".to_vec()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(
        wrong.text.contains("application/octet-stream"),
        "{}",
        wrong.text
    );

    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 256) as u8).collect();
    let r = upload(&api, &t, &id, &data).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = api
        .raw(
            Method::GET,
            &format!("/image/v2/images/{id}/file"),
            Some(&t),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let shown = get(&api, &t, &format!("/image/v2/images/{id}")).await;
    assert_eq!(
        r.headers["content-md5"],
        shown.body["checksum"].as_str().unwrap()
    );
    assert_eq!(r.headers["content-length"], "10000");
    let r = api
        .raw(
            Method::GET,
            &format!("/image/v2/images/{id}/file"),
            Some(&t),
            None,
            &[("range", "bytes=2-5")],
        )
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.headers["content-range"], "bytes 2-5/10000");
    assert_eq!(r.text.as_bytes(), &data[2..6]);
    let r = api
        .raw(
            Method::GET,
            &format!("/image/v2/images/{id}/file"),
            Some(&t),
            None,
            &[("range", "bytes=20000-")],
        )
        .await;
    assert_eq!(r.status, 416);
    assert_eq!(r.headers["content-range"], "bytes */10000");
}

#[tokio::test]
async fn patch_needs_the_json_patch_type_and_refusals_use_glances_error_body() {
    let api = Api::new().await;
    let t = api.admin_token.clone();
    let id = create(&api, &t, json!({"name": "p"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/image/v2/images/{id}");
    let ops = json!([{"op": "add", "path": "/hw_disk_bus", "value": "virtio"}])
        .to_string()
        .into_bytes();
    let r = api
        .raw(
            Method::PATCH,
            &path,
            Some(&t),
            Some(ops.clone()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 400);
    let patch = [(
        "content-type",
        "application/openstack-images-v2.1-json-patch",
    )];
    let r = api
        .raw(Method::PATCH, &path, Some(&t), Some(ops), &patch)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["hw_disk_bus"], "virtio");
    let ro = json!([{"op": "replace", "path": "/size", "value": 1}])
        .to_string()
        .into_bytes();
    let r = api
        .raw(Method::PATCH, &path, Some(&t), Some(ro), &patch)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        json!({"code": 403, "title": "Forbidden", "message": "Attribute 'size' is read-only."})
    );
    // Bad bodies get 400 with the reason, not 500.
    for (body, why) in [
        (&b""[..], "body is empty"),
        (
            &b"[{\"op\": \"add\", \"path\": \"/x\", \"value\": \"\\ud800\"}]"[..],
            "surrogate",
        ),
        (
            &b"[{\"op\": \"move\", \"path\": \"/x\"}]"[..],
            "Unsupported patch operation",
        ),
        (
            &b"[{\"op\": \"add\", \"path\": \"/a/b\", \"value\": \"v\"}]"[..],
            "Invalid path",
        ),
    ] {
        let r = api
            .raw(Method::PATCH, &path, Some(&t), Some(body.to_vec()), &patch)
            .await;
        assert_eq!(r.status, 400, "{why}: {}", r.text);
        assert!(r.text.contains(why), "{why}: {}", r.text);
    }
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let r = api
        .call(Method::POST, "/image/v2/images", Some(&t), None)
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = api
        .raw(
            Method::POST,
            "/image/v2/images",
            Some(&t),
            Some(deep.into_bytes()),
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = create(&api, &t, json!({"name": "n", "min_ram": "lots"})).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("min_ram"), "{}", r.text);
    let r = create(&api, &t, json!({"name": "n", "os_version": 12})).await;
    assert!(
        r.text.contains("custom properties are strings"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn listing_pages_with_a_next_link_and_hides_other_projects_images() {
    let api = Api::new().await;
    let t = api.admin_token.clone();
    for n in ["a", "b", "c"] {
        create(&api, &t, json!({"name": n, "visibility": "private"})).await;
    }
    let r = get(&api, &t, "/image/v2/images?limit=2&sort=name:asc").await;
    let names: Vec<&str> = r.body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["a", "b"]);
    let next = r.body["next"].as_str().expect("a next link").to_string();
    assert!(next.starts_with("/v2/images?"), "{next}");
    let r = get(&api, &t, &format!("/image{next}")).await;
    let names: Vec<&str> = r.body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["c"]);
    assert!(r.body.get("next").is_none());

    let (_, _, member) = api.member("mo", "mos").await;
    let r = api
        .call(Method::GET, "/image/v2/images", Some(&member), None)
        .await;
    assert_eq!(r.body["images"], json!([]));
    let any = get(&api, &t, "/image/v2/images?limit=1").await.body["images"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .call(
            Method::GET,
            &format!("/image/v2/images/{any}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = api
        .call(
            Method::DELETE,
            &format!("/image/v2/images/{any}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = api.call(Method::GET, "/image/v2/images", None, None).await;
    assert_eq!(r.status, 401);
    let r = get(&api, &t, "/image/v2/images?sort_key=secret").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn filter_operators_and_the_import_flow_over_http() {
    let api = Api::new().await;
    let t = api.admin_token.clone();
    let mut ids = Vec::new();
    for name in ["in-a", "in-b", "in-c"] {
        let r = create(
            &api,
            &t,
            json!({"name": name, "disk_format": "raw", "container_format": "bare"}),
        )
        .await;
        assert_eq!(
            r.headers["openstack-image-import-methods"], "glance-direct",
            "clients learn they may import"
        );
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let names = |r: &Reply| {
        let mut v: Vec<String> = r.body["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let r = get(&api, &t, "/image/v2/images?name=in:in-a,in-c").await;
    assert_eq!(names(&r), vec!["in-a", "in-c"]);
    let r = get(
        &api,
        &t,
        &format!("/image/v2/images?id=in:{},{}", ids[1], ids[2]),
    )
    .await;
    assert_eq!(names(&r), vec!["in-b", "in-c"]);
    let r = get(&api, &t, "/image/v2/images?created_at=gte:not-a-time").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("ISO 8601"));
    let r = get(&api, &t, "/image/v2/images?size_min=lots").await;
    assert_eq!(r.status, 400);

    // Import: discovery, stage (uploading), import (202), the task, active.
    let r = get(&api, &t, "/image/v2/info/import").await;
    assert_eq!(r.body["import-methods"]["value"], json!(["glance-direct"]));
    let id = &ids[0];
    let data = vec![9u8; 70_000];
    let import = |method: &str| json!({"method": {"name": method}});
    let path = format!("/image/v2/images/{id}/import");
    let r = api
        .call(Method::POST, &path, Some(&t), Some(import("glance-direct")))
        .await;
    assert_eq!(r.status, 409, "nothing staged yet: {}", r.text);
    let r = api
        .raw(
            Method::PUT,
            &format!("/image/v2/images/{id}/stage"),
            Some(&t),
            Some(data.clone()),
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        get(&api, &t, &format!("/image/v2/images/{id}")).await.body["status"],
        "uploading"
    );
    let r = api
        .call(Method::POST, &path, Some(&t), Some(import("web-download")))
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .call(Method::POST, &path, Some(&t), Some(import("glance-direct")))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let mut image = Value::Null;
    for _ in 0..200 {
        image = get(&api, &t, &format!("/image/v2/images/{id}")).await.body;
        if image["status"] == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(image["status"], "active");
    assert_eq!(image["size"], 70_000);
    // The job's row says it succeeded just after the image turned active (its end is
    // recorded after the activating commit): wait for it, boundedly.
    let mut r = get(&api, &t, &format!("/image/v2/images/{id}/tasks")).await;
    for _ in 0..100 {
        if r.body["tasks"][0]["status"] != "processing" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        r = get(&api, &t, &format!("/image/v2/images/{id}/tasks")).await;
    }
    let task = &r.body["tasks"][0];
    assert_eq!(task["type"], "api_image_import");
    assert_eq!(task["status"], "success");
    assert_eq!(task["result"]["image_id"], id.as_str());
    assert_eq!(image["os_glance_import_task"], task["id"]);
    let r = get(
        &api,
        &t,
        &format!("/image/v2/tasks/{}", task["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(r.status, 200);
}

/// What a client written for Glance sends and must get: the older JSON-patch form
/// (`{"replace": "/name", "value": …}`), `member_status` deciding which shared images
/// are listed, and a listing with a thousand filters answered 400, not 500.
#[tokio::test]
async fn older_patch_form_member_status_and_a_thousand_filters() {
    let api = Api::new().await;
    let t = api.admin_token.clone();
    let id = create(&api, &t, json!({"name": "old", "visibility": "shared"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/image/v2/images/{id}");
    let old =
        json!([{"replace": "/name", "value": "renamed"}, {"add": "/os_distro", "value": "debian"}]);
    for ct in [
        "application/openstack-images-v2.0-json-patch",
        "application/openstack-images-v2.1-json-patch",
    ] {
        let r = api
            .raw(
                Method::PATCH,
                &path,
                Some(&t),
                Some(old.to_string().into_bytes()),
                &[("content-type", ct)],
            )
            .await;
        assert_eq!(r.status, 200, "{ct}: {}", r.text);
        assert_eq!(r.body["name"], "renamed");
        assert_eq!(r.body["os_distro"], "debian");
    }
    let r = api
        .raw(
            Method::PATCH,
            &path,
            Some(&t),
            Some(json!([{"value": "x"}]).to_string().into_bytes()),
            &[(
                "content-type",
                "application/openstack-images-v2.0-json-patch",
            )],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("needs an 'op'"), "{}", r.text);

    // Shared with a project that has not decided yet: listed only when it asks for
    // pending images; after accepting, by default.
    let (project, _, member) = api.member("ms", "ms-project").await;
    let r = api
        .call(
            Method::POST,
            &format!("{path}/members"),
            Some(&t),
            Some(json!({"member": project})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids = |r: &Reply| -> Vec<String> {
        r.body["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = |q: &'static str| {
        let (api, member) = (&api, member.clone());
        async move {
            let r = get(api, &member, &format!("/image/v2/images{q}")).await;
            assert_eq!(r.status, 200, "{q}: {}", r.text);
            r
        }
    };
    assert!(!ids(&listed("").await).contains(&id));
    assert!(ids(&listed("?member_status=pending").await).contains(&id));
    assert!(ids(&listed("?visibility=shared&member_status=pending").await).contains(&id));
    assert!(ids(&listed("?member_status=all").await).contains(&id));
    assert!(!ids(&listed("?member_status=rejected").await).contains(&id));
    let r = get(&api, &member, "/image/v2/images?member_status=maybe").await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("member_status"), "{}", r.text);
    let r = api
        .call(
            Method::PUT,
            &format!("{path}/members/{project}"),
            Some(&member),
            Some(json!({"status": "accepted"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(ids(&listed("").await).contains(&id));
    assert!(!ids(&listed("?member_status=pending").await).contains(&id));
    // Made private again, it is its owner's alone: no member lists it any more.
    let private = json!([{"op": "replace", "path": "/visibility", "value": "private"}]);
    let r = api
        .raw(
            Method::PATCH,
            &path,
            Some(&t),
            Some(private.to_string().into_bytes()),
            &[(
                "content-type",
                "application/openstack-images-v2.1-json-patch",
            )],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!ids(&listed("?member_status=all").await).contains(&id));
    assert!(!ids(&listed("").await).contains(&id));

    // A thousand filters of each kind: a 400 saying why, never a 500.
    // Properties, tags and times are each a condition: past 64 a 400; a repeated name
    // is one value (the last), so that listing simply answers.
    for (make, want) in [
        ((|i: usize| format!("p{i}=x")) as fn(usize) -> String, 400),
        (|i| format!("tag=t{i}"), 400),
        (|_| "created_at=gte:2026-01-01T00:00:00Z".to_string(), 400),
        (|i| format!("name=n{i}"), 200),
    ] {
        let q: Vec<String> = (0..1000).map(make).collect();
        let r = get(&api, &t, &format!("/image/v2/images?{}", q.join("&"))).await;
        assert_eq!(r.status, want, "{}: {}", q[1], r.text);
        if want == 400 {
            assert!(r.text.contains("at most 64"), "{}", r.text);
        }
    }
    let r = get(
        &api,
        &t,
        &format!(
            "/image/v2/images?{}",
            (0..65)
                .map(|i| format!("p{i}=x"))
                .collect::<Vec<_>>()
                .join("&")
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = get(
        &api,
        &t,
        &format!(
            "/image/v2/images?{}",
            (0..64)
                .map(|i| format!("p{i}=x"))
                .collect::<Vec<_>>()
                .join("&")
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// An admin creates an image for another project (Glance's `owner`) and moves it
/// later; a member may do neither.
#[tokio::test]
async fn an_admin_sets_an_images_owner_on_create() {
    let api = Api::new().await;
    let t = api.admin_token.clone();
    let (project, _, member) = api.member("ow", "ow-project").await;
    let r = create(
        &api,
        &t,
        json!({"name": "given", "visibility": "private", "owner": project}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["owner"], project);
    let id = r.body["id"].as_str().unwrap().to_string();
    let theirs = get(&api, &member, "/image/v2/images").await;
    assert!(
        theirs.text.contains(&id),
        "the project sees its image: {}",
        theirs.text
    );
    let r = create(
        &api,
        &member,
        json!({"name": "gift", "owner": "someone-else"}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("Only an admin"), "{}", r.text);
    let r = create(&api, &t, json!({"name": "bad", "owner": 7})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Later an admin gives it to another project (the quota side: the image crate's
    // owner.rs); the member's project no longer sees it. A member cannot move it.
    let patch = [(
        "content-type",
        "application/openstack-images-v2.1-json-patch",
    )];
    let give = |to: &str| {
        json!([{"op": "replace", "path": "/owner", "value": to}])
            .to_string()
            .into_bytes()
    };
    let path = format!("/image/v2/images/{id}");
    let r = api
        .raw(
            Method::PATCH,
            &path,
            Some(&member),
            Some(give("elsewhere")),
            &patch,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = api
        .raw(
            Method::PATCH,
            &path,
            Some(&t),
            Some(give("elsewhere")),
            &patch,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["owner"], "elsewhere");
    let theirs = get(&api, &member, "/image/v2/images").await;
    assert!(!theirs.text.contains(&id), "{}", theirs.text);
    assert_eq!(get(&api, &member, &path).await.status, 404);
}
