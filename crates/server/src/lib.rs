//! The Haven server as a library: [`app`] builds the whole HTTP surface from an
//! [`AppState`], and [`serve::start`] puts it behind TLS. `main.rs` only parses the
//! command line.
//!
//! Trust: the server authenticates and routes; it never needs to read message content.
//! Everything that arrives from the network is parsed into a typed value or refused with
//! an [`error::Error`], which renders as a stable code and a human message and never
//! leaks internals.

pub mod admin;
pub mod audit;
pub mod clinical;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod error;
pub mod http;
pub mod identity;
pub mod routes;
pub mod secrets;
pub mod serve;
pub mod state;
pub mod store;
pub mod tenancy;
pub mod tls;
pub mod visits;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

pub use config::ServerConfig;
pub use state::AppState;

/// The largest request body any route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route of the server, with the security headers on every response.
pub fn app(state: AppState) -> Router {
    let mut api = Router::new();
    for (spec, handler) in routes::table() {
        let guard = axum::middleware::from_fn_with_state(
            (state.clone(), spec.access),
            identity::session::guard,
        );
        api = api.route(spec.path, handler.route_layer(guard));
    }
    let api = api
        .fallback(http::api::not_found)
        .method_not_allowed_fallback(http::api::method_not_allowed);

    Router::new()
        .nest("/api", api)
        .route("/ws", get(http::ws::upgrade))
        .fallback(http::assets::serve)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::headers::security_headers,
        ))
        .with_state(state)
}
