//! /v3/policies (policy documents stored for clients), and the Keystone features this
//! cloud does not offer, each refused saying why (domain configuration, OAuth1).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_identity::PolicyDoc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::Links;
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

const DOMAIN_CONFIG_WHY: &str = "users and groups live in this cloud's own database (there are no \
     LDAP or other identity backends), so a domain has nothing to configure.";
const OAUTH1_WHY: &str =
    "delegate with trusts (/v3/OS-TRUST/trusts) or application credentials instead.";

pub fn routes() -> Routes {
    let mut r = Routes::new()
        .get("/v3/policies", Admin, list)
        .post("/v3/policies", Admin, create)
        .get("/v3/policies/{id}", Admin, show)
        .patch("/v3/policies/{id}", Admin, update)
        .delete("/v3/policies/{id}", Admin, delete);
    for path in [
        "/v3/domains/{id}/config",
        "/v3/domains/{id}/config/{group}",
        "/v3/domains/{id}/config/{group}/{option}",
    ] {
        r = r
            .get(path, Admin, domain_config)
            .put(path, Admin, domain_config)
            .patch(path, Admin, domain_config)
            .delete(path, Admin, domain_config);
    }
    r.get("/v3/domains/config/default", Admin, domain_config)
        .get("/v3/OS-OAUTH1/consumers", Admin, oauth1)
        .post("/v3/OS-OAUTH1/consumers", Admin, oauth1)
}

async fn domain_config(State(s): State<AppState>, Authed(ctx): Authed) -> KsResult<StatusCode> {
    s.services
        .identity
        .not_offered(&ctx, "Domain-specific configuration", DOMAIN_CONFIG_WHY)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn oauth1(State(s): State<AppState>, Authed(ctx): Authed) -> KsResult<StatusCode> {
    s.services
        .identity
        .not_offered(&ctx, "OAuth1 (OS-OAUTH1)", OAUTH1_WHY)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Body<T> {
    policy: T,
}

#[derive(Deserialize)]
struct CreateIn {
    blob: String,
    #[serde(rename = "type")]
    media_type: String,
}

#[derive(Deserialize)]
struct UpdateIn {
    blob: Option<String>,
    #[serde(rename = "type")]
    media_type: Option<String>,
}

fn view(l: &Links, p: &PolicyDoc) -> Value {
    json!({"id": p.id, "type": p.media_type, "blob": p.blob, "links": l.to(&format!("policies/{}", p.id))})
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let t = f.text("type");
    let list = s.services.identity.policy_list(&ctx, t.as_deref()).await?;
    Ok(Json(json!({
        "policies": list.iter().map(|p| view(&l, p)).collect::<Vec<_>>(),
        "links": l.list("policies"),
    })))
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let p = s
        .services
        .identity
        .policy_create(&ctx, &b.policy.media_type, &b.policy.blob)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"policy": view(&Links(&s.public_url), &p)})),
    ))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let p = s.services.identity.policy_get(&ctx, &id).await?;
    Ok(Json(json!({"policy": view(&Links(&s.public_url), &p)})))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let u = b.policy;
    let p = s
        .services
        .identity
        .policy_update(&ctx, &id, u.media_type.as_deref(), u.blob.as_deref())
        .await?;
    Ok(Json(json!({"policy": view(&Links(&s.public_url), &p)})))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.policy_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
