//! Keystone features an operator migrating from OpenStack meets: project tag
//! sub-resources, endpoint groups and project endpoint filters, extra attributes and
//! schema checks, inherited grants, policies, and the features refused with a reason
//! (Glance's: conformance_image_api.rs).

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
