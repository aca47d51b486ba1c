//! Identity > Users (admins): every user; create (with a primary project and a role
//! there, as Horizon's dialog has it), edit, enable/disable, set password, delete.

use leptos::prelude::*;

use crate::identity::{identity_choices, list_users, runner, with_none, Op};
use crate::kit::{val, Cell, DataTable, Dialog, Field, Kind, Refused, Row, RunnerDialog};

fn password_fields() -> Vec<Field> {
    vec![
        Field::new("password", "Password", Kind::Password)
            .required()
            .max(ferrostack_types::identity::limits::PASSWORD_MAX),
        Field::new("confirm", "Confirm password", Kind::Confirm("password"))
            .required()
            .max(ferrostack_types::identity::limits::PASSWORD_MAX),
    ]
}

#[component]
pub fn UsersPanel() -> impl IntoView {
    let runner = runner();
    let users = Resource::new(move || runner.changed.get(), |_| list_users());
    let choices = Resource::new(|| (), |_| identity_choices());
    let rows = Signal::derive(move || {
        users
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|u| Row {
                cells: vec![
                    Cell::Text(u.name.clone()),
                    Cell::Text(u.email.unwrap_or_default()),
                    Cell::Code(u.id.clone()),
                    Cell::Status(u.enabled),
                ],
                actions: vec![
                    ("edit", "Edit"),
                    ("password", "Set password"),
                    if u.enabled {
                        ("disable", "Disable")
                    } else {
                        ("enable", "Enable")
                    },
                    ("delete", "Delete"),
                ],
                id: u.id,
                name: u.name,
            })
            .collect::<Vec<_>>()
    });
    let chosen = move || {
        choices
            .get_untracked()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| {
        let id = row.id.clone();
        match key {
            "edit" => {
                let Some(u) = users
                    .get_untracked()
                    .and_then(Result::ok)
                    .and_then(|l| l.into_iter().find(|u| u.id == row.id))
                else {
                    return;
                };
                let fields = vec![
                    Field::text("name", "User name").required().max(ferrostack_types::identity::limits::USER_NAME_MAX).value(u.name.clone()),
                    Field::new("email", "Email", Kind::Email).value(u.email.unwrap_or_default()),
                    Field::new("description", "Description", Kind::Area).max(ferrostack_types::identity::limits::DESCRIPTION_MAX).value(u.description.unwrap_or_default()),
                    Field::new("project", "Primary project", Kind::Select)
                        .options(with_none(chosen().projects, "— none —"))
                        .value(u.default_project_id.unwrap_or_default()),
                ];
                runner.open(Dialog::form(format!("Edit user {}", u.name), "Save", fields, move |v| {
                    Op::UserUpdate {
                        id: id.clone(),
                        name: val(&v, "name"),
                        email: val(&v, "email"),
                        description: val(&v, "description"),
                        project_id: val(&v, "project"),
                    }
                }))
            }
            "password" => runner.open(Dialog::form(
                format!("Set password for {}", row.name),
                "Set password",
                password_fields(),
                move |v| Op::UserSetPassword { id: id.clone(), password: val(&v, "password") },
            )),
            "enable" | "disable" => runner.run(Op::UserEnable { id, enabled: key == "enable" }),
            _ => runner.open(Dialog::confirm(
                format!("Delete user {}?", row.name),
                "The user, its group memberships, role assignments and application credentials are deleted; its tokens stop working. This cannot be undone.",
                "Delete user",
                Op::UserDelete { id },
            )),
        }
    });
    let create = move |_| {
        let c = chosen();
        let member = c
            .roles
            .iter()
            .find(|r| r.1 == "member")
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let mut fields = vec![
            Field::text("name", "User name")
                .required()
                .max(ferrostack_types::identity::limits::USER_NAME_MAX),
            Field::new("email", "Email", Kind::Email),
        ];
        fields.extend(password_fields());
        fields.push(
            Field::new("project", "Primary project", Kind::Select)
                .required()
                .options(c.projects),
        );
        fields.push(
            Field::new("role", "Role", Kind::Select)
                .required()
                .options(c.roles)
                .value(member),
        );
        runner.open(Dialog::form("Create user", "Create", fields, |v| {
            Op::UserCreate {
                name: val(&v, "name"),
                email: val(&v, "email"),
                password: val(&v, "password"),
                project_id: val(&v, "project"),
                role_id: val(&v, "role"),
            }
        }))
    };
    view! {
        <main class="page">
            <h1>"Users"</h1>
            <div class="toolbar">
                <span class="spacer"></span>
                <button class="btn" data-test="create-user" on:click=create>"Create user"</button>
            </div>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || users.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <Show when=move || matches!(users.get(), Some(Ok(_)))>
                    <DataTable test="users" columns=vec!["Name", "Email", "ID", "Status"] rows on_action/>
                </Show>
            </Transition>
        </main>
    }
}
