//! The administrator's list of users: change a role, deactivate an account. Both end the
//! person's sessions at once, so both ask for confirmation first and say what will
//! happen; the result comes back as a toast.

use haven_i18n::Arg;
use haven_protocol::access::Role;
use haven_protocol::identity::{Id, UserSummary};
use leptos::prelude::*;
use serde_json::json;

use crate::components::button::{Button, Variant};
use crate::components::data::{Loaded, fetch_into, load, show};
use crate::components::dialog::{Request, use_confirm};
use crate::components::empty::EmptyState;
use crate::components::table::Table;
use crate::components::toast::{Toasts, use_toasts};
use crate::context::{Ctx, use_ctx};
use crate::i18n::{Msg, role_name, t, tf};

/// Runs `method path`, then toasts `done` or the server's message, then reloads the list.
fn act(
    ctx: Ctx,
    toasts: Option<Toasts>,
    path: String,
    body: Option<serde_json::Value>,
    done: String,
    users: Loaded<Vec<UserSummary>>,
) {
    leptos::task::spawn_local(async move {
        let result: Result<serde_json::Value, _> = ctx.call("POST", &path, body).await;
        if let Some(t) = toasts {
            match result {
                Ok(_) => t.success(done),
                Err(e) => t.error(e.to_string()),
            }
        }
        fetch_into(ctx, "/users", users);
    });
}

/// One row: name, email, role (a choice, for active accounts other than one's own),
/// status, and deactivation.
fn row(ctx: Ctx, me: Option<Id>, u: UserSummary, users: Loaded<Vec<UserSummary>>) -> impl IntoView {
    let confirm = use_confirm();
    let toasts = use_toasts();
    let email = u.email.as_str().to_owned();
    let name = u.display_name.to_string();
    let is_me = me.as_ref() == Some(&u.id);
    let id = u.id.to_string();
    let current = u.role;
    let chosen = RwSignal::new(current.as_str().to_owned());

    let change_role = {
        let (name, id) = (name.clone(), id.clone());
        move |ev: leptos::ev::Event| {
            let Ok(role) = event_target_value(&ev).parse::<Role>() else {
                return;
            };
            chosen.set(role.as_str().to_owned());
            if role == current {
                return;
            }
            let Some(confirm) = confirm else { return };
            let (name, id) = (name.clone(), id.clone());
            confirm.ask(Request {
                title: tf(Msg::AdminChangeRoleTitle, &[("name", Arg::from(&name))]),
                message: tf(
                    Msg::AdminChangeRoleMessage,
                    &[
                        ("from", Arg::from(t(role_name(current)))),
                        ("to", Arg::from(t(role_name(role)))),
                    ],
                ),
                confirm: Msg::AdminChangeRoleConfirm,
                on_confirm: Box::new(move || {
                    act(
                        ctx,
                        toasts,
                        format!("/users/{id}/role"),
                        Some(json!({ "role": role })),
                        tf(
                            Msg::AdminRoleChanged,
                            &[
                                ("name", Arg::from(&name)),
                                ("role", Arg::from(t(role_name(role)))),
                            ],
                        ),
                        users,
                    );
                }),
                on_cancel: Some(Box::new(move || chosen.set(current.as_str().to_owned()))),
            });
        }
    };

    let deactivate = {
        let (name, id) = (name.clone(), id.clone());
        move |_| {
            let Some(confirm) = confirm else { return };
            let (name, id) = (name.clone(), id.clone());
            confirm.ask(Request {
                title: tf(Msg::AdminDeactivateTitle, &[("name", Arg::from(&name))]),
                message: t(Msg::AdminDeactivateMessage),
                confirm: Msg::AdminDeactivateConfirm,
                on_confirm: Box::new(move || {
                    act(
                        ctx,
                        toasts,
                        format!("/users/{id}/deactivate"),
                        None,
                        tf(Msg::AdminDeactivated, &[("name", Arg::from(&name))]),
                        users,
                    );
                }),
                on_cancel: None,
            });
        }
    };

    let role_cell = if u.active && !is_me {
        let select_id = format!("role-{id}");
        let label_name = name.clone();
        view! {
            <label class="visually-hidden" for=select_id.clone()>
                {move || tf(Msg::AdminRoleOf, &[("name", Arg::from(&label_name))])}
            </label>
            <select id=select_id class="input role-select" prop:value=move || chosen.get() on:change=change_role>
                {Role::ALL.into_iter().map(|r| view! {
                    <option value=r.as_str() selected=r == current>{move || t(role_name(r))}</option>
                }).collect_view()}
            </select>
        }
        .into_any()
    } else {
        view! { <span class="badge role">{move || t(role_name(current))}</span> }.into_any()
    };
    let status = match (u.active, u.totp_enrolled) {
        (false, _) => {
            view! { <span class="badge bad">{crate::tr!(AdminStatusDeactivated)}</span> }.into_any()
        }
        (true, true) => {
            view! { <span class="badge ok">{crate::tr!(AdminStatusActive)}</span> }.into_any()
        }
        (true, false) => view! {
            <span class="badge ok">{crate::tr!(AdminStatusActive)}</span>" "
            <span class="badge warn">{crate::tr!(AdminStatusNoSecondFactor)}</span>
        }
        .into_any(),
    };
    let email_attr = email.clone();
    view! {
        <tr data-email=email_attr>
            <td data-label=crate::tr!(AdminColumnName)>
                <span translate="no">{name.clone()}</span>
                {is_me.then(|| view! { <span class="sub">{crate::tr!(AdminYou)}</span> })}
            </td>
            <td data-label=crate::tr!(AdminColumnEmail)><span translate="no">{email}</span></td>
            <td data-label=crate::tr!(AdminColumnRole)>{role_cell}</td>
            <td data-label=crate::tr!(AdminColumnStatus)>{status}</td>
            <td data-label="" class="actions-cell">
                {(u.active && !is_me).then(|| view! {
                    <Button variant=Variant::QuietDanger small=true class="deactivate" on:click=deactivate>{crate::tr!(AdminDeactivate)}</Button>
                })}
            </td>
        </tr>
    }
}

#[component]
pub fn UsersView() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let me = ctx
        .auth
        .with_untracked(|a| a.as_ref().map(|a| a.info.user_id.clone()));
    let users = load::<Vec<UserSummary>>(ctx, "/users");
    show(users, move |list| {
        if list.is_empty() {
            return view! { <EmptyState title=Msg::AdminUsersEmptyTitle/> }.into_any();
        }
        let me = me.clone();
        view! {
            <Table label=Msg::AdminUsersTitle
                columns=&[Msg::AdminColumnName, Msg::AdminColumnEmail, Msg::AdminColumnRole, Msg::AdminColumnStatus, Msg::Actions]>
                {list.into_iter().map(|u| row(ctx, me.clone(), u, users)).collect_view()}
            </Table>
        }
        .into_any()
    })
    .into_any()
}
