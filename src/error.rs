//! Why the app will not start, in words a patient or a clinic's IT contact can act on,
//! in their language ([`AppError::message`]). Messages name the offending setting, never
//! a secret.

use haven_i18n::Arg;
use haven_protocol::ConfigError;
use haven_protocol::brand::{BrandError, MAX_SUPPORT_CHARS};
use haven_protocol::config::{IDLE_TIMEOUT_RANGE_SECS, MAX_BRAND_NAME_CHARS};

use crate::i18n::{Msg, t, tf};
use crate::transport::https::HttpError;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq)]
pub enum AppError {
    /// The page itself is not a secure context (or not served over https://).
    InsecurePage { scheme: String },
    /// The server's configuration names an endpoint or a value we refuse.
    Config(ConfigError),
    /// The configuration could not be fetched or read.
    Network(HttpError),
}

impl From<ConfigError> for AppError {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

impl From<HttpError> for AppError {
    fn from(error: HttpError) -> Self {
        Self::Network(error)
    }
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

    /// What went wrong, in the current language (a reactive read of it).
    pub fn message(&self) -> String {
        match self {
            Self::InsecurePage { scheme } => {
                tf(Msg::RefusedInsecurePage, &[("scheme", Arg::from(scheme))])
            }
            Self::Config(error) => {
                let problem = match error {
                    ConfigError::Endpoint { field, .. } => {
                        tf(Msg::RefusedConfigEndpoint, &[("field", Arg::from(*field))])
                    }
                    ConfigError::BrandName => tf(
                        Msg::RefusedConfigBrandName,
                        &[("max", Arg::from(MAX_BRAND_NAME_CHARS))],
                    ),
                    ConfigError::Brand(BrandError::Colour) => t(Msg::RefusedConfigBrandColour),
                    ConfigError::Brand(BrandError::Support) => tf(
                        Msg::RefusedConfigBrandSupport,
                        &[("max", Arg::from(MAX_SUPPORT_CHARS))],
                    ),
                    ConfigError::Brand(BrandError::LogoPath) => t(Msg::RefusedConfigBrandLogo),
                    ConfigError::EmbedOrigins => t(Msg::RefusedConfigEmbedOrigins),
                    ConfigError::IdleTimeout => tf(
                        Msg::RefusedConfigIdleTimeout,
                        &[
                            ("min", Arg::from(*IDLE_TIMEOUT_RANGE_SECS.start())),
                            ("max", Arg::from(*IDLE_TIMEOUT_RANGE_SECS.end())),
                        ],
                    ),
                };
                tf(Msg::RefusedConfig, &[("problem", Arg::from(problem))])
            }
            Self::Network(error) => tf(
                Msg::RefusedNetwork,
                &[("problem", Arg::from(error.to_string()))],
            ),
        }
    }

    /// The technical detail behind the message, for the clinic's IT contact: the
    /// configuration check's own (English) words, shown untranslated.
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::Config(error) => Some(error.to_string()),
            Self::InsecurePage { .. } | Self::Network(_) => None,
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InsecurePage { .. } => None,
            Self::Config(error) => Some(error),
            Self::Network(error) => Some(error),
        }
    }
}
