//! The administrator's views: users, invitations, organisation settings and every
//! emergency access.

pub mod brand;
pub mod quotas;
pub mod settings;
pub mod users;

use haven_i18n::Arg;
use haven_protocol::access::Role;
use haven_protocol::identity::{BreakGlassGrant, InvitationSummary};
use haven_protocol::ws::Topic;
use leptos::prelude::*;

use crate::components::button::{Button, Variant};
use crate::components::data::{Loaded, fetch_into, load, refresh_on, show};
use crate::components::dialog::{Request, use_confirm};
use crate::components::empty::EmptyState;
use crate::components::invite::InviteForm;
use crate::components::table::Table;
use crate::components::time::date;
use crate::components::toast::use_toasts;
use crate::context::{Ctx, use_ctx};
use crate::i18n::{Msg, role_name, t, tf};

/// Staff invitations, and the open ones with a way to withdraw each.
#[component]
pub fn Invitations() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let open = load::<Vec<InvitationSummary>>(ctx, "/invitations");
    let reload = Callback::new(move |()| fetch_into(ctx, "/invitations", open));
    view! {
        <InviteForm roles=&[Role::Clinician, Role::Staff, Role::Admin, Role::Auditor] on_created=reload/>
        <section class="stack-sm" aria-labelledby="open-invitations-title">
            <h2 id="open-invitations-title" class="section-title">{crate::tr!(AdminOpenInvitationsTitle)}</h2>
            {open_invitations(ctx, open)}
        </section>
    }
    .into_any()
}

fn open_invitations(ctx: Ctx, open: Loaded<Vec<InvitationSummary>>) -> impl IntoView {
    let confirm = use_confirm();
    let toasts = use_toasts();
    show(open, move |list| {
        if list.is_empty() {
            return view! {
                <EmptyState title=Msg::AdminInvitationsEmptyTitle text=Msg::AdminInvitationsEmptyText/>
            }
            .into_any();
        }
        view! {
            <Table id="open-invitations" label=Msg::AdminOpenInvitationsTitle
                columns=&[Msg::AdminColumnName, Msg::AdminColumnEmail, Msg::AdminColumnRole,
                    Msg::AdminColumnInvitedBy, Msg::AdminColumnExpires, Msg::Actions]>
                {list.into_iter().map(|i| {
                    let name = i.display_name.to_string();
                    let id = i.id.to_string();
                    let (role, expires) = (i.role, i.expires_at);
                    let revoke = {
                        let name = name.clone();
                        move |_| {
                            let Some(confirm) = confirm else { return };
                            let id = id.clone();
                            let name = name.clone();
                            confirm.ask(Request {
                                title: tf(Msg::AdminWithdrawTitle, &[("name", Arg::from(&name))]),
                                message: t(Msg::AdminWithdrawMessage),
                                confirm: Msg::AdminWithdrawConfirm,
                                on_confirm: Box::new(move || {
                                    leptos::task::spawn_local(async move {
                                        let r: Result<serde_json::Value, _> = ctx
                                            .call("POST", &format!("/invitations/{id}/revoke"), None)
                                            .await;
                                        if let Some(t) = toasts {
                                            match r {
                                                Ok(_) => t.success(tf(Msg::AdminWithdrawn, &[("name", Arg::from(&name))])),
                                                Err(e) => t.error(e.to_string()),
                                            }
                                        }
                                        fetch_into(ctx, "/invitations", open);
                                    });
                                }),
                                on_cancel: None,
                            });
                        }
                    };
                    view! {
                        <tr data-invitation=i.id.to_string()>
                            <td data-label=crate::tr!(AdminColumnName)><span translate="no">{name.clone()}</span></td>
                            <td data-label=crate::tr!(AdminColumnEmail)><span translate="no">{i.email.as_str().to_owned()}</span></td>
                            <td data-label=crate::tr!(AdminColumnRole)><span class="badge role">{move || t(role_name(role))}</span></td>
                            <td data-label=crate::tr!(AdminColumnInvitedBy)><span translate="no">{i.invited_by.display_name.to_string()}</span></td>
                            <td data-label=crate::tr!(AdminColumnExpires) class="nowrap">{move || date(expires)}</td>
                            <td data-label="" class="actions-cell">
                                <Button variant=Variant::QuietDanger small=true class="revoke" on:click=revoke>{crate::tr!(AdminWithdraw)}</Button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </Table>
        }
        .into_any()
    })
}

#[component]
pub fn BreakGlassEvents() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let grants = load::<Vec<BreakGlassGrant>>(ctx, "/break-glass");
    refresh_on(ctx, Topic::BreakGlass, "/break-glass", grants);
    show(grants, |grants| {
        if grants.is_empty() {
            return view! {
                <EmptyState title=Msg::AdminBreakGlassEmptyTitle text=Msg::AdminBreakGlassEmptyText/>
            }
            .into_any();
        }
        view! {
            <ul class="events">
                {grants.into_iter().map(|g| {
                    let ended = g.expires_at as f64 <= js_sys::Date::now() / 1000.0;
                    let (granted, expires) = (g.granted_at, g.expires_at);
                    let when = if ended { Msg::AdminBreakGlassEnded } else { Msg::AdminBreakGlassUntil };
                    view! {
                    <li class="flagged" data-grant=g.id.to_string() data-state=if ended { "ended" } else { "active" }>
                        {opened_record(g.clinician.to_string(), g.patient.to_string())}
                        <div class="when">{move || tf(when, &[
                            ("granted", Arg::from(date(granted))),
                            ("expires", Arg::from(date(expires))),
                        ])}</div>
                        <p class="reason">{crate::tr!(AdminBreakGlassReason)}" "<span translate="no">{g.reason.as_str().to_owned()}</span></p>
                    </li>
                }}).collect_view()}
            </ul>
        }
        .into_any()
    })
    .into_any()
}

/// "<clinician> opened the record of <patient>" in the current language: the catalogue
/// places the names, which are shown in bold and marked as data (`translate="no"`).
fn opened_record(clinician: String, patient: String) -> impl IntoView {
    // Private-use characters hold the names' places while the sentence is written; no
    // catalogue uses them, and the pseudo-locale leaves them alone.
    const CLINICIAN: char = '\u{E000}';
    const PATIENT: char = '\u{E001}';
    move || {
        let text = tf(
            Msg::AdminBreakGlassOpened,
            &[
                ("clinician", Arg::from(CLINICIAN.to_string())),
                ("patient", Arg::from(PATIENT.to_string())),
            ],
        );
        let mut parts: Vec<AnyView> = Vec::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find([CLINICIAN, PATIENT]) {
            let (before, marked) = rest.split_at(at);
            if !before.is_empty() {
                parts.push(before.to_owned().into_any());
            }
            let mut chars = marked.chars();
            let name = if chars.next() == Some(CLINICIAN) {
                &clinician
            } else {
                &patient
            };
            parts.push(view! { <strong translate="no">{name.clone()}</strong> }.into_any());
            rest = chars.as_str();
        }
        if !rest.is_empty() {
            parts.push(rest.to_owned().into_any());
        }
        parts
    }
}
