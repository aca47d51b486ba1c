//! Identity > Projects (admins): every project, searchable, a page at a time; create,
//! edit, enable/disable, delete, and manage who holds which role there.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::identity::{list_projects, runner, Op};
use crate::identity_members::{MembersDialog, Of};
use crate::kit::{
    urlencode, val, Cell, DataTable, Dialog, Field, Kind, Refused, Row, RunnerDialog,
};

fn project_fields(name: &str, description: &str, enabled: Option<bool>) -> Vec<Field> {
    let mut f = vec![
        Field::text("name", "Name")
            .required()
            .max(ferrostack_types::identity::limits::NAME_MAX)
            .value(name),
        Field::new("description", "Description", Kind::Area)
            .max(ferrostack_types::identity::limits::DESCRIPTION_MAX)
            .value(description),
    ];
    if let Some(on) = enabled {
        f.push(Field::new("enabled", "Enabled", Kind::Check).checked(on));
    }
    f
}

#[component]
pub fn ProjectsPanel() -> impl IntoView {
    let runner = runner();
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
        move || (search(), page(), runner.changed.get()),
        |(s, p, _)| list_projects(s, p),
    );
    let members_of = RwSignal::new(None::<(String, String)>);
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|p| {
                p.items
                    .into_iter()
                    .map(|p| Row {
                        cells: vec![
                            Cell::Text(p.name.clone()),
                            Cell::Text(p.description),
                            Cell::Code(p.id.clone()),
                            Cell::Status(p.enabled),
                        ],
                        actions: vec![
                            ("edit", "Edit"),
                            ("members", "Members"),
                            if p.enabled {
                                ("disable", "Disable")
                            } else {
                                ("enable", "Enable")
                            },
                            ("delete", "Delete"),
                        ],
                        id: p.id,
                        name: p.name,
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| {
        let id = row.id.clone();
        match key {
            "edit" => {
                let (desc, on) = match (&row.cells[1], &row.cells[3]) {
                    (Cell::Text(d), Cell::Status(on)) => (d.clone(), *on),
                    _ => (String::new(), true),
                };
                runner.open(Dialog::form(
                    format!("Edit project {}", row.name),
                    "Save",
                    project_fields(&row.name, &desc, Some(on)),
                    move |v| Op::ProjectUpdate {
                        id: id.clone(),
                        name: val(&v, "name"),
                        description: val(&v, "description"),
                        enabled: !val(&v, "enabled").is_empty(),
                    },
                ))
            }
            "members" => members_of.set(Some((row.id, row.name))),
            "enable" | "disable" => runner.run(Op::ProjectEnable { id, enabled: key == "enable" }),
            _ => runner.open(Dialog::confirm(
                format!("Delete project {}?", row.name),
                "The project and the role assignments on it are deleted; tokens scoped to it stop working. This cannot be undone.",
                "Delete project",
                Op::ProjectDelete { id },
            )),
        }
    });
    let create = move |_| {
        runner.open(Dialog::form(
            "Create project",
            "Create",
            project_fields("", "", None),
            |v| Op::ProjectCreate {
                name: val(&v, "name"),
                description: val(&v, "description"),
            },
        ))
    };
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
                <button class="btn" data-test="create-project" on:click=create>"Create project"</button>
            </div>
            <RunnerDialog runner/>
            {move || members_of.get().map(|p| view! { <MembersDialog of=Of::Project target=p runner close=Callback::new(move |_| members_of.set(None))/> })}
            // The table is built once and follows `rows`: when a row changes, only that
            // row is redrawn; the page, the other rows and the scroll position stay.
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <Show when=move || matches!(data.get(), Some(Ok(_)))>
                    <DataTable test="projects" columns=vec!["Name", "Description", "ID", "Status"] rows on_action
                        empty="No projects match."/>
                </Show>
                {move || data.get().and_then(Result::ok).map(|p| {
                    let pages = ((p.total + p.per_page - 1) / p.per_page).max(1);
                    let (prev, next) = (p.page > 1, p.page < pages);
                    let q = search();
                    view! {
                        <p class="pager" data-test="pager">
                            {format!("{} project(s) · page {} of {pages} ", p.total, p.page)}
                            <Show when=move || prev><a href=link(q.clone(), p.page - 1)>"‹ Previous"</a></Show>
                            " "
                            <Show when=move || next><a href=link(search(), p.page + 1) data-test="next-page">"Next ›"</a></Show>
                        </p>
                    }
                })}
            </Transition>
        </main>
    }
}
