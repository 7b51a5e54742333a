//! Extractors every handler uses instead of repeating the same parsing: a JSON body
//! parsed into its typed request (or refused with a stable code that never quotes the
//! input), the signed-in caller, and the client's network address (taken from a
//! forwarded header only when the connection comes from a configured trusted proxy).

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::identity::session::Authed;
use crate::state::AppState;

/// A JSON request body of type `T`, within the route's size limit.
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await;
        crate::http::api::parse_json(bytes).map(Body)
    }
}

/// A JSON body that may also be empty (then `T::default()`).
#[derive(Debug, Clone)]
pub struct OptionalBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await;
        match &bytes {
            Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Self(T::default())),
            _ => crate::http::api::parse_json(bytes).map(OptionalBody),
        }
    }
}

/// The caller the route's guard authenticated.
impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authed>()
            .cloned()
            .ok_or_else(Error::unauthenticated)
    }
}

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR network"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has a prefix length outside 0..={max}"))?,
            None => max,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The client's address: the connection's peer, or, when the peer is a trusted proxy,
/// the nearest address in `X-Forwarded-For` that is not one of our proxies. A header
/// from anyone else is ignored: a client cannot choose its own rate-limit bucket.
pub fn client_ip(trusted: &[Cidr], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for part in text.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                // A malformed chain cannot be trusted beyond our proxy.
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip))
        .unwrap_or(peer)
}

/// The client's address as [`client_ip`] decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The client of a request, from its connection (`extensions`) and, behind a trusted
    /// proxy, its `headers`: for middleware, which sees the request before extractors do.
    pub fn of(
        state: &AppState,
        extensions: &Extensions,
        headers: &HeaderMap,
    ) -> Result<Self, Error> {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| {
                Error::bad(
                    haven_protocol::ErrorCode::Internal,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The connection's address is unknown.",
                )
            })?;
        Ok(Self(client_ip(state.trusted_proxies(), peer, headers)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr
where
    AppState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Self::of(&state, &parts.extensions, &parts.headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies = [
            Cidr::parse("10.0.0.0/8").unwrap(),
            Cidr::parse("::1").unwrap(),
        ];
        let proxy: IpAddr = [10, 1, 2, 3].into();
        let stranger: IpAddr = [198, 51, 100, 9].into();
        let client: IpAddr = [203, 0, 113, 7].into();
        // From a stranger the header is ignored.
        assert_eq!(
            client_ip(&proxies, stranger, &headers(&["203.0.113.7"])),
            stranger
        );
        // From our proxy: the nearest untrusted hop, not a spoofed first entry.
        assert_eq!(
            client_ip(
                &proxies,
                proxy,
                &headers(&["1.2.3.4, 203.0.113.7, 10.9.9.9"])
            ),
            client
        );
        assert_eq!(
            client_ip(&proxies, proxy, &headers(&["203.0.113.7"])),
            client
        );
        // Garbage or nothing: the proxy itself.
        assert_eq!(client_ip(&proxies, proxy, &headers(&["nonsense"])), proxy);
        assert_eq!(client_ip(&proxies, proxy, &headers(&[])), proxy);
        assert_eq!(client_ip(&[], proxy, &headers(&["203.0.113.7"])), proxy);
    }

    #[test]
    fn cidrs_parse_strictly() {
        assert!(
            Cidr::parse("10.0.0.0/8")
                .unwrap()
                .contains([10, 200, 0, 1].into())
        );
        assert!(
            !Cidr::parse("10.0.0.0/8")
                .unwrap()
                .contains([11, 0, 0, 1].into())
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains([1, 2, 3, 4].into())
        );
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        for bad in ["", "10.0.0.0/33", "::/129", "example.org", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
