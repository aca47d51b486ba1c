//! Identity > Groups and Identity > Roles (admins): list, create, edit, delete; a
//! group's membership.

use leptos::prelude::*;

use crate::identity::{group_members, identity_choices, list_groups, list_roles, runner, Op};
use crate::kit::{val, Cell, DataTable, Dialog, Field, Kind, Refused, Row, Runner, RunnerDialog};

fn named_fields(name: &str, description: &str, max: usize) -> Vec<Field> {
    vec![
        Field::text("name", "Name").required().max(max).value(name),
        Field::new("description", "Description", Kind::Area)
            .max(65_535)
            .value(description),
    ]
}

/// (id, name, description) rows with Edit and Delete, as groups and roles both have.
fn named_rows(
    list: Vec<(String, String, String)>,
    extra: Option<(&'static str, &'static str)>,
) -> Vec<Row> {
    list.into_iter()
        .map(|(id, name, description)| Row {
            cells: vec![
                Cell::Text(name.clone()),
                Cell::Text(description),
                Cell::Code(id.clone()),
            ],
            actions: extra
                .into_iter()
                .chain([("edit", "Edit"), ("delete", "Delete")])
                .collect(),
            id,
            name,
        })
        .collect()
}

fn description_of(row: &Row) -> String {
    match row.cells.get(1) {
        Some(Cell::Text(d)) => d.clone(),
        _ => String::new(),
    }
}

#[component]
pub fn GroupsPanel() -> impl IntoView {
    let runner = runner();
    let groups = Resource::new(move || runner.changed.get(), |_| list_groups());
    let members_of = RwSignal::new(None::<(String, String)>);
    let rows = Signal::derive(move || {
        let list = groups.get().and_then(Result::ok).unwrap_or_default();
        named_rows(
            list.into_iter()
                .map(|g| (g.id, g.name, g.description))
                .collect(),
            Some(("members", "Members")),
        )
    });
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| {
        let id = row.id.clone();
        match key {
            "members" => members_of.set(Some((row.id, row.name))),
            "edit" => runner.open(Dialog::form(
                format!("Edit group {}", row.name),
                "Save",
                named_fields(&row.name, &description_of(&row), 64),
                move |v| Op::GroupUpdate { id: id.clone(), name: val(&v, "name"), description: val(&v, "description") },
            )),
            _ => runner.open(Dialog::confirm(
                format!("Delete group {}?", row.name),
                "Members lose the roles they held through this group; their tokens carrying those roles stop working.",
                "Delete group",
                Op::GroupDelete { id },
            )),
        }
    });
    let create = move |_| {
        runner.open(Dialog::form(
            "Create group",
            "Create",
            named_fields("", "", 64),
            |v| Op::GroupCreate {
                name: val(&v, "name"),
                description: val(&v, "description"),
            },
        ))
    };
    view! {
        <main class="page">
            <h1>"Groups"</h1>
            <div class="toolbar">
                <span class="spacer"></span>
                <button class="btn" data-test="create-group" on:click=create>"Create group"</button>
            </div>
            <RunnerDialog runner/>
            {move || members_of.get().map(|g| view! { <GroupMembers group=g runner close=move || members_of.set(None)/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || groups.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <Show when=move || matches!(groups.get(), Some(Ok(_)))>
                    <DataTable test="groups" columns=vec!["Name", "Description", "ID"] rows on_action empty="No groups yet."/>
                </Show>
            </Transition>
        </main>
    }
}

#[component]
fn GroupMembers(
    group: (String, String),
    runner: Runner<Op>,
    close: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let (gid, gname) = group;
    let g2 = gid.clone();
    let members = Resource::new(
        move || runner.changed.get(),
        move |_| group_members(g2.clone()),
    );
    let choices = Resource::new(|| (), |_| identity_choices());
    let user = RwSignal::new(String::new());
    let g_rows = gid.clone();
    let rows = Signal::derive(move || {
        members
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|(id, name)| Row {
                cells: vec![Cell::Text(name.clone())],
                actions: vec![("remove", "Remove")],
                id,
                name,
            })
            .collect::<Vec<_>>()
    });
    let on_action = Callback::new(move |(_, row): (&'static str, Row)| {
        runner.run(Op::GroupRemoveUser {
            group_id: g_rows.clone(),
            user_id: row.id,
        })
    });
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        runner.run(Op::GroupAddUser {
            group_id: gid.clone(),
            user_id: user.get_untracked(),
        });
    };
    let close2 = close.clone();
    view! {
        <div class="modal-backdrop" on:click=move |_| close()></div>
        <div class="modal" role="dialog" aria-modal="true" aria-label="Group members" data-test="members-modal">
            <h2>{format!("Members of {gname}")}</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || members.get().map(|r| r.err().map(|e| view! { <Refused e/> }))}
                <DataTable test="members" columns=vec!["User"] rows on_action empty="No members yet."/>
            </Transition>
            <Suspense fallback=|| ()>
                {move || choices.get().and_then(Result::ok).map(|c| {
                    if user.get_untracked().is_empty() {
                        user.update_untracked(|u| *u = c.users.first().map(|u| u.0.clone()).unwrap_or_default());
                    }
                    view! {
                        <form class="toolbar add-row" on:submit=add.clone()>
                            <select aria-label="User" data-test="member-user" prop:value=move || user.get() on:change=move |ev| user.set(event_target_value(&ev))>
                                {c.users.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
                            </select>
                            <button class="btn" type="submit" data-test="member-add" disabled=move || runner.action.pending().get()>"Add to group"</button>
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

#[component]
pub fn RolesPanel() -> impl IntoView {
    let runner = runner();
    let roles = Resource::new(move || runner.changed.get(), |_| list_roles());
    let rows = Signal::derive(move || {
        let list = roles.get().and_then(Result::ok).unwrap_or_default();
        named_rows(
            list.into_iter()
                .map(|r| (r.id, r.name, r.description))
                .collect(),
            None,
        )
    });
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| {
        let id = row.id.clone();
        match key {
            "edit" => runner.open(Dialog::form(
                format!("Edit role {}", row.name),
                "Save",
                named_fields(&row.name, &description_of(&row), 255),
                move |v| Op::RoleUpdate {
                    id: id.clone(),
                    name: val(&v, "name"),
                    description: val(&v, "description"),
                },
            )),
            _ => runner.open(Dialog::confirm(
                format!("Delete role {}?", row.name),
                "Every assignment of this role ends, and tokens carrying it stop working.",
                "Delete role",
                Op::RoleDelete { id },
            )),
        }
    });
    let create = move |_| {
        runner.open(Dialog::form(
            "Create role",
            "Create",
            named_fields("", "", 255),
            |v| Op::RoleCreate {
                name: val(&v, "name"),
                description: val(&v, "description"),
            },
        ))
    };
    view! {
        <main class="page">
            <h1>"Roles"</h1>
            <div class="toolbar">
                <span class="spacer"></span>
                <button class="btn" data-test="create-role" on:click=create>"Create role"</button>
            </div>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || roles.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <Show when=move || matches!(roles.get(), Some(Ok(_)))>
                    <DataTable test="roles" columns=vec!["Name", "Description", "ID"] rows on_action/>
                </Show>
            </Transition>
        </main>
    }
}
