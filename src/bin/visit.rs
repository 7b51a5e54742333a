//! Haven's visit module: the visit views and the calls, loaded when a visit view opens,
//! outside the page's first download. See `src/visit/host.rs` (the app's side) and
//! `src/visit/module.rs` (this side).

use wasm_bindgen::prelude::*;

/// The app hands the module its place on the page and its end of the channel.
#[wasm_bindgen]
pub fn mount(place: web_sys::HtmlElement, port: web_sys::MessagePort) {
    haven_app::visit::module::mount(place, port);
}

fn main() {}
