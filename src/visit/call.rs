//! One device's call in a visit: a peer connection to each other member of the visit's
//! group, run as [`super::state`] decides. This file only carries out its commands with
//! the browser's WebRTC, one at a time and in order (so a candidate is applied after the
//! description it belongs to), and turns what the connections do back into events.
//!
//! Every connection is owned by a [`Peer`], which closes it on drop; the camera and
//! microphone are owned by the [`Call`], which stops them on drop.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use haven_mls::Content;
use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamTrack, RtcConfiguration, RtcIceCandidateInit, RtcOfferOptions,
    RtcPeerConnection, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

use super::state::{Command, Event, Refusal, Signal, Stage, Visit};

/// What the call view shows of one other member.
#[derive(Clone)]
pub struct PeerShown {
    pub device: Id,
    pub connected: bool,
    /// Connected, and the media came from the certificate the member's description named.
    pub verified: bool,
    pub stream: MediaStream,
    pub received: Received,
}

/// What one connection has received so far, from its statistics (`getStats`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Received {
    /// Video frames decoded.
    pub frames: f64,
    /// Audio energy received (it stops rising while the other side is muted).
    pub audio: f64,
    /// Round-trip time of the pair of candidates in use, in seconds.
    pub rtt: Option<f64>,
    /// Packets lost, out of those expected.
    pub lost: f64,
    pub packets: f64,
    /// The pair in use goes through a TURN relay.
    pub relay: bool,
}

/// How the connection is, for the quality line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    Good,
    Fair,
    Poor,
}

impl Received {
    pub fn quality(&self) -> Quality {
        let loss = if self.packets > 0.0 {
            self.lost / (self.packets + self.lost)
        } else {
            0.0
        };
        match self.rtt {
            _ if loss > 0.1 => Quality::Poor,
            Some(rtt) if rtt > 0.5 => Quality::Poor,
            _ if loss > 0.02 => Quality::Fair,
            Some(rtt) if rtt > 0.2 => Quality::Fair,
            _ => Quality::Good,
        }
    }
}

/// What the call view shows.
#[derive(Clone, Default)]
pub struct Shown {
    pub stage: Option<Stage>,
    pub peers: Vec<PeerShown>,
    /// What was refused, newest last (at most a few).
    pub refused: Vec<(Id, Refusal)>,
}

/// An ICE candidate as the members exchange it (the JSON of an `RTCIceCandidateInit`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    candidate: String,
    #[serde(default)]
    sdp_mid: Option<String>,
    #[serde(default)]
    sdp_m_line_index: Option<u16>,
}

/// One other member's connection.
struct Peer {
    pc: RtcPeerConnection,
    remote: MediaStream,
    connected: bool,
    received: Received,
    _listeners: Vec<EventListener>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.pc.close();
    }
}

struct Inner {
    conversation: Id,
    visit: RefCell<Visit>,
    local: MediaStream,
    peers: RefCell<BTreeMap<Id, Peer>>,
    queue: RefCell<VecDeque<Command>>,
    running: Cell<bool>,
    /// The members' first list has been given (admission), so later ones are changes.
    admitted: Cell<bool>,
    send: Rc<dyn Fn(Id, Content)>,
    shown: RwSignal<Shown, LocalStorage>,
    /// The visit's STUN and TURN servers, as `RTCIceServer`s.
    ice: js_sys::Array,
    /// Reads each connection's statistics every second, while the call lasts.
    stats: RefCell<Option<gloo_timers::callback::Interval>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        stop_tracks(&self.local);
    }
}

/// Stops every track of `stream` (the camera light goes off).
pub fn stop_tracks(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// A call in a visit's group, from this device's side.
#[derive(Clone)]
pub struct Call(Rc<Inner>);

impl Call {
    /// A call of `me` in `conversation` with the camera and microphone of `local`;
    /// signalling leaves through `send`.
    pub fn new(
        me: Id,
        conversation: Id,
        local: MediaStream,
        send: Rc<dyn Fn(Id, Content)>,
        shown: RwSignal<Shown, LocalStorage>,
        ice: &[haven_protocol::visits::IceServer],
    ) -> Self {
        let call = Self(Rc::new(Inner {
            conversation,
            visit: RefCell::new(Visit::waiting(me)),
            local,
            peers: RefCell::new(BTreeMap::new()),
            queue: RefCell::new(VecDeque::new()),
            running: Cell::new(false),
            admitted: Cell::new(false),
            send,
            shown,
            ice: ice_servers(ice),
            stats: RefCell::new(None),
        }));
        let weak = Rc::downgrade(&call.0);
        *call.0.stats.borrow_mut() = Some(gloo_timers::callback::Interval::new(1_000, move || {
            if let Some(inner) = weak.upgrade() {
                leptos::task::spawn_local(measure(Call(inner)));
            }
        }));
        call
    }

    pub fn conversation(&self) -> &Id {
        &self.0.conversation
    }

    pub fn local(&self) -> &MediaStream {
        &self.0.local
    }

    /// The group's members now (devices and certified roles).
    pub fn members(&self, members: Vec<(Id, Role)>) {
        let event = if self.0.admitted.replace(true) {
            Event::Members { members }
        } else {
            Event::Admitted { members }
        };
        self.handle(event);
    }

    /// Signalling from `from`, as MLS authenticated it.
    pub fn received(&self, from: Id, content: Content) {
        let signal = match content {
            Content::Offer { to, sdp, restart } => Signal::Offer { to, sdp, restart },
            Content::Answer { to, sdp } => Signal::Answer { to, sdp },
            Content::Candidate { to, candidate } => Signal::Candidate { to, candidate },
            Content::EndVisit {} => Signal::End,
            _ => return,
        };
        self.handle(Event::Received { from, signal });
    }

    pub fn leave(&self) {
        self.handle(Event::Leave);
    }

    pub fn end_for_all(&self) {
        self.handle(Event::EndForAll);
    }

    pub fn stage(&self) -> Stage {
        self.0.visit.borrow().stage().clone()
    }

    /// Sends or stops this device's microphone (or camera) to everyone.
    pub fn set_enabled(&self, kind: &str, on: bool) {
        for track in self.0.local.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<MediaStreamTrack>()
                && track.kind() == kind
            {
                track.set_enabled(on);
            }
        }
    }

    fn handle(&self, event: Event) {
        let commands = self.0.visit.borrow_mut().handle(event);
        self.0.queue.borrow_mut().extend(commands);
        self.show();
        if !self.0.running.replace(true) {
            leptos::task::spawn_local(run(Rc::downgrade(&self.0)));
        }
    }

    fn show(&self) {
        let inner = &self.0;
        let visit = inner.visit.borrow();
        let peers = inner
            .peers
            .borrow()
            .iter()
            .map(|(device, peer)| PeerShown {
                device: device.clone(),
                connected: peer.connected,
                verified: visit.verified(device),
                // `Clone::clone`: `MediaStream::clone` would make a new stream.
                stream: Clone::clone(&peer.remote),
                received: peer.received,
            })
            .collect();
        let stage = Some(visit.stage().clone());
        inner.shown.update(|s| {
            s.stage = stage;
            s.peers = peers;
        });
    }
}

/// Carries out the queued commands one at a time, until none is left.
async fn run(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let next = strong.queue.borrow_mut().pop_front();
        let Some(command) = next else {
            strong.running.set(false);
            return;
        };
        let call = Call(strong);
        // A failed step leaves the connection to recover (or fail) on its own.
        let _ = execute(&call, command).await;
        call.show();
    }
}

fn description(kind: RtcSdpType, sdp: &str) -> RtcSessionDescriptionInit {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    init
}

fn sdp_of(value: &JsValue) -> Result<String, JsValue> {
    js_sys::Reflect::get(value, &JsValue::from_str("sdp"))?
        .as_string()
        .ok_or(JsValue::NULL)
}

fn pc_of(call: &Call, peer: &Id) -> Option<RtcPeerConnection> {
    call.0.peers.borrow().get(peer).map(|p| p.pc.clone())
}

async fn execute(call: &Call, command: Command) -> Result<(), JsValue> {
    match command {
        Command::Open { peer } => open(call, peer)?,
        Command::Offer { peer, restart } => {
            let Some(pc) = pc_of(call, &peer) else {
                return Ok(());
            };
            let options = RtcOfferOptions::new();
            if restart {
                options.set_ice_restart(true);
            }
            let offer = JsFuture::from(pc.create_offer_with_rtc_offer_options(&options)).await?;
            let sdp = sdp_of(&offer)?;
            JsFuture::from(pc.set_local_description(&description(RtcSdpType::Offer, &sdp))).await?;
            call.handle(Event::Described { peer, sdp });
        }
        Command::RollBack { peer } => {
            if let Some(pc) = pc_of(call, &peer) {
                let rollback = RtcSessionDescriptionInit::new(RtcSdpType::Rollback);
                JsFuture::from(pc.set_local_description(&rollback)).await?;
            }
        }
        Command::Answer { peer, sdp } => {
            let Some(pc) = pc_of(call, &peer) else {
                return Ok(());
            };
            JsFuture::from(pc.set_remote_description(&description(RtcSdpType::Offer, &sdp)))
                .await?;
            let answer = JsFuture::from(pc.create_answer()).await?;
            let sdp = sdp_of(&answer)?;
            JsFuture::from(pc.set_local_description(&description(RtcSdpType::Answer, &sdp)))
                .await?;
            call.handle(Event::Described { peer, sdp });
        }
        Command::Apply { peer, sdp } => {
            if let Some(pc) = pc_of(call, &peer) {
                JsFuture::from(pc.set_remote_description(&description(RtcSdpType::Answer, &sdp)))
                    .await?;
            }
        }
        Command::Candidate { peer, candidate } => {
            let (Some(pc), Ok(parsed)) = (
                pc_of(call, &peer),
                serde_json::from_str::<Candidate>(&candidate),
            ) else {
                return Ok(());
            };
            let init = RtcIceCandidateInit::new(&parsed.candidate);
            init.set_sdp_mid(parsed.sdp_mid.as_deref());
            init.set_sdp_m_line_index(parsed.sdp_m_line_index);
            JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)))
                .await?;
        }
        Command::Send(signal) => {
            let content = match signal {
                Signal::Offer { to, sdp, restart } => Content::Offer { to, sdp, restart },
                Signal::Answer { to, sdp } => Content::Answer { to, sdp },
                Signal::Candidate { to, candidate } => Content::Candidate { to, candidate },
                Signal::End => Content::EndVisit {},
            };
            (call.0.send)(call.0.conversation.clone(), content);
        }
        Command::Close { peer } => {
            call.0.peers.borrow_mut().remove(&peer);
        }
        Command::Refused { peer, why } => {
            call.0.shown.update(|s| {
                s.refused.push((peer, why));
                let excess = s.refused.len().saturating_sub(4);
                s.refused.drain(..excess);
            });
        }
        // The view tells the server; the clinician's device commits the removal.
        Command::LeaveGroup => {}
    }
    Ok(())
}

/// The servers as `RTCIceServer` dictionaries (every URL already refused unless `stun:`,
/// `stuns:` or `turns:` when it was read).
fn ice_servers(servers: &[haven_protocol::visits::IceServer]) -> js_sys::Array {
    let set = |o: &js_sys::Object, k: &str, v: &JsValue| {
        let _ = js_sys::Reflect::set(o, &JsValue::from_str(k), v);
    };
    servers
        .iter()
        .map(|server| {
            let entry = js_sys::Object::new();
            let urls: js_sys::Array = server
                .urls
                .iter()
                .map(|u| JsValue::from_str(u.as_str()))
                .collect();
            set(&entry, "urls", &urls);
            if let (Some(username), Some(credential)) = (&server.username, &server.credential) {
                set(&entry, "username", &JsValue::from_str(username));
                set(&entry, "credential", &JsValue::from_str(credential));
            }
            JsValue::from(entry)
        })
        .collect()
}

/// Opens the connection to `peer` with this device's camera and microphone.
fn open(call: &Call, peer: Id) -> Result<(), JsValue> {
    let config = RtcConfiguration::new();
    config.set_ice_servers(&call.0.ice);
    let pc = RtcPeerConnection::new_with_configuration(&config)?;
    let local = &call.0.local;
    for track in local.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            pc.add_track_0(&track, local);
        }
    }
    let remote = MediaStream::new()?;
    let weak = Rc::downgrade(&call.0);
    let listeners = vec![
        {
            let weak = weak.clone();
            let peer = peer.clone();
            EventListener::new(&pc, "icecandidate", move |event| {
                let Some(inner) = weak.upgrade() else { return };
                let Some(candidate) = event
                    .dyn_ref::<web_sys::RtcPeerConnectionIceEvent>()
                    .and_then(web_sys::RtcPeerConnectionIceEvent::candidate)
                else {
                    return;
                };
                let Ok(json) = js_sys::JSON::stringify(&candidate.to_json()) else {
                    return;
                };
                let Some(candidate) = json.as_string() else {
                    return;
                };
                // In the same queue as the descriptions: it leaves after its offer.
                let call = Call(inner);
                call.0
                    .queue
                    .borrow_mut()
                    .push_back(Command::Send(Signal::Candidate {
                        to: peer.clone(),
                        candidate,
                    }));
                if !call.0.running.replace(true) {
                    leptos::task::spawn_local(run(Rc::downgrade(&call.0)));
                }
            })
        },
        {
            let weak = weak.clone();
            let remote = Clone::clone(&remote);
            EventListener::new(&pc, "track", move |event| {
                let Some(track) =
                    field(event, "track").and_then(|t| t.dyn_into::<MediaStreamTrack>().ok())
                else {
                    return;
                };
                remote.add_track(&track);
                if let Some(inner) = weak.upgrade() {
                    Call(inner).show();
                }
            })
        },
        {
            let peer = peer.clone();
            let pc_state = pc.clone();
            EventListener::new(&pc, "connectionstatechange", move |_| {
                let Some(inner) = weak.upgrade() else { return };
                let call = Call(inner);
                match pc_state.connection_state() {
                    RtcPeerConnectionState::Connected => {
                        if let Some(p) = call.0.peers.borrow_mut().get_mut(&peer) {
                            p.connected = true;
                        }
                        let (call, peer, pc) = (call.clone(), peer.clone(), pc_state.clone());
                        leptos::task::spawn_local(async move {
                            match remote_fingerprint(&pc).await {
                                Some(fingerprint) => {
                                    call.handle(Event::Connected { peer, fingerprint });
                                }
                                None => call.show(),
                            }
                        });
                    }
                    RtcPeerConnectionState::Failed => {
                        if let Some(p) = call.0.peers.borrow_mut().get_mut(&peer) {
                            p.connected = false;
                        }
                        call.handle(Event::Failed { peer: peer.clone() });
                    }
                    RtcPeerConnectionState::Disconnected => {
                        if let Some(p) = call.0.peers.borrow_mut().get_mut(&peer) {
                            p.connected = false;
                        }
                        call.show();
                    }
                    _ => {}
                }
            })
        },
    ];
    call.0.peers.borrow_mut().insert(
        peer,
        Peer {
            pc,
            remote,
            connected: false,
            received: Received::default(),
            _listeners: listeners,
        },
    );
    Ok(())
}

/// Reads what each connection received and shows it.
async fn measure(call: Call) {
    let pcs: Vec<(Id, RtcPeerConnection)> = call
        .0
        .peers
        .borrow()
        .iter()
        .map(|(id, p)| (id.clone(), p.pc.clone()))
        .collect();
    for (peer, pc) in pcs {
        let Some(stats) = all_stats(&pc).await else {
            continue;
        };
        let received = received_of(&stats);
        if let Some(p) = call.0.peers.borrow_mut().get_mut(&peer) {
            p.received = received;
        }
    }
    call.show();
}

fn field(o: &JsValue, k: &str) -> Option<JsValue> {
    js_sys::Reflect::get(o, &JsValue::from_str(k))
        .ok()
        .filter(|v| !v.is_undefined())
}

fn text(o: &JsValue, k: &str) -> Option<String> {
    field(o, k).and_then(|v| v.as_string())
}

fn number(o: &JsValue, k: &str) -> f64 {
    field(o, k).and_then(|v| v.as_f64()).unwrap_or(0.0)
}

/// Every entry of a connection's statistics.
async fn all_stats(pc: &RtcPeerConnection) -> Option<Vec<JsValue>> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let values = field(&report, "values")?
        .dyn_into::<js_sys::Function>()
        .ok()?
        .call0(&report)
        .ok()?;
    Some(js_sys::Array::from(&values).iter().collect())
}

/// The pair of candidates in use: the one its transport names (Chromium), or marked
/// selected (Firefox).
fn is_selected(stats: &[JsValue], pair: &JsValue) -> bool {
    let id = text(pair, "id");
    field(pair, "selected").and_then(|v| v.as_bool()) == Some(true)
        || stats.iter().any(|t| {
            text(t, "type").as_deref() == Some("transport")
                && id.is_some()
                && text(t, "selectedCandidatePairId") == id
        })
}

fn received_of(stats: &[JsValue]) -> Received {
    let mut out = Received::default();
    for s in stats {
        match text(s, "type").as_deref() {
            Some("inbound-rtp") => {
                out.packets += number(s, "packetsReceived");
                out.lost += number(s, "packetsLost").max(0.0);
                match text(s, "kind").as_deref() {
                    Some("video") => out.frames += number(s, "framesDecoded"),
                    Some("audio") => out.audio += number(s, "totalAudioEnergy"),
                    _ => {}
                }
            }
            Some("candidate-pair") if is_selected(stats, s) => {
                out.rtt = field(s, "currentRoundTripTime").and_then(|v| v.as_f64());
                let local = text(s, "localCandidateId");
                out.relay = stats.iter().any(|c| {
                    text(c, "id") == local && text(c, "candidateType").as_deref() == Some("relay")
                });
            }
            _ => {}
        }
    }
    out
}

/// The fingerprint of the certificate the other end's DTLS showed (`sha-256 AB:CD…`),
/// from the connection's statistics.
pub async fn remote_fingerprint(pc: &RtcPeerConnection) -> Option<String> {
    let stats = all_stats(pc).await?;
    let transport = stats.iter().find(|s| {
        text(s, "type").as_deref() == Some("transport") && text(s, "remoteCertificateId").is_some()
    })?;
    let certificate_id = text(transport, "remoteCertificateId")?;
    let certificate = stats.iter().find(|s| {
        text(s, "type").as_deref() == Some("certificate")
            && text(s, "id").as_deref() == Some(certificate_id.as_str())
    })?;
    Some(format!(
        "{} {}",
        text(certificate, "fingerprintAlgorithm")?,
        text(certificate, "fingerprint")?
    ))
}
