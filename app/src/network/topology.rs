//! Project > Network Topology: the project's networks as bars, its routers and
//! instances as boxes wired to the networks they have ports on, drawn as SVG and
//! redrawn whenever a server, network, subnet, port or router event arrives (pushed;
//! an instance turns from BUILD to ACTIVE here without a reload). Clicking a node opens
//! its page; the toolbar creates a network or launches an instance, as Horizon's does.

use super::prelude::*;

const ROW: f64 = 140.0;
const TOP: f64 = 50.0;
const COL: f64 = 150.0;
const LEFT: f64 = 260.0;
const BOX_W: f64 = 124.0;
const BOX_H: f64 = 46.0;

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn status_class(status: &str) -> &'static str {
    match status {
        "ACTIVE" => "ok",
        "ERROR" => "bad",
        "SHUTOFF" | "DOWN" | "SHELVED_OFFLOADED" | "PAUSED" | "SUSPENDED" => "off",
        _ => "busy",
    }
}

/// One router or instance, placed.
struct Device {
    kind: &'static str,
    id: String,
    name: String,
    status: String,
    rows: Vec<usize>,
}

#[component]
pub fn TopologyPanel() -> impl IntoView {
    let runner = runner();
    let live = crate::live::use_live();
    let kinds = [
        live.kind("server"),
        live.kind("network"),
        live.kind("subnet"),
        live.kind("port"),
        live.kind("router"),
    ];
    let launching = RwSignal::new(false);
    let data = Resource::new(
        move || runner.changed.get() + kinds.iter().map(|k| k.get()).sum::<u64>(),
        |_| network_topology(),
    );
    let admin = crate::shell::is_admin();
    let navigate = leptos_router::hooks::use_navigate();
    let open = move |href: String| navigate(&href, Default::default());
    let graph = move |t: Topology| {
        let index = |id: &str| t.networks.iter().position(|n| n.0 == id);
        let mut devices: Vec<Device> = Vec::new();
        for (id, name, status, nets) in &t.routers {
            devices.push(Device {
                kind: "router",
                id: id.clone(),
                name: name.clone(),
                status: status.clone(),
                rows: nets.iter().filter_map(|n| index(n)).collect(),
            });
        }
        for (id, name, status, nets) in &t.servers {
            devices.push(Device {
                kind: "server",
                id: id.clone(),
                name: name.clone(),
                status: status.clone(),
                rows: nets.iter().filter_map(|n| index(n)).collect(),
            });
        }
        let rows = t.networks.len().max(1) as f64;
        let width = (LEFT + devices.len() as f64 * COL + 40.0).max(760.0);
        let height = TOP + rows * ROW + 40.0;
        let bar_y = |i: usize| TOP + i as f64 * ROW;
        let bars = t
            .networks
            .iter()
            .enumerate()
            .map(|(i, (id, name, cidrs, external))| {
                let y = bar_y(i);
                let href = format!("/project/networks/{id}");
                let open = open.clone();
                let text = format!("{} {}", short(&label(name, id), 22), cidrs.join(", "));
                view! {
                    <g class=if *external { "topo-net external" } else { "topo-net" } data-test="topo-node" data-kind="network"
                        data-name=name.clone() data-id=id.clone() on:click=move |_| open(href.clone())>
                        <rect x="16" y=y - 13.0 width=width - 32.0 height="26" rx="6"></rect>
                        <text x="28" y=y + 5.0>{text}</text>
                    </g>
                }
            })
            .collect_view();
        let nodes = devices
            .iter()
            .enumerate()
            .map(|(j, d)| {
                let x = LEFT + j as f64 * COL + COL / 2.0;
                let y = match d.rows.iter().min() {
                    Some(r) => bar_y(*r) + ROW / 2.0,
                    None => bar_y(t.networks.len()) - ROW / 2.0 + 20.0,
                };
                let wires = d
                    .rows
                    .iter()
                    .map(|r| view! { <line class="topo-wire" x1=x y1=y x2=x y2=bar_y(*r)></line> })
                    .collect_view();
                let href = match d.kind {
                    "router" => format!("/project/routers/{}", d.id),
                    _ => format!("/project/instances/{}", d.id),
                };
                let open = open.clone();
                let class = format!("topo-node {} {}", d.kind, status_class(&d.status));
                view! {
                    {wires}
                    <g class=class data-test="topo-node" data-kind=d.kind data-name=d.name.clone() data-id=d.id.clone()
                        data-status=d.status.clone() on:click=move |_| open(href.clone())>
                        <rect x=x - BOX_W / 2.0 y=y - BOX_H / 2.0 width=BOX_W height=BOX_H rx="8"></rect>
                        <text x=x y=y - 4.0 text-anchor="middle" class="topo-name">{short(&label(&d.name, &d.id), 16)}</text>
                        <text x=x y=y + 14.0 text-anchor="middle" class="topo-status">
                            {format!("{} · {}", if d.kind == "router" { "router" } else { "instance" }, d.status)}
                        </text>
                    </g>
                }
            })
            .collect_view();
        view! {
            <svg class="topology" data-test="topology" viewBox=format!("0 0 {width} {height}")
                width=width height=height role="img" aria-label="Network topology">
                {bars}
                {nodes}
            </svg>
        }
    };
    view! {
        <main class="page">
            <h1>"Network Topology"</h1>
            <RunnerDialog runner/>
            <Show when=move || launching.get()>
                <crate::instances::LaunchDialog close=Callback::new(move |_| launching.set(false)) changed=runner.changed/>
            </Show>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <div class="toolbar">
                    <span class="spacer"></span>
                    <Show when=move || data.get().and_then(Result::ok).is_some_and(|t| t.can_create)>
                        <button class="btn btn-secondary" data-test="create-network" on:click=move |_| super::networks::create_network_dialog(runner, admin.get_untracked())>"Create network"</button>
                        <button class="btn" data-test="launch-instance" on:click=move |_| launching.set(true)>"Launch instance"</button>
                    </Show>
                </div>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                {move || data.get().and_then(Result::ok).map(|t| {
                    let empty = t.networks.is_empty() && t.routers.is_empty() && t.servers.is_empty();
                    let truncated = t.truncated;
                    view! {
                        {empty.then(|| view! { <p class="muted" data-test="empty">"Nothing yet: create a network, then launch an instance on it."</p> })}
                        {truncated.then(|| view! { <p class="muted">"The project has more than 1,000 of something; the graph shows the first 1,000."</p> })}
                        <div class="topology-wrap">{graph(t)}</div>
                    }
                })}
            </Transition>
        </main>
    }
}
