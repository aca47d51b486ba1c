//! The instances list: rows re-read when a server event arrives (pushed; no timer),
//! each with the actions the service offers on it, and the launch dialog.

use super::prelude::*;

#[component]
pub fn InstancesPanel(all: bool) -> impl IntoView {
    let runner = runner();
    let query = use_query_map();
    let marker = move || query.read().get("marker").unwrap_or_default();
    let live = crate::live::use_live().kind("server");
    let data = Resource::new(
        move || (marker(), runner.changed.get() + live.get()),
        move |(m, _)| list_instances(all, m),
    );
    let launching = RwSignal::new(false);
    let selected = RwSignal::new(Vec::<String>::new());
    let bulk = move |action: &'static str, label: &'static str| {
        let ids = selected.get_untracked();
        let n = ids.len();
        runner.open(Dialog::confirm(
            format!("{label} {n} instance{}?", if n == 1 { "" } else { "s" }),
            if action == "delete" {
                "Their disks and console logs are removed. This cannot be undone."
            } else {
                "Each is asked for in turn; any it cannot be done to is named with the reason."
            },
            label,
            InstanceOp::Bulk {
                ids,
                action: action.to_string(),
            },
        ));
    };
    // A change done: the ticks go (the rows may be gone or changed).
    Effect::new(move |_| {
        runner.changed.get();
        selected.set(Vec::new());
    });
    let base = if all {
        "/admin/instances"
    } else {
        "/project/instances"
    };
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|p| {
                let projects = p.projects;
                p.items
                    .into_iter()
                    .map(|it| {
                        let s = it.server;
                        let mut cells = vec![
                            Cell::Link(s.name.clone(), format!("/project/instances/{}", s.id)),
                            status_badge(&s.status),
                            Cell::Text(s.task_state.clone().unwrap_or_else(|| "None".into())),
                            Cell::Text(power(s.power_state).into()),
                            Cell::Text(s.flavor.name.clone()),
                            Cell::Text(s.availability_zone.clone().unwrap_or_else(|| "—".into())),
                        ];
                        if all {
                            let project = projects
                                .iter()
                                .find(|(id, _)| *id == s.project_id)
                                .map(|(_, n)| n.clone())
                                .unwrap_or_else(|| s.project_id.clone());
                            cells.insert(1, Cell::Text(project));
                            cells.push(Cell::Text(
                                s.host_name.clone().unwrap_or_else(|| "—".into()),
                            ));
                        }
                        Row {
                            id: s.id,
                            name: s.name,
                            cells,
                            actions: it
                                .actions
                                .iter()
                                .filter(|a| *a != "console" && *a != "resize")
                                .filter_map(|a| action_label(a))
                                .collect(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(key, row): (&'static str, Row)| {
        let flavors = Vec::new();
        ask(runner, key, row.id, row.name, flavors)
    });
    let mut columns = vec![
        "Name",
        "Status",
        "Task",
        "Power state",
        "Flavor",
        "Availability zone",
    ];
    if all {
        columns.insert(1, "Project");
        columns.push("Host");
    }
    view! {
        <main class="page">
            <h1>{if all { "All instances" } else { "Instances" }}</h1>
            <RunnerDialog runner/>
            <Show when=move || launching.get()>
                <LaunchDialog close=Callback::new(move |_| launching.set(false)) changed=runner.changed/>
            </Show>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                // Inside the transition: a resource read outside it makes the server
                // render the page again for every read.
                <div class="toolbar">
                    <Show when=move || !selected.with(Vec::is_empty)>
                        <span data-test="bulk-count">{move || format!("{} selected", selected.with(Vec::len))}</span>
                        <button class="btn btn-small btn-secondary" data-test="bulk-start" on:click=move |_| bulk("start", "Start")>"Start"</button>
                        <button class="btn btn-small btn-secondary" data-test="bulk-stop" on:click=move |_| bulk("stop", "Shut off")>"Shut off"</button>
                        <button class="btn btn-small btn-secondary" data-test="bulk-reboot" on:click=move |_| bulk("reboot", "Reboot")>"Reboot"</button>
                        <button class="btn btn-small btn-danger-quiet" data-test="bulk-delete" on:click=move |_| bulk("delete", "Delete")>"Delete"</button>
                    </Show>
                    <span class="spacer"></span>
                    <Show when=move || !all && data.get().and_then(Result::ok).is_some_and(|p| p.can_launch)>
                        <button class="btn" data-test="launch-instance" on:click=move |_| launching.set(true)>"Launch instance"</button>
                    </Show>
                </div>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <Show when=move || matches!(data.get(), Some(Ok(_)))>
                    <DataTable test="instances" columns=columns.clone() rows on_action empty="No instances yet." selected/>
                </Show>
                {move || data.get().and_then(Result::ok).map(|p| {
                    let first = (!marker().is_empty()).then(|| base.to_string());
                    let next = p.next.map(|m| format!("{base}?marker={m}"));
                    view! {
                        <p class="pager" data-test="pager">
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
