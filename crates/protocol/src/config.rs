//! The runtime configuration the server hands the app at `GET /api/config`.
//!
//! The app trusts nothing in it until it has been parsed: an endpoint that is not
//! `https://` or `wss://` makes the whole configuration unusable, and the app says which
//! endpoint and why instead of connecting anywhere.

use serde::{Deserialize, Serialize};

use crate::brand::{BrandColours, Language, valid_logo_path, valid_support};
use crate::url::{HttpsUrl, UrlError, WssUrl};

/// Shortest and longest idle time before automatic logoff that an organisation may set.
pub const IDLE_TIMEOUT_RANGE_SECS: std::ops::RangeInclusive<u32> = 10..=86_400;
/// The longest brand name we render.
pub const MAX_BRAND_NAME_CHARS: usize = 80;

/// How the organisation presents itself (white label): its name, colours, logo, support
/// contact and default language, as data.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub name: String,
    pub colours: BrandColours,
    /// `/api/brand/logo/{sha256}` on the same origin, or none.
    pub logo: Option<String>,
    /// How patients reach the clinic for help; empty when not set.
    pub support: String,
    pub language: Language,
}

impl Brand {
    /// Haven's own look under `name`.
    pub fn plain(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            colours: BrandColours::default(),
            logo: None,
            support: String::new(),
            language: Language::default(),
        }
    }
}

/// The configuration exactly as it arrives on the wire: nothing in it is trusted yet.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRuntimeConfig {
    pub api_origin: String,
    pub ws_url: String,
    pub brand: Brand,
    pub idle_timeout_secs: u32,
    /// Partner origins whose pages may frame the app; its postMessage API talks to
    /// these only.
    pub embed_origins: Vec<String>,
}

/// A configuration whose every endpoint is secure and whose every value is in range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub api_origin: HttpsUrl,
    pub ws_url: WssUrl,
    pub brand: Brand,
    pub idle_timeout_secs: u32,
    /// Bare `https://` origins, at most [`crate::brand::MAX_EMBED_ORIGINS`].
    pub embed_origins: Vec<String>,
}

/// Why a configuration was refused. `field` names the offending setting so the error
/// screen can say exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the setting `{field}` is not acceptable: {source}")]
    Endpoint {
        field: &'static str,
        #[source]
        source: UrlError,
    },
    #[error(
        "the brand name must be 1 to {MAX_BRAND_NAME_CHARS} characters without control characters"
    )]
    BrandName,
    #[error("the brand is not acceptable: {0}")]
    Brand(#[from] crate::brand::BrandError),
    #[error("the partner origins allowed to embed the app are not bare https:// origins")]
    EmbedOrigins,
    #[error("the idle timeout must be between {} and {} seconds", IDLE_TIMEOUT_RANGE_SECS.start(), IDLE_TIMEOUT_RANGE_SECS.end())]
    IdleTimeout,
}

/// Checks a brand name the way both sides want it: short, not blank, without control,
/// invisible or direction-changing characters ([`DECEPTIVE`](crate::identity::DECEPTIVE)).
pub fn valid_brand_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=MAX_BRAND_NAME_CHARS).contains(&count)
        && !name.trim().is_empty()
        && !name
            .chars()
            .any(|c| c.is_control() || crate::identity::is_deceptive(c))
}

impl TryFrom<RawRuntimeConfig> for RuntimeConfig {
    type Error = ConfigError;

    fn try_from(raw: RawRuntimeConfig) -> Result<Self, Self::Error> {
        let api_origin =
            HttpsUrl::parse(&raw.api_origin).map_err(|source| ConfigError::Endpoint {
                field: "api_origin",
                source,
            })?;
        let ws_url = WssUrl::parse(&raw.ws_url).map_err(|source| ConfigError::Endpoint {
            field: "ws_url",
            source,
        })?;
        if !valid_brand_name(&raw.brand.name) {
            return Err(ConfigError::BrandName);
        }
        if !valid_support(&raw.brand.support) {
            return Err(crate::brand::BrandError::Support.into());
        }
        if raw
            .brand
            .logo
            .as_deref()
            .is_some_and(|p| !valid_logo_path(p))
        {
            return Err(crate::brand::BrandError::LogoPath.into());
        }
        if !IDLE_TIMEOUT_RANGE_SECS.contains(&raw.idle_timeout_secs) {
            return Err(ConfigError::IdleTimeout);
        }
        let embed_origins = raw
            .embed_origins
            .iter()
            .map(|o| crate::brand::parse_embed_origin(o))
            .collect::<Option<Vec<_>>>()
            .filter(|o| o.len() <= crate::brand::MAX_EMBED_ORIGINS)
            .ok_or(ConfigError::EmbedOrigins)?;
        Ok(Self {
            api_origin,
            ws_url,
            brand: raw.brand,
            idle_timeout_secs: raw.idle_timeout_secs,
            embed_origins,
        })
    }
}

impl From<RuntimeConfig> for RawRuntimeConfig {
    fn from(config: RuntimeConfig) -> Self {
        Self {
            api_origin: config.api_origin.into(),
            ws_url: config.ws_url.into(),
            brand: config.brand,
            idle_timeout_secs: config.idle_timeout_secs,
            embed_origins: config.embed_origins,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawRuntimeConfig {
        RawRuntimeConfig {
            api_origin: "https://haven.example".into(),
            ws_url: "wss://haven.example/ws".into(),
            brand: Brand::plain("Haven"),
            idle_timeout_secs: 900,
            embed_origins: vec!["https://partner.example".into()],
        }
    }

    #[test]
    fn accepts_a_secure_configuration_and_round_trips() {
        let config = RuntimeConfig::try_from(raw()).unwrap();
        assert_eq!(config.ws_url.as_str(), "wss://haven.example/ws");
        let back = RawRuntimeConfig::from(config);
        assert_eq!(back.api_origin, "https://haven.example/");
    }

    #[test]
    fn refuses_a_partner_origin_that_is_not_a_bare_https_origin() {
        let mut bad = raw();
        bad.embed_origins = vec!["*".into()];
        assert_eq!(
            RuntimeConfig::try_from(bad).unwrap_err(),
            ConfigError::EmbedOrigins
        );
        let mut bad = raw();
        bad.brand.logo = Some("https://tracker.example/logo.png".into());
        assert!(matches!(
            RuntimeConfig::try_from(bad).unwrap_err(),
            ConfigError::Brand(_)
        ));
    }

    #[test]
    fn names_the_insecure_endpoint() {
        let mut bad = raw();
        bad.ws_url = "ws://haven.example/ws".into();
        let err = RuntimeConfig::try_from(bad).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Endpoint {
                field: "ws_url",
                ..
            }
        ));
        assert!(err.to_string().contains("ws_url"));
        assert!(err.to_string().contains("wss://"));

        let mut bad = raw();
        bad.api_origin = "http://haven.example".into();
        assert!(matches!(
            RuntimeConfig::try_from(bad),
            Err(ConfigError::Endpoint {
                field: "api_origin",
                ..
            })
        ));
    }

    #[test]
    fn refuses_out_of_range_values() {
        for name in ["", "   ", "a\u{0}b", &"x".repeat(MAX_BRAND_NAME_CHARS + 1)] {
            let mut bad = raw();
            bad.brand.name = name.into();
            assert_eq!(
                RuntimeConfig::try_from(bad),
                Err(ConfigError::BrandName),
                "{name:?}"
            );
        }
        for secs in [0, 9, 86_401, u32::MAX] {
            let mut bad = raw();
            bad.idle_timeout_secs = secs;
            assert_eq!(RuntimeConfig::try_from(bad), Err(ConfigError::IdleTimeout));
        }
    }
}
