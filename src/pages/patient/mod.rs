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
use crate::i18n::Msg;

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
                <EmptyState title=Msg::CareTeamEmptyTitle text=Msg::CareTeamEmptyText/>
            }
            .into_any();
        }
        view! { <div class="card">{person_list(list, false)}</div> }.into_any()
    })
    .into_any()
}

/// The server's English prefix of a care-team entry, before the name of who brought the
/// clinician in.
const BROUGHT_IN_BY: &str = "Joined your care team (brought in by ";

/// What happened, in the current language: the server writes an entry's `what` in
/// English, so the app says it again from the catalogue (an emergency access, or who
/// brought a clinician into the care team). A line it does not recognise is shown as
/// the server wrote it.
fn what_happened(emergency: bool, what: String) -> impl IntoView {
    if emergency {
        return view! { <strong>{crate::tr!(CareActivityEmergency)}</strong> }.into_any();
    }
    let by = what
        .strip_prefix(BROUGHT_IN_BY)
        .and_then(|rest| rest.strip_suffix(')'))
        .map(str::to_owned);
    match by {
        Some(by) => {
            view! { <strong>{crate::tr!(CareActivityJoined, by = &by)}</strong> }.into_any()
        }
        None => view! { <strong translate="no">{what}</strong> }.into_any(),
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
                <EmptyState title=Msg::CareActivityEmptyTitle text=Msg::CareActivityEmptyText/>
            }
            .into_any();
        }
        view! {
            <ul class="events">
                {entries.into_iter().map(|e| {
                    let emergency = e.reason.is_some();
                    view! {
                    <li class:flagged=emergency data-kind=if emergency { "emergency" } else { "care-team" }>
                        {what_happened(emergency, e.what)}" · "<span translate="no">{e.who.to_string()}</span>
                        <div class="when">{date(e.at)}</div>
                        {e.reason.map(|r| view! {
                            <p class="reason">{crate::tr!(CareActivityReasonGiven)}" "<span translate="no">{r.as_str().to_owned()}</span></p>
                        })}
                    </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    })
    .into_any()
}
