//! A patient's record as a clinician sees it; outside the care team, emergency access
//! with a written reason.

use haven_protocol::identity::{AccessBasis, BreakGlassGrant, Id, PatientRecord};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::components::people::people;
use crate::context::use_ctx;

#[component]
pub fn PatientRecordView(id: Id) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let record =
        RwSignal::new(None::<Result<PatientRecord, (Option<haven_protocol::ErrorCode>, String)>>);
    let path = format!("/patients/{id}");
    let fetch = {
        let path = path.clone();
        move || {
            let path = path.clone();
            leptos::task::spawn_local(async move {
                let r = ctx
                    .call::<PatientRecord>("GET", &path, None)
                    .await
                    .map_err(|e| match e {
                        crate::transport::https::HttpError::Api { code, message, .. } => {
                            (Some(code), message)
                        }
                        other => (None, other.to_string()),
                    });
                record.set(Some(r));
            });
        }
    };
    fetch();
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = {
        let path = path.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let path = format!("{path}/break-glass");
            let fetch = fetch.clone();
            leptos::task::spawn_local(async move {
                let r: Result<BreakGlassGrant, _> = ctx
                    .call(
                        "POST",
                        &path,
                        Some(json!({"reason": reason.get_untracked()})),
                    )
                    .await;
                match r {
                    Ok(_) => fetch(),
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        }
    };
    view! {
        <section id="view" class="panel" data-view="/patients/record">
            {move || match record.get() {
                None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                Some(Ok(r)) => view! {
                    {matches!(r.access, AccessBasis::BreakGlass { .. }).then(|| view! {
                        <p id="break-glass-banner" class="flagged" role="alert">"Emergency access: this opening is recorded and shown to the patient and administrators."</p>
                    })}
                    <h1>{r.display_name.to_string()}</h1>
                    <p>{r.email.as_str().to_owned()}</p>
                    <h2>"Care team"</h2>
                    {people(r.care_team, "No care team.", false)}
                }.into_any(),
                Some(Err((Some(haven_protocol::ErrorCode::NotInCareTeam), message))) => view! {
                    <p role="alert">{message}</p>
                    <form id="break-glass" class="stack" on:submit=submit.clone()>
                        <label for="reason">"Reason for emergency access (at least 20 characters)"</label>
                        <textarea id="reason" required prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
                        <button type="submit">"Open with emergency access"</button>
                        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    </form>
                }.into_any(),
                Some(Err((_, message))) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            }}
        </section>
    }
    .into_any()
}
