//! The console's live feed: one `EventSource` per page on `/console/events` (the
//! server's event stream, authorised by the session), opened once in the shell.
//! Panels ask for a counter of the events that concern them and put it among their
//! resources' inputs, so a list or a detail page reloads its data exactly when
//! something it shows changed — never on a timer. The browser resumes a dropped
//! connection by itself with `Last-Event-ID`, and the server replays what was missed;
//! after a reconnection every counter moves too, so pages also re-read once.

use std::collections::HashMap;

use ferrostack_types::events::Event;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Live {
    /// Events seen per resource kind, and per `kind/id`.
    kinds: RwSignal<HashMap<String, u64>>,
    resources: RwSignal<HashMap<String, u64>>,
    /// Connections made (the first, then each reconnection).
    connects: RwSignal<u64>,
}

impl Live {
    /// Moves whenever a `kind` event arrives (or the feed reconnects).
    pub fn kind(self, kind: &'static str) -> Memo<u64> {
        Memo::new(move |_| {
            self.kinds.with(|m| m.get(kind).copied().unwrap_or(0)) + self.connects.get()
        })
    }

    /// Moves whenever an event about the `kind` resource `id()` arrives.
    pub fn resource(
        self,
        kind: &'static str,
        id: impl Fn() -> String + Send + Sync + 'static,
    ) -> Memo<u64> {
        Memo::new(move |_| {
            let key = format!("{kind}/{}", id());
            self.resources.with(|m| m.get(&key).copied().unwrap_or(0)) + self.connects.get()
        })
    }

    fn saw(self, e: &Event) {
        self.kinds
            .update(|m| *m.entry(e.kind.clone()).or_default() += 1);
        self.resources.update(|m| {
            *m.entry(format!("{}/{}", e.kind, e.resource_id))
                .or_default() += 1
        });
    }
}

/// The page's feed (provided by the shell; a page outside it gets a feed that never
/// moves).
pub fn use_live() -> Live {
    use_context::<Live>().unwrap_or(Live {
        kinds: RwSignal::new(HashMap::new()),
        resources: RwSignal::new(HashMap::new()),
        connects: RwSignal::new(0),
    })
}

/// Open the feed for this page once the signed-in user is known (in the browser;
/// nothing happens on the server). An admin follows every project's events, so
/// Admin panels move too.
pub fn provide_live(admin: impl Fn() -> Option<bool> + Send + Sync + 'static) {
    let live = Live {
        kinds: RwSignal::new(HashMap::new()),
        resources: RwSignal::new(HashMap::new()),
        connects: RwSignal::new(0),
    };
    provide_context(live);
    let opened = StoredValue::new(false);
    // Effects run only in the browser, once the page has hydrated.
    Effect::new(move |_| {
        if let Some(all) = admin() {
            if !opened.get_value() {
                opened.set_value(true);
                connect(live, all);
            }
        }
    });
}

fn connect(live: Live, all: bool) {
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    let url = if all {
        "/console/events?all=true"
    } else {
        "/console/events"
    };
    let Ok(es) = web_sys::EventSource::new(url) else {
        return;
    };
    let on_resource =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |m: web_sys::MessageEvent| {
            if let Some(e) = m
                .data()
                .as_string()
                .and_then(|t| serde_json::from_str::<Event>(&t).ok())
            {
                live.saw(&e);
                remember(&e);
            }
        });
    let _ = es.add_event_listener_with_callback("resource", on_resource.as_ref().unchecked_ref());
    on_resource.forget();
    let first = StoredValue::new(true);
    let on_ready =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_m: web_sys::MessageEvent| {
            // The first connection needs no re-read: the page's data is fresh.
            if first.get_value() {
                first.set_value(false);
            } else {
                live.connects.update(|n| *n += 1);
            }
            if let Some(root) = document().document_element() {
                let _ = root.set_attribute("data-live", "connected");
            }
        });
    let _ = es.add_event_listener_with_callback("ready", on_ready.as_ref().unchecked_ref());
    on_ready.forget();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-live", "reconnecting");
        }
    });
    let _ = es.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    on_error.forget();
    // Kept for the page's lifetime (the browser closes it when the page goes).
    std::mem::forget(es);
}

/// The last events this page received, on `window.__ferrostackEvents` (the newest 100):
/// what the feed delivered, for an operator in the browser's console and for tests.
fn remember(e: &Event) {
    use leptos::wasm_bindgen::JsValue;
    let w = window();
    let key = JsValue::from_str("__ferrostackEvents");
    let list = match js_sys_get(&w, &key) {
        Some(l) => l,
        None => {
            let l = leptos::web_sys::js_sys::Array::new();
            let _ = leptos::web_sys::js_sys::Reflect::set(&w, &key, &l);
            l
        }
    };
    let item = leptos::web_sys::js_sys::Object::new();
    for (k, v) in [
        ("seq", JsValue::from_f64(e.seq as f64)),
        ("kind", JsValue::from_str(&e.kind)),
        ("resource_id", JsValue::from_str(&e.resource_id)),
        ("action", JsValue::from_str(&e.action)),
        ("status", JsValue::from_str(&e.status)),
    ] {
        let _ = leptos::web_sys::js_sys::Reflect::set(&item, &JsValue::from_str(k), &v);
    }
    list.push(&item);
    if list.length() > 100 {
        list.shift();
    }
}

fn js_sys_get(
    w: &leptos::web_sys::Window,
    key: &leptos::wasm_bindgen::JsValue,
) -> Option<leptos::web_sys::js_sys::Array> {
    use leptos::wasm_bindgen::JsCast;
    leptos::web_sys::js_sys::Reflect::get(w, key)
        .ok()
        .and_then(|v| v.dyn_into::<leptos::web_sys::js_sys::Array>().ok())
}
