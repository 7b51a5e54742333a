//! What every request passes through and what is not a service of its own: the security
//! headers, the app's static files and their CSP hashes, health and configuration, the
//! OpenAPI document and the AsyncAPI document of `/ws`, the request-body extractors, and
//! the `/ws` transport.

pub mod api;
pub mod assets;
pub mod asyncapi;
pub mod extract;
pub mod headers;
pub mod openapi;
pub mod ws;
