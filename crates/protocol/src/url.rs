//! URL newtypes that cannot hold an insecure scheme.
//!
//! `HttpsUrl` and `WssUrl` are the only way the app names an endpoint, so "the app talks
//! only to HTTPS/WSS" is a property of the types rather than of every call site. The
//! parser is deliberately narrow: it accepts absolute URLs of the shape
//! `scheme://host[:port][/path]` and refuses everything unusual (user info, fragments,
//! whitespace, control characters, non-ASCII), because an endpoint that a person
//! configured never needs those, and an attacker's would.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest URL we accept; configured endpoints are short.
pub const MAX_URL_LEN: usize = 2048;

/// Why a string is not an acceptable endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the address is empty")]
    Empty,
    #[error("the address is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("the address must start with {expected}:// but uses {found}")]
    InsecureScheme {
        expected: &'static str,
        found: String,
    },
    #[error("the address must be absolute and start with {expected}://")]
    NotAbsolute { expected: &'static str },
    #[error("the address has no host")]
    MissingHost,
    #[error("the address has an invalid host")]
    InvalidHost,
    #[error("the address has an invalid port")]
    InvalidPort,
    #[error("the address must not carry a user name or password")]
    UserInfo,
    #[error("the address must not carry a fragment")]
    Fragment,
    #[error("the address contains a character that is not allowed")]
    InvalidChar,
}

/// The parts of a parsed secure URL, normalised: lower-case host, no default port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts {
    host: String,
    port: Option<u16>,
    /// Starts with `/` (at least `/`); may carry a query.
    path: String,
}

impl Parts {
    fn render(&self, scheme: &str) -> String {
        match self.port {
            Some(port) => format!("{scheme}://{}:{port}{}", self.host, self.path),
            None => format!("{scheme}://{}{}", self.host, self.path),
        }
    }
}

fn scheme_of(input: &str) -> Option<&str> {
    let idx = input.find(':')?;
    let scheme = &input[..idx];
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some(scheme)
}

fn parse_host(host: &str) -> Result<String, UrlError> {
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if let Some(inner) = host.strip_prefix('[') {
        // IPv6 literal: hex digits, colons and dots only.
        let inner = inner.strip_suffix(']').ok_or(UrlError::InvalidHost)?;
        let ok = !inner.is_empty()
            && inner.contains(':')
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        return if ok {
            Ok(format!("[{}]", inner.to_ascii_lowercase()))
        } else {
            Err(UrlError::InvalidHost)
        };
    }
    if host.len() > 253 {
        return Err(UrlError::InvalidHost);
    }
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(UrlError::InvalidHost);
        }
    }
    Ok(host.to_ascii_lowercase())
}

fn parse_secure(input: &str, expected: &'static str) -> Result<Parts, UrlError> {
    if input.is_empty() {
        return Err(UrlError::Empty);
    }
    if input.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    // Scheme first, so that `http://...` is reported as what it is: a downgrade.
    match scheme_of(input) {
        Some(scheme) if scheme.eq_ignore_ascii_case(expected) => {}
        Some(scheme) => {
            return Err(UrlError::InsecureScheme {
                expected,
                found: scheme.to_ascii_lowercase(),
            });
        }
        None => return Err(UrlError::NotAbsolute { expected }),
    }
    if input
        .chars()
        .any(|c| !c.is_ascii() || c.is_ascii_control() || c == ' ' || c == '\\')
    {
        return Err(UrlError::InvalidChar);
    }
    if input.contains('#') {
        return Err(UrlError::Fragment);
    }
    let rest = input[expected.len() + 1..]
        .strip_prefix("//")
        .ok_or(UrlError::NotAbsolute { expected })?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(idx) => (&rest[..idx], &rest[idx..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port) = split_port(authority)?;
    let host = parse_host(host)?;
    let default_port = if expected == "https" || expected == "wss" {
        443
    } else {
        0
    };
    let port = port.filter(|p| *p != default_port);
    let path = if path.is_empty() {
        "/".to_owned()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    Ok(Parts { host, port, path })
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    let colon = if authority.starts_with('[') {
        authority
            .find(']')
            .map(|end| end + 1)
            .filter(|&i| i < authority.len())
    } else {
        authority.rfind(':')
    };
    match colon {
        None => Ok((authority, None)),
        Some(idx) => {
            if authority.as_bytes().get(idx) != Some(&b':') {
                return Err(UrlError::InvalidHost);
            }
            let digits = &authority[idx + 1..];
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(UrlError::InvalidPort);
            }
            let port: u16 = digits.parse().map_err(|_| UrlError::InvalidPort)?;
            if port == 0 {
                return Err(UrlError::InvalidPort);
            }
            Ok((&authority[..idx], Some(port)))
        }
    }
}

macro_rules! secure_url {
    ($name:ident, $scheme:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The scheme every value of this type has.
            pub const SCHEME: &'static str = $scheme;

            /// Parses `input`; anything but an absolute
            #[doc = concat!("`", $scheme, "://`")]
            /// URL of the narrow shape described in the module docs is refused.
            pub fn parse(input: &str) -> Result<Self, UrlError> {
                parse_secure(input, $scheme).map(|parts| Self(parts.render($scheme)))
            }

            /// The URL, normalised.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// `scheme://host[:port]`, without a path.
            pub fn origin(&self) -> String {
                let after_scheme = $scheme.len() + 3;
                match self.0[after_scheme..].find(['/', '?']) {
                    Some(idx) => self.0[..after_scheme + idx].to_owned(),
                    None => self.0.clone(),
                }
            }

            /// `host[:port]`.
            pub fn authority(&self) -> &str {
                let after_scheme = $scheme.len() + 3;
                let rest = &self.0[after_scheme..];
                match rest.find(['/', '?']) {
                    Some(idx) => &rest[..idx],
                    None => rest,
                }
            }

            /// The same origin with `path` (which must start with `/`) in place of the path.
            pub fn with_path(&self, path: &str) -> Result<Self, UrlError> {
                Self::parse(&format!("{}{}", self.origin(), path))
            }
        }

        impl FromStr for $name {
            type Err = UrlError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = UrlError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(url: $name) -> String {
                url.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

secure_url!(
    HttpsUrl,
    "https",
    "An absolute `https://` URL; no other scheme can be held."
);
secure_url!(
    WssUrl,
    "wss",
    "An absolute `wss://` URL; no other scheme can be held."
);

impl HttpsUrl {
    /// The origin `https://{authority}`, where `authority` is `host[:port]` as found in a
    /// request's `Host` header (so it is parsed as strictly as any other input).
    pub fn from_authority(authority: &str) -> Result<Self, UrlError> {
        if authority.contains(['/', '?', '@', '#']) {
            return Err(UrlError::InvalidHost);
        }
        Self::parse(&format!("https://{authority}"))
    }

    /// The WebSocket endpoint `wss://{same authority}{path}`.
    pub fn websocket(&self, path: &str) -> Result<WssUrl, UrlError> {
        WssUrl::parse(&format!("wss://{}{}", self.authority(), path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises_secure_urls() {
        let cases = [
            ("https://example.org", "https://example.org/"),
            (
                "HTTPS://Example.ORG/Path?q=1",
                "https://example.org/Path?q=1",
            ),
            ("https://localhost:8443/", "https://localhost:8443/"),
            ("https://127.0.0.1:443/api", "https://127.0.0.1/api"),
            ("https://[::1]:8443", "https://[::1]:8443/"),
            ("https://a-b.c?x", "https://a-b.c/?x"),
        ];
        for (input, want) in cases {
            assert_eq!(
                HttpsUrl::parse(input).map(String::from),
                Ok(want.to_owned()),
                "{input}"
            );
        }
        assert_eq!(
            WssUrl::parse("wss://h.example:9/ws").map(String::from),
            Ok("wss://h.example:9/ws".to_owned())
        );
    }

    #[test]
    fn refuses_every_downgrade_and_odd_shape() {
        use UrlError::*;
        let https_cases: &[(&str, UrlError)] = &[
            ("", Empty),
            (
                "http://example.org",
                InsecureScheme {
                    expected: "https",
                    found: "http".into(),
                },
            ),
            (
                "HTTP://example.org",
                InsecureScheme {
                    expected: "https",
                    found: "http".into(),
                },
            ),
            (
                "ws://example.org",
                InsecureScheme {
                    expected: "https",
                    found: "ws".into(),
                },
            ),
            (
                "wss://example.org",
                InsecureScheme {
                    expected: "https",
                    found: "wss".into(),
                },
            ),
            (
                "javascript:alert(1)",
                InsecureScheme {
                    expected: "https",
                    found: "javascript".into(),
                },
            ),
            (
                "data:text/html,hi",
                InsecureScheme {
                    expected: "https",
                    found: "data".into(),
                },
            ),
            ("//example.org", NotAbsolute { expected: "https" }),
            ("/api/config", NotAbsolute { expected: "https" }),
            ("https:example.org", NotAbsolute { expected: "https" }),
            ("https:///path", MissingHost),
            ("https://user:pw@example.org", UserInfo),
            ("https://example.org#frag", Fragment),
            ("https://exa mple.org", InvalidChar),
            ("https://exämple.org", InvalidChar),
            ("https://example.org\n", InvalidChar),
            ("https://ex\\ample.org", InvalidChar),
            ("https://-bad.org", InvalidHost),
            ("https://a..b", InvalidHost),
            ("https://example.org:0", InvalidPort),
            ("https://example.org:65536", InvalidPort),
            ("https://example.org:", InvalidPort),
            ("https://example.org:8x", InvalidPort),
            ("https://[::1", InvalidHost),
            ("https://[zz]", InvalidHost),
        ];
        for (input, want) in https_cases {
            assert_eq!(HttpsUrl::parse(input).as_ref(), Err(want), "{input:?}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(HttpsUrl::parse(&long), Err(TooLong));
        assert!(matches!(
            WssUrl::parse("ws://example.org/ws"),
            Err(InsecureScheme { found, .. }) if found == "ws"
        ));
        assert!(WssUrl::parse("https://example.org/ws").is_err());
    }

    #[test]
    fn serde_refuses_insecure_values() {
        let ok: Result<HttpsUrl, _> = serde_json::from_str("\"https://example.org\"");
        assert!(ok.is_ok());
        let bad: Result<HttpsUrl, _> = serde_json::from_str("\"http://example.org\"");
        assert!(bad.is_err());
        let bad: Result<WssUrl, _> = serde_json::from_str("\"ws://example.org\"");
        assert!(bad.is_err());
    }

    #[test]
    fn derives_origin_and_websocket_from_host_header() {
        let origin = HttpsUrl::from_authority("Haven.Example:8443").unwrap();
        assert_eq!(origin.as_str(), "https://haven.example:8443/");
        assert_eq!(origin.origin(), "https://haven.example:8443");
        assert_eq!(
            origin.websocket("/ws").unwrap().as_str(),
            "wss://haven.example:8443/ws"
        );
        assert_eq!(
            origin.with_path("/api/x").unwrap().as_str(),
            "https://haven.example:8443/api/x"
        );
        for evil in [
            "evil.org/x",
            "a@b",
            "x?y",
            "x#y",
            "",
            "bad host",
            "evil.org:99999",
        ] {
            assert!(HttpsUrl::from_authority(evil).is_err(), "{evil:?}");
        }
    }
}
