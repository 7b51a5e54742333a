//! What this browser can do, so the app can say plainly what will not work here instead
//! of failing later in the middle of a visit.

use wasm_bindgen::JsValue;

use crate::i18n::{Msg, t};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Encrypted local storage for message keys: IndexedDB and WebCrypto.
    SecureStorage,
    /// Video visits: RTCPeerConnection and getUserMedia.
    VideoVisits,
}

impl Capability {
    pub const ALL: [Capability; 2] = [Capability::SecureStorage, Capability::VideoVisits];

    pub fn id(self) -> &'static str {
        match self {
            Self::SecureStorage => "secure-storage",
            Self::VideoVisits => "video-visits",
        }
    }

    /// Its name, in the current language.
    pub fn label(self) -> String {
        t(match self {
            Self::SecureStorage => Msg::CapabilitySecureStorage,
            Self::VideoVisits => Msg::CapabilityVideoVisits,
        })
    }

    /// What to tell the person when the capability is missing, in the current language.
    pub fn missing_message(self) -> String {
        t(match self {
            Self::SecureStorage => Msg::CapabilitySecureStorageMissing,
            Self::VideoVisits => Msg::CapabilityVideoVisitsMissing,
        })
    }

    pub fn supported(self) -> bool {
        let global = js_sys::global();
        let has = |path: &[&str]| {
            let mut value: JsValue = global.clone().into();
            for name in path {
                match js_sys::Reflect::get(&value, &JsValue::from_str(name)) {
                    Ok(next) if !next.is_undefined() && !next.is_null() => value = next,
                    _ => return false,
                }
            }
            true
        };
        match self {
            Self::SecureStorage => has(&["indexedDB"]) && has(&["crypto", "subtle"]),
            Self::VideoVisits => {
                has(&["RTCPeerConnection"]) && has(&["navigator", "mediaDevices", "getUserMedia"])
            }
        }
    }
}
