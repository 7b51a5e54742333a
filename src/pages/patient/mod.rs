//! The patient's views: care team, visits, and who opened their record.

use haven_protocol::identity::{ActivityEntry, PersonSummary};
use leptos::prelude::*;

use crate::components::data::{load, show};
use crate::components::people::people;
use crate::components::time::date;
use crate::context::use_ctx;

#[component]
pub fn CareTeam() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    show(load::<Vec<PersonSummary>>(ctx, "/care-team"), |l| {
        people(l, "No clinicians are assigned to you yet.", false)
    })
    .into_any()
}

/// Visits arrive with a later feature; until then the view says so rather than pretend.
#[component]
pub fn Visits() -> impl IntoView {
    view! { <p class="empty">"You have no visits scheduled."</p> }
}

#[component]
pub fn MyActivity() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    show(load::<Vec<ActivityEntry>>(ctx, "/my-activity"), |entries| {
        if entries.is_empty() {
            return view! { <p class="empty">"Nobody has opened your record outside your care team."</p> }.into_any();
        }
        view! { <ul class="list">{entries.into_iter().map(|e| view! {
            <li class="flagged"><strong>{e.what}</strong>" · "{e.who.to_string()}" · "{date(e.at)}
                {e.reason.map(|r| view! { <p>"Reason given: "{r.as_str().to_owned()}</p> })}</li>
        }).collect_view()}</ul> }.into_any()
    })
    .into_any()
}
