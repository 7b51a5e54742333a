//! What the messaging views show: plain data, rebuilt by the messenger after each change
//! and published in one signal. Nothing here is kept anywhere but in memory.

use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use serde::{Deserialize, Serialize};

/// Where this browser's end-to-end encryption is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Status {
    /// Not started (signed out, or a role that does not converse).
    #[default]
    Off,
    /// Registering or unlocking this browser's device.
    Starting,
    Ready,
    /// Something stopped it; the text says what and what to do.
    Failed(String),
}

impl Status {
    pub fn id(&self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Failed(_) => "failed",
        }
    }
}

/// How one of one's own messages stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sending {
    /// Encrypted, on its way to the server (or waiting for the connection).
    Sending,
    /// Durable on the server.
    Sent,
    /// Received by a device of everyone else in the conversation.
    Delivered,
    /// Someone else in the conversation said they read it.
    Read,
    /// The server refused it; it can be sent again.
    Failed,
}

impl Sending {
    pub fn id(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Sending => "Sending…",
            Self::Sent => "Sent",
            Self::Delivered => "Delivered",
            Self::Read => "Read",
            Self::Failed => "Not sent",
        }
    }
}

/// What a line of the conversation shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    Text(String),
    /// A file encrypted in the sender's browser: where the server keeps it, the key that
    /// opens it (held only in memory here), and what the sender said it is.
    Attachment(Attachment),
    Deleted,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub blob: Id,
    pub key: String,
    pub name: String,
    pub size: u64,
    pub mime: String,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("blob", &self.blob)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The message's own id (chosen by its sender).
    pub id: Id,
    /// Its place in the conversation; `None` until the server accepted it.
    pub seq: Option<u64>,
    pub author: String,
    pub role: Role,
    pub mine: bool,
    pub body: Body,
    pub edited: bool,
    /// For one's own messages.
    pub state: Option<Sending>,
    /// For a failed send: the request to retry.
    pub request: Option<u64>,
    /// From history another member handed over (their name): this device did not
    /// receive it through the conversation itself.
    pub shared_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub name: String,
    pub role: Role,
    pub me: bool,
    /// The certificate no longer checks out (revoked): removal pending.
    pub removal_pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub id: Id,
    pub title: String,
    /// This device holds the conversation's keys.
    pub joined: bool,
    /// This device was removed from it.
    pub left: bool,
    /// The server has messages this device has not processed yet.
    pub catching_up: bool,
    /// This device joined after others had talked; the earlier history comes when a
    /// care-team device hands it over.
    pub history_pending: bool,
    /// It takes in the patient's whole care team (as this device learnt it: its own
    /// choice, or from the history a member handed over).
    pub care_team: bool,
    pub unread: usize,
    pub lines: Vec<Line>,
    pub members: Vec<MemberView>,
    /// The verification code of the current epoch.
    pub code: Option<String>,
    /// Messages that could not be read (tampered or not for this device).
    pub unreadable: u32,
    /// A change to the conversation the server refused, for the person to see.
    pub problem: Option<String>,
}

/// Everything the messaging views show.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Inbox {
    pub status: Status,
    pub conversations: Vec<ConversationView>,
}

impl Inbox {
    pub fn unread(&self) -> usize {
        self.conversations.iter().map(|c| c.unread).sum()
    }
}
