//! /v3/auth: token issue, validation and revocation; what the caller may scope to.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrostack_core::{Error, Scope};
use ferrostack_identity::{AuthMethod, AuthRequest, DomainRef, ProjectRef, ScopeRequest, UserRef};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters, JsonBody};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v3/auth/tokens", Token, check)
        .head("/v3/auth/tokens", Token, check_head)
        .post("/v3/auth/tokens", Public, issue)
        .delete("/v3/auth/tokens", Token, revoke)
        .get("/v3/auth/projects", Token, projects)
        .get("/v3/auth/domains", Token, domains)
        .get("/v3/auth/catalog", Token, catalog)
        .get("/v3/auth/system", Token, system)
}

#[derive(Deserialize)]
struct AuthBody {
    auth: AuthIn,
}

#[derive(Deserialize)]
struct AuthIn {
    identity: IdentityIn,
    #[serde(default)]
    scope: Option<Value>,
}

#[derive(Deserialize)]
struct IdentityIn {
    methods: Vec<String>,
    password: Option<PasswordIn>,
    token: Option<TokenIn>,
    application_credential: Option<AppCredIn>,
}

#[derive(Deserialize)]
struct PasswordIn {
    user: UserIn,
}

#[derive(Deserialize)]
struct UserIn {
    id: Option<String>,
    name: Option<String>,
    domain: Option<DomainIn>,
    password: Option<String>,
}

#[derive(Deserialize, Clone)]
struct DomainIn {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct TokenIn {
    id: Option<String>,
}

#[derive(Deserialize)]
struct AppCredIn {
    id: Option<String>,
    name: Option<String>,
    user: Option<UserIn>,
    secret: String,
}

#[derive(Deserialize)]
struct ScopeIn {
    project: Option<ProjectIn>,
    domain: Option<DomainIn>,
    system: Option<Value>,
    #[serde(rename = "OS-TRUST:trust")]
    trust: Option<TrustIn>,
}

#[derive(Deserialize)]
struct TrustIn {
    id: String,
}

#[derive(Deserialize)]
struct ProjectIn {
    id: Option<String>,
    name: Option<String>,
    domain: Option<DomainIn>,
}

fn domain_ref(d: Option<DomainIn>, what: &str) -> Result<DomainRef, Error> {
    match d {
        Some(DomainIn { id: Some(id), .. }) => Ok(DomainRef::Id(id)),
        Some(DomainIn { name: Some(n), .. }) => Ok(DomainRef::Name(n)),
        _ => Err(Error::bad_request(format!(
            "{what} named by name needs a domain, by 'id' or 'name'."
        ))),
    }
}

fn user_ref(u: &UserIn) -> Result<UserRef, Error> {
    match (&u.id, &u.name) {
        (Some(id), _) => Ok(UserRef::Id(id.clone())),
        (None, Some(n)) => Ok(UserRef::Name {
            name: n.clone(),
            domain: domain_ref(u.domain.clone(), "A user")?,
        }),
        _ => Err(Error::bad_request(
            "Invalid input for field 'user': give its 'id', or 'name' and 'domain'.",
        )),
    }
}

fn parse_scope(v: Option<Value>) -> Result<ScopeRequest, Error> {
    let v = match v {
        None | Some(Value::Null) => return Ok(ScopeRequest::Default),
        Some(Value::String(s)) if s == "unscoped" => return Ok(ScopeRequest::Unscoped),
        Some(v) => v,
    };
    let s: ScopeIn = serde_json::from_value(v)
        .map_err(|e| Error::bad_request(format!("Invalid input for field 'scope': {e}.")))?;
    if let Some(t) = s.trust {
        if s.project.is_some() || s.domain.is_some() || s.system.is_some() {
            return Err(Error::bad_request(
                "Invalid input for field 'scope': a trust scope stands alone; its project is the trust's.",
            ));
        }
        return Ok(ScopeRequest::Trust(t.id));
    }
    match (s.project, s.domain, s.system) {
        (Some(p), None, None) => Ok(ScopeRequest::Project(match (p.id, p.name) {
            (Some(id), _) => ProjectRef::Id(id),
            (None, Some(name)) => ProjectRef::Name {
                name,
                domain: domain_ref(p.domain, "A project")?,
            },
            _ => return Err(Error::bad_request(
                "Invalid input for field 'scope.project': give its 'id', or 'name' and 'domain'.",
            )),
        })),
        (None, Some(d), None) => Ok(ScopeRequest::Domain(domain_ref(Some(d), "A domain")?)),
        (None, None, Some(_)) => Ok(ScopeRequest::System),
        (None, None, None) => Ok(ScopeRequest::Default),
        _ => Err(Error::bad_request(
            "Invalid input for field 'scope': ask for one of project, domain, system or OS-TRUST:trust.",
        )),
    }
}

fn auth_request(body: AuthBody, headers: &HeaderMap) -> Result<AuthRequest, Error> {
    let id = body.auth.identity;
    let method = id.methods.first().ok_or_else(|| {
        Error::bad_request("Invalid input for field 'identity.methods': name at least one method.")
    })?;
    let method = match method.as_str() {
        "password" => {
            let p = id.password.ok_or_else(|| Error::bad_request("The password method needs an 'identity.password' object."))?;
            let password = p
                .user
                .password
                .clone()
                .ok_or_else(|| Error::bad_request("Invalid input for field 'identity.password.user.password': it is required."))?;
            AuthMethod::Password { user: user_ref(&p.user)?, password }
        }
        "token" => {
            let token = id
                .token
                .and_then(|t| t.id)
                .or_else(|| headers.get("x-auth-token").and_then(|v| v.to_str().ok()).map(String::from))
                .ok_or_else(|| Error::bad_request("The token method needs 'identity.token.id' or an X-Auth-Token header."))?;
            AuthMethod::Token { token }
        }
        "application_credential" => {
            let a = id
                .application_credential
                .ok_or_else(|| Error::bad_request("The application_credential method needs an 'identity.application_credential' object."))?;
            let user = a.user.as_ref().map(user_ref).transpose()?;
            AuthMethod::ApplicationCredential { id: a.id, name: a.name, user, secret: a.secret }
        }
        other => {
            return Err(Error::Unauthenticated(format!(
                "Authentication method {other:?} is not supported; use password, token or application_credential."
            )))
        }
    };
    Ok(AuthRequest {
        method,
        scope: parse_scope(body.auth.scope)?,
    })
}

fn subject_token(headers: &HeaderMap) -> Result<&str, Error> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::bad_request("Send the token to act on in the X-Subject-Token header.")
        })
}

fn with_subject(token: &str, status: StatusCode, body: Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(token) {
        resp.headers_mut().insert("x-subject-token", v);
    }
    resp
}

/// POST /v3/auth/tokens
async fn issue(
    State(s): State<AppState>,
    client: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    f: Filters,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AuthBody>,
) -> KsResult<Response> {
    let req = auth_request(body, &headers)?;
    let info = s
        .services
        .identity
        .issue_token_from(req, client.map(|c| c.0 .0.ip()))
        .await?;
    Ok(with_subject(
        &info.token,
        StatusCode::CREATED,
        views::token(&info, !f.flag("nocatalog")),
    ))
}

/// GET /v3/auth/tokens
async fn check(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    f: Filters,
    headers: HeaderMap,
) -> KsResult<Response> {
    let subject = subject_token(&headers)?;
    let info = s.services.identity.token_check(&ctx, subject).await?;
    Ok(with_subject(
        subject,
        StatusCode::OK,
        views::token(&info, !f.flag("nocatalog")),
    ))
}

/// HEAD /v3/auth/tokens
async fn check_head(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    headers: HeaderMap,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .token_check(&ctx, subject_token(&headers)?)
        .await?;
    Ok(StatusCode::OK)
}

/// DELETE /v3/auth/tokens
async fn revoke(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    headers: HeaderMap,
) -> KsResult<StatusCode> {
    s.services
        .identity
        .token_revoke(&ctx, subject_token(&headers)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /v3/auth/projects
async fn projects(State(s): State<AppState>, Authed(ctx): Authed) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s.services.identity.auth_projects(&ctx).await?;
    Ok(Json(json!({
        "projects": list.iter().map(|p| views::project(&l, p)).collect::<Vec<_>>(),
        "links": l.list("auth/projects"),
    })))
}

/// GET /v3/auth/domains
async fn domains(State(s): State<AppState>, Authed(ctx): Authed) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let list = s.services.identity.auth_domains(&ctx).await?;
    Ok(Json(json!({
        "domains": list.iter().map(|d| views::domain(&l, d)).collect::<Vec<_>>(),
        "links": l.list("auth/domains"),
    })))
}

/// GET /v3/auth/catalog
async fn catalog(State(s): State<AppState>, Authed(ctx): Authed) -> KsResult<Json<Value>> {
    if matches!(ctx.scope, Scope::Unscoped) {
        return Err(Error::forbidden(
            "An unscoped token has no catalog: scope it to a project, domain or the system.",
        )
        .into());
    }
    let l = Links(&s.public_url);
    let c = s.services.identity.catalog_for(ctx.project_id()).await?;
    Ok(Json(
        json!({"catalog": views::catalog(&c), "links": l.list("auth/catalog")}),
    ))
}

/// GET /v3/auth/system
async fn system(State(s): State<AppState>, Authed(ctx): Authed) -> KsResult<Json<Value>> {
    let l = Links(&s.public_url);
    let uid = ctx.user_id.clone().unwrap_or_default();
    let f = ferrostack_identity::AssignmentFilter {
        user_id: Some(uid),
        system: true,
        effective: true,
        ..Default::default()
    };
    let has = !s
        .services
        .identity
        .assignment_list(&ctx, f)
        .await?
        .is_empty();
    let system: Vec<Value> = if has {
        vec![json!({"all": true})]
    } else {
        vec![]
    };
    Ok(Json(
        json!({"system": system, "links": l.list("auth/system")}),
    ))
}
