//! The signed-in app: navigation built from the permission table for the user's role,
//! the current view (from the parsed [`Route`]), automatic logoff after inactivity (with
//! a warning), and sign-out. It provides the toasts and the confirmation dialog that
//! every view uses.
//! A view the role may not use is not in the navigation and shows "not permitted" when
//! its address is typed in; the server refuses its data anyway.

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use haven_protocol::access::{Action, View, allowed, navigation};
use leptos::prelude::*;

use crate::components::app_shell::{Account, AppShell};
use crate::components::button::Button;
use crate::components::dialog::{ConfirmDialog, provide_confirm};
use crate::components::toast::{ToastRegion, provide_toasts};
use crate::context::{Ctx, use_ctx};
use crate::pages::account::SecondFactor;
use crate::pages::clinician::record::PatientRecordView;
use crate::pages::{ViewBody, lede};
use crate::route::Route;
use crate::session::{IdlePhase, SignedOut, idle_phase};
use crate::transport::wss::LinkState;

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
pub fn Shell(brand: String, logo: Option<String>, link: RwSignal<LinkState>) -> impl IntoView {
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
    let toasts = provide_toasts();
    let confirm = provide_confirm();

    let views = navigation(role);
    let first = views.first().copied();
    let current = Signal::derive(move || {
        ctx.route.with(|route| match route {
            Route::Home | Route::Join => first,
            other => other.section(),
        })
    });

    let body = move || {
        let route = match ctx.route.get() {
            Route::Home | Route::Join => first.map_or(Route::NotFound, Route::View),
            route => route,
        };
        match route {
            Route::View(view) if allowed(role, view.requires()) => view_page(view).into_any(),
            Route::PatientRecord(id) if allowed(role, Action::ReadPatientRecord) => {
                view! { <PatientRecordView id/> }.into_any()
            }
            Route::NotFound => not_found().into_any(),
            _ => not_permitted().into_any(),
        }
    };

    let sign_out =
        Callback::new(move |()| leptos::task::spawn_local(ctx.sign_out(SignedOut::ByUser)));
    let navigate = Callback::new(move |view: View| ctx.navigate(Route::View(view)));
    let stay = move |_| phase.set(IdlePhase::Active);
    let account = Account {
        name: auth.info.display_name.to_string(),
        role: crate::i18n::role_name(role),
    };

    view! {
        <div class="signed-in app-shell" data-role=role.as_str() data-totp=auth.info.totp_enrolled.to_string()>
            <AppShell brand logo link account views current on_navigate=navigate on_sign_out=sign_out>
                {body}
                {(!auth.info.totp_enrolled).then(|| view! { <SecondFactor/> })}
            </AppShell>
            <ToastRegion toasts/>
            <ConfirmDialog confirm/>
            {move || match phase.get() {
                IdlePhase::Warning { remaining_secs } => Some(view! {
                    <div id="idle-warning" class="card idle-warning stack-sm" role="alertdialog"
                        aria-live="assertive" aria-labelledby="idle-title">
                        <h2 id="idle-title" class="section-title">{crate::tr!(IdleTitle)}</h2>
                        <p>{crate::tr!(IdleText, seconds = remaining_secs)}</p>
                        <div class="actions"><Button on:click=stay>{crate::tr!(IdleStay)}</Button></div>
                    </div>
                }),
                _ => None,
            }}
        </div>
    }
    .into_any()
}

/// A view of the permission table: its title, what it is for, and its body.
fn view_page(view: View) -> impl IntoView {
    view! {
        <section id="view" class="view" data-view=view.path() aria-labelledby="view-title">
            <header class="view-header">
                <h1 id="view-title">{move || crate::i18n::t(crate::i18n::view_title(view))}</h1>
                <p>{move || lede(view)}</p>
            </header>
            <ViewBody view/>
        </section>
    }
}

fn not_permitted() -> impl IntoView {
    view! {
        <section id="not-permitted" class="card refused" role="alert">
            <h1>{crate::tr!(NotPermittedTitle)}</h1>
            <p>{crate::tr!(NotPermittedText)}</p>
        </section>
    }
}

fn not_found() -> impl IntoView {
    view! {
        <section id="not-found" class="card" role="alert">
            <h1>{crate::tr!(NotFoundTitle)}</h1>
            <p>{crate::tr!(NotFoundText)}</p>
        </section>
    }
}
