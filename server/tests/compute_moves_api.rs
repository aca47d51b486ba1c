//! The Nova v2.1 actions that change what a server is or where it runs, server groups
//! and migrations, over simulated hosts: status codes, bodies and microversions as
//! clients see them (resize and confirm, createImage's image_id and Location, rebuild's
//! answer, rescue, shelve, groups' `policies` before 2.64 and `policy`/`rules` after).

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{json, Value};

async fn nova(api: &Api, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    api.raw(
        method,
        &format!("/compute/v2.1{path}"),
        Some(token),
        body.map(|b| b.to_string().into_bytes()),
        &[
            ("content-type", "application/json"),
            ("openstack-api-version", "compute 2.100"),
        ],
    )
    .await
}

async fn wait_status(api: &Api, token: &str, id: &str, want: &str) -> Value {
    for _ in 0..200 {
        let r = nova(api, Method::GET, &format!("/servers/{id}"), token, None).await;
        if r.body["server"]["status"] == want && r.body["server"]["OS-EXT-STS:task_state"].is_null()
        {
            return r.body["server"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server {id} never became {want}");
}

async fn setup() -> (Api, String, String) {
    let api = Api::new().await;
    api.sim_host("sim-1", 8, 16384).await;
    api.sim_host("sim-2", 8, 8192).await;
    let (_, _, token) = api.member("alice", "alpha").await;
    let admin = api.admin_token.clone();
    let r = nova(
        &api,
        Method::POST,
        "/flavors",
        &admin,
        Some(json!({"flavor": {"name": "m.test", "vcpus": 1, "ram": 1024, "disk": 1, "id": "t1"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api
        .call(Method::POST, "/image/v2/images", Some(&admin), Some(json!({"name": "boot", "disk_format": "raw", "container_format": "bare", "visibility": "public"})))
        .await;
    let image = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .raw(
            Method::PUT,
            &format!("/image/v2/images/{image}/file"),
            Some(&admin),
            Some(vec![0u8; 4096]),
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    (api, token, image)
}

async fn nova_at(
    api: &Api,
    mv: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let version = format!("compute {mv}");
    api.raw(
        method,
        &format!("/compute/v2.1{path}"),
        Some(token),
        body.map(|b| b.to_string().into_bytes()),
        &[
            ("content-type", "application/json"),
            ("openstack-api-version", &version),
        ],
    )
    .await
}

#[tokio::test]
async fn resize_snapshot_rebuild_and_groups_answer_as_nova_does() {
    let (api, token, image) = setup().await;
    let admin = api.admin_token.clone();
    let r = nova(
        &api,
        Method::POST,
        "/flavors",
        &admin,
        Some(json!({"flavor": {"name": "m.big", "vcpus": 2, "ram": 2048, "disk": 1, "id": "t2"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A group at 2.64 (policy and rules) and as older clients see it (policies).
    let r = nova(&api, Method::POST, "/os-server-groups", &token,
        Some(json!({"server_group": {"name": "apart", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let group = r.body["server_group"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["server_group"]["rules"]["max_server_per_host"], 2);
    let old = nova_at(
        &api,
        "2.15",
        Method::GET,
        &format!("/os-server-groups/{group}"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        old.body["server_group"]["policies"],
        json!(["anti-affinity"])
    );
    assert!(old.body["server_group"].get("policy").is_none());
    for bad in [
        json!({"server_group": {"name": "x", "policy": "sometimes"}}),
        json!({"server_group": {"name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}}),
        json!({"server_group": {"name": "x", "policy": "anti-affinity", "rules": {"other": 1}}}),
        json!({"server_group": {"policy": "affinity"}}),
    ] {
        let r = nova(
            &api,
            Method::POST,
            "/os-server-groups",
            &token,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(r.body["badRequest"]["message"].is_string(), "{}", r.text);
    }
    let r = nova(
        &api,
        Method::POST,
        "/servers",
        &token,
        Some(json!({
        "server": {"name": "g", "imageRef": image, "flavorRef": "t1", "networks": "none"},
        "OS-SCH-HNT:scheduler_hints": {"group": group}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    wait_status(&api, &token, &id, "ACTIVE").await;
    let g = nova(
        &api,
        Method::GET,
        &format!("/os-server-groups/{group}"),
        &token,
        None,
    )
    .await;
    assert_eq!(g.body["server_group"]["members"], json!([id]));

    let act = |body: Value| {
        let (api, token, id) = (&api, token.clone(), id.clone());
        async move {
            nova(
                api,
                Method::POST,
                &format!("/servers/{id}/action"),
                &token,
                Some(body),
            )
            .await
        }
    };
    // Resize: bad bodies 400, then 202, VERIFY_RESIZE, confirm 204.
    assert_eq!(
        act(json!({"resize": {}})).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        act(json!({"resize": {"flavorRef": "nope"}})).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        act(json!({"resize": "t2"})).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = act(json!({"confirmResize": null})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = act(json!({"resize": {"flavorRef": "t2"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let s = wait_status(&api, &token, &id, "VERIFY_RESIZE").await;
    assert_eq!(s["flavor"]["original_name"], "m.big");
    assert_eq!(s["OS-EXT-STS:vm_state"], "resized");
    let m = nova(
        &api,
        Method::GET,
        &format!("/servers/{id}/migrations"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        m.body["migrations"][0]["migration_type"], "resize",
        "{}",
        m.text
    );
    let r = act(json!({"confirmResize": null})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    wait_status(&api, &token, &id, "ACTIVE").await;
    let all = nova(&api, Method::GET, "/os-migrations", &admin, None).await;
    assert_eq!(
        all.body["migrations"][0]["status"], "confirmed",
        "{}",
        all.text
    );
    let mine = nova(&api, Method::GET, "/os-migrations", &token, None).await;
    assert_eq!(mine.status, StatusCode::FORBIDDEN);
    // Members may not move servers between hosts.
    let r = act(json!({"migrate": null})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = act(json!({"os-migrateLive": {"host": null, "block_migration": "auto"}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // createImage: the image's id in the body (2.45) and its location in a header.
    let r = act(json!({"createImage": {"name": "snap", "metadata": {"k": "v"}}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let snap = r.body["image_id"].as_str().unwrap().to_string();
    assert!(r.headers["location"].to_str().unwrap().ends_with(&snap));
    wait_status(&api, &token, &id, "ACTIVE").await;
    let img = api
        .call(
            Method::GET,
            &format!("/image/v2/images/{snap}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(img.body["image_type"], "snapshot", "{}", img.text);
    assert_eq!(img.body["k"], "v");
    let r = act(json!({"createImage": {}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Rebuild answers with the server; an unknown image is 400.
    let r = act(json!({"rebuild": {"imageRef": "00000000-0000-0000-0000-000000000000"}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = act(json!({"rebuild": {"imageRef": image, "name": "again"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["server"]["name"], "again");
    wait_status(&api, &token, &id, "ACTIVE").await;
    // Rescue 200, then only unrescue; shelve, then unshelve.
    let r = act(json!({"rescue": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    wait_status(&api, &token, &id, "RESCUE").await;
    let r = act(json!({"os-stop": null})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(
        act(json!({"unrescue": null})).await.status,
        StatusCode::ACCEPTED
    );
    wait_status(&api, &token, &id, "ACTIVE").await;
    assert_eq!(
        act(json!({"shelve": null})).await.status,
        StatusCode::ACCEPTED
    );
    wait_status(&api, &token, &id, "SHELVED_OFFLOADED").await;
    let r = act(json!({"unshelve": {"availability_zone": "elsewhere"}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        act(json!({"unshelve": null})).await.status,
        StatusCode::ACCEPTED
    );
    wait_status(&api, &token, &id, "ACTIVE").await;
    // Another project: not there.
    let (_, _, other) = api.member("olga", "omega").await;
    let r = nova(
        &api,
        Method::POST,
        &format!("/servers/{id}/action"),
        &other,
        Some(json!({"resize": {"flavorRef": "t2"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = nova(
        &api,
        Method::GET,
        &format!("/os-server-groups/{group}"),
        &other,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = nova(
        &api,
        Method::DELETE,
        &format!("/os-server-groups/{group}"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}
