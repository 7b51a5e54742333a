//! What travels inside an MLS application message, and the transcript it builds.
//!
//! The server never sees any of this: it is the plaintext of MLS ciphertext. It is still
//! input from another member's device, so it is parsed with limits and refused whole when
//! it breaks one; edits and deletions are honoured only from the author of the message
//! they change, and read receipts only move forward.

use std::collections::HashMap;

use haven_protocol::identity::Id;
use serde::{Deserialize, Serialize};

use crate::device::Member;
use crate::error::{Error, Result};
use crate::link::Link;

/// Longest text of one message, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest attachment name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest encoded content accepted, in bytes.
pub const MAX_CONTENT_BYTES: usize = 128 * 1024;

/// One application message's meaning.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Content {
    /// `id` is chosen by the sender (128 random bits, hex) so edits can name it.
    Text {
        id: Id,
        body: String,
    },
    Edit {
        id: Id,
        body: String,
    },
    Delete {
        id: Id,
    },
    /// A file encrypted in the browser: the server holds the blob, only members hold
    /// the key.
    Attachment {
        id: Id,
        blob: Id,
        /// AES-256-GCM key, hex.
        key: String,
        name: String,
        size: u64,
        mime: String,
    },
    /// The reader has seen everything up to `seq`.
    Read {
        seq: u64,
    },
    /// The conversation's earlier history, for members who joined later: an encrypted
    /// archive the server holds, with its key.
    History {
        blob: Id,
        key: String,
    },
    /// The sender's device never received messages `from..=to` (the server no longer
    /// had them): members who hold them answer with a [`Content::History`] of that
    /// stretch.
    HistoryRequest {
        from: u64,
        to: u64,
    },
    /// Video visit signalling (issue 23), in a visit's group: a session description
    /// offered to one device (`restart`: an ICE restart after a network change).
    /// Signalling is handed to the visit's page, never shown or kept in a transcript.
    Offer {
        to: Id,
        sdp: String,
        #[serde(default)]
        restart: bool,
    },
    Answer {
        to: Id,
        sdp: String,
    },
    /// One ICE candidate for one device: the JSON of an `RTCIceCandidateInit`, which
    /// the visit's page parses.
    Candidate {
        to: Id,
        candidate: String,
    },
    /// The visit ends for everyone (the members take it from a clinician only).
    EndVisit {},
}

/// Longest session description taken, in bytes.
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// Longest ICE candidate taken, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 2048;

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::Text { .. } => "Text",
            Self::Edit { .. } => "Edit",
            Self::Delete { .. } => "Delete",
            Self::Attachment { .. } => "Attachment",
            Self::Read { .. } => "Read",
            Self::History { .. } => "History",
            Self::HistoryRequest { .. } => "HistoryRequest",
            Self::Offer { .. } => "Offer",
            Self::Answer { .. } => "Answer",
            Self::Candidate { .. } => "Candidate",
            Self::EndVisit {} => "EndVisit",
        };
        write!(f, "Content::{kind}(<redacted>)")
    }
}

fn is_key(hex: &str) -> bool {
    hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Content {
    pub fn encode(&self) -> Result<Vec<u8>> {
        self.check()?;
        serde_json::to_vec(self).map_err(Error::internal)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_CONTENT_BYTES {
            return Err(Error::Refused("the message is too large".into()));
        }
        let content: Self = serde_json::from_slice(bytes)
            .map_err(|_| Error::Refused("the message content cannot be read".into()))?;
        content.check()?;
        Ok(content)
    }

    /// The plaintext of an application message: this content with its transcript link
    /// (see [`crate::link`]).
    pub fn encode_linked(&self, link: &Link) -> Result<Vec<u8>> {
        self.check()?;
        serde_json::to_vec(&LinkedRef {
            link,
            content: self,
        })
        .map_err(Error::internal)
    }

    /// Reads an application message's plaintext: linked, or a bare content (from a
    /// client that writes no links, or kept from before links), which has none.
    pub fn decode_linked(bytes: &[u8]) -> Result<(Self, Option<Link>)> {
        if bytes.len() > MAX_CONTENT_BYTES {
            return Err(Error::Refused("the message is too large".into()));
        }
        let (content, link) = match serde_json::from_slice(bytes) {
            Ok(Plaintext::Linked(Linked { link, content })) => (content, Some(link)),
            Ok(Plaintext::Bare(content)) => (content, None),
            Err(_) => {
                return Err(Error::Refused("the message content cannot be read".into()));
            }
        };
        content.check()?;
        Ok((content, link))
    }

    fn check(&self) -> Result<()> {
        let ok = match self {
            Self::Text { body, .. } | Self::Edit { body, .. } => {
                !body.trim().is_empty() && body.chars().count() <= MAX_TEXT_CHARS
            }
            Self::Attachment {
                key, name, mime, ..
            } => {
                is_key(key)
                    && !name.trim().is_empty()
                    && name.chars().count() <= MAX_NAME_CHARS
                    && !name.chars().any(char::is_control)
                    && mime.len() <= 100
                    && !mime.chars().any(char::is_control)
            }
            Self::History { key, .. } => is_key(key),
            Self::HistoryRequest { from, to } => *from >= 1 && from <= to,
            Self::Delete { .. } | Self::Read { .. } | Self::EndVisit {} => true,
            Self::Offer { sdp, .. } | Self::Answer { sdp, .. } => {
                !sdp.is_empty() && sdp.len() <= MAX_SDP_BYTES
            }
            Self::Candidate { candidate, .. } => {
                !candidate.is_empty() && candidate.len() <= MAX_CANDIDATE_BYTES
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Refused("the message content breaks a limit".into()))
        }
    }
}

#[derive(Serialize)]
struct LinkedRef<'a> {
    link: &'a Link,
    content: &'a Content,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Linked {
    link: Link,
    content: Content,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Plaintext {
    Linked(Linked),
    Bare(Content),
}

/// How a message shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Text(String),
    Attachment {
        blob: Id,
        key: String,
        name: String,
        size: u64,
        mime: String,
    },
    Deleted,
}

/// One message of the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: Id,
    pub seq: u64,
    pub author: Member,
    pub shown: Shown,
    pub edited: bool,
}

/// A conversation's messages in server order, with edits, deletions and read positions
/// applied. Pure state: the same inputs give the same transcript on every device.
#[derive(Debug, Default, Clone)]
pub struct Transcript {
    entries: Vec<Entry>,
    by_id: HashMap<Id, usize>,
    /// Per user: the highest sequence number they said they read.
    read: HashMap<Id, u64>,
    /// History archives offered to this device.
    pub archives: Vec<(Id, String)>,
}

impl Transcript {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Up to where `user` has read.
    pub fn read_by(&self, user: &Id) -> u64 {
        self.read.get(user).copied().unwrap_or(0)
    }

    /// Applies one decrypted message from `author`, delivered at `seq`. A change that
    /// names an unknown message, or someone else's, is refused and changes nothing.
    pub fn apply(&mut self, seq: u64, author: &Member, content: Content) -> Result<()> {
        match content {
            Content::Text { id, body } => self.push(id, seq, author, Shown::Text(body)),
            Content::Attachment {
                id,
                blob,
                key,
                name,
                size,
                mime,
            } => self.push(
                id,
                seq,
                author,
                Shown::Attachment {
                    blob,
                    key,
                    name,
                    size,
                    mime,
                },
            ),
            Content::Edit { id, body } => {
                let entry = self.own_entry(&id, author)?;
                if entry.shown == Shown::Deleted {
                    return Err(Error::Refused("a deleted message cannot be edited".into()));
                }
                entry.shown = Shown::Text(body);
                entry.edited = true;
                Ok(())
            }
            Content::Delete { id } => {
                let entry = self.own_entry(&id, author)?;
                entry.shown = Shown::Deleted;
                Ok(())
            }
            Content::Read { seq: up_to } => {
                let mark = self.read.entry(author.user.clone()).or_insert(0);
                *mark = (*mark).max(up_to.min(seq));
                Ok(())
            }
            Content::History { blob, key } => {
                self.archives.push((blob, key));
                Ok(())
            }
            // Asks the members; shows nothing.
            Content::HistoryRequest { .. } => Ok(()),
            // For the visit's page: nothing for a transcript to show or keep.
            Content::Offer { .. }
            | Content::Answer { .. }
            | Content::Candidate { .. }
            | Content::EndVisit {} => Err(Error::Refused(
                "signalling is not part of a transcript".into(),
            )),
        }
    }

    fn push(&mut self, id: Id, seq: u64, author: &Member, shown: Shown) -> Result<()> {
        if self.by_id.contains_key(&id) {
            return Err(Error::Refused(
                "a message with that id was already sent".into(),
            ));
        }
        self.by_id.insert(id.clone(), self.entries.len());
        self.entries.push(Entry {
            id,
            seq,
            author: author.clone(),
            shown,
            edited: false,
        });
        Ok(())
    }

    fn own_entry(&mut self, id: &Id, author: &Member) -> Result<&mut Entry> {
        let index = *self
            .by_id
            .get(id)
            .ok_or_else(|| Error::Refused("that message is not in this conversation".into()))?;
        let entry = self.entries.get_mut(index).ok_or(Error::Internal)?;
        if entry.author.user != author.user {
            return Err(Error::Refused(
                "only its author can change a message".into(),
            ));
        }
        Ok(entry)
    }

    /// Messages after `seq` not written by `user`: the unread count.
    pub fn unread_for(&self, user: &Id) -> usize {
        let read = self.read_by(user);
        self.entries
            .iter()
            .filter(|e| e.seq > read && &e.author.user != user && e.shown != Shown::Deleted)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_protocol::access::Role;

    fn member(n: u8, role: Role) -> Member {
        Member {
            device: Id::from_bytes([n; 16]),
            user: Id::from_bytes([n + 100; 16]),
            role,
            name: format!("Person {n}"),
            leaf: u32::from(n),
        }
    }

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16])
    }

    #[test]
    fn content_round_trips_and_refuses_what_breaks_a_limit() {
        let text = Content::Text {
            id: id(1),
            body: "hello".into(),
        };
        assert_eq!(Content::decode(&text.encode().unwrap()).unwrap(), text);
        for bad in [
            r#"{"type":"text","id":"01010101010101010101010101010101","body":"  "}"#.to_string(),
            r#"{"type":"text","id":"nope","body":"x"}"#.to_string(),
            r#"{"type":"text","id":"01010101010101010101010101010101","body":"x","extra":1}"#
                .to_string(),
            format!(
                r#"{{"type":"text","id":"01010101010101010101010101010101","body":"{}"}}"#,
                "x".repeat(MAX_TEXT_CHARS + 1)
            ),
            r#"{"type":"attachment","id":"01010101010101010101010101010101","blob":"01010101010101010101010101010101","key":"00","name":"a.pdf","size":1,"mime":"application/pdf"}"#.to_string(),
            r#"{"type":"launch"}"#.to_string(),
            "garbage".to_string(),
        ] {
            assert!(Content::decode(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(format!("{text:?}").contains("redacted"));
    }

    #[test]
    fn a_linked_plaintext_reads_back_and_a_bare_one_has_no_link() {
        let text = Content::Text {
            id: id(1),
            body: "hello".into(),
        };
        let link = crate::link::Links::from(1).next();
        let bytes = text.encode_linked(&link).unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"link":{},"content":{"type":"text","id":"01010101010101010101010101010101","body":"hello"}}"#
        );
        assert_eq!(
            Content::decode_linked(&bytes).unwrap(),
            (text.clone(), Some(link))
        );
        let bare = text.encode().unwrap();
        assert_eq!(Content::decode_linked(&bare).unwrap(), (text, None));
        // The protocol document's example reads.
        let document = include_str!("../../../docs/messaging-protocol.md");
        let examples: Vec<&str> = document
            .lines()
            .filter(|l| l.starts_with(r#"{"link":"#))
            .collect();
        assert!(!examples.is_empty());
        for example in examples {
            let (_, link) = Content::decode_linked(example.as_bytes()).unwrap();
            assert!(link.is_some_and(|l| l.prev.is_some() && l.seen.is_some()));
        }
        for bad in [
            r#"{"link":{"prev":"nope"},"content":{"type":"read","seq":1}}"#,
            r#"{"link":{},"content":{"type":"read","seq":1},"more":1}"#,
            r#"{"link":{"later":1},"content":{"type":"read","seq":1}}"#,
            r#"{"link":{}}"#,
        ] {
            assert!(Content::decode_linked(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_history_request_names_a_stretch_and_shows_nothing() {
        let ask = Content::HistoryRequest { from: 3, to: 9 };
        let bytes = ask.encode().unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"type":"history_request","from":3,"to":9}"#
        );
        assert_eq!(Content::decode(&bytes).unwrap(), ask);
        // Backwards, from before the first message, without its end, or with more.
        for bad in [
            r#"{"type":"history_request","from":5,"to":4}"#,
            r#"{"type":"history_request","from":0,"to":4}"#,
            r#"{"type":"history_request","from":1}"#,
            r#"{"type":"history_request","from":1,"to":2,"extra":1}"#,
        ] {
            assert!(Content::decode(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(Content::HistoryRequest { from: 2, to: 1 }.encode().is_err());
        let mut t = Transcript::default();
        t.apply(4, &member(1, Role::Clinician), ask).unwrap();
        assert!(t.entries().is_empty());
        assert_eq!(t.read_by(&member(1, Role::Clinician).user), 0);
    }

    /// Visit signalling reads in the documented form, within limits, and never enters a
    /// transcript.
    #[test]
    fn visit_signalling_is_parsed_with_limits_and_stays_out_of_transcripts() {
        let to = "ab".repeat(16);
        let offer: Content = Content::decode(
            format!(r#"{{"type":"offer","to":"{to}","sdp":"v=0\r\n","restart":true}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            offer,
            Content::Offer {
                to: Id::parse(&to).unwrap(),
                sdp: "v=0\r\n".into(),
                restart: true
            }
        );
        let end = Content::EndVisit {}.encode().unwrap();
        assert_eq!(
            std::str::from_utf8(&end).unwrap(),
            r#"{"type":"end_visit"}"#
        );
        for bad in [
            format!(r#"{{"type":"answer","to":"{to}","sdp":""}}"#),
            format!(
                r#"{{"type":"answer","to":"{to}","sdp":"{}"}}"#,
                "a".repeat(MAX_SDP_BYTES + 1)
            ),
            format!(
                r#"{{"type":"candidate","to":"{to}","candidate":"{}"}}"#,
                "c".repeat(MAX_CANDIDATE_BYTES + 1)
            ),
            r#"{"type":"candidate","to":"nobody","candidate":"c"}"#.to_owned(),
            r#"{"type":"end_visit","why":"x"}"#.to_owned(),
        ] {
            assert!(Content::decode(bad.as_bytes()).is_err(), "{bad}");
        }
        let mut t = Transcript::default();
        assert!(t.apply(1, &member(1, Role::Clinician), offer).is_err());
        assert!(
            t.apply(2, &member(1, Role::Clinician), Content::EndVisit {})
                .is_err()
        );
        assert!(t.entries().is_empty());
    }

    #[test]
    fn edits_and_deletions_come_only_from_the_author_and_reads_only_move_forward() {
        let doctor = member(1, Role::Clinician);
        let patient = member(2, Role::Patient);
        let mut t = Transcript::default();
        t.apply(
            1,
            &doctor,
            Content::Text {
                id: id(1),
                body: "Take 2 a day".into(),
            },
        )
        .unwrap();
        t.apply(
            2,
            &patient,
            Content::Text {
                id: id(2),
                body: "OK".into(),
            },
        )
        .unwrap();
        // Someone else's message cannot be edited or deleted.
        assert!(
            t.apply(
                3,
                &patient,
                Content::Edit {
                    id: id(1),
                    body: "Take 20".into()
                }
            )
            .is_err()
        );
        assert!(t.apply(3, &patient, Content::Delete { id: id(1) }).is_err());
        assert_eq!(t.entries()[0].shown, Shown::Text("Take 2 a day".into()));
        // The author may.
        t.apply(
            4,
            &doctor,
            Content::Edit {
                id: id(1),
                body: "Take 1 a day".into(),
            },
        )
        .unwrap();
        assert!(t.entries()[0].edited);
        t.apply(5, &patient, Content::Delete { id: id(2) }).unwrap();
        assert_eq!(t.entries()[1].shown, Shown::Deleted);
        assert!(
            t.apply(
                6,
                &patient,
                Content::Edit {
                    id: id(2),
                    body: "back".into()
                }
            )
            .is_err()
        );
        // A reused id is refused.
        assert!(
            t.apply(
                7,
                &patient,
                Content::Text {
                    id: id(1),
                    body: "dup".into()
                }
            )
            .is_err()
        );
        // Reads: never backwards, never past the receipt's own place.
        assert_eq!(t.unread_for(&patient.user), 1);
        t.apply(8, &patient, Content::Read { seq: 4 }).unwrap();
        t.apply(9, &patient, Content::Read { seq: 2 }).unwrap();
        assert_eq!(t.read_by(&patient.user), 4);
        t.apply(10, &patient, Content::Read { seq: 999 }).unwrap();
        assert_eq!(t.read_by(&patient.user), 10);
        assert_eq!(t.unread_for(&patient.user), 0);
    }
}
