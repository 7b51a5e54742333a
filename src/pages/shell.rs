//! The signed-in app: navigation built from the permission table for the user's role,
//! the current view, automatic logoff after inactivity (with a warning), and sign-out.
//! A view the role may not use is not in the navigation and shows "not permitted" when
//! its address is typed in; the server refuses its data anyway.

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use haven_protocol::access::{Action, allowed, navigation};
use leptos::prelude::*;

use crate::context::{Ctx, use_ctx};
use crate::pages::ViewBody;
use crate::pages::account::SecondFactor;
use crate::pages::clinician::record::PatientRecordView;
use crate::route::Route;
use crate::session::{IdlePhase, SignedOut, idle_phase};

/// Input that counts as activity.
const ACTIVITY_EVENTS: [&str; 5] = [
    "keydown",
    "pointerdown",
    "pointermove",
    "touchstart",
    "wheel",
];

/// Owns the idle watch: listeners and the ticking timer go when the shell goes.
struct IdleWatch {
    _listeners: Vec<EventListener>,
    _tick: Interval,
}

fn install_idle_watch(
    ctx: Ctx,
    timeout_secs: u32,
    phase: RwSignal<IdlePhase>,
) -> Option<IdleWatch> {
    let window = web_sys::window()?;
    let last_input = StoredValue::new(js_sys::Date::now());
    let last_reported = StoredValue::new(0.0_f64);
    // Tell the server about activity at most this often, well inside its idle timeout.
    let report_every_ms = (f64::from(timeout_secs) * 1000.0 / 3.0).min(30_000.0);
    let listeners = ACTIVITY_EVENTS
        .iter()
        .map(|name| {
            EventListener::new(&window, *name, move |_| {
                let now = js_sys::Date::now();
                last_input.set_value(now);
                if now - last_reported.get_value() >= report_every_ms {
                    last_reported.set_value(now);
                    ctx.link.with_value(|l| {
                        if let Some(l) = l {
                            l.activity();
                        }
                    });
                }
            })
        })
        .collect();
    let tick = Interval::new(500, move || {
        let idle = js_sys::Date::now() - last_input.get_value();
        let next = idle_phase(timeout_secs, idle);
        if phase.get_untracked() != next {
            phase.set(next);
        }
        if next == IdlePhase::Expired && ctx.auth.get_untracked().is_some() {
            leptos::task::spawn_local(ctx.sign_out(SignedOut::Inactivity));
        }
    });
    Some(IdleWatch {
        _listeners: listeners,
        _tick: tick,
    })
}

#[component]
pub fn Shell() -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let Some(auth) = ctx.auth.get_untracked() else {
        return ().into_any();
    };
    let role = auth.info.role;
    let phase = RwSignal::new(IdlePhase::Active);
    let watch = StoredValue::new_local(install_idle_watch(ctx, auth.info.idle_timeout_secs, phase));
    on_cleanup(move || watch.set_value(None));

    let views = navigation(role);
    let first = views.first().copied();
    let nav = views
        .iter()
        .map(|view| {
            let view = *view;
            let path = view.path();
            view! {
                <li>
                    <a href=path data-view=path
                        aria-current=move || ctx.route.with(|r| r.section() == Some(view)).then_some("page")
                        on:click=move |ev| { ev.prevent_default(); ctx.navigate(Route::View(view)); }>
                        {view.title()}
                    </a>
                </li>
            }
        })
        .collect_view();

    let body = move || {
        let route = match ctx.route.get() {
            Route::Home | Route::Join => first.map_or(Route::NotFound, Route::View),
            route => route,
        };
        match route {
            Route::View(view) if allowed(role, view.requires()) => view! {
                <section id="view" class="panel" data-view=view.path()>
                    <h1>{view.title()}</h1>
                    <ViewBody view/>
                </section>
            }
            .into_any(),
            Route::PatientRecord(id) if allowed(role, Action::ReadPatientRecord) => {
                view! { <PatientRecordView id/> }.into_any()
            }
            _ => not_permitted().into_any(),
        }
    };

    let sign_out = move |_| leptos::task::spawn_local(ctx.sign_out(SignedOut::ByUser));
    let stay = move |_| phase.set(IdlePhase::Active);

    view! {
        <div class="signed-in" data-role=role.as_str() data-totp=auth.info.totp_enrolled.to_string()>
            <p class="whoami">
                <span id="user-name">{auth.info.display_name.to_string()}</span>
                " · " <span id="user-role">{role.label()}</span>
                " " <button id="sign-out" type="button" on:click=sign_out>"Sign out"</button>
            </p>
            <nav id="nav" aria-label="Main"><ul>{nav}</ul></nav>
            {(!auth.info.totp_enrolled).then(|| view! { <SecondFactor/> })}
            {body}
            {move || match phase.get() {
                IdlePhase::Warning { remaining_secs } => Some(view! {
                    <div id="idle-warning" class="panel idle-warning" role="alertdialog" aria-live="assertive">
                        <p>"You will be signed out in " <strong>{remaining_secs}</strong> " seconds because of inactivity."</p>
                        <button type="button" on:click=stay>"Stay signed in"</button>
                    </div>
                }),
                _ => None,
            }}
        </div>
    }
    .into_any()
}

fn not_permitted() -> impl IntoView {
    view! {
        <section id="not-permitted" class="panel refused" role="alert">
            <h1>"Not permitted"</h1>
            <p>"Your role does not include this page."</p>
        </section>
    }
}
