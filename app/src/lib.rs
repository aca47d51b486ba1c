//! The Ferrostack console (Leptos): rendered on the server, hydrated in the browser.
//! Server functions live beside the components that use them and call the service
//! layer with the signed-in user's context; nothing here holds a rule of its own.

pub mod auth;
pub mod home;
pub mod identity;
pub mod identity_app_creds;
pub mod identity_groups;
pub mod identity_projects;
pub mod identity_users;
pub mod kit;
pub mod settings;
pub mod shell;
pub mod status;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::StaticSegment;

/// What the console shows about the cloud it belongs to; the server provides it as
/// context to every render and server function.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CloudInfo {
    pub version: String,
    /// Keystone auth URL clients use (`.../identity/v3`).
    pub auth_url: String,
    pub region: String,
}

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: the flag turns true once the page is hydrated,
    // which browser tests wait for before they interact.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <Stylesheet id="leptos" href="/pkg/ferrostack.css"/>
        <Title text="Ferrostack"/>
        <div class="app" data-hydrated=move || if hydrated.get() { "true" } else { "false" }>
            <Router>
                <Routes fallback=|| view! { <p class="page">"Page not found."</p> }>
                    <Route path=StaticSegment("sign-in") view=auth::SignInPage/>
                    <ParentRoute path=StaticSegment("") view=shell::Shell>
                        <Route path=StaticSegment("") view=home::HomePage/>
                        <Route path=(StaticSegment("identity"), StaticSegment("projects")) view=identity_projects::ProjectsPanel/>
                        <Route path=(StaticSegment("identity"), StaticSegment("users")) view=identity_users::UsersPanel/>
                        <Route path=(StaticSegment("identity"), StaticSegment("groups")) view=identity_groups::GroupsPanel/>
                        <Route path=(StaticSegment("identity"), StaticSegment("roles")) view=identity_groups::RolesPanel/>
                        <Route path=(StaticSegment("identity"), StaticSegment("application-credentials")) view=identity_app_creds::AppCredsPanel/>
                        <Route path=StaticSegment("settings") view=settings::SettingsPage/>
                    </ParentRoute>
                </Routes>
            </Router>
        </div>
    }
}
