//! Identity > Projects (admins): every project, searchable, a page at a time; create,
//! edit, enable/disable, delete, and manage who holds which role there.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::identity::{identity_choices, list_projects, project_members, runner, Op};
use crate::kit::{
    urlencode, val, Cell, DataTable, Dialog, Field, Kind, Refused, Row, Runner, RunnerDialog,
};

fn project_fields(name: &str, description: &str, enabled: Option<bool>) -> Vec<Field> {
    let mut f = vec![
        Field::text("name", "Name").required().max(64).value(name),
        Field::new("description", "Description", Kind::Area)
            .max(65_535)
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
            {move || members_of.get().map(|p| view! { <ProjectMembers project=p runner close=move || members_of.set(None)/> })}
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

/// Who holds which role on a project; grant and revoke.
#[component]
fn ProjectMembers(
    project: (String, String),
    runner: Runner<Op>,
    close: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let (pid, pname) = project;
    let p2 = pid.clone();
    let members = Resource::new(
        move || runner.changed.get(),
        move |_| project_members(p2.clone()),
    );
    let choices = Resource::new(|| (), |_| identity_choices());
    let user = RwSignal::new(String::new());
    let role = RwSignal::new(String::new());
    let pid_rows = pid.clone();
    let rows = Signal::derive(move || {
        members
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|(uid, uname, rid, rname)| Row {
                id: format!("{uid}/{rid}"),
                name: uname.clone(),
                cells: vec![Cell::Text(uname), Cell::Text(rname)],
                actions: vec![("remove", "Remove")],
            })
            .collect::<Vec<_>>()
    });
    let on_action = Callback::new(move |(_, row): (&'static str, Row)| {
        if let Some((u, r)) = row.id.split_once('/') {
            runner.run(Op::MemberRevoke {
                project_id: pid_rows.clone(),
                user_id: u.into(),
                role_id: r.into(),
            });
        }
    });
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        runner.run(Op::MemberGrant {
            project_id: pid.clone(),
            user_id: user.get_untracked(),
            role_id: role.get_untracked(),
        });
    };
    let close2 = close.clone();
    view! {
        <div class="modal-backdrop" on:click=move |_| close()></div>
        <div class="modal wide" role="dialog" aria-modal="true" aria-label="Project members" data-test="members-modal">
            <h2>{format!("Members of {pname}")}</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || members.get().map(|r| r.err().map(|e| view! { <Refused e/> }))}
                <DataTable test="members" columns=vec!["User", "Role"] rows on_action empty="Nobody holds a role here yet."/>
            </Transition>
            <Suspense fallback=|| ()>
                {move || choices.get().and_then(Result::ok).map(|c| {
                    // Preselect the first user and the member role.
                    if user.get_untracked().is_empty() {
                        user.update_untracked(|u| *u = c.users.first().map(|u| u.0.clone()).unwrap_or_default());
                    }
                    if role.get_untracked().is_empty() {
                        let member = c.roles.iter().find(|r| r.1 == "member").or(c.roles.first());
                        role.update_untracked(|r| *r = member.map(|r| r.0.clone()).unwrap_or_default());
                    }
                    let (users, roles) = (c.users, c.roles);
                    view! {
                        <form class="toolbar add-row" on:submit=add.clone()>
                            <select aria-label="User" data-test="member-user" prop:value=move || user.get() on:change=move |ev| user.set(event_target_value(&ev))>
                                {users.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
                            </select>
                            <select aria-label="Role" data-test="member-role" prop:value=move || role.get() on:change=move |ev| role.set(event_target_value(&ev))>
                                {roles.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
                            </select>
                            <button class="btn" type="submit" data-test="member-add" disabled=move || runner.action.pending().get()>"Grant role"</button>
                        </form>
                    }
                })}
            </Suspense>
            <div class="actions">
                <button class="btn btn-secondary" data-test="members-close" on:click=move |_| close2()>"Done"</button>
            </div>
        </div>
    }
}
