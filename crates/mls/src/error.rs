//! One error type, kept in three kinds: what the peer or server sent was bad, the caller
//! asked for something that cannot be done now, and a bug. Messages never carry content.

use crate::cert::CertificateError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // --- what came in was bad ---
    #[error("{0}")]
    Certificate(#[from] CertificateError),
    #[error("the message cannot be read as MLS")]
    Malformed,
    #[error("the message is for another conversation")]
    WrongConversation,
    #[error("the message uses another ciphersuite")]
    WrongCiphersuite,
    #[error("the change is for epoch {message}, but this conversation is at epoch {current}")]
    StaleEpoch { message: u64, current: u64 },
    #[error(
        "the message is from epoch {message}, ahead of this conversation's {current}: earlier messages are missing"
    )]
    FutureEpoch { message: u64, current: u64 },
    #[error("the message was refused: {0}")]
    Refused(String),

    // --- the caller asked for something that cannot be done now ---
    #[error("this device has no conversation with that id")]
    UnknownConversation,
    #[error("a conversation with that id already exists on this device")]
    ConversationExists,
    #[error("this device has a change waiting for the server's answer")]
    CommitPending,
    #[error("this device has no change waiting for the server's answer")]
    NoCommitPending,
    #[error("this device is not a member of the conversation any more")]
    NotAMember,
    #[error("nothing to change")]
    NothingToDo,
    #[error("the device certificate does not match this device's key")]
    NotMyCertificate,
    #[error("the saved state cannot be read")]
    BadSnapshot,

    // --- a bug ---
    #[error("internal error in the encryption layer")]
    Internal,
}

impl Error {
    pub(crate) fn refused(error: impl std::fmt::Display) -> Self {
        Self::Refused(error.to_string())
    }
    pub(crate) fn internal(_error: impl std::fmt::Debug) -> Self {
        Self::Internal
    }
}
