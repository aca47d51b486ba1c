//! /v3/users/{user_id}/application_credentials

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_core::{time, Error};
use ferrostack_identity::{NewApplicationCredential, RoleSpec};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    let path = "/v3/users/{user_id}/application_credentials";
    Routes::new()
        .get(path, UserSelf, list)
        .post(path, UserSelf, create)
        .get(&format!("{path}/{{id}}"), UserSelf, show)
        .delete(&format!("{path}/{{id}}"), UserSelf, delete)
}

#[derive(Deserialize)]
struct Body {
    application_credential: CreateIn,
}

#[derive(Deserialize)]
struct RoleIn {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct CreateIn {
    name: String,
    description: Option<String>,
    secret: Option<String>,
    expires_at: Option<String>,
    #[serde(default)]
    roles: Vec<RoleIn>,
    #[serde(default)]
    unrestricted: bool,
    #[serde(default)]
    access_rules: Vec<Value>,
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(user_id): Path<String>,
    JsonBody(b): JsonBody<Body>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let a = b.application_credential;
    if !a.access_rules.is_empty() {
        return Err(Error::bad_request("Access rules on application credentials are not supported yet; leave access_rules empty.").into());
    }
    let expires_at = match a.expires_at.as_deref() {
        None => None,
        Some(t) => Some(
            time::parse_client(t)
                .filter(|_| t.len() <= 64)
                .ok_or_else(|| {
                    Error::bad_request(format!(
                        "Invalid input for field 'expires_at': {t:?} is not an ISO 8601 time."
                    ))
                })?,
        ),
    };
    let roles = a
        .roles
        .into_iter()
        .map(|r| match (r.id, r.name) {
            (Some(id), _) => Ok(RoleSpec::Id(id)),
            (None, Some(n)) => Ok(RoleSpec::Name(n)),
            _ => Err(Error::bad_request(
                "Invalid input for field 'roles': each role needs an 'id' or a 'name'.",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewApplicationCredential {
        name: a.name,
        description: a.description.unwrap_or_default(),
        secret: a.secret,
        expires_at_given: expires_at.and(a.expires_at.clone()),
        expires_at,
        roles,
        unrestricted: a.unrestricted,
    };
    let ac = s
        .services
        .identity
        .app_cred_create(&ctx, &user_id, new)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"application_credential": views::app_cred(&Links(&s.public_url), &ac)})),
    ))
}

async fn list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(user_id): Path<String>,
    f: Filters,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s
        .services
        .identity
        .app_cred_list(&ctx, &user_id, f.text("name"))
        .await?;
    Ok(Json(json!({
        "application_credentials": list.iter().map(|a| views::app_cred(&l, a)).collect::<Vec<_>>(),
        "links": l.list(&format!("users/{user_id}/application_credentials")),
    })))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((user_id, id)): Path<(String, String)>,
) -> KsResult<Json<Value>> {
    let ac = s
        .services
        .identity
        .app_cred_get(&ctx, &user_id, &id)
        .await?;
    Ok(Json(
        json!({"application_credential": views::app_cred(&Links(&s.public_url), &ac)}),
    ))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((user_id, id)): Path<(String, String)>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .app_cred_delete(&ctx, &user_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
