//! Identity > Projects (admins): every project, searchable, a page at a time.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::auth::reason;
use crate::modal::Modal;
use crate::status::StatusBadge;

pub const PER_PAGE: i64 = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectsPage {
    pub items: Vec<ProjectRow>,
    pub total: i64,
    pub page: i64,
}

/// One page of projects whose names contain `search`. The identity service refuses
/// anyone without the admin role.
#[server(endpoint = "list_projects")]
pub async fn list_projects(search: String, page: i64) -> Result<ProjectsPage, ServerFnError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let page = page.max(1);
    let (list, total) = id
        .project_page(&ctx, &search, (page - 1) * PER_PAGE, PER_PAGE)
        .await
        .map_err(crate::auth::ssr::say)?;
    let items = list
        .into_iter()
        .map(|p| ProjectRow {
            id: p.id,
            name: p.name,
            description: p.description,
            enabled: p.enabled,
        })
        .collect();
    Ok(ProjectsPage { items, total, page })
}

/// Create a project (admins; the service decides).
#[server(endpoint = "create_project")]
pub async fn create_project(
    name: String,
    description: String,
) -> Result<ProjectRow, ServerFnError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let new = ferrostack_identity::NewProject {
        name,
        description,
        enabled: true,
        ..Default::default()
    };
    let p = id
        .project_create(&ctx, new)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(ProjectRow {
        id: p.id,
        name: p.name,
        description: p.description,
        enabled: p.enabled,
    })
}

#[component]
pub fn ProjectsPanel() -> impl IntoView {
    let open = RwSignal::new(false);
    let create = ServerAction::<CreateProject>::new();
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
    };
    let data = Resource::new(
        move || (search(), page(), create.version().get()),
        |(s, p, _)| list_projects(s, p),
    );
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            open.set(false);
        }
    });
    let link = move |q: String, p: i64| format!("/identity/projects?q={}&page={p}", urlencode(&q));
    view! {
        <main class="page">
            <h1>"Projects"</h1>
            <div class="toolbar">
                <form class="toolbar" method="get" action="/identity/projects">
                    <input name="q" type="search" placeholder="Search by name" value=search data-test="project-search"/>
                    <button class="btn btn-secondary" type="submit">"Search"</button>
                </form>
                <span class="spacer"></span>
                <button class="btn" data-test="create-project" on:click=move |_| { create.value().set(None); open.set(true) }>"Create project"</button>
            </div>
            <Modal title="Create project" open=open>
                <ActionForm action=create attr:class="form">
                    <label>"Name" <input name="name" required maxlength="64" data-test="new-project-name"/></label>
                    <label>"Description" <input name="description" data-test="new-project-description"/></label>
                    {move || create.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert" data-test="modal-error">{reason(&e)}</p> })}
                    <div class="actions">
                        <button type="button" class="btn btn-secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                        <button type="submit" class="btn" data-test="submit-project" disabled=move || create.pending().get()>"Create"</button>
                    </div>
                </ActionForm>
            </Modal>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(p) => {
                        let pages = ((p.total + PER_PAGE - 1) / PER_PAGE).max(1);
                        let (prev, next) = (p.page > 1, p.page < pages);
                        let q = search();
                        view! {
                            <table class="table" data-test="projects-table">
                                <thead><tr><th>"Name"</th><th>"Description"</th><th>"ID"</th><th>"Status"</th></tr></thead>
                                <tbody>
                                    {p.items.into_iter().map(|row| view! {
                                        <tr data-test="project-row">
                                            <td>{row.name}</td>
                                            <td>{row.description}</td>
                                            <td><code>{row.id}</code></td>
                                            <td><StatusBadge enabled=row.enabled/></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <p class="pager" data-test="pager">
                                {format!("{} project(s) · page {} of {pages} ", p.total, p.page)}
                                <Show when=move || prev><a href=link(q.clone(), p.page - 1)>"‹ Previous"</a></Show>
                                " "
                                <Show when=move || next><a href=link(search(), p.page + 1) data-test="next-page">"Next ›"</a></Show>
                            </p>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert" data-test="panel-refused">{reason(&e)}</p> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
