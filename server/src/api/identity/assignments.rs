//! Role grants on projects, domains and the system, and GET /v3/role_assignments.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::Json;
use ferrostack_identity::{AssignmentFilter, Grant};
use ferrostack_types::identity::{Actor, Target};
use serde_json::{json, Value};

use super::views::{self, Links};
use crate::api::error::KsResult;
use crate::api::extract::{Authed, Filters};
use crate::api::table::{Access::*, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    let mut r = Routes::new().get("/v3/role_assignments", Admin, list);
    // Spelled out per (target, actor) pair: a wildcard first segment would shadow the
    // other /v3 routes.
    for (t, a) in [
        ("projects", "users"),
        ("projects", "groups"),
        ("domains", "users"),
        ("domains", "groups"),
    ] {
        let one = format!("/v3/{t}/{{tid}}/{a}/{{aid}}/roles/{{rid}}");
        // A user may read its own grants; a group's are for admins.
        let read = if a == "users" { UserSelf } else { Admin };
        r = r
            .get(
                &format!("/v3/{t}/{{tid}}/{a}/{{aid}}/roles"),
                read,
                move |s: State<AppState>, c: Authed, Path((tid, aid)): Path<(String, String)>| {
                    list_granted(s, c, Path((t.to_string(), tid, a.to_string(), aid)))
                },
            )
            .get(
                &one,
                read,
                move |s: State<AppState>,
                      c: Authed,
                      Path((tid, aid, rid)): Path<(String, String, String)>| {
                    check(s, c, Path((t.to_string(), tid, a.to_string(), aid, rid)))
                },
            )
            .put(
                &one,
                Admin,
                move |s: State<AppState>,
                      c: Authed,
                      Path((tid, aid, rid)): Path<(String, String, String)>| {
                    grant(s, c, Path((t.to_string(), tid, a.to_string(), aid, rid)))
                },
            )
            .delete(
                &one,
                Admin,
                move |s: State<AppState>,
                      c: Authed,
                      Path((tid, aid, rid)): Path<(String, String, String)>| {
                    revoke(s, c, Path((t.to_string(), tid, a.to_string(), aid, rid)))
                },
            );
    }
    // OS-INHERIT: grants inherited by the projects below a domain or a project.
    for (t, a) in [
        ("projects", "users"),
        ("projects", "groups"),
        ("domains", "users"),
        ("domains", "groups"),
    ] {
        let base = format!("/v3/OS-INHERIT/{t}/{{tid}}/{a}/{{aid}}/roles");
        let one = format!("{base}/{{rid}}/inherited_to_projects");
        let read = if a == "users" { UserSelf } else { Admin };
        r = r
            .get(
                &format!("{base}/inherited_to_projects"),
                read,
                move |s: State<AppState>, c: Authed, Path((tid, aid)): Path<(String, String)>| {
                    inherited_list(s, c, Path((t.to_string(), tid, a.to_string(), aid)))
                },
            )
            .get(
                &one,
                read,
                move |s: State<AppState>,
                      c: Authed,
                      Path((tid, aid, rid)): Path<(String, String, String)>| {
                    inherited(
                        s,
                        c,
                        Path((t.to_string(), tid, a.to_string(), aid, rid)),
                        Method::GET,
                    )
                },
            )
            .put(
                &one,
                Admin,
                move |s: State<AppState>,
                      c: Authed,
                      Path((tid, aid, rid)): Path<(String, String, String)>| {
                    inherited(
                        s,
                        c,
                        Path((t.to_string(), tid, a.to_string(), aid, rid)),
                        Method::PUT,
                    )
                },
            )
            .delete(
                &one,
                Admin,
                move |s: State<AppState>,
                      c: Authed,
                      Path((tid, aid, rid)): Path<(String, String, String)>| {
                    inherited(
                        s,
                        c,
                        Path((t.to_string(), tid, a.to_string(), aid, rid)),
                        Method::DELETE,
                    )
                },
            );
    }
    let system = "/v3/system/{actor}/{actor_id}/roles";
    // A user reads its own system grants (a group's: admins).
    r.get(system, UserSelf, list_granted_system)
        .get(&format!("{system}/{{role_id}}"), UserSelf, check_system)
        .put(&format!("{system}/{{role_id}}"), Admin, grant_system)
        .delete(&format!("{system}/{{role_id}}"), Admin, revoke_system)
}

/// Resolve the path words: /v3/{projects|domains}/{id}/{users|groups}/{id}/roles.
fn parts(
    target: &str,
    target_id: String,
    actor: &str,
    actor_id: String,
) -> Result<(Target, Actor), ferrostack_core::Error> {
    let t = match target {
        "projects" => Target::Project(target_id),
        "domains" => Target::Domain(target_id),
        other => {
            return Err(ferrostack_core::Error::not_found(
                "resource",
                format!("/v3/{other}"),
            ))
        }
    };
    Ok((t, actor_of(actor, actor_id)?))
}

fn actor_of(actor: &str, actor_id: String) -> Result<Actor, ferrostack_core::Error> {
    match actor {
        "users" => Ok(Actor::User(actor_id)),
        "groups" => Ok(Actor::Group(actor_id)),
        other => Err(ferrostack_core::Error::not_found(
            "resource",
            format!("{other} roles"),
        )),
    }
}

type GrantPath = Path<(String, String, String, String, String)>;
type SystemGrantPath = Path<(String, String, String)>;

async fn grant(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((t, tid, a, aid, role_id)): GrantPath,
) -> KsResult<StatusCode> {
    let (target, actor) = parts(&t, tid, &a, aid)?;
    s.services
        .identity
        .role_grant(
            &ctx,
            Grant {
                actor,
                target,
                role_id,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn check(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((t, tid, a, aid, role_id)): GrantPath,
) -> KsResult<StatusCode> {
    let (target, actor) = parts(&t, tid, &a, aid)?;
    s.services
        .identity
        .role_check(
            &ctx,
            Grant {
                actor,
                target,
                role_id,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((t, tid, a, aid, role_id)): GrantPath,
) -> KsResult<StatusCode> {
    let (target, actor) = parts(&t, tid, &a, aid)?;
    s.services
        .identity
        .role_revoke(
            &ctx,
            Grant {
                actor,
                target,
                role_id,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn roles_json(s: &AppState, roles: &[ferrostack_types::identity::Role], path: &str) -> Json<Value> {
    let l = Links(&s.public_url);
    Json(
        json!({"roles": roles.iter().map(|r| views::role(&l, r)).collect::<Vec<_>>(), "links": l.list(path)}),
    )
}

async fn list_granted(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((t, tid, a, aid)): Path<(String, String, String, String)>,
) -> KsResult<Json<Value>> {
    let path = format!("{t}/{tid}/{a}/{aid}/roles");
    let (target, actor) = parts(&t, tid, &a, aid)?;
    let roles = s
        .services
        .identity
        .roles_granted(&ctx, actor, target)
        .await?;
    Ok(roles_json(&s, &roles, &path))
}

async fn grant_system(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((a, aid, role_id)): SystemGrantPath,
) -> KsResult<StatusCode> {
    let actor = actor_of(&a, aid)?;
    s.services
        .identity
        .role_grant(
            &ctx,
            Grant {
                actor,
                target: Target::System,
                role_id,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn check_system(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((a, aid, role_id)): SystemGrantPath,
) -> KsResult<StatusCode> {
    let actor = actor_of(&a, aid)?;
    s.services
        .identity
        .role_check(
            &ctx,
            Grant {
                actor,
                target: Target::System,
                role_id,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_system(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((a, aid, role_id)): SystemGrantPath,
) -> KsResult<StatusCode> {
    let actor = actor_of(&a, aid)?;
    s.services
        .identity
        .role_revoke(
            &ctx,
            Grant {
                actor,
                target: Target::System,
                role_id,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_granted_system(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((a, aid)): Path<(String, String)>,
) -> KsResult<Json<Value>> {
    let path = format!("system/{a}/{aid}/roles");
    let actor = actor_of(&a, aid)?;
    let roles = s
        .services
        .identity
        .roles_granted(&ctx, actor, Target::System)
        .await?;
    Ok(roles_json(&s, &roles, &path))
}

/// GET /v3/role_assignments
async fn list(State(s): State<AppState>, Authed(ctx): Authed, f: Filters) -> KsResult<Json<Value>> {
    let filter = AssignmentFilter {
        user_id: f.text("user.id"),
        group_id: f.text("group.id"),
        role_id: f.text("role.id"),
        project_id: f.text("scope.project.id"),
        domain_id: f.text("scope.domain.id"),
        system: f.text("scope.system").is_some(),
        effective: f.0.contains_key("effective") && f.bool("effective") != Some(false),
        include_subtree: f.0.contains_key("include_subtree")
            && f.bool("include_subtree") != Some(false),
    };
    if filter.include_subtree && filter.project_id.is_none() {
        return Err(ferrostack_core::Error::bad_request(
            "include_subtree needs scope.project.id: the project whose subtree is listed.",
        )
        .into());
    }
    let with_names = f.0.contains_key("include_names") && f.bool("include_names") != Some(false);
    let mut list = s.services.identity.assignment_list(&ctx, filter).await?;
    if with_names {
        s.services.identity.assignment_names(&mut list).await?;
    }
    let l = Links(&s.public_url);
    Ok(Json(json!({
        "role_assignments": list.iter().map(|a| views::assignment(&l, a, with_names)).collect::<Vec<_>>(),
        "links": l.list("role_assignments"),
    })))
}

/// PUT / HEAD-GET / DELETE .../roles/{role}/inherited_to_projects.
async fn inherited(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((t, tid, a, aid, role_id)): GrantPath,
    method: Method,
) -> KsResult<StatusCode> {
    let (target, actor) = parts(&t, tid, &a, aid)?;
    let g = Grant {
        actor,
        target,
        role_id,
    };
    let id = &s.services.identity;
    match method {
        Method::PUT => id.inherited_grant(&ctx, g).await?,
        Method::DELETE => id.inherited_revoke(&ctx, g).await?,
        _ => id.inherited_check(&ctx, g).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn inherited_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((t, tid, a, aid)): Path<(String, String, String, String)>,
) -> KsResult<Json<Value>> {
    let path = format!("OS-INHERIT/{t}/{tid}/{a}/{aid}/roles/inherited_to_projects");
    let (target, actor) = parts(&t, tid, &a, aid)?;
    let roles = s
        .services
        .identity
        .inherited_roles(&ctx, actor, target)
        .await?;
    Ok(roles_json(&s, &roles, &path))
}
