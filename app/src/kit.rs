//! The console's building blocks, shared by every panel: a data table with row actions,
//! a form dialog driven by field descriptions (validated in the browser before the
//! server sees it, and again by the service), confirmations, and toasts.
//!
//! They take plain data (rows of cells, lists of fields) rather than generic views, so
//! the WASM bundle carries one copy of each however many panels use them; a panel's
//! mutations go through one `Runner` whose action calls its service's single
//! operations server function.

use leptos::prelude::*;

use crate::error::ConsoleError;
use serde::{Deserialize, Serialize};

use crate::auth::reason;

// ---------------------------------------------------------------------------------
// Toasts

#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub id: u64,
    pub ok: bool,
    pub text: String,
}

/// The toast stack of the page; the shell provides it.
#[derive(Clone, Copy)]
pub struct Toaster(pub RwSignal<Vec<Toast>>);

impl Toaster {
    pub fn say(&self, ok: bool, text: String) {
        let list = self.0;
        let id = list.with_untracked(|l| l.last().map(|t| t.id + 1).unwrap_or(1));
        list.update(|l| l.push(Toast { id, ok, text }));
        // Successes fade; refusals stay until dismissed, so there is time to read why.
        if ok {
            set_timeout(
                move || list.update(|l| l.retain(|t| t.id != id)),
                std::time::Duration::from_secs(6),
            );
        }
    }
}

pub fn toaster() -> Toaster {
    use_context::<Toaster>().unwrap_or_else(|| Toaster(RwSignal::new(Vec::new())))
}

#[component]
pub fn Toasts() -> impl IntoView {
    let Toaster(list) = toaster();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || list.get() key=|t| t.id let:t>
                {
                    let id = t.id;
                    view! {
                        <div class=if t.ok { "toast ok" } else { "toast bad" } data-test=if t.ok { "toast" } else { "toast-error" }>
                            <span>{t.text}</span>
                            <button class="toast-close" aria-label="Dismiss"
                                on:click=move |_| list.update(|l| l.retain(|x| x.id != id))>"×"</button>
                        </div>
                    }
                }
            </For>
        </div>
    }
}

// ---------------------------------------------------------------------------------
// Operations: what a server function reports after a change.

/// A secret shown once (an application credential's), with a ready-made clouds.yaml.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reveal {
    pub id: String,
    pub secret: String,
    pub clouds_yaml: String,
}

/// The answer to a successful change: a sentence for the toast, and a secret when the
/// change created one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub message: String,
    pub reveal: Option<Reveal>,
}

impl Done {
    pub fn say(message: impl Into<String>) -> Self {
        Done {
            message: message.into(),
            reveal: None,
        }
    }
}

pub type Values = Vec<(&'static str, String)>;

/// The value of field `name` in submitted values.
pub fn val(values: &Values, name: &str) -> String {
    values
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A dialog asking for values (or only for confirmation when it has no fields) and
/// turning them into an operation.
#[derive(Clone)]
pub struct Dialog<O: Send + Sync + 'static> {
    pub title: String,
    pub intro: String,
    pub submit: &'static str,
    pub danger: bool,
    pub fields: Vec<Field>,
    pub build: Callback<Values, O>,
}

impl<O: Send + Sync + 'static> Dialog<O> {
    pub fn form(
        title: impl Into<String>,
        submit: &'static str,
        fields: Vec<Field>,
        build: impl Fn(Values) -> O + Send + Sync + 'static,
    ) -> Self {
        Dialog {
            title: title.into(),
            intro: String::new(),
            submit,
            danger: false,
            fields,
            build: Callback::new(build),
        }
    }

    /// "Delete project blue?" with a red button.
    pub fn confirm(
        title: impl Into<String>,
        intro: impl Into<String>,
        submit: &'static str,
        op: O,
    ) -> Self
    where
        O: Clone,
    {
        Dialog {
            title: title.into(),
            intro: intro.into(),
            submit,
            danger: true,
            fields: Vec::new(),
            build: Callback::new(move |_| op.clone()),
        }
    }
}

/// A panel's way of changing things: one action for its service's operations server
/// function, the dialog it may have open, and a counter lists reload on.
pub struct Runner<O: Send + Sync + 'static> {
    pub action: Action<O, Result<Done, ConsoleError>>,
    pub dialog: RwSignal<Option<Dialog<O>>>,
    pub changed: RwSignal<u64>,
}

impl<O: Send + Sync + 'static> Clone for Runner<O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<O: Send + Sync + 'static> Copy for Runner<O> {}

impl<O: Clone + Send + Sync + 'static> Runner<O> {
    pub fn new(action: Action<O, Result<Done, ConsoleError>>) -> Self {
        let r = Runner {
            action,
            dialog: RwSignal::new(None),
            changed: RwSignal::new(0),
        };
        let toasts = toaster();
        Effect::new(move |_| match action.value().get() {
            Some(Ok(done)) => {
                r.dialog.set(None);
                r.changed.update(|n| *n += 1);
                toasts.say(true, done.message);
            }
            // With a dialog open, it shows the refusal (and keeps what was typed);
            // otherwise a toast does.
            Some(Err(e)) if r.dialog.with_untracked(|d| d.is_none()) => {
                toasts.say(false, reason(&e));
            }
            _ => {}
        });
        r
    }

    pub fn open(&self, d: Dialog<O>) {
        self.action.value().set(None);
        self.dialog.set(Some(d));
    }

    pub fn run(&self, op: O) {
        self.action.value().set(None);
        self.action.dispatch(op);
    }
}

// ---------------------------------------------------------------------------------
// Forms

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Email,
    Password,
    /// Must equal the named field (a password typed twice).
    Confirm(&'static str),
    Area,
    Select,
    Check,
    /// A date (`YYYY-MM-DD`), optional unless required.
    Date,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub value: String,
    pub required: bool,
    pub max: usize,
    pub options: Vec<(String, String)>,
    pub hint: &'static str,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, kind: Kind) -> Self {
        Field {
            name,
            label,
            kind,
            value: String::new(),
            required: false,
            max: 255,
            options: Vec::new(),
            hint: "",
        }
    }
    pub fn text(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, Kind::Text)
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn max(mut self, n: usize) -> Self {
        self.max = n;
        self
    }
    pub fn value(mut self, v: impl Into<String>) -> Self {
        self.value = v.into();
        self
    }
    pub fn checked(mut self, on: bool) -> Self {
        self.value = if on { "on".into() } else { String::new() };
        self
    }
    pub fn options(mut self, o: Vec<(String, String)>) -> Self {
        self.options = o;
        self
    }
    pub fn hint(mut self, h: &'static str) -> Self {
        self.hint = h;
        self
    }
}

/// What is wrong with `value` for `f`, in words, or `None`. The same rules as the
/// service's, checked before a round trip; the service checks again.
pub fn problem(f: &Field, value: &str, values: &Values) -> Option<String> {
    let label = f.label.to_lowercase();
    let blank = value.trim().is_empty();
    if f.required && blank && f.kind != Kind::Check {
        return Some(match f.kind {
            Kind::Select => format!("Choose a {label}."),
            _ => format!("Enter a {label}."),
        });
    }
    if value.chars().count() > f.max {
        return Some(format!(
            "{} is at most {} characters; this is {}.",
            f.label,
            f.max,
            value.chars().count()
        ));
    }
    if f.kind != Kind::Area && value.chars().any(|c| c.is_control()) {
        return Some(format!("{} cannot contain control characters.", f.label));
    }
    match f.kind {
        Kind::Email if !blank => {
            let ok = value
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.ends_with('.'));
            (!ok).then(|| "Enter an email address like name@example.org.".to_string())
        }
        Kind::Confirm(other) if value != val(values, other) => {
            Some("The two passwords do not match.".into())
        }
        Kind::Date if !blank => {
            let ok = value.len() == 10
                && value.char_indices().all(|(i, c)| {
                    if i == 4 || i == 7 {
                        c == '-'
                    } else {
                        c.is_ascii_digit()
                    }
                });
            (!ok).then(|| "Enter a date as YYYY-MM-DD.".to_string())
        }
        _ => None,
    }
}

#[component]
fn FieldInput(f: Field, value: RwSignal<String>, error: Signal<Option<String>>) -> impl IntoView {
    let test = format!("field-{}", f.name);
    let input = match f.kind {
        Kind::Area => view! {
            <textarea name=f.name data-test=test rows="3" prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))></textarea>
        }
        .into_any(),
        Kind::Select => view! {
            <select name=f.name data-test=test prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))>
                {f.options.into_iter().map(|(v, label)| {
                    let selected = v == value.get_untracked();
                    view! { <option value=v selected=selected>{label}</option> }
                }).collect_view()}
            </select>
        }
        .into_any(),
        Kind::Check => view! {
            <input type="checkbox" name=f.name data-test=test prop:checked=move || !value.get().is_empty()
                on:change=move |ev| value.set(if event_target_checked(&ev) { "on".into() } else { String::new() })/>
        }
        .into_any(),
        kind => {
            let ty = match kind {
                Kind::Email => "email",
                Kind::Password | Kind::Confirm(_) => "password",
                Kind::Date => "date",
                _ => "text",
            };
            view! {
                <input type=ty name=f.name data-test=test prop:value=move || value.get()
                    autocomplete=if ty == "password" { "new-password" } else { "off" }
                    aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                    on:input=move |ev| value.set(event_target_value(&ev))/>
            }
            .into_any()
        }
    };
    let class = if f.kind == Kind::Check { "check" } else { "" };
    view! {
        <label class=class>
            <span>{f.label}{if f.required { " *" } else { "" }}</span>
            {input}
            {(!f.hint.is_empty()).then(|| view! { <small class="muted">{f.hint}</small> })}
            {move || error.get().map(|e| view! { <small class="error" data-test="field-error">{e}</small> })}
        </label>
    }
}

/// The runner's dialog, when one is open.
#[component]
pub fn RunnerDialog<O: Clone + Send + Sync + 'static>(runner: Runner<O>) -> impl IntoView {
    move || {
        runner
            .dialog
            .get()
            .map(|d| view! { <DialogView d runner/> })
    }
}

#[component]
fn DialogView<O: Clone + Send + Sync + 'static>(d: Dialog<O>, runner: Runner<O>) -> impl IntoView {
    let values: Vec<RwSignal<String>> = d
        .fields
        .iter()
        .map(|f| RwSignal::new(f.value.clone()))
        .collect();
    // Errors appear once the user has tried to submit, then follow each keystroke.
    let tried = RwSignal::new(false);
    let fields = StoredValue::new(d.fields.clone());
    let vals = values.clone();
    let collect = move || -> Values {
        fields.with_value(|fs| {
            fs.iter()
                .zip(&vals)
                .map(|(f, v)| (f.name, v.get()))
                .collect()
        })
    };
    let collect2 = collect.clone();
    let errors = Memo::new(move |_| {
        let all = collect2();
        fields.with_value(|fs| {
            fs.iter()
                .map(|f| problem(f, &val(&all, f.name), &all))
                .collect::<Vec<_>>()
        })
    });
    let build = d.build;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        if errors.get_untracked().iter().any(Option::is_some) {
            return;
        }
        runner.run(build.run(collect()));
    };
    let close = move || runner.dialog.set(None);
    let action = runner.action;
    view! {
        <div class="modal-backdrop" on:click=move |_| close()></div>
        <div class="modal" role="dialog" aria-modal="true" aria-label=d.title.clone() data-test="modal"
            on:keydown=move |ev| if ev.key() == "Escape" { close() }>
            <h2>{d.title.clone()}</h2>
            {(!d.intro.is_empty()).then(|| view! { <p data-test="dialog-intro">{d.intro.clone()}</p> })}
            <form class="form" novalidate on:submit=submit>
                {d.fields.into_iter().zip(values).enumerate().map(|(i, (f, value))| {
                    let error = Signal::derive(move || if tried.get() { errors.get().get(i).cloned().flatten() } else { None });
                    view! { <FieldInput f value error/> }
                }).collect_view()}
                {move || action.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert" data-test="modal-error">{reason(&e)}</p> })}
                <div class="actions">
                    <button type="button" class="btn btn-secondary" data-test="dialog-cancel" on:click=move |_| close()>"Cancel"</button>
                    <button type="submit" class=if d.danger { "btn btn-danger" } else { "btn" } data-test="dialog-submit"
                        disabled=move || action.pending().get()>{d.submit}</button>
                </div>
            </form>
        </div>
    }
}

// ---------------------------------------------------------------------------------
// Tables

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    Text(String),
    Code(String),
    Status(bool),
    /// A badge with its text and class (`ok`, `bad`, `busy`).
    Badge(String, &'static str),
    /// Text linking to a page.
    Link(String, String),
}

/// A row: its id, the name tests and people find it by, its cells, and the actions
/// offered on it as (key, label).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub cells: Vec<Cell>,
    pub actions: Vec<(&'static str, &'static str)>,
}

/// A table whose rows are keyed by id: when one row changes, only that row is redrawn,
/// the others (and the page's scroll position) stay where they are.
#[component]
pub fn DataTable(
    test: &'static str,
    columns: Vec<&'static str>,
    rows: Signal<Vec<Row>>,
    on_action: Callback<(&'static str, Row)>,
    #[prop(optional)] empty: &'static str,
    /// When given, a first column of checkboxes: the ids of the rows ticked.
    #[prop(optional)]
    selected: Option<RwSignal<Vec<String>>>,
) -> impl IntoView {
    let row_test = format!("{}-row", test.trim_end_matches('s'));
    let has_actions = move || rows.with(|r| r.iter().any(|r| !r.actions.is_empty()));
    let all_ticked = move || {
        selected.is_some_and(|s| {
            let n = s.with(|s| s.len());
            n > 0 && rows.with(|r| r.iter().all(|r| s.with(|s| s.contains(&r.id))))
        })
    };
    let tick_all = move |on: bool| {
        if let Some(s) = selected {
            s.set(if on {
                rows.with(|r| r.iter().map(|r| r.id.clone()).collect())
            } else {
                Vec::new()
            });
        }
    };
    view! {
        <table class="table" data-test=format!("{test}-table")>
            <thead><tr>
                {selected.map(|_| view! {
                    <th class="select-col"><input type="checkbox" aria-label="Select all" data-test="select-all"
                        prop:checked=all_ticked on:change=move |ev| tick_all(event_target_checked(&ev))/></th>
                })}
                {columns.into_iter().map(|c| view! { <th>{c}</th> }).collect_view()}
                <Show when=has_actions><th class="actions-col">"Actions"</th></Show>
            </tr></thead>
            <tbody>
                <For each=move || rows.get() key=|r| r.clone() let:row>
                    {
                        let cells = row.cells.clone();
                        let actions = row.actions.clone();
                        let row = StoredValue::new(row);
                        view! {
                            <tr data-test=row_test.clone() data-name=row.with_value(|r| r.name.clone())>
                                {selected.map(|s| {
                                    let id = row.with_value(|r| r.id.clone());
                                    let id2 = id.clone();
                                    view! {
                                        <td class="select-col"><input type="checkbox" aria-label="Select" data-test="row-select"
                                            prop:checked=move || s.with(|s| s.contains(&id))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                s.update(|s| { s.retain(|x| *x != id2); if on { s.push(id2.clone()); } });
                                            }/></td>
                                    }
                                })}
                                {cells.into_iter().map(|c| match c {
                                    Cell::Text(t) => view! { <td>{t}</td> }.into_any(),
                                    Cell::Code(t) => view! { <td><code>{t}</code></td> }.into_any(),
                                    Cell::Status(on) => view! { <td><crate::status::StatusBadge enabled=on/></td> }.into_any(),
                                    Cell::Badge(t, class) => view! { <td><span class=format!("badge {class}") data-test="badge">{t}</span></td> }.into_any(),
                                    Cell::Link(t, href) => view! { <td><a href=href data-test="row-link">{t}</a></td> }.into_any(),
                                }).collect_view()}
                                {(!actions.is_empty()).then(|| view! {
                                    <td class="row-actions">
                                        {actions.into_iter().map(|(key, label)| view! {
                                            <button class=if key == "delete" { "btn btn-small btn-danger-quiet" } else { "btn btn-small btn-secondary" }
                                                data-test=format!("row-{key}")
                                                on:click=move |_| on_action.run((key, row.get_value()))>{label}</button>
                                        }).collect_view()}
                                    </td>
                                })}
                            </tr>
                        }
                    }
                </For>
            </tbody>
        </table>
        <Show when=move || rows.with(|r| r.is_empty()) && !empty.is_empty()>
            <p class="muted" data-test="empty">{empty}</p>
        </Show>
    }
}

/// A panel's refusal (e.g. a member opening an admin page): the service's reason.
#[component]
pub fn Refused(e: ConsoleError) -> impl IntoView {
    view! { <p class="error" role="alert" data-test="panel-refused">{reason(&e)}</p> }
}

pub use ferrostack_types::url::encode as urlencode;
