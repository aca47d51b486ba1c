//! The console: Leptos SSR routes, server functions and the built site's files, behind
//! database-backed sessions (HttpOnly, SameSite=Lax cookies) and a same-origin check
//! on every state-changing request.

use app::{shell, App};
use axum::body::Body;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Router;
use ferrostack_core::ctx::RequestId;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::api::table::{Access::*, Routes};
use crate::sessions::DbSessionStore;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "ferrostack_session";

/// The console's own routes (with their table entries: the upload route and the event
/// stream), its pages and server functions, and the built site's files.
pub fn routes(state: &AppState) -> Routes {
    let routes = route_list();
    let cloud = state.cloud.clone();
    let services = state.services.clone();
    let options = state.leptos.clone();
    let sessions =
        SessionManagerLayer::new(DbSessionStore::new(state.services.platform.db.clone()))
            .with_name(SESSION_COOKIE)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(state.public_url.starts_with("https://"))
            .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
    let state = state.clone();
    Routes::new()
        .put("/console/images/{id}/file", ProjectWrite, upload_image)
        .get("/console/events", Token, event_stream)
        .server_fns(app::access::SERVER_FNS)
        // Pages (their paths come from the app's own route list, which the
        // every-endpoint test walks) and the site's files.
        .wrap(move |r: Router<AppState>| {
            r.leptos_routes_with_context(
                &state,
                routes,
                move || {
                    provide_context(cloud.clone());
                    provide_context(services.clone());
                },
                move || shell(options.clone()),
            )
            .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
            .layer(middleware::from_fn_with_state(state.clone(), sign_in_first))
            .layer(sessions)
            .layer(middleware::from_fn(same_origin_only))
            .layer(middleware::from_fn(error_status))
        })
}

/// The app's route list, generated once per process. Generating it renders the app
/// with leptos's resource loading switched off by a process-wide flag
/// (`SuppressResourceLoad`), so a page rendered on another thread meanwhile would
/// create resources that never load and its response would never come (leptos issue
/// #4773): after the first call nothing renders under that flag again.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The console's page paths (leptos's `:param` segments), as its router serves them.
pub fn page_paths() -> Vec<String> {
    route_list().iter().map(|r| r.path().to_string()).collect()
}

/// A console page asked for without a valid session is answered with a redirect to
/// the sign-in page by the server (the page itself would render a placeholder that
/// only the WASM moves on from, so without scripts it would never arrive).
async fn sign_in_first(
    State(s): State<AppState>,
    Extension(rid): Extension<RequestId>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let page = req.method() == Method::GET
        && html
        && path != "/sign-in"
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && !path.starts_with("/console/")
        && !path.rsplit('/').next().unwrap_or("").contains('.');
    if page
        && app::auth::ssr::session_caller(&s.services.identity, &session, &rid.0)
            .await
            .is_err()
    {
        return axum::response::Redirect::to("/sign-in").into_response();
    }
    next.run(req).await
}

/// A server function's error is answered with the status it carries (`ConsoleError`'s
/// `status`: 401, 403, 404, 409, …) rather than the framework's blanket 500, so that the
/// wire says what the console says.
async fn error_status(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    if resp.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !resp
            .headers()
            .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // A ConsoleError is a few hundred bytes; anything larger is not one.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(e) = serde_json::from_slice::<app::error::ConsoleError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(e.status) {
            if status.is_client_error() || status.is_server_error() {
                parts.status = status;
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Refuse state-changing requests (server functions are POSTs) that a browser marks as
/// coming from another site: a page elsewhere must not act with a user's session.
async fn same_origin_only(req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let h = req.headers();
        let cross_site =
            h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = h
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(|o| o.split_once("://").map(|(_, rest)| rest).unwrap_or(o));
        let foreign_origin = matches!((origin_host, host), (Some(o), Some(h)) if o != h)
            || (origin_host.is_some() && host.is_none());
        if cross_site || foreign_origin {
            tracing::warn!(origin = ?origin_host, host = ?host, "refused a cross-origin console request");
            return (
                StatusCode::FORBIDDEN,
                "Cross-origin requests to the console are refused.",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// A console route's refusal: the console's error (status and reason) as JSON, as a
/// server function answers it.
fn refuse(status: u16, message: String) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        axum::Json(app::error::ConsoleError::new(status, message)),
    )
        .into_response()
}

/// The console's image upload (the Images panel's "Create image"): the browser streams
/// the file here with the session cookie, and watches its own upload progress. The
/// same image-service call as `PUT /image/v2/images/{id}/file`; a refusal answers
/// with the service's reason as plain text, for the dialog to show.
async fn upload_image(
    State(s): State<AppState>,
    Extension(rid): Extension<RequestId>,
    session: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let say = |e: ferrostack_core::Error| {
        if let ferrostack_core::Error::Internal(detail) = &e {
            tracing::error!(request = %rid.0, detail = %detail, "internal error in a console upload");
            return refuse(500, format!("Internal error (request id {}).", rid.0));
        }
        refuse(e.status(), e.to_string())
    };
    let ctx = match app::auth::ssr::session_caller(&s.services.identity, &session, &rid.0).await {
        Ok((ctx, _)) => ctx,
        Err(why) => return refuse(401, why),
    };
    let body = match crate::api::image::data_body(&headers, body) {
        Ok(b) => b,
        Err(e) => return say(e),
    };
    match s.services.images.image_upload(&ctx, &id, body).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => say(e),
    }
}

#[derive(serde::Deserialize)]
struct EventsQuery {
    /// Every project's events (admins only: the event service refuses others).
    #[serde(default)]
    all: bool,
    /// Resume after this event (what `Last-Event-ID` says, for clients that cannot
    /// set the header).
    after: Option<i64>,
}

/// How often a live connection re-checks that its session still stands (a revoked
/// token or a sign-out ends the stream within this time).
const RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// The console's live feed: server-sent events of the resources the session's caller
/// may see (its project's and public ones; every project's for an admin who asks with
/// `all=true`). Each event's `id` is its number, so a browser that reconnects sends
/// `Last-Event-ID` and receives what it missed before anything new.
async fn event_stream(
    State(s): State<AppState>,
    Extension(rid): Extension<RequestId>,
    session: Session,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    let ctx = match app::auth::ssr::session_caller(&s.services.identity, &session, &rid.0).await {
        Ok((ctx, _)) => ctx,
        Err(why) => return refuse(401, why),
    };
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.after);
    let sub = match s.services.platform.events.subscribe(&ctx, after, q.all) {
        Ok(sub) => sub,
        Err(e) => {
            let mut resp = refuse(e.status(), e.to_string());
            if let ferrostack_core::Error::Unavailable { retry_after, .. } = e {
                if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            return resp;
        }
    };
    // First a `ready` event carrying the position the stream starts from, so that even
    // a browser that has seen nothing yet resumes from here.
    let ready = SseEvent::default()
        .event("ready")
        .id(sub.last().to_string())
        .retry(std::time::Duration::from_secs(2))
        .data("{}");
    let identity = s.services.identity.clone();
    let state = (sub, tokio::time::Instant::now() + RECHECK);
    let live = futures_util::stream::unfold(Some(state), move |st| {
        let identity = identity.clone();
        let session = session.clone();
        let rid = rid.0.clone();
        async move {
            let (mut sub, mut recheck) = st?;
            loop {
                tokio::select! {
                    ev = sub.next() => {
                        let ev = ev.ok()?;
                        let data = serde_json::to_string(&ev).ok()?;
                        let item = SseEvent::default().event("resource").id(ev.seq.to_string()).data(data);
                        return Some((Ok::<_, std::convert::Infallible>(item), Some((sub, recheck))));
                    }
                    _ = tokio::time::sleep_until(recheck) => {
                        if app::auth::ssr::session_caller(&identity, &session, &rid).await.is_err() {
                            return None;
                        }
                        recheck = tokio::time::Instant::now() + RECHECK;
                    }
                }
            }
        }
    });
    let stream = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(ready) }),
        live,
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response()
}
