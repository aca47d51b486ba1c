//! The landing page: what this cloud is and how to reach it from the clients people
//! already use. (Sign-in and the Project / Admin / Identity panels come with the
//! console issue.)

use leptos::prelude::*;

use crate::CloudInfo;

/// The cloud's public facts (version, auth URL, region). Not secret: the same facts
/// Keystone's version document gives anyone.
#[server(endpoint = "cloud_info")]
pub async fn get_cloud_info() -> Result<CloudInfo, ServerFnError> {
    use_context::<CloudInfo>()
        .ok_or_else(|| ServerFnError::new("the server did not provide the cloud's details"))
}

fn clouds_yaml(info: &CloudInfo) -> String {
    format!(
        "clouds:\n  ferrostack:\n    auth:\n      auth_url: {}\n      username: admin\n      password: <see the data dir's admin-credentials>\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: {}\n    identity_api_version: 3\n",
        info.auth_url, info.region
    )
}

#[component]
pub fn HomePage() -> impl IntoView {
    let info = Resource::new(|| (), |_| get_cloud_info());
    let (show_yaml, set_show_yaml) = signal(false);
    view! {
        <header class="topbar">
            <span class="brand">"Ferrostack"</span>
        </header>
        <main class="page">
            <h1>"Your cloud is running"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || info.get().map(|r| match r {
                    Ok(info) => {
                        let yaml = clouds_yaml(&info);
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
