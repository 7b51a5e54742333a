//! What this browser can do, so the app can say plainly what will not work here instead
//! of failing later in the middle of a visit.

use wasm_bindgen::JsValue;

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

    pub fn label(self) -> &'static str {
        match self {
            Self::SecureStorage => "Encrypted storage for messages",
            Self::VideoVisits => "Video visits",
        }
    }

    /// What to tell the person when the capability is missing.
    pub fn missing_message(self) -> &'static str {
        match self {
            Self::SecureStorage => {
                "This browser cannot keep encrypted messages (it lacks IndexedDB or WebCrypto). Use a current version of Chrome, Edge, Firefox or Safari."
            }
            Self::VideoVisits => {
                "Video visits are not available in this browser: it does not support WebRTC. Use a current version of Chrome, Edge, Firefox or Safari to join a visit."
            }
        }
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
