//! Starting a conversation: a clinician chooses one of their patients.

use haven_protocol::access::Role;
use haven_protocol::identity::{Id, PersonSummary};
use leptos::prelude::*;

use crate::components::button::{Button, Variant};
use crate::components::data::{Loaded, load};
use crate::context::{Ctx, use_ctx};
use crate::i18n::{Msg, t};

fn begin(
    ctx: Ctx,
    patient: Id,
    care_team: bool,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    selected: RwSignal<Option<Id>>,
) {
    busy.set(true);
    error.set(None);
    leptos::task::spawn_local(async move {
        match crate::e2ee::start_conversation(ctx, patient, care_team).await {
            Ok(id) => selected.set(Some(id)),
            Err(message) => error.set(Some(message)),
        }
        busy.set(false);
    });
}

#[component]
pub fn StartConversation(selected: RwSignal<Option<Id>>) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let Some(auth) = ctx.auth.get_untracked() else {
        return ().into_any();
    };
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let errors = move || {
        error
            .get()
            .map(|e| view! { <p id="start-error" class="error" role="alert">{e}</p> })
    };
    if auth.info.role == Role::Patient {
        // In a conversation only clinicians bring people in (every member's device
        // enforces it), so a patient's conversations start with their care team.
        return view! {
            <p class="muted start-conversation">{crate::tr!(MessagesStartPatient)}</p>
        }
        .into_any();
    }
    let patients: Loaded<Vec<PersonSummary>> = load(ctx, "/patients");
    let chosen = RwSignal::new(String::new());
    let whole_team = RwSignal::new(false);
    let start = move |_| {
        let Ok(patient) = Id::parse(&chosen.get_untracked()) else {
            error.set(Some(t(Msg::MessagesStartChooseFirst)));
            return;
        };
        begin(
            ctx,
            patient,
            whole_team.get_untracked(),
            busy,
            error,
            selected,
        );
    };
    view! {
        <div class="start-conversation stack-sm">
            <label class="field-label" for="start-patient">{crate::tr!(MessagesStartWith)}</label>
            <select id="start-patient" on:change=move |ev| chosen.set(event_target_value(&ev))>
                <option value="">{crate::tr!(MessagesStartChoose)}</option>
                {move || match patients.get() {
                    Some(Ok(list)) => list.into_iter().map(|p| view! {
                        <option value=p.id.to_string() translate="no">{p.display_name.to_string()}</option>
                    }).collect_view().into_any(),
                    _ => ().into_any(),
                }}
            </select>
            <label class="checkbox">
                <input type="checkbox" id="start-care-team"
                    on:change=move |ev| whole_team.set(event_target_checked(&ev))/>
                " "{crate::tr!(MessagesStartCareTeam)}
            </label>
            <Button variant=Variant::Secondary class="start-patient-conversation" on:click=start attr:disabled=move || busy.get()>
                {crate::tr!(MessagesStartSubmit)}
            </Button>
            {errors}
        </div>
    }
    .into_any()
}
