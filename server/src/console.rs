//! The console: Leptos SSR routes, server functions and the built site's files, behind
//! database-backed sessions (HttpOnly, SameSite=Lax cookies) and a same-origin check
//! on every state-changing request.

use app::{shell, App};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::sessions::DbSessionStore;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "ferrostack_session";

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(App);
    let cloud = state.cloud.clone();
    let identity = state.identity.clone();
    let images = state.images.clone();
    let options = state.leptos.clone();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.identity.db().clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.public_url.starts_with("https://"))
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
    Router::new()
        .route("/console/images/{id}/file", put(upload_image))
        .leptos_routes_with_context(
            state,
            routes,
            move || {
                provide_context(cloud.clone());
                provide_context(identity.clone());
                provide_context(images.clone());
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(sessions)
        .layer(middleware::from_fn(same_origin_only))
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

/// The console's image upload (the Images panel's "Create image"): the browser streams
/// the file here with the session cookie, and watches its own upload progress. The
/// same image-service call as `PUT /image/v2/images/{id}/file`; a refusal answers
/// with the service's reason as plain text, for the dialog to show.
async fn upload_image(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let say = |e: ferrostack_core::Error| {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let ferrostack_core::Error::Internal(detail) = &e {
            tracing::error!(detail = %detail, "internal error in a console upload");
        }
        (status, e.to_string()).into_response()
    };
    let ctx = match app::auth::ssr::session_caller(&s.identity, &session).await {
        Ok((ctx, _)) => ctx,
        Err(why) => return (StatusCode::UNAUTHORIZED, why).into_response(),
    };
    let body = match crate::api::image::data_body(&headers, body) {
        Ok(b) => b,
        Err(e) => return say(e),
    };
    match s.images.image_upload(&ctx, &id, body).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => say(e),
    }
}
