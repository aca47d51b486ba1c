//! Keystone and Glance features an operator migrating from OpenStack meets: project
//! tag sub-resources, endpoint groups and project endpoint filters, the tasks list,
//! and metadata definitions (metadefs).

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{json, Value};

fn catalog_interfaces(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = body["token"]["catalog"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .map(|e| e["interface"].as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn project_tags_are_sub_resources_and_parallel_adds_all_land() {
    let api = Api::new().await;
    let (pid, _, member) = api.member("tina", "tagged").await;
    let base = format!("/identity/v3/projects/{pid}/tags");
    let r = api.admin(Method::PUT, &format!("{base}/blue"), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.headers["location"]
        .to_str()
        .unwrap()
        .ends_with(&format!("/projects/{pid}/tags/blue")));
    // A member reads them; only admins change them.
    let r = api
        .call(Method::GET, &format!("{base}/blue"), Some(&member), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api
        .call(Method::GET, &format!("{base}/green"), Some(&member), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = api
        .call(Method::PUT, &format!("{base}/red"), Some(&member), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Twenty tags added at once: every one is kept (each add locks the row first).
    let adds = (0..20).map(|i| {
        let api = &api;
        let path = format!("{base}/t{i}");
        async move { api.admin(Method::PUT, &path, None).await.status }
    });
    for s in futures_util::future::join_all(adds).await {
        assert_eq!(s, StatusCode::CREATED);
    }
    let r = api.call(Method::GET, &base, Some(&member), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["tags"].as_array().unwrap().len(), 21, "{}", r.text);
    // Replace all, remove one, clear.
    let r = api
        .admin(Method::PUT, &base, Some(json!({"tags": ["a", "b"]})))
        .await;
    assert_eq!(r.body, json!({"tags": ["a", "b"]}));
    let r = api.admin(Method::DELETE, &format!("{base}/a"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api.admin(Method::DELETE, &format!("{base}/a"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api
        .admin(Method::GET, "/identity/v3/projects?tags=b", None)
        .await;
    assert_eq!(
        r.body["projects"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
    let r = api
        .admin(Method::PUT, &base, Some(json!({"tags": ["x/y"]})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let many: Vec<String> = (0..81).map(|i| format!("m{i}")).collect();
    let r = api
        .admin(Method::PUT, &base, Some(json!({"tags": many})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api.admin(Method::DELETE, &base, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api.admin(Method::GET, &base, None).await;
    assert_eq!(r.body, json!({"tags": []}));
}

#[tokio::test]
async fn endpoint_groups_narrow_a_projects_catalog() {
    let api = Api::new().await;
    let (pid, _, _) = api.member("ella", "filtered").await;
    // Without filters the project's token carries every endpoint.
    let before = login_body(&api, "ella", "filtered").await;
    let all = catalog_interfaces(&before);
    assert!(
        all.contains(&"admin".to_string()) && all.contains(&"public".to_string()),
        "{all:?}"
    );

    // A group of admin endpoints, associated with the project.
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/OS-EP-FILTER/endpoint_groups",
            Some(json!({"endpoint_group": {"name": "admins", "filters": {"interface": "admin"}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let eg = r.body["endpoint_group"]["id"].as_str().unwrap().to_string();
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/OS-EP-FILTER/endpoint_groups/{eg}/endpoints"),
            None,
        )
        .await;
    let admin_endpoints = r.body["endpoints"].as_array().unwrap().clone();
    assert!(!admin_endpoints.is_empty());
    assert!(
        admin_endpoints.iter().all(|e| e["interface"] == "admin"),
        "{}",
        r.text
    );
    let assoc = format!("/identity/v3/OS-EP-FILTER/endpoint_groups/{eg}/projects/{pid}");
    let r = api.admin(Method::PUT, &assoc, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let after = login_body(&api, "ella", "filtered").await;
    let only = catalog_interfaces(&after);
    assert!(
        !only.is_empty() && only.iter().all(|i| i == "admin"),
        "{only:?}"
    );
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/OS-EP-FILTER/projects/{pid}/endpoint_groups"),
            None,
        )
        .await;
    assert_eq!(r.body["endpoint_groups"][0]["id"], eg.as_str());

    // One public endpoint associated directly joins them.
    let public = before["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .find(|e| e["interface"] == "public")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let direct = format!("/identity/v3/OS-EP-FILTER/projects/{pid}/endpoints/{public}");
    assert_eq!(
        api.admin(Method::PUT, &direct, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.admin(Method::GET, &direct, None).await.status,
        StatusCode::NO_CONTENT
    );
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/OS-EP-FILTER/endpoints/{public}/projects"),
            None,
        )
        .await;
    assert_eq!(r.body["projects"][0]["id"], pid.as_str(), "{}", r.text);
    let mixed = catalog_interfaces(&login_body(&api, "ella", "filtered").await);
    assert_eq!(
        mixed.iter().filter(|i| *i == "public").count(),
        1,
        "{mixed:?}"
    );

    // Bad filters are refused; a member may not see or change any of it.
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/OS-EP-FILTER/endpoint_groups",
            Some(json!({"endpoint_group": {"name": "bad", "filters": {"colour": "red"}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let member = api.login("ella", "pw-1", "filtered").await;
    let r = api
        .call(
            Method::GET,
            "/identity/v3/OS-EP-FILTER/endpoint_groups",
            Some(&member),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Deleting the group and the direct association gives the whole catalog back.
    let r = api
        .admin(
            Method::DELETE,
            &format!("/identity/v3/OS-EP-FILTER/endpoint_groups/{eg}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.admin(Method::DELETE, &direct, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.admin(Method::GET, &direct, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        catalog_interfaces(&login_body(&api, "ella", "filtered").await),
        all
    );
}

/// A password login's whole token body.
async fn login_body(api: &Api, user: &str, project: &str) -> Value {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": "pw-1"}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}},
    }});
    let r = api
        .call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

/// Create an image, stage `bytes` and import it; the image id once it is active.
async fn imported(api: &Api, token: &str, name: &str) -> String {
    imported_to(
        api,
        token,
        name,
        json!({"method": {"name": "glance-direct"}}),
    )
    .await
}

/// As [`imported`], with the import request's whole body.
async fn imported_to(api: &Api, token: &str, name: &str, import: Value) -> String {
    let r = api
        .call(
            Method::POST,
            "/image/v2/images",
            Some(token),
            Some(json!({"name": name, "disk_format": "raw", "container_format": "bare"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .raw(
            Method::PUT,
            &format!("/image/v2/images/{id}/stage"),
            Some(token),
            Some(vec![7u8; 4096]),
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = api
        .call(
            Method::POST,
            &format!("/image/v2/images/{id}/import"),
            Some(token),
            Some(import),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    for _ in 0..200 {
        let r = api
            .call(
                Method::GET,
                &format!("/image/v2/images/{id}/tasks"),
                Some(token),
                None,
            )
            .await;
        if r.body["tasks"][0]["status"] == "success" {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import of {name} did not succeed");
}

#[tokio::test]
async fn tasks_are_listed_per_project_paged_and_filtered() {
    let api = Api::new().await;
    let (_, _, alice) = api.member("tess", "tasks-a").await;
    let (_, _, other) = api.member("otto", "tasks-b").await;
    let a1 = imported(&api, &alice, "one").await;
    let a2 = imported(&api, &alice, "two").await;
    let b1 = imported(&api, &other, "three").await;
    let r = api
        .call(Method::GET, "/image/v2/tasks", Some(&alice), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let images: Vec<&str> = r.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["image_id"].as_str().unwrap())
        .collect();
    // Newest first, only the project's own.
    assert_eq!(images, vec![a2.as_str(), a1.as_str()], "{}", r.text);
    assert_eq!(r.body["schema"], "/v2/schemas/tasks");
    assert!(
        r.body["tasks"][0].get("input").is_none(),
        "a listing shows summaries"
    );
    // Paging by marker: one a page, with a next link.
    let r = api
        .call(Method::GET, "/image/v2/tasks?limit=1", Some(&alice), None)
        .await;
    assert_eq!(r.body["tasks"].as_array().unwrap().len(), 1);
    let next = r.body["next"].as_str().expect("next link").to_string();
    let r = api
        .call(Method::GET, &format!("/image{next}"), Some(&alice), None)
        .await;
    assert_eq!(r.body["tasks"][0]["image_id"], a1.as_str(), "{}", r.text);
    assert!(r.body.get("next").is_none());
    // Filters; the admin sees every project's.
    let r = api
        .call(
            Method::GET,
            "/image/v2/tasks?status=failure",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(r.body["tasks"], json!([]));
    let r = api
        .call(
            Method::GET,
            "/image/v2/tasks?status=done",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api
        .call(
            Method::GET,
            "/image/v2/tasks?colour=red",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api
        .admin(
            Method::GET,
            "/image/v2/tasks?sort_key=created_at&sort_dir=asc",
            None,
        )
        .await;
    let all: Vec<&str> = r.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["image_id"].as_str().unwrap())
        .collect();
    assert_eq!(all, vec![a1.as_str(), a2.as_str(), b1.as_str()]);
    // Another project's task is not a marker for this one; legacy task creation is
    // refused saying what to do instead.
    let theirs = api
        .call(Method::GET, "/image/v2/tasks", Some(&other), None)
        .await
        .body["tasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .call(
            Method::GET,
            &format!("/image/v2/tasks?marker={theirs}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api
        .admin(
            Method::POST,
            "/image/v2/tasks",
            Some(json!({"type": "import", "input": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("/import"), "{}", r.text);
    let r = api
        .call(Method::GET, "/image/v2/schemas/task", None, None)
        .await;
    assert_eq!(r.body["name"], "task");
}

#[tokio::test]
async fn metadefs_namespaces_properties_objects_tags_and_resource_types() {
    let api = Api::new().await;
    let (_, _, member) = api.member("mona", "meta").await;
    let ns = "/image/v2/metadefs/namespaces";
    let r = api
        .admin(
            Method::POST,
            ns,
            Some(json!({"namespace": "OS::Compute::Quota", "display_name": "Quota", "visibility": "public"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["self"], "/v2/metadefs/namespaces/OS::Compute::Quota");
    let r = api
        .admin(
            Method::POST,
            ns,
            Some(json!({"namespace": "OS::Compute::Quota"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = api
        .admin(Method::POST, ns, Some(json!({"namespace": "secret"})))
        .await;
    assert_eq!(r.body["visibility"], "private");
    // Members read public namespaces only, and change none.
    let r = api.call(Method::GET, ns, Some(&member), None).await;
    let names: Vec<&str> = r.body["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["OS::Compute::Quota"], "{}", r.text);
    let r = api
        .call(Method::GET, &format!("{ns}/secret"), Some(&member), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api
        .call(
            Method::POST,
            ns,
            Some(&member),
            Some(json!({"namespace": "mine"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Properties need a title and a JSON-schema type.
    let base = format!("{ns}/OS::Compute::Quota");
    let prop =
        json!({"name": "quota:cpu_shares", "title": "CPU shares", "type": "integer", "minimum": 0});
    let r = api
        .admin(Method::POST, &format!("{base}/properties"), Some(prop))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["minimum"], 0);
    let r = api
        .admin(
            Method::POST,
            &format!("{base}/properties"),
            Some(json!({"name": "x", "type": "integer"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api
        .admin(
            Method::POST,
            &format!("{base}/properties"),
            Some(json!({"name": "y", "title": "Y", "type": "colour"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api
        .call(
            Method::GET,
            &format!("{base}/properties"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(
        r.body["properties"]["quota:cpu_shares"]["title"], "CPU shares",
        "{}",
        r.text
    );

    // An object's required names must be among its properties.
    let obj = json!({"name": "CPU Limits", "description": "d", "required": ["quota:cpu_period"],
        "properties": {"quota:cpu_period": {"title": "Period", "type": "integer"}}});
    let r = api
        .admin(Method::POST, &format!("{base}/objects"), Some(obj))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bad = json!({"name": "Bad", "required": ["nope"], "properties": {}});
    let r = api
        .admin(Method::POST, &format!("{base}/objects"), Some(bad))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api
        .call(
            Method::GET,
            &format!("{base}/objects/CPU Limits").replace(' ', "%20"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(
        r.body["required"],
        json!(["quota:cpu_period"]),
        "{}",
        r.text
    );

    // Tags: bulk create replaces, unless appending.
    let r = api
        .admin(
            Method::POST,
            &format!("{base}/tags"),
            Some(json!({"tags": [{"name": "a"}, {"name": "b"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = api
        .admin(
            Method::POST,
            &format!("{base}/tags"),
            Some(json!({"tags": [{"name": "c"}, {"name": "c"}]})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "duplicates in one list: {}",
        r.text
    );
    let r = api
        .admin(Method::POST, &format!("{base}/tags/d"), None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = api
        .call(Method::GET, &format!("{base}/tags"), Some(&member), None)
        .await;
    let tags: Vec<&str> = r.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        vec!["a", "b", "d"],
        "the refused list changed nothing: {}",
        r.text
    );

    // Resource types: the known ones, and associations (a new type is made).
    let r = api
        .call(
            Method::GET,
            "/image/v2/metadefs/resource_types",
            Some(&member),
            None,
        )
        .await;
    assert!(r.text.contains("OS::Nova::Flavor"), "{}", r.text);
    let r = api
        .admin(
            Method::POST,
            &format!("{base}/resource_types"),
            Some(json!({"name": "OS::Nova::Flavor", "prefix": "quota:"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = api
        .call(
            Method::GET,
            &format!("{ns}?resource_types=OS::Nova::Flavor"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(
        r.body["namespaces"][0]["resource_type_associations"][0]["prefix"], "quota:",
        "{}",
        r.text
    );
    let r = api
        .call(
            Method::GET,
            &format!("{ns}?resource_types=OS::Cinder::Volume"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(r.body["namespaces"], json!([]));

    // The namespace shows what it holds; renamed, it keeps it; protected, it stays.
    let r = api
        .admin(
            Method::PUT,
            &base,
            Some(json!({"namespace": "OS::Compute::Quotas", "protected": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api
        .call(
            Method::GET,
            &format!("{ns}/OS::Compute::Quotas"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(
        r.body["properties"]["quota:cpu_shares"]["type"], "integer",
        "{}",
        r.text
    );
    assert_eq!(r.body["objects"][0]["name"], "CPU Limits");
    assert_eq!(r.body["tags"].as_array().unwrap().len(), 3);
    let r = api
        .admin(Method::DELETE, &format!("{ns}/OS::Compute::Quotas"), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = api
        .admin(
            Method::PUT,
            &format!("{ns}/OS::Compute::Quotas"),
            Some(json!({"protected": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api
        .admin(Method::DELETE, &format!("{ns}/OS::Compute::Quotas"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api
        .admin(
            Method::GET,
            &format!("{ns}/OS::Compute::Quotas/properties"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api
        .call(
            Method::GET,
            "/image/v2/schemas/metadefs/namespace",
            None,
            None,
        )
        .await;
    assert_eq!(r.body["name"], "namespace");
}

#[tokio::test]
async fn keystone_keeps_extra_attributes_and_validates_what_its_schemas_define() {
    let api = Api::new().await;
    // Extra attributes on users and projects are kept and returned, and merged on update.
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/users",
            Some(json!({"user": {"name": "xena", "password": "pw-1", "team": "blue", "badge": {"n": 7}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let uid = r.body["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["user"]["team"], "blue");
    let r = api
        .admin(
            Method::PATCH,
            &format!("/identity/v3/users/{uid}"),
            Some(json!({"user": {"team": "red"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = api
        .admin(Method::GET, &format!("/identity/v3/users/{uid}"), None)
        .await;
    assert_eq!(
        (&r.body["user"]["team"], &r.body["user"]["badge"]),
        (&json!("red"), &json!({"n": 7}))
    );
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/projects",
            Some(json!({"project": {"name": "xp", "cost_centre": "42"}})),
        )
        .await;
    assert_eq!(r.body["project"]["cost_centre"], "42", "{}", r.text);
    let pid = r.body["project"]["id"].as_str().unwrap().to_string();
    let r = api
        .admin(Method::GET, &format!("/identity/v3/projects/{pid}"), None)
        .await;
    assert_eq!(r.body["project"]["cost_centre"], "42");
    // A service-set field is not an extra; nor are too many of them.
    let r = api
        .admin(
            Method::PATCH,
            &format!("/identity/v3/projects/{pid}"),
            Some(json!({"project": {"domain_id": "x"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let many: serde_json::Map<String, Value> =
        (0..40).map(|i| (format!("k{i}"), json!(i))).collect();
    let r = api
        .admin(
            Method::PATCH,
            &format!("/identity/v3/users/{uid}"),
            Some(json!({"user": many})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // What Keystone's schemas define is checked, not ignored.
    for (body, why) in [
        (
            json!({"user": {"name": "n1", "domain_id": null}}),
            "domain_id null",
        ),
        (
            json!({"user": {"name": "n2", "options": {"lock_password": "yes"}}}),
            "an option of the wrong type",
        ),
        (
            json!({"user": {"name": "n3", "options": {"no_such_option": true}}}),
            "an unknown option",
        ),
        (
            json!({"user": {"name": "n4", "options": {"multi_factor_auth_enabled": true}}}),
            "an option not offered",
        ),
        (
            json!({"user": {"name": "n5", "federated": [{"idp_id": "x", "protocols": []}]}}),
            "federation",
        ),
        (
            json!({"user": {"name": "n6", "federated": "x"}}),
            "federated of the wrong type",
        ),
    ] {
        let r = api
            .admin(Method::POST, "/identity/v3/users", Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", r.text);
    }
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/users",
            Some(json!({"user": {"name": "n7", "options": {"ignore_lockout_failure_attempts": true}}})),
        )
        .await;
    assert_eq!(
        r.body["user"]["options"]["ignore_lockout_failure_attempts"], true,
        "{}",
        r.text
    );
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/users",
            Some(json!({"user": {"name": "n8", "junk": deep}})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "deep nesting in an unknown field: {}",
        r.text
    );

    // A member lists its projects at /v3/auth/projects; listing all is an admin's.
    let (_, mo, member) = api.member("mo", "mos").await;
    let r = api
        .call(Method::GET, "/identity/v3/projects", Some(&member), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.message().contains("/v3/auth/projects"), "{}", r.text);
    let r = api
        .call(
            Method::GET,
            "/identity/v3/auth/projects",
            Some(&member),
            None,
        )
        .await;
    assert_eq!(r.body["projects"][0]["name"], "mos");

    // An application credential's expires_at comes back as it was given.
    for given in ["2099-12-31T23:59:59Z", "2099-06-30T12:00:00.000000Z"] {
        let name = format!("ac-{}", &given[..7]);
        let r = api
            .call(
                Method::POST,
                &format!("/identity/v3/users/{mo}/application_credentials"),
                Some(&member),
                Some(json!({"application_credential": {"name": name, "expires_at": given}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["application_credential"]["expires_at"], given);
        let id = r.body["application_credential"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = api
            .call(
                Method::GET,
                &format!("/identity/v3/users/{mo}/application_credentials/{id}"),
                Some(&member),
                None,
            )
            .await;
        assert_eq!(
            r.body["application_credential"]["expires_at"], given,
            "{}",
            r.text
        );
    }
}

/// A password login scoped to a project by id: the token, or the refusal's status.
async fn login_to(api: &Api, user: &str, project: &str) -> Result<Reply, StatusCode> {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": "pw-1"}}},
        "scope": {"project": {"id": project}},
    }});
    let r = api
        .call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await;
    if r.status == StatusCode::CREATED {
        Ok(r)
    } else {
        Err(r.status)
    }
}

#[tokio::test]
async fn inherited_grants_reach_the_projects_below_and_end_with_their_revocation() {
    let api = Api::new().await;
    let created = |r: Reply, kind: &str| r.body[kind]["id"].as_str().unwrap().to_string();
    let d = created(
        api.admin(
            Method::POST,
            "/identity/v3/domains",
            Some(json!({"domain": {"name": "acme"}})),
        )
        .await,
        "domain",
    );
    let p1 = created(
        api.admin(
            Method::POST,
            "/identity/v3/projects",
            Some(json!({"project": {"name": "p1", "domain_id": d}})),
        )
        .await,
        "project",
    );
    let p1c = created(
        api.admin(
            Method::POST,
            "/identity/v3/projects",
            Some(json!({"project": {"name": "p1c", "domain_id": d, "parent_id": p1}})),
        )
        .await,
        "project",
    );
    let (_, uid, member_token) = api.member("ursa", "ursas").await;
    let role = |name: &'static str| {
        let api = &api;
        async move {
            api.admin(
                Method::GET,
                &format!("/identity/v3/roles?name={name}"),
                None,
            )
            .await
            .body["roles"][0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (member, reader) = (role("member").await, role("reader").await);

    // Member inherited from the domain: every project of the domain, not the domain.
    let on_domain = format!(
        "/identity/v3/OS-INHERIT/domains/{d}/users/{uid}/roles/{member}/inherited_to_projects"
    );
    let r = api
        .call(Method::PUT, &on_domain, Some(&member_token), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only admins grant");
    assert_eq!(
        api.admin(Method::PUT, &on_domain, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.admin(Method::GET, &on_domain, None).await.status,
        StatusCode::NO_CONTENT
    );
    for p in [&p1, &p1c] {
        let t = login_to(&api, "ursa", p).await.expect("inherited member");
        let roles: Vec<&str> = t.body["token"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(
            roles.contains(&"member") && roles.contains(&"reader"),
            "{roles:?}"
        );
    }
    // The projects reached are the user's projects (what `project list --my-projects`
    // and the console's project switcher read).
    let mine = |r: &Reply| -> Vec<String> {
        let mut v: Vec<String> = r.body["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/users/{uid}/projects"),
            None,
        )
        .await;
    let got = mine(&r);
    assert!(got.contains(&p1) && got.contains(&p1c), "{}", r.text);
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/domains/{d}/users/{uid}/roles"),
            None,
        )
        .await;
    assert_eq!(r.body["roles"], json!([]), "no direct grant on the domain");
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/OS-INHERIT/domains/{d}/users/{uid}/roles/inherited_to_projects"),
            None,
        )
        .await;
    assert_eq!(r.body["roles"][0]["name"], "member", "{}", r.text);
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/role_assignments?user.id={uid}"),
            None,
        )
        .await;
    let inherited: Vec<&Value> = r.body["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["scope"]["OS-INHERIT:inherited_to"] == "projects")
        .collect();
    assert_eq!(inherited.len(), 1, "{}", r.text);
    assert_eq!(inherited[0]["scope"]["domain"]["id"], d.as_str());
    let r = api
        .admin(
            Method::GET,
            &format!(
                "/identity/v3/role_assignments?user.id={uid}&effective&scope.project.id={p1c}"
            ),
            None,
        )
        .await;
    assert_eq!(
        r.body["role_assignments"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
    assert_eq!(
        r.body["role_assignments"][0]["scope"]["project"]["id"],
        p1c.as_str()
    );

    // Reader inherited from p1 through a group: p1's subtree, not p1 itself.
    let g = created(
        api.admin(
            Method::POST,
            "/identity/v3/groups",
            Some(json!({"group": {"name": "readers"}})),
        )
        .await,
        "group",
    );
    let (_, vid, _) = api.member("vera", "veras").await;
    assert_eq!(
        api.admin(
            Method::PUT,
            &format!("/identity/v3/groups/{g}/users/{vid}"),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let on_p1 = format!(
        "/identity/v3/OS-INHERIT/projects/{p1}/groups/{g}/roles/{reader}/inherited_to_projects"
    );
    assert_eq!(
        api.admin(Method::PUT, &on_p1, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(
        login_to(&api, "vera", &p1).await.is_err(),
        "the project itself does not inherit"
    );
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/users/{vid}/projects"),
            None,
        )
        .await;
    let got = mine(&r);
    assert!(got.contains(&p1c) && !got.contains(&p1), "{}", r.text);
    let t = login_to(&api, "vera", &p1c)
        .await
        .expect("inherited reader below p1");
    let token = t.headers["x-subject-token"].to_str().unwrap().to_string();

    // include_subtree lists what is granted below a project.
    assert_eq!(
        api.admin(
            Method::PUT,
            &format!("/identity/v3/projects/{p1c}/users/{vid}/roles/{reader}"),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/role_assignments?scope.project.id={p1}&include_subtree=true"),
            None,
        )
        .await;
    assert!(r.text.contains(&p1c), "{}", r.text);
    let r = api
        .admin(
            Method::GET,
            "/identity/v3/role_assignments?include_subtree=true",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        api.admin(
            Method::DELETE,
            &format!("/identity/v3/projects/{p1c}/users/{vid}/roles/{reader}"),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );

    // Revoked: the inherited role is gone, and so are the tokens it gave.
    assert_eq!(
        api.admin(Method::DELETE, &on_p1, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.admin(Method::GET, &on_p1, None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = api
        .raw(
            Method::GET,
            "/identity/v3/auth/tokens",
            Some(&api.admin_token),
            None,
            &[("x-subject-token", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(login_to(&api, "vera", &p1c).await.is_err());
    // Deleting the domain takes its inherited grants too.
    api.admin(
        Method::PATCH,
        &format!("/identity/v3/domains/{d}"),
        Some(json!({"domain": {"enabled": false}})),
    )
    .await;
    assert_eq!(
        api.admin(Method::DELETE, &format!("/identity/v3/domains/{d}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/role_assignments?user.id={uid}"),
            None,
        )
        .await;
    assert!(!r.text.contains("OS-INHERIT"), "{}", r.text);
}

#[tokio::test]
async fn policies_are_stored_and_features_not_offered_say_why() {
    let api = Api::new().await;
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/policies",
            Some(json!({"policy": {"type": "application/json", "blob": "{\"default\": \"\"}"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["policy"]["id"].as_str().unwrap().to_string();
    let r = api
        .admin(
            Method::PATCH,
            &format!("/identity/v3/policies/{id}"),
            Some(json!({"policy": {"blob": "{}"}})),
        )
        .await;
    assert_eq!(
        (
            r.body["policy"]["blob"].as_str(),
            r.body["policy"]["type"].as_str()
        ),
        (Some("{}"), Some("application/json"))
    );
    let r = api
        .admin(
            Method::GET,
            "/identity/v3/policies?type=application/json",
            None,
        )
        .await;
    assert_eq!(
        r.body["policies"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
    let big = "x".repeat(70 * 1024);
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/policies",
            Some(json!({"policy": {"type": "text/plain", "blob": big}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let (_, _, member) = api.member("pat", "pats").await;
    let r = api
        .call(Method::GET, "/identity/v3/policies", Some(&member), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        api.admin(Method::DELETE, &format!("/identity/v3/policies/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.admin(Method::GET, &format!("/identity/v3/policies/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Domain configuration and OAuth1 are refused with the reason (never a 501).
    for (method, path, word) in [
        (Method::GET, "/identity/v3/domains/default/config", "LDAP"),
        (
            Method::PUT,
            "/identity/v3/domains/default/config/identity",
            "LDAP",
        ),
        (Method::GET, "/identity/v3/domains/config/default", "LDAP"),
        (Method::POST, "/identity/v3/OS-OAUTH1/consumers", "trusts"),
    ] {
        let r = api.admin(method.clone(), path, Some(json!({}))).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{method} {path}: {}",
            r.text
        );
        assert!(r.message().contains(word), "{}", r.text);
        let r = api.call(method, path, Some(&member), Some(json!({}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn the_one_store_is_named_and_imports_may_ask_for_it() {
    let api = Api::new().await;
    let (_, _, t) = api.member("stella", "stores").await;
    let r = api
        .call(Method::GET, "/image/v2/info/stores", Some(&t), None)
        .await;
    assert_eq!(r.body["stores"][0]["id"], "local", "{}", r.text);
    assert_eq!(r.body["stores"][0]["default"], true);
    let glance_direct = |extra: Value| {
        let mut body = json!({"method": {"name": "glance-direct"}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    imported_to(
        &api,
        &t,
        "to-local",
        glance_direct(json!({"stores": ["local"]})),
    )
    .await;
    imported_to(
        &api,
        &t,
        "to-all",
        glance_direct(json!({"all_stores": true, "all_stores_must_succeed": true})),
    )
    .await;
    // Another store is refused naming the one there is, before anything changes.
    let r = api
        .call(
            Method::POST,
            "/image/v2/images",
            Some(&t),
            Some(json!({"name": "elsewhere", "disk_format": "raw", "container_format": "bare"})),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .call(
            Method::POST,
            &format!("/image/v2/images/{id}/import"),
            Some(&t),
            Some(glance_direct(json!({"stores": ["fast"]}))),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("\"local\""),
        "{}",
        r.text
    );
    let r = api
        .call(
            Method::GET,
            &format!("/image/v2/images/{id}"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.body["status"], "queued");
}
