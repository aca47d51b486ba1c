//! Project > Floating IPs: allocate an address from an external network, associate it
//! with an instance's port (its IPv4 address), disassociate, release. The service says
//! why it refuses (no router reaches the port, the address already has one).

use super::prelude::*;

#[component]
pub fn FloatingIpsPanel() -> impl IntoView {
    let runner = runner();
    let live = crate::live::use_live();
    let (f, p) = (live.kind("floating IP"), live.kind("port"));
    let data = Resource::new(
        move || runner.changed.get() + f.get() + p.get(),
        |_| list_floating_ips(),
    );
    let choices = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| (d.externals, d.ports))
            .unwrap_or_default()
    });
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| {
                d.ips
                    .iter()
                    .map(|ip| {
                        let pool = d
                            .externals
                            .iter()
                            .find(|(i, _)| *i == ip.floating_network_id)
                            .map(|(_, n)| n.clone())
                            .unwrap_or_else(|| ip.floating_network_id.clone());
                        let mapped = match (&ip.port_id, &ip.fixed_ip_address) {
                            (Some(port), Some(addr)) => d
                                .ports
                                .iter()
                                .find(|(p, l)| {
                                    p == port && l.rsplit(": ").next() == Some(addr.as_str())
                                })
                                .map(|(_, l)| l.clone())
                                .unwrap_or_else(|| addr.clone()),
                            _ => "—".into(),
                        };
                        let mut actions = Vec::new();
                        if ip.port_id.is_some() {
                            actions.push(("disassociate", "Disassociate"));
                        } else {
                            actions.push(("associate", "Associate"));
                        }
                        actions.push(("delete", "Release"));
                        Row {
                            id: ip.id.clone(),
                            name: ip.floating_ip_address.clone(),
                            cells: vec![
                                Cell::Code(ip.floating_ip_address.clone()),
                                Cell::Text(mapped),
                                Cell::Text(pool),
                                status_badge(&ip.status),
                                Cell::Text(ip.note.clone().unwrap_or_default()),
                            ],
                            actions,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| match key {
        "associate" => {
            let ports = choices.get_untracked().1;
            runner.open(Dialog::form(
                format!("Associate {}", row.name),
                "Associate",
                vec![Field::new("port", "Instance and address", Kind::Select)
                    .required()
                    .options(
                        std::iter::once((
                            String::new(),
                            "Choose an instance's address".to_string(),
                        ))
                        .chain(ports)
                        .collect(),
                    )],
                move |v| NetOp::FipAssociate {
                    id: row.id.clone(),
                    port: val(&v, "port"),
                },
            ))
        }
        "disassociate" => runner.run(NetOp::FipDisassociate { id: row.id }),
        _ => runner.open(Dialog::confirm(
            format!("Release {}?", row.name),
            "The address goes back to the external network's pool; another project may get it.",
            "Release",
            NetOp::FipDelete { id: row.id },
        )),
    });
    let allocate = move |_| {
        let ext = choices.get_untracked().0;
        let first = ext.first().map(|(i, _)| i.clone()).unwrap_or_default();
        runner.open(Dialog::form(
            "Allocate floating IP",
            "Allocate",
            vec![Field::new("network", "External network", Kind::Select)
                .required()
                .options(ext)
                .value(first)],
            |v| NetOp::FipCreate {
                network: val(&v, "network"),
            },
        ))
    };
    view! {
        <main class="page">
            <h1>"Floating IPs"</h1>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <div class="toolbar">
                    <span class="spacer"></span>
                    <Show when=move || data.get().and_then(Result::ok).is_some_and(|d| d.can_create)>
                        <button class="btn" data-test="allocate-fip" on:click=allocate>"Allocate IP to project"</button>
                    </Show>
                </div>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <Show when=move || data.get().and_then(Result::ok).is_some_and(|d| d.externals.is_empty())>
                    <p class="muted" data-test="no-external">"No external network exists yet: an admin creates one (router:external) for floating IPs."</p>
                </Show>
                <DataTable test="floating-ips" columns=vec!["IP address", "Mapped to", "Pool", "Status", "Note"] rows on_action empty="No floating IPs allocated."/>
            </Transition>
        </main>
    }
}
