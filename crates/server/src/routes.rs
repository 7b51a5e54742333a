//! Every API route with who may call it, in one table. The router is built from this
//! table and each route's guard takes its access from the same row, so a route cannot
//! exist without a permission check; the matrix test walks the same table.

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, get, post, put};
use haven_protocol::access::Action;

use crate::session::Access;
use crate::state::AppState;
use crate::{accounts, api, clinical};

/// One API route: method, path under `/api`, and who may call it.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

fn spec(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
) -> (RouteSpec, MethodRouter<AppState>) {
    (
        RouteSpec {
            method,
            path,
            access,
        },
        handler,
    )
}

fn full(actions: &'static [Action]) -> Access {
    Access::Full(actions)
}

pub fn table() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    use Access::{AnyStage, Public};
    use Method as M;
    vec![
        spec(M::GET, "/health", Public, get(api::health)),
        spec(M::GET, "/config", Public, get(api::config)),
        spec(
            M::POST,
            "/csp-report",
            Public,
            post(api::csp_report).layer(DefaultBodyLimit::max(api::MAX_CSP_REPORT_BYTES)),
        ),
        spec(M::POST, "/auth/login", Public, post(accounts::login)),
        spec(
            M::POST,
            "/invitations/accept",
            Public,
            post(accounts::accept),
        ),
        spec(M::POST, "/auth/totp", AnyStage, post(accounts::totp)),
        spec(
            M::POST,
            "/auth/totp/confirm",
            AnyStage,
            post(accounts::confirm),
        ),
        spec(M::POST, "/auth/logout", AnyStage, post(accounts::logout)),
        spec(
            M::GET,
            "/session",
            full(&[Action::OwnSession]),
            get(accounts::current),
        ),
        spec(
            M::POST,
            "/auth/totp/enrol",
            full(&[Action::EnrolTotp]),
            post(accounts::enrol),
        ),
        spec(
            M::POST,
            "/invitations",
            full(&[Action::InviteStaff, Action::InvitePatient]),
            post(accounts::invite),
        ),
        spec(
            M::GET,
            "/users",
            full(&[Action::ListUsers]),
            get(accounts::list_users),
        ),
        spec(
            M::POST,
            "/users/{id}/role",
            full(&[Action::ChangeRole]),
            post(accounts::change_role),
        ),
        spec(
            M::POST,
            "/users/{id}/deactivate",
            full(&[Action::DeactivateUser]),
            post(accounts::deactivate),
        ),
        spec(
            M::GET,
            "/org/settings",
            full(&[Action::ReadOrgSettings]),
            get(accounts::settings),
        ),
        spec(
            M::PUT,
            "/org/settings",
            full(&[Action::UpdateOrgSettings]),
            put(accounts::update_settings),
        ),
        spec(
            M::GET,
            "/patients",
            full(&[Action::ListAssignedPatients]),
            get(clinical::my_patients),
        ),
        spec(
            M::GET,
            "/patients/{id}",
            full(&[Action::ReadPatientRecord]),
            get(clinical::record),
        ),
        spec(
            M::POST,
            "/patients/{id}/break-glass",
            full(&[Action::BreakGlass]),
            post(clinical::break_glass),
        ),
        spec(
            M::GET,
            "/break-glass",
            full(&[Action::ReadBreakGlassEvents]),
            get(clinical::all_grants),
        ),
        spec(
            M::GET,
            "/my-activity",
            full(&[Action::ReadOwnActivity]),
            get(clinical::my_activity),
        ),
        spec(
            M::GET,
            "/care-team",
            full(&[Action::ReadCareTeam]),
            get(clinical::care_team),
        ),
        spec(
            M::GET,
            "/patient-contacts",
            full(&[Action::ReadPatientContacts]),
            get(clinical::contacts),
        ),
    ]
}

/// The table without its handlers, for tests and documentation.
pub fn specs() -> Vec<RouteSpec> {
    table().into_iter().map(|(spec, _)| spec).collect()
}
