//! Project > Networks: the networks the project sees, each with its subnets, and a
//! network's page with its subnets and ports. Lists re-read on network, subnet and
//! port events (pushed), so a network another user or the API makes appears here.

use super::prelude::*;

pub(crate) fn create_network_dialog(runner: Runner<NetOp>, admin: bool) {
    let mut fields = vec![Field::text("name", "Network name").required()];
    if admin {
        fields.push(Field::new(
            "shared",
            "Shared with every project",
            Kind::Check,
        ));
    }
    fields.extend(subnet_fields(false));
    runner.open(Dialog::form(
        "Create network",
        "Create network",
        fields,
        |v| NetOp::NetworkCreate {
            name: val(&v, "name"),
            shared: !val(&v, "shared").is_empty(),
            subnet_name: val(&v, "subnet_name"),
            cidr: val(&v, "cidr"),
            gateway: val(&v, "gateway"),
            dhcp: !val(&v, "dhcp").is_empty(),
            dns: val(&v, "dns"),
        },
    ))
}

#[component]
pub fn NetworksPanel() -> impl IntoView {
    let runner = runner();
    let query = leptos_router::hooks::use_query_map();
    let marker = move || query.read().get("marker").unwrap_or_default();
    let live = crate::live::use_live();
    let (n, s, p) = (live.kind("network"), live.kind("subnet"), live.kind("port"));
    let data = Resource::new(
        move || (marker(), runner.changed.get() + n.get() + s.get() + p.get()),
        |(m, _)| list_networks(m),
    );
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|page| {
                page.items
                    .into_iter()
                    .map(|it| {
                        let n = it.network;
                        let subnets = it
                            .subnets
                            .iter()
                            .map(|(name, cidr)| format!("{name} {cidr}"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        let mut actions = Vec::new();
                        if it.own {
                            actions.push(("add-subnet", "Add subnet"));
                            actions.push(("delete", "Delete"));
                        }
                        Row {
                            id: n.id.clone(),
                            name: n.name.clone(),
                            cells: vec![
                                Cell::Link(
                                    label(&n.name, &n.id),
                                    format!("/project/networks/{}", n.id),
                                ),
                                Cell::Text(if subnets.is_empty() {
                                    "—".into()
                                } else {
                                    subnets
                                }),
                                yes_no(n.shared),
                                yes_no(n.external),
                                status_badge(&n.status),
                                Cell::Text(if n.admin_state_up { "UP" } else { "DOWN" }.into()),
                            ],
                            actions,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let admin = crate::shell::is_admin();
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| {
        match key {
        "add-subnet" => add_subnet_dialog(runner, row.id, row.name),
        _ => runner.open(Dialog::confirm(
            format!("Delete network {}?", row.name),
            "Its subnets go with it. A network that still has ports in use is refused, with the reason.",
            "Delete network",
            NetOp::NetworkDelete { id: row.id },
        )),
    }
    });
    view! {
        <main class="page">
            <h1>"Networks"</h1>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <div class="toolbar">
                    <span class="spacer"></span>
                    <Show when=move || data.get().and_then(Result::ok).is_some_and(|p| p.can_create)>
                        <button class="btn" data-test="create-network" on:click=move |_| create_network_dialog(runner, admin.get_untracked())>"Create network"</button>
                    </Show>
                </div>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <DataTable test="networks" columns=vec!["Name", "Subnets", "Shared", "External", "Status", "Admin state"] rows on_action empty="No networks yet."/>
                {move || data.get().and_then(Result::ok).map(|p| {
                    let first = (!marker().is_empty()).then_some("/project/networks");
                    let next = p.next.map(|m| format!("/project/networks?marker={m}"));
                    view! {
                        <p class="pager">
                            {first.map(|h| view! { <a href=h>"« First page"</a> })}
                            " "
                            {next.map(|h| view! { <a href=h data-test="next-page">"Next ›"</a> })}
                        </p>
                    }
                })}
            </Transition>
        </main>
    }
}

fn add_subnet_dialog(runner: Runner<NetOp>, network: String, name: String) {
    runner.open(Dialog::form(
        format!("Add a subnet to {name}"),
        "Create subnet",
        subnet_fields(true),
        move |v| NetOp::SubnetCreate {
            network: network.clone(),
            name: val(&v, "subnet_name"),
            cidr: val(&v, "cidr"),
            gateway: val(&v, "gateway"),
            dhcp: !val(&v, "dhcp").is_empty(),
            dns: val(&v, "dns"),
        },
    ))
}

#[component]
pub fn NetworkDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let runner = runner();
    let live = crate::live::use_live();
    let (n, s, p) = (live.kind("network"), live.kind("subnet"), live.kind("port"));
    let data = Resource::new(
        move || (id(), runner.changed.get() + n.get() + s.get() + p.get()),
        |(id, _)| get_network(id),
    );
    let subnet_rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| {
                d.subnets
                    .into_iter()
                    .map(|s| Row {
                        id: s.id.clone(),
                        name: label(&s.name, &s.id),
                        cells: vec![
                            Cell::Text(label(&s.name, &s.id)),
                            Cell::Code(s.cidr.clone()),
                            Cell::Text(format!("IPv{}", s.ip_version)),
                            Cell::Text(s.gateway_ip.clone().unwrap_or_else(|| "—".into())),
                            yes_no(s.enable_dhcp),
                            Cell::Text(
                                s.allocation_pools
                                    .iter()
                                    .map(|p| format!("{}–{}", p.start, p.end))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                        ],
                        actions: if d.own {
                            vec![("delete", "Delete")]
                        } else {
                            vec![]
                        },
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let port_rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| {
                d.ports
                    .into_iter()
                    .map(|p| Row {
                        id: p.id.clone(),
                        name: label(&p.name, &p.id),
                        cells: vec![
                            Cell::Text(label(&p.name, &p.id)),
                            Cell::Code(
                                p.fixed_ips
                                    .iter()
                                    .map(|f| f.ip_address.clone())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                            Cell::Code(p.mac_address.clone()),
                            Cell::Text(if p.device_owner.is_empty() {
                                "—".into()
                            } else {
                                p.device_owner.clone()
                            }),
                            status_badge(&p.status),
                        ],
                        actions: if p.device_owner.is_empty() {
                            vec![("delete", "Delete")]
                        } else {
                            vec![]
                        },
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_subnet = Callback::new(move |(_k, row): (&'static str, Row)| {
        runner.open(Dialog::confirm(
            format!("Delete subnet {}?", row.name),
            "A subnet whose addresses are in use is refused, with the reason.",
            "Delete subnet",
            NetOp::SubnetDelete { id: row.id },
        ))
    });
    let on_port = Callback::new(move |(_k, row): (&'static str, Row)| {
        runner.open(Dialog::confirm(
            format!("Delete port {}?", row.name),
            "Its addresses go back to the pool.",
            "Delete port",
            NetOp::PortDelete { id: row.id },
        ))
    });
    view! {
        <main class="page">
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                {move || data.get().and_then(Result::ok).map(|d| {
                    let n = d.network.clone();
                    let (nid, nname) = (n.id.clone(), label(&n.name, &n.id));
                    view! {
                        <p class="crumbs"><a href="/project/networks">"Networks"</a>" › "{nname.clone()}</p>
                        <h1 data-test="network-name">{nname.clone()}</h1>
                        <dl class="facts">
                            <dt>"ID"</dt><dd><code>{n.id.clone()}</code></dd>
                            <dt>"Status"</dt><dd>{n.status.clone()}</dd>
                            <dt>"Shared"</dt><dd>{if n.shared { "Yes" } else { "No" }}</dd>
                            <dt>"External"</dt><dd>{if n.external { "Yes" } else { "No" }}</dd>
                            <dt>"MTU"</dt><dd>{n.mtu}</dd>
                            <dt>"Port security"</dt><dd>{if n.port_security_enabled { "Enabled" } else { "Disabled" }}</dd>
                        </dl>
                        <div class="toolbar">
                            <h2>"Subnets"</h2>
                            <span class="spacer"></span>
                            {d.own.then(|| view! {
                                <button class="btn btn-small" data-test="add-subnet"
                                    on:click=move |_| add_subnet_dialog(runner, nid.clone(), nname.clone())>"Add subnet"</button>
                            })}
                        </div>
                    }
                })}
                <DataTable test="subnets" columns=vec!["Name", "CIDR", "IP version", "Gateway", "DHCP", "Allocation pools"] rows=subnet_rows on_action=on_subnet empty="No subnets."/>
                <h2>"Ports"</h2>
                <DataTable test="ports" columns=vec!["Name", "Fixed IPs", "MAC address", "Attached to", "Status"] rows=port_rows on_action=on_port empty="No ports."/>
            </Transition>
        </main>
    }
}
