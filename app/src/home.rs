//! Project > Overview: the current project, the caller's roles there, its quota usage
//! so far (images today; compute, volumes and networks join as they arrive), and how to
//! reach this cloud from the clients people already use.

use leptos::prelude::*;

use crate::error::ConsoleError;

use crate::shell::Signed;
use crate::CloudInfo;

/// The cloud's public facts (version, auth URL, region). Not secret: the same facts
/// Keystone's version document gives anyone.
#[server(endpoint = "cloud_info")]
pub async fn get_cloud_info() -> Result<CloudInfo, ConsoleError> {
    use_context::<CloudInfo>()
        .ok_or_else(|| ConsoleError::unavailable("The server did not provide the cloud's details."))
}

/// One quota: what the project uses of it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuotaUse {
    pub label: String,
    pub used: i64,
    pub limit: i64,
    /// Shown as a size (KiB, MiB, ...) rather than a count.
    pub bytes: bool,
}

/// The current project's quota usage, from each service.
#[server(endpoint = "project_usage")]
pub async fn project_usage() -> Result<Vec<QuotaUse>, ConsoleError> {
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let images = crate::images::ssr::images()?;
    let u = images
        .project_usage(&ctx)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(vec![
        QuotaUse {
            label: "Images".into(),
            used: u.images,
            limit: u.quota_images,
            bytes: false,
        },
        QuotaUse {
            label: "Image storage".into(),
            used: u.bytes,
            limit: u.quota_bytes,
            bytes: true,
        },
    ])
}

/// 1536 → "1.5 KiB".
pub fn size(n: i64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

#[component]
fn Usage() -> impl IntoView {
    let usage = Resource::new(|| (), |_| project_usage());
    view! {
        <section class="card" data-test="quota-usage">
            <h2>"Quota usage"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || usage.get().map(|r| match r {
                    Ok(list) => list.into_iter().map(|q| {
                        let (used, limit) = if q.bytes { (size(q.used), size(q.limit)) } else { (q.used.to_string(), q.limit.to_string()) };
                        let pct = if q.limit > 0 { (q.used as f64 * 100.0 / q.limit as f64).clamp(0.0, 100.0) } else { 0.0 };
                        view! {
                            <div class="quota" data-test="quota">
                                <span class="quota-label">{q.label}</span>
                                <span class="quota-figure" data-test="quota-figure">{format!("{used} of {limit}")}</span>
                                <span class="bar"><span style=format!("width: {pct:.1}%")></span></span>
                            </div>
                        }
                    }).collect_view().into_any(),
                    Err(e) => view! { <crate::kit::Refused e/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
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
            // Outside the closure above, which runs again when the signed-in user or the
            // cloud's details arrive: a component with its own resource created inside
            // it was created twice on hydration and hydration failed (home.rs, Usage).
            <Usage/>
        </main>
    }
}
