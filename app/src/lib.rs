//! The Ferrostack console (Leptos): rendered on the server, hydrated in the browser.
//! Server functions live beside the components that use them and call the service
//! layer with the signed-in user's context; nothing here holds a rule of its own.

pub mod access;
pub mod auth;
pub mod compute_admin;
pub mod error;
pub mod home;
pub mod identity;
pub mod identity_app_creds;
pub mod identity_groups;
pub mod identity_members;
pub mod identity_projects;
pub mod identity_users;
pub mod images;
pub mod instances;
pub mod kit;
pub mod live;
pub mod network;
#[cfg(feature = "ssr")]
pub mod services;
pub mod settings;
pub mod shell;
pub mod status;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{lazy_route, Lazy, LazyRoute, ParamSegment, SsrMode, StaticSegment};

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
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
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
                        <Route path=(StaticSegment("identity"), StaticSegment("projects")) view={Lazy::<ProjectsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("identity"), StaticSegment("users")) view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("identity"), StaticSegment("groups")) view={Lazy::<GroupsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("identity"), StaticSegment("roles")) view={Lazy::<RolesRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("identity"), StaticSegment("application-credentials")) view={Lazy::<AppCredsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=StaticSegment("settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("images")) view={Lazy::<ImagesRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("images"), ParamSegment("id")) view={Lazy::<ImageRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("admin"), StaticSegment("images")) view={Lazy::<AdminImagesRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("instances")) view={Lazy::<InstancesRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("instances"), ParamSegment("id")) view={Lazy::<InstanceRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("admin"), StaticSegment("instances")) view={Lazy::<AdminInstancesRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("key-pairs")) view={Lazy::<KeyPairsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("networks")) view={Lazy::<NetworksRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("networks"), ParamSegment("id")) view={Lazy::<NetworkRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("routers")) view={Lazy::<RoutersRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("routers"), ParamSegment("id")) view={Lazy::<RouterRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("security-groups")) view={Lazy::<SecurityGroupsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("security-groups"), ParamSegment("id")) view={Lazy::<SecurityGroupRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("floating-ips")) view={Lazy::<FloatingIpsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("project"), StaticSegment("network-topology")) view={Lazy::<TopologyRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("admin"), StaticSegment("hypervisors")) view={Lazy::<HypervisorsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("admin"), StaticSegment("flavors")) view={Lazy::<FlavorsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("admin"), StaticSegment("quotas")) view={Lazy::<QuotasRoute>::new()} ssr=SsrMode::Async/>
                    </ParentRoute>
                </Routes>
            </Router>
        </div>
    }
}

/// Wraps a lazily loaded panel: `data-panel-ready` turns true once the panel's own
/// code has loaded and hydrated it (after the shell's `data-hydrated`), which browser
/// tests wait for before they click; a click on an unhydrated button does nothing.
#[component]
fn Ready(children: Children) -> impl IntoView {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    view! {
        <div class="panel-root" data-panel-ready=move || if ready.get() { "true" } else { "false" }>
            {children()}
        </div>
    }
}

/// Panels are rendered on the server with `SsrMode::Async` (the whole page once its
/// data is ready): with out-of-order streaming a lazily loaded panel could start
/// hydrating after its data had arrived but before the streamed HTML replaced the
/// "Loading…" fallback, and hydration then panicked (seen in the Images panel tests).
///
/// Panels are lazy routes: built with `cargo leptos build --split`, each one's code is a
/// separate WASM file fetched when the panel is first opened, so the first page a
/// user loads carries only the shell (docs/benchmarks.md).
pub struct ProjectsRoute;

#[lazy_route]
impl LazyRoute for ProjectsRoute {
    fn data() -> Self {
        ProjectsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><identity_projects::ProjectsPanel/></Ready> }.into_any()
    }
}

pub struct UsersRoute;

#[lazy_route]
impl LazyRoute for UsersRoute {
    fn data() -> Self {
        UsersRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><identity_users::UsersPanel/></Ready> }.into_any()
    }
}

pub struct GroupsRoute;

#[lazy_route]
impl LazyRoute for GroupsRoute {
    fn data() -> Self {
        GroupsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><identity_groups::GroupsPanel/></Ready> }.into_any()
    }
}

pub struct RolesRoute;

#[lazy_route]
impl LazyRoute for RolesRoute {
    fn data() -> Self {
        RolesRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><identity_groups::RolesPanel/></Ready> }.into_any()
    }
}

pub struct AppCredsRoute;

#[lazy_route]
impl LazyRoute for AppCredsRoute {
    fn data() -> Self {
        AppCredsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><identity_app_creds::AppCredsPanel/></Ready> }.into_any()
    }
}

pub struct SettingsRoute;

#[lazy_route]
impl LazyRoute for SettingsRoute {
    fn data() -> Self {
        SettingsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><settings::SettingsPage/></Ready> }.into_any()
    }
}

pub struct ImagesRoute;

#[lazy_route]
impl LazyRoute for ImagesRoute {
    fn data() -> Self {
        ImagesRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><images::ImagesPanel all=false/></Ready> }.into_any()
    }
}

pub struct AdminImagesRoute;

#[lazy_route]
impl LazyRoute for AdminImagesRoute {
    fn data() -> Self {
        AdminImagesRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><images::ImagesPanel all=true/></Ready> }.into_any()
    }
}

pub struct ImageRoute;

#[lazy_route]
impl LazyRoute for ImageRoute {
    fn data() -> Self {
        ImageRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><images::ImageDetailPage/></Ready> }.into_any()
    }
}

pub struct InstancesRoute;

#[lazy_route]
impl LazyRoute for InstancesRoute {
    fn data() -> Self {
        InstancesRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><instances::InstancesPanel all=false/></Ready> }.into_any()
    }
}

pub struct AdminInstancesRoute;

#[lazy_route]
impl LazyRoute for AdminInstancesRoute {
    fn data() -> Self {
        AdminInstancesRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><instances::InstancesPanel all=true/></Ready> }.into_any()
    }
}

pub struct InstanceRoute;

#[lazy_route]
impl LazyRoute for InstanceRoute {
    fn data() -> Self {
        InstanceRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><instances::InstanceDetailPage/></Ready> }.into_any()
    }
}

pub struct KeyPairsRoute;

#[lazy_route]
impl LazyRoute for KeyPairsRoute {
    fn data() -> Self {
        KeyPairsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><compute_admin::KeyPairsPanel/></Ready> }.into_any()
    }
}

pub struct HypervisorsRoute;

#[lazy_route]
impl LazyRoute for HypervisorsRoute {
    fn data() -> Self {
        HypervisorsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><compute_admin::HypervisorsPanel/></Ready> }.into_any()
    }
}

pub struct FlavorsRoute;

#[lazy_route]
impl LazyRoute for FlavorsRoute {
    fn data() -> Self {
        FlavorsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><compute_admin::FlavorsPanel/></Ready> }.into_any()
    }
}

pub struct QuotasRoute;

#[lazy_route]
impl LazyRoute for QuotasRoute {
    fn data() -> Self {
        QuotasRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><compute_admin::QuotasPanel/></Ready> }.into_any()
    }
}

pub struct NetworksRoute;

#[lazy_route]
impl LazyRoute for NetworksRoute {
    fn data() -> Self {
        NetworksRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><network::NetworksPanel/></Ready> }.into_any()
    }
}

pub struct NetworkRoute;

#[lazy_route]
impl LazyRoute for NetworkRoute {
    fn data() -> Self {
        NetworkRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><network::NetworkDetailPage/></Ready> }.into_any()
    }
}

pub struct RoutersRoute;

#[lazy_route]
impl LazyRoute for RoutersRoute {
    fn data() -> Self {
        RoutersRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><network::RoutersPanel/></Ready> }.into_any()
    }
}

pub struct RouterRoute;

#[lazy_route]
impl LazyRoute for RouterRoute {
    fn data() -> Self {
        RouterRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><network::RouterDetailPage/></Ready> }.into_any()
    }
}

pub struct SecurityGroupsRoute;

#[lazy_route]
impl LazyRoute for SecurityGroupsRoute {
    fn data() -> Self {
        SecurityGroupsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><network::SecurityGroupsPanel/></Ready> }.into_any()
    }
}

pub struct SecurityGroupRoute;

#[lazy_route]
impl LazyRoute for SecurityGroupRoute {
    fn data() -> Self {
        SecurityGroupRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><network::SecurityGroupPage/></Ready> }.into_any()
    }
}

pub struct FloatingIpsRoute;

#[lazy_route]
impl LazyRoute for FloatingIpsRoute {
    fn data() -> Self {
        FloatingIpsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><network::FloatingIpsPanel/></Ready> }.into_any()
    }
}

pub struct TopologyRoute;

#[lazy_route]
impl LazyRoute for TopologyRoute {
    fn data() -> Self {
        TopologyRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <Ready><network::TopologyPanel/></Ready> }.into_any()
    }
}
