//! /v3/users (and a user's password and groups)

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferrostack_core::Error;
use ferrostack_identity::{NewUser, UserFilter, UserUpdate};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/users", Admin, list)
        .post("/v3/users", Admin, create)
        .get("/v3/users/{id}", UserSelf, show)
        .patch("/v3/users/{id}", Admin, update)
        .delete("/v3/users/{id}", Admin, delete)
        .post("/v3/users/{id}/password", UserSelf, change_password)
        .get("/v3/users/{id}/groups", UserSelf, groups)
}

#[derive(Deserialize)]
struct Body<T> {
    user: T,
}

#[derive(Deserialize)]
struct CreateIn {
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    domain_id: Option<Option<String>>,
    password: Option<String>,
    enabled: Option<bool>,
    default_project_id: Option<String>,
    email: Option<String>,
    description: Option<String>,
    options: Option<UserOptions>,
    federated: Option<Value>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// `null` present means "clear"; absent means "leave as is".
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct UpdateIn {
    name: Option<String>,
    enabled: Option<bool>,
    password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    default_project_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    options: Option<UserOptions>,
    federated: Option<Value>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Keystone's user options: the one kept is the lockout exemption; the others are
/// accepted only as false (what they are here), so none is silently dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserOptions {
    ignore_lockout_failure_attempts: Option<bool>,
    ignore_change_password_upon_first_use: Option<bool>,
    ignore_password_expiry: Option<bool>,
    ignore_user_inactivity: Option<bool>,
    lock_password: Option<bool>,
    multi_factor_auth_enabled: Option<bool>,
    multi_factor_auth_rules: Option<Vec<Vec<String>>>,
}

impl UserOptions {
    fn lockout(self) -> Result<Option<bool>, Error> {
        let unsupported = [
            (
                "ignore_change_password_upon_first_use",
                self.ignore_change_password_upon_first_use,
            ),
            ("ignore_password_expiry", self.ignore_password_expiry),
            ("ignore_user_inactivity", self.ignore_user_inactivity),
            ("lock_password", self.lock_password),
            ("multi_factor_auth_enabled", self.multi_factor_auth_enabled),
        ];
        if let Some((name, _)) = unsupported.iter().find(|(_, v)| *v == Some(true)) {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'options': {name} is not supported by this cloud (it has no password \
                 expiry, inactivity or multi-factor rules)."
            )));
        }
        if self.multi_factor_auth_rules.is_some_and(|r| !r.is_empty()) {
            return Err(Error::bad_request(
                "Invalid input for field 'options': multi_factor_auth_rules are not supported by this cloud.",
            ));
        }
        Ok(self.ignore_lockout_failure_attempts)
    }
}

/// Federated identities are not offered; a user naming one is refused, not stored
/// without it.
fn no_federation(f: Option<Value>) -> Result<(), Error> {
    match f {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(a)) if a.is_empty() => Ok(()),
        Some(Value::Array(_)) => Err(Error::bad_request(
            "Invalid input for field 'federated': federation is not supported by this cloud.",
        )),
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field 'federated': {other} is not of type 'array'."
        ))),
    }
}

#[derive(Deserialize)]
struct PasswordIn {
    password: String,
    original_password: String,
}

async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let filter = UserFilter {
        name: f.text("name"),
        domain_id: f.text("domain_id"),
        enabled: f.bool("enabled"),
        default_project_id: f.text("default_project_id"),
    };
    let list = s.services.identity.user_list(&ctx, filter).await?;
    Ok(Json(
        json!({"users": list.iter().map(|u| views::user(&l, u)).collect::<Vec<_>>(), "links": l.list("users")}),
    ))
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    JsonBody(b): JsonBody<Body<CreateIn>>,
) -> KsResult<(StatusCode, Json<Value>)> {
    let u = b.user;
    let domain_id = match u.domain_id {
        Some(None) => {
            return Err(Error::bad_request(
                "Invalid input for field 'domain_id': None is not of type 'string'.",
            )
            .into())
        }
        Some(Some(d)) => Some(d),
        None => None,
    };
    no_federation(u.federated)?;
    let new = NewUser {
        name: u.name,
        domain_id,
        password: u.password,
        enabled: u.enabled.unwrap_or(true),
        default_project_id: u.default_project_id,
        email: u.email,
        description: u.description,
        extra: u.extra,
        ignore_lockout: u
            .options
            .map(UserOptions::lockout)
            .transpose()?
            .flatten()
            .unwrap_or(false),
    };
    let user = s.services.identity.user_create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": views::user(&Links(&s.public_url), &user)})),
    ))
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let u = s.services.identity.user_get(&ctx, &id).await?;
    Ok(Json(
        json!({"user": views::user(&Links(&s.public_url), &u)}),
    ))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<UpdateIn>>,
) -> KsResult<Json<Value>> {
    let u = b.user;
    no_federation(u.federated)?;
    let ignore_lockout = u.options.map(UserOptions::lockout).transpose()?.flatten();
    let upd = UserUpdate {
        name: u.name,
        enabled: u.enabled,
        password: u.password,
        default_project_id: u.default_project_id,
        email: u.email,
        description: u.description,
        ignore_lockout,
        extra: u.extra,
    };
    let user = s.services.identity.user_update(&ctx, &id, upd).await?;
    Ok(Json(
        json!({"user": views::user(&Links(&s.public_url), &user)}),
    ))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<StatusCode> {
    s.services.identity.user_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /v3/users/{id}/password
async fn change_password(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<Body<PasswordIn>>,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .user_change_password(&ctx, &id, &b.user.original_password, &b.user.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /v3/users/{id}/groups
async fn groups(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s.services.identity.user_groups(&ctx, &id).await?;
    Ok(Json(
        json!({"groups": list.iter().map(|g| views::group(&l, g)).collect::<Vec<_>>(), "links": l.list(&format!("users/{id}/groups"))}),
    ))
}
