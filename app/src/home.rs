//! The landing page: what this cloud is and how to reach it from the clients people
//! already use. (Sign-in and the Project / Admin / Identity panels come with the
//! console issue.)

use leptos::prelude::*;

use leptos_router::components::Redirect;

use crate::auth::{who_am_i, SignOut};
use crate::CloudInfo;

/// The cloud's public facts (version, auth URL, region). Not secret: the same facts
/// Keystone's version document gives anyone.
#[server(endpoint = "cloud_info")]
pub async fn get_cloud_info() -> Result<CloudInfo, ServerFnError> {
    use_context::<CloudInfo>()
        .ok_or_else(|| ServerFnError::new("the server did not provide the cloud's details"))
}

/// A clouds.yaml entry for the signed-in user and project (the password stays theirs
/// to fill in: the console never shows it).
fn clouds_yaml(info: &CloudInfo, user: &str, project: &str) -> String {
    format!(
        "clouds:\n  ferrostack:\n    auth:\n      auth_url: {}\n      username: {user}\n      password: <your password>\n      project_name: {project}\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: {}\n    identity_api_version: 3\n",
        info.auth_url, info.region
    )
}

#[component]
pub fn HomePage() -> impl IntoView {
    let info = Resource::new(|| (), |_| get_cloud_info());
    let who = Resource::new(|| (), |_| who_am_i());
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            who.refetch();
        }
    });
    let (show_yaml, set_show_yaml) = signal(false);
    view! {
        <header class="topbar">
            <span class="brand">"Ferrostack"</span>
            <span class="spacer"></span>
            <Suspense fallback=|| ()>
                {move || who.get().map(|r| match r {
                    Ok(Some(m)) => view! {
                        <span class="who" data-test="signed-in-as">{m.user_name.clone()}</span>
                        <span class="muted-inverse" data-test="current-project">{m.project_name.clone().unwrap_or_else(|| "no project".into())}</span>
                        <ActionForm action=sign_out attr:class="inline">
                            <button class="btn btn-quiet" type="submit" data-test="sign-out">"Sign out"</button>
                        </ActionForm>
                    }.into_any(),
                    _ => view! { <Redirect path="/sign-in"/> }.into_any(),
                })}
            </Suspense>
        </header>
        <main class="page">
            <h1>"Your cloud is running"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || info.get().map(|r| match r {
                    Ok(info) => {
                        let me = who.get().and_then(|r| r.ok()).flatten();
                        let user = me.as_ref().map(|m| m.user_name.clone()).unwrap_or_default();
                        let project = me.and_then(|m| m.project_name).unwrap_or_default();
                        let yaml = clouds_yaml(&info, &user, &project);
                        view! {
                            <section class="card">
                                <dl class="facts">
                                    <dt>"Version"</dt><dd data-test="version">{info.version.clone()}</dd>
                                    <dt>"Identity API (auth URL)"</dt><dd><code data-test="auth-url">{info.auth_url.clone()}</code></dd>
                                    <dt>"Region"</dt><dd>{info.region.clone()}</dd>
                                </dl>
                                <button class="btn" data-test="toggle-yaml"
                                    on:click=move |_| set_show_yaml.update(|v| *v = !*v)>
                                    {move || if show_yaml.get() { "Hide clouds.yaml" } else { "Show clouds.yaml" }}
                                </button>
                                <Show when=move || show_yaml.get()>
                                    <pre class="code" data-test="clouds-yaml">{yaml.clone()}</pre>
                                </Show>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error">{format!("Cannot load the cloud's details: {e}")}</p> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}
