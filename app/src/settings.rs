//! The user menu's pages: Settings (items per page, kept in the session) and the
//! change-password dialog (self-service through the identity service).

use leptos::prelude::*;

use crate::error::ConsoleError;
use serde::{Deserialize, Serialize};

use crate::kit::toaster;

pub const PAGE_SIZES: [i64; 4] = [10, 20, 50, 100];
pub const DEFAULT_PAGE_SIZE: i64 = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    pub page_size: i64,
}

#[server(endpoint = "get_prefs")]
pub async fn get_prefs() -> Result<Prefs, ConsoleError> {
    crate::auth::ssr::caller().await?;
    Ok(Prefs {
        page_size: ssr::page_size().await,
    })
}

#[server(endpoint = "save_prefs")]
pub async fn save_prefs(page_size: i64) -> Result<Prefs, ConsoleError> {
    crate::auth::ssr::caller().await?;
    if !PAGE_SIZES.contains(&page_size) {
        return Err(ConsoleError::bad_request(format!(
            "Items per page must be one of 10, 20, 50 or 100, not {page_size}."
        )));
    }
    let session = crate::auth::ssr::session().await?;
    session
        .insert(ssr::PAGE_SIZE_KEY, page_size)
        .await
        .map_err(crate::auth::ssr::session_failed)?;
    Ok(Prefs { page_size })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    pub const PAGE_SIZE_KEY: &str = "page_size";

    /// The signed-in user's items-per-page setting.
    pub async fn page_size() -> i64 {
        match crate::auth::ssr::session().await {
            Ok(s) => s
                .get::<i64>(PAGE_SIZE_KEY)
                .await
                .ok()
                .flatten()
                .filter(|n| super::PAGE_SIZES.contains(n))
                .unwrap_or(super::DEFAULT_PAGE_SIZE),
            Err(_) => super::DEFAULT_PAGE_SIZE,
        }
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let prefs = Resource::new(|| (), |_| get_prefs());
    let save = ServerAction::<SavePrefs>::new();
    let toasts = toaster();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(p)) => toasts.say(true, format!("Saved: {} items per page.", p.page_size)),
        Some(Err(e)) => toasts.say(false, crate::auth::reason(&e)),
        None => {}
    });
    view! {
        <main class="page">
            <h1>"Settings"</h1>
            <section class="card narrow-card">
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || prefs.get().map(|r| match r {
                        Ok(p) => view! {
                            <ActionForm action=save attr:class="form">
                                <label>"Items per page"
                                    <select name="page_size" data-test="page-size">
                                        {PAGE_SIZES.iter().map(|n| view! { <option value=n.to_string() selected=*n == p.page_size>{n.to_string()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <div class="actions">
                                    <button class="btn" type="submit" data-test="save-settings" disabled=move || save.pending().get()>"Save"</button>
                                </div>
                            </ActionForm>
                        }.into_any(),
                        Err(e) => view! { <crate::kit::Refused e/> }.into_any(),
                    })}
                </Suspense>
            </section>
        </main>
    }
}
