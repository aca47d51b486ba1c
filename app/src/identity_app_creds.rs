//! Identity > Application Credentials (everyone, for themselves): create one for the
//! current project (its secret is shown once, with a copy button and a clouds.yaml
//! ready to save), list, delete.

use leptos::prelude::*;

use crate::identity::{my_app_creds, runner, Op};
use crate::kit::{val, Cell, DataTable, Dialog, Field, Kind, Refused, Reveal, Row, RunnerDialog};

#[component]
pub fn AppCredsPanel() -> impl IntoView {
    let runner = runner();
    let creds = Resource::new(move || runner.changed.get(), |_| my_app_creds());
    let reveal = RwSignal::new(None::<Reveal>);
    Effect::new(move |_| {
        if let Some(Ok(done)) = runner.action.value().get() {
            if let Some(r) = done.reveal {
                reveal.set(Some(r));
            }
        }
    });
    let rows = Signal::derive(move || {
        creds
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|a| Row {
                cells: vec![
                    Cell::Text(a.name.clone()),
                    Cell::Text(a.description),
                    Cell::Code(a.project_id),
                    Cell::Text(a.roles),
                    Cell::Text(a.expires_at),
                    Cell::Code(a.id.clone()),
                ],
                actions: vec![("delete", "Delete")],
                id: a.id,
                name: a.name,
            })
            .collect::<Vec<_>>()
    });
    let on_action = Callback::new(move |(_, row): (&'static str, Row)| {
        runner.open(Dialog::confirm(
            format!("Delete application credential {}?", row.name),
            "Anything authenticating with it stops working at once.",
            "Delete",
            Op::AppCredDelete { id: row.id },
        ))
    });
    let create = move |_| {
        let fields = vec![
            Field::text("name", "Name").required().max(ferrostack_types::identity::limits::APP_CRED_NAME_MAX),
            Field::new("description", "Description", Kind::Area).max(ferrostack_types::identity::limits::DESCRIPTION_MAX),
            Field::new("expires", "Expires", Kind::Date).hint("Leave empty for a credential that does not expire."),
            Field::new("unrestricted", "Unrestricted", Kind::Check)
                .hint("Lets the credential create and delete other credentials. Leave off unless a tool needs it."),
        ];
        runner.open(Dialog::form(
            "Create application credential",
            "Create",
            fields,
            |v| Op::AppCredCreate {
                name: val(&v, "name"),
                description: val(&v, "description"),
                expires: val(&v, "expires"),
                unrestricted: !val(&v, "unrestricted").is_empty(),
            },
        ))
    };
    view! {
        <main class="page">
            <h1>"Application Credentials"</h1>
            <p class="muted">"Let a script or tool act in the current project with your roles there, without your password."</p>
            <div class="toolbar">
                <span class="spacer"></span>
                <button class="btn" data-test="create-app-cred" on:click=create>"Create application credential"</button>
            </div>
            <RunnerDialog runner/>
            {move || reveal.get().map(|r| view! { <RevealDialog r close=move || reveal.set(None)/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || creds.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <Show when=move || matches!(creds.get(), Some(Ok(_)))>
                    <DataTable test="app-creds" columns=vec!["Name", "Description", "Project", "Roles", "Expires", "ID"] rows on_action
                            empty="You have no application credentials."/>
                </Show>
            </Transition>
        </main>
    }
}

/// The new credential's secret, shown this once.
#[component]
fn RevealDialog(r: Reveal, close: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let copied = RwSignal::new(false);
    let secret = r.secret.clone();
    let copy = move |_| {
        let _ = window().navigator().clipboard().write_text(&secret);
        copied.set(true);
    };
    let download = format!(
        "data:text/yaml;charset=utf-8,{}",
        crate::kit::urlencode(&r.clouds_yaml)
    );
    let close2 = close.clone();
    view! {
        <div class="modal-backdrop" on:click=move |_| close()></div>
        <div class="modal wide" role="dialog" aria-modal="true" aria-label="Your new application credential" data-test="reveal-modal">
            <h2>"Your new application credential"</h2>
            <p class="warning">"This is the only time the secret is shown. Copy it or download the clouds.yaml now."</p>
            <dl class="facts">
                <dt>"ID"</dt><dd><code data-test="app-cred-id">{r.id.clone()}</code></dd>
                <dt>"Secret"</dt>
                <dd class="secret-line">
                    <code data-test="app-cred-secret">{r.secret.clone()}</code>
                    <button class="btn btn-small btn-secondary" data-test="copy-secret" on:click=copy>
                        {move || if copied.get() { "Copied" } else { "Copy" }}
                    </button>
                </dd>
            </dl>
            <pre class="code" data-test="app-cred-yaml">{r.clouds_yaml.clone()}</pre>
            <div class="actions">
                <a class="btn btn-secondary" href=download download="clouds.yaml" data-test="download-yaml">"Download clouds.yaml"</a>
                <button class="btn" data-test="reveal-close" on:click=move |_| close2()>"I have saved it"</button>
            </div>
        </div>
    }
}
