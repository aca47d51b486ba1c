//! Project > Key Pairs, Admin > Hypervisors, Admin > Flavors and Admin > Quotas: the
//! compute service's other panels. Reads are server functions; every change goes
//! through `compute_do`, which calls the compute service (the same calls as the Nova
//! API), so a member is refused by the service, not by the page.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use ferrostack_types::compute::{Flavor, Host, Keypair};

use crate::error::ConsoleError;
use crate::kit::{
    val, Cell, DataTable, Dialog, Done, Field, Kind, Refused, Row, Runner, RunnerDialog,
};

/// A change the compute panels ask for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComputeOp {
    KeypairDelete {
        name: String,
    },
    HostEnable {
        id: String,
        enabled: bool,
        reason: String,
    },
    FlavorCreate {
        name: String,
        id: String,
        vcpus: String,
        ram: String,
        disk: String,
        public: bool,
    },
    FlavorDelete {
        id: String,
    },
    /// Give (`add`) or take a private flavor's access from a project.
    FlavorAccess {
        id: String,
        project: String,
        add: bool,
    },
    /// A project's limits, `resource=limit` per line (-1: unlimited).
    QuotaSet {
        project: String,
        limits: String,
    },
    QuotaReset {
        project: String,
    },
}

#[server(endpoint = "compute_do", input = Json)]
pub async fn compute_do(op: ComputeOp) -> Result<Done, ConsoleError> {
    ssr::run(op).await.map_err(crate::auth::ssr::say)
}

fn runner() -> Runner<ComputeOp> {
    Runner::new(Action::new(|op: &ComputeOp| compute_do(op.clone())))
}

#[server(endpoint = "list_keypairs")]
pub async fn list_keypairs() -> Result<Vec<Keypair>, ConsoleError> {
    let c = crate::services::services()?.compute;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    c.keypair_list(&ctx, None)
        .await
        .map_err(crate::auth::ssr::say)
}

#[server(endpoint = "list_hosts")]
pub async fn list_hosts() -> Result<Vec<Host>, ConsoleError> {
    let c = crate::services::services()?.compute;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    c.host_list(&ctx).await.map_err(crate::auth::ssr::say)
}

/// Every flavor with the projects a private one is open to (admins).
#[server(endpoint = "list_flavors")]
pub async fn list_flavors() -> Result<Vec<(Flavor, Vec<String>)>, ConsoleError> {
    let c = crate::services::services()?.compute;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    if !ctx.is_admin() {
        return Err(ConsoleError::new(403, "Admin > Flavors is for admins."));
    }
    let mut out = Vec::new();
    for f in c
        .flavor_list(&ctx, &Default::default())
        .await
        .map_err(say)?
    {
        let access = if f.is_public {
            Vec::new()
        } else {
            c.flavor_access_list(&ctx, &f.id).await.map_err(say)?
        };
        out.push((f, access));
    }
    Ok(out)
}

/// A project's compute limits and use, and the cloud's defaults: (resource, default,
/// the project's limit, in use).
#[server(endpoint = "project_quota")]
pub async fn project_quota(project: String) -> Result<Vec<(String, i64, i64, i64)>, ConsoleError> {
    let c = crate::services::services()?.compute;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    if !ctx.is_admin() {
        return Err(ConsoleError::new(403, "Admin > Quotas is for admins."));
    }
    let defaults = c.quota_defaults();
    let (limits, used) = if project.is_empty() {
        (defaults.clone(), Default::default())
    } else {
        (
            c.quota_get(&ctx, &project).await.map_err(say)?,
            c.quota_usage(&ctx, &project).await.map_err(say)?,
        )
    };
    Ok(ferrostack_compute::QUOTA_RESOURCES
        .iter()
        .filter(|r| !r.starts_with("injected_"))
        .map(|r| {
            (
                r.to_string(),
                defaults.get(r),
                limits.get(r),
                used.get(*r).copied().unwrap_or(0),
            )
        })
        .collect())
}

#[component]
pub fn KeyPairsPanel() -> impl IntoView {
    let runner = runner();
    let data = Resource::new(move || runner.changed.get(), |_| list_keypairs());
    let adding = RwSignal::new(false);
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|ks| {
                ks.into_iter()
                    .map(|k| Row {
                        id: k.name.clone(),
                        name: k.name.clone(),
                        cells: vec![
                            Cell::Text(k.name),
                            Cell::Text(k.key_type),
                            Cell::Code(k.fingerprint),
                        ],
                        actions: vec![("delete", "Delete")],
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(_k, row): (&'static str, Row)| {
        runner.open(Dialog::confirm(
            format!("Delete key pair {}?", row.name),
            "Servers that were given it keep it; new servers can no longer be.",
            "Delete key pair",
            ComputeOp::KeypairDelete { name: row.id },
        ))
    });
    view! {
        <main class="page">
            <h1>"Key Pairs"</h1>
            <RunnerDialog runner/>
            <Show when=move || adding.get()>
                <crate::instances::KeyPairForm close=Callback::new(move |_| { adding.set(false); runner.changed.update(|n| *n += 1); })/>
            </Show>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <div class="toolbar">
                    <span class="spacer"></span>
                    <button class="btn" data-test="add-keypair" on:click=move |_| adding.set(true)>"Import or create a key pair"</button>
                </div>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <DataTable test="keypairs" columns=vec!["Name", "Type", "Fingerprint"] rows on_action empty="No key pairs yet."/>
            </Transition>
        </main>
    }
}

#[component]
pub fn HypervisorsPanel() -> impl IntoView {
    let runner = runner();
    // Capacity moves with servers: re-read on server and host events.
    let live = crate::live::use_live();
    let (servers, hosts) = (live.kind("server"), live.kind("host"));
    let data = Resource::new(
        move || runner.changed.get() + servers.get() + hosts.get(),
        |_| list_hosts(),
    );
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|hs| {
                hs.into_iter()
                    .map(|h| {
                        let cap = |t: i64, r: f64| (t as f64 * r).floor() as i64;
                        let state = if h.forced_down {
                            "down (forced)".to_string()
                        } else {
                            h.state.clone()
                        };
                        Row {
                            id: h.id.clone(),
                            name: h.name.clone(),
                            cells: vec![
                                Cell::Text(h.name.clone()),
                                Cell::Text(h.availability_zone.clone()),
                                Cell::Badge(
                                    state,
                                    if h.state == "up" && !h.forced_down {
                                        "ok"
                                    } else {
                                        "bad"
                                    },
                                ),
                                Cell::Status(h.enabled),
                                Cell::Text(h.virt_type.clone()),
                                Cell::Text(format!(
                                    "{} / {}",
                                    h.vcpus_used,
                                    cap(h.vcpus, h.cpu_ratio)
                                )),
                                Cell::Text(format!(
                                    "{} / {} MiB",
                                    h.memory_mb_used,
                                    cap(h.memory_mb, h.ram_ratio)
                                )),
                                Cell::Text(format!(
                                    "{} / {} GiB",
                                    h.disk_gb_used,
                                    cap(h.disk_gb, h.disk_ratio)
                                )),
                                Cell::Text(h.running_vms.to_string()),
                            ],
                            actions: vec![if h.enabled {
                                ("disable", "Disable")
                            } else {
                                ("enable", "Enable")
                            }],
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| {
        if key == "enable" {
            runner.run(ComputeOp::HostEnable {
                id: row.id,
                enabled: true,
                reason: String::new(),
            });
        } else {
            let id = row.id.clone();
            runner.open(Dialog::form(
                format!("Disable {}", row.name),
                "Disable",
                vec![Field::text("reason", "Reason")
                    .hint("Shown to admins, and in the scheduler's refusals.")],
                move |v| ComputeOp::HostEnable {
                    id: id.clone(),
                    enabled: false,
                    reason: val(&v, "reason"),
                },
            ))
        }
    });
    view! {
        <main class="page">
            <h1>"Hypervisors"</h1>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <DataTable test="hypervisors" rows on_action empty="No hosts: add one with ferrostack host add."
                    columns=vec!["Host", "Zone", "State", "Enabled", "Accelerator", "vCPUs used", "RAM used", "Disk used", "Servers"]/>
            </Transition>
        </main>
    }
}

#[component]
pub fn FlavorsPanel() -> impl IntoView {
    let runner = runner();
    let data = Resource::new(move || runner.changed.get(), |_| list_flavors());
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|fs| {
                fs.into_iter()
                    .map(|(f, access)| {
                        let mut actions = vec![("delete", "Delete")];
                        if !f.is_public {
                            actions.insert(0, ("access", "Access"));
                        }
                        Row {
                            id: f.id.clone(),
                            name: f.name.clone(),
                            cells: vec![
                                Cell::Text(f.name.clone()),
                                Cell::Code(f.id.clone()),
                                Cell::Text(f.vcpus.to_string()),
                                Cell::Text(format!("{} MiB", f.ram)),
                                Cell::Text(format!("{} GiB", f.disk)),
                                Cell::Text(if f.is_public {
                                    "public".into()
                                } else if access.is_empty() {
                                    "private: no project".into()
                                } else {
                                    format!("private: {}", access.join(", "))
                                }),
                            ],
                            actions,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| match key {
        "access" => {
            let id = row.id.clone();
            runner.open(Dialog::form(
                format!("Access to {}", row.name),
                "Save",
                vec![
                    Field::text("project", "Project id").required(),
                    Field::new("remove", "Take access away instead", Kind::Check),
                ],
                move |v| ComputeOp::FlavorAccess {
                    id: id.clone(),
                    project: val(&v, "project"),
                    add: val(&v, "remove").is_empty(),
                },
            ))
        }
        _ => runner.open(Dialog::confirm(
            format!("Delete flavor {}?", row.name),
            "Servers of this flavor keep running with it; no new server can be given it.",
            "Delete flavor",
            ComputeOp::FlavorDelete { id: row.id },
        )),
    });
    let create = move |_| {
        runner.open(Dialog::form(
            "Create flavor",
            "Create flavor",
            vec![
                Field::text("name", "Name").required(),
                Field::text("id", "ID").hint("Leave empty for a generated one."),
                Field::text("vcpus", "vCPUs").required().value("1"),
                Field::text("ram", "RAM (MiB)").required().value("512"),
                Field::text("disk", "Root disk (GiB)").required().value("1"),
                Field::new("public", "Public", Kind::Check).checked(true),
            ],
            |v| ComputeOp::FlavorCreate {
                name: val(&v, "name"),
                id: val(&v, "id"),
                vcpus: val(&v, "vcpus"),
                ram: val(&v, "ram"),
                disk: val(&v, "disk"),
                public: !val(&v, "public").is_empty(),
            },
        ))
    };
    view! {
        <main class="page">
            <h1>"Flavors"</h1>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <div class="toolbar">
                    <span class="spacer"></span>
                    <button class="btn" data-test="create-flavor" on:click=create>"Create flavor"</button>
                </div>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <DataTable test="flavors" columns=vec!["Name", "ID", "vCPUs", "RAM", "Disk", "Access"] rows on_action empty="No flavors."/>
            </Transition>
        </main>
    }
}

#[component]
pub fn QuotasPanel() -> impl IntoView {
    let runner = runner();
    let project = RwSignal::new(String::new());
    let projects = Resource::new(|| (), |_| crate::identity::list_projects(String::new(), 1));
    let data = Resource::new(
        move || (project.get(), runner.changed.get()),
        |(p, _)| project_quota(p),
    );
    let edit = move |_| {
        let p = project.get_untracked();
        let lines = data
            .get_untracked()
            .and_then(Result::ok)
            .map(|q| {
                q.iter()
                    .map(|(r, _, l, _)| format!("{r}={l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        runner.open(Dialog::form(
            "Set the project's limits",
            "Save limits",
            vec![Field::new("limits", "Limits", Kind::Area)
                .value(lines)
                .max(4096)
                .hint("One resource=limit per line; -1 is unlimited.")],
            move |v| ComputeOp::QuotaSet {
                project: p.clone(),
                limits: val(&v, "limits"),
            },
        ))
    };
    view! {
        <main class="page">
            <h1>"Quotas"</h1>
            <RunnerDialog runner/>
            <div class="toolbar">
                <Transition fallback=|| ()>
                    {move || projects.get().map(|r| match r {
                        Err(e) => view! { <Refused e/> }.into_any(),
                        Ok(page) => view! {
                            <select data-test="quota-project" on:change=move |ev| project.set(event_target_value(&ev))>
                                <option value="">"The cloud's defaults"</option>
                                {page.items.into_iter().map(|p| view! { <option value=p.id.clone()>{p.name.clone()}</option> }).collect_view()}
                            </select>
                        }.into_any(),
                    })}
                </Transition>
                <span class="spacer"></span>
                <Show when=move || !project.get().is_empty()>
                    <button class="btn" data-test="quota-edit" on:click=edit>"Set limits"</button>
                    <button class="btn btn-secondary" data-test="quota-reset"
                        on:click=move |_| runner.run(ComputeOp::QuotaReset { project: project.get_untracked() })>"Back to the defaults"</button>
                </Show>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <Refused e/> }.into_any(),
                    Ok(q) => view! {
                        <table class="table" data-test="quota-table">
                            <thead><tr><th>"Resource"</th><th>"Default"</th><th>"Limit"</th><th>"In use"</th></tr></thead>
                            <tbody>
                                {q.into_iter().map(|(r, d, l, u)| view! {
                                    <tr data-test="quota-row" data-name=r.clone()>
                                        <td>{r.clone()}</td><td>{d.to_string()}</td>
                                        <td data-test="quota-limit">{if l < 0 { "unlimited".to_string() } else { l.to_string() }}</td>
                                        <td>{u.to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::BTreeMap;

    use ferrostack_core::{Error, Result};

    use super::ComputeOp;
    use crate::kit::Done;

    fn whole(label: &str, s: &str) -> Result<i64> {
        s.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| Error::bad_request(format!("{label} is a whole number, 0 or more.")))
    }

    pub async fn run(op: ComputeOp) -> Result<Done> {
        let c = crate::services::services()
            .map_err(|e| Error::internal(e.message))?
            .compute;
        let (_, ctx, _) = crate::auth::ssr::caller()
            .await
            .map_err(|e| Error::Unauthenticated(crate::auth::reason(&e)))?;
        match op {
            ComputeOp::KeypairDelete { name } => {
                c.keypair_delete(&ctx, &name, None).await?;
                Ok(Done::say(format!("Key pair {name} deleted.")))
            }
            ComputeOp::HostEnable {
                id,
                enabled,
                reason,
            } => {
                let h = c
                    .host_set_enabled(
                        &ctx,
                        &id,
                        enabled,
                        (!reason.trim().is_empty()).then(|| reason.trim().to_string()),
                    )
                    .await?;
                Ok(Done::say(format!(
                    "{} {}.",
                    h.name,
                    if enabled {
                        "enabled"
                    } else {
                        "disabled: nothing new is placed on it"
                    }
                )))
            }
            ComputeOp::FlavorCreate {
                name,
                id,
                vcpus,
                ram,
                disk,
                public,
            } => {
                let f = c
                    .flavor_create(
                        &ctx,
                        ferrostack_compute::NewFlavor {
                            id: (!id.trim().is_empty()).then(|| id.trim().to_string()),
                            name: name.trim().to_string(),
                            vcpus: whole("vCPUs", &vcpus)?,
                            ram: whole("RAM", &ram)?,
                            disk: whole("Disk", &disk)?,
                            rxtx_factor: 1.0,
                            is_public: public,
                            ..Default::default()
                        },
                    )
                    .await?;
                Ok(Done::say(format!("Flavor {} created.", f.name)))
            }
            ComputeOp::FlavorDelete { id } => {
                c.flavor_delete(&ctx, &id).await?;
                Ok(Done::say("Flavor deleted."))
            }
            ComputeOp::FlavorAccess { id, project, add } => {
                if add {
                    c.flavor_access_add(&ctx, &id, project.trim()).await?;
                    Ok(Done::say(format!(
                        "Project {} may now use the flavor.",
                        project.trim()
                    )))
                } else {
                    c.flavor_access_remove(&ctx, &id, project.trim()).await?;
                    Ok(Done::say(format!(
                        "Project {} may no longer use the flavor.",
                        project.trim()
                    )))
                }
            }
            ComputeOp::QuotaSet { project, limits } => {
                let mut set = BTreeMap::new();
                for (n, line) in limits.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() {
                        continue;
                    }
                    let (k, v) = line.split_once('=').ok_or_else(|| {
                        Error::bad_request(format!(
                            "Line {} ({line:?}) needs the form resource=limit.",
                            n + 1
                        ))
                    })?;
                    let v: i64 = v.trim().parse().map_err(|_| {
                        Error::bad_request(format!(
                            "The limit of {} is a whole number (-1: unlimited).",
                            k.trim()
                        ))
                    })?;
                    set.insert(k.trim().to_string(), v);
                }
                c.quota_update(&ctx, &project, set, false).await?;
                Ok(Done::say("Limits saved."))
            }
            ComputeOp::QuotaReset { project } => {
                c.quota_delete(&ctx, &project).await?;
                Ok(Done::say("The project is back on the cloud's defaults."))
            }
        }
    }
}
