//! Project > Overview: the current project, the caller's roles there, and how to reach
//! this cloud from the clients people already use. (Resource counts and quota usage
//! join as the compute, volume and network services arrive.)

use leptos::prelude::*;

use crate::shell::Signed;
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
    let Signed(who) = expect_context::<Signed>();
    let (show_yaml, set_show_yaml) = signal(false);
    view! {
        <main class="page">
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let me = who.get().and_then(|r| r.ok()).flatten();
                    info.get().map(|r| match r {
                        Ok(info) => {
                            let user = me.as_ref().map(|m| m.user_name.clone()).unwrap_or_default();
                            let project = me.as_ref().and_then(|m| m.project_name.clone()).unwrap_or_default();
                            let roles = me.as_ref().map(|m| m.roles.join(", ")).unwrap_or_default();
                            let yaml = clouds_yaml(&info, &user, &project);
                            view! {
                                <h1>{format!("Overview: {project}")}</h1>
                                <section class="card">
                                    <dl class="facts">
                                        <dt>"Your roles here"</dt><dd data-test="roles">{roles}</dd>
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
                    })
                }}
            </Suspense>
        </main>
    }
}
