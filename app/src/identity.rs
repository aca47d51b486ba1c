//! The Identity panels' server functions: reads, and one `identity_do` taking every
//! change as an `Op`. Each calls the identity service with the signed-in user's
//! context; the service decides who may do what, so the console and the REST API
//! cannot disagree. (One operations function instead of one per change keeps the
//! WASM client to a single request path; see docs/benchmarks.md.)

use leptos::prelude::*;

use crate::error::ConsoleError;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use ferrostack_types::identity::{Group, Role, User};

use crate::kit::Done;

/// A change to identity resources, as the console asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    ProjectCreate {
        name: String,
        description: String,
    },
    ProjectUpdate {
        id: String,
        name: String,
        description: String,
        enabled: bool,
    },
    ProjectEnable {
        id: String,
        enabled: bool,
    },
    ProjectDelete {
        id: String,
    },
    /// Give `user_id` the role on the project (a grant; Horizon's "manage members").
    MemberGrant {
        project_id: String,
        user_id: String,
        role_id: String,
    },
    MemberRevoke {
        project_id: String,
        user_id: String,
        role_id: String,
    },
    UserCreate {
        name: String,
        email: String,
        password: String,
        project_id: String,
        role_id: String,
    },
    UserUpdate {
        id: String,
        name: String,
        email: String,
        description: String,
        project_id: String,
    },
    UserEnable {
        id: String,
        enabled: bool,
    },
    UserSetPassword {
        id: String,
        password: String,
    },
    UserDelete {
        id: String,
    },
    GroupCreate {
        name: String,
        description: String,
    },
    GroupUpdate {
        id: String,
        name: String,
        description: String,
    },
    GroupDelete {
        id: String,
    },
    GroupAddUser {
        group_id: String,
        user_id: String,
    },
    GroupRemoveUser {
        group_id: String,
        user_id: String,
    },
    RoleCreate {
        name: String,
        description: String,
    },
    RoleUpdate {
        id: String,
        name: String,
        description: String,
    },
    RoleDelete {
        id: String,
    },
    /// Self-service: an application credential for the current project.
    AppCredCreate {
        name: String,
        description: String,
        expires: String,
        unrestricted: bool,
    },
    AppCredDelete {
        id: String,
    },
    /// Self-service: change one's own password; every session and token ends.
    ChangePassword {
        original: String,
        password: String,
    },
}

/// Carry out one change. Every rule is the service's.
#[server(endpoint = "identity_do", input = Json)]
pub async fn identity_do(op: Op) -> Result<Done, ConsoleError> {
    ssr::run(op).await.map_err(crate::auth::ssr::say)
}

/// A page of projects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectsPage {
    pub items: Vec<ferrostack_types::identity::Project>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// One page of projects whose names contain `search` (admins). The page size is the
/// user's setting.
#[server(endpoint = "list_projects")]
pub async fn list_projects(search: String, page: i64) -> Result<ProjectsPage, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let per_page = crate::settings::ssr::page_size().await;
    let page = page.max(1);
    let (items, total) = id
        .project_page(&ctx, &search, (page - 1) * per_page, per_page)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(ProjectsPage {
        items,
        total,
        page,
        per_page,
    })
}

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<User>, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    id.user_list(&ctx, Default::default())
        .await
        .map_err(crate::auth::ssr::say)
}

#[server(endpoint = "list_groups")]
pub async fn list_groups() -> Result<Vec<Group>, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    id.group_list(&ctx, None, None)
        .await
        .map_err(crate::auth::ssr::say)
}

#[server(endpoint = "list_roles")]
pub async fn list_roles() -> Result<Vec<Role>, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    // The console shows the panel to admins; reading is as open as the API's, and
    // changes are refused to anyone else by the service.
    id.role_list(&ctx, None, None)
        .await
        .map_err(crate::auth::ssr::say)
}

/// What the admin dialogs offer to choose from: (id, name) of projects, users, roles.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    pub projects: Vec<(String, String)>,
    pub users: Vec<(String, String)>,
    pub roles: Vec<(String, String)>,
}

#[server(endpoint = "identity_choices")]
pub async fn identity_choices() -> Result<Choices, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let (projects, _) = id.project_page(&ctx, "", 0, 1000).await.map_err(say)?;
    let users = id.user_list(&ctx, Default::default()).await.map_err(say)?;
    let roles = id.role_list(&ctx, None, None).await.map_err(say)?;
    Ok(Choices {
        projects: projects.into_iter().map(|p| (p.id, p.name)).collect(),
        users: users.into_iter().map(|u| (u.id, u.name)).collect(),
        roles: roles.into_iter().map(|r| (r.id, r.name)).collect(),
    })
}

/// A role someone holds on a project: (user id, user name, role id, role name).
pub type Member = (String, String, String, String);

/// The users holding roles on a project, directly (admins).
#[server(endpoint = "project_members")]
pub async fn project_members(project_id: String) -> Result<Vec<Member>, ConsoleError> {
    use ferrostack_types::identity::Actor;
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let f = ferrostack_identity::AssignmentFilter {
        project_id: Some(project_id),
        ..Default::default()
    };
    let mut list = id
        .assignment_list(&ctx, f)
        .await
        .map_err(crate::auth::ssr::say)?;
    id.assignment_names(&mut list)
        .await
        .map_err(crate::auth::ssr::say)?;
    let mut out: Vec<Member> = list
        .into_iter()
        .filter_map(|a| match a.actor {
            Actor::User(u) => Some((
                u,
                a.actor_name.map(|n| n.name).unwrap_or_default(),
                a.role.id,
                a.role.name,
            )),
            Actor::Group(_) => None,
        })
        .collect();
    out.sort_by(|a, b| (&a.1, &a.3).cmp(&(&b.1, &b.3)));
    Ok(out)
}

/// A group's members as (id, name) (admins).
#[server(endpoint = "group_members")]
pub async fn group_members(group_id: String) -> Result<Vec<(String, String)>, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let users = id
        .group_users(&ctx, &group_id)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(users.into_iter().map(|u| (u.id, u.name)).collect())
}

/// The signed-in user's application credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCredRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
    pub roles: String,
    pub expires_at: String,
    pub unrestricted: bool,
}

#[server(endpoint = "my_app_creds")]
pub async fn my_app_creds() -> Result<Vec<AppCredRow>, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let me = ctx.user_id.clone().unwrap_or_default();
    let list = id
        .app_cred_list(&ctx, &me, None)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(list
        .into_iter()
        .map(|a| AppCredRow {
            id: a.id,
            name: a.name,
            description: a.description,
            project_id: a.project_id,
            roles: a
                .roles
                .into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
                .join(", "),
            expires_at: a.expires_at.unwrap_or_else(|| "never".into()),
            unrestricted: a.unrestricted,
        })
        .collect())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use ferrostack_core::{Error, Result};
    use ferrostack_identity::{
        GroupUpdate, NewApplicationCredential, NewGroup, NewProject, NewRole, NewUser,
        ProjectUpdate, RoleUpdate, UserUpdate,
    };
    use ferrostack_types::identity::{Actor, Target};
    use leptos::prelude::*;

    use super::Op;
    use crate::kit::{Done, Reveal};

    fn opt(s: String) -> Option<String> {
        (!s.trim().is_empty()).then_some(s)
    }

    fn grant(project_id: String, user_id: String, role_id: String) -> ferrostack_identity::Grant {
        ferrostack_identity::Grant {
            actor: Actor::User(user_id),
            target: Target::Project(project_id),
            role_id,
        }
    }

    pub async fn run(op: Op) -> Result<Done> {
        let (id, ctx, _) = crate::auth::ssr::caller()
            .await
            .map_err(|e| Error::Unauthenticated(crate::auth::reason(&e)))?;
        let state = |on: bool| if on { "enabled" } else { "disabled" };
        Ok(match op {
            Op::ProjectCreate { name, description } => {
                let new = NewProject {
                    name,
                    description,
                    enabled: true,
                    ..Default::default()
                };
                let p = id.project_create(&ctx, new).await?;
                Done::say(format!("Created project {}.", p.name))
            }
            Op::ProjectUpdate {
                id: pid,
                name,
                description,
                enabled,
            } => {
                let upd = ProjectUpdate {
                    name: Some(name),
                    description: Some(description),
                    enabled: Some(enabled),
                    ..Default::default()
                };
                let p = id.project_update(&ctx, &pid, upd).await?;
                Done::say(format!("Saved project {}.", p.name))
            }
            Op::ProjectEnable { id: pid, enabled } => {
                let upd = ProjectUpdate {
                    enabled: Some(enabled),
                    ..Default::default()
                };
                let p = id.project_update(&ctx, &pid, upd).await?;
                Done::say(format!("Project {} is {}.", p.name, state(enabled)))
            }
            Op::ProjectDelete { id: pid } => {
                let p = id.project_get(&ctx, &pid).await?;
                id.project_delete(&ctx, &pid).await?;
                Done::say(format!("Deleted project {}.", p.name))
            }
            Op::MemberGrant {
                project_id,
                user_id,
                role_id,
            } => {
                let (u, r) = (
                    id.user_get(&ctx, &user_id).await?,
                    id.role_get(&ctx, &role_id).await?,
                );
                id.role_grant(&ctx, grant(project_id, user_id, role_id))
                    .await?;
                Done::say(format!("{} now has the {} role here.", u.name, r.name))
            }
            Op::MemberRevoke {
                project_id,
                user_id,
                role_id,
            } => {
                let (u, r) = (
                    id.user_get(&ctx, &user_id).await?,
                    id.role_get(&ctx, &role_id).await?,
                );
                id.role_revoke(&ctx, grant(project_id, user_id, role_id))
                    .await?;
                Done::say(format!(
                    "{} no longer has the {} role here.",
                    u.name, r.name
                ))
            }
            Op::UserCreate {
                name,
                email,
                password,
                project_id,
                role_id,
            } => {
                let new = NewUser {
                    name,
                    email: opt(email),
                    password: Some(password),
                    enabled: true,
                    ..Default::default()
                };
                let u = id
                    .user_create_in_project(&ctx, new, &project_id, &role_id)
                    .await?;
                Done::say(format!("Created user {}.", u.name))
            }
            Op::UserUpdate {
                id: uid,
                name,
                email,
                description,
                project_id,
            } => {
                let upd = UserUpdate {
                    name: Some(name),
                    email: Some(opt(email)),
                    description: Some(opt(description)),
                    default_project_id: Some(opt(project_id)),
                    ..Default::default()
                };
                let u = id.user_update(&ctx, &uid, upd).await?;
                Done::say(format!("Saved user {}.", u.name))
            }
            Op::UserEnable { id: uid, enabled } => {
                let upd = UserUpdate {
                    enabled: Some(enabled),
                    ..Default::default()
                };
                let u = id.user_update(&ctx, &uid, upd).await?;
                Done::say(format!("User {} is {}.", u.name, state(enabled)))
            }
            Op::UserSetPassword { id: uid, password } => {
                let upd = UserUpdate {
                    password: Some(password),
                    ..Default::default()
                };
                let u = id.user_update(&ctx, &uid, upd).await?;
                Done::say(format!(
                    "Set a new password for {}; their sessions have ended.",
                    u.name
                ))
            }
            Op::UserDelete { id: uid } => {
                let u = id.user_get(&ctx, &uid).await?;
                id.user_delete(&ctx, &uid).await?;
                Done::say(format!("Deleted user {}.", u.name))
            }
            Op::GroupCreate { name, description } => {
                let g = id
                    .group_create(
                        &ctx,
                        NewGroup {
                            name,
                            description,
                            domain_id: None,
                        },
                    )
                    .await?;
                Done::say(format!("Created group {}.", g.name))
            }
            Op::GroupUpdate {
                id: gid,
                name,
                description,
            } => {
                let upd = GroupUpdate {
                    name: Some(name),
                    description: Some(description),
                };
                let g = id.group_update(&ctx, &gid, upd).await?;
                Done::say(format!("Saved group {}.", g.name))
            }
            Op::GroupDelete { id: gid } => {
                let g = id.group_get(&ctx, &gid).await?;
                id.group_delete(&ctx, &gid).await?;
                Done::say(format!("Deleted group {}.", g.name))
            }
            Op::GroupAddUser { group_id, user_id } => {
                let (g, u) = (
                    id.group_get(&ctx, &group_id).await?,
                    id.user_get(&ctx, &user_id).await?,
                );
                id.group_add_user(&ctx, &group_id, &user_id).await?;
                Done::say(format!("Added {} to {}.", u.name, g.name))
            }
            Op::GroupRemoveUser { group_id, user_id } => {
                let (g, u) = (
                    id.group_get(&ctx, &group_id).await?,
                    id.user_get(&ctx, &user_id).await?,
                );
                id.group_remove_user(&ctx, &group_id, &user_id).await?;
                Done::say(format!("Removed {} from {}.", u.name, g.name))
            }
            Op::RoleCreate { name, description } => {
                let r = id
                    .role_create(
                        &ctx,
                        NewRole {
                            name,
                            description,
                            domain_id: None,
                        },
                    )
                    .await?;
                Done::say(format!("Created role {}.", r.name))
            }
            Op::RoleUpdate {
                id: rid,
                name,
                description,
            } => {
                let upd = RoleUpdate {
                    name: Some(name),
                    description: Some(description),
                };
                let r = id.role_update(&ctx, &rid, upd).await?;
                Done::say(format!("Saved role {}.", r.name))
            }
            Op::RoleDelete { id: rid } => {
                let r = id.role_get(&ctx, &rid).await?;
                id.role_delete(&ctx, &rid).await?;
                Done::say(format!("Deleted role {}.", r.name))
            }
            Op::AppCredCreate {
                name,
                description,
                expires,
                unrestricted,
            } => {
                let expires_at = match expires.trim() {
                    "" => None,
                    day => Some(
                        ferrostack_core::time::parse_client(&format!("{day}T23:59:59"))
                            .ok_or_else(|| {
                                Error::bad_request(format!(
                                    "Invalid input for field 'expires_at': {day:?} is not a date (YYYY-MM-DD)."
                                ))
                            })?,
                    ),
                };
                let me = ctx.user_id.clone().unwrap_or_default();
                let new = NewApplicationCredential {
                    name,
                    description,
                    secret: None,
                    expires_at,
                    expires_at_given: None,
                    roles: Vec::new(),
                    unrestricted,
                };
                let a = id.app_cred_create(&ctx, &me, new).await?;
                let secret = a.secret.clone().unwrap_or_default();
                let info = use_context::<crate::CloudInfo>();
                let (auth_url, region) = info.map(|i| (i.auth_url, i.region)).unwrap_or_default();
                let clouds_yaml = format!(
                    "clouds:\n  ferrostack-{name}:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: {auth_url}\n      application_credential_id: {id}\n      application_credential_secret: {secret}\n    region_name: {region}\n    identity_api_version: 3\n",
                    name = a.name,
                    id = a.id,
                );
                Done {
                    message: format!("Created application credential {}.", a.name),
                    reveal: Some(Reveal {
                        id: a.id,
                        secret,
                        clouds_yaml,
                    }),
                }
            }
            Op::AppCredDelete { id: aid } => {
                let me = ctx.user_id.clone().unwrap_or_default();
                let a = id.app_cred_get(&ctx, &me, &aid).await?;
                id.app_cred_delete(&ctx, &me, &aid).await?;
                Done::say(format!("Deleted application credential {}.", a.name))
            }
            Op::ChangePassword { original, password } => {
                let me = ctx.user_id.clone().unwrap_or_default();
                id.user_change_password(&ctx, &me, &original, &password)
                    .await?;
                // Every token of the user has ended with the change; so does this session.
                if let Ok(s) = crate::auth::ssr::session().await {
                    let _ = s.flush().await;
                }
                Done::say("Your password has been changed. Sign in with the new one.")
            }
        })
    }
}

/// The runner every Identity panel changes things through.
pub fn runner() -> crate::kit::Runner<Op> {
    crate::kit::Runner::new(Action::new(|op: &Op| identity_do(op.clone())))
}

/// Find the (id, name) choices for a select, with a "none" entry first when optional.
pub fn with_none(mut list: Vec<(String, String)>, none: &str) -> Vec<(String, String)> {
    list.insert(0, (String::new(), none.to_string()));
    list
}
