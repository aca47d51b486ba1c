//! An image's detail page: facts, properties, members, import tasks, its timeline,
//! and the changes its project may make.

use super::prelude::*;

pub(crate) fn image_fields(i: &Image, admin: bool) -> Vec<Field> {
    let mut vis = vec![
        ("private".to_string(), "Private".to_string()),
        ("shared".to_string(), "Shared".to_string()),
        ("community".to_string(), "Community".to_string()),
    ];
    if admin || i.visibility == "public" {
        vis.push(("public".to_string(), "Public".to_string()));
    }
    let props = i
        .properties
        .iter()
        .filter(|(k, _)| !k.starts_with("os_glance"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    vec![
        Field::text("name", "Name")
            .required()
            .max(ferrostack_types::image::limits::NAME_MAX)
            .value(image_name(i)),
        Field::new("visibility", "Visibility", Kind::Select)
            .options(vis)
            .value(i.visibility.clone()),
        Field::text("min_disk", "Minimum disk (GB)")
            .max(18)
            .value(i.min_disk.to_string()),
        Field::text("min_ram", "Minimum RAM (MB)")
            .max(18)
            .value(i.min_ram.to_string()),
        Field::new("protected", "Protected", Kind::Check).checked(i.protected),
        Field::new("properties", "Properties", Kind::Area)
            .max(65_535)
            .value(props)
            .hint("One key=value per line, e.g. os_distro=debian."),
    ]
}

/// An image's detail page: everything about it, its members and import tasks, and the
/// changes its project may make.
#[component]
pub fn ImageDetailPage() -> impl IntoView {
    let runner = runner();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // Reloaded when an event about this image arrives (status, import progress).
    let live = crate::live::use_live().resource("image", id);
    let data = Resource::new(
        move || (id(), runner.changed.get(), live.get()),
        |(id, _, _)| get_image(id),
    );
    // After a delete there is nothing to show: back to the list.
    Effect::new(move |_| {
        if let Some(Ok(d)) = runner.action.value().get() {
            if d.message.ends_with("deleted.") {
                let _ = window().location().set_href("/project/images");
            }
        }
    });
    view! {
        <main class="page">
            <p><a href="/project/images">"‹ Images"</a></p>
            <RunnerDialog runner/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <Refused e/> }.into_any(),
                    Ok(d) => view! { <Detail d runner/> }.into_any(),
                })}
            </Transition>
        </main>
    }
}

#[component]
pub(crate) fn Detail(d: ImageDetail, runner: Runner<ImageOp>) -> impl IntoView {
    let i = d.image.clone();
    let name = image_name(&i);
    let id = i.id.clone();
    let edit = {
        let (i, id) = (i.clone(), id.clone());
        move |_| {
            let id = id.clone();
            runner.open(Dialog::form(
                format!("Edit image {}", image_name(&i)),
                "Save",
                image_fields(&i, d.is_admin),
                move |v| ImageOp::Update {
                    id: id.clone(),
                    name: val(&v, "name"),
                    visibility: val(&v, "visibility"),
                    min_disk: val(&v, "min_disk"),
                    min_ram: val(&v, "min_ram"),
                    protected: !val(&v, "protected").is_empty(),
                    properties: val(&v, "properties"),
                },
            ))
        }
    };
    let delete = {
        let (id, name) = (id.clone(), name.clone());
        move |_| {
            runner.open(Dialog::confirm(
                format!("Delete image {name}?"),
                "The image and its data are deleted. This cannot be undone.",
                "Delete image",
                ImageOp::Delete { id: id.clone() },
            ))
        }
    };
    let share = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            runner.open(Dialog::form(
                "Share with a project",
                "Share",
                vec![Field::text("member", "Project ID")
                    .required()
                    .max(64)
                    .hint("The project sees the image once it accepts.")],
                move |v| ImageOp::MemberAdd {
                    id: id.clone(),
                    member: val(&v, "member"),
                },
            ))
        }
    };
    let active = i.status != "deactivated";
    let set_active = {
        let id = id.clone();
        move |_| {
            runner.run(ImageOp::SetActive {
                id: id.clone(),
                active: !active,
            })
        }
    };
    let fact = |label: &'static str, value: String, test: &'static str| {
        view! { <dt>{label}</dt><dd data-test=test>{value}</dd> }
    };
    let props: Vec<(String, String)> = i.properties.clone().into_iter().collect();
    let members = d.members.clone();
    let pending_for_me = !d.mine && d.members.iter().any(|m| m.status == "pending");
    let decide = {
        let id = id.clone();
        move |accept: bool| {
            runner.run(ImageOp::MemberDecide {
                id: id.clone(),
                accept,
            })
        }
    };
    let decide2 = decide.clone();
    let mine = d.mine;
    view! {
        <h1 data-test="image-title">{name.clone()}</h1>
        <Show when=move || mine>
            <div class="toolbar">
                <button class="btn" data-test="image-edit" on:click=edit.clone()>"Edit"</button>
                <button class="btn btn-secondary" data-test="image-share" on:click=share.clone()>"Share with a project"</button>
                <button class="btn btn-secondary" data-test="image-set-active" on:click=set_active.clone()>
                    {if active { "Deactivate" } else { "Reactivate" }}</button>
                <button class="btn btn-danger-quiet" data-test="image-delete" on:click=delete.clone()>"Delete"</button>
            </div>
        </Show>
        <Show when=move || pending_for_me>
            <div class="toolbar">
                <span>"This image is shared with your project."</span>
                <button class="btn" data-test="image-accept" on:click={let d = decide.clone(); move |_| d(true)}>"Accept"</button>
                <button class="btn btn-secondary" data-test="image-reject" on:click={let d = decide2.clone(); move |_| d(false)}>"Reject"</button>
            </div>
        </Show>
        <section class="card">
            <dl class="facts" data-test="image-facts">
                {fact("ID", i.id.clone(), "fact-id")}
                {fact("Status", i.status.clone(), "fact-status")}
                {fact("Visibility", i.visibility.clone(), "fact-visibility")}
                {fact("Protected", if i.protected { "yes".into() } else { "no".into() }, "fact-protected")}
                {fact("Disk format", i.disk_format.clone().unwrap_or_default(), "fact-disk-format")}
                {fact("Container format", i.container_format.clone().unwrap_or_default(), "fact-container-format")}
                {fact("Size", i.size.map(size).unwrap_or_else(|| "no data yet".into()), "fact-size")}
                {fact("Virtual size", i.virtual_size.map(size).unwrap_or_default(), "fact-virtual-size")}
                {fact("Minimum disk", format!("{} GB", i.min_disk), "fact-min-disk")}
                {fact("Minimum RAM", format!("{} MB", i.min_ram), "fact-min-ram")}
                {fact("Checksum (MD5)", i.checksum.clone().unwrap_or_default(), "fact-checksum")}
                {fact("Owner (project)", i.owner.clone(), "fact-owner")}
                {fact("Created", i.created_at.clone(), "fact-created")}
                {fact("Updated", i.updated_at.clone(), "fact-updated")}
            </dl>
        </section>
        <section class="card">
            <h2>"Properties"</h2>
            {if props.is_empty() {
                view! { <p class="muted">"No custom properties."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-test="image-properties">
                        <tbody>
                            {props.into_iter().map(|(k, v)| { let key = k.clone(); view! { <tr data-name=key><th>{k}</th><td>{v}</td></tr> } }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <Show when=move || mine>
            <section class="card">
                <h2>"Members"</h2>
                {
                    let id = id.clone();
                    let rows: Vec<Row> = members.iter().map(|m| Row {
                        id: m.member_id.clone(),
                        name: m.member_id.clone(),
                        cells: vec![Cell::Code(m.member_id.clone()), Cell::Text(m.status.clone())],
                        actions: vec![("delete", "Remove")],
                    }).collect();
                    let on_action = Callback::new(move |(_k, row): (&'static str, Row)| {
                        runner.run(ImageOp::MemberRemove { id: id.clone(), member: row.id })
                    });
                    view! {
                        <DataTable test="members" columns=vec!["Project", "Status"] rows=Signal::stored(rows) on_action
                            empty="Not shared with any project."/>
                    }
                }
            </section>
            <section class="card">
                <h2>"Imports"</h2>
                {
                    let tasks: Vec<Row> = d.tasks.iter().map(|t| Row {
                        id: t.id.clone(),
                        name: t.id.clone(),
                        cells: vec![
                            Cell::Text(t.created_at.clone()),
                            badge(&t.status),
                            Cell::Text(format!("{} {}%", t.step, t.progress)),
                            Cell::Text(t.message.clone()),
                        ],
                        actions: Vec::new(),
                    }).collect();
                    view! {
                        <DataTable test="tasks" columns=vec!["Started", "Status", "Step", "Message"] rows=Signal::stored(tasks)
                            on_action=Callback::new(|_| ()) empty="No imports (glance-direct) of this image."/>
                    }
                }
            </section>
        </Show>
        <section class="card">
            <h2>"Timeline"</h2>
            {
                let rows: Vec<Row> = d.events.iter().rev().map(|e| Row {
                    id: e.seq.to_string(),
                    name: e.action.clone(),
                    cells: vec![
                        Cell::Text(e.at.clone()),
                        Cell::Text(e.action.clone()),
                        Cell::Text(match e.progress {
                            Some(p) if !e.message.is_empty() => format!("{} ({p}%)", e.message),
                            _ if !e.message.is_empty() => e.message.clone(),
                            _ => e.status.clone(),
                        }),
                        Cell::Text(e.user_name.clone()),
                        Cell::Text(e.request_id.clone().unwrap_or_default()),
                    ],
                    actions: Vec::new(),
                }).collect();
                view! {
                    <DataTable test="timeline" columns=vec!["When", "What", "Detail", "By", "Request"] rows=Signal::stored(rows)
                        on_action=Callback::new(|_| ()) empty="Nothing recorded yet."/>
                }
            }
        </section>
    }
}
