//! The WASM entry point. Everything else of the console lives in `app`; this crate
//! only exists so the server's dependency tree never reaches the WASM build.

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
