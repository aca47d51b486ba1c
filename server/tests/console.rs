//! The console's server functions over HTTP, as the browser calls them: sign-in goes
//! through the identity service, sessions live in the database, and requests from other
//! origins are refused.

mod common;

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
    // The same lockout as the API: after the configured failures the account is locked.
    for _ in 0..5 {
        api.server_fn("sign_in", &form("admin", "nope"), None, None)
            .await;
    }
    let r = api
        .server_fn("sign_in", &form("admin", ADMIN_PASSWORD), None, None)
        .await;
    assert!(r.text.contains("locked"), "{}", r.text);
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
    assert_eq!(r.body["roles"], serde_json::json!(["member"]));
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
