//! The browser's MLS client: one device, its conversations, what it still has to send,
//! and the transcripts it has decrypted.
//!
//! Everything that changes state goes through one queue of [`Job`]s, processed in order:
//! a batch of jobs changes the state in memory, the whole state is sealed into the vault,
//! and only then do the frames that batch produced (acknowledgements, messages, commits)
//! leave for the server. So the server never hears "processed" for something a crash
//! could still lose, an MLS key is never used twice for different plaintexts, and what
//! was sent is always in the outbox until the server's answer arrives.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use haven_mls::{Content, Device, Member, Received, Shown, Transcript, Trust};
use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use haven_protocol::messaging::TrustAnchor;
use haven_protocol::messaging::{CommitInfo, ConversationSummary, Delivered, MlsBytes};
use haven_protocol::ws::{ClientFrame, ServerFrame};
use serde::{Deserialize, Serialize};

use super::inbox::{Body, ConversationView, Inbox, Line, MemberView, Sending, Status};

/// Something that changes the messenger's state, in the order it happened.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// A frame the server sent for this device.
    Frame { frame: ServerFrame },
    /// Encrypt and send a message of one's own.
    Send { conversation: Id, content: Content },
    /// Send a refused message again.
    Retry { request: u64 },
    /// A conversation the server just created, with the KeyPackages of the devices to
    /// add to it.
    Create {
        summary: ConversationSummary,
        key_packages: Vec<Vec<u8>>,
    },
    /// The server's list of this device's conversations.
    Summaries { list: Vec<ConversationSummary> },
    /// The server's trust anchor again (a device was revoked).
    Trust { anchor: TrustAnchor },
    /// The person has the conversation open: tell the others what they have read.
    Seen { conversation: Id },
}

/// A message of this device's that the server has not yet answered.
#[derive(Clone, Serialize, Deserialize)]
struct Outgoing {
    request: u64,
    conversation: Id,
    message: MlsBytes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit: Option<CommitInfo>,
    #[serde(default)]
    failed: bool,
}

/// One decrypted message, as kept.
#[derive(Clone, Serialize, Deserialize)]
struct Logged {
    seq: u64,
    author: Member,
    content: Content,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct Kept {
    /// Everything up to here has been processed (and acknowledged).
    processed: u64,
    /// Sequence numbers of this device's own accepted messages beyond `processed`.
    #[serde(default)]
    own: BTreeSet<u64>,
    log: Vec<Logged>,
    /// A change of ours lost the race for its epoch to the commit at this sequence
    /// number: rebuild it once that is processed.
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    left: bool,
    #[serde(default)]
    unreadable: u32,
    /// The highest sequence number this device reported as read.
    #[serde(default)]
    read_sent: u64,
    #[serde(default)]
    problem: Option<String>,
}

/// What the vault holds besides the MLS state.
#[derive(Default, Serialize, Deserialize)]
struct Saved {
    conversations: BTreeMap<Id, Kept>,
    outbox: Vec<Outgoing>,
    next_request: u64,
}

/// Seconds since the epoch, from the browser's clock.
fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

pub struct Messenger {
    device_id: Id,
    device: Device,
    me: Member,
    trust: Trust,
    saved: Saved,
    transcripts: BTreeMap<Id, Transcript>,
    summaries: BTreeMap<Id, ConversationSummary>,
    status: Status,
}

/// What a batch of jobs produced: the state to seal, then the frames to send.
pub struct Effects {
    pub state: Option<Vec<u8>>,
    pub frames: Vec<ClientFrame>,
}

impl Messenger {
    /// A messenger over `device` (certified) and what was saved with it.
    pub fn new(device_id: Id, device: Device, trust: Trust, saved: Option<&[u8]>) -> Option<Self> {
        let me = device.me().ok()?;
        let saved: Saved = match saved {
            Some(bytes) => serde_json::from_slice(bytes).ok()?,
            None => Saved::default(),
        };
        let mut transcripts = BTreeMap::new();
        for (id, kept) in &saved.conversations {
            let mut transcript = Transcript::default();
            for logged in &kept.log {
                let _ = transcript.apply(logged.seq, &logged.author, logged.content.clone());
            }
            transcripts.insert(id.clone(), transcript);
        }
        Some(Self {
            device_id,
            device,
            me,
            trust,
            saved,
            transcripts,
            summaries: BTreeMap::new(),
            status: Status::Ready,
        })
    }

    pub fn device_id(&self) -> &Id {
        &self.device_id
    }

    /// `count` fresh one-time KeyPackages (seal before publishing them).
    pub fn key_packages(&mut self, count: usize) -> haven_mls::Result<Vec<Vec<u8>>> {
        self.device.key_packages(count)
    }

    /// A fresh last-resort KeyPackage (seal before publishing it).
    pub fn last_resort(&mut self) -> haven_mls::Result<Vec<u8>> {
        self.device.last_resort_key_package()
    }

    /// Sealed form: the MLS state and the rest, in one record so they never disagree.
    pub fn seal(&self) -> Option<Vec<u8>> {
        seal(&self.device, &self.saved)
    }

    /// Splits what [`Messenger::seal`] wrote.
    pub fn unseal(bytes: &[u8]) -> Option<(Device, Vec<u8>)> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return None;
        }
        let (snapshot, saved) = rest.split_at(len);
        Some((Device::restore(snapshot).ok()?, saved.to_vec()))
    }

    /// Runs a batch of jobs.
    pub fn run(&mut self, jobs: Vec<Job>) -> Effects {
        let mut frames = Vec::new();
        let mut touched = BTreeSet::new();
        for job in jobs {
            self.job(job, &mut frames, &mut touched);
        }
        for conversation in touched {
            if let Some(kept) = self.saved.conversations.get(&conversation)
                && kept.processed > 0
            {
                frames.push(ClientFrame::Ack {
                    conversation,
                    seq: kept.processed,
                });
            }
        }
        Effects {
            state: self.seal(),
            frames,
        }
    }

    fn job(&mut self, job: Job, frames: &mut Vec<ClientFrame>, touched: &mut BTreeSet<Id>) {
        match job {
            Job::Frame { frame } => self.frame(frame, frames, touched),
            Job::Send {
                conversation,
                content,
            } => self.send(conversation, content, frames),
            Job::Retry { request } => self.retry(request, frames),
            Job::Create {
                summary,
                key_packages,
            } => self.create(summary, &key_packages, frames),
            Job::Summaries { list } => {
                for summary in list {
                    self.summaries.insert(summary.id.clone(), summary);
                }
            }
            Job::Trust { anchor } => {
                if let Ok(trust) = Trust::from_anchor(&anchor) {
                    self.trust = trust;
                }
            }
            Job::Seen { conversation } => self.seen(conversation, frames),
        }
    }

    fn frame(
        &mut self,
        frame: ServerFrame,
        frames: &mut Vec<ClientFrame>,
        touched: &mut BTreeSet<Id>,
    ) {
        match frame {
            ServerFrame::Subscribed { .. } => {
                self.status = Status::Ready;
                // Whatever the server has not answered goes again: a duplicate of a
                // message it did store is recognised and dropped by every receiver.
                for out in self.saved.outbox.iter().filter(|o| !o.failed) {
                    frames.push(send_frame(out));
                }
            }
            ServerFrame::Deliver {
                conversation,
                seq,
                kind,
                message,
                ..
            } => {
                touched.insert(conversation.clone());
                self.deliver(conversation, seq, kind, &message, frames);
            }
            ServerFrame::Accepted { request, seq } => self.accepted(request, seq, touched),
            ServerFrame::Refused {
                request,
                message,
                winner,
                ..
            } => self.refused(request, message, winner, frames),
            ServerFrame::Error {
                code: haven_protocol::ErrorCode::DeviceUnavailable,
                message,
            } => {
                self.status = Status::Failed(message);
            }
            _ => {}
        }
    }

    fn deliver(
        &mut self,
        conversation: Id,
        seq: u64,
        kind: Delivered,
        message: &MlsBytes,
        frames: &mut Vec<ClientFrame>,
    ) {
        let kept = self
            .saved
            .conversations
            .entry(conversation.clone())
            .or_default();
        if seq <= kept.processed {
            return; // delivered twice
        }
        let id = conversation.as_str().as_bytes();
        let transcript = self.transcripts.entry(conversation.clone()).or_default();
        match kind {
            Delivered::Welcome => match self.device.join(message.as_bytes(), &self.trust, now()) {
                Ok(joined) if joined == id => {}
                _ => kept.unreadable += 1,
            },
            Delivered::Application | Delivered::Commit => {
                match self
                    .device
                    .receive(id, message.as_bytes(), &self.trust, now())
                {
                    Ok(Received::Message { sender, body }) => match Content::decode(&body) {
                        Ok(content) => {
                            if transcript.apply(seq, &sender, content.clone()).is_ok() {
                                kept.log.push(Logged {
                                    seq,
                                    author: sender,
                                    content,
                                });
                            }
                        }
                        Err(_) => kept.unreadable += 1,
                    },
                    Ok(Received::Committed { removed_me, .. }) => {
                        if removed_me {
                            kept.left = true;
                        }
                    }
                    Ok(Received::OwnCommitMerged { .. }) => {
                        self.saved
                            .outbox
                            .retain(|o| !(o.conversation == conversation && o.commit.is_some()));
                    }
                    Ok(Received::OwnMessage) => {
                        let found = self
                            .saved
                            .outbox
                            .iter()
                            .position(|o| o.message.as_bytes() == message.as_bytes());
                        if let Some(out) = found.map(|i| self.saved.outbox.remove(i))
                            && let Some(content) = out.content
                            && transcript.apply(seq, &self.me, content.clone()).is_ok()
                        {
                            kept.log.push(Logged {
                                seq,
                                author: self.me.clone(),
                                content,
                            });
                        }
                    }
                    // A message this device cannot read (a duplicate of one already
                    // read, or tampered): counted, never shown as content.
                    Err(_) => kept.unreadable += 1,
                }
            }
        }
        kept.processed = seq;
        while kept.own.remove(&(kept.processed + 1)) {
            kept.processed += 1;
        }
        if kept.retry_after.is_some_and(|w| kept.processed >= w) {
            kept.retry_after = None;
            self.rebuild(&conversation, frames);
        }
    }

    fn accepted(&mut self, request: u64, seq: u64, touched: &mut BTreeSet<Id>) {
        let Some(index) = self.saved.outbox.iter().position(|o| o.request == request) else {
            return;
        };
        let out = self.saved.outbox.remove(index);
        let conversation = out.conversation.clone();
        let id = conversation.as_str().as_bytes();
        if out.commit.is_some() {
            // Merged now; if it already came back (after a reconnect), nothing is left.
            let _ = self.device.confirm(id);
        }
        let kept = self
            .saved
            .conversations
            .entry(conversation.clone())
            .or_default();
        kept.problem = None;
        if let Some(content) = out.content {
            let transcript = self.transcripts.entry(conversation.clone()).or_default();
            if transcript.apply(seq, &self.me, content.clone()).is_ok() {
                kept.log.push(Logged {
                    seq,
                    author: self.me.clone(),
                    content,
                });
            }
        }
        if seq == kept.processed + 1 {
            kept.processed = seq;
            while kept.own.remove(&(kept.processed + 1)) {
                kept.processed += 1;
            }
            touched.insert(conversation);
        } else if seq > kept.processed {
            kept.own.insert(seq);
        }
    }

    fn refused(
        &mut self,
        request: u64,
        message: String,
        winner: Option<u64>,
        frames: &mut Vec<ClientFrame>,
    ) {
        let Some(index) = self.saved.outbox.iter().position(|o| o.request == request) else {
            return;
        };
        let conversation = self.saved.outbox[index].conversation.clone();
        let id = conversation.as_str().as_bytes().to_vec();
        if self.saved.outbox[index].commit.is_none() {
            self.saved.outbox[index].failed = true;
            return;
        }
        // A change: it lost its epoch to `winner`, or was refused outright.
        self.saved.outbox.remove(index);
        let _ = self.device.lost_race(&id);
        let kept = self
            .saved
            .conversations
            .entry(conversation.clone())
            .or_default();
        match winner {
            Some(winner) if kept.processed >= winner => self.rebuild(&conversation, frames),
            Some(winner) => kept.retry_after = Some(winner),
            None => kept.problem = Some(message),
        }
    }

    /// Rebuilds a change that lost its epoch, on the current one.
    fn rebuild(&mut self, conversation: &Id, frames: &mut Vec<ClientFrame>) {
        let id = conversation.as_str().as_bytes();
        match self.device.retry(id, &self.trust, now()) {
            Ok(Some(commit)) => self.queue_commit(conversation, commit, frames),
            Ok(None) => {}
            Err(e) => {
                if let Some(kept) = self.saved.conversations.get_mut(conversation) {
                    kept.problem = Some(e.to_string());
                }
            }
        }
    }

    fn next_request(&mut self) -> u64 {
        self.saved.next_request += 1;
        self.saved.next_request
    }

    fn queue_commit(
        &mut self,
        conversation: &Id,
        commit: haven_mls::Commit,
        frames: &mut Vec<ClientFrame>,
    ) {
        let (Ok(message), welcome) = (
            MlsBytes::new(commit.commit),
            commit.welcome.map(MlsBytes::new).transpose(),
        ) else {
            return;
        };
        let Ok(welcome) = welcome else { return };
        let out = Outgoing {
            request: self.next_request(),
            conversation: conversation.clone(),
            message,
            content: None,
            commit: Some(CommitInfo {
                added: commit.added,
                removed: commit.removed,
                welcome,
            }),
            failed: false,
        };
        frames.push(send_frame(&out));
        self.saved.outbox.push(out);
    }

    fn send(&mut self, conversation: Id, content: Content, frames: &mut Vec<ClientFrame>) {
        let request = self.next_request();
        let mut out = Outgoing {
            request,
            conversation,
            // Replaced by the ciphertext below.
            message: match MlsBytes::new(vec![0]) {
                Ok(m) => m,
                Err(_) => return,
            },
            content: Some(content),
            commit: None,
            failed: true,
        };
        if self.encrypt(&mut out) {
            frames.push(send_frame(&out));
        }
        self.saved.outbox.push(out);
    }

    /// Encrypts `out`'s content on the conversation's current epoch; `false` (and the
    /// message stays failed) if that cannot be done.
    fn encrypt(&mut self, out: &mut Outgoing) -> bool {
        let Some(bytes) = out.content.as_ref().and_then(|c| c.encode().ok()) else {
            return false;
        };
        let id = out.conversation.as_str().as_bytes();
        match self
            .device
            .send(id, &bytes)
            .ok()
            .and_then(|m| MlsBytes::new(m).ok())
        {
            Some(message) => {
                out.message = message;
                out.failed = false;
                true
            }
            None => false,
        }
    }

    fn retry(&mut self, request: u64, frames: &mut Vec<ClientFrame>) {
        let Some(index) = self
            .saved
            .outbox
            .iter()
            .position(|o| o.request == request && o.failed && o.content.is_some())
        else {
            return;
        };
        let mut out = self.saved.outbox.remove(index);
        out.request = self.next_request();
        if self.encrypt(&mut out) {
            frames.push(send_frame(&out));
        }
        self.saved.outbox.push(out);
    }

    fn create(
        &mut self,
        summary: ConversationSummary,
        key_packages: &[Vec<u8>],
        frames: &mut Vec<ClientFrame>,
    ) {
        let conversation = summary.id.clone();
        self.summaries.insert(conversation.clone(), summary);
        let id = conversation.as_str().as_bytes();
        self.saved
            .conversations
            .entry(conversation.clone())
            .or_default();
        if self.device.create(id).is_err() {
            return;
        }
        match self.device.add(id, key_packages, &self.trust, now()) {
            Ok(commit) => self.queue_commit(&conversation, commit, frames),
            Err(e) => {
                if let Some(kept) = self.saved.conversations.get_mut(&conversation) {
                    kept.problem = Some(e.to_string());
                }
            }
        }
    }

    fn seen(&mut self, conversation: Id, frames: &mut Vec<ClientFrame>) {
        let Some(transcript) = self.transcripts.get(&conversation) else {
            return;
        };
        let newest = transcript
            .entries()
            .iter()
            .filter(|e| e.author.user != self.me.user)
            .map(|e| e.seq)
            .max()
            .unwrap_or(0);
        let Some(kept) = self.saved.conversations.get_mut(&conversation) else {
            return;
        };
        if newest <= kept.read_sent.max(transcript.read_by(&self.me.user)) || kept.left {
            return;
        }
        kept.read_sent = newest;
        self.send(conversation, Content::Read { seq: newest }, frames);
    }

    /// Everything the views show, rebuilt from the state.
    pub fn inbox(&self) -> Inbox {
        let mut ids: BTreeSet<&Id> = self.saved.conversations.keys().collect();
        ids.extend(self.summaries.keys());
        let mut conversations: Vec<(i64, ConversationView)> = ids
            .into_iter()
            .map(|id| {
                let created = self.summaries.get(id).map_or(0, |s| s.created_at);
                (created, self.conversation_view(id))
            })
            .collect();
        conversations.sort_by_key(|c| std::cmp::Reverse(c.0));
        Inbox {
            status: self.status.clone(),
            conversations: conversations.into_iter().map(|(_, c)| c).collect(),
        }
    }

    fn conversation_view(&self, id: &Id) -> ConversationView {
        let key = id.as_str().as_bytes();
        let kept = self
            .saved
            .conversations
            .get(id)
            .cloned()
            .unwrap_or_default();
        let joined = self.device.epoch(key).is_ok();
        let members: Vec<MemberView> = self
            .device
            .members(key, &self.trust)
            .map(|list| {
                list.into_iter()
                    .map(|(m, status)| MemberView {
                        me: m.device == self.me.device,
                        name: m.name,
                        role: m.role,
                        removal_pending: status.is_err(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let title = title(self.me.role, &members);
        let empty = Transcript::default();
        let transcript = self.transcripts.get(id).unwrap_or(&empty);
        let others_read = transcript
            .entries()
            .iter()
            .map(|e| &e.author.user)
            .chain(
                self.device
                    .members(key, &self.trust)
                    .ok()
                    .iter()
                    .flatten()
                    .map(|(m, _)| &m.user),
            )
            .filter(|u| **u != self.me.user)
            .map(|u| transcript.read_by(u))
            .max()
            .unwrap_or(0);
        let mut lines: Vec<Line> = transcript
            .entries()
            .iter()
            .map(|e| {
                let mine = e.author.user == self.me.user;
                Line {
                    id: e.id.clone(),
                    seq: Some(e.seq),
                    author: e.author.name.clone(),
                    role: e.author.role,
                    mine,
                    body: match &e.shown {
                        Shown::Text(text) => Body::Text(text.clone()),
                        Shown::Attachment { name, .. } => Body::Text(format!("Attachment: {name}")),
                        Shown::Deleted => Body::Deleted,
                    },
                    edited: e.edited,
                    state: mine.then_some(if others_read >= e.seq {
                        Sending::Read
                    } else {
                        Sending::Sent
                    }),
                    request: None,
                }
            })
            .collect();
        lines.sort_by_key(|l| l.seq);
        for out in self.saved.outbox.iter().filter(|o| &o.conversation == id) {
            if let Some(Content::Text { id, body }) = &out.content {
                lines.push(Line {
                    id: id.clone(),
                    seq: None,
                    author: self.me.name.clone(),
                    role: self.me.role,
                    mine: true,
                    body: Body::Text(body.clone()),
                    edited: false,
                    state: Some(if out.failed {
                        Sending::Failed
                    } else {
                        Sending::Sending
                    }),
                    request: Some(out.request),
                });
            }
        }
        let last_seq = self.summaries.get(id).map_or(0, |s| s.last_seq);
        ConversationView {
            id: id.clone(),
            title,
            joined,
            left: kept.left || self.summaries.get(id).is_some_and(|s| s.left),
            catching_up: last_seq > kept.processed,
            unread: transcript.unread_for(&self.me.user),
            lines,
            members,
            code: self.device.verification_code(key).ok(),
            unreadable: kept.unreadable,
            problem: kept.problem,
        }
    }

    pub fn status(&self) -> &Status {
        &self.status
    }
}

fn title(me: Role, members: &[MemberView]) -> String {
    if me == Role::Patient {
        return "Your care team".to_owned();
    }
    members
        .iter()
        .find(|m| m.role == Role::Patient)
        .map_or_else(|| "Conversation".to_owned(), |m| m.name.clone())
}

fn send_frame(out: &Outgoing) -> ClientFrame {
    ClientFrame::Send {
        request: out.request,
        conversation: out.conversation.clone(),
        message: out.message.clone(),
        commit: out.commit.clone(),
    }
}

fn seal(device: &Device, saved: &Saved) -> Option<Vec<u8>> {
    let snapshot = device.snapshot().ok()?;
    let rest = serde_json::to_vec(saved).ok()?;
    let len = u32::try_from(snapshot.len()).ok()?;
    let mut out = Vec::with_capacity(4 + snapshot.len() + rest.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend(snapshot);
    out.extend(rest);
    Some(out)
}

/// The state of a device that has no conversations yet.
pub fn seal_new(device: &Device) -> Option<Vec<u8>> {
    seal(device, &Saved::default())
}

/// Jobs waiting to run, and whether a run is under way.
#[derive(Default)]
pub struct Queue {
    pub jobs: VecDeque<Job>,
    pub running: bool,
}
