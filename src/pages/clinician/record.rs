//! A patient's record as a clinician sees it; outside the care team, emergency access
//! with a written reason.

use haven_protocol::ErrorCode;
use haven_protocol::identity::{
    AccessBasis, BreakGlassGrant, Id, PatientRecord, PersonSummary, Reason,
};
use haven_protocol::ws::Topic;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::components::button::{Button, Variant};
use crate::components::empty::EmptyState;
use crate::components::field::{TextArea, check};
use crate::components::people::person_list;
use crate::components::toast::use_toasts;
use crate::context::{Ctx, use_ctx};
use crate::i18n::{Msg, t};
use crate::route::Route;
use crate::transport::https::HttpError;

/// The record, or why it could not be read (kept as the error itself, so that it is put
/// in words in the language shown at the time).
type Loaded = Option<Result<PatientRecord, HttpError>>;

fn fetch(ctx: Ctx, path: String, record: RwSignal<Loaded>) {
    leptos::task::spawn_local(async move {
        let r = ctx.call::<PatientRecord>("GET", &path, None).await;
        record.set(Some(r));
    });
}

/// A clinician of the care team brings a colleague into it; the colleague is then added
/// to the patient's care-team conversations, with their history.
#[component]
fn JoinCareTeamForm(
    patient: Id,
    team: Vec<PersonSummary>,
    record: RwSignal<Loaded>,
) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let clinicians: crate::components::data::Loaded<Vec<PersonSummary>> =
        crate::components::data::load(ctx, "/clinicians");
    let chosen = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let toasts = use_toasts();
    let path = format!("/patients/{patient}");
    let join = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Ok(clinician) = Id::parse(&chosen.get_untracked()) else {
            error.set(Some(t(Msg::CareChooseClinicianFirst)));
            return;
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let path = path.clone();
        leptos::task::spawn_local(async move {
            let r: Result<Vec<PersonSummary>, _> = ctx
                .call(
                    "POST",
                    &format!("{path}/care-team"),
                    Some(json!({ "clinician": clinician })),
                )
                .await;
            busy.set(false);
            match r {
                Ok(_) => {
                    if let Some(t) = toasts {
                        t.success(crate::i18n::t(Msg::CareAddedToTeam));
                    }
                    fetch(ctx, path, record);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let in_team: Vec<Id> = team.into_iter().map(|p| p.id).collect();
    view! {
        <form id="join-care-team" class="form stack-sm" novalidate on:submit=join>
            <label class="field-label" for="care-team-clinician">{crate::tr!(CareBringClinician)}</label>
            <select id="care-team-clinician" on:change=move |ev| chosen.set(event_target_value(&ev))>
                <option value="">{crate::tr!(CareChooseClinician)}</option>
                {move || match clinicians.get() {
                    Some(Ok(list)) => list.into_iter()
                        .filter(|c| !in_team.contains(&c.id))
                        .map(|c| view! { <option value=c.id.to_string() translate="no">{c.display_name.to_string()}</option> })
                        .collect_view()
                        .into_any(),
                    _ => ().into_any(),
                }}
            </select>
            <div class="form-actions">
                <Button variant=Variant::Secondary submit=true attr:disabled=move || busy.get()>{crate::tr!(CareAddToTeam)}</Button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </form>
    }
    .into_any()
}

#[component]
pub fn PatientRecordView(id: Id) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let record = RwSignal::new(None);
    let path = format!("/patients/{id}");
    fetch(ctx, path.clone(), record);
    {
        // Emergency access ended (early, or run out): the record may no longer be open.
        let path = path.clone();
        Effect::new(move |_| {
            if ctx.changed.get() == Some(Topic::BreakGlass) {
                fetch(ctx, path.clone(), record);
            }
        });
    }
    let reason = RwSignal::new(String::new());
    let reason_error = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let toasts = use_toasts();
    let submit = {
        let path = path.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            if busy.get_untracked()
                || check(&reason.get_untracked(), Reason::parse, reason_error).is_none()
            {
                return;
            }
            busy.set(true);
            let path = path.clone();
            leptos::task::spawn_local(async move {
                let r: Result<BreakGlassGrant, _> = ctx
                    .call(
                        "POST",
                        &format!("{path}/break-glass"),
                        Some(json!({"reason": reason.get_untracked().trim()})),
                    )
                    .await;
                busy.set(false);
                match r {
                    Ok(_) => {
                        if let Some(t) = toasts {
                            t.info(crate::i18n::t(Msg::CareEmergencyGranted));
                        }
                        fetch(ctx, path, record);
                    }
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        }
    };
    // The clinician ends their emergency access as soon as they no longer need it.
    let record_path = StoredValue::new(path.clone());
    let end_access = {
        move |grant: Id| {
            let path = record_path.get_value();
            leptos::task::spawn_local(async move {
                let r: Result<serde_json::Value, _> = ctx
                    .call("POST", &format!("/break-glass/{grant}/end"), None)
                    .await;
                if let Some(t) = toasts {
                    match r {
                        Ok(_) => t.success(crate::i18n::t(Msg::CareEmergencyEnded)),
                        Err(e) => t.error(e.to_string()),
                    }
                }
                fetch(ctx, path, record);
            });
        }
    };
    let back = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        ctx.navigate(Route::View(haven_protocol::access::View::MyPatients));
    };
    view! {
        <section id="view" class="view" data-view="/patients/record" aria-labelledby="view-title">
            <p><a href="/patients" on:click=back>{crate::tr!(CareBackToPatients)}</a></p>
            {move || match record.get() {
                None => view! { <p class="loading" role="status">{crate::tr!(Loading)}</p> }.into_any(),
                Some(Ok(r)) => view! {
                    {match r.access.clone() {
                        AccessBasis::BreakGlass { grant, .. } => Some(view! {
                            <div id="break-glass-banner" class="flagged-banner" role="alert">
                                <p>{crate::tr!(CareEmergencyBanner)}</p>
                                <Button variant=Variant::Secondary small=true attr:id="end-break-glass"
                                    on:click=move |_| end_access(grant.clone())>{crate::tr!(CareEmergencyEnd)}</Button>
                            </div>
                        }),
                        AccessBasis::CareTeam => None,
                    }}
                    <header class="view-header">
                        <h1 id="view-title" translate="no">{r.display_name.to_string()}</h1>
                        <p translate="no">{r.email.as_str().to_owned()}</p>
                    </header>
                    <section class="card stack-sm" aria-labelledby="care-team-title">
                        <h2 id="care-team-title" class="section-title">{crate::tr!(CareTeamTitle)}</h2>
                        {if r.care_team.is_empty() {
                            view! { <p class="muted">{crate::tr!(CareNoTeam)}</p> }.into_any()
                        } else {
                            person_list(r.care_team.clone(), false).into_any()
                        }}
                        {(r.access == AccessBasis::CareTeam).then(|| view! {
                            <JoinCareTeamForm patient=r.id.clone() team=r.care_team.clone() record=record/>
                        })}
                    </section>
                }.into_any(),
                Some(Err(e @ HttpError::Api { code: ErrorCode::NotInCareTeam, .. })) => view! {
                    <header class="view-header">
                        <h1 id="view-title">{crate::tr!(CareOutsideTeam)}</h1>
                        <p>{e.to_string()}</p>
                    </header>
                    <form id="break-glass" class="card form" novalidate on:submit=submit.clone()>
                        <h2 class="section-title">{crate::tr!(CareEmergencyTitle)}</h2>
                        <p class="muted">{crate::tr!(CareEmergencyText)}</p>
                        <TextArea id="reason" label=Msg::CareEmergencyReason value=reason error=reason_error
                            help=Msg::CareEmergencyReasonHelp required=true/>
                        <div class="form-actions">
                            <Button variant=Variant::Danger submit=true attr:disabled=move || busy.get()>{crate::tr!(CareEmergencyOpen)}</Button>
                        </div>
                        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    </form>
                }.into_any(),
                Some(Err(e)) => view! {
                    <h1 id="view-title">{crate::tr!(CareRecordTitle)}</h1>
                    <EmptyState title=Msg::CareRecordUnavailable><p>{e.to_string()}</p></EmptyState>
                }.into_any(),
            }}
        </section>
    }
    .into_any()
}
