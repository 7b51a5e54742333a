//! The invitation form: a clinician invites a patient, an administrator invites staff.
//! The server decides which roles the signed-in user may invite; the form checks what
//! was typed with the protocol's own parsers first.

use haven_protocol::access::Role;
use haven_protocol::identity::{DisplayName, Email, InviteResponse};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::json;

use crate::components::button::Button;
use crate::components::field::{SelectField, TextField, check};
use crate::components::toast::use_toasts;
use crate::context::use_ctx;
use crate::i18n::{Msg, role_name, t};

#[component]
pub fn InviteForm(
    roles: &'static [Role],
    /// Called after an invitation was made (to refresh a list of them).
    #[prop(optional)]
    on_created: Option<Callback<()>>,
) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let toasts = use_toasts();
    let first = roles.first().copied().unwrap_or(Role::Patient);
    let role = RwSignal::new(first.as_str().to_owned());
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    let name_error = RwSignal::new(None::<String>);
    let link = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let name_ok = check(&name.get_untracked(), DisplayName::parse, name_error);
        let email_ok = check(&email.get_untracked(), Email::parse, email_error);
        let (Some(display_name), Some(address)) = (name_ok, email_ok) else {
            return;
        };
        let Ok(role) = role.get_untracked().parse::<Role>() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let body = json!({"role": role, "email": address, "display_name": display_name});
        leptos::task::spawn_local(async move {
            let answer = ctx
                .call::<InviteResponse>("POST", "/invitations", Some(body))
                .await;
            busy.set(false);
            match answer {
                Ok(r) => {
                    error.set(None);
                    link.set(Some(r.link));
                    name.set(String::new());
                    email.set(String::new());
                    if let Some(t) = toasts {
                        t.success(crate::i18n::t(Msg::AdminInviteCreated));
                    }
                    if let Some(done) = on_created {
                        done.run(());
                    }
                }
                Err(e) => {
                    link.set(None);
                    error.set(Some(e.to_string()));
                }
            }
        });
    };
    let options: Vec<(String, String)> = roles
        .iter()
        .map(|r| (r.as_str().to_owned(), t(role_name(*r))))
        .collect();
    let title = if roles == [Role::Patient] {
        Msg::AdminInvitePatientTitle
    } else {
        Msg::AdminInviteTitle
    };
    view! {
        <form id="invite" class="card form" novalidate on:submit=submit aria-labelledby="invite-title">
            <h2 id="invite-title" class="section-title">
                {move || t(title)}
            </h2>
            {(roles.len() > 1).then(|| view! {
                <SelectField id="invite-role" label=Msg::AdminInviteRoleLabel value=role options
                    help=Msg::AdminInviteRoleHelp/>
            })}
            <TextField id="invite-name" label=Msg::AdminInviteNameLabel value=name error=name_error required=true
                autocomplete="off" help=Msg::AdminInviteNameHelp/>
            <TextField id="invite-email" label=Msg::AdminInviteEmailLabel kind="email" value=email error=email_error
                required=true autocomplete="off"/>
            <div class="form-actions">
                <Button submit=true attr:disabled=move || busy.get()>{crate::tr!(AdminInviteCreate)}</Button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || link.get().map(|l| view! {
                <div class="notice stack-sm" role="status">
                    <p>{crate::tr!(AdminInviteLinkNotice)}</p>
                    <p><code id="invite-link" translate="no">{l}</code></p>
                </div>
            })}
        </form>
    }
    .into_any()
}
