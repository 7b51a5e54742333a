//! The organisation's settings: the idle time before automatic logoff, the storage
//! quotas, and its brand.

use haven_i18n::Arg;
use haven_protocol::config::IDLE_TIMEOUT_RANGE_SECS;
use haven_protocol::identity::OrgSettings;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::components::button::Button;
use crate::components::field::TextField;
use crate::components::toast::use_toasts;
use crate::context::use_ctx;
use crate::i18n::{Msg, t, tf};

/// Seconds as people say them, in the current language: "15 minutes",
/// "1 hour 30 minutes", "45 seconds".
pub fn duration(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let unit = |n: u32, msg: Msg| tf(msg, &[("count", Arg::from(n))]);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(unit(h, Msg::AdminDurationHours));
    }
    if m > 0 {
        parts.push(unit(m, Msg::AdminDurationMinutes));
    }
    if s > 0 || parts.is_empty() {
        parts.push(unit(s, Msg::AdminDurationSeconds));
    }
    parts.join(" ")
}

/// The idle timeout as typed, or the message to show under the field.
fn parse_timeout(input: &str) -> Result<u32, String> {
    let range = IDLE_TIMEOUT_RANGE_SECS;
    match input.trim().parse::<u32>() {
        Ok(v) if range.contains(&v) => Ok(v),
        // The bounds as they are typed, without grouping separators.
        _ => Err(tf(
            Msg::AdminIdleInvalid,
            &[
                ("min", Arg::from(range.start().to_string())),
                ("max", Arg::from(range.end().to_string())),
            ],
        )),
    }
}

#[component]
pub fn SettingsView() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let toasts = use_toasts();
    let current = RwSignal::new(None::<u32>);
    let secs = RwSignal::new(String::new());
    let secs_error = RwSignal::new(None::<String>);
    let load_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        match ctx.call::<OrgSettings>("GET", "/org/settings", None).await {
            Ok(s) => {
                current.set(Some(s.idle_timeout_secs));
                secs.set(s.idle_timeout_secs.to_string());
            }
            Err(e) => load_error.set(Some(e.to_string())),
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let value = match parse_timeout(&secs.get_untracked()) {
            Ok(v) => v,
            Err(message) => {
                secs_error.set(Some(message));
                return;
            }
        };
        secs_error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = ctx
                .call::<OrgSettings>(
                    "PUT",
                    "/org/settings",
                    Some(json!({"idle_timeout_secs": value})),
                )
                .await;
            busy.set(false);
            match r {
                Ok(s) => {
                    current.set(Some(s.idle_timeout_secs));
                    if let Some(t) = toasts {
                        t.success(tf(
                            Msg::AdminIdleSaved,
                            &[("duration", Arg::from(duration(s.idle_timeout_secs)))],
                        ));
                    }
                }
                Err(e) => {
                    if let Some(t) = toasts {
                        t.error(e.to_string());
                    }
                }
            }
        });
    };
    view! {
        {move || load_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <form id="settings" class="card form" novalidate on:submit=submit aria-labelledby="idle-settings-title">
            <h2 id="idle-settings-title" class="section-title">{crate::tr!(AdminIdleTitle)}</h2>
            <p class="muted">
                {move || match current.get() {
                    Some(s) => tf(Msg::AdminIdleNow, &[("duration", Arg::from(duration(s)))]),
                    None => t(Msg::AdminIdleLoading),
                }}
            </p>
            <TextField id="idle" label=Msg::AdminIdleLabel value=secs error=secs_error
                inputmode="numeric" help=Msg::AdminIdleHelp/>
            <div class="form-actions">
                <Button submit=true attr:disabled=move || busy.get()>{crate::tr!(Save)}</Button>
            </div>
        </form>
        <super::quotas::QuotaForm/>
        <super::brand::BrandForm/>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(900), "15 minutes");
        assert_eq!(duration(3600), "1 hour");
        assert_eq!(duration(5400), "1 hour 30 minutes");
        assert_eq!(duration(61), "1 minute 1 second");
        assert_eq!(duration(0), "0 seconds");
    }

    #[wasm_bindgen_test]
    fn timeouts_outside_the_range_are_refused_with_the_range() {
        assert_eq!(parse_timeout(" 900 "), Ok(900));
        assert!(parse_timeout("9").is_err());
        assert!(parse_timeout("86401").is_err());
        assert!(
            parse_timeout("fifteen")
                .unwrap_err()
                .contains("10 to 86400")
        );
    }
}
