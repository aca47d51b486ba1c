//! The every-endpoint fixture's compute: alpha's server (with its metadata, tags,
//! key pair, server group and confirmed resize), a public image and flavor, and the
//! simulated host they run on.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

/// A valid OpenStack public key for key-pair imports.
pub const PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEC2jjVGNZZGQXmQQpwyVfZ6Ph00gZkVuAFFopcKQvi0 fixture";

pub async fn compute_world(
    api: &Api,
    mia: &str,
    rita: &str,
) -> (String, String, String, String, String, String, String) {
    api.sim_host("sim-endpoints", 64, 262_144).await;
    let admin = api.admin_token.clone();
    let nova = |m: Method, path: String, token: String, body: Value| async move {
        api.raw(
            m,
            &format!("/compute/v2.1{path}"),
            Some(&token),
            Some(body.to_string().into_bytes()),
            &[
                ("content-type", "application/json"),
                ("openstack-api-version", "compute 2.100"),
            ],
        )
        .await
    };
    let r = nova(
        Method::POST,
        "/flavors".into(),
        admin.clone(),
        json!({"flavor": {"name": "t1", "id": "t1", "vcpus": 1, "ram": 64, "disk": 1}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = nova(
        Method::POST,
        "/flavors/t1/os-extra_specs".into(),
        admin.clone(),
        json!({"extra_specs": {"hw:cpu_policy": "shared"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api
        .call(Method::POST, "/image/v2/images", Some(&admin), Some(json!({"name": "public-boot", "disk_format": "raw", "container_format": "bare", "visibility": "public"})))
        .await;
    let public_image = r.body["id"].as_str().expect("image").to_string();
    let r = api
        .raw(
            Method::PUT,
            &format!("/image/v2/images/{public_image}/file"),
            Some(&admin),
            Some(vec![0u8; 1024]),
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = nova(Method::POST, "/servers".into(), mia.to_string(), json!({"server": {"name": "alpha-vm", "imageRef": public_image, "flavorRef": "t1", "networks": "none", "metadata": {"role": "web"}, "tags": ["t1"]}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let server = r.body["server"]["id"].as_str().expect("server").to_string();
    let r = api
        .raw(
            Method::GET,
            &format!("/compute/v2.1/servers/{server}/os-instance-actions"),
            Some(mia),
            None,
            &[],
        )
        .await;
    let request = r.body["instanceActions"][0]["request_id"]
        .as_str()
        .expect("action")
        .to_string();
    let r = nova(
        Method::POST,
        "/os-keypairs".into(),
        rita.to_string(),
        json!({"keypair": {"name": "rita-key", "public_key": PUBLIC_KEY}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = api
        .raw(
            Method::GET,
            "/compute/v2.1/os-hypervisors",
            Some(&admin),
            None,
            &[],
        )
        .await;
    let host = r.body["hypervisors"][0]["id"]
        .as_str()
        .expect("host")
        .to_string();
    // A server group of alpha's, and a resize of its server (confirmed), so that its
    // migration is there to show.
    let r = nova(
        Method::POST,
        "/os-server-groups".into(),
        mia.to_string(),
        json!({"server_group": {"name": "alpha-group", "policy": "anti-affinity"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let server_group = r.body["server_group"]["id"]
        .as_str()
        .expect("group")
        .to_string();
    let r = nova(
        Method::POST,
        "/flavors".into(),
        admin.clone(),
        json!({"flavor": {"name": "t2", "id": "t2", "vcpus": 2, "ram": 128, "disk": 1}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let until = |want: &'static str| {
        let server = server.clone();
        async move {
            for _ in 0..200 {
                let r = api
                    .raw(
                        Method::GET,
                        &format!("/compute/v2.1/servers/{server}"),
                        Some(mia),
                        None,
                        &[],
                    )
                    .await;
                if r.body["server"]["status"] == want {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("the fixture's server did not become {want}");
        }
    };
    until("ACTIVE").await;
    let action = |body: Value| {
        nova(
            Method::POST,
            format!("/servers/{server}/action"),
            mia.to_string(),
            body,
        )
    };
    let r = action(json!({"resize": {"flavorRef": "t2"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    until("VERIFY_RESIZE").await;
    let r = action(json!({"confirmResize": null})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    until("ACTIVE").await;
    (
        server,
        request,
        "t1".into(),
        public_image,
        host,
        server_group,
        "1".into(),
    )
}
