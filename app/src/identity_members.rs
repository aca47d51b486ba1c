//! The members dialog that Identity > Projects (users and their roles there) and
//! Identity > Groups (users in the group) share: a table of who is in, with Remove, and
//! a form to add someone.

use leptos::prelude::*;

use crate::error::ConsoleError;

use crate::identity::{group_members, identity_choices, project_members, Member, Op};
use crate::kit::{Cell, DataTable, Refused, Row, Runner};

/// Whose members the dialog manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Of {
    /// Users holding roles on a project (a row per user and role).
    Project,
    /// Users in a group.
    Group,
}

/// The members as (user id, user name, role id, role name); a group's have no role.
async fn members_of(of: Of, id: String) -> Result<Vec<Member>, ConsoleError> {
    Ok(match of {
        Of::Project => project_members(id).await?,
        Of::Group => group_members(id)
            .await?
            .into_iter()
            .map(|(uid, name)| (uid, name, String::new(), String::new()))
            .collect(),
    })
}

fn member_row(of: Of, (uid, uname, rid, rname): Member) -> Row {
    let (id, cells) = match of {
        Of::Project => (
            format!("{uid}/{rid}"),
            vec![Cell::Text(uname.clone()), Cell::Text(rname)],
        ),
        Of::Group => (uid, vec![Cell::Text(uname.clone())]),
    };
    Row {
        id,
        name: uname,
        cells,
        actions: vec![("remove", "Remove")],
    }
}

#[component]
pub fn MembersDialog(
    of: Of,
    /// (id, name) of the project or group.
    target: (String, String),
    runner: Runner<Op>,
    close: Callback<()>,
) -> impl IntoView {
    let (id, name) = target;
    let id = StoredValue::new(id);
    let members = Resource::new(
        move || runner.changed.get(),
        move |_| members_of(of, id.get_value()),
    );
    let choices = Resource::new(|| (), |_| identity_choices());
    let user = RwSignal::new(String::new());
    let role = RwSignal::new(String::new());
    let rows = Signal::derive(move || {
        let list = members.get().and_then(Result::ok).unwrap_or_default();
        list.into_iter()
            .map(|m| member_row(of, m))
            .collect::<Vec<_>>()
    });
    let on_action = Callback::new(move |(_, row): (&'static str, Row)| {
        let target = id.get_value();
        runner.run(match of {
            Of::Project => {
                let (u, r) = row.id.split_once('/').unwrap_or((row.id.as_str(), ""));
                Op::MemberRevoke {
                    project_id: target,
                    user_id: u.into(),
                    role_id: r.into(),
                }
            }
            Of::Group => Op::GroupRemoveUser {
                group_id: target,
                user_id: row.id,
            },
        })
    });
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (target, user_id) = (id.get_value(), user.get_untracked());
        runner.run(match of {
            Of::Project => Op::MemberGrant {
                project_id: target,
                user_id,
                role_id: role.get_untracked(),
            },
            Of::Group => Op::GroupAddUser {
                group_id: target,
                user_id,
            },
        });
    };
    let (columns, empty, add_label) = match of {
        Of::Project => (
            vec!["User", "Role"],
            "Nobody holds a role here yet.",
            "Grant role",
        ),
        Of::Group => (vec!["User"], "No members yet.", "Add to group"),
    };
    view! {
        <div class="modal-backdrop" on:click=move |_| close.run(())></div>
        <div class="modal wide" role="dialog" aria-modal="true" aria-label="Members" data-test="members-modal">
            <h2>{format!("Members of {name}")}</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || members.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <DataTable test="members" columns rows on_action empty/>
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
                    let admin_id = c.roles.iter().find(|r| r.1 == "admin").map(|r| r.0.clone());
                    let roles = (of == Of::Project).then(|| view! {
                        <select aria-label="Role" data-test="member-role" prop:value=move || role.get() on:change=move |ev| role.set(event_target_value(&ev))>
                            {c.roles.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
                        </select>
                    });
                    view! {
                        <form class="toolbar add-row" on:submit=add>
                            <select aria-label="User" data-test="member-user" prop:value=move || user.get() on:change=move |ev| user.set(event_target_value(&ev))>
                                {c.users.into_iter().map(|(id, n)| view! { <option value=id>{n}</option> }).collect_view()}
                            </select>
                            {roles}
                            <button class="btn" type="submit" data-test="member-add" disabled=move || runner.action.pending().get()>{add_label}</button>
                        </form>
                        <Show when=move || admin_id.is_some() && admin_id.as_deref() == Some(role.get().as_str())>
                            <p class="error" role="note" data-test="admin-role-warning">
                                "Careful: the admin role on any project makes its holder an administrator of the whole cloud — every project, user and image — as in OpenStack. To run a project, grant member (or reader to look only)."
                            </p>
                        </Show>
                    }
                })}
            </Suspense>
            <div class="actions">
                <button class="btn btn-secondary" data-test="members-close" on:click=move |_| close.run(())>"Done"</button>
            </div>
        </div>
    }
}
