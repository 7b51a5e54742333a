//! The signed-in person's own account: adding a second factor.

use haven_protocol::identity::{SignInResponse, SignInStep, TotpCode, TotpEnrolment};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::components::button::{Button, Variant};
use crate::components::field::{TextField, check};
use crate::context::use_ctx;
use crate::i18n::{Msg, t};

/// For accounts without a second factor (patients may add one): set up an
/// authenticator app and confirm it with a first code.
#[component]
pub fn SecondFactor() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let enrolment = RwSignal::new(None::<TotpEnrolment>);
    let code = RwSignal::new(String::new());
    let code_error = RwSignal::new(None::<String>);
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
        if check(&code.get_untracked(), TotpCode::parse, code_error).is_none() {
            return;
        }
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
                Ok(_) => error.set(Some(t(Msg::AccountUnexpectedAnswer))),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <section id="second-factor" class="card stack" aria-labelledby="second-factor-title">
            <h2 id="second-factor-title" class="section-title">{crate::tr!(AccountProtectTitle)}</h2>
            {move || match enrolment.get() {
                None => view! {
                    <p class="muted">{crate::tr!(AccountProtectText)}</p>
                    <div class="actions">
                        <Button variant=Variant::Secondary attr:id="enrol-start" on:click=start>{crate::tr!(AccountEnrolStart)}</Button>
                    </div>
                }.into_any(),
                Some(e) => view! {
                    <p class="muted">{crate::tr!(AccountEnrolScan)}</p>
                    {crate::qr::figure(&e.otpauth_uri)}
                    <p>{crate::tr!(AccountKey)}" "<code id="totp-secret" class="secret" translate="no">{e.secret}</code></p>
                    <form class="form" novalidate on:submit=confirm>
                        <TextField id="enrol-code" label=Msg::AccountCode value=code error=code_error
                            help=Msg::AccountCodeHelp
                            inputmode="numeric" autocomplete="one-time-code" maxlength="7" required=true/>
                        <div class="form-actions">
                            <Button submit=true attr:id="enrol-confirm">{crate::tr!(Confirm)}</Button>
                        </div>
                    </form>
                }.into_any(),
            }}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
    .into_any()
}
