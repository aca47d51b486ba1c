//! Signing in and out of the console. The server functions call the identity service's
//! own authentication (so lockout and every rule apply as for the API) and keep the
//! resulting token in a database-backed session.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in user as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: String,
    pub user_name: String,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub roles: Vec<String>,
    pub is_admin: bool,
}

pub use crate::error::ConsoleError;

/// The words of a server function's error.
pub fn reason(e: &ConsoleError) -> String {
    e.message.clone()
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use ferrostack_core::{Ctx, Scope};
    use ferrostack_identity::Identity;
    use tower_sessions::Session;

    use super::{ConsoleError, Me};

    pub const TOKEN_KEY: &str = "token";

    pub fn identity() -> Result<Arc<Identity>, ConsoleError> {
        crate::services::services().map(|s| s.identity)
    }

    pub async fn session() -> Result<Session, ConsoleError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|e| ConsoleError::unavailable(format!("No console session: {e}")))
    }

    /// A session store failure: logged in full, told to the user without internals.
    pub fn session_failed(e: impl std::fmt::Display) -> ConsoleError {
        tracing::error!(error = %e, "console session store failed");
        ConsoleError::unavailable("The console could not keep your session; try again in a moment.")
    }

    /// A service error as the console shows it (see `crate::error`).
    pub fn say(e: ferrostack_core::Error) -> ConsoleError {
        ConsoleError::from(e)
    }

    /// The signed-in caller's context, or an error telling the user to sign in.
    pub async fn caller() -> Result<(Arc<Identity>, Ctx, String), ConsoleError> {
        let id = identity()?;
        let session = session().await?;
        let request_id = crate::error::request_id();
        let (ctx, token) = session_caller(&id, &session, &request_id)
            .await
            .map_err(ConsoleError::sign_in)?;
        Ok((id, ctx, token))
    }

    /// The caller a console session stands for (its context and token), or why there
    /// is none, in words. Server functions reach it through `caller()`; the console's
    /// upload route (server/console.rs), which is not a server function, directly.
    pub async fn session_caller(
        id: &Identity,
        session: &Session,
        request_id: &str,
    ) -> Result<(Ctx, String), String> {
        let token: Option<String> = session.get(TOKEN_KEY).await.map_err(|e| {
            tracing::error!(error = %e, "console session store failed");
            "The console could not keep your session; try again in a moment.".to_string()
        })?;
        let token = token.ok_or_else(|| "You are not signed in.".to_string())?;
        let ctx = id
            .authenticate(request_id, &token)
            .await
            .map_err(|e| format!("Your session has ended ({e}); sign in again."))?;
        Ok((ctx, token))
    }

    pub fn me(ctx: &Ctx) -> Me {
        let (project_id, project_name) = match &ctx.scope {
            Scope::Project { id, name, .. } => (Some(id.clone()), Some(name.clone())),
            _ => (None, None),
        };
        Me {
            user_id: ctx.user_id.clone().unwrap_or_default(),
            user_name: ctx.user_name.clone(),
            project_id,
            project_name,
            roles: ctx.roles.iter().map(|r| r.name.clone()).collect(),
            is_admin: ctx.is_admin(),
        }
    }
}

/// Sign in with a user name and password (domain by name, `Default` when empty). The
/// session is scoped to the user's default project, else the first one it may use.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: String,
    domain: String,
) -> Result<Me, ConsoleError> {
    use ferrostack_identity::{
        AuthMethod, AuthRequest, DomainRef, ProjectRef, ScopeRequest, UserRef,
    };
    let id = ssr::identity()?;
    let domain = if domain.trim().is_empty() {
        "Default".to_string()
    } else {
        domain
    };
    if username.trim().is_empty() || password.is_empty() {
        return Err(ConsoleError::bad_request(
            "Enter your user name and password.",
        ));
    }
    let req = AuthRequest {
        method: AuthMethod::Password {
            user: UserRef::Name {
                name: username,
                domain: DomainRef::Name(domain),
            },
            password,
        },
        scope: ScopeRequest::Default,
    };
    let client = leptos::prelude::use_context::<http::request::Parts>().and_then(|p| {
        p.extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    });
    let mut info = id.issue_token_from(req, client).await.map_err(ssr::say)?;
    if info.ctx("console").project_id().is_none() {
        let projects = id
            .auth_projects(&info.ctx("console"))
            .await
            .map_err(ssr::say)?;
        if let Some(p) = projects.into_iter().next() {
            let rescope = AuthRequest {
                method: AuthMethod::Token {
                    token: info.token.clone(),
                },
                scope: ScopeRequest::Project(ProjectRef::Id(p.id)),
            };
            info = id.issue_token(rescope).await.map_err(ssr::say)?;
        }
    }
    let session = ssr::session().await?;
    // A new session id on sign-in, so an id planted before it is worth nothing.
    session.cycle_id().await.map_err(ssr::session_failed)?;
    session
        .insert(ssr::TOKEN_KEY, &info.token)
        .await
        .map_err(ssr::session_failed)?;
    Ok(ssr::me(&info.ctx("console")))
}

/// Sign out: the session is deleted and its token revoked.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ConsoleError> {
    if let Ok((id, ctx, token)) = ssr::caller().await {
        let _ = id.token_revoke(&ctx, &token).await;
    }
    ssr::session()
        .await?
        .flush()
        .await
        .map_err(ssr::session_failed)
}

/// Who is signed in, if anyone.
#[server(endpoint = "who_am_i")]
pub async fn who_am_i() -> Result<Option<Me>, ConsoleError> {
    Ok(ssr::caller().await.ok().map(|(_, ctx, _)| ssr::me(&ctx)))
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            navigate("/", Default::default());
        }
    });
    // Why the user is here again, when the console sent them (e.g. a password change).
    let query = leptos_router::hooks::use_query_map();
    let notice = move || match query.read().get("changed").as_deref() {
        Some("password") => Some("Your password has been changed. Sign in with the new one."),
        _ => None,
    };
    let error = move || match action.value().get() {
        Some(Err(e)) => Some(reason(&e)),
        _ => None,
    };
    view! {
        <header class="topbar"><span class="brand">"Ferrostack"</span></header>
        <main class="page narrow">
            <section class="card">
                <h1>"Sign in"</h1>
                {move || notice().map(|n| view! { <p class="notice" data-test="sign-in-notice">{n}</p> })}
                <ActionForm action=action attr:class="form" attr:data-test="sign-in-form">
                    <label>"User name" <input name="username" required autocomplete="username" data-test="username"/></label>
                    <label>"Password" <input name="password" type="password" required autocomplete="current-password" data-test="password"/></label>
                    <label>"Domain" <input name="domain" placeholder="Default" data-test="domain"/></label>
                    <button class="btn" type="submit" data-test="sign-in" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
                {move || error().map(|e| view! { <p class="error" role="alert" data-test="sign-in-error">{e}</p> })}
            </section>
        </main>
    }
}
