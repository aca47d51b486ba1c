//! Project > Security Groups and a group's rules editor: presets (SSH, ICMP, HTTP,
//! HTTPS, all TCP or UDP) and custom port ranges, in either direction, from a CIDR. A
//! rule added here reaches the running instances in the group at once (the service
//! redefines their host filters); the list re-reads on security group events.

use super::prelude::*;

#[component]
pub fn SecurityGroupsPanel() -> impl IntoView {
    let runner = runner();
    let live = crate::live::use_live();
    let (g, r) = (
        live.kind("security group"),
        live.kind("security group rule"),
    );
    let data = Resource::new(
        move || runner.changed.get() + g.get() + r.get(),
        |_| list_security_groups(),
    );
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|page| {
                let default = page.default;
                page.groups
                    .into_iter()
                    .map(|g| Row {
                        id: g.id.clone(),
                        name: g.name.clone(),
                        cells: vec![
                            Cell::Link(
                                g.name.clone(),
                                format!("/project/security-groups/{}", g.id),
                            ),
                            Cell::Text(g.description.clone()),
                            Cell::Text(g.rules.len().to_string()),
                        ],
                        actions: if default.as_deref() == Some(g.id.as_str()) {
                            vec![]
                        } else {
                            vec![("delete", "Delete")]
                        },
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(_k, row): (&'static str, Row)| {
        runner.open(Dialog::confirm(
            format!("Delete security group {}?", row.name),
            "A group still used by a port is refused, with the reason.",
            "Delete security group",
            NetOp::GroupDelete { id: row.id },
        ))
    });
    let create = move |_| {
        runner.open(Dialog::form(
            "Create security group",
            "Create security group",
            vec![
                Field::text("name", "Name").required(),
                Field::new("description", "Description", Kind::Area),
            ],
            |v| NetOp::GroupCreate {
                name: val(&v, "name"),
                description: val(&v, "description"),
            },
        ))
    };
    view! {
        <main class="page">
            <h1>"Security Groups"</h1>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <div class="toolbar">
                    <span class="spacer"></span>
                    <Show when=move || data.get().and_then(Result::ok).is_some_and(|d| d.can_create)>
                        <button class="btn" data-test="create-security-group" on:click=create>"Create security group"</button>
                    </Show>
                </div>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <DataTable test="security-groups" columns=vec!["Name", "Description", "Rules"] rows on_action empty="No security groups."/>
            </Transition>
        </main>
    }
}

const PRESETS: &[(&str, &str)] = &[
    ("ssh", "SSH (TCP 22)"),
    ("icmp", "All ICMP (ping)"),
    ("http", "HTTP (TCP 80)"),
    ("https", "HTTPS (TCP 443)"),
    ("all-tcp", "All TCP"),
    ("all-udp", "All UDP"),
    ("custom-tcp", "Custom TCP port or range"),
    ("custom-udp", "Custom UDP port or range"),
];

fn add_rule_dialog(runner: Runner<NetOp>, group: String, preset: &str) {
    let options = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect::<Vec<_>>()
    };
    runner.open(Dialog::form(
        "Add rule",
        "Add rule",
        vec![
            Field::new("preset", "Rule", Kind::Select)
                .required()
                .options(options(PRESETS))
                .value(preset),
            Field::new("direction", "Direction", Kind::Select)
                .required()
                .options(options(&[
                    ("ingress", "Ingress (to the instance)"),
                    ("egress", "Egress (from the instance)"),
                ]))
                .value("ingress"),
            Field::text("port", "Port")
                .hint("For a custom rule: a port such as 8080, or a range such as 8000-8090."),
            Field::text("remote", "Remote CIDR")
                .value("0.0.0.0/0")
                .hint(
                    "Where the traffic may come from (ingress) or go to (egress); ::/0 for IPv6.",
                ),
        ],
        move |v| NetOp::RuleCreate {
            group: group.clone(),
            preset: val(&v, "preset"),
            direction: val(&v, "direction"),
            port: val(&v, "port"),
            remote: val(&v, "remote"),
        },
    ))
}

fn ports_of(r: &SecurityGroupRule) -> String {
    match (r.port_range_min, r.port_range_max) {
        (None, None) => "Any".into(),
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(1), Some(65535)) => "Any".into(),
        (a, b) => format!(
            "{}–{}",
            a.map(|n| n.to_string()).unwrap_or_default(),
            b.map(|n| n.to_string()).unwrap_or_default()
        ),
    }
}

#[component]
pub fn SecurityGroupPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let runner = runner();
    let live = crate::live::use_live();
    let (g, r) = (
        live.kind("security group"),
        live.kind("security group rule"),
    );
    let data = Resource::new(
        move || (id(), runner.changed.get() + g.get() + r.get()),
        |(id, _)| get_security_group(id),
    );
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| {
                d.group
                    .rules
                    .iter()
                    .map(|r| {
                        let remote = match (&r.remote_ip_prefix, &r.remote_group_id) {
                            (Some(p), _) => p.clone(),
                            (None, Some(g)) => d
                                .names
                                .iter()
                                .find(|(i, _)| i == g)
                                .map(|(_, n)| format!("group {n}"))
                                .unwrap_or_else(|| format!("group {g}")),
                            (None, None) => "Any".into(),
                        };
                        let proto = r.protocol.clone().unwrap_or_else(|| "Any".into());
                        Row {
                            id: r.id.clone(),
                            name: format!("{} {} {} {}", r.direction, proto, ports_of(r), remote),
                            cells: vec![
                                Cell::Text(r.direction.clone()),
                                Cell::Text(r.ethertype.clone()),
                                Cell::Text(proto),
                                Cell::Text(ports_of(r)),
                                Cell::Text(remote),
                                Cell::Text(r.description.clone()),
                            ],
                            actions: vec![("delete", "Delete")],
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(_k, row): (&'static str, Row)| {
        runner.open(Dialog::confirm(
            format!("Delete rule {}?", row.name),
            "Running instances in the group stop allowing this traffic at once.",
            "Delete rule",
            NetOp::RuleDelete { id: row.id },
        ))
    });
    let quick = move |preset: &'static str| {
        runner.run(NetOp::RuleCreate {
            group: id(),
            preset: preset.into(),
            direction: "ingress".into(),
            port: String::new(),
            remote: "0.0.0.0/0".into(),
        })
    };
    view! {
        <main class="page">
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                {move || data.get().and_then(Result::ok).map(|d| view! {
                    <p class="crumbs"><a href="/project/security-groups">"Security Groups"</a>" › "{d.group.name.clone()}</p>
                    <h1 data-test="group-name">{d.group.name.clone()}</h1>
                    <p class="muted">{d.group.description.clone()}</p>
                })}
                <div class="toolbar">
                    <h2>"Rules"</h2>
                    <span class="spacer"></span>
                    <span class="muted">"Allow from anywhere:"</span>
                    <button class="btn btn-small btn-secondary" data-test="preset-ssh" on:click=move |_| quick("ssh")>"SSH"</button>
                    <button class="btn btn-small btn-secondary" data-test="preset-icmp" on:click=move |_| quick("icmp")>"ICMP"</button>
                    <button class="btn btn-small btn-secondary" data-test="preset-http" on:click=move |_| quick("http")>"HTTP"</button>
                    <button class="btn btn-small btn-secondary" data-test="preset-https" on:click=move |_| quick("https")>"HTTPS"</button>
                    <button class="btn btn-small" data-test="add-rule" on:click=move |_| add_rule_dialog(runner, id(), "custom-tcp")>"Add rule"</button>
                </div>
                <DataTable test="rules" columns=vec!["Direction", "Ether type", "Protocol", "Ports", "Remote", "Description"] rows on_action empty="No rules: nothing is allowed."/>
            </Transition>
        </main>
    }
}
