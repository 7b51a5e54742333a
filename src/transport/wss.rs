//! The app's one WebSocket, kept alive: it reconnects with backoff and jitter after a
//! drop, pings on the server's heartbeat and treats a missed pong as a dead link.
//!
//! [`Link`] owns the socket, its listeners and its timers; dropping the link closes the
//! socket and releases all of them. Callbacks hold only a weak reference, so there is
//! no cycle to leak.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use haven_protocol::WssUrl;
use haven_protocol::ws::ClientFrame;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

use super::backoff::Backoff;

/// How the link looks to the person using the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Open,
    Reconnecting { attempt: u32 },
}

impl LinkState {
    /// Stable name, used as a `data-` attribute.
    pub fn id(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Open => "open",
            Self::Reconnecting { .. } => "reconnecting",
        }
    }

    pub fn label(self) -> crate::i18n::Msg {
        match self {
            Self::Connecting => crate::i18n::Msg::LinkConnecting,
            Self::Open => crate::i18n::Msg::LinkOpen,
            Self::Reconnecting { .. } => crate::i18n::Msg::LinkReconnecting,
        }
    }
}

/// What the server told the app over the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// The session ended elsewhere (sign-out, deactivation, expiry): wipe and sign in again.
    SessionEnded(haven_protocol::audit::SessionEndReason),
    /// Something this person sees changed: fetch it again.
    Changed(haven_protocol::ws::Topic),
    /// For the subscribed encryption device: `subscribed`, `accepted`, `refused`,
    /// `deliver`, `gap`, `receipts`, and errors while subscribed.
    Delivery(String),
    /// The link authenticated again and is about to subscribe the device: every frame
    /// the device receives from here on comes after this event.
    Resubscribing,
}

/// Ping this often when the server has not said otherwise.
const DEFAULT_HEARTBEAT_MS: u32 = 15_000;

struct Inner {
    url: WssUrl,
    on_state: Box<dyn Fn(LinkState)>,
    on_event: Box<dyn Fn(LinkEvent)>,
    /// The session token this link presents after each (re)connect; memory only.
    token: Option<String>,
    /// The encryption device subscribed after each authentication.
    device: Option<haven_protocol::identity::Id>,
    socket: Option<WebSocket>,
    listeners: Vec<EventListener>,
    /// Listeners of a socket that closed while one of them was running; released at the
    /// next connect rather than from inside their own callback.
    stale: Vec<EventListener>,
    retry: Option<Timeout>,
    keepalive: Option<Interval>,
    backoff: Backoff,
    next_seq: u64,
    awaiting_pong: Option<u64>,
}

/// A self-healing WebSocket to `url`.
pub struct Link {
    inner: Rc<RefCell<Inner>>,
}

impl Link {
    /// Starts connecting at once; `on_state` hears every change of [`LinkState`].
    pub fn open(
        url: WssUrl,
        on_state: impl Fn(LinkState) + 'static,
        on_event: impl Fn(LinkEvent) + 'static,
    ) -> Self {
        let inner = Rc::new(RefCell::new(Inner {
            url,
            on_state: Box::new(on_state),
            on_event: Box::new(on_event),
            token: None,
            device: None,
            socket: None,
            listeners: Vec::new(),
            stale: Vec::new(),
            retry: None,
            keepalive: None,
            backoff: Backoff::default(),
            next_seq: 0,
            awaiting_pong: None,
        }));
        connect(&inner);
        Self { inner }
    }
}

impl Link {
    /// Binds the link to a session (`Some`) or to none: sent now if the socket is open,
    /// and again after every reconnect.
    pub fn authenticate(&self, token: Option<String>) {
        // Never re-entered from the link's own callbacks (they only set signals); if it
        // ever were, skipping beats a panic that would kill the app.
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            return;
        };
        inner.token = token;
        match inner.token.clone() {
            Some(token) => {
                send(&inner, &ClientFrame::Auth { token });
            }
            // Unbinding: start over as an anonymous connection.
            None => {
                if let Some(socket) = inner.socket.as_ref() {
                    let _ = socket.close();
                }
            }
        }
    }

    /// Subscribes `device` (or, with `None`, stops asking for it at the next connect):
    /// sent now if the link is authenticated, and again after every reconnect.
    pub fn subscribe(&self, device: Option<haven_protocol::identity::Id>) {
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            return;
        };
        inner.device = device.clone();
        if let Some(device) = device
            && inner.token.is_some()
        {
            send(&inner, &ClientFrame::Subscribe { device });
        }
    }

    /// Sends a messaging frame, already written as JSON (by the encryption worker), if
    /// the socket is open; `false` if it is not.
    pub fn send_text(&self, frame: &str) -> bool {
        let Ok(inner) = self.inner.try_borrow() else {
            return false;
        };
        send_text(&inner, frame)
    }

    /// Tells the server the person is active, so its idle timer starts again.
    pub fn activity(&self) {
        let Ok(inner) = self.inner.try_borrow() else {
            return;
        };
        if inner.token.is_some() {
            send(&inner, &ClientFrame::Activity);
        }
    }
}

fn send(inner: &Inner, frame: &ClientFrame) -> bool {
    serde_json::to_string(frame).is_ok_and(|text| send_text(inner, &text))
}

fn send_text(inner: &Inner, text: &str) -> bool {
    if let Some(socket) = inner.socket.as_ref()
        && socket.ready_state() == WebSocket::OPEN
    {
        return socket.send_with_str(text).is_ok();
    }
    false
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            inner.retry = None;
            inner.keepalive = None;
            inner.listeners.clear();
            if let Some(socket) = inner.socket.take() {
                let _ = socket.close();
            }
        }
    }
}

fn notify(inner: &Rc<RefCell<Inner>>, state: LinkState) {
    // Borrow only to reach the callback; it must not re-enter the link.
    let inner = inner.borrow();
    (inner.on_state)(state);
}

fn connect(rc: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(rc);
    let opened = {
        let mut inner = rc.borrow_mut();
        inner.stale.clear();
        inner.retry = None;
        inner.keepalive = None;
        inner.awaiting_pong = None;
        match WebSocket::new(inner.url.as_str()) {
            Ok(socket) => {
                let listeners = vec![
                    EventListener::new(&socket, "open", with(&weak, |rc, _| on_open(rc))),
                    EventListener::new(&socket, "message", with(&weak, on_message)),
                    EventListener::new(&socket, "close", with(&weak, |rc, _| on_closed(rc))),
                ];
                inner.socket = Some(socket);
                inner.listeners = listeners;
                true
            }
            Err(_) => false,
        }
    };
    if !opened {
        on_closed(rc);
    }
}

/// Wraps a handler so it runs only while the link is alive.
fn with(
    weak: &Weak<RefCell<Inner>>,
    handler: impl Fn(&Rc<RefCell<Inner>>, &web_sys::Event) + 'static,
) -> impl FnMut(&web_sys::Event) + 'static {
    let weak = weak.clone();
    move |event| {
        if let Some(rc) = weak.upgrade() {
            handler(&rc, event);
        }
    }
}

fn on_open(rc: &Rc<RefCell<Inner>>) {
    {
        let mut inner = rc.borrow_mut();
        inner.backoff.reset();
        if let Some(token) = inner.token.clone() {
            send(&inner, &ClientFrame::Auth { token });
        }
    }
    notify(rc, LinkState::Open);
}

/// The frames the link itself acts on, read from a [`haven_protocol::ws::ServerFrame`];
/// the messaging frames (subscribed, accepted, refused, deliver, gap, receipts) go to the
/// encryption worker as they came, which reads them.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LinkFrame {
    Hello {
        heartbeat_secs: u32,
    },
    Pong {
        seq: u64,
    },
    Heartbeat,
    Error {},
    Authenticated,
    SessionEnded {
        reason: haven_protocol::audit::SessionEndReason,
    },
    Changed {
        topic: haven_protocol::ws::Topic,
    },
    #[serde(other)]
    Messaging,
}

fn on_message(rc: &Rc<RefCell<Inner>>, event: &web_sys::Event) {
    let Some(text) = event
        .dyn_ref::<MessageEvent>()
        .and_then(|m| m.data().as_string())
    else {
        return;
    };
    // Anything we cannot parse is ignored: the server never sends it, and a bad frame
    // must not take the app down.
    let Ok(frame) = serde_json::from_str::<LinkFrame>(&text) else {
        return;
    };
    match frame {
        LinkFrame::Hello { heartbeat_secs } => {
            let period = heartbeat_secs
                .checked_mul(1000)
                .filter(|ms| *ms > 0)
                .unwrap_or(DEFAULT_HEARTBEAT_MS);
            start_keepalive(rc, period);
        }
        LinkFrame::Pong { seq } => {
            let mut inner = rc.borrow_mut();
            if inner.awaiting_pong == Some(seq) {
                inner.awaiting_pong = None;
            }
        }
        LinkFrame::SessionEnded { reason } => {
            let inner = rc.borrow();
            (inner.on_event)(LinkEvent::SessionEnded(reason));
        }
        LinkFrame::Changed { topic } => {
            let inner = rc.borrow();
            (inner.on_event)(LinkEvent::Changed(topic));
        }
        LinkFrame::Authenticated => {
            let inner = rc.borrow();
            if let Some(device) = inner.device.clone() {
                (inner.on_event)(LinkEvent::Resubscribing);
                send(&inner, &ClientFrame::Subscribe { device });
            }
        }
        LinkFrame::Heartbeat => {}
        // Errors reach the messenger only once it subscribed: before, nothing here
        // asked for anything that can fail.
        LinkFrame::Error {} => {
            let inner = rc.borrow();
            if inner.device.is_some() {
                (inner.on_event)(LinkEvent::Delivery(text));
            }
        }
        LinkFrame::Messaging => {
            let inner = rc.borrow();
            (inner.on_event)(LinkEvent::Delivery(text));
        }
    }
}

fn start_keepalive(rc: &Rc<RefCell<Inner>>, period_ms: u32) {
    let weak = Rc::downgrade(rc);
    let interval = Interval::new(period_ms, move || {
        if let Some(rc) = weak.upgrade() {
            keepalive_tick(&rc);
        }
    });
    rc.borrow_mut().keepalive = Some(interval);
}

fn keepalive_tick(rc: &Rc<RefCell<Inner>>) {
    let dead = {
        let mut inner = rc.borrow_mut();
        if inner.awaiting_pong.is_some() {
            true
        } else {
            let seq = inner.next_seq;
            inner.next_seq = seq.wrapping_add(1);
            inner.awaiting_pong = Some(seq);
            let sent = serde_json::to_string(&ClientFrame::Ping { seq })
                .ok()
                .zip(inner.socket.as_ref())
                .is_some_and(|(text, socket)| socket.send_with_str(&text).is_ok());
            !sent
        }
    };
    if dead {
        // No pong for a whole period: the link is gone even if the socket has not noticed.
        if let Some(socket) = rc.borrow().socket.as_ref() {
            let _ = socket.close();
        }
        on_closed(rc);
    }
}

fn on_closed(rc: &Rc<RefCell<Inner>>) {
    let attempt = {
        let mut inner = rc.borrow_mut();
        if inner.retry.is_some() {
            return; // already scheduled
        }
        inner.keepalive = None;
        inner.socket = None;
        let listeners = std::mem::take(&mut inner.listeners);
        inner.stale.extend(listeners);
        let attempt = inner.backoff.attempt() + 1;
        // Jitter only spreads reconnects; it need not be unpredictable.
        let delay = inner.backoff.next_delay_ms(js_sys::Math::random());
        let weak = Rc::downgrade(rc);
        inner.retry = Some(Timeout::new(delay, move || {
            if let Some(rc) = weak.upgrade() {
                notify(&rc, LinkState::Connecting);
                connect(&rc);
            }
        }));
        attempt
    };
    notify(rc, LinkState::Reconnecting { attempt });
}

#[cfg(test)]
mod tests {
    use haven_protocol::ErrorCode;
    use haven_protocol::identity::Id;
    use haven_protocol::ws::{GapReason, ServerFrame};
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::LinkFrame;

    fn read(frame: &ServerFrame) -> LinkFrame {
        let text = serde_json::to_string(frame).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(LinkFrame::Heartbeat)
    }

    /// The link acts on its own frames and hands every messaging frame on, unread.
    #[wasm_bindgen_test]
    fn the_link_reads_its_own_frames_and_passes_messaging_frames_on() {
        assert!(matches!(
            read(&ServerFrame::Hello { heartbeat_secs: 20 }),
            LinkFrame::Hello { heartbeat_secs: 20 }
        ));
        assert!(matches!(
            read(&ServerFrame::Pong { seq: 7 }),
            LinkFrame::Pong { seq: 7 }
        ));
        assert!(matches!(
            read(&ServerFrame::Error {
                code: ErrorCode::UnknownFrame,
                message: "x".into()
            }),
            LinkFrame::Error {}
        ));
        let id = Id::from_bytes([7; 16]);
        for frame in [
            ServerFrame::Subscribed { device: id.clone() },
            ServerFrame::Accepted { request: 1, seq: 2 },
            ServerFrame::Receipts {
                conversation: id.clone(),
                delivered: Vec::new(),
            },
            // What the device can no longer have: the worker passes over it and acks.
            ServerFrame::Gap {
                conversation: id,
                from: 3,
                to: 9,
                reason: GapReason::Expired,
            },
        ] {
            assert!(matches!(read(&frame), LinkFrame::Messaging), "{frame:?}");
        }
        // Not a frame at all: refused, so it is dropped.
        assert!(serde_json::from_str::<LinkFrame>("{\"kind\":\"hello\"}").is_err());
    }
}
