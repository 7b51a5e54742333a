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

/// One sentence under a view's title: what it is for.
pub fn lede(view: View) -> &'static str {
    match view {
        View::CareTeam => "The clinicians looking after you.",
        View::Visits => "Your video visits with your care team.",
        View::Messages => "End-to-end encrypted conversations with your care team.",
        View::MyActivity => {
            "Every time someone outside your care team opened your record, and why."
        }
        View::MyPatients => "The patients in your care, and inviting a new one.",
        View::WaitingRoom => "Patients who have joined a visit and wait to be admitted.",
        View::Schedule => "Upcoming visits across the clinic.",
        View::PatientContacts => "How to reach patients. Clinical details are not shown here.",
        View::Users => "Everyone with an account in your organisation: roles and access.",
        View::Invitations => {
            "Invite staff by a one-time link, and withdraw invitations not yet used."
        }
        View::OrgSettings => "Settings that apply to everyone in your organisation.",
        View::BreakGlassEvents => {
            "Every emergency access to a patient's record, with the reason given."
        }
        View::Audit => "The tamper-evident record of every sign-in, access and change.",
    }
}

/// The body of each view. Each fetches what its role may see and renders it; the server
/// decides what that is.
#[component]
pub fn ViewBody(view: View) -> impl IntoView {
    match view {
        View::CareTeam => view! { <patient::CareTeam/> }.into_any(),
        View::Visits => view! { <patient::Visits/> }.into_any(),
        View::Messages => view! { <messages::Messages/> }.into_any(),
        View::MyActivity => view! { <patient::MyActivity/> }.into_any(),
        View::MyPatients => view! { <clinician::MyPatients/> }.into_any(),
        View::WaitingRoom => view! { <clinician::WaitingRoom/> }.into_any(),
        View::Schedule => view! { <staff::Schedule/> }.into_any(),
        View::PatientContacts => view! { <staff::PatientContacts/> }.into_any(),
        View::Users => view! { <admin::users::UsersView/> }.into_any(),
        View::Invitations => view! { <admin::Invitations/> }.into_any(),
        View::OrgSettings => view! { <admin::settings::SettingsView/> }.into_any(),
        View::BreakGlassEvents => view! { <admin::BreakGlassEvents/> }.into_any(),
        View::Audit => view! { <auditor::audit::AuditView/> }.into_any(),
    }
}
