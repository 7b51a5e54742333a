//! The audit log in the app: every auditor's and administrator's browser is a witness.
//!
//! The server signs its tree heads with its own key, so a server (or whoever holds its
//! database and key) could rewrite history and re-sign it, and every head would still
//! verify. A witness catches that: it keeps the newest head it has verified, per
//! organisation ([`kept`]), and each time the server shows a newer one it fetches the
//! consistency proof and checks it here, in wasm, before saying the log is sound
//! ([`witness`] decides; this module only fetches, stores and shows). A failed proof is a
//! red alarm naming both tree sizes, and is reported to the server's own log, once.
//!
//! Trust: the first head seen is trusted on first use, with its key and organisation;
//! nothing after it is trusted without a proof.

pub mod kept;
pub mod witness;

use haven_audit_log::{SignedTreeHead, WitnessAlarmReport};
use haven_i18n::Arg;
use haven_protocol::audit::AuditProof;
use leptos::prelude::*;

use crate::context::{Ctx, use_ctx};
use crate::i18n::{Msg, t, tf};
use crate::transport::https::HttpError;
use kept::{Kept, StoreError};
use witness::{Alarm, Step};

/// What the panel shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Checking,
    /// The log extends the kept head (or this is the first head kept); `size` entries.
    Sound {
        size: u64,
        first: bool,
    },
    /// The log does not extend the kept head; and whether that reached the server's log.
    Alarm {
        alarm: Box<Alarm>,
        report: Report,
    },
    /// The check could not run (network, storage); not a finding about the log.
    Failed(Failure),
}

/// Whether the alarm reached the server's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    /// This browser had reported this very alarm before.
    Already,
    Sent,
    NotSent,
}

impl Report {
    fn text(self) -> Msg {
        match self {
            Self::Already => Msg::AuditWitnessReportedBefore,
            Self::Sent => Msg::AuditWitnessReported,
            Self::NotSent => Msg::AuditWitnessNotReported,
        }
    }
}

/// Why the check could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// The server's head could not be had.
    Head(HttpError),
    /// This browser's store could not be opened or read.
    Store(StoreError),
    /// The consistency proof could not be had (other than refused).
    Proof(HttpError),
    /// The verified head could not be kept.
    Keep(StoreError),
    /// Nothing was kept and the server's head does not verify with its own key.
    Untrusted,
    /// A proof was still wanted after it had been answered.
    Unfinished,
}

fn store_error(error: &StoreError) -> String {
    t(match error {
        StoreError::Unavailable => Msg::AuditStoreUnavailable,
        StoreError::Refused => Msg::AuditStoreRefused,
    })
}

impl Failure {
    /// One sentence, in the current language.
    fn text(&self) -> String {
        let with = |msg: Msg, error: String| tf(msg, &[("error", Arg::from(error))]);
        match self {
            Self::Head(e) => with(Msg::AuditWitnessHeadFailed, e.to_string()),
            Self::Store(e) => with(Msg::AuditWitnessStoreFailed, store_error(e)),
            Self::Proof(e) => with(Msg::AuditWitnessProofFailed, e.to_string()),
            Self::Keep(e) => with(Msg::AuditWitnessKeepFailed, store_error(e)),
            Self::Untrusted => t(Msg::AuditWitnessUntrusted),
            Self::Unfinished => t(Msg::AuditWitnessUnfinished),
        }
    }
}

/// One witness round: the server's head against the kept one.
async fn witness(ctx: Ctx) -> Shown {
    let newest = match ctx.call::<SignedTreeHead>("GET", "/audit/head", None).await {
        Ok(head) => head,
        Err(e) => return Shown::Failed(Failure::Head(e)),
    };
    let store = match Kept::open().await {
        Ok(store) => store,
        Err(e) => return Shown::Failed(Failure::Store(e)),
    };
    let kept = match store.head(&newest.organisation).await {
        Ok(kept) => kept,
        Err(e) => return Shown::Failed(Failure::Store(e)),
    };
    let first = kept.is_none();
    let mut step = witness::assess(kept.as_ref(), &newest);
    if let (Step::Prove { from, to }, Some(kept)) = (&step, &kept) {
        let path = format!("/audit/proof/consistency?from={from}&to={to}");
        step = match ctx.call::<AuditProof>("GET", &path, None).await {
            Ok(proof) => witness::conclude(kept, &newest, &proof),
            // The server refuses to prove its log extends a head it signed.
            Err(HttpError::Api {
                status: 400..=499, ..
            }) => witness::refused(kept, &newest),
            Err(e) => return Shown::Failed(Failure::Proof(e)),
        };
    }
    match step {
        Step::Keep(head) => match store.keep(&head).await {
            Ok(()) => Shown::Sound {
                size: head.tree_size,
                first,
            },
            Err(e) => Shown::Failed(Failure::Keep(e)),
        },
        Step::Unchanged => Shown::Sound {
            size: newest.tree_size,
            first: false,
        },
        Step::Untrusted => Shown::Failed(Failure::Untrusted),
        Step::Alarm(alarm) => raise(ctx, &store, alarm).await,
        // Answered above; a proof is never asked for twice.
        Step::Prove { .. } => Shown::Failed(Failure::Unfinished),
    }
}

/// Shows the alarm and writes it to the server's log (once per finding).
async fn raise(ctx: Ctx, store: &Kept, alarm: Alarm) -> Shown {
    let report = WitnessAlarmReport {
        kept: alarm.kept.clone(),
        newer: alarm.newer.clone(),
    };
    let outcome = if store.reported(&report).await.unwrap_or(false) {
        Report::Already
    } else {
        let body = serde_json::to_value(&report).ok();
        let sent: Result<serde_json::Value, _> =
            ctx.call("POST", "/audit/witness-alarm", body).await;
        match sent {
            Ok(_) => {
                let _ = store.mark_reported(&report).await;
                Report::Sent
            }
            Err(_) => Report::NotSent,
        }
    };
    Shown::Alarm {
        alarm: Box::new(alarm),
        report: outcome,
    }
}

/// The witness's panel at the top of the audit view: checks the server's newest head
/// against the one this browser kept, and shows either a quiet confirmation or the alarm.
/// `done` turns true once the check has an outcome: the view shows the log only then.
#[component]
pub fn WitnessPanel(done: RwSignal<bool>) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        done.set(true);
        return ().into_any();
    };
    let shown = RwSignal::new(Shown::Checking);
    leptos::task::spawn_local_scoped(async move {
        shown.set(witness(ctx).await);
        done.set(true);
    });
    (move || match shown.get() {
        Shown::Checking => view! {
            <p id="witness" class="notice" role="status" data-state="checking">
                {crate::tr!(AuditWitnessChecking)}
            </p>
        }
        .into_any(),
        Shown::Sound { size, first } => {
            let text = if first {
                Msg::AuditWitnessFirst
            } else {
                Msg::AuditWitnessPassed
            };
            view! {
                <p id="witness" class="verdict ok" role="status" data-state="sound" data-size=size>
                    {move || tf(text, &[("size", Arg::from(size))])}
                </p>
            }
            .into_any()
        }
        Shown::Alarm { alarm, report } => {
            let (kept, newer) = (alarm.kept.tree_size, alarm.newer.tree_size);
            view! {
                <section id="witness-alarm" class="alert" role="alert" data-kept-size=kept data-newer-size=newer>
                    <h2>{crate::tr!(AuditWitnessAlarmTitle)}</h2>
                    <p>{move || alarm.message()}</p>
                    <p>{move || t(report.text())}</p>
                </section>
            }
            .into_any()
        }
        Shown::Failed(failure) => view! {
            <p id="witness" class="error" role="status" data-state="failed">{move || failure.text()}</p>
        }
        .into_any(),
    })
    .into_any()
}
