//! Identity's background duty: every session that ran out (idle or at its absolute
//! lifetime) is ended and recorded even if its token never comes back, and its sockets
//! are closed; sign-in attempts refused by the rate limit are recorded once per window,
//! with their count.

use std::time::Duration;

use haven_protocol::audit::{AuditAction, SessionEndReason};

use crate::audit::{Event, record_many};
use crate::clock::now;
use crate::error::Result;
use crate::identity::ratelimit::{Key, Tally, address_key};
use crate::identity::session;
use crate::state::AppState;
use crate::store::begin_write;

/// How often the duty runs at most: sessions end within this of running out.
pub const PERIOD: Duration = Duration::from_secs(15);
/// Sessions ended per run; the rest wait for the next.
const BATCH: i64 = 500;

pub async fn run(state: AppState, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        if let Err(e) = end_expired_sessions(&state, now()).await {
            tracing::error!(error = %e, "ending expired sessions failed");
        }
        if let Err(e) = record_refusals(&state, now()).await {
            tracing::error!(error = %e, "recording refused sign-in attempts failed");
        }
    }
}

/// Ends (and records) every open session that is past its lifetime or idle time.
pub async fn end_expired_sessions(state: &AppState, now: i64) -> Result<usize> {
    let due: Vec<(Vec<u8>, i64)> = sqlx::query_as(
        "SELECT s.token_hash, s.expires_at FROM sessions s JOIN organisations o ON o.id = s.org_id
         WHERE s.ended_at IS NULL AND (s.expires_at <= ? OR s.last_seen_at + o.idle_timeout_secs <= ?)
         LIMIT ?",
    )
    .bind(now)
    .bind(now)
    .bind(BATCH)
    .fetch_all(state.db())
    .await?;
    let mut ended = 0;
    for (hash, expires_at) in due {
        let reason = if expires_at <= now {
            SessionEndReason::Expired
        } else {
            SessionEndReason::Idle
        };
        if session::end(state, &hash, reason).await? {
            ended += 1;
        }
    }
    Ok(ended)
}

fn tally_event(tally: Tally) -> Event {
    let (limit, source) = match &tally.key {
        Key::Account(_) => ("account", tally.subject.source),
        Key::Address(_) => ("address", address_key(tally.subject.source)),
        Key::Device(_) => ("known-device", tally.subject.source),
        Key::Overflow => ("overflow", tally.subject.source),
    };
    let mut event = Event::new(&tally.subject.org, AuditAction::SignInThrottled)
        .failed()
        .from(Some(source))
        .detail(format!(
            "{} attempts refused by the {limit} limit between {} and {}",
            tally.count, tally.first, tally.last
        ));
    event.target = tally.subject.user.map(|u| format!("user:{u}"));
    event
}

/// Records each refusal tally whose window closed: one entry per tally, all in one
/// transaction.
pub async fn record_refusals(state: &AppState, now: i64) -> Result<usize> {
    let tallies = state.limiter().take_closed(now);
    if tallies.is_empty() {
        return Ok(0);
    }
    let events: Vec<Event> = tallies.into_iter().map(tally_event).collect();
    let count = events.len();
    let mut tx = begin_write(state.db()).await?;
    record_many(&mut tx, events).await?;
    tx.commit().await?;
    Ok(count)
}
