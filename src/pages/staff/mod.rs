//! The staff views: scheduling and patients' contact details (never clinical content).

use haven_protocol::identity::ContactCard;
use leptos::prelude::*;

use crate::components::data::{load, show};
use crate::components::empty::EmptyState;
use crate::components::table::Table;
use crate::context::use_ctx;
use crate::i18n::Msg;

/// Scheduling arrives with visits; until then the view says so.
#[component]
pub fn Schedule() -> impl IntoView {
    view! {
        <EmptyState title=Msg::CareScheduleEmptyTitle text=Msg::CareScheduleEmptyText/>
    }
}

#[component]
pub fn PatientContacts() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    show(load::<Vec<ContactCard>>(ctx, "/patient-contacts"), |cards| {
        if cards.is_empty() {
            return view! { <EmptyState title=Msg::CareContactsEmptyTitle/> }.into_any();
        }
        view! {
            <Table label=Msg::CareContactsLabel columns=&[Msg::CareColumnName, Msg::CareColumnEmail]>
                {cards.into_iter().map(|c| {
                    let email = c.email.as_str().to_owned();
                    view! {
                        <tr>
                            <td data-label=crate::tr!(CareColumnName) translate="no">{c.display_name.to_string()}</td>
                            <td data-label=crate::tr!(CareColumnEmail) translate="no"><a href=format!("mailto:{email}")>{email.clone()}</a></td>
                        </tr>
                    }
                }).collect_view()}
            </Table>
        }
        .into_any()
    })
    .into_any()
}
