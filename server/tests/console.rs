//! The console's server functions over HTTP, as the browser calls them: sign-in goes
//! through the identity service, sessions live in the database, and requests from other
//! origins are refused.

mod common;

use axum::http::Method;
use common::*;

fn form(user: &str, password: &str) -> String {
    format!("username={user}&password={password}&domain=")
}

#[tokio::test]
async fn sign_in_sets_a_private_session_cookie_and_who_am_i_answers() {
    let api = Api::new().await;
    let r = api.server_fn("who_am_i", "", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, serde_json::Value::Null, "nobody is signed in yet");

    let r = api
        .server_fn("sign_in", &form("admin", ADMIN_PASSWORD), None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user_name"], "admin");
    assert_eq!(r.body["project_name"], "admin");
    assert_eq!(r.body["is_admin"], true);
    let set_cookie = r
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = r.session_cookie().expect("session cookie");

    let r = api.server_fn("who_am_i", "", Some(&cookie), None).await;
    assert_eq!(r.body["user_name"], "admin");
}

#[tokio::test]
async fn a_wrong_password_says_why_and_counts_toward_lockout() {
    let api = Api::new().await;
    let r = api
        .server_fn("sign_in", &form("admin", "nope"), None, None)
        .await;
    assert!(r.status.is_server_error() || r.status.is_client_error());
    assert!(
        r.text.contains("The user name or password is not correct."),
        "{}",
        r.text
    );
    assert!(
        r.session_cookie().is_none()
            || api
                .server_fn("who_am_i", "", r.session_cookie().as_deref(), None)
                .await
                .body
                .is_null()
    );
    // The same lockout as the API: after the configured failures the account is
    // locked, and even the right password is refused (with the same words).
    let projects = api
        .admin(Method::GET, "/identity/v3/projects?name=admin", None)
        .await;
    let project = projects.body["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let u = api
        .admin(
            Method::POST,
            "/identity/v3/users",
            Some(serde_json::json!({"user": {"name": "lou", "password": "lou-pw-123", "default_project_id": project}})),
        )
        .await;
    let uid = u.body["user"]["id"].as_str().unwrap().to_string();
    let roles = api
        .admin(Method::GET, "/identity/v3/roles?name=member", None)
        .await;
    let member = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    api.admin(
        Method::PUT,
        &format!("/identity/v3/projects/{project}/users/{uid}/roles/{member}"),
        None,
    )
    .await;
    for _ in 0..6 {
        api.server_fn("sign_in", &form("lou", "nope"), None, None)
            .await;
    }
    let r = api
        .server_fn("sign_in", &form("lou", "lou-pw-123"), None, None)
        .await;
    assert!(r.text.contains("not correct"), "{}", r.text);
    assert!(
        r.session_cookie().is_none() || r.body.get("user_id").is_none(),
        "{}",
        r.text
    );
    // The bootstrap admin ignores lockout: guessing cannot keep the operator out.
    for _ in 0..6 {
        api.server_fn("sign_in", &form("admin", "nope"), None, None)
            .await;
    }
    let r = api
        .server_fn("sign_in", &form("admin", ADMIN_PASSWORD), None, None)
        .await;
    assert!(r.text.contains("\"is_admin\":true"), "{}", r.text);
}

#[tokio::test]
async fn the_session_survives_a_restart_and_sign_out_ends_it() {
    let api = Api::new().await;
    let cookie = api
        .server_fn("sign_in", &form("admin", ADMIN_PASSWORD), None, None)
        .await
        .session_cookie()
        .unwrap();
    let restarted = api.restart().await;
    let r = restarted
        .server_fn("who_am_i", "", Some(&cookie), None)
        .await;
    assert_eq!(
        r.body["user_name"], "admin",
        "still signed in after a restart: {}",
        r.text
    );

    let r = restarted
        .server_fn("sign_out", "", Some(&cookie), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = restarted
        .server_fn("who_am_i", "", Some(&cookie), None)
        .await;
    assert!(r.body.is_null(), "signed out: {}", r.text);
}

#[tokio::test]
async fn cross_origin_server_function_calls_are_refused() {
    let api = Api::new().await;
    let r = api
        .server_fn(
            "sign_in",
            &form("admin", ADMIN_PASSWORD),
            None,
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("Cross-origin"), "{}", r.text);
    let r = api
        .server_fn(
            "sign_in",
            &form("admin", ADMIN_PASSWORD),
            None,
            Some("http://127.0.0.1:8080"),
        )
        .await;
    assert_eq!(r.status, 200, "same origin is fine: {}", r.text);
}

#[tokio::test]
async fn a_member_signs_in_to_its_own_project() {
    let api = Api::new().await;
    let (pid, _, _) = api.member("rita", "ritas").await;
    let r = api
        .server_fn(
            "sign_in",
            "username=rita&password=pw-1&domain=Default",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["project_id"], pid.as_str());
    assert_eq!(r.body["is_admin"], false);
    assert_eq!(
        r.body["roles"],
        serde_json::json!(["member", "reader"]),
        "member implies reader"
    );
}

#[tokio::test]
async fn a_member_session_cannot_reach_another_project_by_changing_an_argument() {
    let api = Api::new().await;
    let (_, _, _) = api.member("sven", "svens").await;
    let other = api
        .admin(
            axum::http::Method::POST,
            "/identity/v3/projects",
            Some(serde_json::json!({"project": {"name": "not-svens"}})),
        )
        .await;
    let other_id = other.body["project"]["id"].as_str().unwrap().to_string();
    let cookie = api
        .server_fn("sign_in", "username=sven&password=pw-1&domain=", None, None)
        .await
        .session_cookie()
        .unwrap();
    let r = api
        .server_fn(
            "switch_project",
            &format!("project_id={other_id}"),
            Some(&cookie),
            None,
        )
        .await;
    assert!(!r.status.is_success(), "{}", r.text);
    assert!(
        r.text.contains("no role on project not-svens"),
        "{}",
        r.text
    );
    // Still scoped where it was.
    let me = api.server_fn("who_am_i", "", Some(&cookie), None).await;
    assert_eq!(me.body["project_name"], "svens");
    // The admin panel's listing is refused by the service, whatever the arguments.
    let r = api
        .server_fn("list_projects", "search=&page=1", Some(&cookie), None)
        .await;
    assert!(!r.status.is_success());
    assert!(r.text.contains("admin role"), "{}", r.text);
    let r = api.server_fn("my_projects", "", Some(&cookie), None).await;
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["svens"]);
}

/// One identity operation through the console's operations server function.
async fn op(api: &Api, cookie: &str, op: serde_json::Value) -> Reply {
    api.server_fn_json("identity_do", serde_json::json!({ "op": op }), cookie)
        .await
}

async fn sign_in(api: &Api, user: &str, password: &str) -> String {
    let r = api
        .server_fn("sign_in", &form(user, password), None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.session_cookie().expect("session cookie")
}

#[tokio::test]
async fn a_member_session_cannot_change_other_projects_or_grant_itself_roles() {
    let api = Api::new().await;
    let (pid, uid, _) = api.member("tove", "toves").await;
    let other = api
        .admin(
            axum::http::Method::POST,
            "/identity/v3/projects",
            Some(serde_json::json!({"project": {"name": "not-toves"}})),
        )
        .await;
    let other_id = other.body["project"]["id"].as_str().unwrap().to_string();
    let admin_role = api
        .admin(
            axum::http::Method::GET,
            "/identity/v3/roles?name=admin",
            None,
        )
        .await
        .body["roles"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = sign_in(&api, "tove", "pw-1").await;

    for (what, body) in [
        (
            "delete another project",
            serde_json::json!({"ProjectDelete": {"id": other_id}}),
        ),
        (
            "disable another project",
            serde_json::json!({"ProjectEnable": {"id": other_id, "enabled": false}}),
        ),
        (
            "rename its own project",
            serde_json::json!({"ProjectUpdate": {"id": pid, "name": "mine", "description": "", "enabled": true}}),
        ),
        (
            "grant itself admin",
            serde_json::json!({"MemberGrant": {"project_id": pid, "user_id": uid, "role_id": admin_role}}),
        ),
        (
            "set another user's password",
            serde_json::json!({"UserSetPassword": {"id": "x", "password": "p"}}),
        ),
        (
            "create a role",
            serde_json::json!({"RoleCreate": {"name": "boss", "description": ""}}),
        ),
    ] {
        let r = op(&api, &cookie, body).await;
        assert!(!r.status.is_success(), "{what}: {}", r.text);
        // Refused for want of the admin role, or (reading another project) not found,
        // as the API answers: a member does not learn what exists elsewhere.
        let refused = r.text.contains("admin role") || r.text.contains("Could not find project");
        assert!(refused, "{what}: {}", r.text);
    }
    // Nothing changed.
    let r = api
        .admin(
            axum::http::Method::GET,
            &format!("/identity/v3/projects/{other_id}"),
            None,
        )
        .await;
    assert_eq!(r.body["project"]["enabled"], true);
    let r = api
        .admin(
            axum::http::Method::GET,
            &format!("/identity/v3/projects/{pid}"),
            None,
        )
        .await;
    assert_eq!(r.body["project"]["name"], "toves");
    // Nor can it read the admin listings by asking directly.
    for (name, form) in [
        ("list_users", ""),
        ("project_members", &*format!("project_id={other_id}")),
        ("identity_choices", ""),
    ] {
        let r = api.server_fn(name, form, Some(&cookie), None).await;
        assert!(!r.status.is_success(), "{name}: {}", r.text);
        assert!(r.text.contains("admin role"), "{name}: {}", r.text);
    }
}

#[tokio::test]
async fn an_admin_session_manages_projects_members_and_users_through_the_service() {
    let api = Api::new().await;
    let (pid, uid, _) = api.member("ulla", "ullas").await;
    let rid = api
        .admin(
            axum::http::Method::GET,
            "/identity/v3/roles?name=member",
            None,
        )
        .await
        .body["roles"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = sign_in(&api, "admin", ADMIN_PASSWORD).await;
    let r = op(&api, &cookie, serde_json::json!({"ProjectUpdate": {"id": pid, "name": "ullas-2", "description": "renamed", "enabled": true}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["message"], "Saved project ullas-2.");
    // A rename onto an existing name is refused with the service's reason.
    let r = op(&api, &cookie, serde_json::json!({"ProjectUpdate": {"id": pid, "name": "admin", "description": "", "enabled": true}})).await;
    assert!(!r.status.is_success());
    assert!(r.text.contains("Duplicate entry"), "{}", r.text);

    let members = api
        .server_fn(
            "project_members",
            &format!("project_id={pid}"),
            Some(&cookie),
            None,
        )
        .await;
    assert_eq!(
        members.body,
        serde_json::json!([[uid, "ulla", rid, "member"]])
    );
    let r = op(
        &api,
        &cookie,
        serde_json::json!({"MemberRevoke": {"project_id": pid, "user_id": uid, "role_id": rid}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let members = api
        .server_fn(
            "project_members",
            &format!("project_id={pid}"),
            Some(&cookie),
            None,
        )
        .await;
    assert_eq!(members.body, serde_json::json!([]));

    // Disabling a user ends its sessions; deleting refuses one's own account.
    let ulla = sign_in(&api, "ulla", "pw-1").await;
    let r = op(
        &api,
        &cookie,
        serde_json::json!({"UserEnable": {"id": uid, "enabled": false}}),
    )
    .await;
    assert_eq!(r.body["message"], "User ulla is disabled.");
    let me = api.server_fn("who_am_i", "", Some(&ulla), None).await;
    assert!(
        me.body.is_null(),
        "a disabled user's session has ended: {}",
        me.text
    );
    let admin_id = api
        .server_fn("who_am_i", "", Some(&cookie), None)
        .await
        .body["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = op(
        &api,
        &cookie,
        serde_json::json!({"UserDelete": {"id": admin_id}}),
    )
    .await;
    assert!(!r.status.is_success(), "{}", r.text);
}

#[tokio::test]
async fn changing_ones_password_ends_the_session_and_the_new_one_signs_in() {
    let api = Api::new().await;
    api.member("vera", "veras").await;
    let cookie = sign_in(&api, "vera", "pw-1").await;
    let r = op(
        &api,
        &cookie,
        serde_json::json!({"ChangePassword": {"original": "wrong", "password": "pw-2"}}),
    )
    .await;
    assert!(!r.status.is_success());
    assert!(
        r.text.contains("original password is not correct"),
        "{}",
        r.text
    );
    let r = op(
        &api,
        &cookie,
        serde_json::json!({"ChangePassword": {"original": "pw-1", "password": "pw-2"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let me = api.server_fn("who_am_i", "", Some(&cookie), None).await;
    assert!(me.body.is_null(), "{}", me.text);
    let r = api
        .server_fn("sign_in", &form("vera", "pw-1"), None, None)
        .await;
    assert!(!r.status.is_success());
    sign_in(&api, "vera", "pw-2").await;
}

#[tokio::test]
async fn application_credentials_are_self_service_and_their_secret_is_shown_once() {
    let api = Api::new().await;
    api.member("wim", "wims").await;
    let cookie = sign_in(&api, "wim", "pw-1").await;
    let r = op(&api, &cookie, serde_json::json!({"AppCredCreate": {"name": "ci", "description": "", "expires": "2999-01-01", "unrestricted": false}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.body["reveal"]["id"].as_str().unwrap().to_string();
    let secret = r.body["reveal"]["secret"].as_str().unwrap().to_string();
    let yaml = r.body["reveal"]["clouds_yaml"].as_str().unwrap();
    assert!(
        yaml.contains(&format!("application_credential_secret: {secret}")),
        "{yaml}"
    );
    // The credential works for the API, and the listing never shows the secret.
    let auth = serde_json::json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": id, "secret": secret}}}});
    let r = api
        .call(
            axum::http::Method::POST,
            "/identity/v3/auth/tokens",
            None,
            Some(auth.clone()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let list = api.server_fn("my_app_creds", "", Some(&cookie), None).await;
    assert_eq!(list.body[0]["name"], "ci");
    assert!(list.body[0]["expires_at"]
        .as_str()
        .unwrap()
        .starts_with("2999-01-01T23:59:59"));
    assert!(!list.text.contains(&secret));
    // A bad date says what is wrong.
    let r = op(&api, &cookie, serde_json::json!({"AppCredCreate": {"name": "x", "description": "", "expires": "soon", "unrestricted": false}})).await;
    assert!(r.text.contains("not a date"), "{}", r.text);
    let r = op(
        &api,
        &cookie,
        serde_json::json!({"AppCredDelete": {"id": id}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api
        .call(
            axum::http::Method::POST,
            "/identity/v3/auth/tokens",
            None,
            Some(auth),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn settings_keep_the_page_size_and_refuse_odd_values() {
    let api = Api::new().await;
    let cookie = sign_in(&api, "admin", ADMIN_PASSWORD).await;
    for i in 0..12 {
        api.admin(
            axum::http::Method::POST,
            "/identity/v3/projects",
            Some(serde_json::json!({"project": {"name": format!("p{i:02}")}})),
        )
        .await;
    }
    let r = api
        .server_fn("save_prefs", "page_size=7", Some(&cookie), None)
        .await;
    assert!(
        r.text.contains("must be one of 10, 20, 50 or 100"),
        "{}",
        r.text
    );
    let r = api
        .server_fn("save_prefs", "page_size=10", Some(&cookie), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let page = api
        .server_fn("list_projects", "search=&page=1", Some(&cookie), None)
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 10);
    assert_eq!(page.body["per_page"], 10);
}

/// PUT /console/images/{id}/file as the Images panel sends it.
async fn console_upload(
    api: &Api,
    id: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    data: &[u8],
) -> Reply {
    let mut headers = vec![
        ("content-type", "application/octet-stream"),
        ("host", "127.0.0.1:8080"),
    ];
    if let Some(c) = cookie {
        headers.push(("cookie", c));
    }
    if let Some(o) = origin {
        headers.push(("origin", o));
    }
    api.raw(
        axum::http::Method::PUT,
        &format!("/console/images/{id}/file"),
        None,
        Some(data.to_vec()),
        &headers,
    )
    .await
}

#[tokio::test]
async fn the_console_upload_needs_a_session_of_the_images_project_and_the_same_origin() {
    let api = Api::new().await;
    api.member("uma", "umas").await;
    let token = api.login("uma", "pw-1", "umas").await;
    let create = |token: String, name: &'static str| {
        let api = &api;
        async move {
            let body = serde_json::json!({"name": name, "disk_format": "raw", "container_format": "bare", "visibility": "private"});
            let r = api
                .call(
                    axum::http::Method::POST,
                    "/image/v2/images",
                    Some(&token),
                    Some(body),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let hers = create(token, "hers").await;
    let admins = create(api.admin_token.clone(), "admins").await;
    let data = vec![5u8; 100_000];

    let r = console_upload(&api, &hers, None, None, &data).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.text.contains("not signed in"), "{}", r.text);

    let cookie = sign_in(&api, "uma", "pw-1").await;
    let r = console_upload(&api, &admins, Some(&cookie), None, &data).await;
    assert_eq!(r.status, 404, "another project's private image: {}", r.text);
    let r = console_upload(
        &api,
        &hers,
        Some(&cookie),
        Some("https://elsewhere.example"),
        &data,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);

    let r = console_upload(&api, &hers, Some(&cookie), None, &data).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let img = api
        .admin(
            axum::http::Method::GET,
            &format!("/image/v2/images/{hers}"),
            None,
        )
        .await;
    assert_eq!(img.body["status"], "active");
    assert_eq!(img.body["size"], 100_000);
    // Data goes in once: the reason comes back as text for the dialog.
    let r = console_upload(&api, &hers, Some(&cookie), None, &data).await;
    assert_eq!(r.status, 409);
    assert!(r.text.contains("only once"), "{}", r.text);
    let img = api
        .admin(
            axum::http::Method::GET,
            &format!("/image/v2/images/{admins}"),
            None,
        )
        .await;
    assert_eq!(img.body["status"], "queued", "untouched");

    // Admin > Images is refused to a member (the service would list only what the
    // member may see anyway).
    let r = api
        .server_fn(
            "list_images",
            "all=true&name=&visibility=&status=&marker=",
            Some(&cookie),
            None,
        )
        .await;
    assert!(!r.status.is_success());
    assert!(r.text.contains("admin role"), "{}", r.text);
}
