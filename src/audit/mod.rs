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
use haven_protocol::audit::AuditProof;
use leptos::prelude::*;

use crate::context::{Ctx, use_ctx};
use crate::transport::https::HttpError;
use kept::Kept;
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
    Alarm {
        kept: u64,
        newer: u64,
        message: String,
        report: &'static str,
    },
    /// The check could not run (network, storage); not a finding about the log.
    Failed(String),
}

async fn head(ctx: Ctx) -> Result<SignedTreeHead, String> {
    ctx.call("GET", "/audit/head", None)
        .await
        .map_err(|e| e.to_string())
}

/// One witness round: the server's head against the kept one.
async fn witness(ctx: Ctx) -> Shown {
    let newest = match head(ctx).await {
        Ok(head) => head,
        Err(e) => return Shown::Failed(format!("Could not fetch the signed tree head: {e}")),
    };
    let store = match Kept::open().await {
        Ok(store) => store,
        Err(e) => return Shown::Failed(format!("This browser cannot witness the log: {e}")),
    };
    let kept = match store.head(&newest.organisation).await {
        Ok(kept) => kept,
        Err(e) => return Shown::Failed(format!("This browser cannot witness the log: {e}")),
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
            Err(e) => return Shown::Failed(format!("Could not fetch the consistency proof: {e}")),
        };
    }
    match step {
        Step::Keep(head) => match store.keep(&head).await {
            Ok(()) => Shown::Sound {
                size: head.tree_size,
                first,
            },
            Err(e) => Shown::Failed(format!("Could not keep the verified head: {e}")),
        },
        Step::Unchanged => Shown::Sound {
            size: newest.tree_size,
            first: false,
        },
        Step::Untrusted => Shown::Failed(
            "The server's tree head does not verify with its own key; nothing was kept.".into(),
        ),
        Step::Alarm(alarm) => raise(ctx, &store, alarm).await,
        // Answered above; a proof is never asked for twice.
        Step::Prove { .. } => Shown::Failed("The witness check did not finish.".into()),
    }
}

/// Shows the alarm and writes it to the server's log (once per finding).
async fn raise(ctx: Ctx, store: &Kept, alarm: Alarm) -> Shown {
    let message = alarm.message();
    let (kept, newer) = (alarm.kept.tree_size, alarm.newer.tree_size);
    let report = WitnessAlarmReport {
        kept: alarm.kept,
        newer: alarm.newer,
    };
    let report_text = if store.reported(&report).await.unwrap_or(false) {
        "This alarm was already reported to the audit log."
    } else {
        let body = serde_json::to_value(&report).ok();
        let sent: Result<serde_json::Value, _> =
            ctx.call("POST", "/audit/witness-alarm", body).await;
        match sent {
            Ok(_) => {
                let _ = store.mark_reported(&report).await;
                "It has been reported to the audit log."
            }
            Err(_) => "It could not be reported to the server: tell your security officer.",
        }
    };
    Shown::Alarm {
        kept,
        newer,
        message,
        report: report_text,
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
                "Checking the log against the head this browser verified before…"
            </p>
        }
        .into_any(),
        Shown::Sound { size, first } => {
            let text = if first {
                format!("This browser now keeps the signed head of {size} entries as a witness: any later rewrite of them will be caught here.")
            } else {
                format!("Witness check passed: the log of {size} entries extends every head this browser verified.")
            };
            view! {
                <p id="witness" class="verdict ok" role="status" data-state="sound" data-size=size>{text}</p>
            }
            .into_any()
        }
        Shown::Alarm {
            kept,
            newer,
            message,
            report,
        } => view! {
            <section id="witness-alarm" class="alert" role="alert" data-kept-size=kept data-newer-size=newer>
                <h2>"Audit log alarm"</h2>
                <p>{message}</p>
                <p>{report}</p>
            </section>
        }
        .into_any(),
        Shown::Failed(text) => view! {
            <p id="witness" class="error" role="status" data-state="failed">{text}</p>
        }
        .into_any(),
    })
    .into_any()
}
