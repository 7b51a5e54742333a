//! The clinician's views: their patients (and inviting one), the waiting room, and a
//! patient's record with emergency access.

pub mod record;

use haven_protocol::access::Role;
use haven_protocol::identity::PersonSummary;
use leptos::prelude::*;

use crate::components::data::{load, show};
use crate::components::empty::EmptyState;
use crate::components::invite::InviteForm;
use crate::components::people::person_list;
use crate::context::use_ctx;
use crate::i18n::Msg;

#[component]
pub fn MyPatients() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let patients = show(load::<Vec<PersonSummary>>(ctx, "/patients"), |list| {
        if list.is_empty() {
            return view! {
                <EmptyState title=Msg::CareNoPatientsTitle text=Msg::CareNoPatientsText/>
            }
            .into_any();
        }
        view! { <div class="card">{person_list(list, true)}</div> }.into_any()
    });
    view! {
        {patients}
        <InviteForm roles=&[Role::Patient]/>
    }
    .into_any()
}
