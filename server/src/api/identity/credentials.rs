//! /v3/credentials and /v3/users/{user_id}/credentials/OS-EC2

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_core::Error;
use ferrostack_identity::{CredentialUpdate, NewCredential};
use ferrostack_types::identity::Credential;
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::Links;
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    let ec2 = "/v3/users/{user_id}/credentials/OS-EC2";
    Routes::new()
        .get("/v3/credentials", Token, list)
        // A credential is its user's own record (the list shows a user its own).
        .post("/v3/credentials", UserSelf, create)
        .get("/v3/credentials/{id}", UserSelf, show)
        .patch("/v3/credentials/{id}", UserSelf, update)
        .delete("/v3/credentials/{id}", UserSelf, delete)
        .get(ec2, UserSelf, ec2_list)
        .post(ec2, UserSelf, ec2_create)
        .get(&format!("{ec2}/{{access}}"), UserSelf, ec2_show)
        .delete(&format!("{ec2}/{{access}}"), UserSelf, ec2_delete)
}

fn view(l: &Links, c: &Credential) -> Value {
    json!({
        "id": c.id, "user_id": c.user_id, "project_id": c.project_id, "type": c.credential_type,
        "blob": c.blob, "links": l.to(&format!("credentials/{}", c.id)),
    })
}

fn ec2_view(l: &Links, c: &Credential) -> Value {
    let blob: Value = serde_json::from_str(&c.blob).unwrap_or(Value::Null);
    json!({
        "user_id": c.user_id, "tenant_id": c.project_id,
        "access": blob["access"], "secret": blob["secret"], "trust_id": blob["trust_id"],
        "links": l.to(&format!("users/{}/credentials/OS-EC2/{}", c.user_id, blob["access"].as_str().unwrap_or(""))),
    })
}

#[derive(Deserialize)]
struct Body<T> {
    credential: T,
}

#[derive(Deserialize)]
struct CreateIn {
    user_id: String,
    project_id: Option<String>,
    #[serde(rename = "type")]
    credential_type: String,
    blob: String,
}

#[derive(Deserialize)]
struct UpdateIn {
    project_id: Option<String>,
    #[serde(rename = "type")]
    credential_type: Option<String>,
    blob: Option<String>,
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let c = b.credential;
    let new = NewCredential {
        user_id: c.user_id,
        project_id: c.project_id,
        credential_type: c.credential_type,
        blob: c.blob,
    };
    let cred = s.services.identity.credential_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"credential": view(&Links(&s.public_url), &cred)})),
    ))
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s
        .services
        .identity
        .credential_list(&ctx, f.text("user_id"), f.text("type"))
        .await?;
    Ok(Json(json!({
        "credentials": list.iter().map(|c| view(&l, c)).collect::<Vec<_>>(),
        "links": l.list("credentials"),
    })))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let c = s.services.identity.credential_get(&ctx, &id).await?;
    Ok(Json(json!({"credential": view(&Links(&s.public_url), &c)})))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let u = b.credential;
    let upd = CredentialUpdate {
        project_id: u.project_id,
        credential_type: u.credential_type,
        blob: u.blob,
    };
    let c = s
        .services
        .identity
        .credential_update(&ctx, &id, upd)
        .await?;
    Ok(Json(json!({"credential": view(&Links(&s.public_url), &c)})))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.credential_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Ec2In {
    tenant_id: Option<String>,
    project_id: Option<String>,
}

async fn ec2_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(user_id): Path<String>,
    JsonBody(b): JsonBody<Ec2In>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let project = b
        .tenant_id
        .or(b.project_id)
        .or_else(|| ctx.project_id().map(str::to_string))
        .ok_or_else(|| {
            Error::bad_request(
                "Invalid input for field 'tenant_id': name the project the credential is for.",
            )
        })?;
    let c = s
        .services
        .identity
        .ec2_create(&ctx, &user_id, &project)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"credential": ec2_view(&Links(&s.public_url), &c)})),
    ))
}

async fn ec2_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(user_id): Path<String>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s.services.identity.ec2_list(&ctx, &user_id).await?;
    Ok(Json(json!({
        "credentials": list.iter().map(|c| ec2_view(&l, c)).collect::<Vec<_>>(),
        "links": l.list(&format!("users/{user_id}/credentials/OS-EC2")),
    })))
}

async fn ec2_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((user_id, access)): Path<(String, String)>,
) -> KsResult<Json<Value>> {
    let c = s.services.identity.ec2_get(&ctx, &user_id, &access).await?;
    Ok(Json(
        json!({"credential": ec2_view(&Links(&s.public_url), &c)}),
    ))
}

async fn ec2_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((user_id, access)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .ec2_delete(&ctx, &user_id, &access)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
