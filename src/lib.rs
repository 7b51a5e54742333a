//! Haven's browser app: Leptos, client-side rendered, compiled to WebAssembly.
//!
//! Trust: the app runs only from a secure page and talks only to the `https://` and
//! `wss://` endpoints its configuration names, after parsing them into types that cannot
//! hold anything else (`crates/protocol`). All network code lives in `transport/`.

pub mod app;
pub mod audit;
pub mod boot;
pub mod capabilities;
pub mod components;
pub mod context;
pub mod devices;
pub mod diagnostics;
pub mod e2ee;
pub mod embed;
pub mod error;
pub mod i18n;
pub mod pages;
pub mod qr;
pub mod route;
pub mod session;
pub mod storage;
pub mod transport;
pub mod visit;

/// Mounts the app on the page's `<body>`.
pub fn start() {
    i18n::init();
    leptos::mount::mount_to_body(app::App);
}
