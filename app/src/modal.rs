//! A modal dialog: a card over a dimmed page, closed by its Cancel button or Escape.

use leptos::prelude::*;

#[component]
pub fn Modal(title: &'static str, open: RwSignal<bool>, children: ChildrenFn) -> impl IntoView {
    view! {
        <Show when=move || open.get()>
            <div class="modal-backdrop" on:click=move |_| open.set(false)></div>
            <div class="modal" role="dialog" aria-modal="true" aria-label=title data-test="modal"
                on:keydown=move |ev| if ev.key() == "Escape" { open.set(false) }>
                <h2>{title}</h2>
                {children()}
            </div>
        </Show>
    }
}
