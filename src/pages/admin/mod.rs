//! The administrator's views: users, invitations, organisation settings and every
//! emergency access.

pub mod settings;
pub mod users;

use haven_protocol::access::Role;
use haven_protocol::identity::BreakGlassGrant;
use leptos::prelude::*;

use crate::components::data::{load, show};
use crate::components::invite::InviteForm;
use crate::components::time::date;
use crate::context::use_ctx;

#[component]
pub fn Invitations() -> impl IntoView {
    view! { <InviteForm roles=&[Role::Clinician, Role::Staff, Role::Admin, Role::Auditor]/> }
}

#[component]
pub fn BreakGlassEvents() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    show(load::<Vec<BreakGlassGrant>>(ctx, "/break-glass"), |grants| {
        if grants.is_empty() {
            return view! { <p class="empty">"No emergency access has been used."</p> }.into_any();
        }
        view! { <ul class="list">{grants.into_iter().map(|g| view! {
            <li class="flagged">{g.clinician.to_string()}" opened "{g.patient.to_string()}" · "{date(g.granted_at)}
                <p>"Reason: "{g.reason.as_str().to_owned()}</p></li>
        }).collect_view()}</ul> }.into_any()
    })
    .into_any()
}
