//! The WASM entry point. Everything else of the console lives in `app`; this crate
//! only exists so the server's dependency tree never reaches the WASM build.

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The panels are lazy routes (split into their own WASM files), which only the
    // async hydration entry point supports.
    leptos::mount::hydrate_lazy(app::App);
}
