//! `GET /api/audit/people`: the organisation's people by id, so the audit views show
//! names and filter by a person picker. The log itself keeps only ids; names are
//! resolved when read. The list names patients, so reading it is recorded.

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use haven_protocol::access::Role;
use haven_protocol::identity::{AuditPerson, DisplayName, Id};

use crate::error::Result;
use crate::http::extract::ClientAddr;
use crate::identity::session::Authed;
use crate::state::AppState;

#[derive(sqlx::FromRow)]
struct Person {
    id: String,
    display_name: String,
    role: String,
}

pub async fn people(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
) -> Result<Json<Vec<AuditPerson>>> {
    let rows: Vec<Person> = sqlx::query_as(
        "SELECT id, display_name, role FROM users WHERE org_id = ? ORDER BY display_name",
    )
    .bind(authed.org.id.as_str())
    .fetch_all(state.db())
    .await?;
    let people = rows
        .into_iter()
        .map(|p| {
            Ok(AuditPerson {
                id: Id::parse(&p.id)?,
                display_name: DisplayName::parse(&p.display_name)?,
                role: Role::from_str(&p.role)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    crate::audit::record_list_read(&state, &authed, ip, "people", people.len()).await?;
    Ok(Json(people))
}
