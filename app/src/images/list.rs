//! Project > Images and Admin > Images: the list, its filters and marker paging,
//! reloaded from pushed image events.

use super::prelude::*;

/// The images list, for Project > Images (`all` false) and Admin > Images (`all` true).
#[component]
pub fn ImagesPanel(all: bool) -> impl IntoView {
    let runner = runner();
    let query = use_query_map();
    let q = move |k: &str| query.read().get(k).unwrap_or_default();
    // Reloaded when an image event arrives (pushed by the server; no timer).
    let live = crate::live::use_live().kind("image");
    let data = Resource::new(
        move || {
            (
                q("name"),
                q("visibility"),
                q("status"),
                q("marker"),
                runner.changed.get() + live.get(),
            )
        },
        move |(n, v, s, m, _)| list_images(all, n, v, s, m),
    );
    let creating = RwSignal::new(false);
    let base = if all {
        "/admin/images"
    } else {
        "/project/images"
    };
    let rows = Signal::derive(move || {
        data.get()
            .and_then(Result::ok)
            .map(|p| {
                let owners = p.owners;
                p.items
                    .into_iter()
                    .map(|i| {
                        let mine = p.writable.contains(&i.id);
                        let owner = owners
                            .iter()
                            .find(|(id, _)| *id == i.owner)
                            .map(|(_, n)| n.clone())
                            .unwrap_or_else(|| i.owner.clone());
                        let mut cells = vec![
                            Cell::Link(image_name(&i), format!("/project/images/{}", i.id)),
                            badge(&i.status),
                            Cell::Text(i.visibility.clone()),
                            Cell::Text(i.disk_format.clone().unwrap_or_default()),
                            Cell::Text(i.size.map(size).unwrap_or_default()),
                            Cell::Text(if i.protected { "yes" } else { "no" }.into()),
                        ];
                        if all {
                            cells.insert(1, Cell::Text(owner));
                        }
                        Row {
                            name: image_name(&i),
                            cells,
                            actions: if mine {
                                vec![("delete", "Delete")]
                            } else {
                                Vec::new()
                            },
                            id: i.id,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let on_action = Callback::new(move |(_key, row): (&'static str, Row)| {
        runner.open(Dialog::confirm(
            format!("Delete image {}?", row.name),
            "The image and its data are deleted; servers already running from it keep running. This cannot be undone.",
            "Delete image",
            ImageOp::Delete { id: row.id },
        ))
    });
    let mut columns = vec![
        "Name",
        "Status",
        "Visibility",
        "Disk format",
        "Size",
        "Protected",
    ];
    if all {
        columns.insert(1, "Project");
    }
    let select = move |name: &'static str, options: &'static [&'static str]| {
        let current = q(name);
        view! {
            <select name=name data-test=format!("filter-{name}")>
                {options.iter().map(|o| {
                    let selected = *o == current;
                    let label = if o.is_empty() { format!("any {name}") } else { o.to_string() };
                    view! { <option value=*o selected=selected>{label}</option> }
                }).collect_view()}
            </select>
        }
    };
    view! {
        <main class="page">
            <h1>{if all { "All images" } else { "Images" }}</h1>
            <div class="toolbar">
                <form class="toolbar" method="get" action=base>
                    <input name="name" type="search" placeholder="Exact name" value=move || q("name") data-test="image-search"/>
                    {select("visibility", &["", "public", "private", "shared", "community"])}
                    {select("status", &["", "active", "queued", "saving", "uploading", "importing", "killed", "deactivated"])}
                    <button class="btn btn-secondary" type="submit" data-test="filter-apply">"Filter"</button>
                </form>
                <span class="spacer"></span>
                <Show when=move || !all>
                    <button class="btn" data-test="create-image" on:click=move |_| creating.set(true)>"Create image"</button>
                </Show>
            </div>
            <RunnerDialog runner/>
            <Show when=move || creating.get()>
                <CreateImage close=Callback::new(move |_| creating.set(false)) changed=runner.changed/>
            </Show>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().and_then(Result::err).map(|e| view! { <Refused e/> })}
                <Show when=move || matches!(data.get(), Some(Ok(_)))>
                    <DataTable test="images" columns=columns.clone() rows on_action empty="No images match."/>
                </Show>
                {move || data.get().and_then(Result::ok).map(|p| {
                    let keep = format!("name={}&visibility={}&status={}", urlencode(&q("name")), urlencode(&q("visibility")), urlencode(&q("status")));
                    let first = (!q("marker").is_empty()).then(|| format!("{base}?{keep}"));
                    let next = p.next.map(|m| format!("{base}?{keep}&marker={m}"));
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
