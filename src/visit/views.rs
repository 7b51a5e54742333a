//! The visit views, in the visit module: the visits (a patient joins, a clinician
//! opens), the check before a visit, the waiting room, and the call.
//!
//! The server decides who may wait and who is admitted; the visit's MLS group decides
//! who gets keys and signalling; these views only show where each stands.

use haven_mls::Content;
use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use haven_protocol::messaging::ConversationSummary;
use haven_protocol::visits::{ParticipantState, VisitRoom, VisitSummary};
use leptos::prelude::*;
use serde_json::json;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

use super::bridge::FromVisit;
use super::call::{Call, Quality, Shown, stop_tracks};
use super::module::{Module, set_call, tell};
use super::state::{Refusal, Stage};
use crate::components::time::date;
use crate::context::use_ctx;
use crate::i18n::{Msg, t, tf};
use crate::tr;

fn module() -> Option<Module> {
    use_context::<Module>()
}

/// The visits, or the one opened.
#[component]
pub fn VisitApp() -> impl IntoView {
    let opened = RwSignal::new(None::<Id>);
    view! {
        <Show when=crate::i18n::lazy_ready
            fallback=|| view! { <p class="loading" role="status">{tr!(Loading)}</p> }>
            {move || match opened.get() {
                None => view! { <VisitList opened/> }.into_any(),
                Some(id) => view! { <Room id opened/> }.into_any(),
            }}
        </Show>
    }
}

/// The caller's visits not yet over, soonest first.
#[component]
fn VisitList(opened: RwSignal<Option<Id>>) -> impl IntoView {
    let Some(ctx) = use_ctx() else {
        return ().into_any();
    };
    let visits = crate::components::data::load::<Vec<VisitSummary>>(ctx, "/visits");
    if let Some(module) = module() {
        Effect::new(move |_| {
            if module.changed.get() > 0 {
                crate::components::data::fetch_into(ctx, "/visits", visits);
            }
        });
    }
    let clinician = ctx
        .auth
        .with_untracked(|a| a.as_ref().is_some_and(|a| a.info.role == Role::Clinician));
    crate::components::data::show(visits, move |list| {
        if list.is_empty() {
            return view! {
                <crate::components::empty::EmptyState
                    title=if clinician { Msg::CareWaitingRoomEmptyTitle } else { Msg::CareVisitsEmptyTitle }
                    text=if clinician { Msg::CareWaitingRoomEmptyText } else { Msg::CareVisitsEmptyText }/>
            }
            .into_any();
        }
        let items = list
            .into_iter()
            .map(|v| {
                let with = if clinician { v.patient.display_name } else { v.clinician.display_name };
                let minutes = u64::from(v.minutes);
                let id = v.id.clone();
                let action = if v.joinable {
                    let label = if clinician { Msg::VisitOpen } else { Msg::VisitJoin };
                    view! {
                        <button type="button" class="btn btn-primary visit-go"
                            on:click=move |_| opened.set(Some(id.clone()))>
                            {move || t(label)}
                        </button>
                    }
                    .into_any()
                } else {
                    view! { <span class="muted">{tr!(VisitNotYet)}</span> }.into_any()
                };
                view! {
                    <li class="visit" data-visit=v.id.to_string()>
                        <strong translate="no">{with.to_string()}</strong>
                        <span>{date(v.starts_at)}</span>
                        <span class="muted">{tr!(VisitMinutes, minutes = minutes)}</span>
                        {action}
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="card visits stack-sm">{items}</ul> }.into_any()
    })
    .into_any()
}

/// Where this device stands in the opened visit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Check,
    /// Told the server (waiting, or the group opened).
    In,
    Declined,
    Done,
}

/// What a browser needs for a visit, and what this one has.
#[derive(Clone, Default)]
struct Checked {
    webrtc: bool,
    media: Option<Result<web_sys::MediaStream, ()>>,
}

fn has_webrtc() -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &"RTCPeerConnection".into()).ok())
        .is_some_and(|f| f.is_function())
}

async fn camera() -> Result<web_sys::MediaStream, ()> {
    let devices = web_sys::window()
        .ok_or(())?
        .navigator()
        .media_devices()
        .map_err(|_| ())?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_audio(&true.into());
    constraints.set_video(&true.into());
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|_| ())?;
    JsFuture::from(promise)
        .await
        .map_err(|_| ())?
        .dyn_into::<web_sys::MediaStream>()
        .map_err(|_| ())
}

#[component]
fn Room(id: Id, opened: RwSignal<Option<Id>>) -> impl IntoView {
    let (Some(ctx), Some(module)) = (use_ctx(), module()) else {
        return ().into_any();
    };
    let clinician = ctx
        .auth
        .with_untracked(|a| a.as_ref().is_some_and(|a| a.info.role == Role::Clinician));
    let me = ctx
        .auth
        .with_untracked(|a| a.as_ref().map(|a| a.info.user_id.clone()));
    let step = RwSignal::new(Step::Check);
    let room = RwSignal::new(None::<VisitRoom>);
    let error = RwSignal::new(None::<String>);
    let checked = RwSignal::new_local(Checked {
        webrtc: has_webrtc(),
        media: None,
    });
    let shown = RwSignal::new_local(Shown::default());
    let ice = StoredValue::new(Vec::<haven_protocol::visits::IceServer>::new());
    let call = StoredValue::new_local(None::<Call>);

    if checked.get_untracked().webrtc {
        leptos::task::spawn_local(async move {
            let media = camera().await;
            checked.update(|c| c.media = Some(media));
        });
    }

    let path = format!("/visits/{id}");
    let fetch_room = {
        let path = path.clone();
        let me = me.clone();
        move || {
            let (path, me) = (path.clone(), me.clone());
            leptos::task::spawn_local(async move {
                match ctx.call::<VisitRoom>("GET", &path, None).await {
                    Ok(r) => {
                        let mine = r
                            .participants
                            .iter()
                            .find(|p| Some(&p.person.id) == me.as_ref())
                            .map(|p| p.state);
                        if r.ended_at.is_some() {
                            step.set(Step::Done);
                        } else if mine == Some(ParticipantState::Declined) {
                            step.set(Step::Declined);
                        }
                        room.set(Some(r));
                    }
                    Err(e) => error.set(Some(crate::i18n::http_error(&e))),
                }
            });
        }
    };
    fetch_room();
    {
        let fetch_room = fetch_room.clone();
        Effect::new(move |_| {
            if module.changed.get() > 0 {
                fetch_room();
            }
        });
    }

    // The call starts once this device holds the visit's group, and follows its members.
    let visit_id = id.clone();
    Effect::new(move |_| {
        let groups = module.groups.get();
        let Some(group) = groups
            .iter()
            .find(|g| g.visit == visit_id && g.joined && !g.left)
        else {
            return;
        };
        if step.get_untracked() != Step::In {
            return;
        }
        // The clinician calls only clinicians' devices and the devices the room shows as
        // admitted: one declined or gone is still in the group until its removal is
        // committed, and gets nothing meanwhile.
        let admitted: Vec<Id> = room.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.participants
                        .iter()
                        .filter(|p| p.state == ParticipantState::Admitted)
                        .map(|p| p.device.clone())
                        .collect()
                })
                .unwrap_or_default()
        });
        let members: Vec<(Id, Role)> = group
            .members
            .iter()
            .filter(|m| {
                !clinician || m.me || m.role == Role::Clinician || admitted.contains(&m.device)
            })
            .map(|m| (m.device.clone(), m.role))
            .collect();
        let running = call.with_value(|c| c.as_ref().map(|c| c.conversation().clone()));
        if running.as_ref() != Some(&group.conversation) {
            let (Some(device), Some(Ok(local))) =
                (module.device.get_untracked(), checked.get_untracked().media)
            else {
                return;
            };
            let send = std::rc::Rc::new(|conversation: Id, content: Content| {
                if let Ok(content) = serde_json::to_string(&content) {
                    tell(&FromVisit::Send {
                        conversation,
                        content,
                    });
                }
            });
            let started = ice.with_value(|ice| {
                Call::new(device, group.conversation.clone(), local, send, shown, ice)
            });
            call.set_value(Some(started.clone()));
            // In the call first, then what came for it before it started.
            started.members(members);
            set_call(Some(started));
        } else if let Some(c) = call.get_value() {
            c.members(members);
        }
    });
    // Over (ended, left or declined): the connections close and the camera goes off.
    Effect::new(move |_| {
        if matches!(step.get(), Step::Done | Step::Declined) {
            call.set_value(None);
            set_call(None);
        }
    });
    on_cleanup(move || {
        set_call(None);
        if let Some(Ok(local)) = checked.get_untracked().media {
            stop_tracks(&local);
        }
    });

    let go_in = {
        let path = path.clone();
        move || {
            let Some(device) = module.device.get_untracked() else {
                return;
            };
            let (path, me) = (path.clone(), me.clone());
            leptos::task::spawn_local(async move {
                let body = Some(json!({ "device": device }));
                let answer = if clinician {
                    ctx.call::<VisitRoom>("POST", &format!("{path}/room"), body)
                        .await
                } else {
                    ctx.call::<VisitRoom>("POST", &format!("{path}/wait"), body)
                        .await
                };
                match answer {
                    Ok(r) => {
                        if clinician
                            && let (Some(conversation), Some(me)) =
                                (r.conversation.clone(), me.clone())
                        {
                            tell(&FromVisit::Opened {
                                summary: ConversationSummary {
                                    id: conversation,
                                    patient: r.visit.patient.id.clone(),
                                    created_by: me,
                                    created_at: 0,
                                    last_seq: 0,
                                    acked_seq: 0,
                                    left: false,
                                    care_team: false,
                                    waiting: Vec::new(),
                                    visit: Some(r.visit.id.clone()),
                                    leaving: Vec::new(),
                                },
                            });
                        }
                        room.set(Some(r));
                        // The visit's STUN and TURN servers, before anyone is connected to.
                        match ctx
                            .call::<haven_protocol::visits::IceServers>(
                                "GET",
                                &format!("{path}/ice"),
                                None,
                            )
                            .await
                        {
                            Ok(servers) => ice.set_value(servers.servers),
                            Err(e) => {
                                error.set(Some(crate::i18n::http_error(&e)));
                                return;
                            }
                        }
                        step.set(Step::In);
                    }
                    Err(e) => error.set(Some(crate::i18n::http_error(&e))),
                }
            });
        }
    };

    let decide = move |user: Id, admit: bool| {
        let path = path.clone();
        leptos::task::spawn_local(async move {
            let what = if admit { "admit" } else { "decline" };
            match ctx
                .call::<VisitRoom>(
                    "POST",
                    &format!("{path}/{what}"),
                    Some(json!({ "user": user })),
                )
                .await
            {
                Ok(r) => {
                    room.set(Some(r));
                    tell(&FromVisit::Refresh);
                }
                Err(e) => error.set(Some(crate::i18n::http_error(&e))),
            }
        });
    };

    let visit_of_call = id.clone();
    let finish = {
        let id = id.clone();
        move || {
            let id = id.clone();
            if let Some(c) = call.get_value() {
                if clinician {
                    c.end_for_all();
                } else {
                    c.leave();
                }
            }
            step.set(Step::Done);
            leptos::task::spawn_local(async move {
                let what = if clinician { "end" } else { "leave" };
                let _ = ctx
                    .call::<()>("POST", &format!("/visits/{id}/{what}"), Some(json!({})))
                    .await;
            });
        }
    };

    let with_name = move || {
        room.with(|r| {
            r.as_ref().map(|r| {
                if clinician {
                    r.visit.patient.display_name.to_string()
                } else {
                    r.visit.clinician.display_name.to_string()
                }
            })
        })
        .unwrap_or_default()
    };

    view! {
        <section class="visit-room stack">
            <button type="button" class="btn btn-quiet visit-back"
                on:click=move |_| opened.set(None)>{tr!(VisitBack)}</button>
            <h2 translate="no">{with_name}</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match step.get() {
                Step::Check => view! { <Check checked device=module.device go_in=go_in.clone()/> }.into_any(),
                Step::Declined => view! {
                    <p class="notice" role="status" data-visit-state="declined">{tr!(VisitDeclined)}</p>
                }.into_any(),
                Step::Done => view! {
                    <p class="notice" role="status" data-visit-state="ended">{tr!(VisitEnded)}</p>
                }.into_any(),
                Step::In => {
                    let finish = finish.clone();
                    let decide = decide.clone();
                    view! {
                        {(!clinician).then(|| view! {
                            <WaitingNotice shown name=with_name/>
                        })}
                        {clinician.then(|| view! { <Waiting room decide/> })}
                        <CallView shown call checked finish clinician visit=visit_of_call.clone()/>
                    }.into_any()
                }
            }}
        </section>
    }
    .into_any()
}

/// The check before the visit: what this browser can do, with a preview.
#[component]
fn Check(
    checked: RwSignal<Checked, LocalStorage>,
    device: RwSignal<Option<Id>>,
    go_in: impl Fn() + Clone + 'static,
) -> impl IntoView {
    let preview = NodeRef::<leptos::html::Video>::new();
    Effect::new(move |_| {
        let media = checked.with(|c| c.media.clone());
        if let (Some(video), Some(Ok(stream))) = (preview.get(), media) {
            let video: web_sys::HtmlMediaElement = video.into();
            video.set_src_object(Some(&stream));
        }
    });
    let ready = move || {
        device.with(Option::is_some) && checked.with(|c| c.webrtc && matches!(c.media, Some(Ok(_))))
    };
    let line = |ok: bool, good: Msg, bad: Msg| {
        view! {
            <li class=if ok { "check ok" } else { "check failed" }>
                {move || t(if ok { good } else { bad })}
            </li>
        }
    };
    view! {
        <div class="visit-check stack-sm" data-visit-state="check">
            <h3>{tr!(VisitCheckTitle)}</h3>
            <video class="visit-preview" node_ref=preview autoplay=true playsinline=true
                prop:muted=true aria-label=tr!(VisitPreview)></video>
            <ul class="checks">
                {move || {
                    let c = checked.get();
                    view! {
                        {line(c.webrtc, Msg::VisitCheckWebrtcOk, Msg::VisitCheckWebrtcFailed)}
                        {line(device.with(Option::is_some), Msg::VisitCheckSecureOk, Msg::VisitCheckSecureFailed)}
                        {match c.media {
                            None if c.webrtc => Some(view! { <li class="check">{tr!(Loading)}</li> }.into_any()),
                            None => None,
                            Some(result) => Some(line(result.is_ok(), Msg::VisitCheckCameraOk, Msg::VisitCheckCameraFailed).into_any()),
                        }}
                    }
                }}
            </ul>
            <button type="button" class="btn btn-primary visit-continue"
                prop:disabled=move || !ready()
                on:click=move |_| go_in()>{tr!(VisitContinue)}</button>
        </div>
    }
}

/// The patient's waiting room, until the call has someone in it.
#[component]
fn WaitingNotice(
    shown: RwSignal<Shown, LocalStorage>,
    name: impl Fn() -> String + Send + Sync + Clone + 'static,
) -> impl IntoView {
    move || {
        let in_call = shown.with(|s| s.stage == Some(Stage::InVisit));
        (!in_call).then(|| {
            let name = name.clone();
            view! {
                <p class="notice" role="status" data-visit-state="waiting">
                    {move || tf(Msg::VisitWaiting, &[("name", name().into())])}
                </p>
            }
        })
    }
}

/// The clinician's view of who waits, with admit and decline.
#[component]
fn Waiting(
    room: RwSignal<Option<VisitRoom>>,
    decide: impl Fn(Id, bool) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        let people = room.with(|r| {
            r.as_ref()
                .map(|r| r.participants.clone())
                .unwrap_or_default()
        });
        let waiting: Vec<_> = people
            .into_iter()
            .filter(|p| p.state == ParticipantState::Waiting)
            .collect();
        if waiting.is_empty() {
            return view! { <p class="muted" data-waiting="0">{tr!(VisitNobodyWaiting)}</p> }
                .into_any();
        }
        let count = waiting.len();
        let items = waiting
            .into_iter()
            .map(|p| {
                let (admit, decline) = (decide.clone(), decide.clone());
                let (a, d) = (p.person.id.clone(), p.person.id.clone());
                view! {
                    <li class="waiting-person">
                        <strong translate="no">{p.person.display_name.to_string()}</strong>
                        <span class="muted">{tr!(VisitWaitingSince, time = date(p.since))}</span>
                        <button type="button" class="btn btn-primary visit-admit"
                            on:click=move |_| admit(a.clone(), true)>{tr!(VisitAdmit)}</button>
                        <button type="button" class="btn btn-secondary visit-decline"
                            on:click=move |_| decline(d.clone(), false)>{tr!(VisitDecline)}</button>
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="card stack-sm" data-waiting=count.to_string()>{items}</ul> }.into_any()
    }
}

/// One member's video, fed from their stream.
#[component]
fn Tile(stream: web_sys::MediaStream, label: String, muted: bool) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    Effect::new(move |_| {
        if let Some(element) = video.get() {
            let element: web_sys::HtmlMediaElement = element.into();
            element.set_src_object(Some(&stream));
        }
    });
    view! {
        <figure class="visit-tile">
            <video node_ref=video autoplay=true playsinline=true prop:muted=muted></video>
            <figcaption translate="no">{label}</figcaption>
        </figure>
    }
}

#[component]
fn CallView(
    shown: RwSignal<Shown, LocalStorage>,
    call: StoredValue<Option<Call>, LocalStorage>,
    checked: RwSignal<Checked, LocalStorage>,
    finish: impl Fn() + Clone + 'static,
    clinician: bool,
    visit: Id,
) -> impl IntoView {
    let module = module();
    let mic = RwSignal::new(true);
    let cam = RwSignal::new(true);
    let names = move |device: &Id| -> String {
        module
            .and_then(|m| {
                m.groups.with(|g| {
                    g.iter()
                        .flat_map(|g| g.members.iter())
                        .find(|m| &m.device == device)
                        .map(|m| m.name.clone())
                })
            })
            .unwrap_or_default()
    };
    let code = move || {
        module?.groups.with(|g| {
            g.iter()
                .find(|g| g.visit == visit && g.joined && !g.left)
                .and_then(|g| g.code.clone())
        })
    };
    let local = move || checked.with(|c| c.media.clone().and_then(Result::ok));
    let toggle = move |kind: &'static str, on: RwSignal<bool>| {
        let now = !on.get_untracked();
        on.set(now);
        if let Some(c) = call.get_value() {
            c.set_enabled(kind, now);
        }
    };
    view! {
        <div class="visit-call stack-sm" data-visit-state=move || match shown.with(|s| s.stage.clone()) {
            Some(Stage::InVisit) => "call",
            Some(Stage::Ended) => "ended",
            _ => "waiting",
        }>
            {move || code().map(|code| view! {
                <p class="visit-code">{tf(Msg::VisitCode, &[("code", code.as_str().into())])}</p>
            })}
            <div class="visit-tiles">
                {move || local().map(|stream| view! { <Tile stream label=t(Msg::VisitYou) muted=true/> })}
                <For each=move || shown.with(|s| {
                        s.peers.iter().map(|p| (p.device.clone(), Clone::clone(&p.stream))).collect::<Vec<_>>()
                    })
                    key=|(device, _)| device.clone()
                    children=move |(device, stream)| {
                        let label = names(&device);
                        let at = device.clone();
                        let peer = move || shown.with(|s| {
                            s.peers.iter().find(|p| p.device == at).map(|p| (p.verified, p.connected, p.received))
                        });
                        let peer2 = peer.clone();
                        let peer3 = peer.clone();
                        let peer4 = peer.clone();
                        let peer5 = peer.clone();
                        view! {
                            <div class="visit-peer" data-peer=device.to_string()
                                data-verified=move || peer().is_some_and(|p| p.0).to_string()
                                data-frames=move || peer2().map_or(0.0, |p| p.2.frames).to_string()
                                data-audio=move || peer3().map_or(0.0, |p| p.2.audio).to_string()
                                data-relay=move || peer4().is_some_and(|p| p.2.relay).to_string()>
                                <Tile stream label muted=false/>
                                <p class="muted">{move || match peer5() {
                                    Some((true, _, received)) => {
                                        let quality = match received.quality() {
                                            Quality::Good => Msg::VisitQualityGood,
                                            Quality::Fair => Msg::VisitQualityFair,
                                            Quality::Poor => Msg::VisitQualityPoor,
                                        };
                                        format!("{} · {}", t(Msg::VisitConnected), t(quality))
                                    }
                                    _ => t(Msg::VisitConnecting),
                                }}</p>
                            </div>
                        }
                    }/>
            </div>
            {move || shown.with(|s| s.refused.clone()).into_iter().map(|(peer, why)| {
                let name = names(&peer);
                let msg = match why {
                    Refusal::FingerprintMismatch => Msg::VisitRefusedFingerprint,
                    _ => Msg::VisitRefusedOther,
                };
                view! { <p class="error" role="alert" data-refused=format!("{why:?}")>{move || tf(msg, &[("name", name.clone().into())])}</p> }
            }).collect_view()}
            {move || (shown.with(|s| s.stage.clone()) == Some(Stage::Ended)).then(|| view! {
                <p class="notice" role="status">{tr!(VisitEnded)}</p>
            })}
            <div class="visit-controls">
                <button type="button" class="btn btn-secondary visit-mute" aria-pressed=move || (!mic.get()).to_string()
                    on:click=move |_| toggle("audio", mic)>
                    {move || t(if mic.get() { Msg::VisitMute } else { Msg::VisitUnmute })}
                </button>
                <button type="button" class="btn btn-secondary visit-camera" aria-pressed=move || (!cam.get()).to_string()
                    on:click=move |_| toggle("video", cam)>
                    {move || t(if cam.get() { Msg::VisitCameraOff } else { Msg::VisitCameraOn })}
                </button>
                <button type="button" class="btn btn-danger visit-finish"
                    on:click=move |_| finish()>
                    {move || t(if clinician { Msg::VisitEnd } else { Msg::VisitLeave })}
                </button>
            </div>
        </div>
    }
}
