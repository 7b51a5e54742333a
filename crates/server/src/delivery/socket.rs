//! One connection's side of delivery: after `subscribe`, everything the device has not
//! acknowledged, in order per conversation, then everything new as the writer wakes it.
//!
//! Exactly once, in order: the store holds each device's acknowledged position, and a
//! connection sends from there (or from what it already sent on this connection). A
//! reconnect starts again from the acknowledged position, so nothing is skipped; the
//! client drops what it has already processed by sequence number, so nothing is shown
//! twice. Acknowledgements lost when a connection closes therefore cost only a
//! redelivery, whatever the client acknowledged last.
//!
//! Bounded: at most [`DELIVERY_WINDOW`] messages per conversation and
//! [`BYTES_IN_FLIGHT`] bytes per connection are sent and not yet acknowledged, and a
//! conversation's messages are read from the store only as far as that budget goes, so
//! a backlog of any size costs a connection a few MiB. The device's own messages are
//! not sent back to it (it learnt their place from `accepted`) and count for nothing.
//!
//! A stretch the device can no longer have (expired, or removed while it did not
//! count) is announced with a `gap` frame and delivery goes on after it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use haven_protocol::ErrorCode;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{DELIVERY_WINDOW, Delivered, MlsBytes};
use haven_protocol::ws::{GapReason, Reached, ServerFrame};

use crate::delivery::fanout::{Gate, Mailbox, Subscription};
use crate::identity::session::Authed;
use crate::state::AppState;

/// Bytes of messages a connection has sent and not yet had acknowledged. One message
/// always goes when nothing is in flight, whatever its size.
pub const BYTES_IN_FLIGHT: usize = 2 * 1024 * 1024;

pub struct DeviceStream {
    pub device: Id,
    subscription: Subscription,
    /// This subscription's number at the device's gate.
    generation: u64,
    /// Per conversation: the last sequence number passed on this connection (sent, or
    /// skipped as the device's own or as a gap), and the last acknowledged.
    sent: HashMap<Id, u64>,
    acked: HashMap<Id, u64>,
    /// Per conversation: what was sent and not yet acknowledged (seq, bytes).
    in_flight: HashMap<Id, VecDeque<(u64, usize)>>,
    bytes_in_flight: usize,
    /// Conversations with more to send that waited for the byte budget.
    waiting: BTreeSet<Id>,
    /// The receipts last sent on this connection, per conversation.
    receipts: HashMap<Id, Vec<Reached>>,
}

/// The most positions (person and conversation) sent after `subscribe`.
const RECEIPTS_AFTER_SUBSCRIBE: i64 = 5000;
/// Rows of a conversation's metadata read at once beyond its window (the device's own
/// messages, which are skipped, can sit among the others).
const READ_AHEAD: u64 = 64;

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

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// What a conversation's next stretch holds, before any body is read.
enum Planned {
    Gap {
        from: u64,
        to: u64,
        reason: GapReason,
    },
    Deliver {
        seq: u64,
        welcome: bool,
    },
}

/// A message row's metadata: seq, sender, body and Welcome sizes.
type MetaRow = (i64, String, i64, Option<i64>);
/// A message row to send: seq, kind, sender, body, Welcome.
type BodyRow = (i64, String, String, Vec<u8>, Option<Vec<u8>>);

impl DeviceStream {
    /// Binds the connection to `device`, which must be the caller's and not revoked,
    /// and makes this connection the one that carries the device's sends.
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
        let generation = {
            let mut newest = subscription.gate.lock().await;
            *newest += 1;
            *newest
        };
        Ok(Self {
            device,
            subscription,
            generation,
            sent: HashMap::new(),
            acked: HashMap::new(),
            in_flight: HashMap::new(),
            bytes_in_flight: 0,
            waiting: BTreeSet::new(),
            receipts: HashMap::new(),
        })
    }

    pub fn mailbox(&self) -> Arc<Mailbox> {
        self.subscription.mailbox.clone()
    }

    /// The device's gate and this subscription's number there: a send is queued only
    /// while holding the gate, and only if the number is still the newest.
    pub fn gate(&self) -> (Arc<Gate>, u64) {
        (self.subscription.gate.clone(), self.generation)
    }

    /// This subscription: the device and its number at the device's gate.
    pub fn owner(&self) -> (Id, u64) {
        (self.device.clone(), self.generation)
    }

    /// How far this connection has delivered `conversation` (what the device may
    /// acknowledge).
    pub fn delivered(&self, conversation: &Id) -> u64 {
        let sent = self.sent.get(conversation).copied().unwrap_or(0);
        sent.max(self.acked.get(conversation).copied().unwrap_or(0))
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

    /// What to send now for `conversations`, in order, within the window and the byte
    /// budget.
    pub async fn pump(
        &mut self,
        state: &AppState,
        conversations: &[Id],
    ) -> Result<Vec<ServerFrame>, ServerFrame> {
        let mut frames = Vec::new();
        for (i, conversation) in conversations.iter().enumerate() {
            // What was already planned is counted as sent: it goes out, with the error
            // after it, and the rest waits for the next acknowledgement or wake.
            if let Err(e) = self.pump_one(state, conversation, &mut frames).await {
                frames.push(e);
                self.waiting.extend(conversations.iter().skip(i).cloned());
                break;
            }
        }
        Ok(frames)
    }

    /// The conversations that waited (for the byte budget, or after a store error),
    /// tried again; nothing if none did.
    pub async fn pump_waiting(
        &mut self,
        state: &AppState,
    ) -> Result<Vec<ServerFrame>, ServerFrame> {
        let list: Vec<Id> = std::mem::take(&mut self.waiting).into_iter().collect();
        self.pump(state, &list).await
    }

    /// After an acknowledgement freed room: `conversation`, then those that waited
    /// for the byte budget.
    pub async fn pump_freed(
        &mut self,
        state: &AppState,
        conversation: &Id,
    ) -> Result<Vec<ServerFrame>, ServerFrame> {
        let mut list = vec![conversation.clone()];
        list.extend(
            std::mem::take(&mut self.waiting)
                .into_iter()
                .filter(|c| c != conversation),
        );
        self.pump(state, &list).await
    }

    /// `conversation`'s next stretches, a read of its metadata at a time, until the
    /// window or the byte budget is full or nothing is left.
    async fn pump_one(
        &mut self,
        state: &AppState,
        conversation: &Id,
        frames: &mut Vec<ServerFrame>,
    ) -> Result<(), ServerFrame> {
        // Each round passes at least one row, so this ends; a read of nothing but the
        // device's own messages goes on to the next instead of stopping there.
        while self.pump_stretch(state, conversation, frames).await? {}
        Ok(())
    }

    /// One read of `conversation`'s metadata, planned and sent; true if there may be
    /// more to send now.
    async fn pump_stretch(
        &mut self,
        state: &AppState,
        conversation: &Id,
        frames: &mut Vec<ServerFrame>,
    ) -> Result<bool, ServerFrame> {
        let position: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT cd.acked_seq, cd.joined_seq, COALESCE(cd.left_seq, c.last_seq)
             FROM conversation_devices cd
             JOIN conversations c ON c.id = cd.conversation_id
             JOIN mls_devices d ON d.id = cd.device_id
             WHERE cd.conversation_id = ? AND cd.device_id = ? AND d.revoked_at IS NULL",
        )
        .bind(conversation.as_str())
        .bind(self.device.as_str())
        .fetch_optional(state.db())
        .await
        .map_err(store_error)?;
        let Some((stored, joined, end)) = position else {
            return Ok(false);
        };
        let stored = u64::try_from(stored).unwrap_or(0);
        let joined = u64::try_from(joined).unwrap_or(0);
        let end = u64::try_from(end).unwrap_or(0);
        self.acked(conversation, stored);
        let acked = self.acked.get(conversation).copied().unwrap_or(0);
        let mut last = self.sent.get(conversation).copied().unwrap_or(0).max(acked);
        let flying = self.in_flight.get(conversation).map_or(0, VecDeque::len);
        let mut room = u64::from(DELIVERY_WINDOW).saturating_sub(flying as u64);
        if last >= end || room == 0 {
            return Ok(false);
        }
        let rows: Vec<MetaRow> = sqlx::query_as(
            "SELECT seq, sender_device, CAST(length(body) AS BIGINT), CAST(length(welcome) AS BIGINT) FROM mls_messages
             WHERE conversation_id = ? AND seq > ? AND seq <= ?
             ORDER BY seq LIMIT ?",
        )
        .bind(conversation.as_str())
        .bind(as_i64(last))
        .bind(as_i64(end))
        .bind(as_i64(room + READ_AHEAD))
        .fetch_all(state.db())
        .await
        .map_err(store_error)?;
        let complete = (rows.len() as u64) < room + READ_AHEAD;
        let mut plan = Vec::new();
        let mut budget = BYTES_IN_FLIGHT.saturating_sub(self.bytes_in_flight);
        let mut sending_any = self.bytes_in_flight > 0;
        let mut stopped = false;
        for (seq, sender, body_len, welcome_len) in rows {
            let Ok(seq) = u64::try_from(seq) else { break };
            if seq > last + 1 {
                plan.push(Planned::Gap {
                    from: last + 1,
                    to: seq - 1,
                    reason: GapReason::Expired,
                });
                last = seq - 1;
            }
            let welcome = seq == joined && joined > 0;
            let size = if welcome {
                welcome_len.unwrap_or(0)
            } else {
                body_len
            };
            let size = usize::try_from(size).unwrap_or(0);
            if size == 0 {
                // Emptied after every device that counted had it.
                plan.push(Planned::Gap {
                    from: seq,
                    to: seq,
                    reason: GapReason::Removed,
                });
                last = seq;
                continue;
            }
            if !welcome && sender == self.device.as_str() {
                last = seq;
                continue;
            }
            if room == 0 || (sending_any && size > budget) {
                stopped = true;
                break;
            }
            room -= 1;
            budget = budget.saturating_sub(size);
            sending_any = true;
            plan.push(Planned::Deliver { seq, welcome });
            last = seq;
        }
        if !stopped && complete && last < end {
            plan.push(Planned::Gap {
                from: last + 1,
                to: end,
                reason: GapReason::Expired,
            });
        }
        if stopped && room > 0 {
            self.waiting.insert(conversation.clone());
        }
        self.emit(state, conversation, plan, last, frames).await?;
        Ok(!stopped && !complete && room > 0)
    }

    /// Reads the bodies of what `plan` delivers and turns it into frames; the stretch
    /// read ended at `passed` (own messages after the last planned one included).
    async fn emit(
        &mut self,
        state: &AppState,
        conversation: &Id,
        plan: Vec<Planned>,
        passed: u64,
        frames: &mut Vec<ServerFrame>,
    ) -> Result<(), ServerFrame> {
        let seqs: Vec<u64> = plan
            .iter()
            .filter_map(|p| match p {
                Planned::Deliver { seq, .. } => Some(*seq),
                Planned::Gap { .. } => None,
            })
            .collect();
        let mut bodies: HashMap<u64, BodyRow> = HashMap::new();
        if let (Some(first), Some(last)) = (seqs.first(), seqs.last()) {
            let rows: Vec<BodyRow> = sqlx::query_as(
                "SELECT seq, kind, sender_device, body, welcome FROM mls_messages
                 WHERE conversation_id = ? AND seq >= ? AND seq <= ? AND sender_device <> ?
                 ORDER BY seq",
            )
            .bind(conversation.as_str())
            .bind(as_i64(*first))
            .bind(as_i64(*last))
            .bind(self.device.as_str())
            .fetch_all(state.db())
            .await
            .map_err(store_error)?;
            for row in rows {
                if let Ok(seq) = u64::try_from(row.0) {
                    bodies.insert(seq, row);
                }
            }
        }
        let mut last = self.sent.get(conversation).copied().unwrap_or(0);
        for planned in plan {
            match planned {
                Planned::Gap { from, to, reason } => {
                    frames.push(ServerFrame::Gap {
                        conversation: conversation.clone(),
                        from,
                        to,
                        reason,
                    });
                    last = last.max(to);
                }
                Planned::Deliver { seq, welcome } => {
                    let read = bodies.remove(&seq).and_then(|(_, kind, sender, body, w)| {
                        let (kind, bytes) = if welcome {
                            (Delivered::Welcome, w?)
                        } else if kind == "commit" {
                            (Delivered::Commit, body)
                        } else {
                            (Delivered::Application, body)
                        };
                        let size = bytes.len();
                        Some((
                            kind,
                            Id::parse(&sender).ok()?,
                            MlsBytes::new(bytes).ok()?,
                            size,
                        ))
                    });
                    let Some((kind, sender, message, size)) = read else {
                        // Gone between the two reads (it expired just now).
                        frames.push(ServerFrame::Gap {
                            conversation: conversation.clone(),
                            from: seq,
                            to: seq,
                            reason: GapReason::Expired,
                        });
                        last = last.max(seq);
                        continue;
                    };
                    self.bytes_in_flight += size;
                    self.in_flight
                        .entry(conversation.clone())
                        .or_default()
                        .push_back((seq, size));
                    frames.push(ServerFrame::Deliver {
                        conversation: conversation.clone(),
                        seq,
                        kind,
                        sender,
                        message,
                    });
                    last = last.max(seq);
                }
            }
        }
        // Skipped own messages at the end count as passed too.
        let sent = self.sent.entry(conversation.clone()).or_insert(0);
        *sent = (*sent).max(last).max(passed);
        Ok(())
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
             JOIN mls_devices od ON od.id = o.device_id AND od.revoked_at IS NULL
             JOIN mls_devices md ON md.id = me.device_id AND md.revoked_at IS NULL
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
                         JOIN mls_devices od ON od.id = o.device_id AND od.revoked_at IS NULL
                         JOIN mls_devices md ON md.id = me.device_id AND md.revoked_at IS NULL
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

    /// The device acknowledged up to `seq` (as stored by the writer): what it covers
    /// is no longer in flight.
    pub fn acked(&mut self, conversation: &Id, seq: u64) {
        let acked = self.acked.entry(conversation.clone()).or_insert(0);
        *acked = (*acked).max(seq);
        if let Some(flying) = self.in_flight.get_mut(conversation) {
            while flying.front().is_some_and(|(s, _)| *s <= seq) {
                if let Some((_, size)) = flying.pop_front() {
                    self.bytes_in_flight = self.bytes_in_flight.saturating_sub(size);
                }
            }
        }
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
