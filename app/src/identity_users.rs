//! Identity > Users (admins): every user, and Create User with a primary project and a
//! role there, as Horizon's dialog has it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::reason;
use crate::modal::Modal;
use crate::status::StatusBadge;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub enabled: bool,
}

/// What the Create User form offers to choose from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserForm {
    pub projects: Vec<(String, String)>,
    pub roles: Vec<(String, String)>,
}

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserRow>, ServerFnError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let users = id
        .user_list(&ctx, Default::default())
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(users
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            name: u.name,
            email: u.email.unwrap_or_default(),
            enabled: u.enabled,
        })
        .collect())
}

#[server(endpoint = "user_form_choices")]
pub async fn user_form_choices() -> Result<UserForm, ServerFnError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let (projects, _) = id
        .project_page(&ctx, "", 0, 200)
        .await
        .map_err(crate::auth::ssr::say)?;
    let roles = id
        .role_list(&ctx, None)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(UserForm {
        projects: projects.into_iter().map(|p| (p.id, p.name)).collect(),
        roles: roles.into_iter().map(|r| (r.id, r.name)).collect(),
    })
}

#[server(endpoint = "create_user")]
pub async fn create_user(
    name: String,
    email: String,
    password: String,
    project_id: String,
    role_id: String,
) -> Result<UserRow, ServerFnError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let new = ferrostack_identity::NewUser {
        name,
        email: (!email.trim().is_empty()).then_some(email),
        password: Some(password),
        enabled: true,
        ..Default::default()
    };
    let u = id
        .user_create_in_project(&ctx, new, &project_id, &role_id)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(UserRow {
        id: u.id,
        name: u.name,
        email: u.email.unwrap_or_default(),
        enabled: u.enabled,
    })
}

#[component]
pub fn UsersPanel() -> impl IntoView {
    let open = RwSignal::new(false);
    let create = ServerAction::<CreateUser>::new();
    let users = Resource::new(move || create.version().get(), |_| list_users());
    let choices = Resource::new(|| (), |_| user_form_choices());
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            open.set(false);
        }
    });
    view! {
        <main class="page">
            <h1>"Users"</h1>
            <div class="toolbar">
                <span class="spacer"></span>
                <button class="btn" data-test="create-user" on:click=move |_| { create.value().set(None); open.set(true) }>"Create user"</button>
            </div>
            <Modal title="Create user" open=open>
                <ActionForm action=create attr:class="form">
                    <label>"User name" <input name="name" required maxlength="255" data-test="new-user-name"/></label>
                    <label>"Email" <input name="email" type="email" data-test="new-user-email"/></label>
                    <label>"Password" <input name="password" type="password" required data-test="new-user-password"/></label>
                    <Suspense fallback=|| ()>
                        {move || choices.get().map(|r| match r {
                            Ok(c) => view! {
                                <label>"Primary project"
                                    <select name="project_id" required data-test="new-user-project">
                                        {c.projects.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Role"
                                    <select name="role_id" required data-test="new-user-role">
                                        {c.roles.into_iter().map(|(id, name)| {
                                            let member = name == "member";
                                            view! { <option value=id selected=member>{name}</option> }
                                        }).collect_view()}
                                    </select>
                                </label>
                            }.into_any(),
                            Err(e) => view! { <p class="error">{reason(&e)}</p> }.into_any(),
                        })}
                    </Suspense>
                    {move || create.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert" data-test="modal-error">{reason(&e)}</p> })}
                    <div class="actions">
                        <button type="button" class="btn btn-secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                        <button type="submit" class="btn" data-test="submit-user" disabled=move || create.pending().get()>"Create"</button>
                    </div>
                </ActionForm>
            </Modal>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || users.get().map(|r| match r {
                    Ok(list) => view! {
                        <table class="table" data-test="users-table">
                            <thead><tr><th>"Name"</th><th>"Email"</th><th>"ID"</th><th>"Status"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|u| view! {
                                    <tr data-test="user-row">
                                        <td>{u.name}</td><td>{u.email}</td><td><code>{u.id}</code></td>
                                        <td><StatusBadge enabled=u.enabled/></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert" data-test="panel-refused">{reason(&e)}</p> }.into_any(),
                })}
            </Transition>
        </main>
    }
}
