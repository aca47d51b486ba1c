//! The every-endpoint test. It walks the endpoint table the application is built from
//! (server/src/api/table.rs: every REST route, the console's routes and every console
//! server function, each with its access class) and calls each entry as five callers:
//! no credentials, a forged token (or session), a reader of the project that owns the
//! resource, a member of another project, and a member of a project the resource is
//! shared with (which may see it but never change it). Each class promises what each caller
//! gets (see `expect`); a route added without joining the table, a server function the
//! table does not name, or a path parameter the fixture cannot fill fails the test.

mod common;
mod endpoints_fixture;

use std::collections::{BTreeSet, HashMap};

use axum::http::Method;
use common::*;
use endpoints_fixture::{console_call, rest_call, world, Call};
use ferrostack_types::access::Access;
use serde_json::{json, Value};
use server::api::table::Endpoint;

pub(crate) const PW: &str = "pw-endpoints-1";

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Forged,
    /// `rita`, holding `reader` on project alpha, which owns the resources.
    Reader,
    /// `bob`, a member of project beta.
    Other,
    /// `cara`, a member of project gamma, with which alpha's image is shared: it sees
    /// the image but must not change it.
    Shared,
}

/// What the caller must get.
#[derive(Debug)]
enum Expect {
    /// Let through by policy: not 401, 403 or 404, and never a 5xx.
    Allowed,
    /// Refused with one of these statuses.
    Refused(&'static [u16]),
}

fn expect(access: Access, caller: Caller) -> Option<Expect> {
    use Access::*;
    use Caller::*;
    use Expect::*;
    Some(match (caller, access) {
        (_, Public) => Allowed,
        (Anonymous | Forged, _) => Refused(&[401]),
        (Reader, Token | ProjectRead | UserSelf) => Allowed,
        (Reader, Create | ProjectWrite | Admin) => Refused(&[403]),
        (Other, Token | Create) => Allowed,
        (Other, ProjectRead | ProjectWrite | UserSelf) => Refused(&[403, 404]),
        // Another project's resource is not even there for it.
        (Other, Admin) => Refused(&[403, 404]),
        (Shared, Token | Create) => Allowed,
        (Shared, ProjectWrite | Admin) => Refused(&[403, 404]),
        // What a member of a sharing project may read depends on the route (the image
        // yes, its tasks no): only "never a 5xx" is asked of it.
        (Shared, ProjectRead | UserSelf) => return None,
    })
}

fn is_console(e: &Endpoint) -> bool {
    e.path.starts_with("/api/") || e.path.starts_with("/console/")
}

/// Credentials for one call: a token for the REST API, a session cookie for the
/// console. Each call gets fresh ones, so that an allowed sign-out or revocation does
/// not spoil the next.
async fn credentials(api: &Api, caller: Caller, console: bool) -> Option<String> {
    let (user, project) = match caller {
        Caller::Anonymous => return None,
        Caller::Forged if console => {
            return Some("ferrostack_session=forged-0123456789abcdef".into())
        }
        Caller::Forged => return Some("gAAAAABforged-token-0123456789".into()),
        Caller::Reader => ("rita", "alpha"),
        Caller::Other => ("bob", "beta"),
        Caller::Shared => ("cara", "gamma"),
    };
    if console {
        let r = api
            .server_fn(
                "sign_in",
                &format!("username={user}&password={PW}&domain="),
                None,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "sign-in of {user}: {}", r.text);
        r.session_cookie()
    } else {
        Some(api.login(user, PW, project).await)
    }
}

async fn send(api: &Api, e: &Endpoint, call: &Call, caller: Caller, console: bool) -> Reply {
    let cred = credentials(api, caller, console).await;
    let mut headers: Vec<(&str, &str)> = vec![("host", "127.0.0.1:8080")];
    if call.body.is_some() {
        headers.push(("content-type", call.content_type));
    }
    // Compute answers at the newest microversion, as the pinned clients ask for it.
    if e.path.starts_with("/compute/") {
        headers.push(("openstack-api-version", "compute latest"));
    }
    let token = if console { None } else { cred.as_deref() };
    if console {
        if let Some(c) = cred.as_deref() {
            headers.push(("cookie", c));
        }
    }
    if call.subject {
        headers.push(("x-subject-token", token.unwrap_or("gAAAAABforged-subject")));
    }
    if e.path == "/console/events" {
        return stream_head(api, &call.path, &headers).await;
    }
    api.raw(
        e.method.clone(),
        &call.path,
        token,
        call.body.clone(),
        &headers,
    )
    .await
}

/// The event stream's answer without its body (which, once allowed, never ends): the
/// status, and for a refusal the reason.
async fn stream_head(api: &Api, path: &str, headers: &[(&str, &str)]) -> Reply {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder().method(Method::GET).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(axum::body::Body::empty()).expect("request");
    let resp = api.app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = if status.is_success() {
        String::new()
    } else {
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Reply {
        status,
        headers,
        body: Value::Null,
        text,
    }
}

/// Variant names of an operations enum, read from serde's own list (so a new variant
/// shows up here without anyone writing it down).
fn variants<T: serde::de::DeserializeOwned>() -> Vec<String> {
    let err = serde_json::from_value::<T>(json!({"__no_such_operation__": {}}))
        .err()
        .expect("not a variant")
        .to_string();
    let list = err.split("expected one of ").nth(1).expect("variant list");
    list.split(',')
        .map(|v| v.trim().trim_matches(|c| c == '`' || c == ' ').to_string())
        .filter(|v| !v.is_empty())
        .map(|v| v.split('`').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_endpoint_holds_its_access_class_for_five_callers() {
    let api = Api::new().await;

    // The table names exactly the server functions the binary registers, and every
    // operation of the operations functions.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .collect();
    let tabled: BTreeSet<String> = api
        .table
        .iter()
        .filter(|e| e.path.starts_with("/api/"))
        .map(|e| e.path.split('#').next().unwrap().to_string())
        .collect();
    assert_eq!(
        registered, tabled,
        "server functions and the table differ: add the function to app/src/access.rs"
    );
    for (func, ops) in [
        ("identity_do", variants::<app::identity::Op>()),
        ("image_do", variants::<app::images::ImageOp>()),
        ("network_do", variants::<app::network::NetOp>()),
    ] {
        assert!(ops.len() > 3, "{func}: {ops:?}");
        for op in ops {
            let key = format!("/api/{func}#{op}");
            assert!(
                api.table.iter().any(|e| e.path == key),
                "{func}'s operation {op} is not in app/src/access.rs"
            );
        }
    }
    let mut seen = BTreeSet::new();
    for e in &api.table {
        assert!(
            seen.insert((e.method.to_string(), e.path.clone())),
            "{} {} is in the table twice",
            e.method,
            e.path
        );
    }

    let w = world(&api).await;
    let secrets = [&w.image, &w.alpha, &w.rita, &w.cred, &w.task];
    // Deletions last: an allowed one (rita deleting her own credential) must not take
    // away what later entries call; her password change after everything.
    let mut table = api.table.clone();
    table.sort_by_key(|e| (e.path.ends_with("/password"), e.method == Method::DELETE));
    let mut failures = Vec::new();
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    for e in &table {
        let console = is_console(e);
        let call = if e.path.starts_with("/api/") {
            console_call(e, &w)
        } else {
            rest_call(e, &w)
        };
        // The reader goes last: what it is allowed to do may change the resource.
        for caller in [
            Caller::Anonymous,
            Caller::Forged,
            Caller::Other,
            Caller::Shared,
            Caller::Reader,
        ] {
            let r = send(&api, e, &call, caller, console).await;
            let status = r.status.as_u16();
            let want = expect(e.access, caller);
            let ok = match want {
                Some(Expect::Allowed) => !matches!(status, 401 | 403 | 404) && status < 500,
                Some(Expect::Refused(codes)) => codes.contains(&status),
                None => status < 500,
            };
            // A refusal says why (HEAD answers carry no body).
            let said = e.method == Method::HEAD
                || !matches!(want, Some(Expect::Refused(_)))
                || r.text.contains("\"message\"");
            if ok && !said {
                failures.push(format!(
                    "{} {} as {caller:?}: refused without a reason: {}",
                    e.method, e.path, r.text
                ));
            }
            *counts.entry(if ok { "held" } else { "broke" }).or_default() += 1;
            if !ok {
                failures.push(format!(
                    "{} {} ({:?}) as {caller:?}: wanted {want:?}, got {status}: {}",
                    e.method,
                    e.path,
                    e.access,
                    r.text.chars().take(200).collect::<String>()
                ));
            }
            if caller == Caller::Other && r.status.is_success() {
                for s in secrets {
                    if r.text.contains(s.as_str()) {
                        failures.push(format!(
                            "{} {} as another project's member shows alpha's {s}",
                            e.method, e.path
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls broke their class:\n{}",
        failures.len(),
        counts.values().sum::<usize>(),
        failures.join("\n")
    );
    assert!(table.len() > 120, "the table lost entries: {}", table.len());
}

/// Every console page needs a session: without one the server answers a redirect to
/// the sign-in page (the sign-in page itself is served).
#[tokio::test]
async fn every_console_page_sends_strangers_to_sign_in() {
    let api = Api::new().await;
    let pages = server::console::page_paths();
    assert!(pages.len() > 8, "{pages:?}");
    for page in pages {
        let path = page
            .split('/')
            .map(|seg| {
                if seg.starts_with(':') {
                    "0b1c2d3e"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let r = api
            .raw(
                Method::GET,
                &path,
                None,
                None,
                &[("host", "127.0.0.1:8080"), ("accept", "text/html")],
            )
            .await;
        if page == "/sign-in" {
            assert_eq!(r.status, 200, "{page}");
        } else {
            assert_eq!(r.status, 303, "{page}: {}", r.status);
            assert_eq!(r.headers["location"], "/sign-in", "{page}");
        }
    }
}

/// Routes join the table by being added through it: no other file of the server
/// registers one with axum directly.
#[test]
fn routes_are_added_only_through_the_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") || path.ends_with("api/table.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for needle in [".route(", ".route_service(", ".nest_service(", "routing::"] {
                if text.contains(needle) {
                    offenders.push(format!("{} uses {needle}", path.display()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "add routes through server::api::table::Routes:\n{}",
        offenders.join("\n")
    );
}
