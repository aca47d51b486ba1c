//! The Nova v2.1 API over simulated hosts, as clients see it: version discovery and
//! microversions, flavors (private ones with access lists, extra specs), key pairs,
//! servers from create to ACTIVE to gone, actions, console output, instance actions,
//! limits and quota sets with what is used, hypervisors and services, and Nova's error
//! bodies for bad input, over-quota and other projects' servers.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{json, Value};

const MV: &str = "2.100";

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

#[tokio::test]
async fn versions_and_microversions() {
    let api = Api::new().await;
    let r = api.call(Method::GET, "/compute/", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["versions"][0]["version"], "2.100");
    assert_eq!(r.body["versions"][0]["min_version"], "2.1");
    let r = api.call(Method::GET, "/compute/v2.1/", None, None).await;
    assert_eq!(r.body["version"]["id"], "v2.1");
    let t = api.admin_token.clone();
    let r = api
        .raw(
            Method::GET,
            "/compute/v2.1/flavors",
            Some(&t),
            None,
            &[("x-openstack-nova-api-version", "2.60")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["openstack-api-version"], "compute 2.60");
    assert_eq!(r.headers["x-openstack-nova-api-version"], "2.60");
    let r = api
        .raw(
            Method::GET,
            "/compute/v2.1/flavors",
            Some(&t),
            None,
            &[("openstack-api-version", "compute latest")],
        )
        .await;
    assert_eq!(r.headers["openstack-api-version"], "compute 2.100");
    let r = api
        .raw(
            Method::GET,
            "/compute/v2.1/flavors",
            Some(&t),
            None,
            &[("openstack-api-version", "compute 2.999")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert!(r.text.contains("maximum is 2.100"), "{}", r.text);
    let r = api
        .raw(
            Method::GET,
            "/compute/v2.1/flavors",
            Some(&t),
            None,
            &[("openstack-api-version", "compute two")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The catalog names the compute endpoint.
    let r = api
        .call(Method::GET, "/identity/v3/auth/catalog", Some(&t), None)
        .await;
    assert!(r.text.contains("/compute/v2.1"), "{}", r.text);
    // The seeded flavors are a runtime matter; flavors exist only as created here.
    let r = nova(&api, Method::GET, "/flavors", &t, None).await;
    assert_eq!(r.body["flavors"], json!([]));
}

#[tokio::test]
async fn a_server_goes_from_create_to_active_to_gone() {
    let (api, token, image) = setup().await;
    let r = nova(
        &api,
        Method::POST,
        "/servers",
        &token,
        Some(json!({"server": {
        "name": "web", "imageRef": image, "flavorRef": "t1", "networks": "none",
        "metadata": {"role": "web"}, "tags": ["blue"], "description": "a web server"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["server"]["id"].as_str().unwrap().to_string();
    assert!(r.headers["location"].to_str().unwrap().ends_with(&id));
    let s = wait_status(&api, &token, &id, "ACTIVE").await;
    assert_eq!(s["OS-EXT-STS:vm_state"], "active");
    assert_eq!(s["OS-EXT-STS:power_state"], 1);
    assert_eq!(s["flavor"]["original_name"], "m.test");
    assert_eq!(s["flavor"]["ram"], 1024);
    assert_eq!(s["image"]["id"], image.as_str());
    assert_eq!(s["metadata"]["role"], "web");
    assert_eq!(s["tags"], json!(["blue"]));
    assert_eq!(s["description"], "a web server");
    assert_eq!(s["OS-EXT-AZ:availability_zone"], "nova");
    assert_eq!(s["hostId"].as_str().unwrap().len(), 56);
    // Host attributes are for admins only.
    assert!(s.get("OS-EXT-SRV-ATTR:host").is_none());
    let a = nova(
        &api,
        Method::GET,
        &format!("/servers/{id}"),
        &api.admin_token,
        None,
    )
    .await;
    assert_eq!(a.body["server"]["OS-EXT-SRV-ATTR:host"], "sim-1");

    // Actions and their log.
    for (body, status) in [
        (json!({"os-stop": null}), "SHUTOFF"),
        (json!({"os-start": null}), "ACTIVE"),
        (json!({"reboot": {"type": "HARD"}}), "ACTIVE"),
        (json!({"pause": null}), "PAUSED"),
        (json!({"unpause": null}), "ACTIVE"),
    ] {
        let r = nova(
            &api,
            Method::POST,
            &format!("/servers/{id}/action"),
            &token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{body}: {}", r.text);
        wait_status(&api, &token, &id, status).await;
    }
    let r = nova(
        &api,
        Method::POST,
        &format!("/servers/{id}/action"),
        &token,
        Some(json!({"os-start": null})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body["conflictingRequest"]["message"]
            .as_str()
            .unwrap()
            .contains("vm_state active"),
        "{}",
        r.text
    );
    let r = nova(
        &api,
        Method::POST,
        &format!("/servers/{id}/action"),
        &token,
        Some(json!({"os-getConsoleOutput": {"length": 10}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["output"].is_string());
    let r = nova(
        &api,
        Method::GET,
        &format!("/servers/{id}/os-instance-actions"),
        &token,
        None,
    )
    .await;
    let actions: Vec<&str> = r.body["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.last(), Some(&"create"));
    assert!(
        actions.contains(&"stop") && actions.contains(&"pause"),
        "{actions:?}"
    );
    let req = r.body["instanceActions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = nova(
        &api,
        Method::GET,
        &format!("/servers/{id}/os-instance-actions/{req}"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        r.body["instanceAction"]["events"][0]["result"], "Success",
        "{}",
        r.text
    );

    // Metadata and tags.
    let r = nova(
        &api,
        Method::PUT,
        &format!("/servers/{id}/metadata/tier"),
        &token,
        Some(json!({"meta": {"tier": "1"}})),
    )
    .await;
    assert_eq!(r.body["meta"]["tier"], "1", "{}", r.text);
    let r = nova(
        &api,
        Method::PUT,
        &format!("/servers/{id}/tags/green"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = nova(
        &api,
        Method::GET,
        &format!("/servers/{id}/tags"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.body["tags"], json!(["blue", "green"]));
    let r = nova(
        &api,
        Method::GET,
        "/servers/detail?tags=green",
        &token,
        None,
    )
    .await;
    assert_eq!(r.body["servers"].as_array().unwrap().len(), 1);

    // Gone.
    let r = nova(
        &api,
        Method::DELETE,
        &format!("/servers/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for _ in 0..200 {
        let r = nova(&api, Method::GET, &format!("/servers/{id}"), &token, None).await;
        if r.status == StatusCode::NOT_FOUND {
            assert!(r.body["itemNotFound"]["message"].is_string(), "{}", r.text);
            let h = nova(
                &api,
                Method::GET,
                "/os-hypervisors/detail",
                &api.admin_token,
                Some(json!(null)),
            )
            .await;
            let _ = h;
            let stats = api
                .raw(
                    Method::GET,
                    "/compute/v2.1/os-hypervisors/statistics",
                    Some(&api.admin_token),
                    None,
                    &[("openstack-api-version", "compute 2.87")],
                )
                .await;
            assert_eq!(
                stats.body["hypervisor_statistics"]["running_vms"], 0,
                "{}",
                stats.text
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server was not deleted");
}

#[tokio::test]
async fn over_quota_is_403_with_the_numbers_and_others_get_404() {
    let (api, token, image) = setup().await;
    let alpha = api
        .call(
            Method::GET,
            "/identity/v3/projects?name=alpha",
            Some(&api.admin_token),
            None,
        )
        .await
        .body["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = nova(
        &api,
        Method::PUT,
        &format!("/os-quota-sets/{alpha}"),
        &api.admin_token,
        Some(json!({"quota_set": {"instances": 2}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["quota_set"]["instances"], 2);
    let create = json!({"server": {"name": "q", "imageRef": image, "flavorRef": "t1", "networks": "none", "min_count": 2}});
    let r = nova(&api, Method::POST, "/servers", &token, Some(create)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let r = nova(&api, Method::POST, "/servers", &token, Some(json!({"server": {"name": "q3", "imageRef": image, "flavorRef": "t1", "networks": "none"}}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(
        r.body["forbidden"]["message"],
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances."
    );
    // Limits and quota detail show what is used.
    let r = nova(&api, Method::GET, "/limits", &token, None).await;
    assert_eq!(
        r.body["limits"]["absolute"]["totalInstancesUsed"], 2,
        "{}",
        r.text
    );
    assert_eq!(r.body["limits"]["absolute"]["maxTotalInstances"], 2);
    assert_eq!(r.body["limits"]["absolute"]["totalRAMUsed"], 2048);
    let r = nova(
        &api,
        Method::GET,
        &format!("/os-quota-sets/{alpha}/detail"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.body["quota_set"]["cores"]["in_use"], 2, "{}", r.text);
    // Another project's member: the servers are not there for it.
    let (_, _, bob) = api.member("bob", "beta").await;
    let r = nova(&api, Method::GET, "/servers/detail", &token, None).await;
    let id = r.body["servers"][0]["id"].as_str().unwrap().to_string();
    for (m, path, body) in [
        (Method::GET, format!("/servers/{id}"), None),
        (Method::DELETE, format!("/servers/{id}"), None),
        (
            Method::POST,
            format!("/servers/{id}/action"),
            Some(json!({"os-stop": null})),
        ),
    ] {
        let r = nova(&api, m, &path, &bob, body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
    }
    let r = nova(&api, Method::GET, "/servers", &bob, None).await;
    assert_eq!(r.body["servers"], json!([]));
    // Paging with next links.
    let r = nova(&api, Method::GET, "/servers?limit=1", &token, None).await;
    let next = r.body["servers_links"][0]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let path = next.split("/compute/v2.1").nth(1).unwrap().to_string();
    let r2 = nova(&api, Method::GET, &path, &token, None).await;
    assert_eq!(r2.body["servers"].as_array().unwrap().len(), 1);
    assert_ne!(r2.body["servers"][0]["id"], r.body["servers"][0]["id"]);
    assert!(r2.body.get("servers_links").is_none());
}

#[tokio::test]
async fn bad_input_gets_novas_error_body_never_a_500() {
    let (api, token, image) = setup().await;
    let big = "A".repeat(1_000_000);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"server": {"name": 5, "imageRef": image, "flavorRef": "t1", "networks": "none"}}),
            400,
            "name",
        ),
        (
            json!({"server": {"imageRef": image, "flavorRef": "t1", "networks": "none"}}),
            400,
            "'name' is a required",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": "nope", "networks": "none"}}),
            400,
            "Flavor nope",
        ),
        (
            json!({"server": {"name": "x", "imageRef": "0b5c7e5e-94a4-4b8e-9f0e-5f5d1c7b2a11", "flavorRef": "t1", "networks": "none"}}),
            400,
            "image",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": "t1", "networks": "none", "min_count": -3}}),
            400,
            "min_count",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": "t1", "networks": "none", "max_count": "many"}}),
            400,
            "max_count",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": "t1", "networks": "none", "user_data": big}}),
            400,
            "user_data",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": "t1"}}),
            400,
            "networks",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": "t1", "networks": [{"uuid": "n"}]}}),
            400,
            "Network n could not be found",
        ),
        (
            json!({"server": {"name": "</name><script>", "imageRef": image, "flavorRef": "t1", "networks": "none", "metadata": {"k": 5}}}),
            400,
            "metadata",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": "t1", "networks": [{"port": "p", "colour": "red"}]}}),
            400,
            "unknown key 'colour'",
        ),
        (json!({"server": "not an object"}), 400, "server"),
        (json!([1, 2]), 400, "Invalid"),
    ];
    for (body, status, word) in cases {
        let r = nova(&api, Method::POST, "/servers", &token, Some(body.clone())).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text);
        let msg = r.body["badRequest"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("Nova body: {}", r.text));
        assert!(msg.contains(word), "{word:?} not in {msg}");
    }
    let r = api
        .raw(
            Method::POST,
            "/compute/v2.1/servers",
            Some(&token),
            Some(b"{not json".to_vec()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    for (m, path, body) in [
        (Method::GET, "/servers/not-a-server".to_string(), None),
        (Method::GET, "/flavors/nope".to_string(), None),
        (Method::GET, "/os-keypairs/nope".to_string(), None),
    ] {
        let r = nova(&api, m, &path, &token, body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert!(r.body["itemNotFound"]["message"].is_string());
    }
    let r = nova(&api, Method::GET, "/servers?limit=-1", &token, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = nova(&api, Method::GET, "/servers?status=NOPE", &token, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = nova(&api, Method::GET, "/servers?name=(", &token, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Nothing was half-made.
    let r = nova(&api, Method::GET, "/servers", &token, None).await;
    assert_eq!(r.body["servers"], json!([]));
}

#[tokio::test]
async fn private_flavors_key_pairs_and_admin_views() {
    let (api, token, _) = setup().await;
    let admin = api.admin_token.clone();
    let alpha = api
        .call(
            Method::GET,
            "/identity/v3/projects?name=alpha",
            Some(&admin),
            None,
        )
        .await
        .body["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = nova(&api, Method::POST, "/flavors", &admin, Some(json!({"flavor": {"name": "secret", "vcpus": 2, "ram": 2048, "disk": 10, "os-flavor-access:is_public": false}}))).await;
    let fid = r.body["flavor"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["flavor"]["os-flavor-access:is_public"], false);
    let r = nova(&api, Method::GET, &format!("/flavors/{fid}"), &token, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = nova(
        &api,
        Method::POST,
        &format!("/flavors/{fid}/action"),
        &admin,
        Some(json!({"addTenantAccess": {"tenant": alpha}})),
    )
    .await;
    assert_eq!(
        r.body["flavor_access"][0]["tenant_id"],
        alpha.as_str(),
        "{}",
        r.text
    );
    let r = nova(&api, Method::GET, &format!("/flavors/{fid}"), &token, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = nova(&api, Method::GET, "/flavors/detail", &token, None).await;
    assert_eq!(r.body["flavors"].as_array().unwrap().len(), 2);
    let r = nova(
        &api,
        Method::POST,
        &format!("/flavors/{fid}/os-extra_specs"),
        &admin,
        Some(json!({"extra_specs": {"hw:cpu_policy": "dedicated"}})),
    )
    .await;
    assert_eq!(
        r.body["extra_specs"]["hw:cpu_policy"], "dedicated",
        "{}",
        r.text
    );
    let r = nova(
        &api,
        Method::POST,
        "/flavors",
        &token,
        Some(json!({"flavor": {"name": "mine", "vcpus": 1, "ram": 1, "disk": 1}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["forbidden"]["message"].is_string());

    // Key pairs: imported (fingerprinted) and generated (private key once).
    let r = api
        .raw(
            Method::POST,
            "/compute/v2.1/os-keypairs",
            Some(&token),
            Some(json!({"keypair": {"name": "gen"}}).to_string().into_bytes()),
            &[
                ("content-type", "application/json"),
                ("openstack-api-version", "compute 2.10"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body["keypair"]["private_key"]
        .as_str()
        .unwrap()
        .contains("PRIVATE KEY"));
    let public = r.body["keypair"]["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = nova(
        &api,
        Method::POST,
        "/os-keypairs",
        &token,
        Some(json!({"keypair": {"name": "gen2"}})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "2.92+ needs a public key: {}",
        r.text
    );
    let r = nova(
        &api,
        Method::POST,
        "/os-keypairs",
        &token,
        Some(json!({"keypair": {"name": "imp", "public_key": public}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["keypair"]["fingerprint"].as_str().unwrap().len(), 47);
    let r = nova(
        &api,
        Method::POST,
        "/os-keypairs",
        &token,
        Some(json!({"keypair": {"name": "bad", "public_key": "ssh-rsa garbage"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = nova(&api, Method::GET, "/os-keypairs", &token, None).await;
    assert_eq!(r.body["keypairs"].as_array().unwrap().len(), 2);
    let (_, _, bob) = api.member("bob", "beta").await;
    let r = nova(&api, Method::GET, "/os-keypairs/imp", &bob, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Admin views.
    let r = nova(&api, Method::GET, "/os-hypervisors/detail", &admin, None).await;
    assert_eq!(
        r.body["hypervisors"].as_array().unwrap().len(),
        2,
        "{}",
        r.text
    );
    let r = api
        .raw(
            Method::GET,
            "/compute/v2.1/os-hypervisors/detail",
            Some(&admin),
            None,
            &[("openstack-api-version", "compute 2.87")],
        )
        .await;
    let sim1 = r.body["hypervisors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hypervisor_hostname"] == "sim-1")
        .unwrap()
        .clone();
    assert_eq!(
        (sim1["vcpus"].as_i64(), sim1["memory_mb"].as_i64()),
        (Some(8), Some(16384))
    );
    let r = nova(
        &api,
        Method::GET,
        "/os-services?binary=nova-compute",
        &admin,
        None,
    )
    .await;
    let svc = r.body["services"][0]["id"].as_str().unwrap().to_string();
    let r = nova(
        &api,
        Method::PUT,
        &format!("/os-services/{svc}"),
        &admin,
        Some(json!({"status": "disabled", "disabled_reason": "maintenance"})),
    )
    .await;
    assert_eq!(r.body["service"]["status"], "disabled", "{}", r.text);
    let r = nova(&api, Method::GET, "/os-hypervisors", &token, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = nova(&api, Method::GET, "/os-availability-zone", &token, None).await;
    assert_eq!(r.body["availabilityZoneInfo"][0]["zoneName"], "nova");
    let _ = MV;
}
