//! /v3/OS-TRUST/trusts

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_core::{time, Error};
use ferrostack_identity::{NewTrust, RoleSpec};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    let base = "/v3/OS-TRUST/trusts";
    Routes::new()
        // A trust is its trustor's (and its trustee's) own record.
        .get(base, UserSelf, list)
        .post(base, UserSelf, create)
        .get(&format!("{base}/{{id}}"), UserSelf, show)
        .delete(&format!("{base}/{{id}}"), UserSelf, delete)
        .get(&format!("{base}/{{id}}/roles"), UserSelf, roles)
        .get(&format!("{base}/{{id}}/roles/{{role_id}}"), UserSelf, role)
        .head(
            &format!("{base}/{{id}}/roles/{{role_id}}"),
            UserSelf,
            role_head,
        )
}

#[derive(Deserialize)]
struct Body {
    trust: CreateIn,
}

#[derive(Deserialize)]
struct RoleIn {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct CreateIn {
    trustor_user_id: String,
    trustee_user_id: String,
    project_id: Option<String>,
    #[serde(default)]
    impersonation: bool,
    #[serde(default)]
    roles: Vec<RoleIn>,
    expires_at: Option<String>,
    remaining_uses: Option<i64>,
    #[serde(default)]
    allow_redelegation: bool,
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let t = b.trust;
    let expires_at = match t.expires_at.as_deref() {
        None => None,
        Some(x) => Some(time::parse_client(x).ok_or_else(|| {
            Error::bad_request(format!(
                "Invalid input for field 'expires_at': {x:?} is not an ISO 8601 time."
            ))
        })?),
    };
    let roles = t
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
    let new = NewTrust {
        trustor_user_id: t.trustor_user_id,
        trustee_user_id: t.trustee_user_id,
        project_id: t.project_id,
        impersonation: t.impersonation,
        roles,
        expires_at,
        remaining_uses: t.remaining_uses,
        allow_redelegation: t.allow_redelegation,
    };
    let trust = s.services.identity.trust_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"trust": views::trust(&Links(&s.public_url), &trust)})),
    ))
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s
        .services
        .identity
        .trust_list(&ctx, f.text("trustor_user_id"), f.text("trustee_user_id"))
        .await?;
    Ok(Json(json!({
        "trusts": list.iter().map(|t| views::trust(&l, t)).collect::<Vec<_>>(),
        "links": l.list("OS-TRUST/trusts"),
    })))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let t = s.services.identity.trust_get(&ctx, &id).await?;
    Ok(Json(
        json!({"trust": views::trust(&Links(&s.public_url), &t)}),
    ))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.trust_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn roles(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let t = s.services.identity.trust_get(&ctx, &id).await?;
    Ok(Json(json!({
        "roles": t.roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": null, "links": l.to(&format!("roles/{}", r.id))})).collect::<Vec<_>>(),
        "links": l.list(&format!("OS-TRUST/trusts/{id}/roles")),
    })))
}

async fn role(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, role_id)): Path<(String, String)>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let t = s.services.identity.trust_get(&ctx, &id).await?;
    let r = t
        .roles
        .iter()
        .find(|r| r.id == role_id)
        .ok_or_else(|| Error::not_found("role in trust", &role_id))?;
    Ok(Json(
        json!({"role": {"id": r.id, "name": r.name, "domain_id": null, "links": l.to(&format!("roles/{}", r.id))}}),
    ))
}

async fn role_head(
    st: State<AppState>,
    a: Authed,
    p: Path<(String, String)>,
) -> KsResult<StatusCode> {
    let _ = role(st, a, p).await?;
    Ok(StatusCode::OK)
}
