//! Create image: the record, then the file streamed by the browser with its own
//! progress (bytes, rate, time left), cancellable.

use super::prelude::*;

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

/// Where an upload is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Phase {
    Form,
    Creating,
    Uploading,
    Failed(String),
}

/// "12.0 MiB of 64.0 MiB · 30.1 MiB/s · 2 s left".
pub(crate) fn progress_text(sent: f64, total: f64, secs: f64) -> String {
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
pub(crate) fn guess_format(file: &str) -> &'static str {
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
pub(crate) fn CreateImage(close: Callback<()>, changed: RwSignal<u64>) -> impl IntoView {
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
                    .map(|t| {
                        serde_json::from_str::<crate::error::ConsoleError>(&t)
                            .map(|e| e.message)
                            .unwrap_or(t)
                    })
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
        let max = ferrostack_types::image::limits::NAME_MAX;
        if n.chars().count() > max {
            return Some(format!("Name is at most {max} characters."));
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
