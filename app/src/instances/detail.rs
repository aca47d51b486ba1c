//! An instance's page: overview, its console log, the interactive serial console and
//! VNC (each a page of this cloud, opened with a short-lived token, in a frame), the
//! action log with each request's events, and metadata. Re-read when an event about
//! the server arrives.

use super::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Log,
    Console,
    Vnc,
    Actions,
}

#[component]
pub fn InstanceDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let runner = runner();
    let live = crate::live::use_live().resource("server", id);
    let data = Resource::new(
        move || (id(), runner.changed.get() + live.get()),
        |(id, _)| get_instance(id),
    );
    let tab = RwSignal::new(Tab::Overview);
    let frame = RwSignal::new(None::<Result<String, String>>);
    let open_console = move |kind: &'static str, t: Tab| {
        tab.set(t);
        frame.set(None);
        let id = id();
        leptos::task::spawn_local(async move {
            let r = instance_console(id, kind.to_string()).await;
            frame.set(Some(r.map_err(|e| crate::auth::reason(&e))));
        });
    };
    let tab_button = move |t: Tab, label: &'static str, test: &'static str| {
        view! {
            <button type="button" class=move || if tab.get() == t { "tab active" } else { "tab" } data-test=test
                on:click=move |_| match t {
                    Tab::Log => open_console("log", t),
                    Tab::Console => open_console("serial", t),
                    Tab::Vnc => open_console("vnc", t),
                    _ => tab.set(t),
                }>{label}</button>
        }
    };
    view! {
        <main class="page">
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|d| match d {
                    Err(e) => view! { <Refused e/> }.into_any(),
                    Ok(d) => {
                        let s = d.server.clone();
                        let (sid, sname) = (s.id.clone(), s.name.clone());
                        let flavors = d.flavors.clone();
                        let actions: Vec<(&'static str, &'static str)> = d.actions.iter().filter_map(|a| action_label(a)).collect();
                        view! {
                            <h1 data-test="instance-name">{s.name.clone()}</h1>
                            <p>
                                <span class=format!("badge {}", match status_badge(&s.status) { Cell::Badge(_, c) => c, _ => "" }) data-test="instance-status">{s.status.clone()}</span>
                                " "
                                <span class="muted" data-test="instance-task">{s.task_state.clone().unwrap_or_else(|| "no task".into())}</span>
                            </p>
                            <div class="toolbar" data-test="instance-actions">
                                {actions.into_iter().map(|(key, label)| {
                                    let (sid, sname, flavors) = (sid.clone(), sname.clone(), flavors.clone());
                                    view! {
                                        <button class=if key == "delete" { "btn btn-small btn-danger-quiet" } else { "btn btn-small btn-secondary" }
                                            data-test=format!("action-{key}")
                                            on:click=move |_| ask(runner, key, sid.clone(), sname.clone(), flavors.clone())>{label}</button>
                                    }
                                }).collect_view()}
                            </div>
                            <nav class="tabs">
                                {tab_button(Tab::Overview, "Overview", "tab-overview")}
                                {tab_button(Tab::Log, "Log", "tab-log")}
                                {tab_button(Tab::Console, "Console", "tab-console")}
                                {tab_button(Tab::Vnc, "VNC", "tab-vnc")}
                                {tab_button(Tab::Actions, "Action log", "tab-actions")}
                            </nav>
                            {move || match tab.get() {
                                Tab::Overview => {
                                    let s = d.server.clone();
                                    let md: Vec<(String, String)> = s.metadata.clone().into_iter().collect();
                                    view! {
                                        <dl class="facts" data-test="instance-overview">
                                            <dt>"ID"</dt><dd><code>{s.id.clone()}</code></dd>
                                            <dt>"Status"</dt><dd>{s.status.clone()}</dd>
                                            <dt>"Power state"</dt><dd>{power(s.power_state)}</dd>
                                            <dt>"Flavor"</dt><dd>{format!("{} ({} vCPU, {} MiB, {} GiB)", s.flavor.name, s.flavor.vcpus, s.flavor.ram, s.flavor.disk)}</dd>
                                            <dt>"Image"</dt><dd>{d.image_name.clone().or(s.image_id.clone()).unwrap_or_else(|| "None".into())}</dd>
                                            <dt>"Availability zone"</dt><dd>{s.availability_zone.clone().unwrap_or_else(|| "None".into())}</dd>
                                            <dt>"Key pair"</dt><dd>{s.key_name.clone().unwrap_or_else(|| "None".into())}</dd>
                                            <dt>"Locked"</dt><dd>{if s.locked { s.locked_reason.clone().map(|r| format!("Yes: {r}")).unwrap_or_else(|| "Yes".into()) } else { "No".into() }}</dd>
                                            <dt>"Created"</dt><dd>{s.created_at.clone()}</dd>
                                            {s.fault.clone().map(|f| view! { <dt>"Fault"</dt><dd class="error" data-test="instance-fault">{f.message}</dd> })}
                                        </dl>
                                        <h2>"Metadata"</h2>
                                        <table class="table" data-test="instance-metadata"><tbody>
                                            {md.into_iter().map(|(k, v)| view! { <tr><td><code>{k}</code></td><td>{v}</td></tr> }).collect_view()}
                                        </tbody></table>
                                    }.into_any()
                                }
                                Tab::Log | Tab::Console | Tab::Vnc => view! {
                                    {move || match frame.get() {
                                        None => view! { <p class="muted">"Opening the console…"</p> }.into_any(),
                                        Some(Err(why)) => view! { <p class="error" data-test="console-refused">{why}</p> }.into_any(),
                                        Some(Ok(url)) => {
                                            let test = if tab.get_untracked() == Tab::Log { "log-frame" } else { "console-frame" };
                                            view! { <iframe class="console-frame" data-test=test src=url title="Console"></iframe> }.into_any()
                                        }
                                    }}
                                }.into_any(),
                                Tab::Actions => view! {
                                    <table class="table" data-test="instance-log">
                                        <thead><tr><th>"Action"</th><th>"Request"</th><th>"Started"</th><th>"User"</th><th>"Events"</th><th>"Message"</th></tr></thead>
                                        <tbody>
                                            {d.log.clone().into_iter().map(|a| view! {
                                                <tr data-test="log-row" data-action=a.action.clone()>
                                                    <td>{a.action.clone()}</td>
                                                    <td><code>{a.request_id.clone()}</code></td>
                                                    <td>{a.start_time.clone()}</td>
                                                    <td>{a.user_id.clone().unwrap_or_else(|| "—".into())}</td>
                                                    <td>{a.events.iter().map(|e| format!("{}: {}", e.event, e.result.clone().unwrap_or_else(|| "running".into()))).collect::<Vec<_>>().join("; ")}</td>
                                                    <td>{a.message.clone().unwrap_or_else(|| "—".into())}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any(),
                            }}
                        }.into_any()
                    }
                })}
            </Transition>
        </main>
    }
}
