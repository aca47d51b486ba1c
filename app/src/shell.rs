//! The console's frame: a header with the project switcher and the user menu, a side
//! navigation grouped Project / Identity that shows only panels that exist and that the
//! user's roles allow, and the page in the middle.

use leptos::prelude::*;

use crate::error::ConsoleError;
use leptos_router::components::{Outlet, Redirect, A};
use serde::{Deserialize, Serialize};

use crate::auth::{reason, who_am_i, Me, SignOut};
use crate::identity::{runner, Op};
use crate::kit::{val, Dialog, Field, Kind, RunnerDialog, Toaster, Toasts};

/// A project the signed-in user may switch to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectChoice {
    pub id: String,
    pub name: String,
}

/// The projects where the signed-in user holds a role.
#[server(endpoint = "my_projects")]
pub async fn my_projects() -> Result<Vec<ProjectChoice>, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let list = id
        .auth_projects(&ctx)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(list
        .into_iter()
        .map(|p| ProjectChoice {
            id: p.id,
            name: p.name,
        })
        .collect())
}

/// Re-scope the session to another project. The identity service decides whether the
/// user holds a role there; the console only asks.
#[server(endpoint = "switch_project")]
pub async fn switch_project(project_id: String) -> Result<Me, ConsoleError> {
    use ferrostack_identity::{AuthMethod, AuthRequest, ProjectRef, ScopeRequest};
    let (id, _, token) = crate::auth::ssr::caller().await?;
    let req = AuthRequest {
        method: AuthMethod::Token { token },
        scope: ScopeRequest::Project(ProjectRef::Id(project_id)),
    };
    // The session stands (the caller was resolved): a project the user may not use is
    // a refusal, not a reason to sign in again.
    let info = id.issue_token(req).await.map_err(|e| match e {
        ferrostack_core::Error::Unauthenticated(m) => ConsoleError::new(403, m),
        other => ConsoleError::from(other),
    })?;
    let session = crate::auth::ssr::session().await?;
    session
        .insert(crate::auth::ssr::TOKEN_KEY, &info.token)
        .await
        .map_err(crate::auth::ssr::session_failed)?;
    Ok(crate::auth::ssr::me(&info.ctx("console")))
}

/// The signed-in user, for every page inside the shell.
#[derive(Clone, Copy)]
pub struct Signed(pub Resource<Result<Option<Me>, ConsoleError>>);

/// Whether the signed-in user is an admin (what a page offers; the service decides).
pub fn is_admin() -> Signal<bool> {
    let signed = use_context::<Signed>();
    Signal::derive(move || {
        signed.is_some_and(|Signed(who)| matches!(who.get(), Some(Ok(Some(me))) if me.is_admin))
    })
}

#[component]
pub fn Shell() -> impl IntoView {
    let who = Resource::new(|| (), |_| who_am_i());
    provide_context(Signed(who));
    provide_context(Toaster(RwSignal::new(Vec::new())));
    crate::live::provide_live(move || match who.get() {
        Some(Ok(Some(me))) => Some(me.is_admin),
        _ => None,
    });
    view! {
        <Suspense fallback=|| view! { <p class="page muted">"Loading…"</p> }>
            {move || who.get().map(|r| match r {
                Ok(Some(me)) => view! { <Frame me/> }.into_any(),
                _ => view! { <Redirect path="/sign-in"/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Frame(me: Me) -> impl IntoView {
    let projects = Resource::new(|| (), |_| my_projects());
    let switch = ServerAction::<SwitchProject>::new();
    let sign_out = ServerAction::<SignOut>::new();
    // Switching or signing out changes everything on the page: load it afresh.
    Effect::new(move |_| {
        if let Some(Ok(_)) = switch.value().get() {
            let _ = window().location().set_href("/");
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            let _ = window().location().set_href("/sign-in");
        }
    });
    // Changing one's password ends every session: sign in again with the new one.
    let account = runner();
    Effect::new(move |_| {
        if let Some(Ok(_)) = account.action.value().get() {
            let _ = window().location().set_href("/sign-in?changed=password");
        }
    });
    let change_password = move |_| {
        let fields = vec![
            Field::new("original", "Current password", Kind::Password)
                .required()
                .max(4096),
            Field::new("password", "New password", Kind::Password)
                .required()
                .max(4096),
            Field::new("confirm", "Confirm new password", Kind::Confirm("password"))
                .required()
                .max(4096),
        ];
        account.open(Dialog::form(
            "Change password",
            "Change password",
            fields,
            |v| Op::ChangePassword {
                original: val(&v, "original"),
                password: val(&v, "password"),
            },
        ))
    };
    let current = me.project_id.clone().unwrap_or_default();
    let is_admin = me.is_admin;
    view! {
        <header class="topbar">
            <span class="brand">"Ferrostack"</span>
            <Suspense fallback=|| ()>
                {
                    let current = current.clone();
                    move || projects.get().map(|r| {
                        let list = r.unwrap_or_default();
                        let current = current.clone();
                        view! {
                            <select class="switcher" data-test="project-switcher" aria-label="Project"
                                on:change=move |ev| { switch.dispatch(SwitchProject { project_id: event_target_value(&ev) }); }>
                                {list.into_iter().map(|p| {
                                    let selected = p.id == current;
                                    view! { <option value=p.id.clone() selected=selected>{p.name.clone()}</option> }
                                }).collect_view()}
                            </select>
                        }
                    })
                }
            </Suspense>
            {move || switch.value().get().and_then(|r| r.err()).map(|e| view! { <span class="error-inverse" role="alert">{reason(&e)}</span> })}
            <span class="spacer"></span>
            <details class="user-menu">
                <summary data-test="signed-in-as">{me.user_name.clone()}</summary>
                <div class="menu">
                    <span class="muted" data-test="current-project">{me.project_name.clone().unwrap_or_else(|| "no project".into())}</span>
                    <A href="/settings" attr:data-test="nav-settings">"Settings"</A>
                    <button class="btn btn-quiet-dark" type="button" data-test="change-password" on:click=change_password>"Change password"</button>
                    <ActionForm action=sign_out attr:class="inline">
                        <button class="btn btn-quiet-dark" type="submit" data-test="sign-out">"Sign out"</button>
                    </ActionForm>
                </div>
            </details>
        </header>
        <div class="layout">
            <nav class="sidenav" data-test="sidenav">
                <h3>"Project"</h3>
                <A href="/">"Overview"</A>
                <A href="/project/instances" attr:data-test="nav-instances">"Instances"</A>
                <A href="/project/key-pairs" attr:data-test="nav-key-pairs">"Key Pairs"</A>
                <A href="/project/images" attr:data-test="nav-images">"Images"</A>
                <h3 data-test="nav-network">"Network"</h3>
                <A href="/project/network-topology" attr:data-test="nav-topology">"Network Topology"</A>
                <A href="/project/networks" attr:data-test="nav-networks">"Networks"</A>
                <A href="/project/routers" attr:data-test="nav-routers">"Routers"</A>
                <A href="/project/security-groups" attr:data-test="nav-security-groups">"Security Groups"</A>
                <A href="/project/floating-ips" attr:data-test="nav-floating-ips">"Floating IPs"</A>
                <Show when=move || is_admin>
                    <h3 data-test="nav-admin">"Admin"</h3>
                    <A href="/admin/instances" attr:data-test="nav-admin-instances">"Instances"</A>
                    <A href="/admin/hypervisors" attr:data-test="nav-admin-hypervisors">"Hypervisors"</A>
                    <A href="/admin/flavors" attr:data-test="nav-admin-flavors">"Flavors"</A>
                    <A href="/admin/images" attr:data-test="nav-admin-images">"Images"</A>
                    <A href="/admin/quotas" attr:data-test="nav-admin-quotas">"Quotas"</A>
                </Show>
                <h3 data-test="nav-identity">"Identity"</h3>
                <Show when=move || is_admin>
                    <A href="/identity/projects" attr:data-test="nav-identity-projects">"Projects"</A>
                    <A href="/identity/users" attr:data-test="nav-identity-users">"Users"</A>
                    <A href="/identity/groups" attr:data-test="nav-identity-groups">"Groups"</A>
                    <A href="/identity/roles" attr:data-test="nav-identity-roles">"Roles"</A>
                </Show>
                <A href="/identity/application-credentials" attr:data-test="nav-app-creds">"Application Credentials"</A>
            </nav>
            <div class="content"><Outlet/></div>
        </div>
        <RunnerDialog runner=account/>
        <Toasts/>
    }
}
