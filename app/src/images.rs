//! Project > Images and Admin > Images: the images a project can use (its own, public,
//! shared with it) or, for admins, every project's; filters and marker paging as the
//! image API has them; an image's detail page with its properties, members and import
//! tasks; create with a file upload that shows real progress and can be cancelled;
//! edit, share, deactivate, delete. Every change goes through `image_do`, which calls
//! the image service: the console and the Glance API cannot disagree.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use ferrostack_types::events::Event;
use ferrostack_types::image::{Image, ImageMember, ImageTask};

use crate::home::size;
use crate::kit::{
    toaster, urlencode, val, Cell, DataTable, Dialog, Done, Field, Kind, Refused, Row, Runner,
    RunnerDialog,
};

/// Disk formats offered when creating an image (the service accepts Glance's full list).
pub const DISK_FORMATS: &[(&str, &str)] = &[
    ("raw", "Raw"),
    ("qcow2", "QCOW2 (QEMU)"),
    ("iso", "ISO (optical disc)"),
    ("vmdk", "VMDK (VMware)"),
    ("vhd", "VHD (Hyper-V)"),
    ("vhdx", "VHDX (Hyper-V)"),
    ("vdi", "VDI (VirtualBox)"),
];

/// A change to an image, as the console asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageOp {
    Update {
        id: String,
        name: String,
        visibility: String,
        min_disk: String,
        min_ram: String,
        protected: bool,
        /// Custom properties, one `key=value` per line.
        properties: String,
    },
    Delete {
        id: String,
    },
    /// Protect an image once its upload is done (protected images cannot be deleted,
    /// so the record is created unprotected: a failed upload can still be cleaned up).
    Protect {
        id: String,
    },
    SetActive {
        id: String,
        active: bool,
    },
    MemberAdd {
        id: String,
        member: String,
    },
    MemberRemove {
        id: String,
        member: String,
    },
    /// The caller's project accepts or rejects an image shared with it.
    MemberDecide {
        id: String,
        accept: bool,
    },
}

#[server(endpoint = "image_do", input = Json)]
pub async fn image_do(op: ImageOp) -> Result<Done, ServerFnError> {
    ssr::run(op).await.map_err(crate::auth::ssr::say)
}

/// A page of images, with the marker of the next page when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagesPage {
    pub items: Vec<Image>,
    pub next: Option<String>,
    /// Project names by id, for the owner column (admins).
    pub owners: Vec<(String, String)>,
    /// The images on this page the caller may change (the service's rule).
    pub writable: Vec<String>,
}

/// Images the caller may see, filtered as the Glance API filters (`all` is Admin >
/// Images: every project's, refused by the service to non-admins).
#[server(endpoint = "list_images")]
pub async fn list_images(
    all: bool,
    name: String,
    visibility: String,
    status: String,
    marker: String,
) -> Result<ImagesPage, ServerFnError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let images = ssr::images()?;
    let per_page = crate::settings::ssr::page_size().await;
    let some = |s: String| (!s.is_empty()).then_some(s);
    // Admin > Images asks for every project's images; the service refuses that to
    // anyone who is not an admin.
    let q = ferrostack_image::ImageQuery {
        name: some(name),
        status: some(status),
        visibility: some(visibility),
        every_project: all,
        marker: some(marker),
        limit: Some(per_page as usize),
        sort: vec![("name".into(), "asc".into())],
        ..Default::default()
    };
    let (items, more) = images
        .image_list(&ctx, q)
        .await
        .map_err(crate::auth::ssr::say)?;
    let owners = if ctx.is_admin() {
        let (projects, _) = id
            .project_page(&ctx, "", 0, 1000)
            .await
            .map_err(crate::auth::ssr::say)?;
        projects.into_iter().map(|p| (p.id, p.name)).collect()
    } else {
        Vec::new()
    };
    Ok(ImagesPage {
        next: more.then(|| items.last().map(|i| i.id.clone())).flatten(),
        writable: items
            .iter()
            .filter(|i| images.may_change(&ctx, &i.owner))
            .map(|i| i.id.clone())
            .collect(),
        items,
        owners,
    })
}

/// One image with what its detail page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    pub image: Image,
    pub members: Vec<ImageMember>,
    pub tasks: Vec<ImageTask>,
    /// Its timeline: what happened to it, when, by whom, under which request id.
    pub events: Vec<Event>,
    /// Whether the caller may change it (its project's member, or an admin).
    pub mine: bool,
    pub is_admin: bool,
}

#[server(endpoint = "get_image")]
pub async fn get_image(id: String) -> Result<ImageDetail, ServerFnError> {
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let images = ssr::images()?;
    let say = crate::auth::ssr::say;
    let image = images.image_get(&ctx, &id).await.map_err(say)?;
    let mine = images.may_change(&ctx, &image.owner);
    let members = images.member_list(&ctx, &id).await.unwrap_or_default();
    let tasks = if mine {
        images.image_tasks(&ctx, &id).await.map_err(say)?
    } else {
        Vec::new()
    };
    let events = images.image_events(&ctx, &id).await.map_err(say)?;
    Ok(ImageDetail {
        image,
        members,
        tasks,
        events,
        mine,
        is_admin: ctx.is_admin(),
    })
}

/// Create the image record the upload then fills (status `queued`).
#[server(endpoint = "create_image")]
pub async fn create_image(
    name: String,
    disk_format: String,
    visibility: String,
    min_disk: String,
    min_ram: String,
) -> Result<Image, ServerFnError> {
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let images = ssr::images()?;
    let new = ferrostack_image::NewImage {
        name: Some(name),
        disk_format: Some(disk_format),
        container_format: Some("bare".into()),
        visibility: Some(visibility),
        min_disk: ssr::whole("Minimum disk", &min_disk)?,
        min_ram: ssr::whole("Minimum RAM", &min_ram)?,
        ..Default::default()
    };
    images
        .image_create(&ctx, new)
        .await
        .map_err(crate::auth::ssr::say)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use ferrostack_core::{Error, Result};
    use ferrostack_image::{Images, Patch};
    use leptos::prelude::*;

    use super::ImageOp;
    use crate::kit::Done;

    pub fn images() -> Result<Arc<Images>, ServerFnError> {
        crate::services::services().map(|s| s.images)
    }

    /// A form's whole number ("" is 0), or a reason.
    pub fn whole(label: &str, s: &str) -> Result<i64, ServerFnError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(0);
        }
        s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ServerFnError::new(format!("{label} must be a whole number, 0 or more."))
        })
    }

    /// `key=value` lines into properties, refusing lines without `=`.
    fn properties(text: &str) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line.split_once('=').ok_or_else(|| {
                Error::bad_request(format!(
                    "Property line {} ({line:?}) needs the form key=value.",
                    n + 1
                ))
            })?;
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(out)
    }

    pub async fn run(op: ImageOp) -> Result<Done> {
        let (_, ctx, _) = crate::auth::ssr::caller()
            .await
            .map_err(|e| Error::Unauthenticated(crate::auth::reason(&e)))?;
        let images = images().map_err(Error::internal)?;
        let number = |label: &str, s: &str| {
            whole(label, s).map_err(|e| Error::bad_request(crate::auth::reason(&e)))
        };
        match op {
            ImageOp::Update {
                id,
                name,
                visibility,
                min_disk,
                min_ram,
                protected,
                properties: text,
            } => {
                let now = images.image_get(&ctx, &id).await?;
                let mut ops = vec![
                    Patch::Replace("name".into(), name.clone().into()),
                    Patch::Replace("visibility".into(), visibility.into()),
                    Patch::Replace("min_disk".into(), number("Minimum disk", &min_disk)?.into()),
                    Patch::Replace("min_ram".into(), number("Minimum RAM", &min_ram)?.into()),
                    Patch::Replace("protected".into(), protected.into()),
                ];
                let wanted = properties(&text)?;
                for k in now.properties.keys() {
                    if !k.starts_with("os_glance") && !wanted.iter().any(|(w, _)| w == k) {
                        ops.push(Patch::Remove(k.clone()));
                    }
                }
                for (k, v) in wanted {
                    if now.properties.get(&k) != Some(&v) {
                        ops.push(Patch::Add(k, v.into()));
                    }
                }
                images.image_update(&ctx, &id, ops).await?;
                Ok(Done::say(format!("Image {name} saved.")))
            }
            ImageOp::Delete { id } => {
                let img = images.image_get(&ctx, &id).await?;
                images.image_delete(&ctx, &id).await?;
                Ok(Done::say(format!(
                    "Image {} deleted.",
                    img.name.unwrap_or(id)
                )))
            }
            ImageOp::Protect { id } => {
                images
                    .image_update(
                        &ctx,
                        &id,
                        vec![Patch::Replace("protected".into(), true.into())],
                    )
                    .await?;
                Ok(Done::say("Image protected."))
            }
            ImageOp::SetActive { id, active } => {
                images.image_set_active(&ctx, &id, active).await?;
                Ok(Done::say(if active {
                    "Image reactivated."
                } else {
                    "Image deactivated: it cannot be downloaded or booted until it is reactivated."
                }))
            }
            ImageOp::MemberAdd { id, member } => {
                images.member_add(&ctx, &id, member.trim()).await?;
                Ok(Done::say(format!(
                    "Shared with project {}; it appears there once that project accepts.",
                    member.trim()
                )))
            }
            ImageOp::MemberRemove { id, member } => {
                images.member_delete(&ctx, &id, &member).await?;
                Ok(Done::say(format!(
                    "Project {member} no longer shares the image."
                )))
            }
            ImageOp::MemberDecide { id, accept } => {
                let project = ctx
                    .project_id()
                    .ok_or_else(|| Error::forbidden("Choose a project first."))?
                    .to_string();
                let status = if accept { "accepted" } else { "rejected" };
                images.member_update(&ctx, &id, &project, status).await?;
                Ok(Done::say(format!("Image {status}.")))
            }
        }
    }
}

pub fn runner() -> Runner<ImageOp> {
    Runner::new(Action::new(|op: &ImageOp| image_do(op.clone())))
}

fn badge(status: &str) -> Cell {
    let class = match status {
        "active" => "ok",
        "killed" | "deactivated" => "bad",
        _ => "busy",
    };
    Cell::Badge(status.to_string(), class)
}

fn image_name(i: &Image) -> String {
    i.name.clone().unwrap_or_else(|| i.id.clone())
}

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

/// Where an upload is.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Form,
    Creating,
    Uploading,
    Failed(String),
}

/// "12.0 MiB of 64.0 MiB · 30.1 MiB/s · 2 s left".
fn progress_text(sent: f64, total: f64, secs: f64) -> String {
    if total > 0.0 && sent >= total {
        return format!(
            "All {} sent; the cloud is checking the image…",
            size(total as i64)
        );
    }
    let rate = if secs > 0.0 { sent / secs } else { 0.0 };
    let left = if rate > 0.0 {
        let s = ((total - sent) / rate).ceil() as i64;
        if s >= 60 {
            format!("{} min {} s left", s / 60, s % 60)
        } else {
            format!("{s} s left")
        }
    } else {
        "estimating…".to_string()
    };
    format!(
        "{} of {} · {}/s · {left}",
        size(sent as i64),
        size(total as i64),
        size(rate as i64)
    )
}

/// A disk format guessed from a file name (`cirros.qcow2` → qcow2).
fn guess_format(file: &str) -> &'static str {
    let ext = file.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "qcow2" | "qcow" => "qcow2",
        "iso" => "iso",
        "vmdk" => "vmdk",
        "vhd" => "vhd",
        "vhdx" => "vhdx",
        "vdi" => "vdi",
        _ => "raw",
    }
}

/// Create an image from a file: the record first, then the bytes streamed with
/// progress (sent, rate, time left). Cancel stops the upload and removes the record,
/// as does a refusal, so nothing half-made is left behind.
#[component]
fn CreateImage(close: Callback<()>, changed: RwSignal<u64>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let format = RwSignal::new("raw".to_string());
    let visibility = RwSignal::new("private".to_string());
    let min_disk = RwSignal::new(String::new());
    let min_ram = RwSignal::new(String::new());
    let protected = RwSignal::new(false);
    let phase = RwSignal::new(Phase::Form);
    let sent = RwSignal::new(0.0f64);
    let total = RwSignal::new(0.0f64);
    let started = RwSignal::new(0.0f64);
    let now = RwSignal::new(0.0f64);
    let file = StoredValue::new_local(None::<web_sys::File>);
    let xhr = StoredValue::new_local(None::<web_sys::XmlHttpRequest>);
    let image_id = RwSignal::new(None::<String>);
    let file_name = RwSignal::new(String::new());
    let toasts = toaster();

    // True while bytes are on their way: leaving the page then aborts the upload and
    // removes the record (cleanups run before this component's signals are dropped).
    let inflight = StoredValue::new(false);
    let remove_record = move || {
        if let Some(Some(id)) = image_id.try_get_untracked() {
            leptos::task::spawn_local(async move {
                let _ = image_do(ImageOp::Delete { id }).await;
            });
        }
    };
    on_cleanup(move || {
        if inflight.try_get_value() == Some(true) {
            if let Some(Some(r)) = xhr.try_get_value() {
                let _ = r.abort();
            }
            remove_record();
        }
    });
    let pick = move |ev: leptos::ev::Event| {
        use leptos::wasm_bindgen::JsCast;
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
        let f = input.and_then(|i| i.files()).and_then(|l| l.get(0));
        if let Some(f) = &f {
            let n = f.name();
            format.set(guess_format(&n).to_string());
            if name.get_untracked().trim().is_empty() {
                let stem = n
                    .rsplit_once('.')
                    .map(|(s, _)| s.to_string())
                    .unwrap_or(n.clone());
                name.set(stem);
            }
            file_name.set(n);
            total.set(f.size());
        }
        file.set_value(f);
    };
    let fail = move |why: String| {
        inflight.set_value(false);
        phase.set(Phase::Failed(why));
        remove_record();
        image_id.set(None);
    };
    let upload = move |id: String| {
        use leptos::wasm_bindgen::closure::Closure;
        use leptos::wasm_bindgen::JsCast;
        // The dialog may have gone while the record was being created.
        let Some(Some(f)) = file.try_get_value() else {
            leptos::task::spawn_local(async move {
                let _ = image_do(ImageOp::Delete { id }).await;
            });
            return;
        };
        let clock = move || {
            window()
                .performance()
                .map(|p| p.now() / 1000.0)
                .unwrap_or(0.0)
        };
        let Ok(req) = web_sys::XmlHttpRequest::new() else {
            fail("This browser cannot upload files.".into());
            return;
        };
        let url = format!("/console/images/{id}/file");
        if req.open_with_async("PUT", &url, true).is_err()
            || req
                .set_request_header("Content-Type", "application/octet-stream")
                .is_err()
        {
            fail("The upload could not start.".into());
            return;
        }
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                sent.set(e.loaded());
                if e.length_computable() {
                    total.set(e.total());
                }
                now.set(clock());
            });
        if let Ok(up) = req.upload() {
            up.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        on_progress.forget();
        let done_req = req.clone();
        let on_load = Closure::once_into_js(move || {
            inflight.set_value(false);
            let status = done_req.status().unwrap_or(0);
            if (200..300).contains(&status) {
                sent.set(total.get_untracked());
                let name = name.get_untracked();
                let protect = protected.get_untracked();
                let id = image_id.get_untracked();
                leptos::task::spawn_local(async move {
                    let mut said = format!("Image {name} uploaded and active.");
                    if let (true, Some(id)) = (protect, id) {
                        if let Err(e) = image_do(ImageOp::Protect { id }).await {
                            said = format!(
                                "{said} It could not be protected: {}",
                                crate::auth::reason(&e)
                            );
                        }
                    }
                    toasts.say(true, said);
                    changed.update(|n| *n += 1);
                });
                close.run(());
            } else {
                let why = done_req
                    .response_text()
                    .ok()
                    .flatten()
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| format!("The upload failed (HTTP {status})."));
                fail(why);
            }
        });
        req.set_onload(Some(on_load.unchecked_ref()));
        let on_error = Closure::once_into_js(move || {
            fail("The connection to the cloud was lost during the upload.".into());
        });
        req.set_onerror(Some(on_error.unchecked_ref()));
        started.set(clock());
        now.set(clock());
        sent.set(0.0);
        inflight.set_value(true);
        if req.send_with_opt_blob(Some(&f)).is_err() {
            fail("The upload could not start.".into());
            return;
        }
        xhr.set_value(Some(req));
        phase.set(Phase::Uploading);
    };
    let problem = move || -> Option<String> {
        let n = name.get();
        if n.trim().is_empty() {
            return Some("Enter a name.".into());
        }
        if n.chars().count() > 255 {
            return Some("Name is at most 255 characters.".into());
        }
        if file_name.get().is_empty() {
            return Some("Choose a file to upload.".into());
        }
        for (label, v) in [
            ("Minimum disk", min_disk.get()),
            ("Minimum RAM", min_ram.get()),
        ] {
            if !v.trim().is_empty() && v.trim().parse::<u64>().is_err() {
                return Some(format!("{label} must be a whole number, 0 or more."));
            }
        }
        None
    };
    let tried = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        if problem().is_some() {
            return;
        }
        phase.set(Phase::Creating);
        leptos::task::spawn_local(async move {
            match create_image(
                name.get_untracked(),
                format.get_untracked(),
                visibility.get_untracked(),
                min_disk.get_untracked(),
                min_ram.get_untracked(),
            )
            .await
            {
                Ok(img) => {
                    image_id.set(Some(img.id.clone()));
                    upload(img.id);
                }
                Err(e) => phase.set(Phase::Failed(crate::auth::reason(&e))),
            }
        });
    };
    let cancel = move |_| {
        if phase.get_untracked() == Phase::Uploading {
            inflight.set_value(false);
            if let Some(r) = xhr.get_value() {
                let _ = r.abort();
            }
            remove_record();
            toasts.say(true, "Upload cancelled; the image was not created.".into());
        }
        close.run(());
    };
    let percent = move || {
        let t = total.get();
        if t > 0.0 {
            (sent.get() * 100.0 / t).clamp(0.0, 100.0)
        } else {
            0.0
        }
    };
    let busy = move || matches!(phase.get(), Phase::Creating | Phase::Uploading);
    view! {
        <div class="modal-backdrop"></div>
        <div class="modal" role="dialog" aria-modal="true" aria-label="Create image" data-test="modal">
            <h2>"Create image"</h2>
            <form class="form" novalidate on:submit=submit>
                <label><span>"Image file *"</span>
                    <input type="file" data-test="field-file" on:change=pick disabled=busy/>
                </label>
                <label><span>"Name *"</span>
                    <input type="text" data-test="field-name" prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev)) disabled=busy/>
                </label>
                <label><span>"Disk format"</span>
                    <select data-test="field-disk_format" prop:value=move || format.get()
                        on:change=move |ev| format.set(event_target_value(&ev)) disabled=busy>
                        {DISK_FORMATS.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                    </select>
                    <small class="muted">"Checked against the file's contents before the image becomes active."</small>
                </label>
                <label><span>"Visibility"</span>
                    <select data-test="field-visibility" prop:value=move || visibility.get()
                        on:change=move |ev| visibility.set(event_target_value(&ev)) disabled=busy>
                        <option value="private">"Private: this project"</option>
                        <option value="shared">"Shared: this project and projects you add"</option>
                        <option value="community">"Community: anyone who asks for it"</option>
                        <option value="public">"Public: everyone (admins)"</option>
                    </select>
                </label>
                <label><span>"Minimum disk (GB)"</span>
                    <input type="text" inputmode="numeric" data-test="field-min_disk" prop:value=move || min_disk.get()
                        on:input=move |ev| min_disk.set(event_target_value(&ev)) disabled=busy/>
                </label>
                <label><span>"Minimum RAM (MB)"</span>
                    <input type="text" inputmode="numeric" data-test="field-min_ram" prop:value=move || min_ram.get()
                        on:input=move |ev| min_ram.set(event_target_value(&ev)) disabled=busy/>
                </label>
                <label class="check"><span>"Protected (cannot be deleted)"</span>
                    <input type="checkbox" data-test="field-protected" prop:checked=move || protected.get()
                        on:change=move |ev| protected.set(event_target_checked(&ev)) disabled=busy/>
                </label>
                {move || (tried.get()).then(problem).flatten().map(|p| view! { <p class="error" data-test="field-error">{p}</p> })}
                <Show when=move || phase.get() == Phase::Uploading>
                    <div class="upload" data-test="upload">
                        <progress max="100" value=move || format!("{:.1}", percent()) data-test="upload-progress"
                            data-percent=move || format!("{:.0}", percent().floor())></progress>
                        <span data-test="upload-figures">{move || progress_text(sent.get(), total.get(), now.get() - started.get())}</span>
                    </div>
                </Show>
                {move || match phase.get() {
                    Phase::Failed(why) => Some(view! { <p class="error" role="alert" data-test="modal-error">{why}</p> }),
                    _ => None,
                }}
                <div class="actions">
                    <button type="button" class="btn btn-secondary" data-test="dialog-cancel" on:click=cancel
                        disabled=move || phase.get() == Phase::Creating>
                        {move || if phase.get() == Phase::Uploading { "Cancel upload" } else { "Cancel" }}
                    </button>
                    <button type="submit" class="btn" data-test="dialog-submit" disabled=busy>"Create image"</button>
                </div>
            </form>
        </div>
    }
}

fn image_fields(i: &Image, admin: bool) -> Vec<Field> {
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
            .max(255)
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
fn Detail(d: ImageDetail, runner: Runner<ImageOp>) -> impl IntoView {
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
