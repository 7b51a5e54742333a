//! The clinician's views: their patients (and inviting one), the waiting room, and a
//! patient's record with emergency access.

pub mod record;

use haven_protocol::access::Role;
use haven_protocol::identity::PersonSummary;
use leptos::prelude::*;

use crate::components::data::{load, show};
use crate::components::invite::InviteForm;
use crate::components::people::people;
use crate::context::use_ctx;

#[component]
pub fn MyPatients() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    view! {
        {show(load::<Vec<PersonSummary>>(ctx, "/patients"), |l| people(l, "No patients are assigned to you yet.", true))}
        <InviteForm roles=&[Role::Patient]/>
    }
    .into_any()
}

/// The waiting room arrives with visits; until then the view says so.
#[component]
pub fn WaitingRoom() -> impl IntoView {
    view! { <p class="empty">"No one is waiting."</p> }
}
