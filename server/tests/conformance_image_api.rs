//! Glance features an operator migrating from OpenStack meets: the tasks list, the one
//! named store on import, and metadata definitions (metadefs).

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{json, Value};

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

/// Glance's version negotiation: a path under a version it does not have, or under
/// none, answers the versions (300) so a client learns where to go; an unknown path
/// under v2 is a 404 with Glance's error body.
#[tokio::test]
async fn paths_under_other_versions_answer_the_version_list() {
    let api = Api::new().await;
    for path in [
        "/image/v1/images",
        "/image/v3/",
        "/image/v1",
        "/image/v2.99/images/x",
        "/image/images",
        "/image/v2/",
    ] {
        let r = api.call(Method::GET, path, None, None).await;
        assert_eq!(r.status, StatusCode::MULTIPLE_CHOICES, "{path}: {}", r.text);
        assert_eq!(r.body["versions"][0]["status"], "CURRENT", "{path}");
    }
    let t = api.admin_token.clone();
    let r = api
        .call(Method::GET, "/image/v2/no-such-thing", Some(&t), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.body["code"], 404, "{}", r.text);
}

fn assert_hides_locations(r: &Reply) {
    let hidden = r.body.get("locations").is_none() && r.body.get("direct_url").is_none();
    assert!(hidden, "{}", r.text);
}

/// PATCH an image (`path`) with JSON-patch `ops`.
async fn patched(api: &Api, token: &str, path: &str, ops: Value) -> Reply {
    let ct = [(
        "content-type",
        "application/openstack-images-v2.1-json-patch",
    )];
    api.raw(
        Method::PATCH,
        path,
        Some(token),
        Some(ops.to_string().into_bytes()),
        &ct,
    )
    .await
}

/// Where an operator turns `show_multiple_locations` and `show_image_direct_url` on,
/// the image's owner sees its data's location (Glance's JSON shape), others do not,
/// and a location elsewhere is refused in Glance's error body; off (the default), the
/// fields are absent and locations cannot be patched.
#[tokio::test]
async fn an_operator_shows_locations_to_owners_and_nobody_repoints_an_image() {
    let api = Api::with_images(|c| {
        c.show_multiple_locations = true;
        c.show_image_direct_url = true;
    })
    .await;
    let t = api.admin_token.clone();
    let id = imported(&api, &t, "located").await;
    let path = format!("/image/v2/images/{id}");
    let r = api.call(Method::GET, &path, Some(&t), None).await;
    let locs = r.body["locations"]
        .as_array()
        .expect("locations shown")
        .clone();
    assert_eq!(locs.len(), 1, "{}", r.text);
    let url = locs[0]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("file:///") && url.ends_with(&id), "{url}");
    assert_eq!(locs[0]["metadata"], json!({"store": "local"}));
    assert_eq!(r.body["direct_url"], url.as_str());
    let listed = api
        .call(Method::GET, "/image/v2/images", Some(&t), None)
        .await;
    assert!(listed.text.contains(&url), "{}", listed.text);

    // Another project may boot the community image but not learn where it is kept.
    let community = json!([{"op": "replace", "path": "/visibility", "value": "community"}]);
    let r = patched(&api, &t, &path, community).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, _, member) = api.member("loc", "loc-project").await;
    let r = api.call(Method::GET, &path, Some(&member), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_hides_locations(&r);

    let r = patched(
        &api,
        &t,
        &path,
        json!([{"op": "add", "path": "/locations/-",
                "value": {"url": "http://169.254.169.254/latest/", "metadata": {}}}]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("not in this cloud's image store"),
        "{}",
        r.text
    );
    let r = patched(
        &api,
        &t,
        &path,
        json!([{"op": "remove", "path": "/locations/0"}]),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = api.call(Method::GET, &path, Some(&t), None).await;
    assert_eq!(r.body["locations"][0]["url"], url.as_str());

    // The default: no such fields, and no patching them.
    let plain = Api::new().await;
    let t = plain.admin_token.clone();
    let id = imported(&plain, &t, "plain").await;
    let path = format!("/image/v2/images/{id}");
    let r = plain.call(Method::GET, &path, Some(&t), None).await;
    assert_hides_locations(&r);
    let r = patched(
        &plain,
        &t,
        &path,
        json!([{"op": "replace", "path": "/locations", "value": []}]),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
}
