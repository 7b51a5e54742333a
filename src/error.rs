//! Why the app will not start, in words a patient or a clinic's IT contact can act on.
//! Messages name the offending setting, never a secret.

use haven_protocol::ConfigError;

use crate::transport::https::HttpError;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
    /// The page itself is not a secure context (or not served over https://).
    #[error(
        "This page was not loaded over a secure connection (it uses {scheme}:). Open Haven from its https:// address."
    )]
    InsecurePage { scheme: String },
    /// The server's configuration names an endpoint or a value we refuse.
    #[error("The server's configuration is not safe to use: {0}.")]
    Config(#[from] ConfigError),
    /// The configuration could not be fetched or read.
    #[error("Haven could not load its configuration: {0}.")]
    Network(#[from] HttpError),
}

impl AppError {
    /// A stable name for the kind of refusal, used in the page for tests and support.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InsecurePage { .. } => "insecure-page",
            Self::Config(_) => "insecure-config",
            Self::Network(_) => "network",
        }
    }
}
