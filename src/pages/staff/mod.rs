//! The staff views: scheduling and patients' contact details (never clinical content).

use haven_protocol::identity::ContactCard;
use leptos::prelude::*;

use crate::components::data::{load, show};
use crate::components::empty::EmptyState;
use crate::components::table::Table;
use crate::context::use_ctx;

/// Scheduling arrives with visits; until then the view says so.
#[component]
pub fn Schedule() -> impl IntoView {
    view! {
        <EmptyState title="No visits are scheduled."
            text="Visits booked for the clinic will be listed here by day."/>
    }
}

#[component]
pub fn PatientContacts() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    show(load::<Vec<ContactCard>>(ctx, "/patient-contacts"), |cards| {
        if cards.is_empty() {
            return view! { <EmptyState title="No patients yet."/> }.into_any();
        }
        view! {
            <Table label="Patients' contact details" columns=&["Name", "Email"]>
                {cards.into_iter().map(|c| {
                    let email = c.email.as_str().to_owned();
                    view! {
                        <tr>
                            <td data-label="Name">{c.display_name.to_string()}</td>
                            <td data-label="Email"><a href=format!("mailto:{email}")>{email.clone()}</a></td>
                        </tr>
                    }
                }).collect_view()}
            </Table>
        }
        .into_any()
    })
    .into_any()
}
