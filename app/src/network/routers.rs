//! Project > Routers: the project's routers with their gateway and interfaces, and a
//! router's page, where subnets are added as interfaces and removed. The service says
//! when a router is kept but not wired (no external bridge configured), and why it
//! refuses (a subnet twice, overlapping subnets, an interface a floating IP needs).

use super::prelude::*;

fn with_none(list: &[(String, String)], none: &str) -> Vec<(String, String)> {
    std::iter::once((String::new(), none.to_string()))
        .chain(list.iter().cloned())
        .collect()
}

#[component]
pub fn RoutersPanel() -> impl IntoView {
    let runner = runner();
    let live = crate::live::use_live();
    let (r, p) = (live.kind("router"), live.kind("port"));
    let data = Resource::new(
        move || runner.changed.get() + r.get() + p.get(),
        |_| list_routers(),
    );
    let externals = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| d.externals)
            .unwrap_or_default()
    });
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| {
                let name_of = |id: &str| {
                    d.names
                        .iter()
                        .find(|(i, _)| i == id)
                        .map(|(_, n)| n.clone())
                        .unwrap_or_else(|| id.to_string())
                };
                d.routers
                    .iter()
                    .map(|r| {
                        let gw = r
                            .external_gateway_info
                            .as_ref()
                            .map(|g| {
                                let ips: Vec<_> = g
                                    .external_fixed_ips
                                    .iter()
                                    .map(|f| f.ip_address.clone())
                                    .collect();
                                format!("{} ({})", name_of(&g.network_id), ips.join(", "))
                            })
                            .unwrap_or_else(|| "—".into());
                        let mut actions = Vec::new();
                        if d.can_create {
                            actions.push(("gateway", "Set gateway"));
                            if r.external_gateway_info.is_some() {
                                actions.push(("clear-gateway", "Clear gateway"));
                            }
                            actions.push(("delete", "Delete"));
                        }
                        Row {
                            id: r.id.clone(),
                            name: label(&r.name, &r.id),
                            cells: vec![
                                Cell::Link(
                                    label(&r.name, &r.id),
                                    format!("/project/routers/{}", r.id),
                                ),
                                status_badge(&r.status),
                                Cell::Text(gw),
                                Cell::Text(r.interfaces.len().to_string()),
                                Cell::Text(r.note.clone().unwrap_or_default()),
                            ],
                            actions,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| match key {
        "gateway" => gateway_dialog(runner, row.id, row.name, externals.get_untracked()),
        "clear-gateway" => runner.open(Dialog::confirm(
            format!("Clear the gateway of {}?", row.name),
            "Its networks lose their way out (SNAT). Refused while a floating IP uses it.",
            "Clear gateway",
            NetOp::RouterGateway {
                id: row.id,
                external: String::new(),
            },
        )),
        _ => runner.open(Dialog::confirm(
            format!("Delete router {}?", row.name),
            "A router that still has interfaces is refused: remove them first.",
            "Delete router",
            NetOp::RouterDelete { id: row.id },
        )),
    });
    let create = move |_| {
        let ext = externals.get_untracked();
        runner.open(Dialog::form(
            "Create router",
            "Create router",
            vec![
                Field::text("name", "Router name").required(),
                Field::new("external", "External network", Kind::Select)
                    .options(with_none(&ext, "No gateway")),
            ],
            |v| NetOp::RouterCreate {
                name: val(&v, "name"),
                external: val(&v, "external"),
            },
        ))
    };
    view! {
        <main class="page">
            <h1>"Routers"</h1>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <div class="toolbar">
                    <span class="spacer"></span>
                    <Show when=move || data.get().and_then(Result::ok).is_some_and(|d| d.can_create)>
                        <button class="btn" data-test="create-router" on:click=create>"Create router"</button>
                    </Show>
                </div>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <DataTable test="routers" columns=vec!["Name", "Status", "External gateway", "Interfaces", "Note"] rows on_action empty="No routers yet."/>
            </Transition>
        </main>
    }
}

fn gateway_dialog(runner: Runner<NetOp>, id: String, name: String, ext: Vec<(String, String)>) {
    runner.open(Dialog::form(
        format!("Set the gateway of {name}"),
        "Set gateway",
        vec![Field::new("external", "External network", Kind::Select)
            .required()
            .options(with_none(&ext, "Choose an external network"))],
        move |v| NetOp::RouterGateway {
            id: id.clone(),
            external: val(&v, "external"),
        },
    ))
}

#[component]
pub fn RouterDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let runner = runner();
    let live = crate::live::use_live();
    let (r, p) = (live.kind("router"), live.kind("port"));
    let data = Resource::new(
        move || (id(), runner.changed.get() + r.get() + p.get()),
        |(id, _)| get_router(id),
    );
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| {
                d.router
                    .interfaces
                    .iter()
                    .map(|i| {
                        let what = d
                            .subnets
                            .iter()
                            .find(|(s, _)| *s == i.subnet_id)
                            .map(|(_, l)| l.clone())
                            .unwrap_or_else(|| i.subnet_id.clone());
                        Row {
                            id: i.subnet_id.clone(),
                            name: what.clone(),
                            cells: vec![
                                Cell::Text(what),
                                Cell::Code(i.ip_address.clone()),
                                Cell::Code(i.port_id.clone()),
                            ],
                            actions: if d.can_change {
                                vec![("delete", "Remove")]
                            } else {
                                vec![]
                            },
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(_k, row): (&'static str, Row)| {
        runner.open(Dialog::confirm(
            format!("Remove the interface on {}?", row.name),
            "The subnet loses its gateway. Refused while a floating IP reaches an address behind it.",
            "Remove interface",
            NetOp::InterfaceRemove { id: id(), subnet: row.id },
        ))
    });
    view! {
        <main class="page">
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                {move || data.get().and_then(Result::ok).map(|d| {
                    let r = d.router.clone();
                    let name = label(&r.name, &r.id);
                    let (rid, rname, addable, ext) = (r.id.clone(), name.clone(), d.addable.clone(), d.externals.clone());
                    let (rid2, rname2) = (rid.clone(), rname.clone());
                    let add = move |_| runner.open(Dialog::form(
                        format!("Add an interface to {rname}"),
                        "Add interface",
                        vec![Field::new("subnet", "Subnet", Kind::Select).required().options(with_none(&addable, "Choose a subnet"))],
                        {
                            let rid = rid.clone();
                            move |v| NetOp::InterfaceAdd { id: rid.clone(), subnet: val(&v, "subnet") }
                        },
                    ));
                    let gw = r.external_gateway_info.as_ref().map(|g| {
                        let ips: Vec<_> = g.external_fixed_ips.iter().map(|f| f.ip_address.clone()).collect();
                        let net = ext.iter().find(|(i, _)| *i == g.network_id).map(|(_, n)| n.clone()).unwrap_or_else(|| g.network_id.clone());
                        format!("{net} ({}), SNAT {}", ips.join(", "), if g.enable_snat { "on" } else { "off" })
                    });
                    view! {
                        <p class="crumbs"><a href="/project/routers">"Routers"</a>" › "{name.clone()}</p>
                        <h1 data-test="router-name">{name}</h1>
                        <dl class="facts">
                            <dt>"ID"</dt><dd><code>{r.id.clone()}</code></dd>
                            <dt>"Status"</dt><dd data-test="router-status">{r.status.clone()}</dd>
                            <dt>"External gateway"</dt><dd data-test="router-gateway">{gw.unwrap_or_else(|| "None".into())}</dd>
                            {r.note.clone().map(|n| view! { <dt>"Note"</dt><dd data-test="router-note">{n}</dd> })}
                        </dl>
                        <div class="toolbar">
                            <h2>"Interfaces"</h2>
                            <span class="spacer"></span>
                            {d.can_change.then(|| view! {
                                <button class="btn btn-small btn-secondary" data-test="set-gateway"
                                    on:click=move |_| gateway_dialog(runner, rid2.clone(), rname2.clone(), ext.clone())>"Set gateway"</button>
                                <button class="btn btn-small" data-test="add-interface" on:click=add>"Add interface"</button>
                            })}
                        </div>
                    }
                })}
                <DataTable test="interfaces" columns=vec!["Subnet", "Address", "Port"] rows on_action empty="No interfaces: add a subnet."/>
            </Transition>
        </main>
    }
}
