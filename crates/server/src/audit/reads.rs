//! Reads of PHI are events too: every list that shows patients' names or contact
//! details, and every record opened, is recorded before the data leaves (who, which
//! list, how many records), so an auditor can answer "who saw this patient's details".

use std::net::IpAddr;

use haven_protocol::audit::AuditAction;

use crate::audit::{Event, record_alone};
use crate::error::Result;
use crate::identity::session::Authed;
use crate::state::AppState;

/// Records that `authed` read `list` holding `records` entries. Without the entry, no
/// data leaves: callers return the list only after this succeeds.
pub async fn record_list_read(
    state: &AppState,
    authed: &Authed,
    source: IpAddr,
    list: &'static str,
    records: usize,
) -> Result<()> {
    let event = Event::by(authed, AuditAction::PatientListRead)
        .target(format!("list:{list}"))
        .detail(format!("{records} records"))
        .from(Some(source));
    record_alone(state.db(), event).await?;
    Ok(())
}
