//! Import or create a key pair (Project > Key Pairs): a generated pair's private key is
//! shown once, to be saved then.

use super::prelude::*;

#[component]
pub fn KeyPairForm(close: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let public = RwSignal::new(String::new());
    let private_key = RwSignal::new(None::<String>);
    let failed = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let toasts = toaster();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if name.get_untracked().trim().is_empty() {
            failed.set(Some("Enter a name.".into()));
            return;
        }
        busy.set(true);
        let (n, p) = (name.get_untracked(), public.get_untracked());
        leptos::task::spawn_local(async move {
            let r = instance_do(InstanceOp::KeypairCreate {
                name: n,
                public_key: p,
            })
            .await;
            busy.set(false);
            match r {
                Ok(done) => {
                    toasts.say(true, done.message);
                    match done.reveal {
                        Some(r) => private_key.set(Some(r.secret)),
                        None => close.run(()),
                    }
                }
                Err(e) => failed.set(Some(crate::auth::reason(&e))),
            }
        });
    };
    view! {
        <div class="modal-backdrop"></div>
        <div class="modal" role="dialog" aria-modal="true" aria-label="Key pair" data-test="modal">
            <h2>"Import or create a key pair"</h2>
            {move || match private_key.get() {
                Some(k) => view! {
                    <div class="reveal" data-test="private-key">
                        <p>"The private key, shown once: save it now."</p>
                        <pre>{k}</pre>
                        <div class="actions"><button class="btn" data-test="dialog-done" on:click=move |_| close.run(())>"Done"</button></div>
                    </div>
                }.into_any(),
                None => view! {
                    <form class="form" novalidate on:submit=submit>
                        <label><span>"Name *"</span>
                            <input type="text" data-test="field-key-name" prop:value=move || name.get()
                                on:input=move |ev| name.set(event_target_value(&ev))/>
                        </label>
                        <label><span>"Public key (leave empty to have a pair made)"</span>
                            <textarea rows="3" data-test="field-key-public" prop:value=move || public.get()
                                on:input=move |ev| public.set(event_target_value(&ev))></textarea>
                        </label>
                        {move || failed.get().map(|f| view! { <p class="error" role="alert" data-test="modal-error">{f}</p> })}
                        <div class="actions">
                            <button type="button" class="btn btn-secondary" data-test="dialog-cancel" on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class="btn" data-test="dialog-submit" disabled=move || busy.get()>"Save key pair"</button>
                        </div>
                    </form>
                }.into_any(),
            }}
        </div>
    }
}
