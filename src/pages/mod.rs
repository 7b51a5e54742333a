//! Whole screens, one folder per role. Each reads state and renders it; logic lives
//! below them.

pub mod account;
pub mod admin;
pub mod auditor;
pub mod clinician;
pub mod messages;
pub mod patient;
pub mod refused;
pub mod shell;
pub mod signin;
pub mod staff;
pub mod start;

use haven_protocol::access::View;
use leptos::prelude::*;

use crate::i18n::{Msg, t};

/// One sentence under a view's title: what it is for, in the current language (a
/// reactive read of it).
pub fn lede(view: View) -> String {
    t(match view {
        View::CareTeam => Msg::CareLedeCareTeam,
        View::Visits => Msg::CareLedeVisits,
        View::Messages => Msg::CareLedeMessages,
        View::MyActivity => Msg::CareLedeMyActivity,
        View::MyPatients => Msg::CareLedeMyPatients,
        View::WaitingRoom => Msg::CareLedeWaitingRoom,
        View::Schedule => Msg::CareLedeSchedule,
        View::PatientContacts => Msg::CareLedePatientContacts,
        View::Users => Msg::CareLedeUsers,
        View::Invitations => Msg::CareLedeInvitations,
        View::OrgSettings => Msg::CareLedeOrgSettings,
        View::BreakGlassEvents => Msg::CareLedeBreakGlassEvents,
        View::Audit => Msg::CareLedeAudit,
    })
}

/// The body of each view. Each fetches what its role may see and renders it; the server
/// decides what that is.
#[component]
pub fn ViewBody(view: View) -> impl IntoView {
    match view {
        View::CareTeam => view! { <patient::CareTeam/> }.into_any(),
        View::Visits => view! { <crate::visit::host::VisitHost/> }.into_any(),
        View::Messages => view! { <messages::Messages/> }.into_any(),
        View::MyActivity => view! { <patient::MyActivity/> }.into_any(),
        View::MyPatients => view! { <clinician::MyPatients/> }.into_any(),
        View::WaitingRoom => view! { <crate::visit::host::VisitHost/> }.into_any(),
        View::Schedule => view! { <staff::Schedule/> }.into_any(),
        View::PatientContacts => view! { <staff::PatientContacts/> }.into_any(),
        // Their words are fetched apart from the page (see `crate::i18n::lazy_ready`).
        View::Users
        | View::Invitations
        | View::OrgSettings
        | View::BreakGlassEvents
        | View::Audit => view! {
            <Show when=crate::i18n::lazy_ready
                fallback=|| view! { <p class="loading" role="status">{crate::tr!(Loading)}</p> }>
                {move || admin_view(view)}
            </Show>
        }
        .into_any(),
    }
}

fn admin_view(view: View) -> AnyView {
    match view {
        View::Users => view! { <admin::users::UsersView/> }.into_any(),
        View::Invitations => view! { <admin::Invitations/> }.into_any(),
        View::OrgSettings => view! { <admin::settings::SettingsView/> }.into_any(),
        View::BreakGlassEvents => view! { <admin::BreakGlassEvents/> }.into_any(),
        _ => view! { <auditor::audit::AuditView/> }.into_any(),
    }
}
