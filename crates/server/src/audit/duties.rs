//! The audit log's background duty: heads at least every period, and the end of every
//! emergency access written once when it runs out.

use haven_protocol::audit::AuditAction;
use haven_protocol::identity::Id;

use super::heads::sign_pending_heads;
use super::*;
use crate::clock::now;
use crate::error::{Error, Result};
use crate::state::AppState;

/// Break-glass grants that have run out get their end written to the log, once.
pub async fn record_ended_break_glass(state: &AppState) -> Result<()> {
    let ended: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, org_id, clinician_id, patient_id FROM break_glass WHERE expires_at <= ? AND end_audited = 0",
    )
    .bind(now())
    .fetch_all(state.db())
    .await
    .map_err(Error::internal)?;
    for (id, org, clinician, patient) in ended {
        let org = Id::parse(&org).map_err(Error::internal)?;
        let mut tx = crate::store::begin_write(state.db()).await?;
        let claimed =
            sqlx::query("UPDATE break_glass SET end_audited = 1 WHERE id = ? AND end_audited = 0")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(Error::internal)?;
        let announce = claimed.rows_affected() == 1;
        if announce {
            let event = Event::new(&org, AuditAction::BreakGlassEnded)
                .target(format!("grant:{id}"))
                .patient(patient.clone())
                .detail(format!("ran out; clinician {clinician}"));
            record(&mut tx, event).await?;
        }
        tx.commit().await?;
        if announce {
            // The patient's, the clinician's and the admins' open views update at once.
            let (patient, clinician) = (Id::parse(&patient)?, Id::parse(&clinician)?);
            state.live().push(
                &org,
                &[&patient, &clinician],
                &[haven_protocol::access::Role::Admin],
                &haven_protocol::ws::ServerFrame::Changed {
                    topic: haven_protocol::ws::Topic::BreakGlass,
                },
            );
        }
    }
    Ok(())
}

/// The background duty: heads at least every `period`, and break-glass ends.
pub async fn run_duties(state: AppState, period: std::time::Duration) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        if let Err(e) = record_ended_break_glass(&state).await {
            tracing::error!(error = %e, "recording ended emergency access failed");
        }
        if let Err(e) = sign_pending_heads(&state).await {
            tracing::error!(error = %e, "signing audit tree heads failed");
        }
    }
}
