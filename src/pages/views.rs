//! The body of each view. Each fetches what its role may see and renders it; the server
//! decides what that is.

use haven_protocol::access::{Role, View};
use haven_protocol::identity::{
    AccessBasis, ActivityEntry, BreakGlassGrant, ContactCard, InviteResponse, OrgSettings,
    PatientRecord, PersonSummary, SignInResponse, SignInStep, TotpEnrolment, UserSummary,
};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::context::{Ctx, use_ctx};

/// Loads `path` once into a signal: `None` while loading, then the data or an error.
fn load<T: DeserializeOwned + Send + Sync + 'static>(
    ctx: Ctx,
    path: &'static str,
) -> RwSignal<Option<Result<T, String>>> {
    let data = RwSignal::new(None);
    leptos::task::spawn_local(async move {
        data.set(Some(
            ctx.call::<T>("GET", path, None)
                .await
                .map_err(|e| e.to_string()),
        ));
    });
    data
}

fn show<T: Clone + Send + Sync + 'static, V: IntoView + 'static>(
    data: RwSignal<Option<Result<T, String>>>,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView {
    move || match data.get() {
        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
        Some(Ok(value)) => render(value).into_any(),
    }
}

fn people(list: Vec<PersonSummary>, empty: &'static str, link: bool) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <ul class="list">
            {list.into_iter().map(|p| {
                let name = p.display_name.to_string();
                if link {
                    let href = format!("/patients/{}", p.id);
                    view! { <li><a href=href.clone() on:click=move |ev| {
                        ev.prevent_default();
                        if let Some(ctx) = use_ctx() { ctx.navigate(&href) }
                    }>{name}</a></li> }.into_any()
                } else {
                    view! { <li>{name}</li> }.into_any()
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

fn date(unix: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    date.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)
        .into()
}

#[component]
pub fn ViewBody(view: View) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    match view {
        View::CareTeam => show(load::<Vec<PersonSummary>>(ctx, "/care-team"), |l| people(l, "No clinicians are assigned to you yet.", false)).into_any(),
        View::MyPatients => view! {
            {show(load::<Vec<PersonSummary>>(ctx, "/patients"), |l| people(l, "No patients are assigned to you yet.", true))}
            <InviteForm roles=&[Role::Patient]/>
        }.into_any(),
        View::PatientContacts => show(load::<Vec<ContactCard>>(ctx, "/patient-contacts"), |cards| view! {
            <table class="table"><thead><tr><th>"Name"</th><th>"Email"</th></tr></thead><tbody>
                {cards.into_iter().map(|c| view! { <tr><td>{c.display_name.to_string()}</td><td>{c.email.as_str().to_owned()}</td></tr> }).collect_view()}
            </tbody></table>
        }).into_any(),
        View::MyActivity => show(load::<Vec<ActivityEntry>>(ctx, "/my-activity"), |entries| {
            if entries.is_empty() {
                return view! { <p class="empty">"Nobody has opened your record outside your care team."</p> }.into_any();
            }
            view! { <ul class="list">{entries.into_iter().map(|e| view! {
                <li class="flagged"><strong>{e.what}</strong>" · "{e.who.to_string()}" · "{date(e.at)}
                    {e.reason.map(|r| view! { <p>"Reason given: "{r.as_str().to_owned()}</p> })}</li>
            }).collect_view()}</ul> }.into_any()
        }).into_any(),
        View::BreakGlassEvents => show(load::<Vec<BreakGlassGrant>>(ctx, "/break-glass"), |grants| {
            if grants.is_empty() {
                return view! { <p class="empty">"No emergency access has been used."</p> }.into_any();
            }
            view! { <ul class="list">{grants.into_iter().map(|g| view! {
                <li class="flagged">{g.clinician.to_string()}" opened "{g.patient.to_string()}" · "{date(g.granted_at)}
                    <p>"Reason: "{g.reason.as_str().to_owned()}</p></li>
            }).collect_view()}</ul> }.into_any()
        }).into_any(),
        View::Users => view! { <UsersView/> }.into_any(),
        View::Invitations => view! { <InviteForm roles=&[Role::Clinician, Role::Staff, Role::Admin, Role::Auditor]/> }.into_any(),
        View::OrgSettings => view! { <SettingsView/> }.into_any(),
        // These views get their data with later features (visits, messaging, the audit
        // log); until then they say so rather than pretend.
        View::Visits => view! { <p class="empty">"You have no visits scheduled."</p> }.into_any(),
        View::Messages => view! { <p class="empty">"Secure messaging is not available yet."</p> }.into_any(),
        View::WaitingRoom => view! { <p class="empty">"No one is waiting."</p> }.into_any(),
        View::Schedule => view! { <p class="empty">"No visits are scheduled."</p> }.into_any(),
        View::Audit => view! { <crate::pages::audit::AuditView/> }.into_any(),
    }
}

#[component]
fn UsersView() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let users = load::<Vec<UserSummary>>(ctx, "/users");
    let message = RwSignal::new(None::<String>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            users.set(Some(
                ctx.call::<Vec<UserSummary>>("GET", "/users", None)
                    .await
                    .map_err(|e| e.to_string()),
            ));
        });
    };
    let deactivate = move |id: String| {
        leptos::task::spawn_local(async move {
            let result: Result<serde_json::Value, _> = ctx
                .call("POST", &format!("/users/{id}/deactivate"), None)
                .await;
            message.set(Some(match result {
                Ok(_) => "Account deactivated; its sessions have ended.".into(),
                Err(e) => e.to_string(),
            }));
            reload();
        });
    };
    view! {
        {move || message.get().map(|m| view! { <p id="users-message" role="status">{m}</p> })}
        {show(users, move |list| view! {
            <table class="table"><thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th></th></tr></thead><tbody>
            {list.into_iter().map(|u| {
                let id = u.id.to_string();
                let email = u.email.as_str().to_owned();
                view! {
                    <tr data-email=email.clone()>
                        <td>{u.display_name.to_string()}</td><td>{email.clone()}</td><td>{u.role.label()}</td>
                        <td>{if u.active { "Active" } else { "Deactivated" }}</td>
                        <td>{u.active.then(|| view! {
                            <button type="button" class="deactivate" on:click=move |_| deactivate(id.clone())>"Deactivate"</button>
                        })}</td>
                    </tr>
                }
            }).collect_view()}
            </tbody></table>
        })}
    }
    .into_any()
}

#[component]
fn InviteForm(roles: &'static [Role]) -> impl IntoView {
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

#[component]
fn SettingsView() -> impl IntoView {
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

#[component]
pub fn PatientRecordView(id: String) -> impl IntoView {
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
