//! Keystone v3 over HTTP: shapes, status codes, headers, and how bad input and
//! unauthorised callers are answered.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

#[tokio::test]
async fn version_discovery_answers_as_keystoneauth_expects() {
    let api = Api::new().await;
    let r = api.call(Method::GET, "/identity", None, None).await;
    // axum serves "/identity" from the nested "/" route.
    assert_eq!(r.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(r.body["versions"]["values"][0]["id"], "v3.14");
    assert_eq!(
        r.body["versions"]["values"][0]["links"][0]["href"],
        format!("{PUBLIC_URL}/identity/v3/")
    );
    let r = api.call(Method::GET, "/identity/v3", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["version"]["status"], "stable");
    assert!(r.headers.contains_key("x-openstack-request-id"));
    // The base URLs with a trailing slash, as clients configured with one ask, and
    // with the Accept headers keystoneauth and older clients send.
    for accept in ["application/json", "*/*", ""] {
        let mut h = vec![("host", "127.0.0.1:8080")];
        if !accept.is_empty() {
            h.push(("accept", accept));
        }
        let r = api.raw(Method::GET, "/identity/", None, None, &h).await;
        assert_eq!(
            r.status,
            StatusCode::MULTIPLE_CHOICES,
            "/identity/ ({accept})"
        );
        assert_eq!(r.body["versions"]["values"][0]["id"], "v3.14");
        let r = api.raw(Method::GET, "/identity/v3/", None, None, &h).await;
        assert_eq!(r.status, StatusCode::OK, "/identity/v3/ ({accept})");
        assert_eq!(r.body["version"]["id"], "v3.14");
        assert_eq!(
            r.body["version"]["links"][0]["href"],
            format!("{PUBLIC_URL}/identity/v3/")
        );
    }
}

#[tokio::test]
async fn a_user_in_an_unknown_domain_is_404_as_keystone_answers() {
    let api = Api::new().await;
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/users",
            Some(json!({"user": {"name": "lost", "domain_id": "nowhere"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.body["error"]["code"], 404);
    assert!(
        r.text.contains("Could not find domain: nowhere"),
        "{}",
        r.text
    );
    let r = api
        .admin(Method::GET, "/identity/v3/users?name=lost", None)
        .await;
    assert_eq!(r.body["users"], json!([]), "nothing half made");
}

#[tokio::test]
async fn token_issue_and_validate_have_keystone_shapes() {
    let api = Api::new().await;
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}}, "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}});
    let r = api
        .call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.headers["x-subject-token"].to_str().unwrap().to_string();
    let t = &r.body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(t["user"]["domain"]["id"], "default");
    assert_eq!(t["project"]["name"], "admin");
    assert_eq!(t["project"]["domain"]["name"], "Default");
    assert!(t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "admin"));
    let of_type = |ty: &str| {
        t["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["type"] == ty)
            .unwrap_or_else(|| panic!("no {ty} in the catalog"))
            .clone()
    };
    assert_eq!(
        of_type("identity")["endpoints"].as_array().unwrap().len(),
        3
    );
    let compute = of_type("compute");
    assert!(compute["endpoints"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/compute/v2.1"));
    assert!(t["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(t["audit_ids"].as_array().unwrap().len(), 1);

    let r = api
        .raw(
            Method::GET,
            "/identity/v3/auth/tokens",
            Some(&api.admin_token),
            None,
            &[("x-subject-token", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["x-subject-token"], token.as_str());
    assert_eq!(r.body["token"]["project"]["name"], "admin");
    let r = api
        .raw(
            Method::GET,
            "/identity/v3/auth/tokens?nocatalog",
            Some(&api.admin_token),
            None,
            &[("x-subject-token", &token)],
        )
        .await;
    assert!(r.body["token"].get("catalog").is_none());

    let r = api
        .raw(
            Method::DELETE,
            "/identity/v3/auth/tokens",
            Some(&api.admin_token),
            None,
            &[("x-subject-token", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api
        .raw(
            Method::GET,
            "/identity/v3/auth/tokens",
            Some(&api.admin_token),
            None,
            &[("x-subject-token", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.message().contains("revoked"), "{}", r.message());
    let r = api
        .call(Method::GET, "/identity/v3/projects", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_password_is_401_with_keystone_error_body() {
    let api = Api::new().await;
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "nope"}}}}});
    let r = api
        .call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["code"], 401);
    assert_eq!(r.body["error"]["title"], "Unauthorized");
    assert!(r.message().contains("requires authentication") && r.message().contains("not correct"));
    assert!(r.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn bad_input_gets_400_404_409_that_say_what_is_wrong() {
    let api = Api::new().await;
    let tok = api.admin_token.clone();
    let post = |body: &'static [u8]| {
        let tok = tok.clone();
        let api = &api;
        async move {
            api.raw(
                Method::POST,
                "/identity/v3/projects",
                Some(&tok),
                Some(body.to_vec()),
                &[],
            )
            .await
        }
    };
    let cases: Vec<(&[u8], u16, &str)> = vec![
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"   ", 400, "empty"),
        (br#"{"project": {"name": 5}}"#, 400, "'project.name'"),
        (br#"{"project": {}}"#, 400, "missing field `name`"),
        (
            br#"{"project": {"name": "a", "enabled": "yes"}}"#,
            400,
            "'project.enabled'",
        ),
        (
            br#"{"project": {"name": "a", "tags": "x"}}"#,
            400,
            "'project.tags'",
        ),
        (br#"{"project": {"name": "\ud800"}}"#, 400, "surrogate"),
        (
            br#"{"projects": {"name": "a"}}"#,
            400,
            "missing field `project`",
        ),
        (br#"{"project": {"name": "   "}}"#, 400, "must not be empty"),
        (
            br#"{"project": {"name": "ok", "domain_id": "nowhere"}}"#,
            400,
            "domain nowhere does not exist",
        ),
        (
            br#"{"project": {"name": "ok", "is_domain": true}}"#,
            400,
            "not supported",
        ),
    ];
    for (body, code, needle) in cases {
        let r = post(body).await;
        assert_eq!(
            r.status.as_u16(),
            code,
            "{}: {:?}",
            String::from_utf8_lossy(body),
            r.body
        );
        assert!(
            r.message().contains(needle),
            "{}: {}",
            String::from_utf8_lossy(body),
            r.message()
        );
        assert_eq!(r.body["error"]["code"], code);
    }
    // Deep nesting where the body takes any JSON (the auth scope), so only the depth
    // can refuse it.
    let deep = format!(
        "{{\"auth\": {{\"identity\": {{\"methods\": []}}, \"scope\": {}{}}}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let r = api
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            None,
            Some(deep.into_bytes()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("recursion limit"), "{}", r.message());

    let long = json!({"project": {"name": "n".repeat(65)}});
    let r = api
        .admin(Method::POST, "/identity/v3/projects", Some(long))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.message().contains("65 characters") && r.message().contains("64"),
        "{}",
        r.message()
    );

    let r = api
        .admin(
            Method::GET,
            "/identity/v3/projects/0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.message(),
        "Could not find project: 0123456789abcdef0123456789abcdef."
    );
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/users/{}", "x".repeat(300)),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "an absurd id is refused, not looked up"
    );

    let r = api
        .admin(
            Method::POST,
            "/identity/v3/projects",
            Some(json!({"project": {"name": "dup"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/projects",
            Some(json!({"project": {"name": "dup"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.message().contains("Duplicate entry found with name dup"),
        "{}",
        r.message()
    );
    // Renaming onto an existing name is a 409 too, not a 500.
    let other = api
        .admin(
            Method::POST,
            "/identity/v3/projects",
            Some(json!({"project": {"name": "other"}})),
        )
        .await;
    let oid = other.body["project"]["id"].as_str().unwrap();
    let r = api
        .admin(
            Method::PATCH,
            &format!("/identity/v3/projects/{oid}"),
            Some(json!({"project": {"name": "DUP"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    // Nothing half-written: exactly the projects created above exist.
    let r = api.admin(Method::GET, "/identity/v3/projects", None).await;
    let mut names: Vec<&str> = r.body["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["admin", "dup", "other"]);

    let r = api
        .call(
            Method::POST,
            "/identity/v3/auth/tokens",
            None,
            Some(json!({"auth": {"identity": {"methods": ["kerberos"]}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.message().contains("kerberos"), "{}", r.message());
    let r = api
        .call(
            Method::POST,
            "/identity/v3/auth/tokens",
            None,
            Some(json!({"auth": {"identity": {"methods": ["password"]}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("identity.password"), "{}", r.message());
}

/// Another project is not there for a member (every endpoint's four callers are in
/// server/tests/endpoints.rs).
#[tokio::test]
async fn another_project_is_not_found_for_a_member() {
    let api = Api::new().await;
    let (_, _, member) = api.member("mia", "mias").await;
    // The admin project is invisible to the member.
    let admin_project = api
        .admin(Method::GET, "/identity/v3/projects?name=admin", None)
        .await;
    let apid = admin_project.body["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .call(
            Method::GET,
            &format!("/identity/v3/projects/{apid}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn application_credential_over_http_then_token_from_it() {
    let api = Api::new().await;
    let (pid, uid, member) = api.member("noah", "noahs").await;
    let r = api
        .call(
            Method::POST,
            &format!("/identity/v3/users/{uid}/application_credentials"),
            Some(&member),
            Some(json!({"application_credential": {"name": "deploy"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let ac = &r.body["application_credential"];
    assert_eq!(ac["project_id"], pid.as_str());
    // Every role of the token that made it: member and the reader it implies.
    let mut names: Vec<&str> = ac["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["member", "reader"]);
    let body = json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": ac["id"], "secret": ac["secret"]}}}});
    let r = api
        .call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.body["token"]["methods"],
        json!(["application_credential"])
    );
    assert_eq!(
        r.body["token"]["application_credential"]["restricted"],
        true
    );
    assert_eq!(r.body["token"]["project"]["id"], pid.as_str());
    // Another user cannot see it.
    let (_, _, other) = api.member("olive", "olives").await;
    let r = api
        .call(
            Method::GET,
            &format!("/identity/v3/users/{uid}/application_credentials"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn role_assignment_list_with_names_has_the_clients_shape() {
    let api = Api::new().await;
    let (pid, uid, _) = api.member("pat", "pats").await;
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/role_assignments?scope.project.id={pid}&include_names=True"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let a = &r.body["role_assignments"][0];
    assert_eq!(a["user"]["id"], uid.as_str());
    assert_eq!(a["user"]["name"], "pat");
    assert_eq!(a["user"]["domain"]["name"], "Default");
    assert_eq!(a["scope"]["project"]["name"], "pats");
    assert_eq!(a["role"]["name"], "member");
    assert!(a["links"]["assignment"]
        .as_str()
        .unwrap()
        .ends_with(&format!(
            "/projects/{pid}/users/{uid}/roles/{}",
            a["role"]["id"].as_str().unwrap()
        )));
    let r = api
        .admin(
            Method::GET,
            &format!("/identity/v3/role_assignments?scope.project.id={pid}"),
            None,
        )
        .await;
    assert!(
        r.body["role_assignments"][0]["user"].get("name").is_none(),
        "names only when asked"
    );
}

/// Regions created with the id the client chose (`PUT /v3/regions/{id}`), and listed by
/// their parent.
#[tokio::test]
async fn regions_are_put_with_a_chosen_id_and_listed_by_parent() {
    let api = Api::new().await;
    let put = |id: &'static str, body: serde_json::Value| {
        let api = &api;
        async move {
            api.admin(
                Method::PUT,
                &format!("/identity/v3/regions/{id}"),
                Some(body),
            )
            .await
        }
    };
    let r = put("north", json!({"region": {"description": "North"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["region"]["id"], "north");
    assert_eq!(r.body["region"]["description"], "North");
    let r = put("north-1", json!({"region": {"parent_region_id": "north"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = put("north", json!({"region": {}})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = put("south", json!({"region": {"id": "west"}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api
        .admin(
            Method::GET,
            "/identity/v3/regions?parent_region_id=north",
            None,
        )
        .await;
    let ids: Vec<&str> = r.body["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["north-1"]);
    let r = api.admin(Method::GET, "/identity/v3/regions", None).await;
    assert!(r.body["regions"].as_array().unwrap().len() >= 3);
    // A member may not.
    let (_, _, member) = api.member("rm", "rm-project").await;
    let r = api
        .call(
            Method::PUT,
            "/identity/v3/regions/east",
            Some(&member),
            Some(json!({"region": {}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
