//! The console: Leptos SSR routes, server functions and the built site's files, behind
//! database-backed sessions (HttpOnly, SameSite=Lax cookies) and a same-origin check
//! on every state-changing request.

use app::{shell, App};
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

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
