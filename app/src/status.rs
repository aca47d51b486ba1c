//! The enabled/disabled badge every Identity table shows.

use leptos::prelude::*;

#[component]
pub fn StatusBadge(enabled: bool) -> impl IntoView {
    if enabled {
        view! { <span class="badge ok">"Enabled"</span> }.into_any()
    } else {
        view! { <span class="badge off">"Disabled"</span> }.into_any()
    }
}
