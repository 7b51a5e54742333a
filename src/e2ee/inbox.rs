//! What the messaging views show: plain data, rebuilt by the messenger after each change
//! and published in one signal. Nothing here is kept anywhere but in memory, save a
//! conversation's [`Problem`], which the messenger keeps (sealed) with the conversation.
//!
//! The messenger builds this in the encryption worker, which does not know the person's
//! language: what it has to say travels as stable codes ([`Title`], [`Problem`],
//! [`Fault`], [`Status::Stopped`]), put in words on the page by the methods here.

use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use serde::{Deserialize, Serialize};

use crate::i18n::{Msg, t, tf};

/// Where this browser's end-to-end encryption is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Status {
    /// Not started (signed out, or a role that does not converse).
    #[default]
    Off,
    /// Registering or unlocking this browser's device.
    Starting,
    Ready,
    /// Something stopped it; the text (written on the page, in the person's language)
    /// says what and what to do.
    Failed(String),
    /// The server stopped this device (it was revoked, say): its stable code and its own
    /// sentence, as the worker heard them.
    Stopped {
        code: ErrorCode,
        message: String,
    },
}

impl Status {
    pub fn id(&self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Failed(_) | Self::Stopped { .. } => "failed",
        }
    }

    /// What stopped it, in the person's language; `None` unless it failed.
    pub fn failure(&self) -> Option<String> {
        match self {
            Self::Failed(text) => Some(text.clone()),
            Self::Stopped { code, message } => Some(server_words(*code, message)),
            Self::Off | Self::Starting | Self::Ready => None,
        }
    }
}

/// A refusal of the server in words, as [`crate::i18n::http_error`] puts one: in English
/// the server's own sentence when it gave one, in any other language the catalogue's
/// message for its code.
fn server_words(code: ErrorCode, message: &str) -> String {
    if crate::i18n::lang() == crate::i18n::Lang::En && !message.is_empty() {
        message.to_owned()
    } else {
        t(crate::i18n::error_message(code))
    }
}

/// What the encryption layer (`crates/mls`) refused, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// A device certificate did not check out.
    Certificate,
    /// A device has been revoked.
    Revoked,
    /// What came in could not be read.
    Unreadable,
    /// The conversation moved on meanwhile (another change came first).
    OutOfStep,
    /// This device is no longer a member of the conversation.
    NotAMember,
    /// The state this device keeps does not fit (missing, or not readable).
    State,
    /// The server's certificate names another device's key.
    NotMine,
    /// Anything else: a bug.
    Internal,
}

impl From<&haven_mls::CertificateError> for Fault {
    fn from(error: &haven_mls::CertificateError) -> Self {
        match error {
            haven_mls::CertificateError::Revoked => Self::Revoked,
            _ => Self::Certificate,
        }
    }
}

impl From<&haven_mls::Error> for Fault {
    fn from(error: &haven_mls::Error) -> Self {
        use haven_mls::Error as E;
        match error {
            E::Certificate(e) => e.into(),
            E::Malformed | E::WrongConversation | E::WrongCiphersuite | E::Refused(_) => {
                Self::Unreadable
            }
            E::StaleEpoch { .. }
            | E::FutureEpoch { .. }
            | E::CommitPending
            | E::NoCommitPending => Self::OutOfStep,
            E::NotAMember => Self::NotAMember,
            E::UnknownConversation | E::ConversationExists | E::BadSnapshot => Self::State,
            E::NotMyCertificate => Self::NotMine,
            E::NothingToDo | E::Internal => Self::Internal,
        }
    }
}

impl Fault {
    /// In the person's language (on the page).
    pub fn text(self) -> String {
        t(match self {
            Self::Certificate => Msg::E2eeFaultCertificate,
            Self::Revoked => Msg::E2eeFaultRevoked,
            Self::Unreadable => Msg::E2eeFaultUnreadable,
            Self::OutOfStep => Msg::E2eeFaultOutOfStep,
            Self::NotAMember => Msg::E2eeFaultNotAMember,
            Self::State => Msg::E2eeFaultState,
            Self::NotMine => Msg::E2eeFaultNotMine,
            Self::Internal => Msg::E2eeFaultInternal,
        })
    }
}

/// A change to a conversation that did not go through, for the person to see. Kept with
/// the conversation (in the vault), so a variant is never renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The server refused the change: its stable code and its own sentence.
    Refused { code: ErrorCode, message: String },
    /// The encryption layer could not make the change.
    Change(Fault),
    /// The history a member shared with this device could not be read.
    History,
    /// Kept by an earlier version of the app, in English words no longer shown.
    Earlier,
}

impl Problem {
    /// In the person's language (on the page).
    pub fn text(&self) -> String {
        match self {
            Self::Refused { code, message } => server_words(*code, message),
            Self::Change(fault) => tf(
                Msg::E2eeProblemChange,
                &[("reason", haven_i18n::Arg::from(fault.text()))],
            ),
            Self::History => t(Msg::E2eeProblemHistory),
            Self::Earlier => t(Msg::E2eeProblemEarlier),
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

    /// How it is shown.
    pub fn label(self) -> Msg {
        match self {
            Self::Sending => Msg::MessagesStateSending,
            Self::Sent => Msg::MessagesStateSent,
            Self::Delivered => Msg::MessagesStateDelivered,
            Self::Read => Msg::MessagesStateRead,
            Self::Failed => Msg::MessagesStateFailed,
        }
    }
}

/// What a conversation is called, as its member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Title {
    /// A patient's conversation: with their care team.
    CareTeam,
    /// A clinician's: the patient's verified name.
    Patient(String),
    /// No patient among the members (yet).
    Unnamed,
}

impl Title {
    /// The patient's name (data), or words in the person's language.
    pub fn text(&self) -> String {
        match self {
            Self::CareTeam => t(Msg::MessagesTitleCareTeam),
            Self::Patient(name) => name.clone(),
            Self::Unnamed => t(Msg::MessagesTitleUnnamed),
        }
    }

    /// Whether it is someone's name, which is not translated (`translate="no"`).
    pub fn is_name(&self) -> bool {
        matches!(self, Self::Patient(_))
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
    /// The member's device (each device of a person is a member of its own).
    pub device: Id,
    pub name: String,
    pub role: Role,
    pub me: bool,
    /// The certificate no longer checks out (revoked): removal pending.
    pub removal_pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub id: Id,
    pub title: Title,
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
    /// Messages the server no longer had when this device came to them (they expired,
    /// or were removed): they never reached it.
    pub lost: u64,
    /// Messages that other members' messages name (as sent or seen before them) which
    /// never reached this device: the server left them out.
    pub missing: u64,
    /// Messages that arrived in another order than their senders wrote them in.
    pub reordered: u64,
    /// A change to the conversation that did not go through, for the person to see.
    pub problem: Option<Problem>,
    /// A visit's group (issue 23): shown with the visit, not among the conversations.
    #[serde(default)]
    pub visit: Option<Id>,
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
