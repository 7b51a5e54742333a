//! One connection's side of delivery: after `subscribe`, everything the device has not
//! acknowledged, in order per conversation, then everything new as the writer wakes it.
//!
//! Exactly once, in order: the store holds each device's acknowledged position, and a
//! connection sends from there (or from what it already sent on this connection). A
//! reconnect starts again from the acknowledged position, so nothing is skipped; the
//! client drops what it has already processed by sequence number, so nothing is shown
//! twice. At most [`DELIVERY_WINDOW`] messages per conversation are in flight.

use std::collections::HashMap;
use std::sync::Arc;

use haven_protocol::ErrorCode;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{DELIVERY_WINDOW, Delivered, MlsBytes};
use haven_protocol::ws::{Reached, ServerFrame};

use crate::delivery::fanout::{Mailbox, Subscription};
use crate::identity::session::Authed;
use crate::state::AppState;

pub struct DeviceStream {
    pub device: Id,
    subscription: Subscription,
    /// Per conversation: the last sequence number sent on this connection, and the
    /// last acknowledged.
    sent: HashMap<Id, u64>,
    acked: HashMap<Id, u64>,
    /// The receipts last sent on this connection, per conversation.
    receipts: HashMap<Id, Vec<Reached>>,
}

/// The most positions (person and conversation) sent after `subscribe`.
const RECEIPTS_AFTER_SUBSCRIBE: i64 = 5000;

fn error(code: ErrorCode, message: &str) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: message.to_owned(),
    }
}

fn store_error(e: sqlx::Error) -> ServerFrame {
    tracing::error!(error = %e, "delivery read failed");
    error(
        ErrorCode::Internal,
        "Messages could not be read just now; they will arrive.",
    )
}

type PendingRow = (i64, String, String, Vec<u8>, Option<Vec<u8>>, i64);

impl DeviceStream {
    /// Binds the connection to `device`, which must be the caller's and not revoked.
    pub async fn subscribe(
        state: &AppState,
        authed: &Authed,
        device: Id,
    ) -> Result<Self, ServerFrame> {
        let owned: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM mls_devices WHERE id = ? AND user_id = ? AND org_id = ? AND revoked_at IS NULL",
        )
        .bind(device.as_str())
        .bind(authed.user_id.as_str())
        .bind(authed.org.id.as_str())
        .fetch_optional(state.db())
        .await
        .map_err(store_error)?;
        if owned.is_none() {
            return Err(error(
                ErrorCode::DeviceUnavailable,
                "This encryption device was removed or is not yours. Set up this browser again.",
            ));
        }
        let subscription = state.fanout().subscribe(&device);
        Ok(Self {
            device,
            subscription,
            sent: HashMap::new(),
            acked: HashMap::new(),
            receipts: HashMap::new(),
        })
    }

    pub fn mailbox(&self) -> Arc<Mailbox> {
        self.subscription.mailbox.clone()
    }

    /// Every conversation with something this device has not acknowledged.
    pub async fn backlog(&self, state: &AppState) -> Result<Vec<Id>, ServerFrame> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT cd.conversation_id FROM conversation_devices cd
             JOIN conversations c ON c.id = cd.conversation_id
             WHERE cd.device_id = ? AND cd.acked_seq < COALESCE(cd.left_seq, c.last_seq)",
        )
        .bind(self.device.as_str())
        .fetch_all(state.db())
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(c,)| Id::parse(&c).ok())
            .collect())
    }

    /// What to send now for `conversations`, in order.
    pub async fn pump(
        &mut self,
        state: &AppState,
        conversations: &[Id],
    ) -> Result<Vec<ServerFrame>, ServerFrame> {
        let mut frames = Vec::new();
        for conversation in conversations {
            let stored: Option<(i64,)> = sqlx::query_as(
                "SELECT cd.acked_seq FROM conversation_devices cd JOIN mls_devices d ON d.id = cd.device_id
                 WHERE cd.conversation_id = ? AND cd.device_id = ? AND d.revoked_at IS NULL",
            )
            .bind(conversation.as_str())
            .bind(self.device.as_str())
            .fetch_optional(state.db())
            .await
            .map_err(store_error)?;
            let Some((stored,)) = stored else { continue };
            let stored = u64::try_from(stored).unwrap_or(0);
            let acked = self.acked.entry(conversation.clone()).or_insert(0);
            *acked = (*acked).max(stored);
            let acked = *acked;
            let sent = self.sent.get(conversation).copied().unwrap_or(0).max(acked);
            let in_flight = sent - acked;
            let room = u64::from(DELIVERY_WINDOW).saturating_sub(in_flight);
            if room == 0 {
                continue;
            }
            let rows: Vec<PendingRow> = sqlx::query_as(
                "SELECT m.seq, m.kind, m.sender_device, m.body, m.welcome, cd.joined_seq
                 FROM conversation_devices cd
                 JOIN mls_messages m ON m.conversation_id = cd.conversation_id
                 WHERE cd.conversation_id = ? AND cd.device_id = ?
                   AND m.seq > ? AND m.seq >= cd.joined_seq
                   AND (cd.left_seq IS NULL OR m.seq <= cd.left_seq)
                 ORDER BY m.seq LIMIT ?",
            )
            .bind(conversation.as_str())
            .bind(self.device.as_str())
            .bind(i64::try_from(sent).unwrap_or(i64::MAX))
            .bind(i64::try_from(room).unwrap_or(i64::MAX))
            .fetch_all(state.db())
            .await
            .map_err(store_error)?;
            let mut last = sent;
            for (seq, kind, sender, body, welcome, joined) in rows {
                let Ok(seq) = u64::try_from(seq) else { break };
                // A gap means rows are still arriving or were expired: stop here, and
                // deliver the rest in order once it can be.
                if seq != last + 1 {
                    break;
                }
                let (kind, bytes) = if i64::try_from(seq).ok() == Some(joined) && joined > 0 {
                    match welcome {
                        Some(w) => (Delivered::Welcome, w),
                        None => break,
                    }
                } else if kind == "commit" {
                    (Delivered::Commit, body)
                } else {
                    (Delivered::Application, body)
                };
                let (Ok(sender), Ok(message)) = (Id::parse(&sender), MlsBytes::new(bytes)) else {
                    break;
                };
                frames.push(ServerFrame::Deliver {
                    conversation: conversation.clone(),
                    seq,
                    kind,
                    sender,
                    message,
                });
                last = seq;
            }
            self.sent.insert(conversation.clone(), last);
        }
        Ok(frames)
    }

    /// How far each other person got in each of `conversations` (or, with `None`, in
    /// the device's conversations, at most [`RECEIPTS_AFTER_SUBSCRIBE`] positions), for
    /// what changed since this connection last said. Only conversations the device is
    /// still in. One query either way.
    pub async fn receipts(
        &mut self,
        state: &AppState,
        conversations: Option<&[Id]>,
    ) -> Result<Vec<ServerFrame>, ServerFrame> {
        const ALL: &str = "SELECT me.conversation_id, o.user_id, MAX(o.acked_seq)
             FROM conversation_devices me
             JOIN conversation_devices o
               ON o.conversation_id = me.conversation_id AND o.left_seq IS NULL
              AND o.user_id <> me.user_id
             WHERE me.device_id = ? AND me.left_seq IS NULL
             GROUP BY me.conversation_id, o.user_id
             ORDER BY me.conversation_id, o.user_id LIMIT ?";
        let rows: Vec<(String, String, i64)> = match conversations {
            None => sqlx::query_as(ALL)
                .bind(self.device.as_str())
                .bind(RECEIPTS_AFTER_SUBSCRIBE)
                .fetch_all(state.db())
                .await
                .map_err(store_error)?,
            Some(list) => {
                let mut rows = Vec::new();
                for conversation in list {
                    let some: Vec<(String, String, i64)> = sqlx::query_as(
                        "SELECT me.conversation_id, o.user_id, MAX(o.acked_seq)
                         FROM conversation_devices me
                         JOIN conversation_devices o
                           ON o.conversation_id = me.conversation_id AND o.left_seq IS NULL
                          AND o.user_id <> me.user_id
                         WHERE me.conversation_id = ? AND me.device_id = ? AND me.left_seq IS NULL
                         GROUP BY me.conversation_id, o.user_id ORDER BY o.user_id",
                    )
                    .bind(conversation.as_str())
                    .bind(self.device.as_str())
                    .fetch_all(state.db())
                    .await
                    .map_err(store_error)?;
                    rows.extend(some);
                }
                rows
            }
        };
        let mut now: Vec<(Id, Vec<Reached>)> = Vec::new();
        for (conversation, user, seq) in rows {
            let (Ok(conversation), Ok(user), Ok(seq)) = (
                Id::parse(&conversation),
                Id::parse(&user),
                u64::try_from(seq),
            ) else {
                continue;
            };
            match now.last_mut() {
                Some((c, list)) if *c == conversation => list.push(Reached { user, seq }),
                _ => now.push((conversation, vec![Reached { user, seq }])),
            }
        }
        let mut frames = Vec::new();
        for (conversation, delivered) in now {
            if self.receipts.get(&conversation) == Some(&delivered) {
                continue;
            }
            self.receipts
                .insert(conversation.clone(), delivered.clone());
            frames.push(ServerFrame::Receipts {
                conversation,
                delivered,
            });
        }
        Ok(frames)
    }

    /// The device acknowledged up to `seq` (as stored by the writer).
    pub fn acked(&mut self, conversation: &Id, seq: u64) {
        let acked = self.acked.entry(conversation.clone()).or_insert(0);
        *acked = (*acked).max(seq);
    }

    /// This connection's own message was accepted at `seq`: if nothing else is owed
    /// before it, it need not come back to the device that sent it.
    pub fn own_accepted(&mut self, conversation: &Id, seq: u64) {
        let acked = self.acked.get(conversation).copied().unwrap_or(0);
        let sent = self.sent.entry(conversation.clone()).or_insert(0);
        if (*sent).max(acked) + 1 == seq {
            *sent = seq;
        }
    }
}
