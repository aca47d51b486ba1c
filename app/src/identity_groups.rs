//! Identity > Groups and Identity > Roles (admins): list, create, edit, delete; a
//! group's membership.

use leptos::prelude::*;

use crate::identity::{list_groups, list_roles, runner, Op};
use crate::identity_members::{MembersDialog, Of};
use crate::kit::{val, Cell, DataTable, Dialog, Field, Kind, Refused, Row, RunnerDialog};

fn named_fields(name: &str, description: &str, max: usize) -> Vec<Field> {
    vec![
        Field::text("name", "Name").required().max(max).value(name),
        Field::new("description", "Description", Kind::Area)
            .max(ferrostack_types::identity::limits::DESCRIPTION_MAX)
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
                named_fields(&row.name, &description_of(&row), ferrostack_types::identity::limits::NAME_MAX),
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
            named_fields("", "", ferrostack_types::identity::limits::NAME_MAX),
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
            {move || members_of.get().map(|g| view! { <MembersDialog of=Of::Group target=g runner close=Callback::new(move |_| members_of.set(None))/> })}
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
                named_fields(
                    &row.name,
                    &description_of(&row),
                    ferrostack_types::identity::limits::ROLE_NAME_MAX,
                ),
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
            named_fields("", "", ferrostack_types::identity::limits::ROLE_NAME_MAX),
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
