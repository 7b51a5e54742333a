//! Signing in: password, then a code from an authenticator app, or its enrolment (QR code
//! and manual key) for staff roles that have none yet. Also the one-time invitation link
//! (`/join#<token>`), whose secret is in the fragment and is cleared from the address
//! bar as soon as it is read.

use haven_protocol::identity::{SignInResponse, SignInStep};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen::JsValue;

use crate::context::{Ctx, use_ctx};
use crate::route::Route;
use crate::session::Auth;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Password,
    Join {
        invitation: String,
    },
    Code {
        token: String,
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

async fn advance(
    ctx: Ctx,
    step: RwSignal<Step>,
    error: RwSignal<Option<String>>,
    path: &str,
    body: serde_json::Value,
) {
    match ctx.call::<SignInResponse>("POST", path, Some(body)).await {
        Ok(response) => {
            error.set(None);
            match response.step {
                SignInStep::SignedIn { session } => ctx.signed_in(Auth {
                    token: response.token,
                    info: session,
                }),
                SignInStep::TotpRequired => step.set(Step::Code {
                    token: response.token,
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
) {
    let url = ctx
        .config
        .with_value(|c| c.api_origin.with_path(&format!("/api{path}")));
    let Ok(url) = url else { return };
    match crate::transport::https::call::<SignInResponse>(&url, "POST", Some(&token), Some(&body))
        .await
    {
        Ok(response) => match response.step {
            SignInStep::SignedIn { session } => ctx.signed_in(Auth {
                token: response.token,
                info: session,
            }),
            _ => error.set(Some(
                "Unexpected answer from the server. Please start again.".into(),
            )),
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
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let current = step.get_untracked();
        leptos::task::spawn_local(async move {
            match current {
                Step::Password => {
                    let body = json!({"email": email.get_untracked(), "password": password.get_untracked()});
                    advance(ctx, step, error, "/auth/login", body).await;
                    password.set(String::new());
                }
                Step::Join { invitation } => {
                    let body = json!({"token": invitation, "password": password.get_untracked()});
                    advance(ctx, step, error, "/invitations/accept", body).await;
                    password.set(String::new());
                }
                Step::Code { token } => {
                    advance_with(
                        ctx,
                        token,
                        step,
                        error,
                        "/auth/totp",
                        json!({"code": code.get_untracked()}),
                    )
                    .await;
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
                    )
                    .await;
                    code.set(String::new());
                }
            }
            busy.set(false);
        });
    };

    let form = move || {
        match step.get() {
        Step::Password | Step::Join { .. } => {
            let joining = matches!(step.get_untracked(), Step::Join { .. });
            view! {
                <h2>{if joining { "Set up your account" } else { "Sign in" }}</h2>
                {(!joining).then(|| view! {
                    <label for="email">"Email address"</label>
                    <input id="email" type="email" autocomplete="username" required
                        prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                })}
                <label for="password">{if joining { "Choose a password (at least 12 characters)" } else { "Password" }}</label>
                <input id="password" type="password" required
                    autocomplete=if joining { "new-password" } else { "current-password" }
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <button type="submit" id="sign-in-submit">{if joining { "Create account" } else { "Sign in" }}</button>
            }
            .into_any()
        }
        Step::Code { .. } => view! {
            <h2>"Enter your code"</h2>
            <label for="code">"The 6-digit code from your authenticator app"</label>
            <input id="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7"
                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
            <button type="submit" id="code-submit">"Continue"</button>
        }
        .into_any(),
        Step::Enrol { secret, uri, .. } => {
            view! {
                <h2>"Set up your authenticator app"</h2>
                <p>"Your role requires a second factor. Scan this code with an authenticator app, or type the key below, then enter the code it shows."</p>
                {crate::qr::figure(&uri)}
                <p>"Key: " <code id="totp-secret">{secret}</code></p>
                <label for="code">"The 6-digit code from your authenticator app"</label>
                <input id="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7"
                    prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                <button type="submit" id="code-submit">"Confirm"</button>
            }
            .into_any()
        }
    }
    };

    view! {
        <section class="panel sign-in">
            {move || ctx.notice.get().map(|n| view! { <p id="notice" class="notice" role="status">{n}</p> })}
            <form id="sign-in" data-step=move || match step.get() {
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
