//! What the app and the visit module say to each other over a `MessageChannel`. The
//! visit module (its own WebAssembly, loaded when a visit view opens, like the encryption
//! worker) runs the visit views and the calls; the app keeps the session, the secure
//! messaging and the link, and carries the visit's signalling between the module and the
//! visit's MLS group.
//!
//! Trust: both ends are Haven's code in one page, but each reads the other's messages
//! into these types or drops them, as it would anything else that crosses a boundary.

use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use haven_protocol::messaging::ConversationSummary;
use serde::{Deserialize, Serialize};

/// From the app to the visit module.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToVisit {
    /// First, once: who is signed in and with which encryption device (none while secure
    /// messaging is not ready), in which language.
    Start {
        token: String,
        device: Option<Id>,
        lang: String,
    },
    Lang {
        tag: String,
    },
    /// This browser's encryption device, once secure messaging is ready.
    Device {
        device: Option<Id>,
    },
    /// The visits' groups as this device holds them now.
    Groups {
        groups: Vec<Group>,
    },
    /// Signalling this device received in them.
    Signals {
        signals: Vec<crate::e2ee::messenger::Signalled>,
    },
    /// The server said the visits (or one's conversations) changed.
    Changed,
    /// The view closes: end every call and let go of the camera.
    Stop,
}

/// A visit's group as this device holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub conversation: Id,
    pub visit: Id,
    /// This device holds the group's keys.
    pub joined: bool,
    /// This device was removed from it.
    pub left: bool,
    pub members: Vec<GroupMember>,
    /// The verification code of the group's current epoch: the same on every member's
    /// screen.
    pub code: Option<String>,
}

/// One member device, as its certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    pub device: Id,
    pub name: String,
    pub role: Role,
    pub me: bool,
}

/// From the visit module to the app, which hands it to the encryption worker unread.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromVisit {
    /// Send this signalling in the visit's group: the JSON of its [`haven_mls::Content`]
    /// (the encryption worker takes only signalling).
    Send { conversation: Id, content: String },
    /// The clinician opened the visit (the server made its group): start the group on
    /// this device, with nobody else in it yet.
    Opened { summary: ConversationSummary },
    /// Someone was admitted: fetch the conversations again, so their device is added.
    Refresh,
}

/// The visit groups of `inbox`.
pub fn groups(inbox: &crate::e2ee::inbox::Inbox) -> Vec<Group> {
    inbox
        .conversations
        .iter()
        .filter_map(|c| {
            Some(Group {
                conversation: c.id.clone(),
                visit: c.visit.clone()?,
                joined: c.joined,
                left: c.left,
                members: c
                    .members
                    .iter()
                    .map(|m| GroupMember {
                        device: m.device.clone(),
                        name: m.name.clone(),
                        role: m.role,
                        me: m.me,
                    })
                    .collect(),
                code: c.code.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The app writes its messages to the module by hand, as JSON values, and finds the
    /// worker's groups by their first bytes: both must be what the module reads.
    #[wasm_bindgen_test]
    fn what_the_app_writes_by_hand_is_what_the_module_reads() {
        let device = Id::from_bytes([7; 16]);
        let start = serde_json::json!({
            "type": "start", "token": "t", "device": device, "lang": "es",
        });
        assert!(matches!(
            serde_json::from_value::<ToVisit>(start),
            Ok(ToVisit::Start { device: Some(d), lang, .. }) if d == device && lang == "es"
        ));
        for (text, ok) in [
            (r#"{"type":"device","device":null}"#, true),
            (r#"{"type":"lang","tag":"en"}"#, true),
            (r#"{"type":"changed"}"#, true),
            (r#"{"type":"stop"}"#, true),
            (r#"{"type":"start"}"#, false),
            (r#"{"type":"groups"}"#, false),
        ] {
            assert_eq!(serde_json::from_str::<ToVisit>(text).is_ok(), ok, "{text}");
        }
        let groups = serde_json::to_string(&ToVisit::Groups { groups: Vec::new() }).unwrap();
        assert!(
            groups.starts_with(crate::visit::host::GROUPS_PREFIX),
            "{groups}"
        );
    }
}
