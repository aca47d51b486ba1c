//! The HTTP front under attack, on a real loopback listener where it matters: a
//! slowloris run does not stop normal requests and its connections are cut; bodies
//! over the limit are refused before they are read; a host name the cloud was not
//! given (DNS rebinding) is refused.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::Api;
use server::http::{Limits, BODY_LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One plain HTTP/1.1 GET over its own connection; the response's status code.
async fn get(addr: std::net::SocketAddr, path: &str) -> u16 {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_run_does_not_stop_normal_requests_and_its_connections_are_cut() {
    server::http::raise_nofile();
    let api = Api::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = Limits {
        header_read: Duration::from_secs(2),
        max_connections: 4096,
    };
    let server = tokio::spawn(server::http::serve(
        listener,
        api.app.clone(),
        limits,
        async {
            let _ = stopped.await;
        },
    ));
    // 1,000 connections that start a request and then trickle a byte every 300 ms,
    // never finishing their headers (each gives up by itself after 20 s).
    let mut trickle = Vec::new();
    for i in 0..1000 {
        trickle.push(tokio::spawn(async move {
            let Ok(mut s) = TcpStream::connect(addr).await else {
                return false;
            };
            let head = format!("GET /identity/v3 HTTP/1.1\r\nHost: {addr}\r\nX-Slow-{i}: ");
            if s.write_all(head.as_bytes()).await.is_err() {
                return true;
            }
            for _ in 0..66 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                // A write to a connection the server closed fails (soon after).
                if s.write_all(b"a").await.is_err() {
                    return true;
                }
                let mut one = [0u8; 1];
                if let Ok(Ok(0)) =
                    tokio::time::timeout(Duration::from_millis(1), s.read(&mut one)).await
                {
                    return true;
                }
            }
            false
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile, normal requests are answered.
    for _ in 0..20 {
        assert_eq!(get(addr, "/identity/v3").await, 200);
    }
    // The server cut the trickling connections (header-read timeout), each of them.
    let mut cut = 0;
    for t in trickle {
        if t.await.unwrap() {
            cut += 1;
        }
    }
    assert_eq!(
        cut, 1000,
        "every trickling connection was closed by the server"
    );
    assert_eq!(get(addr, "/identity/v3").await, 200);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_before_they_are_read() {
    let api = Api::new().await;
    let big = (BODY_LIMIT + 1).to_string();
    // Declared too large: 413 at once, whatever the route (a little body is sent; the
    // server does not wait for the rest).
    for path in [
        "/identity/v3/auth/tokens",
        "/image/v2/images",
        "/api/image_do",
        "/api/sign_in",
    ] {
        let r = api
            .raw(
                Method::POST,
                path,
                None,
                Some(b"{}".to_vec()),
                &[("content-length", &big)],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path}: {}",
            r.text
        );
        assert!(r.text.contains("larger than"), "{path}: {}", r.text);
    }
    // Undeclared and too large: cut off at the limit, still not a 500.
    let huge = vec![b' '; (BODY_LIMIT as usize) + 10];
    let r = api
        .raw(
            Method::POST,
            "/identity/v3/auth/tokens",
            None,
            Some(huge),
            &[],
        )
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
    // Upload routes stream (bounded by quotas instead).
    let img = api
        .admin(
            Method::POST,
            "/image/v2/images",
            Some(serde_json::json!({"name": "big", "disk_format": "raw", "container_format": "bare"})),
        )
        .await;
    let id = img.body["id"].as_str().unwrap().to_string();
    let data = vec![5u8; (BODY_LIMIT as usize) * 2];
    let token = api.admin_token.clone();
    let r = api
        .raw(
            Method::PUT,
            &format!("/image/v2/images/{id}/file"),
            Some(&token),
            Some(data),
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn a_host_name_the_cloud_was_not_given_is_refused() {
    let api = Api::new().await;
    let r = api
        .raw(
            Method::GET,
            "/identity/v3",
            None,
            None,
            &[("host", "rebind.attacker.example:8080")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("does not answer to the host name"),
        "{}",
        r.text
    );
    let r = api
        .raw(
            Method::GET,
            "/",
            None,
            None,
            &[("host", "rebind.attacker.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the console too");
    for ok in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"] {
        let r = api
            .raw(Method::GET, "/identity/v3", None, None, &[("host", ok)])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{ok}");
    }
}

#[tokio::test]
async fn an_address_that_keeps_guessing_is_made_to_wait_even_for_the_admin() {
    let api = Api::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::http::serve(
        listener,
        api.app.clone(),
        Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let login = |password: &str| {
        let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": password}}}}}).to_string();
        format!(
            "POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let send = |req: String| async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf).to_string()
    };
    for i in 0..ferrostack_identity_max_failures() {
        let r = send(login(&format!("guess-{i}"))).await;
        assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    }
    // The admin ignores lockout, but this address must now wait: even the right
    // password is not checked.
    let r = send(login(common::ADMIN_PASSWORD)).await;
    assert!(r.starts_with("HTTP/1.1 429"), "{r}");
    assert!(r.to_ascii_lowercase().contains("retry-after:"), "{r}");
    assert!(r.contains("Too many failed sign-ins"), "{r}");
    let _ = stop.send(());
    let _ = server.await;
}

fn ferrostack_identity_max_failures() -> u32 {
    20
}
