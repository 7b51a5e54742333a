//! What both sides of Haven must agree on, in one place: the URL policy (only `https://`
//! and `wss://` can be represented), the runtime configuration the server hands the app,
//! the API's error shape and the WebSocket frames.
//!
//! No I/O lives here, and nothing here trusts its input: every value that crosses the
//! network is parsed into one of these types or refused. The crate builds natively and
//! for wasm32, so the browser and the server run the very same checks.

pub mod access;
pub mod audit;
pub mod brand;
pub mod config;
pub mod error;
pub mod identity;
pub mod messaging;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod url;
pub mod visits;
pub mod ws;

pub use access::{Action, Role, View};
pub use brand::{BrandColours, Colour, Language};
pub use config::{Brand, ConfigError, RawRuntimeConfig, RuntimeConfig};
pub use error::{ApiError, ErrorBody, ErrorCode, Health};
pub use url::{HttpsUrl, UrlError, WssUrl};
