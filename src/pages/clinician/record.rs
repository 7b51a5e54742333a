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
use crate::route::Route;
use crate::transport::https::HttpError;

type Loaded = Option<Result<PatientRecord, (Option<ErrorCode>, String)>>;

fn fetch(ctx: Ctx, path: String, record: RwSignal<Loaded>) {
    leptos::task::spawn_local(async move {
        let r = ctx
            .call::<PatientRecord>("GET", &path, None)
            .await
            .map_err(|e| match e {
                HttpError::Api { code, message, .. } => (Some(code), message),
                other => (None, other.to_string()),
            });
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
            error.set(Some("Choose a clinician first.".to_owned()));
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
                        t.success("Added to the care team. Their devices join the care-team conversations with the history.");
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
            <label class="field-label" for="care-team-clinician">"Bring a clinician into the care team"</label>
            <select id="care-team-clinician" on:change=move |ev| chosen.set(event_target_value(&ev))>
                <option value="">"Choose a clinician"</option>
                {move || match clinicians.get() {
                    Some(Ok(list)) => list.into_iter()
                        .filter(|c| !in_team.contains(&c.id))
                        .map(|c| view! { <option value=c.id.to_string()>{c.display_name.to_string()}</option> })
                        .collect_view()
                        .into_any(),
                    _ => ().into_any(),
                }}
            </select>
            <div class="form-actions">
                <Button variant=Variant::Secondary submit=true attr:disabled=move || busy.get()>"Add to care team"</Button>
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
                            t.info("Emergency access granted. It is recorded and shown to the patient.");
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
                        Ok(_) => t.success("Emergency access ended."),
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
            <p><a href="/patients" on:click=back>"← My patients"</a></p>
            {move || match record.get() {
                None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                Some(Ok(r)) => view! {
                    {match r.access.clone() {
                        AccessBasis::BreakGlass { grant, .. } => Some(view! {
                            <div id="break-glass-banner" class="flagged-banner" role="alert">
                                <p>"Emergency access: this opening is recorded and shown to the patient and administrators."</p>
                                <Button variant=Variant::Secondary small=true attr:id="end-break-glass"
                                    on:click=move |_| end_access(grant.clone())>"End emergency access now"</Button>
                            </div>
                        }),
                        AccessBasis::CareTeam => None,
                    }}
                    <header class="view-header">
                        <h1 id="view-title">{r.display_name.to_string()}</h1>
                        <p>{r.email.as_str().to_owned()}</p>
                    </header>
                    <section class="card stack-sm" aria-labelledby="care-team-title">
                        <h2 id="care-team-title" class="section-title">"Care team"</h2>
                        {if r.care_team.is_empty() {
                            view! { <p class="muted">"No care team."</p> }.into_any()
                        } else {
                            person_list(r.care_team.clone(), false).into_any()
                        }}
                        {(r.access == AccessBasis::CareTeam).then(|| view! {
                            <JoinCareTeamForm patient=r.id.clone() team=r.care_team.clone() record=record/>
                        })}
                    </section>
                }.into_any(),
                Some(Err((Some(ErrorCode::NotInCareTeam), message))) => view! {
                    <header class="view-header">
                        <h1 id="view-title">"Outside your care team"</h1>
                        <p>{message}</p>
                    </header>
                    <form id="break-glass" class="card form" novalidate on:submit=submit.clone()>
                        <h2 class="section-title">"Emergency access"</h2>
                        <p class="muted">"Only in an emergency. Access lasts a limited time, is recorded in the audit log, and the patient and administrators are told."</p>
                        <TextArea id="reason" label="Reason for emergency access" value=reason error=reason_error
                            help="At least 20 characters: what the emergency is and why you need this record." required=true/>
                        <div class="form-actions">
                            <Button variant=Variant::Danger submit=true attr:disabled=move || busy.get()>"Open with emergency access"</Button>
                        </div>
                        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    </form>
                }.into_any(),
                Some(Err((_, message))) => view! {
                    <h1 id="view-title">"Patient record"</h1>
                    <EmptyState title="This record cannot be shown."><p>{message}</p></EmptyState>
                }.into_any(),
            }}
        </section>
    }
    .into_any()
}
