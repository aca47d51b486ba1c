//! Console tokens: refused for a server without a console (a simulated host's), and
//! a token that is garbage, expired, of the other kind or of a deleted server opens
//! nothing. (A real guest's consoles are opened by end2end/clients/test_consoles_cli.py.)

mod common;

use common::{ctx, settle, setup};
use ferrostack_compute::ConsoleKind;
use ferrostack_core::time;

async fn token_row(t: &common::T, token: &str, server: &str, kind: &str, expires_in_secs: i64) {
    let hash: String = openssl_sha256(token);
    sqlx::query("INSERT INTO console_tokens (token_hash, server_id, project_id, kind, expires_at, created_at) VALUES ($1, $2, 'proj-a', $3, $4, $5)")
        .bind(hash)
        .bind(server)
        .bind(kind)
        .bind(time::to_db(&(time::now() + chrono::Duration::seconds(expires_in_secs))))
        .bind(time::to_db(&time::now()))
        .execute(&t.platform.db.pool)
        .await
        .unwrap();
}

fn openssl_sha256(s: &str) -> String {
    openssl::sha::sha256(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn console_tokens_open_only_what_they_name_while_valid() {
    let t = setup().await;
    let a = ctx("proj-a", "member");
    t.sim_host("sim-1", 8, 8192, "nova").await;
    let f = t.flavor("small", 1, 1024, 1).await;
    let s = t
        .compute
        .server_create(&a, t.new_server("vm", &f))
        .await
        .unwrap()
        .remove(0);
    settle(&t.compute, &a, &s.id, &["BUILD"]).await;
    let e = t
        .compute
        .console_token(&a, &s.id, ConsoleKind::Serial)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("simulated host"), "{e}");
    let other = t
        .compute
        .console_token(&ctx("proj-b", "member"), &s.id, ConsoleKind::Serial)
        .await
        .unwrap_err();
    assert_eq!(other.status(), 404);
    let reader = t
        .compute
        .console_token(&ctx("proj-a", "reader"), &s.id, ConsoleKind::Vnc)
        .await
        .unwrap_err();
    assert_eq!(reader.status(), 403);

    // The log may be followed by whoever may read it, on any host; its token opens
    // nothing else.
    let log = t
        .compute
        .console_token(&ctx("proj-a", "reader"), &s.id, ConsoleKind::Log)
        .await
        .unwrap();
    let followed = t.compute.console_log(&log).await.unwrap();
    assert!(
        followed.io.ends_with(format!("{}/console.log", s.id)),
        "{:?}",
        followed.io
    );
    assert_eq!(
        t.compute
            .console_serial(&log)
            .await
            .err()
            .map(|e| e.status()),
        Some(401)
    );
    let other = t
        .compute
        .console_token(&ctx("proj-b", "member"), &s.id, ConsoleKind::Log)
        .await
        .unwrap_err();
    assert_eq!(other.status(), 404);

    let expired = "a".repeat(64);
    token_row(&t, &expired, &s.id, "serial", -1).await;
    let vnc = "b".repeat(64);
    token_row(&t, &vnc, &s.id, "vnc", 600).await;
    for (token, what) in [
        (expired.as_str(), "expired"),
        (vnc.as_str(), "of the other kind"),
        ("not-a-token", "garbage"),
        ("", "empty"),
    ] {
        match t.compute.console_serial(token).await {
            Err(e) => assert_eq!(e.status(), 401, "{what}: {e}"),
            Ok(_) => panic!("a token {what} opened the serial console"),
        }
    }
}
