//! Organisations are tenants. A request belongs to the organisation served on the host
//! it was made to: each organisation has one or more host names, each with its own public
//! origin, so several brands run from one server and one build. The default
//! organisation also answers on its configured public origin's host and, without one,
//! on loopback names, for a client on the machine itself only. Any other host is "no
//! such clinic". Every query below this point is scoped to the one organisation, so no
//! call can cross into another.
//!
//! Trust: the `Host` header is whatever the client wrote, so a name alone never proves
//! where a request came from; a loopback name counts only with a loopback client
//! address, which comes from the connection (or a proxy listed in `--trusted-proxies`).

use std::net::IpAddr;

use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use haven_protocol::identity::Id;
use haven_protocol::{ErrorCode, HttpsUrl};
use sqlx::SqlitePool;

use crate::clock::now;
use crate::error::{Error, Result};
use crate::secrets::new_id;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Org {
    pub id: Id,
    pub name: String,
    pub idle_timeout_secs: u32,
}

/// The organisation a request was made to, and the public origin it is served at there.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub org: Org,
    pub origin: HttpsUrl,
    /// The partner origins allowed to frame the app (`frame-ancestors`).
    pub embed_origins: Vec<String>,
}

/// The partner origins `org` allows to embed it.
pub async fn embed_origins(db: impl sqlx::SqliteExecutor<'_>, org: &Id) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT origin FROM organisation_embed_origins WHERE org_id = ? ORDER BY origin",
    )
    .bind(org.as_str())
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(o,)| o).collect())
}

fn row_to_org(row: (String, String, i64)) -> Result<Org> {
    Ok(Org {
        id: Id::parse(&row.0)?,
        name: row.1,
        idle_timeout_secs: u32::try_from(row.2)?,
    })
}

/// The request's `Host`, parsed as strictly as any other input and normalised.
pub fn request_host(headers: &HeaderMap) -> Result<HttpsUrl> {
    let invalid = || {
        Error::bad(
            ErrorCode::InvalidHost,
            StatusCode::BAD_REQUEST,
            "The Host header is missing or is not a valid host name.",
        )
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(invalid)?;
    HttpsUrl::from_authority(host).map_err(|_| invalid())
}

/// Whether `authority` names this machine itself.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().map(|h| format!("[{h}]")),
        None => authority.split(':').next().map(str::to_owned),
    };
    matches!(host.as_deref(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// Whether the client is this machine: its address (the connection's, or behind a
/// trusted proxy the forwarded one, as `ClientAddr` decides) is a loopback address.
fn from_this_machine(client: IpAddr) -> bool {
    client.to_canonical().is_loopback()
}

/// Which organisation serves `host`, at which origin, for a request from `client`;
/// `None`: no clinic there.
///
/// A loopback name means "this machine", so it names a clinic only for a client on this
/// machine: from anywhere else (another machine that sends `Host: localhost`, or a
/// client a trusted proxy forwards) it is no clinic, whatever it would otherwise reach.
/// The default organisation answers on its public origin's host and, on a server with no
/// public origin, on the loopback names; where one is set it is reached by that name
/// only, so a proxy on this machine that forwards `Host: 127.0.0.1` reaches nobody
/// instead of everybody reaching the default organisation.
pub async fn for_host(state: &AppState, host: &HttpsUrl, client: IpAddr) -> Result<Option<Tenant>> {
    let authority = host.authority();
    let public = state.public_origin();
    let public_name = public.is_some_and(|p| p.authority() == authority);
    let loopback_name = is_loopback(authority);
    if loopback_name && !public_name && !from_this_machine(client) {
        return Ok(None);
    }
    let row: Option<(String, String, i64, String)> = sqlx::query_as(
        "SELECT o.id, o.name, o.idle_timeout_secs, h.origin
         FROM organisation_hosts h JOIN organisations o ON o.id = h.org_id
         WHERE h.host = ?",
    )
    .bind(authority)
    .fetch_optional(state.db())
    .await?;
    if let Some((id, name, idle, origin)) = row {
        let origin = HttpsUrl::parse(&origin).map_err(Error::internal)?;
        let org = row_to_org((id, name, idle))?;
        let embed_origins = embed_origins(state.db(), &org.id).await?;
        return Ok(Some(Tenant {
            org,
            origin,
            embed_origins,
        }));
    }
    // Past the check above, a loopback name here comes from this machine.
    let loopback_default = loopback_name && public.is_none();
    if !public_name && !loopback_default {
        return Ok(None);
    }
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT id, name, idle_timeout_secs FROM organisations WHERE is_default = 1",
    )
    .fetch_optional(state.db())
    .await?;
    let org = row_to_org(row.ok_or_else(|| Error::internal("no default organisation"))?)?;
    let origin = public.cloned().unwrap_or_else(|| host.clone());
    let embed_origins = embed_origins(state.db(), &org.id).await?;
    Ok(Some(Tenant {
        org,
        origin,
        embed_origins,
    }))
}

/// The refusal for a host no organisation is served on. It names nothing the request
/// sent.
pub fn unknown_clinic() -> Error {
    Error::bad(
        ErrorCode::UnknownClinic,
        StatusCode::NOT_FOUND,
        "There is no clinic at this address. Check the link your clinic gave you.",
    )
}

/// The organisation a request from `client` (its [`ClientAddr`]) was made to, and its
/// origin there. Every caller passes the client: which names a clinic answers on
/// depends on who asks.
///
/// [`ClientAddr`]: crate::http::extract::ClientAddr
pub async fn resolve(state: &AppState, headers: &HeaderMap, client: IpAddr) -> Result<Tenant> {
    let host = request_host(headers)?;
    for_host(state, &host, client)
        .await?
        .ok_or_else(unknown_clinic)
}

/// The organisation a request from `client` was made to.
pub async fn for_request(state: &AppState, headers: &HeaderMap, client: IpAddr) -> Result<Org> {
    Ok(resolve(state, headers, client).await?.org)
}

/// Makes sure the default organisation exists, named `name` when it is first made;
/// after that its administrators name it (white label), and a restart keeps their name.
pub async fn ensure_default(db: &SqlitePool, name: &str, idle_timeout_secs: u32) -> Result<Id> {
    let existing: Option<(String,)> =
        sqlx::query_as("SELECT id FROM organisations WHERE is_default = 1")
            .fetch_optional(db)
            .await?;
    if let Some((id,)) = existing {
        return Id::parse(&id).map_err(Error::internal);
    }
    let id = new_id()?;
    sqlx::query(
        "INSERT INTO organisations (id, name, host, is_default, idle_timeout_secs, created_at)
         VALUES (?, ?, NULL, 1, ?, ?)",
    )
    .bind(id.as_str())
    .bind(name)
    .bind(i64::from(idle_timeout_secs))
    .bind(now())
    .execute(db)
    .await?;
    Ok(id)
}

/// Adds an organisation served on `host` (white label: one server, many brands), at
/// the origin `https://{host}`.
pub async fn create(db: &SqlitePool, name: &str, host: &str, idle_timeout_secs: u32) -> Result<Id> {
    let origin = HttpsUrl::from_authority(host).map_err(Error::internal)?;
    let id = new_id()?;
    let mut tx = crate::store::begin_write(db).await?;
    sqlx::query(
        "INSERT INTO organisations (id, name, host, is_default, idle_timeout_secs, created_at)
         VALUES (?, ?, NULL, 0, ?, ?)",
    )
    .bind(id.as_str())
    .bind(name)
    .bind(i64::from(idle_timeout_secs))
    .bind(now())
    .execute(&mut *tx)
    .await?;
    add_host_in(&mut tx, &id, &origin, &origin).await?;
    tx.commit().await.map_err(Error::internal)?;
    Ok(id)
}

/// Serves `org` also on `host`, at `origin` (the same, or what a proxy presents).
/// Refused if another organisation, or this one, is already served there.
pub async fn add_host(db: &SqlitePool, org: &Id, host: &HttpsUrl, origin: &HttpsUrl) -> Result<()> {
    let mut tx = crate::store::begin_write(db).await?;
    add_host_in(&mut tx, org, host, origin).await?;
    tx.commit().await.map_err(Error::internal)
}

async fn add_host_in(
    conn: &mut sqlx::SqliteConnection,
    org: &Id,
    host: &HttpsUrl,
    origin: &HttpsUrl,
) -> Result<()> {
    let added = sqlx::query(
        "INSERT INTO organisation_hosts (host, org_id, origin, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (host) DO NOTHING",
    )
    .bind(host.authority())
    .bind(org.as_str())
    .bind(origin.origin())
    .bind(now())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 0 {
        return Err(Error::internal("that host already serves an organisation"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{from_this_machine, is_loopback};

    #[test]
    fn only_loopback_addresses_are_this_machine() {
        for yes in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert!(from_this_machine(yes.parse().unwrap()), "{yes}");
        }
        for no in [
            "203.0.113.9",
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!from_this_machine(no.parse().unwrap()), "{no}");
        }
    }

    #[test]
    fn only_this_machines_own_names_are_loopback() {
        for yes in [
            "localhost",
            "localhost:8443",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:8443",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "localhost.evil.example",
            "127.0.0.1.evil.example:8443",
            "evil.example",
            "[::2]:8443",
            "10.0.0.1:8443",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
