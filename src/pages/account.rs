//! The signed-in person's own account: adding a second factor.

use haven_protocol::identity::{SignInResponse, SignInStep, TotpEnrolment};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::context::use_ctx;

/// For accounts without a second factor (patients may add one): set up an
/// authenticator app and confirm it with a first code.
#[component]
pub fn SecondFactor() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let enrolment = RwSignal::new(None::<TotpEnrolment>);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let start = move |_| {
        leptos::task::spawn_local(async move {
            match ctx
                .call::<TotpEnrolment>("POST", "/auth/totp/enrol", None)
                .await
            {
                Ok(e) => enrolment.set(Some(e)),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let confirm = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"code": code.get_untracked()});
        leptos::task::spawn_local(async move {
            match ctx
                .call::<SignInResponse>("POST", "/auth/totp/confirm", Some(body))
                .await
            {
                Ok(SignInResponse {
                    token,
                    step: SignInStep::SignedIn { session },
                    ..
                }) => {
                    ctx.signed_in(crate::session::Auth {
                        token,
                        info: session,
                    });
                }
                Ok(_) => error.set(Some("Unexpected answer from the server.".into())),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <section id="second-factor" class="panel">
            {move || match enrolment.get() {
                None => view! {
                    <p>"Protect your account with a code from an authenticator app as well as your password."</p>
                    <button type="button" id="enrol-start" on:click=start>"Set up an authenticator app"</button>
                }.into_any(),
                Some(e) => {
                    view! {
                        {crate::qr::figure(&e.otpauth_uri)}
                        <p>"Key: " <code id="totp-secret">{e.secret}</code></p>
                        <form class="stack" on:submit=confirm>
                            <label for="enrol-code">"The 6-digit code from your authenticator app"</label>
                            <input id="enrol-code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7"
                                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                            <button type="submit" id="enrol-confirm">"Confirm"</button>
                        </form>
                    }.into_any()
                }
            }}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
    .into_any()
}
