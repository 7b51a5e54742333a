//! The patient's views: care team, visits, and who opened their record or joined their
//! care team.

use haven_protocol::identity::{ActivityEntry, PersonSummary};
use haven_protocol::ws::Topic;
use leptos::prelude::*;

use crate::components::data::{load, refresh_on, show};
use crate::components::empty::EmptyState;
use crate::components::people::person_list;
use crate::components::time::date;
use crate::context::use_ctx;

#[component]
pub fn CareTeam() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let team = load::<Vec<PersonSummary>>(ctx, "/care-team");
    refresh_on(ctx, Topic::CareTeam, "/care-team", team);
    show(team, |list| {
        if list.is_empty() {
            return view! {
                <EmptyState title="No clinicians are assigned to you yet."
                    text="When your clinic assigns a clinician to you, they appear here."/>
            }
            .into_any();
        }
        view! { <div class="card">{person_list(list, false)}</div> }.into_any()
    })
    .into_any()
}

/// Visits arrive with a later feature; until then the view says so rather than pretend.
#[component]
pub fn Visits() -> impl IntoView {
    view! {
        <EmptyState title="You have no visits scheduled."
            text="When your clinic books a video visit with you, it appears here with a button to join."/>
    }
}

#[component]
pub fn MyActivity() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let activity = load::<Vec<ActivityEntry>>(ctx, "/my-activity");
    refresh_on(ctx, Topic::BreakGlass, "/my-activity", activity);
    refresh_on(ctx, Topic::CareTeam, "/my-activity", activity);
    show(activity, |entries| {
        if entries.is_empty() {
            return view! {
                <EmptyState title="Nobody has opened your record outside your care team."
                    text="If a clinician ever needs emergency access to your record, you will see who, when and why here, and who joins your care team."/>
            }
            .into_any();
        }
        view! {
            <ul class="events">
                {entries.into_iter().map(|e| {
                    let emergency = e.reason.is_some();
                    view! {
                    <li class:flagged=emergency data-kind=if emergency { "emergency" } else { "care-team" }>
                        <strong>{e.what}</strong>" · "{e.who.to_string()}
                        <div class="when">{date(e.at)}</div>
                        {e.reason.map(|r| view! { <p class="reason">"Reason given: "{r.as_str().to_owned()}</p> })}
                    </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    })
    .into_any()
}
