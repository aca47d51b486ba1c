//! Keystone's inherited grants (OS-INHERIT) as an operator migrating from OpenStack
//! uses them: on a domain or a project, for users and groups, reaching the projects
//! below, listed, and ended by revocation.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{json, Value};

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
