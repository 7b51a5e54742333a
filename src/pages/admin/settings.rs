//! The organisation's settings: the idle time before automatic logoff.

use haven_protocol::identity::OrgSettings;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::components::data::{load, show};
use crate::context::use_ctx;

#[component]
pub fn SettingsView() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let settings = load::<OrgSettings>(ctx, "/org/settings");
    let secs = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Ok(value) = secs.get_untracked().trim().parse::<u32>() else {
            message.set(Some("Enter a whole number of seconds.".into()));
            return;
        };
        leptos::task::spawn_local(async move {
            let r = ctx
                .call::<OrgSettings>(
                    "PUT",
                    "/org/settings",
                    Some(json!({"idle_timeout_secs": value})),
                )
                .await;
            message.set(Some(match r {
                Ok(_) => "Saved.".into(),
                Err(e) => e.to_string(),
            }));
        });
    };
    view! {
        {show(settings, move |s| view! { <p>"Current idle timeout: "{s.idle_timeout_secs}" seconds"</p> })}
        <form class="stack" on:submit=submit>
            <label for="idle">"Idle timeout before automatic logoff (seconds)"</label>
            <input id="idle" inputmode="numeric" prop:value=move || secs.get() on:input=move |ev| secs.set(event_target_value(&ev))/>
            <button type="submit">"Save"</button>
            {move || message.get().map(|m| view! { <p role="status">{m}</p> })}
        </form>
    }
    .into_any()
}
