//! Storage quotas: what one device, one person and one organisation may store, per day
//! and held at once, messages and attachments alike. Past any of them a send or an
//! upload is refused with `quota_exceeded` and when to try again; nothing is stored.
//!
//! What a scope wrote is counted per day (`storage_written`). Everything stored expires
//! within the retention period, so what a scope holds is at most what it wrote in the
//! last [`HELD_DAYS`] days; room comes back as those days pass (what is collected early
//! is not credited back: the count only ever errs on the side of less).
//!
//! The counts are read and added inside the write transaction that stores what they
//! count, so two writes cannot both take the last room.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use haven_protocol::ErrorCode;
use haven_protocol::audit::AuditAction;
use haven_protocol::messaging::{MESSAGE_RETENTION_SECS, Quota, Quotas};
use sqlx::SqliteConnection;

use crate::audit::repeats::Key;
use crate::audit::{self, Event};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::extract::{Body, ClientAddr};
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

const DAY: i64 = 86_400;
/// Days whose writes count as held: the retention period, and the day it ends in.
pub const HELD_DAYS: i64 = MESSAGE_RETENTION_SECS / DAY + 1;

/// Whose quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Device,
    Person,
    Organisation,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Person => "person",
            Self::Organisation => "organisation",
        }
    }
}

/// A write refused for a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub scope: Scope,
    /// The day's allowance (else: what may be held).
    pub per_day: bool,
    /// Seconds until the same write fits.
    pub retry_after_secs: u64,
}

impl Exceeded {
    /// What the person is told (no figures of anyone else's).
    pub fn message(&self) -> &'static str {
        match self.scope {
            Scope::Device => {
                "This device has stored as much as it may for now; nothing was stored."
            }
            Scope::Person => "You have stored as much as you may for now; nothing was stored.",
            Scope::Organisation => {
                "Your organisation has stored as much as it may for now; nothing was stored."
            }
        }
    }

    /// The audit entry's detail.
    fn detail(&self) -> String {
        format!(
            "{} quota {}",
            self.scope.name(),
            if self.per_day { "per day" } else { "held" }
        )
    }

    /// As an HTTP refusal (429 with `Retry-After`).
    pub fn error(&self) -> Error {
        Error::quota(self.message(), self.retry_after_secs)
    }
}

/// What one scope wrote on each day still counted, oldest first, and what this
/// transaction adds today.
#[derive(Debug, Default)]
struct Usage {
    days: Vec<(i64, u64)>,
    added: u64,
}

impl Usage {
    fn held(&self) -> u64 {
        self.days.iter().map(|(_, b)| b).sum::<u64>() + self.added
    }

    fn on(&self, today: i64) -> u64 {
        self.days
            .iter()
            .filter(|(d, _)| *d == today)
            .map(|(_, b)| b)
            .sum::<u64>()
            + self.added
    }

    /// Seconds until `bytes` more fit, or `None` if they fit now.
    fn refuses(&self, bytes: u64, quota: Quota, now: i64) -> Option<(bool, u64)> {
        let today = now.div_euclid(DAY);
        let wait = |at: i64| u64::try_from(at - now).unwrap_or(0).max(1);
        if self.on(today).saturating_add(bytes) > quota.bytes_per_day {
            return Some((true, wait((today + 1) * DAY)));
        }
        let held = self.held();
        if held.saturating_add(bytes) <= quota.bytes_held {
            return None;
        }
        // Room comes back as the oldest days stop counting.
        let mut freed = 0u64;
        for (day, written) in &self.days {
            freed += written;
            if held - freed + bytes <= quota.bytes_held {
                return Some((false, wait((day + HELD_DAYS) * DAY)));
            }
        }
        Some((false, wait((today + HELD_DAYS) * DAY)))
    }
}

/// What a write is, for the quotas it is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charged {
    /// A message or an attachment: every quota.
    Content,
    /// A commit that adds devices or updates keys: the device's and the person's.
    Commit,
    /// A commit that only removes devices: counted, never refused.
    Removal,
}

/// An organisation's quotas: its own, or the defaults.
pub async fn quotas(conn: &mut SqliteConnection, org: &str) -> Result<Quotas, sqlx::Error> {
    type Row = (i64, i64, i64, i64, i64, i64);
    let row: Option<Row> = sqlx::query_as(
        "SELECT device_bytes_per_day, device_bytes_held, person_bytes_per_day, person_bytes_held,
                org_bytes_per_day, org_bytes_held
         FROM organisation_quotas WHERE org_id = ?",
    )
    .bind(org)
    .fetch_optional(&mut *conn)
    .await?;
    let bytes = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(match row {
        Some((dd, dh, pd, ph, od, oh)) => Quotas {
            device: Quota {
                bytes_per_day: bytes(dd),
                bytes_held: bytes(dh),
            },
            person: Quota {
                bytes_per_day: bytes(pd),
                bytes_held: bytes(ph),
            },
            organisation: Quota {
                bytes_per_day: bytes(od),
                bytes_held: bytes(oh),
            },
        },
        None => Quotas::default(),
    })
}

/// A transaction's view of what scopes wrote: each scope read once, checked and added
/// in memory, and written back once by [`Ledger::write`] in the same transaction.
pub struct Ledger {
    now: i64,
    usage: HashMap<String, Usage>,
    quotas: HashMap<String, Quotas>,
}

impl Ledger {
    pub fn new(now: i64) -> Self {
        Self {
            now,
            usage: HashMap::new(),
            quotas: HashMap::new(),
        }
    }

    async fn usage(
        &mut self,
        conn: &mut SqliteConnection,
        scope: &str,
    ) -> Result<&mut Usage, sqlx::Error> {
        if !self.usage.contains_key(scope) {
            let since = self.now.div_euclid(DAY) - HELD_DAYS;
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT day, bytes FROM storage_written WHERE scope = ? AND day > ? ORDER BY day",
            )
            .bind(scope)
            .bind(since)
            .fetch_all(&mut *conn)
            .await?;
            let days = rows
                .into_iter()
                .map(|(d, b)| (d, u64::try_from(b).unwrap_or(0)))
                .collect();
            self.usage
                .insert(scope.to_owned(), Usage { days, added: 0 });
        }
        Ok(self.usage.entry(scope.to_owned()).or_default())
    }

    /// Counts `bytes` written by `person` of `org` (through `device`, for a message)
    /// against the quotas `what` is held to, or against none if one refuses.
    pub async fn charge(
        &mut self,
        conn: &mut SqliteConnection,
        org: &str,
        person: &str,
        device: Option<&str>,
        bytes: u64,
        what: Charged,
    ) -> Result<Result<(), Exceeded>, sqlx::Error> {
        if !self.quotas.contains_key(org) {
            let q = quotas(conn, org).await?;
            self.quotas.insert(org.to_owned(), q);
        }
        let q = self.quotas.get(org).copied().unwrap_or_default();
        let mut scopes = vec![(Scope::Person, format!("person:{person}"), q.person)];
        if let Some(device) = device {
            scopes.insert(0, (Scope::Device, format!("device:{device}"), q.device));
        }
        // A change of members or keys is not held to the organisation's shared pool:
        // others filling it must not stop anyone adding a clinician or removing a device.
        if what == Charged::Content {
            scopes.push((Scope::Organisation, format!("org:{org}"), q.organisation));
        }
        let now = self.now;
        for (scope, key, quota) in &scopes {
            // A commit that only removes devices is counted but never refused: a revoked
            // device must always be removable.
            if what == Charged::Removal {
                break;
            }
            if let Some((per_day, retry_after_secs)) =
                self.usage(conn, key).await?.refuses(bytes, *quota, now)
            {
                return Ok(Err(Exceeded {
                    scope: *scope,
                    per_day,
                    retry_after_secs,
                }));
            }
        }
        for (_, key, _) in &scopes {
            self.usage(conn, key).await?.added += bytes;
        }
        Ok(Ok(()))
    }

    /// Writes what was added, in the transaction the ledger counted for.
    pub async fn write(self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let today = self.now.div_euclid(DAY);
        for (scope, usage) in self.usage {
            if usage.added == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO storage_written (scope, day, bytes) VALUES (?, ?, ?)
                 ON CONFLICT (scope, day) DO UPDATE SET bytes = storage_written.bytes + excluded.bytes",
            )
            .bind(scope)
            .bind(today)
            .bind(i64::try_from(usage.added).unwrap_or(i64::MAX))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// Forgets days that no longer count.
pub async fn collect(db: &crate::store::Pool, now: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM storage_written WHERE day <= ?")
        .bind(now.div_euclid(DAY) - HELD_DAYS)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Records a refusal, once per person and kind of quota within the repeat window: a
/// client retrying in a loop cannot fill the log.
pub async fn record_refusal(
    state: &AppState,
    authed: &Authed,
    exceeded: Exceeded,
    source: Option<std::net::IpAddr>,
) {
    let key = Key::new(
        authed.user_id.as_str().as_bytes(),
        format!("quota {}", exceeded.detail()),
    );
    let Some(taken) = state.repeats().first(key, now()) else {
        return;
    };
    let event = Event::by(authed, AuditAction::QuotaExceeded)
        .detail(exceeded.detail())
        .from(source);
    let recorded = async {
        let mut tx = begin_write(state.db()).await?;
        audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, "recording a refused write failed");
        state.repeats().forget(taken);
    }
}

/// `GET /api/org/quotas`
pub async fn get(State(state): State<AppState>, authed: Authed) -> Result<Json<Quotas>> {
    let mut conn = state.db().acquire().await?;
    Ok(Json(quotas(&mut conn, authed.org.id.as_str()).await?))
}

/// `PUT /api/org/quotas`: setting what is already set changes and records nothing.
pub async fn put(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Body(request): Body<Quotas>,
) -> Result<Json<Quotas>> {
    if !request.valid() {
        return Err(Error::bad(
            ErrorCode::InvalidField,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Each quota must be between 1 MB and 100 TB.",
        ));
    }
    let mut tx = begin_write(state.db()).await?;
    let org = authed.org.id.as_str();
    if quotas(&mut tx, org).await? == request {
        return Ok(Json(request));
    }
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO organisation_quotas (org_id, device_bytes_per_day, device_bytes_held,
             person_bytes_per_day, person_bytes_held, org_bytes_per_day, org_bytes_held, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id) DO UPDATE SET
             device_bytes_per_day = excluded.device_bytes_per_day,
             device_bytes_held = excluded.device_bytes_held,
             person_bytes_per_day = excluded.person_bytes_per_day,
             person_bytes_held = excluded.person_bytes_held,
             org_bytes_per_day = excluded.org_bytes_per_day,
             org_bytes_held = excluded.org_bytes_held,
             updated_at = excluded.updated_at",
    )
    .bind(org)
    .bind(as_i64(request.device.bytes_per_day))
    .bind(as_i64(request.device.bytes_held))
    .bind(as_i64(request.person.bytes_per_day))
    .bind(as_i64(request.person.bytes_held))
    .bind(as_i64(request.organisation.bytes_per_day))
    .bind(as_i64(request.organisation.bytes_held))
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let q = |q: Quota| format!("{}/day, {} held", q.bytes_per_day, q.bytes_held);
    let event = Event::by(&authed, AuditAction::SettingsChanged)
        .detail(format!(
            "quotas: device {}; person {}; organisation {}",
            q(request.device),
            q(request.person),
            q(request.organisation)
        ))
        .from(Some(ip));
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(Json(request))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const Q: Quota = Quota {
        bytes_per_day: 100,
        bytes_held: 250,
    };

    #[test]
    fn a_day_refuses_past_its_allowance_until_the_next_day() {
        let now = 10 * DAY + 3600;
        let usage = Usage {
            days: vec![(10, 90)],
            added: 0,
        };
        assert_eq!(usage.refuses(10, Q, now), None);
        assert_eq!(
            usage.refuses(11, Q, now),
            Some((true, u64::try_from(DAY - 3600).unwrap()))
        );
    }

    #[test]
    fn what_is_held_comes_back_as_the_oldest_days_stop_counting() {
        let now = 40 * DAY;
        let usage = Usage {
            days: vec![(12, 100), (20, 100), (39, 40)],
            added: 0,
        };
        assert_eq!(usage.refuses(10, Q, now), None);
        // 240 held: 20 more waits for day 12 to stop counting.
        let (per_day, wait) = usage.refuses(20, Q, now).unwrap();
        assert!(!per_day);
        assert_eq!(wait, u64::try_from((12 + HELD_DAYS) * DAY - now).unwrap());
        // 120 more waits for day 20 as well.
        let generous_day = Quota {
            bytes_per_day: 1000,
            ..Q
        };
        let (per_day, wait) = usage.refuses(120, generous_day, now).unwrap();
        assert!(!per_day);
        assert_eq!(wait, u64::try_from((20 + HELD_DAYS) * DAY - now).unwrap());
    }
}
