//! Counts what should never happen in a healthy page: Content-Security-Policy violations
//! and uncaught errors. The counts are written on `<html>` as `data-csp-violations` and
//! `data-errors`, where support staff and the end-to-end tests read them; no detail that
//! could carry PHI is kept.

use gloo_events::EventListener;
use wasm_bindgen::JsCast;

/// Owns the listeners; dropping it removes them.
pub struct Diagnostics {
    _listeners: Vec<EventListener>,
}

fn bump(attribute: &'static str) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let count = root
        .get_attribute(attribute)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let _ = root.set_attribute(attribute, &count.saturating_add(1).to_string());
}

impl Diagnostics {
    pub fn install() -> Option<Self> {
        let window = web_sys::window()?;
        let document = window.document()?;
        let root = document.document_element()?;
        for attribute in ["data-csp-violations", "data-errors"] {
            if root.get_attribute(attribute).is_none() {
                let _ = root.set_attribute(attribute, "0");
            }
        }
        let listeners = vec![
            EventListener::new(&document, "securitypolicyviolation", |event| {
                if event
                    .dyn_ref::<web_sys::SecurityPolicyViolationEvent>()
                    .is_some()
                {
                    bump("data-csp-violations");
                }
            }),
            EventListener::new(&window, "error", |_| bump("data-errors")),
            EventListener::new(&window, "unhandledrejection", |_| bump("data-errors")),
        ];
        Some(Self {
            _listeners: listeners,
        })
    }
}
