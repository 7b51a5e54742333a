//! The invitation form: a clinician invites a patient, an administrator invites staff.
//! The server decides which roles the signed-in user may invite.

use haven_protocol::access::Role;
use haven_protocol::identity::InviteResponse;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::context::use_ctx;

#[component]
pub fn InviteForm(roles: &'static [Role]) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let role = RwSignal::new(roles.first().copied().unwrap_or(Role::Patient));
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<String, String>>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"role": role.get_untracked(), "email": email.get_untracked(), "display_name": name.get_untracked()});
        leptos::task::spawn_local(async move {
            let answer = ctx
                .call::<InviteResponse>("POST", "/invitations", Some(body))
                .await;
            result.set(Some(answer.map(|r| r.link).map_err(|e| e.to_string())));
        });
    };
    view! {
        <form id="invite" class="stack" on:submit=submit>
            <h2>"Invite someone"</h2>
            {(roles.len() > 1).then(|| view! {
                <label for="invite-role">"Role"</label>
                <select id="invite-role" on:change=move |ev| {
                    if let Ok(r) = event_target_value(&ev).parse::<Role>() { role.set(r) }
                }>
                    {roles.iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                </select>
            })}
            <label for="invite-name">"Name"</label>
            <input id="invite-name" required prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <label for="invite-email">"Email address"</label>
            <input id="invite-email" type="email" required prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
            <button type="submit">"Create invitation link"</button>
            {move || result.get().map(|r| match r {
                Ok(link) => view! { <p role="status">"Send this one-time link (valid 72 hours): "<code id="invite-link">{link}</code></p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
        </form>
    }
    .into_any()
}
