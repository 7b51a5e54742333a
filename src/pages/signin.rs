//! Signing in: password, then a code from an authenticator app, or its enrolment (QR code
//! and manual key) for staff roles that have none yet. Also the one-time invitation link
//! (`/join#<token>`), whose secret is in the fragment and is cleared from the address
//! bar as soon as it is read.

use haven_protocol::identity::{Email, Password, SignInResponse, SignInStep, TotpCode};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen::JsValue;

use crate::components::button::Button;
use crate::components::field::{TextField, check};
use crate::context::{Ctx, use_ctx};
use crate::i18n::{Msg, t};
use crate::route::Route;
use crate::session::Auth;
use crate::tr;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Password,
    Join {
        invitation: String,
    },
    Code {
        token: String,
        /// Whose code it is: the device credential is kept under it.
        email: Option<Email>,
    },
    Enrol {
        token: String,
        secret: String,
        uri: String,
    },
}

/// Reads and removes an invitation token from `/join#<token>`.
fn take_invitation() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    if Route::parse(&location.pathname().ok()?) != Route::Join {
        return None;
    }
    let token = location.hash().ok()?.trim_start_matches('#').to_owned();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some("/join"));
    }
    (!token.is_empty()).then_some(token)
}

/// Keeps the device credential a completed sign-in handed this browser.
async fn keep_device(email: Option<&Email>, response: &SignInResponse) {
    if let (Some(email), Some(device)) = (email, &response.device) {
        crate::devices::remember(email, device).await;
    }
}

async fn advance(
    ctx: Ctx,
    step: RwSignal<Step>,
    error: RwSignal<Option<String>>,
    path: &str,
    body: serde_json::Value,
    email: Option<Email>,
) {
    match ctx.call::<SignInResponse>("POST", path, Some(body)).await {
        Ok(response) => {
            error.set(None);
            keep_device(email.as_ref(), &response).await;
            match response.step {
                SignInStep::SignedIn { session } => ctx.signed_in(Auth {
                    token: response.token,
                    info: session,
                }),
                SignInStep::TotpRequired => step.set(Step::Code {
                    token: response.token,
                    email,
                }),
                SignInStep::TotpEnrolmentRequired {
                    secret,
                    otpauth_uri,
                } => step.set(Step::Enrol {
                    token: response.token,
                    secret,
                    uri: otpauth_uri,
                }),
            }
        }
        Err(e) => error.set(Some(e.to_string())),
    }
}

/// The pending-stage calls carry the half-signed-in token, not the (absent) session.
async fn advance_with(
    ctx: Ctx,
    token: String,
    step: RwSignal<Step>,
    error: RwSignal<Option<String>>,
    path: &str,
    body: serde_json::Value,
    email: Option<Email>,
) {
    let url = ctx
        .config
        .with_value(|c| c.api_origin.with_path(&format!("/api{path}")));
    let Ok(url) = url else { return };
    let answer =
        crate::transport::https::call::<SignInResponse>(&url, "POST", Some(&token), Some(&body))
            .await;
    if let Ok(response) = &answer {
        keep_device(email.as_ref(), response).await;
    }
    match answer {
        Ok(response) => match response.step {
            SignInStep::SignedIn { session } => ctx.signed_in(Auth {
                token: response.token,
                info: session,
            }),
            _ => error.set(Some(t(Msg::SignInUnexpected))),
        },
        Err(e) => error.set(Some(e.to_string())),
    }
    let _ = step;
}

#[component]
pub fn SignIn() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let initial = take_invitation().map_or(Step::Password, |invitation| Step::Join { invitation });
    let step = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    let password_error = RwSignal::new(None::<String>);
    let code_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // What the person typed, checked with the protocol's own parsers before it leaves.
    let ready = move |current: &Step| match current {
        Step::Password => {
            let email_ok = check(&email.get_untracked(), Email::parse, email_error).is_some();
            let password_ok = !password.get_untracked().is_empty();
            password_error.set((!password_ok).then(|| t(Msg::SignInPasswordMissing)));
            email_ok && password_ok
        }
        Step::Join { .. } => {
            check(&password.get_untracked(), Password::parse, password_error).is_some()
        }
        Step::Code { .. } | Step::Enrol { .. } => {
            check(&code.get_untracked(), TotpCode::parse, code_error).is_some()
        }
    };

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let current = step.get_untracked();
        if !ready(&current) {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match current {
                Step::Password => {
                    let typed = Email::parse(&email.get_untracked()).ok();
                    let mut body = json!({"email": email.get_untracked().trim(), "password": password.get_untracked()});
                    // A browser that signed in to this account before says so: the
                    // account's owner is then not locked out by someone else's guesses.
                    if let Some(typed) = &typed
                        && let Some(device) = crate::devices::credential(typed).await
                    {
                        body["device"] = json!(device.expose());
                    }
                    advance(ctx, step, error, "/auth/login", body, typed).await;
                    password.set(String::new());
                }
                Step::Join { invitation } => {
                    let body = json!({"token": invitation, "password": password.get_untracked()});
                    advance(ctx, step, error, "/invitations/accept", body, None).await;
                    password.set(String::new());
                }
                Step::Code { token, email } => {
                    let mut body = json!({"code": code.get_untracked()});
                    if let Some(typed) = &email
                        && let Some(device) = crate::devices::credential(typed).await
                    {
                        body["device"] = json!(device.expose());
                    }
                    advance_with(ctx, token, step, error, "/auth/totp", body, email).await;
                    code.set(String::new());
                }
                Step::Enrol { token, .. } => {
                    advance_with(
                        ctx,
                        token,
                        step,
                        error,
                        "/auth/totp/confirm",
                        json!({"code": code.get_untracked()}),
                        None,
                    )
                    .await;
                    code.set(String::new());
                }
            }
            busy.set(false);
        });
    };

    let code_field = move || {
        view! {
            <TextField id="code" label=Msg::SignInCode value=code error=code_error
                help=Msg::SignInCodeHelp
                inputmode="numeric" autocomplete="one-time-code" maxlength="7" required=true/>
        }
    };

    let form = move || {
        match step.get() {
        Step::Password => view! {
            <h2>{tr!(SignInTitle)}</h2>
            <TextField id="email" label=Msg::SignInEmail kind="email" value=email error=email_error
                autocomplete="username" required=true/>
            <TextField id="password" label=Msg::SignInPassword kind="password" value=password error=password_error
                autocomplete="current-password" required=true/>
            <div class="form-actions">
                <Button submit=true attr:id="sign-in-submit" attr:disabled=move || busy.get()>{tr!(SignInSubmit)}</Button>
            </div>
        }
        .into_any(),
        Step::Join { .. } => view! {
            <h2>{tr!(SignInJoinTitle)}</h2>
            <TextField id="password" label=Msg::SignInChoosePassword kind="password" value=password error=password_error
                help=Msg::SignInChoosePasswordHelp
                autocomplete="new-password" required=true/>
            <div class="form-actions">
                <Button submit=true attr:id="sign-in-submit" attr:disabled=move || busy.get()>{tr!(SignInCreateAccount)}</Button>
            </div>
        }
        .into_any(),
        Step::Code { .. } => view! {
            <h2>{tr!(SignInCodeTitle)}</h2>
            <p class="muted">{tr!(SignInCodeText)}</p>
            {code_field()}
            <div class="form-actions">
                <Button submit=true attr:id="code-submit" attr:disabled=move || busy.get()>{tr!(SignInContinue)}</Button>
            </div>
        }
        .into_any(),
        Step::Enrol { secret, uri, .. } => view! {
            <h2>{tr!(SignInEnrolTitle)}</h2>
            <p class="muted">{tr!(SignInEnrolText)}</p>
            {crate::qr::figure(&uri)}
            <p>{tr!(SignInKey)} " " <code id="totp-secret" class="secret" translate="no">{secret}</code></p>
            {code_field()}
            <div class="form-actions">
                <Button submit=true attr:id="code-submit" attr:disabled=move || busy.get()>{tr!(Confirm)}</Button>
            </div>
        }
        .into_any(),
    }
    };

    view! {
        <section class="card sign-in" aria-label=tr!(SignInTitle)>
            {move || ctx.notice.get().map(|n| view! { <p id="notice" class="notice" role="status">{move || t(n)}</p> })}
            <form id="sign-in" class="form" novalidate data-step=move || match step.get() {
                Step::Password => "password",
                Step::Join { .. } => "join",
                Step::Code { .. } => "code",
                Step::Enrol { .. } => "enrol",
            } on:submit=submit>
                {form}
                {move || error.get().map(|e| view! { <p id="sign-in-error" class="error" role="alert">{e}</p> })}
            </form>
        </section>
    }
    .into_any()
}
