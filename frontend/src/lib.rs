//! The WASM entry point: hydrate the islands of the server-rendered page
//! (`#[island]` components of `app`), nothing else.
#![forbid(unsafe_code)]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // The islands' hydration functions are exported from `app`: keep it linked.
    #[allow(unused_imports)]
    use app::*;
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
