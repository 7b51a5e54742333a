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

use haven_mls::{Content, Device, Digest, Link, Links, Member, Received, Shown, Transcript, Trust};
use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use haven_protocol::messaging::TrustAnchor;
use haven_protocol::messaging::{CommitInfo, ConversationSummary, Delivered, MlsBytes};
use haven_protocol::ws::{ClientFrame, Reached, ServerFrame};
use serde::{Deserialize, Serialize};

use super::inbox::{
    Attachment, Body, ConversationView, Fault, Inbox, Line, MemberView, Problem, Sending, Status,
    Title,
};

/// Something that changes the messenger's state, in the order it happened.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// A frame the server sent for this device.
    Frame { frame: ServerFrame },
    /// A frame as the server sent it, read here: the page hands messaging frames on
    /// unread, so it carries no parser for them. Becomes a [`Job::Frame`] (or nothing,
    /// if it cannot be read) before a batch runs.
    Received { text: String },
    /// Encrypt and send a message of one's own.
    Send { conversation: Id, content: Content },
    /// A message of the visit module (a [`crate::visit::bridge::FromVisit`] as JSON),
    /// which the page hands on unread: signalling to send in a visit's group, a visit's
    /// group to start, or a wish to fetch the conversations again.
    Visit { message: String },
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
    /// Devices waiting to be added to a conversation (as the server listed them), with
    /// the KeyPackages it gave out for them.
    Add {
        conversation: Id,
        devices: Vec<Id>,
        key_packages: Vec<Vec<u8>>,
    },
    /// A history archive offered to this device, fetched and opened by the page.
    Import {
        conversation: Id,
        archive: String,
        /// Who handed it over (their verified name).
        by: String,
    },
}

/// Longest history archive handed over, in entries and in bytes of JSON (the newest
/// are kept): well inside the 25 MB an encrypted upload may have.
const MAX_ARCHIVE_ENTRIES: usize = 20_000;
const MAX_ARCHIVE_BYTES: usize = 20 * 1024 * 1024;
/// KeyPackages kept waiting behind another change of the same conversation.
const MAX_QUEUED_ADDS: usize = 50;
/// Stretches lost to gaps awaited from the members at once; past this, the oldest is
/// no longer awaited.
const MAX_MISSING: usize = 16;

/// History for devices this one just added: the page encrypts it under a fresh key,
/// uploads it, and sends the key inside the conversation.
#[derive(Serialize, Deserialize)]
pub struct Handover {
    pub conversation: Id,
    pub archive: String,
}

impl std::fmt::Debug for Handover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handover")
            .field("conversation", &self.conversation)
            .finish_non_exhaustive()
    }
}

/// A history archive offered to this device: the page fetches and opens it, then
/// hands it back as [`Job::Import`].
#[derive(Serialize, Deserialize)]
pub struct Offered {
    pub conversation: Id,
    pub blob: Id,
    pub key: String,
    /// The verified name of the member who handed it over.
    pub by: String,
}

impl std::fmt::Debug for Offered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offered")
            .field("conversation", &self.conversation)
            .field("blob", &self.blob)
            .finish_non_exhaustive()
    }
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
    commit: Option<Companions>,
    #[serde(default)]
    failed: bool,
    /// The transcript link its plaintext carries, fixed at its first encryption: sent
    /// again, it is the same message to the members (arriving late, not missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<Digest>,
}

/// What goes beside a commit of this device's (see [`CommitInfo`]). Read leniently:
/// what an earlier version kept with it (who it adds and removes, since read by the
/// server from the commit itself) is dropped.
#[derive(Clone, Serialize, Deserialize)]
struct Companions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    welcome: Option<MlsBytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group_info: Option<MlsBytes>,
}

/// One decrypted message, as kept.
#[derive(Clone, Serialize, Deserialize)]
struct Logged {
    seq: u64,
    author: Member,
    content: Content,
    /// For history handed over by another member: their name. Such entries were not
    /// received by this device through MLS, and show as shared history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shared_by: Option<String>,
}

/// The id a message is created under (texts and attachments), which later changes name.
fn created_id(content: &Content) -> Option<&Id> {
    match content {
        Content::Text { id, .. } | Content::Attachment { id, .. } => Some(id),
        _ => None,
    }
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
    /// Messages the server no longer had when this device came to them (expired, or
    /// removed): they never reached it.
    #[serde(default)]
    lost: u64,
    /// The stretches lost that way (`from`, `to`), until a member hands over what they
    /// hold of them.
    #[serde(default)]
    missing: Vec<(u64, u64)>,
    /// The highest sequence number this device reported as read.
    #[serde(default)]
    read_sent: u64,
    /// A change that did not go through, until one does.
    #[serde(default, deserialize_with = "kept_problem")]
    problem: Option<Problem>,
    /// The sequence number of the commit whose Welcome let this device in.
    #[serde(default)]
    joined_at: Option<u64>,
    /// The earlier history was imported (or there was none to wait for).
    #[serde(default)]
    history_done: bool,
    /// A commit of ours added devices at this sequence number: hand them the history
    /// once everything before it is processed.
    #[serde(default)]
    handover_at: Option<u64>,
    /// KeyPackages of devices to add once the change under way has landed.
    #[serde(default)]
    queued_adds: Vec<Vec<u8>>,
    /// Whether the conversation takes in the patient's whole care team, as this device
    /// first learnt it (its own choice, for the conversation it started). Fixed from
    /// then on: the server cannot turn a conversation into a care-team one later, to
    /// have clinicians added to it.
    #[serde(default)]
    care_team: Option<bool>,
    /// The conversation's transcript links: what this device's messages name, and what
    /// it found missing or out of order in others'.
    #[serde(default)]
    links: Option<Links>,
}

/// A kept problem, or what an earlier version kept in its place (an English sentence,
/// shown now in general words in the person's language).
fn kept_problem<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Problem>, D::Error> {
    let kept = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(kept.map(|value| serde_json::from_value(value).unwrap_or(Problem::Earlier)))
}

impl Kept {
    /// The transcript links, checked from the next message on where none were kept.
    fn links(&mut self) -> &mut Links {
        let from = self.processed + 1;
        self.links.get_or_insert_with(|| Links::from(from))
    }

    /// Joined after others had talked, and nobody has handed the history over yet.
    fn history_pending(&self) -> bool {
        self.joined_at.is_some_and(|j| j > 1) && !self.history_done
    }

    /// A commit of ours that added devices landed at `seq`: they get the history (the
    /// commit that started the conversation has none to hand over).
    fn added_devices_at(&mut self, seq: u64) {
        if seq > 1 {
            self.handover_at = Some(seq);
        }
    }

    /// Waiting for history from a member: what came before it joined, or a stretch it
    /// never received.
    fn waiting_for_history(&self) -> bool {
        self.history_pending() || !self.missing.is_empty()
    }
}

/// A history handover: what was said before the newcomer joined, and whether the
/// conversation takes in the patient's whole care team.
#[derive(Deserialize)]
struct Archive {
    care_team: bool,
    /// For an answer to a [`Content::HistoryRequest`]: the stretch it answers.
    #[serde(default)]
    gap: Option<(u64, u64)>,
    entries: Vec<Logged>,
}

/// A history archive: the newest entries of `kept`'s log from `from` to `to`, as many
/// as fit, and whether the conversation takes in the patient's whole care team (which
/// so travels from a member the newcomer can authenticate, rather than from the
/// server). An answer to a history request names the stretch it answers.
fn archive_of(kept: &Kept, from: u64, to: u64, answer: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut bytes = 2;
    for logged in kept
        .log
        .iter()
        .rev()
        .filter(|l| (from..=to).contains(&l.seq))
    {
        if matches!(
            logged.content,
            Content::History { .. } | Content::HistoryRequest { .. }
        ) {
            continue;
        }
        let Ok(part) = serde_json::to_string(logged) else {
            continue;
        };
        bytes += part.len() + 1;
        if bytes > MAX_ARCHIVE_BYTES || parts.len() >= MAX_ARCHIVE_ENTRIES {
            break;
        }
        parts.push(part);
    }
    parts.reverse();
    let care_team = kept.care_team == Some(true);
    let gap = if answer {
        format!(",\"gap\":[{from},{to}]")
    } else {
        String::new()
    };
    format!(
        "{{\"care_team\":{care_team}{gap},\"entries\":[{}]}}",
        parts.join(",")
    )
}

/// An attachment as the views show it.
fn attachment(blob: &Id, key: &str, name: &str, size: u64, mime: &str) -> Body {
    Body::Attachment(Attachment {
        blob: blob.clone(),
        key: key.to_owned(),
        name: name.to_owned(),
        size,
        mime: mime.to_owned(),
    })
}

/// What the vault holds besides the MLS state.
#[derive(Default, Serialize, Deserialize)]
struct Saved {
    conversations: BTreeMap<Id, Kept>,
    outbox: Vec<Outgoing>,
    next_request: u64,
    /// One more at every seal; every `send` carries it, and the server keeps the
    /// highest with the device's state key, so a state put back (older) is not opened
    /// again: its MLS keys would encrypt other plaintexts a second time.
    #[serde(default)]
    version: u64,
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
    /// How far each other person received each conversation, as the server last said.
    delivered: BTreeMap<Id, Vec<Reached>>,
    status: Status,
    handovers: Vec<Handover>,
    offered: Vec<Offered>,
    /// Stretches this batch found lost, per conversation (`from`, `to`): asked of the
    /// members in one request each once the batch has run.
    asks: BTreeMap<Id, (u64, u64)>,
    signals: Vec<Signalled>,
    /// This batch joined a conversation the page has not listed yet.
    unlisted: bool,
}

/// Visit signalling this device received in a visit's group (issue 23), for the visit's
/// page: from which device (as MLS authenticated it) and its certified role.
#[derive(Clone, Serialize, Deserialize)]
pub struct Signalled {
    pub conversation: Id,
    pub from: Id,
    pub role: Role,
    /// [`Content::Offer`], [`Content::Answer`], [`Content::Candidate`] or
    /// [`Content::EndVisit`].
    pub content: Content,
}

impl std::fmt::Debug for Signalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signalled({:?})", self.content)
    }
}

/// What a batch of jobs produced: the state to seal, then the frames to send, and
/// history to hand over or fetch.
pub struct Effects {
    /// The sealed state to save; `None` when nothing kept changed (the batch only told
    /// how far others have received) or sealing failed: see `unchanged`.
    pub state: Option<Vec<u8>>,
    /// Nothing that is kept changed: there is nothing to save.
    pub unchanged: bool,
    pub frames: Vec<ClientFrame>,
    pub handovers: Vec<Handover>,
    pub offered: Vec<Offered>,
    pub signals: Vec<Signalled>,
    /// Fetch the list of conversations again: this device joined one it does not know.
    pub refresh: bool,
}

impl Job {
    /// A received frame read into a [`Job::Frame`]; one that is not a frame the server
    /// sends is dropped, as the page used to drop it.
    fn read(self) -> Option<Job> {
        match self {
            Job::Received { text } => serde_json::from_str(&text)
                .ok()
                .map(|frame| Job::Frame { frame }),
            job => Some(job),
        }
    }
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
            delivered: BTreeMap::new(),
            status: Status::Ready,
            handovers: Vec::new(),
            offered: Vec::new(),
            asks: BTreeMap::new(),
            signals: Vec::new(),
            unlisted: false,
        })
    }

    /// The version of the state this messenger holds (see [`Saved::version`]).
    pub fn version(&self) -> u64 {
        self.saved.version
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
        let jobs: Vec<Job> = jobs.into_iter().filter_map(Job::read).collect();
        // Receipts change only what the views show, never what is kept: no need to seal
        // and save the whole state for each of them.
        let unchanged = jobs.iter().all(|j| {
            matches!(
                j,
                Job::Frame {
                    frame: ServerFrame::Receipts { .. }
                }
            )
        });
        let mut frames = Vec::new();
        let mut touched = BTreeSet::new();
        for job in jobs {
            self.job(job, &mut frames, &mut touched);
        }
        for (conversation, (from, to)) in std::mem::take(&mut self.asks) {
            self.ask_history(conversation, from, to, &mut frames);
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
        if !unchanged {
            self.saved.version += 1;
        }
        for frame in &mut frames {
            if let ClientFrame::Send { state, .. } = frame {
                *state = Some(self.saved.version);
            }
        }
        Effects {
            state: if unchanged { None } else { self.seal() },
            unchanged,
            frames,
            handovers: std::mem::take(&mut self.handovers),
            offered: std::mem::take(&mut self.offered),
            signals: std::mem::take(&mut self.signals),
            refresh: std::mem::take(&mut self.unlisted),
        }
    }

    fn job(&mut self, job: Job, frames: &mut Vec<ClientFrame>, touched: &mut BTreeSet<Id>) {
        match job {
            Job::Frame { frame } => self.frame(frame, frames, touched),
            // Read (or dropped) by `run` before any job runs.
            Job::Received { .. } => {}
            Job::Send {
                conversation,
                content,
            } => self.send(conversation, content, frames),
            Job::Visit { message } => self.visit(&message, frames),
            Job::Retry { request } => self.retry(request, frames),
            Job::Create {
                summary,
                key_packages,
            } => self.create(summary, key_packages, frames),
            Job::Summaries { list } => {
                for summary in list {
                    // Those in from the start (the creator fixed it itself) take it
                    // as first told: a server claiming a conversation of the patient
                    // alone is a care-team one gains nothing, since a patient brings
                    // nobody in. Those added later learn it with the history.
                    if let Some(kept) = self.saved.conversations.get_mut(&summary.id)
                        && kept.joined_at.is_none_or(|j| j <= 1)
                    {
                        kept.care_team.get_or_insert(summary.care_team);
                    }
                    self.summaries.insert(summary.id.clone(), summary);
                }
                self.remove_revoked(frames);
            }
            Job::Trust { anchor } => {
                if let Ok(trust) = Trust::from_anchor(&anchor) {
                    self.trust = trust;
                }
                self.remove_revoked(frames);
            }
            Job::Seen { conversation } => self.seen(conversation, frames),
            Job::Add {
                conversation,
                devices,
                key_packages,
            } => {
                let wanted = self.new_devices_of_members(&conversation, &devices, key_packages);
                self.add(&conversation, &wanted, frames);
            }
            Job::Import {
                conversation,
                archive,
                by,
            } => self.import(&conversation, &archive, &by),
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
            ServerFrame::Gap {
                conversation,
                from,
                to,
                ..
            } => {
                touched.insert(conversation.clone());
                self.gap(conversation, from, to, frames);
            }
            ServerFrame::Accepted { request, seq } => {
                self.accepted(request, seq, touched, frames);
            }
            ServerFrame::Receipts {
                conversation,
                delivered,
            } => {
                self.delivered.insert(conversation, delivered);
            }
            ServerFrame::Refused {
                request,
                code,
                message,
                winner,
                ..
            } => self.refused(request, Problem::Refused { code, message }, winner, frames),
            ServerFrame::Error {
                code: code @ haven_protocol::ErrorCode::DeviceUnavailable,
                message,
            } => {
                self.status = Status::Stopped { code, message };
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
                Ok(joined) if joined == id => {
                    kept.joined_at = Some(seq);
                    kept.links().joined(seq);
                    // Added to a conversation the page has not listed yet (a visit's
                    // group, say): what it is comes with the list.
                    if !self.summaries.contains_key(&conversation) {
                        self.unlisted = true;
                    }
                }
                _ => kept.unreadable += 1,
            },
            Delivered::Application | Delivered::Commit => {
                match self
                    .device
                    .receive(id, message.as_bytes(), &self.trust, now())
                {
                    Ok(Received::Message { sender, body }) => match Content::decode_linked(&body)
                        .map(|(content, link)| {
                            let digest = Digest::of(&body);
                            kept.links()
                                .received(seq, &sender.device, digest, link.as_ref());
                            content
                        }) {
                        // History for a newcomer: taken from one's own devices and from
                        // clinicians, who answer for what they hand over.
                        Ok(Content::History { blob, key }) => {
                            if kept.waiting_for_history()
                                && (sender.user == self.me.user || sender.role == Role::Clinician)
                            {
                                self.offered.push(Offered {
                                    conversation: conversation.clone(),
                                    blob,
                                    key,
                                    by: sender.name.clone(),
                                });
                            }
                        }
                        // Another device never received a stretch: answered for one's
                        // own other devices, and by clinicians (from whom it takes
                        // history), with what this device holds of it, if it lacks
                        // none of it itself (the first answer settles the request).
                        Ok(Content::HistoryRequest { from, to }) => {
                            if (sender.user == self.me.user || self.me.role == Role::Clinician)
                                && sender.device != self.me.device
                                && !kept.history_pending()
                                && !kept.missing.iter().any(|&(a, b)| a <= to && from <= b)
                                && !kept.left
                            {
                                self.handovers.push(Handover {
                                    conversation: conversation.clone(),
                                    archive: archive_of(kept, from, to, true),
                                });
                            }
                        }
                        // Visit signalling for this device: handed to the visit's page.
                        Ok(
                            content @ (Content::Offer { .. }
                            | Content::Answer { .. }
                            | Content::Candidate { .. }
                            | Content::EndVisit {}),
                        ) => {
                            let for_me = match &content {
                                Content::Offer { to, .. }
                                | Content::Answer { to, .. }
                                | Content::Candidate { to, .. } => *to == self.me.device,
                                _ => true,
                            };
                            // A group joined a moment ago may not be listed yet: the
                            // visit's page knows its group and takes only its signalling.
                            let in_visit = self
                                .summaries
                                .get(&conversation)
                                .is_none_or(|s| s.visit.is_some());
                            if for_me && in_visit && sender.device != self.me.device {
                                self.signals.push(Signalled {
                                    conversation: conversation.clone(),
                                    from: sender.device.clone(),
                                    role: sender.role,
                                    content,
                                });
                            }
                        }
                        Ok(content) => {
                            // While the earlier history is missing, a change to a message
                            // from before is kept too, to apply once the history is in.
                            let applied = transcript.apply(seq, &sender, content.clone()).is_ok();
                            if applied || kept.history_pending() {
                                kept.log.push(Logged {
                                    seq,
                                    author: sender,
                                    content,
                                    shared_by: None,
                                });
                            }
                        }
                        Err(_) => {
                            kept.unreadable += 1;
                            kept.links().unreadable(seq);
                        }
                    },
                    Ok(Received::Committed { removed_me, .. }) => {
                        if removed_me {
                            kept.left = true;
                        }
                    }
                    Ok(Received::OwnCommitMerged { .. }) => {
                        let ours = |o: &Outgoing| o.conversation == conversation;
                        if self.saved.outbox.iter().any(|o| ours(o) && adds_devices(o)) {
                            kept.added_devices_at(seq);
                        }
                        self.saved
                            .outbox
                            .retain(|o| !(ours(o) && o.commit.is_some()));
                    }
                    Ok(Received::OwnMessage) => {
                        let found = self
                            .saved
                            .outbox
                            .iter()
                            .position(|o| o.message.as_bytes() == message.as_bytes());
                        let out = found.map(|i| self.saved.outbox.remove(i));
                        if let Some(digest) = out.as_ref().and_then(|o| o.digest.clone()) {
                            kept.links().accepted(seq, digest);
                        }
                        if let Some(out) = out
                            && let Some(content) = out.content
                            && transcript.apply(seq, &self.me, content.clone()).is_ok()
                        {
                            kept.log.push(Logged {
                                seq,
                                author: self.me.clone(),
                                content,
                                shared_by: None,
                            });
                        }
                    }
                    // A message this device cannot read (a duplicate of one already
                    // read, or tampered): counted, never shown as content.
                    Err(_) => {
                        kept.unreadable += 1;
                        kept.links().unreadable(seq);
                    }
                }
            }
        }
        self.after_delivery(&conversation, seq, frames);
    }

    /// What the visit module asked for. Only signalling is sent, and only in a group that
    /// is a visit's (or one joined a moment ago, not listed yet); only a visit's group
    /// the server made for this person is started.
    fn visit(&mut self, message: &str, frames: &mut Vec<ClientFrame>) {
        use crate::visit::bridge::FromVisit;
        match serde_json::from_str::<FromVisit>(message) {
            Ok(FromVisit::Send {
                conversation,
                content,
            }) => {
                let known_other = self
                    .summaries
                    .get(&conversation)
                    .is_some_and(|s| s.visit.is_none());
                if let Ok(
                    content @ (Content::Offer { .. }
                    | Content::Answer { .. }
                    | Content::Candidate { .. }
                    | Content::EndVisit {}),
                ) = Content::decode(content.as_bytes())
                    && !known_other
                {
                    self.send(conversation, content, frames);
                }
            }
            Ok(FromVisit::Opened { summary }) => {
                if summary.visit.is_some() && summary.created_by == self.me.user {
                    self.create(summary, Vec::new(), frames);
                }
            }
            Ok(FromVisit::Refresh) => self.unlisted = true,
            Err(_) => {}
        }
    }

    /// Messages `from..=to` were gone before this device received them: counted, asked
    /// of the members once the batch has run, and passed over like a delivery, so that
    /// what follows comes and the server hears it was processed.
    fn gap(&mut self, conversation: Id, from: u64, to: u64, frames: &mut Vec<ClientFrame>) {
        let kept = self
            .saved
            .conversations
            .entry(conversation.clone())
            .or_default();
        if to <= kept.processed || from > to {
            return; // passed already
        }
        let from = from.max(kept.processed + 1);
        kept.links().gap(from, to);
        // This device's own messages there were accepted and kept, not lost.
        let own = kept.own.range(from..=to).count() as u64;
        kept.own.retain(|s| *s > to);
        kept.lost = kept
            .lost
            .saturating_add((to - from + 1).saturating_sub(own));
        match kept.missing.last_mut() {
            Some(last) if last.1.saturating_add(1) >= from => last.1 = last.1.max(to),
            _ => kept.missing.push((from, to)),
        }
        let excess = kept.missing.len().saturating_sub(MAX_MISSING);
        kept.missing.drain(..excess);
        self.asks
            .entry(conversation.clone())
            .and_modify(|ask| ask.1 = to)
            .or_insert((from, to));
        self.after_delivery(&conversation, to, frames);
    }

    /// Asks the members for a stretch this device never received; only while it holds
    /// the conversation's keys (before it joined there is nobody it could ask).
    fn ask_history(&mut self, conversation: Id, from: u64, to: u64, frames: &mut Vec<ClientFrame>) {
        let joined = self.device.epoch(conversation.as_str().as_bytes()).is_ok();
        let left = self
            .saved
            .conversations
            .get(&conversation)
            .is_none_or(|k| k.left);
        if joined && !left {
            self.send(conversation, Content::HistoryRequest { from, to }, frames);
        }
    }

    /// Everything up to `seq` is processed: move on, and rebuild a change of ours that
    /// was waiting for the commit that beat it.
    fn after_delivery(&mut self, conversation: &Id, seq: u64, frames: &mut Vec<ClientFrame>) {
        let Some(kept) = self.saved.conversations.get_mut(conversation) else {
            return;
        };
        kept.processed = seq;
        while kept.own.remove(&(kept.processed + 1)) {
            kept.processed += 1;
        }
        if kept.retry_after.is_some_and(|w| kept.processed >= w) {
            kept.retry_after = None;
            self.rebuild(conversation, frames);
        }
        self.settle(conversation, frames);
    }

    /// What waits for a change to land: the history for devices this one added, and
    /// devices to add that queued behind the change.
    fn settle(&mut self, conversation: &Id, frames: &mut Vec<ClientFrame>) {
        self.hand_over(conversation);
        let key = conversation.as_str().as_bytes();
        if self.device.has_intent(key).unwrap_or(true) {
            return;
        }
        let queued = match self.saved.conversations.get_mut(conversation) {
            Some(kept) => std::mem::take(&mut kept.queued_adds),
            None => return,
        };
        if !queued.is_empty() {
            self.add(conversation, &queued, frames);
        }
    }

    /// Hands the history to devices this one added, once everything before the commit
    /// that added them is processed (so nothing in between is missing) and this device's
    /// own history is complete. An empty history is handed over too: it tells the
    /// newcomers there is nothing to wait for.
    fn hand_over(&mut self, conversation: &Id) {
        let Some(kept) = self.saved.conversations.get_mut(conversation) else {
            return;
        };
        let Some(at) = kept.handover_at else { return };
        if kept.processed < at || kept.history_pending() {
            return;
        }
        kept.handover_at = None;
        // Everything before the commit.
        let archive = archive_of(kept, 0, at.saturating_sub(1), false);
        self.handovers.push(Handover {
            conversation: conversation.clone(),
            archive,
        });
    }

    /// Takes the history a member handed over: what was said before this device joined,
    /// shown as shared by them. What this device received itself always stays, and
    /// history entries that would collide with it are left out.
    fn import(&mut self, conversation: &Id, archive: &str, by: &str) {
        let Some(kept) = self.saved.conversations.get_mut(conversation) else {
            return;
        };
        if !kept.waiting_for_history() {
            return;
        }
        let Ok(Archive {
            care_team,
            gap,
            entries,
        }) = serde_json::from_str::<Archive>(archive)
        else {
            kept.problem = Some(Problem::History);
            return;
        };
        if let Some(stretch) = gap {
            self.fill(conversation, stretch, entries, by);
            return;
        }
        let Some(joined) = kept.joined_at.filter(|_| kept.history_pending()) else {
            return;
        };
        kept.care_team = Some(care_team);
        let received: BTreeSet<Id> = kept
            .log
            .iter()
            .filter_map(|l| created_id(&l.content).cloned())
            .collect();
        let mut shared: Vec<Logged> = entries
            .into_iter()
            .filter(|l| l.seq < joined && l.content.encode().is_ok())
            .filter(|l| {
                !matches!(
                    l.content,
                    Content::History { .. } | Content::HistoryRequest { .. }
                )
            })
            .filter(|l| created_id(&l.content).is_none_or(|id| !received.contains(id)))
            .take(MAX_ARCHIVE_ENTRIES)
            .map(|mut l| {
                l.shared_by = Some(by.to_owned());
                l
            })
            .collect();
        shared.sort_by_key(|l| l.seq);
        shared.dedup_by_key(|l| l.seq);
        let mut transcript = Transcript::default();
        for l in shared.iter().chain(kept.log.iter()) {
            let _ = transcript.apply(l.seq, &l.author, l.content.clone());
        }
        shared.append(&mut kept.log);
        kept.log = shared;
        kept.history_done = true;
        self.transcripts.insert(conversation.clone(), transcript);
        // A handover of ours may have waited for this.
        self.hand_over(conversation);
    }

    /// Takes a member's answer to this device's history request: of the stretches this
    /// device never received, what the answer holds, shown as shared by them. The
    /// stretches it answers are settled, whatever it held of them (what expired may be
    /// gone from every member too).
    fn fill(&mut self, conversation: &Id, (from, to): (u64, u64), entries: Vec<Logged>, by: &str) {
        let Some(kept) = self.saved.conversations.get_mut(conversation) else {
            return;
        };
        let have: BTreeSet<u64> = kept.log.iter().map(|l| l.seq).collect();
        let received: BTreeSet<Id> = kept
            .log
            .iter()
            .filter_map(|l| created_id(&l.content).cloned())
            .collect();
        let lacking = |seq: u64| {
            from <= seq
                && seq <= to
                && !have.contains(&seq)
                && kept.missing.iter().any(|&(a, b)| a <= seq && seq <= b)
        };
        let mut shared: Vec<Logged> = entries
            .into_iter()
            .filter(|l| lacking(l.seq) && l.content.encode().is_ok())
            .filter(|l| {
                !matches!(
                    l.content,
                    Content::History { .. } | Content::HistoryRequest { .. }
                )
            })
            .filter(|l| created_id(&l.content).is_none_or(|id| !received.contains(id)))
            .take(MAX_ARCHIVE_ENTRIES)
            .map(|mut l| {
                l.shared_by = Some(by.to_owned());
                l
            })
            .collect();
        shared.sort_by_key(|l| l.seq);
        shared.dedup_by_key(|l| l.seq);
        kept.missing.retain(|&(a, b)| a < from || b > to);
        if shared.is_empty() {
            return;
        }
        kept.log.append(&mut shared);
        // In the conversation's order, so a change applies after what it changes.
        kept.log.sort_by_key(|l| l.seq);
        let mut transcript = Transcript::default();
        for l in &kept.log {
            let _ = transcript.apply(l.seq, &l.author, l.content.clone());
        }
        self.transcripts.insert(conversation.clone(), transcript);
    }

    /// Of the KeyPackages the server handed out, those for the devices asked for that
    /// belong to people already in the conversation: a server cannot slip someone new in
    /// (with the history that follows) by answering a claim with their KeyPackage.
    fn new_devices_of_members(
        &self,
        conversation: &Id,
        devices: &[Id],
        key_packages: Vec<Vec<u8>>,
    ) -> Vec<Vec<u8>> {
        let key = conversation.as_str().as_bytes();
        let Ok(members) = self.device.members(key, &self.trust) else {
            return Vec::new();
        };
        let users: BTreeSet<Id> = members.into_iter().map(|(m, _)| m.user).collect();
        // In a care-team conversation a clinician also brings in the clinicians the
        // server lists as joining the care team; the members list shows each of them
        // with their certified name and role.
        let team_grows = self.me.role == Role::Clinician
            && self
                .saved
                .conversations
                .get(conversation)
                .is_some_and(|k| k.care_team == Some(true));
        // A visit's clinician brings in the visit's patient's device that the server
        // lists as admitted (the server adds it to no group before admission).
        let visit_patient = self
            .summaries
            .get(conversation)
            .filter(|s| s.visit.is_some() && self.me.role == Role::Clinician)
            .map(|s| s.patient.clone());
        self.certified_for(key_packages, |body| {
            let welcome = users.contains(&body.user)
                || (team_grows && body.role == Role::Clinician)
                || visit_patient.as_ref() == Some(&body.user);
            welcome && devices.contains(&body.device)
        })
    }

    /// The KeyPackages whose certificate checks out and whose holder `belongs`.
    fn certified_for(
        &self,
        key_packages: Vec<Vec<u8>>,
        belongs: impl Fn(&haven_mls::CertificateBody) -> bool,
    ) -> Vec<Vec<u8>> {
        key_packages
            .into_iter()
            .filter(|bytes| {
                haven_mls::wire::check_key_package(bytes, &self.trust, now())
                    .is_ok_and(|p| belongs(p.certificate.body()))
            })
            .collect()
    }

    /// Adds devices waiting to join a conversation this device is in.
    fn add(&mut self, conversation: &Id, key_packages: &[Vec<u8>], frames: &mut Vec<ClientFrame>) {
        let key = conversation.as_str().as_bytes();
        if key_packages.is_empty() {
            return;
        }
        match self.device.has_intent(key) {
            Ok(false) => {}
            // Behind the change under way: added once it lands.
            Ok(true) => {
                if let Some(kept) = self.saved.conversations.get_mut(conversation) {
                    kept.queued_adds.extend(key_packages.iter().cloned());
                    let excess = kept.queued_adds.len().saturating_sub(MAX_QUEUED_ADDS);
                    kept.queued_adds.drain(..excess);
                }
                return;
            }
            Err(_) => return,
        }
        match self.device.add(key, key_packages, &self.trust, now()) {
            Ok(commit) => self.queue_commit(conversation, commit, frames),
            // Already in (another member was quicker), or no longer allowed: nothing to do.
            Err(haven_mls::Error::NothingToDo) => {}
            Err(e) => {
                if let Some(kept) = self.saved.conversations.get_mut(conversation) {
                    kept.problem = Some(Problem::Change(Fault::from(&e)));
                }
            }
        }
    }

    fn accepted(
        &mut self,
        request: u64,
        seq: u64,
        touched: &mut BTreeSet<Id>,
        frames: &mut Vec<ClientFrame>,
    ) {
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
        let adds = adds_devices(&out);
        let kept = self
            .saved
            .conversations
            .entry(conversation.clone())
            .or_default();
        kept.problem = None;
        if let Some(digest) = out.digest.clone() {
            kept.links().accepted(seq, digest);
        }
        // A history request shows nothing and is never handed over: not kept.
        if let Some(content) = out
            .content
            .filter(|c| !matches!(c, Content::HistoryRequest { .. }))
        {
            let transcript = self.transcripts.entry(conversation.clone()).or_default();
            if transcript.apply(seq, &self.me, content.clone()).is_ok() {
                kept.log.push(Logged {
                    seq,
                    author: self.me.clone(),
                    content,
                    shared_by: None,
                });
            }
        }
        if adds {
            kept.added_devices_at(seq);
        }
        if seq == kept.processed + 1 {
            kept.processed = seq;
            while kept.own.remove(&(kept.processed + 1)) {
                kept.processed += 1;
            }
            touched.insert(conversation.clone());
        } else if seq > kept.processed {
            kept.own.insert(seq);
        }
        self.settle(&conversation, frames);
    }

    fn refused(
        &mut self,
        request: u64,
        problem: Problem,
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
        // A change: it lost its epoch to `winner`, or was refused outright (then it is
        // dropped, so what queued behind it can go).
        self.saved.outbox.remove(index);
        let _ = match winner {
            Some(_) => self.device.lost_race(&id),
            None => self.device.abandon(&id),
        };
        let kept = self
            .saved
            .conversations
            .entry(conversation.clone())
            .or_default();
        match winner {
            Some(winner) if kept.processed >= winner => self.rebuild(&conversation, frames),
            Some(winner) => kept.retry_after = Some(winner),
            None => {
                kept.problem = Some(problem);
                self.settle(&conversation, frames);
            }
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
                    kept.problem = Some(Problem::Change(Fault::from(&e)));
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
        let (Ok(message), Ok(welcome), Ok(group_info)) = (
            MlsBytes::new(commit.commit),
            commit.welcome.map(MlsBytes::new).transpose(),
            commit.group_info.map(MlsBytes::new).transpose(),
        ) else {
            return;
        };
        let out = Outgoing {
            request: self.next_request(),
            conversation: conversation.clone(),
            message,
            content: None,
            commit: Some(Companions {
                welcome,
                group_info,
            }),
            failed: false,
            link: None,
            digest: None,
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
            link: None,
            digest: None,
        };
        if self.encrypt(&mut out) {
            frames.push(send_frame(&out));
        }
        self.saved.outbox.push(out);
    }

    /// Encrypts `out`'s content on the conversation's current epoch; `false` (and the
    /// message stays failed) if that cannot be done.
    fn encrypt(&mut self, out: &mut Outgoing) -> bool {
        let kept = self
            .saved
            .conversations
            .entry(out.conversation.clone())
            .or_default();
        let link = match &out.link {
            Some(link) => link.clone(),
            None => kept.links().next(),
        };
        let Some(bytes) = out
            .content
            .as_ref()
            .and_then(|c| c.encode_linked(&link).ok())
        else {
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
                let digest = Digest::of(&bytes);
                if out.link.is_none() {
                    kept.links().sent(digest.clone());
                }
                out.link = Some(link);
                out.digest = Some(digest);
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
        key_packages: Vec<Vec<u8>>,
        frames: &mut Vec<ClientFrame>,
    ) {
        let conversation = summary.id.clone();
        let (patient, care_team) = (summary.patient.clone(), summary.care_team);
        let summary_is_visit = summary.visit.is_some();
        self.summaries.insert(conversation.clone(), summary);
        let id = conversation.as_str().as_bytes();
        self.saved
            .conversations
            .entry(conversation.clone())
            .or_default()
            .care_team = Some(care_team);
        if self.device.create(id).is_err() {
            return;
        }
        // Only who belongs: the patient, one's own other browsers, and in a care-team
        // conversation clinicians (whatever else a server might have handed out).
        let key_packages = self.certified_for(key_packages, |body| {
            body.user == patient
                || body.user == self.me.user
                || (care_team && body.role == Role::Clinician)
        });
        // A visit's group starts with the clinician alone: the others come when admitted.
        if key_packages.is_empty() && summary_is_visit {
            return;
        }
        match self.device.add(id, &key_packages, &self.trust, now()) {
            Ok(commit) => self.queue_commit(&conversation, commit, frames),
            Err(e) => {
                if let Some(kept) = self.saved.conversations.get_mut(&conversation) {
                    kept.problem = Some(Problem::Change(Fault::from(&e)));
                }
            }
        }
    }

    /// Commits the removal of every revoked device still in a conversation this device
    /// is in (until then, the members see "removal pending"). Every member device online
    /// tries; the first commit wins and the others find nothing left to do.
    fn remove_revoked(&mut self, frames: &mut Vec<ClientFrame>) {
        let ids: Vec<Id> = self
            .saved
            .conversations
            .iter()
            .filter(|(_, kept)| !kept.left)
            .map(|(id, _)| id.clone())
            .collect();
        for conversation in ids {
            let key = conversation.as_str().as_bytes();
            // A change of ours is already on its way (its retry leaves out what is done).
            if self.device.has_intent(key).unwrap_or(true) {
                continue;
            }
            let Ok(members) = self.device.members(key, &self.trust) else {
                continue;
            };
            // And in a visit's group, for its clinician, the devices the server lists as
            // no longer in the visit (declined, gone, replaced): their keys end here.
            let leaving: Vec<Id> = self
                .summaries
                .get(&conversation)
                .filter(|s| s.visit.is_some() && self.me.role == Role::Clinician)
                .map(|s| s.leaving.clone())
                .unwrap_or_default();
            let revoked: Vec<Id> = members
                .into_iter()
                .map(|(m, _)| m.device)
                .filter(|d| {
                    *d != self.me.device && (self.trust.revoked.contains(d) || leaving.contains(d))
                })
                .collect();
            if revoked.is_empty() {
                continue;
            }
            match self.device.remove(key, &revoked, &self.trust) {
                Ok(commit) => self.queue_commit(&conversation, commit, frames),
                Err(e) => {
                    if let Some(kept) = self.saved.conversations.get_mut(&conversation) {
                        kept.problem = Some(Problem::Change(Fault::from(&e)));
                    }
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
        // The server records the read for the audit log; the others' read mark
        // travels encrypted.
        frames.push(ClientFrame::Read {
            conversation: conversation.clone(),
            seq: newest,
        });
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
                        device: m.device,
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
        // Delivered once it reached every other person (one device of theirs is enough).
        let delivered_to_all = self
            .delivered
            .get(id)
            .and_then(|list| list.iter().map(|r| r.seq).min())
            .unwrap_or(0);
        let shared: BTreeMap<&Id, &str> = kept
            .log
            .iter()
            .filter_map(|l| Some((created_id(&l.content)?, l.shared_by.as_deref()?)))
            .collect();
        let mut lines: Vec<Line> = transcript
            .entries()
            .iter()
            .map(|e| {
                let mine = e.author.user == self.me.user;
                Line {
                    shared_by: shared.get(&e.id).map(|by| (*by).to_owned()),
                    id: e.id.clone(),
                    seq: Some(e.seq),
                    author: e.author.name.clone(),
                    role: e.author.role,
                    mine,
                    body: match &e.shown {
                        Shown::Text(text) => Body::Text(text.clone()),
                        Shown::Attachment {
                            blob,
                            key,
                            name,
                            size,
                            mime,
                        } => attachment(blob, key, name, *size, mime),
                        Shown::Deleted => Body::Deleted,
                    },
                    edited: e.edited,
                    state: mine.then_some(if others_read >= e.seq {
                        Sending::Read
                    } else if delivered_to_all >= e.seq {
                        Sending::Delivered
                    } else {
                        Sending::Sent
                    }),
                    request: None,
                }
            })
            .collect();
        lines.sort_by_key(|l| l.seq);
        for out in self.saved.outbox.iter().filter(|o| &o.conversation == id) {
            let (id, body) = match &out.content {
                Some(Content::Text { id, body }) => (id, Body::Text(body.clone())),
                Some(Content::Attachment {
                    id,
                    blob,
                    key,
                    name,
                    size,
                    mime,
                }) => (id, attachment(blob, key, name, *size, mime)),
                _ => continue,
            };
            lines.push(Line {
                shared_by: None,
                id: id.clone(),
                seq: None,
                author: self.me.name.clone(),
                role: self.me.role,
                mine: true,
                body,
                edited: false,
                state: Some(if out.failed {
                    Sending::Failed
                } else {
                    Sending::Sending
                }),
                request: Some(out.request),
            });
        }
        let last_seq = self.summaries.get(id).map_or(0, |s| s.last_seq);
        ConversationView {
            id: id.clone(),
            title,
            joined,
            left: kept.left || self.summaries.get(id).is_some_and(|s| s.left),
            catching_up: last_seq > kept.processed,
            history_pending: kept.waiting_for_history(),
            care_team: kept.care_team == Some(true),
            unread: transcript.unread_for(&self.me.user),
            lines,
            members,
            code: self.device.verification_code(key).ok(),
            unreadable: kept.unreadable,
            lost: kept.lost,
            missing: kept.links.as_ref().map_or(0, Links::missing),
            reordered: kept.links.as_ref().map_or(0, Links::reordered),
            problem: kept.problem,
            visit: self.summaries.get(id).and_then(|s| s.visit.clone()),
        }
    }

    pub fn status(&self) -> &Status {
        &self.status
    }
}

fn title(me: Role, members: &[MemberView]) -> Title {
    if me == Role::Patient {
        return Title::CareTeam;
    }
    members
        .iter()
        .find(|m| m.role == Role::Patient)
        .map_or(Title::Unnamed, |m| Title::Patient(m.name.clone()))
}

/// Whether `out` is a change that adds devices.
fn adds_devices(out: &Outgoing) -> bool {
    out.commit.as_ref().is_some_and(|c| c.welcome.is_some())
}

fn send_frame(out: &Outgoing) -> ClientFrame {
    ClientFrame::Send {
        request: out.request,
        conversation: out.conversation.clone(),
        message: out.message.clone(),
        commit: out.commit.as_ref().map(|c| CommitInfo {
            welcome: c.welcome.clone(),
            group_info: c.group_info.clone(),
        }),
        state: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use haven_mls::{CertificateBody, Issuer};
    use haven_protocol::ws::GapReason;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// A clinician's certified device, as the worker holds it.
    fn clinician() -> Messenger {
        member(3, 2, Role::Clinician, "Dr. Test")
    }

    /// Device `device_id` of user `user` (the bytes of their ids), certified by the one
    /// test organisation, as the worker holds it.
    fn member(device_id: u8, user: u8, role: Role, name: &str) -> Messenger {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let organisation = Id::from_bytes([1; 16]);
        let trust = Trust::new(organisation.clone(), key.verifying_key());
        let mut device = Device::new().unwrap();
        let id = Id::from_bytes([device_id; 16]);
        let body = CertificateBody {
            organisation,
            user: Id::from_bytes([user; 16]),
            role,
            name: name.into(),
            device: id.clone(),
            signature_key: haven_protocol::messaging::to_hex(device.signature_key()),
            not_before: 0,
            not_after: u64::MAX,
        };
        let certificate = Issuer::new(key).issue(body).unwrap();
        device
            .certify(certificate.encoded(), &trust, now())
            .unwrap();
        Messenger::new(id, device, trust, None).unwrap()
    }

    fn summary(id: &Id, care_team: bool) -> ConversationSummary {
        ConversationSummary {
            id: id.clone(),
            patient: Id::from_bytes([9; 16]),
            created_by: Id::from_bytes([8; 16]),
            created_at: 1,
            last_seq: 0,
            acked_seq: 0,
            left: false,
            care_team,
            waiting: Vec::new(),
            visit: None,
            leaving: Vec::new(),
        }
    }

    fn care_team(m: &Messenger, id: &Id) -> bool {
        m.inbox()
            .conversations
            .iter()
            .find(|c| &c.id == id)
            .unwrap()
            .care_team
    }

    #[wasm_bindgen_test]
    fn whether_a_conversation_takes_in_the_care_team_is_never_the_servers_later_word() {
        let mut m = clinician();
        let (from_start, added_later) = (Id::from_bytes([4; 16]), Id::from_bytes([5; 16]));
        for (id, joined) in [(&from_start, 1), (&added_later, 5)] {
            m.saved.conversations.insert(
                id.clone(),
                Kept {
                    joined_at: Some(joined),
                    ..Kept::default()
                },
            );
        }
        // In from the start: as first told, and fixed from then on.
        m.run(vec![Job::Summaries {
            list: vec![summary(&from_start, false), summary(&added_later, true)],
        }]);
        m.run(vec![Job::Summaries {
            list: vec![summary(&from_start, true), summary(&added_later, true)],
        }]);
        assert!(!care_team(&m, &from_start));
        // Added later: not from the server at all, but from the history a member hands
        // over.
        assert!(!care_team(&m, &added_later));
        m.run(vec![Job::Import {
            conversation: added_later.clone(),
            archive: r#"{"care_team":true,"entries":[]}"#.to_owned(),
            by: "Dr. Other".to_owned(),
        }]);
        assert!(care_team(&m, &added_later));
        // Receipts change nothing that is kept: nothing to seal and save for them.
        let receipts = m.run(vec![Job::Frame {
            frame: ServerFrame::Receipts {
                conversation: added_later.clone(),
                delivered: Vec::new(),
            },
        }]);
        assert!(receipts.unchanged && receipts.state.is_none());
        let summaries = m.run(vec![Job::Summaries { list: Vec::new() }]);
        assert!(!summaries.unchanged && summaries.state.is_some());
        // An archive in the old shape is refused, and says so.
        let mut m = clinician();
        m.saved.conversations.insert(
            added_later.clone(),
            Kept {
                joined_at: Some(5),
                ..Kept::default()
            },
        );
        m.run(vec![Job::Import {
            conversation: added_later.clone(),
            archive: "[]".to_owned(),
            by: "Dr. Other".to_owned(),
        }]);
        let view = m.inbox();
        let c = view
            .conversations
            .iter()
            .find(|c| c.id == added_later)
            .unwrap();
        assert!(!c.care_team);
        assert!(c.history_pending);
        assert_eq!(c.problem, Some(Problem::History));
    }

    #[wasm_bindgen_test]
    fn problems_are_kept_as_codes_and_earlier_sentences_still_read() {
        for problem in [
            Problem::History,
            Problem::Change(Fault::OutOfStep),
            Problem::Refused {
                code: haven_protocol::ErrorCode::Forbidden,
                message: "No.".to_owned(),
            },
        ] {
            let kept = Kept {
                problem: Some(problem.clone()),
                ..Kept::default()
            };
            let back: Kept = serde_json::from_slice(&serde_json::to_vec(&kept).unwrap()).unwrap();
            assert_eq!(back.problem, Some(problem));
        }
        // An earlier version kept the English sentence itself.
        let earlier: Kept = serde_json::from_str(
            r#"{"processed":3,"log":[],"problem":"this device has a change waiting for the server's answer"}"#,
        )
        .unwrap();
        assert_eq!(earlier.problem, Some(Problem::Earlier));
        let none: Kept =
            serde_json::from_str(r#"{"processed":3,"log":[],"problem":null}"#).unwrap();
        assert_eq!(none.problem, None);
        let absent: Kept = serde_json::from_str(r#"{"processed":3,"log":[]}"#).unwrap();
        assert_eq!(absent.problem, None);
    }

    fn view(m: &Messenger, id: &Id) -> ConversationView {
        m.inbox()
            .conversations
            .into_iter()
            .find(|c| &c.id == id)
            .unwrap()
    }

    fn gap(conversation: &Id, from: u64, to: u64) -> Job {
        Job::Frame {
            frame: ServerFrame::Gap {
                conversation: conversation.clone(),
                from,
                to,
                reason: GapReason::Expired,
            },
        }
    }

    fn deliver(conversation: &Id, seq: u64, sender: &Id, message: Vec<u8>) -> Job {
        Job::Frame {
            frame: ServerFrame::Deliver {
                conversation: conversation.clone(),
                seq,
                kind: Delivered::Application,
                sender: sender.clone(),
                message: MlsBytes::new(message).unwrap(),
            },
        }
    }

    fn ack(conversation: &Id, seq: u64) -> ClientFrame {
        ClientFrame::Ack {
            conversation: conversation.clone(),
            seq,
        }
    }

    fn sends(frames: &[ClientFrame]) -> Vec<&MlsBytes> {
        frames
            .iter()
            .filter_map(|f| match f {
                ClientFrame::Send { message, .. } => Some(message),
                _ => None,
            })
            .collect()
    }

    /// A conversation this device is in from its start (by itself, in MLS).
    fn in_from_the_start(m: &mut Messenger, id: &Id, processed: u64) {
        m.device.create(id.as_str().as_bytes()).unwrap();
        m.saved.conversations.insert(
            id.clone(),
            Kept {
                processed,
                joined_at: Some(1),
                ..Kept::default()
            },
        );
    }

    #[wasm_bindgen_test]
    fn a_gap_is_passed_over_acknowledged_counted_and_asked_of_the_members() {
        let mut m = clinician();
        let c = Id::from_bytes([4; 16]);
        in_from_the_start(&mut m, &c, 2);
        // Messages of this device's own were accepted at 5 (inside the gap) and 9 (just
        // after it).
        if let Some(kept) = m.saved.conversations.get_mut(&c) {
            kept.own = BTreeSet::from([5, 9]);
        }
        let effects = m.run(vec![gap(&c, 3, 8)]);
        // Past the gap and the own message after it, and the server hears so.
        assert!(effects.frames.contains(&ack(&c, 9)), "{:?}", effects.frames);
        assert!(!effects.unchanged && effects.state.is_some());
        // Six gone, one of them this device's own: five never reached it.
        let shown = view(&m, &c);
        assert_eq!(shown.lost, 5);
        assert!(shown.history_pending);
        // One request for the stretch, encrypted into the conversation.
        assert_eq!(sends(&effects.frames).len(), 1);
        assert!(
            m.saved
                .outbox
                .iter()
                .any(|o| o.content == Some(Content::HistoryRequest { from: 3, to: 8 }))
        );
        // Kept with the conversation; what an earlier version kept loads with none lost.
        let kept = serde_json::to_vec(&m.saved.conversations[&c]).unwrap();
        let back: Kept = serde_json::from_slice(&kept).unwrap();
        assert_eq!((back.lost, back.missing), (5, vec![(3, 8)]));
        let earlier: Kept = serde_json::from_str(r#"{"processed":3,"log":[]}"#).unwrap();
        assert_eq!((earlier.lost, earlier.missing), (0, Vec::new()));
        // The same gap again (after a reconnect) is passed already: nothing more is lost
        // or asked.
        let again = m.run(vec![gap(&c, 3, 8)]);
        assert!(sends(&again.frames).is_empty());
        assert_eq!(view(&m, &c).lost, 5);
        assert_eq!(m.saved.conversations[&c].processed, 9);
    }

    #[wasm_bindgen_test]
    fn after_a_gap_a_delivery_at_or_below_it_is_dropped_and_later_ones_come() {
        let mut m = clinician();
        let c = Id::from_bytes([4; 16]);
        in_from_the_start(&mut m, &c, 2);
        m.run(vec![gap(&c, 3, 8)]);
        let someone = Id::from_bytes([6; 16]);
        // What the gap passed over, delivered late: dropped unread (read, it would count
        // as a message that could not be verified).
        let late = m.run(vec![
            deliver(&c, 5, &someone, vec![1, 2, 3]),
            deliver(&c, 8, &someone, vec![1, 2, 3]),
        ]);
        assert!(late.frames.contains(&ack(&c, 8)));
        assert_eq!(view(&m, &c).unreadable, 0);
        assert_eq!(m.saved.conversations[&c].processed, 8);
        // What follows the gap is processed (this one cannot be read, and says so).
        let next = m.run(vec![deliver(&c, 9, &someone, vec![1, 2, 3])]);
        assert!(next.frames.contains(&ack(&c, 9)));
        assert_eq!(view(&m, &c).unreadable, 1);
    }

    #[wasm_bindgen_test]
    fn a_clinician_answers_a_history_request_and_the_gap_fills_from_the_answer() {
        let mut doctor = clinician();
        let mut patient = member(6, 5, Role::Patient, "Pat");
        let c = Id::from_bytes([4; 16]);
        let key = c.as_str().as_bytes();
        // Both in the conversation from its start.
        doctor.device.create(key).unwrap();
        let package = patient.device.key_packages(1).unwrap().remove(0);
        let commit = doctor
            .device
            .add(key, &[package], &doctor.trust, now())
            .unwrap();
        doctor.device.confirm(key).unwrap();
        patient
            .device
            .join(commit.welcome.as_deref().unwrap(), &patient.trust, now())
            .unwrap();
        patient.saved.conversations.insert(
            c.clone(),
            Kept {
                processed: 2,
                joined_at: Some(1),
                ..Kept::default()
            },
        );
        // The doctor's device has what the patient's never received.
        let me = doctor.me.clone();
        let text = |n: u8, body: &str| Logged {
            seq: u64::from(n),
            author: me.clone(),
            content: Content::Text {
                id: Id::from_bytes([n; 16]),
                body: body.to_owned(),
            },
            shared_by: None,
        };
        doctor.saved.conversations.insert(
            c.clone(),
            Kept {
                processed: 4,
                joined_at: Some(1),
                log: vec![text(3, "Take 2 a day"), text(4, "Call if it hurts")],
                ..Kept::default()
            },
        );
        let asked = patient.run(vec![gap(&c, 3, 4)]);
        let request = sends(&asked.frames)[0].clone();
        // Accepted at 5: the request is not kept as something said.
        let number = patient.saved.outbox[0].request;
        patient.run(vec![Job::Frame {
            frame: ServerFrame::Accepted {
                request: number,
                seq: 5,
            },
        }]);
        assert!(patient.saved.outbox.is_empty());
        assert!(patient.saved.conversations[&c].log.is_empty());
        // The doctor's device answers with what it holds of the stretch.
        let answered = doctor.run(vec![deliver(
            &c,
            5,
            &patient.device_id,
            request.into_bytes(),
        )]);
        assert_eq!(answered.handovers.len(), 1);
        let archive = answered.handovers[0].archive.clone();
        assert!(archive.contains(r#""gap":[3,4]"#), "{archive}");
        // A patient's device does not answer someone else's request.
        let theirs = Content::HistoryRequest { from: 1, to: 2 }.encode().unwrap();
        let theirs = doctor.device.send(key, &theirs).unwrap();
        let ignored = patient.run(vec![deliver(&c, 6, &doctor.device_id, theirs)]);
        assert!(ignored.handovers.is_empty());
        // The answer's key, from a clinician: offered to the patient's device.
        let history = Content::History {
            blob: Id::from_bytes([40; 16]),
            key: "ab".repeat(32),
        };
        let history = doctor.device.send(key, &history.encode().unwrap()).unwrap();
        let offered = patient.run(vec![deliver(&c, 7, &doctor.device_id, history)]);
        assert_eq!(offered.offered.len(), 1);
        assert_eq!(offered.offered[0].by, "Dr. Test");
        // Opened, it fills the gap, shown as shared by the doctor.
        patient.run(vec![Job::Import {
            conversation: c.clone(),
            archive,
            by: "Dr. Test".to_owned(),
        }]);
        let shown = view(&patient, &c);
        let lines: Vec<(Option<u64>, &Body, Option<&str>)> = shown
            .lines
            .iter()
            .map(|l| (l.seq, &l.body, l.shared_by.as_deref()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (
                    Some(3),
                    &Body::Text("Take 2 a day".to_owned()),
                    Some("Dr. Test")
                ),
                (
                    Some(4),
                    &Body::Text("Call if it hurts".to_owned()),
                    Some("Dr. Test")
                ),
            ]
        );
        assert!(!shown.history_pending);
        assert_eq!(shown.lost, 2);
    }

    #[wasm_bindgen_test]
    fn a_message_the_server_leaves_out_or_delivers_late_is_noticed() {
        let mut doctor = clinician();
        let mut phone = member(6, 5, Role::Patient, "Pat");
        let mut laptop = member(7, 5, Role::Patient, "Pat");
        let c = Id::from_bytes([4; 16]);
        let key = c.as_str().as_bytes();
        // All three in the conversation from its start.
        doctor.device.create(key).unwrap();
        let packages = vec![
            phone.device.key_packages(1).unwrap().remove(0),
            laptop.device.key_packages(1).unwrap().remove(0),
        ];
        let commit = doctor
            .device
            .add(key, &packages, &doctor.trust, now())
            .unwrap();
        doctor.device.confirm(key).unwrap();
        for m in [&mut doctor, &mut phone, &mut laptop] {
            if m.device_id != Id::from_bytes([3; 16]) {
                m.device
                    .join(commit.welcome.as_deref().unwrap(), &m.trust, now())
                    .unwrap();
            }
            m.saved.conversations.insert(
                c.clone(),
                Kept {
                    processed: 2,
                    joined_at: Some(1),
                    ..Kept::default()
                },
            );
        }
        // The doctor writes three; the second is refused (a quota), then sent again.
        let mut sent = Vec::new();
        for (n, body) in [
            (1u8, "Take 2 a day"),
            (2, "With food"),
            (3, "Call if it hurts"),
        ] {
            let effects = doctor.run(vec![Job::Send {
                conversation: c.clone(),
                content: Content::Text {
                    id: Id::from_bytes([n; 16]),
                    body: body.to_owned(),
                },
            }]);
            sent.push(sends(&effects.frames)[0].clone().into_bytes());
        }
        let second = doctor.saved.outbox[1].request;
        let digest = doctor.saved.outbox[1].digest.clone();
        doctor.run(vec![Job::Frame {
            frame: ServerFrame::Refused {
                request: second,
                code: haven_protocol::ErrorCode::QuotaExceeded,
                message: "Later.".to_owned(),
                winner: None,
                retry_after_secs: Some(60),
            },
        }]);
        let again = doctor.run(vec![Job::Retry { request: second }]);
        let resent = sends(&again.frames)[0].clone().into_bytes();
        assert_ne!(resent, sent[1]);
        // The same plaintext, link and all: to the members, the same message.
        assert_eq!(doctor.saved.outbox.last().unwrap().digest, digest);
        // Stored in the order the server answered: the second last. The phone receives
        // it late, and says it came out of order (not missing).
        let doctor_id = doctor.device_id.clone();
        phone.run(vec![
            deliver(&c, 3, &doctor_id, sent[0].clone()),
            deliver(&c, 4, &doctor_id, sent[2].clone()),
        ]);
        assert_eq!(view(&phone, &c).missing, 1);
        phone.run(vec![deliver(&c, 5, &doctor_id, resent)]);
        let shown = view(&phone, &c);
        assert_eq!((shown.missing, shown.reordered), (0, 1));
        assert_eq!(shown.lines.len(), 3);
        // The laptop never gets the second (the server left it out): one missing.
        laptop.run(vec![
            deliver(&c, 3, &doctor_id, sent[0].clone()),
            deliver(&c, 4, &doctor_id, sent[2].clone()),
        ]);
        // What the doctor writes next links to the third: nothing more is wrong.
        let next = doctor.run(vec![Job::Send {
            conversation: c.clone(),
            content: Content::Text {
                id: Id::from_bytes([9; 16]),
                body: "See you Tuesday".to_owned(),
            },
        }]);
        let next = sends(&next.frames)[0].clone().into_bytes();
        laptop.run(vec![deliver(&c, 6, &doctor_id, next.clone())]);
        let shown = view(&laptop, &c);
        assert_eq!(
            (shown.missing, shown.reordered, shown.unreadable),
            (1, 0, 0)
        );
        assert_eq!(shown.lines.len(), 3);
        // Kept with the conversation.
        let kept: Kept =
            serde_json::from_slice(&serde_json::to_vec(&laptop.saved.conversations[&c]).unwrap())
                .unwrap();
        assert_eq!(kept.links.map(|l| l.missing()), Some(1));
    }

    #[wasm_bindgen_test]
    fn a_sealed_state_older_than_one_the_device_sent_from_is_not_opened() {
        use crate::e2ee::worker::{Failure, Reply, Request, State, handle};
        let mut m = clinician();
        let c = Id::from_bytes([4; 16]);
        in_from_the_start(&mut m, &c, 1);
        let mut sealed = Vec::new();
        for n in 1..=3u8 {
            let effects = m.run(vec![Job::Send {
                conversation: c.clone(),
                content: Content::Text {
                    id: Id::from_bytes([n; 16]),
                    body: "hello".to_owned(),
                },
            }]);
            // Each send carries the version of the state sealed with it.
            let states: Vec<Option<u64>> = effects
                .frames
                .iter()
                .filter_map(|f| match f {
                    ClientFrame::Send { state, .. } => Some(*state),
                    _ => None,
                })
                .collect();
            assert_eq!(states, vec![Some(u64::from(n))]);
            sealed.push(effects.state.unwrap());
        }
        // Receipts seal nothing, and take no version.
        m.run(vec![Job::Frame {
            frame: ServerFrame::Receipts {
                conversation: c.clone(),
                delivered: Vec::new(),
            },
        }]);
        assert_eq!(m.version(), 3);
        let anchor = TrustAnchor {
            organisation: Id::from_bytes([1; 16]),
            issuer_key: haven_protocol::messaging::to_hex(
                ed25519_dalek::SigningKey::from_bytes(&[7; 32])
                    .verifying_key()
                    .as_bytes(),
            ),
            revoked: Vec::new(),
        };
        let restore = |bytes: &Vec<u8>, floor: u64| {
            let request = Request::Restore {
                device: m.device_id.clone(),
                anchor: anchor.clone(),
                floor,
            };
            handle(&mut State::default(), request, Some(bytes.clone())).0
        };
        // The server kept 2 (the newest state's frames never reached it): the newest
        // and the one at 2 open; the first, put back, does not.
        assert!(matches!(restore(&sealed[2], 2), Reply::Ready { .. }));
        assert!(matches!(restore(&sealed[1], 2), Reply::Ready { .. }));
        assert!(matches!(
            restore(&sealed[0], 2),
            Reply::Failed {
                failure: Failure::RolledBack
            }
        ));
        // A state from before versions opens while the server kept none.
        let (device, saved) = Messenger::unseal(&sealed[0]).unwrap();
        let mut earlier: serde_json::Value = serde_json::from_slice(&saved).unwrap();
        earlier.as_object_mut().unwrap().remove("version");
        let earlier = seal(&device, &serde_json::from_value(earlier).unwrap()).unwrap();
        assert!(matches!(restore(&earlier, 0), Reply::Ready { .. }));
        assert!(matches!(restore(&earlier, 1), Reply::Failed { .. }));
    }
}
