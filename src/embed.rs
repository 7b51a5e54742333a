//! Embedding: when a partner page shows Haven in an iframe, a small versioned
//! postMessage API between the two. Haven tells its parent `ready`, `signed-in`,
//! `signed-out` and `unread-count` (a number, nothing else); the parent may ask it to
//! `open-messages`. Every message goes only to, and is taken only from, the parent
//! window at one of the origins the organisation allowed (the same list as the
//! server's `frame-ancestors`). Nothing with PHI crosses: no names, no text, no ids.
//!
//! On the wire each message is an object `{"haven": 1, "type": "...", ...}`.

use gloo_events::EventListener;
use haven_protocol::access::{View, allowed};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast as _, JsValue};

use crate::context::Ctx;
use crate::route::Route;

/// The version of the API, in every message.
pub const VERSION: u32 = 1;

/// What Haven tells its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Outgoing {
    Ready,
    SignedIn,
    SignedOut,
    UnreadCount { count: u32 },
}

#[derive(Serialize)]
struct Envelope<'a> {
    haven: u32,
    #[serde(flatten)]
    message: &'a Outgoing,
}

/// What a parent may ask.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Incoming {
    OpenMessages {
        /// Must be [`VERSION`].
        haven: u32,
    },
}

/// A parent's message, as JSON text: `None` unless it is exactly one this version knows.
pub fn parse_incoming(json: &str) -> Option<Incoming> {
    let incoming: Incoming = serde_json::from_str(json).ok()?;
    match incoming {
        Incoming::OpenMessages { haven } if haven == VERSION => Some(incoming),
        Incoming::OpenMessages { .. } => None,
    }
}

/// The JSON text of an outgoing message.
pub fn outgoing_json(message: &Outgoing) -> Option<String> {
    serde_json::to_string(&Envelope {
        haven: VERSION,
        message,
    })
    .ok()
}

/// The parent window, if Haven runs inside a frame.
fn parent() -> Option<web_sys::Window> {
    let window = web_sys::window()?;
    let parent = window.parent().ok().flatten()?;
    (!js_sys::Object::is(&parent, &window)).then_some(parent)
}

/// Sends `message` to the parent, addressed to each allowed origin in turn: the browser
/// delivers it only if the parent is at that origin, so no other page ever sees it.
fn post(origins: &[String], message: &Outgoing) {
    let Some(parent) = parent() else {
        return;
    };
    let Some(value) = outgoing_json(message).and_then(|text| js_sys::JSON::parse(&text).ok())
    else {
        return;
    };
    for origin in origins {
        let _ = parent.post_message(&value, origin);
    }
}

/// Starts the API if Haven is framed and the organisation allows partners at all; what
/// it returns listens for the parent's requests until dropped.
pub fn install(ctx: Ctx) -> Option<EventListener> {
    let origins = ctx.config.with_value(|c| c.embed_origins.clone());
    if origins.is_empty() || parent().is_none() {
        return None;
    }
    post(&origins, &Outgoing::Ready);

    let told = origins.clone();
    Effect::new(move |was_signed_in: Option<bool>| {
        let signed_in = ctx.auth.with(Option::is_some);
        match (was_signed_in, signed_in) {
            (Some(false) | None, true) => post(&told, &Outgoing::SignedIn),
            (Some(true), false) => post(&told, &Outgoing::SignedOut),
            _ => {}
        }
        signed_in
    });
    let told = origins.clone();
    Effect::new(move |last: Option<u32>| {
        let count: u32 = if ctx.auth.with(Option::is_some) {
            let total: usize = ctx
                .inbox
                .with(|i| i.conversations.iter().map(|c| c.unread).sum());
            u32::try_from(total).unwrap_or(u32::MAX)
        } else {
            0
        };
        if last != Some(count) && (last.is_some() || count > 0) {
            post(&told, &Outgoing::UnreadCount { count });
        }
        count
    });

    let window = web_sys::window()?;
    Some(EventListener::new(&window, "message", move |event| {
        let Some(event) = event.dyn_ref::<web_sys::MessageEvent>() else {
            return;
        };
        let from_parent = match (event.source(), parent()) {
            (Some(source), Some(parent)) => {
                let parent: &JsValue = parent.as_ref();
                js_sys::Object::is(&source, parent)
            }
            _ => false,
        };
        if !from_parent || !origins.iter().any(|o| *o == event.origin()) {
            return;
        }
        let Some(text) = js_sys::JSON::stringify(&event.data())
            .ok()
            .and_then(|t| t.as_string())
        else {
            return;
        };
        match parse_incoming(&text) {
            Some(Incoming::OpenMessages { .. }) => {
                let may = ctx
                    .auth
                    .with_untracked(|a| a.as_ref().map(|a| a.info.role))
                    .is_some_and(|role| allowed(role, View::Messages.requires()));
                if may {
                    ctx.navigate(Route::View(View::Messages));
                }
            }
            None => {}
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn messages_carry_the_version_and_nothing_else() {
        assert_eq!(
            outgoing_json(&Outgoing::Ready).as_deref(),
            Some(r#"{"haven":1,"type":"ready"}"#)
        );
        assert_eq!(
            outgoing_json(&Outgoing::UnreadCount { count: 3 }).as_deref(),
            Some(r#"{"haven":1,"type":"unread-count","count":3}"#)
        );
    }

    #[wasm_bindgen_test]
    fn only_known_requests_of_this_version_are_taken() {
        assert_eq!(
            parse_incoming(r#"{"haven":1,"type":"open-messages"}"#),
            Some(Incoming::OpenMessages { haven: 1 })
        );
        for bad in [
            r#"{"haven":2,"type":"open-messages"}"#,
            r#"{"type":"open-messages"}"#,
            r#"{"haven":1,"type":"open-messages","conversation":"x"}"#,
            r#"{"haven":1,"type":"sign-out"}"#,
            r#""open-messages""#,
            "null",
        ] {
            assert_eq!(parse_incoming(bad), None, "{bad}");
        }
    }
}
