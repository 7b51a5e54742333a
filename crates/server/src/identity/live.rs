//! Open WebSocket connections by session and user, so that ending a session (sign-out,
//! deactivation, expiry) reaches the browser at once instead of at its next request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use haven_protocol::access::Role;
use haven_protocol::audit::SessionEndReason;
use haven_protocol::identity::Id;
use tokio::sync::mpsc;

/// Something the connection must do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    SessionEnded(SessionEndReason),
    /// A frame to pass on as it is (a nudge to fetch something again).
    Push(haven_protocol::ws::ServerFrame),
}

struct Conn {
    session_hash: Vec<u8>,
    user_id: Id,
    org: Id,
    role: Role,
    tx: mpsc::UnboundedSender<Control>,
}

#[derive(Default)]
pub struct Live {
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Conn>>,
}

impl Live {
    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Conn>> {
        // A panic elsewhere must not stop sign-outs from being delivered.
        self.conns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a connection, unless `user_id` already holds `limit` connections: the
    /// count and the insertion happen under one lock, so concurrent sign-ins on many
    /// sockets cannot pass the limit together.
    pub fn register_within(
        &self,
        limit: usize,
        session_hash: Vec<u8>,
        user_id: Id,
        org: Id,
        role: Role,
    ) -> Option<(u64, mpsc::UnboundedReceiver<Control>)> {
        let mut conns = self.conns();
        if conns.values().filter(|c| c.user_id == user_id).count() >= limit {
            return None;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        conns.insert(
            id,
            Conn {
                session_hash,
                user_id,
                org,
                role,
                tx,
            },
        );
        Some((id, rx))
    }

    pub fn unregister(&self, id: u64) {
        self.conns().remove(&id);
    }

    fn notify(&self, matches: impl Fn(&Conn) -> bool, control: Control) {
        for conn in self.conns().values().filter(|c| matches(c)) {
            let _ = conn.tx.send(control.clone());
        }
    }

    pub fn end_session(&self, session_hash: &[u8], reason: SessionEndReason) {
        self.notify(
            |c| c.session_hash == session_hash,
            Control::SessionEnded(reason),
        );
    }

    /// Every socket of `user_id` but those of the session `keep`.
    pub fn end_user_except(&self, user_id: &Id, keep: &[u8], reason: SessionEndReason) {
        self.notify(
            |c| &c.user_id == user_id && c.session_hash != keep,
            Control::SessionEnded(reason),
        );
    }

    pub fn end_user(&self, user_id: &Id, reason: SessionEndReason) {
        self.notify(|c| &c.user_id == user_id, Control::SessionEnded(reason));
    }

    /// Sends `frame` to every socket of `users`, and of everyone in `org` with one of
    /// `roles`.
    pub fn push(
        &self,
        org: &Id,
        users: &[&Id],
        roles: &[Role],
        frame: &haven_protocol::ws::ServerFrame,
    ) {
        self.notify(
            |c| &c.org == org && (users.contains(&&c.user_id) || roles.contains(&c.role)),
            Control::Push(frame.clone()),
        );
    }

    pub fn count(&self) -> usize {
        self.conns().len()
    }
}
