//! The console's pages and event stream over HTTP: what a page without a session gets,
//! pages rendering while routes are built elsewhere, and who sees which events.

mod common;

use axum::http::Method;
use common::*;

fn form(user: &str, password: &str) -> String {
    format!("username={user}&password={password}&domain=")
}

#[tokio::test]
async fn the_event_stream_needs_a_session_and_shows_a_member_only_what_it_may_see() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let api = Api::new().await;
    let r = api
        .raw(Method::GET, "/console/events", None, None, &[])
        .await;
    assert_eq!(r.status, 401, "no session: {}", r.text);
    api.member("rita", "ritas").await;
    let cookie = api
        .server_fn("sign_in", "username=rita&password=pw-1&domain=", None, None)
        .await
        .session_cookie()
        .unwrap();
    let r = api
        .raw(
            Method::GET,
            "/console/events?all=true",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(
        r.status, 403,
        "every project's events are for admins: {}",
        r.text
    );
    let req = axum::http::Request::get("/console/events")
        .header("cookie", &cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.into_body();
    // The admin's image (in the admin project, not public) first, then Rita's own.
    let theirs = api
        .admin(
            Method::POST,
            "/image/v2/images",
            Some(serde_json::json!({"name": "admins", "disk_format": "raw", "container_format": "bare"})),
        )
        .await;
    let theirs = theirs.body["id"].as_str().unwrap().to_string();
    let rita = api.login("rita", "pw-1", "ritas").await;
    let mine = api
        .call(
            Method::POST,
            "/image/v2/images",
            Some(rita.as_str()),
            Some(serde_json::json!({"name": "ritas", "disk_format": "raw", "container_format": "bare"})),
        )
        .await;
    let mine = mine.body["id"].as_str().unwrap().to_string();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(&mine) {
        let frame = tokio::time::timeout_at(deadline, stream.frame())
            .await
            .expect("Rita's event arrives")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    assert!(seen.contains("event: ready"), "{seen}");
    assert!(seen.contains("\"action\":\"created\""), "{seen}");
    assert!(
        !seen.contains(&theirs),
        "another project's event leaked: {seen}"
    );
}

/// Pages render while another part of the process builds the console's routes (as
/// every in-process server start does): leptos switches resource loading off
/// process-wide while it generates a route list, and a page rendered meanwhile used
/// to wait forever for its data.
#[tokio::test]
async fn pages_render_while_the_console_routes_are_built_elsewhere() {
    let api = Api::new().await;
    let cookie = api
        .server_fn("sign_in", &form("admin", ADMIN_PASSWORD), None, None)
        .await
        .session_cookie()
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let builder = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 5_000 {
                assert!(!server::console::page_paths().is_empty());
                n += 1;
            }
        })
    };
    for _ in 0..40 {
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            api.raw(
                Method::GET,
                "/project/images",
                None,
                None,
                &[("accept", "text/html"), ("cookie", &cookie)],
            ),
        )
        .await
        .expect("the images page arrives while routes are being built");
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.text.contains("Images"), "{}", r.text);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    builder.join().unwrap();
}

#[tokio::test]
async fn a_console_page_without_a_session_redirects_to_sign_in_from_the_server() {
    let api = Api::new().await;
    for page in ["/", "/project/images", "/identity/projects"] {
        let r = api
            .raw(Method::GET, page, None, None, &[("accept", "text/html")])
            .await;
        assert_eq!(r.status, 303, "{page}: {}", r.text);
        assert_eq!(r.headers["location"], "/sign-in", "{page}");
    }
    // The sign-in page itself, and a signed-in session, are served.
    let r = api
        .raw(
            Method::GET,
            "/sign-in",
            None,
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert_ne!(r.status, 303);
    let cookie = api
        .server_fn("sign_in", &form("admin", ADMIN_PASSWORD), None, None)
        .await
        .session_cookie()
        .unwrap();
    let r = api
        .raw(
            Method::GET,
            "/project/images",
            None,
            None,
            &[("accept", "text/html"), ("cookie", &cookie)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
