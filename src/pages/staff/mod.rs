//! The staff views: scheduling and patients' contact details (never clinical content).

use haven_protocol::identity::ContactCard;
use leptos::prelude::*;

use crate::components::data::{load, show};
use crate::context::use_ctx;

/// Scheduling arrives with visits; until then the view says so.
#[component]
pub fn Schedule() -> impl IntoView {
    view! { <p class="empty">"No visits are scheduled."</p> }
}

#[component]
pub fn PatientContacts() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    show(load::<Vec<ContactCard>>(ctx, "/patient-contacts"), |cards| view! {
        <table class="table"><thead><tr><th>"Name"</th><th>"Email"</th></tr></thead><tbody>
            {cards.into_iter().map(|c| view! { <tr><td>{c.display_name.to_string()}</td><td>{c.email.as_str().to_owned()}</td></tr> }).collect_view()}
        </tbody></table>
    })
    .into_any()
}
