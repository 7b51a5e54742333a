//! The administrator's views: users, invitations, organisation settings and every
//! emergency access.

pub mod brand;
pub mod settings;
pub mod users;

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
            <h2 id="open-invitations-title" class="section-title">"Open invitations"</h2>
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
                <EmptyState title="No open invitations."
                    text="Invitations not yet used appear here until they are used, withdrawn or expire."/>
            }
            .into_any();
        }
        view! {
            <Table id="open-invitations" label="Open invitations" columns=&["Name", "Email", "Role", "Invited by", "Expires", ""]>
                {list.into_iter().map(|i| {
                    let name = i.display_name.to_string();
                    let id = i.id.to_string();
                    let revoke = {
                        let name = name.clone();
                        move |_| {
                            let Some(confirm) = confirm else { return };
                            let id = id.clone();
                            let name = name.clone();
                            confirm.ask(Request {
                                title: format!("Withdraw the invitation to {name}?"),
                                message: "The link stops working at once. You can invite them again later.".to_owned(),
                                confirm: "Withdraw invitation",
                                on_confirm: Box::new(move || {
                                    leptos::task::spawn_local(async move {
                                        let r: Result<serde_json::Value, _> = ctx
                                            .call("POST", &format!("/invitations/{id}/revoke"), None)
                                            .await;
                                        if let Some(t) = toasts {
                                            match r {
                                                Ok(_) => t.success(format!("The invitation to {name} is withdrawn.")),
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
                            <td data-label="Name">{name.clone()}</td>
                            <td data-label="Email">{i.email.as_str().to_owned()}</td>
                            <td data-label="Role"><span class="badge role">{i.role.label()}</span></td>
                            <td data-label="Invited by">{i.invited_by.display_name.to_string()}</td>
                            <td data-label="Expires" class="nowrap">{date(i.expires_at)}</td>
                            <td data-label="" class="actions-cell">
                                <Button variant=Variant::QuietDanger small=true class="revoke" on:click=revoke>"Withdraw"</Button>
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
                <EmptyState title="No emergency access has been used."
                    text="When a clinician opens a record outside their care team, it is listed here with their reason."/>
            }
            .into_any();
        }
        view! {
            <ul class="events">
                {grants.into_iter().map(|g| {
                    let ended = g.expires_at as f64 <= js_sys::Date::now() / 1000.0;
                    view! {
                    <li class="flagged" data-grant=g.id.to_string() data-state=if ended { "ended" } else { "active" }>
                        <strong>{g.clinician.to_string()}</strong>" opened the record of "<strong>{g.patient.to_string()}</strong>
                        <div class="when">{date(g.granted_at)}{if ended { " · ended " } else { " · until " }}{date(g.expires_at)}</div>
                        <p class="reason">"Reason: "{g.reason.as_str().to_owned()}</p>
                    </li>
                }}).collect_view()}
            </ul>
        }
        .into_any()
    })
    .into_any()
}
