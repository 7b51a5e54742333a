//! The group-commit writer: every message, its sequence number and its audit entry
//! become durable together, before the sender hears "accepted", and the messages that
//! arrive while one transaction commits share the next one (one fsync for many).
//!
//! Each job runs inside its own savepoint, so a refused job (a stale commit, a sender
//! who is not a member) leaves no trace while the rest of its batch commits. Jobs of a
//! batch run in arrival order, which is the order of sequence numbers.
//!
//! Trust: the sender's session was checked by the connection; everything about the
//! conversation (membership, epoch, who may be added or removed) is checked here, inside
//! the write transaction, so two concurrent commits cannot both win an epoch.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use haven_mls::public::PublicConversation;
use haven_mls::{MessageKind, Trust};
use haven_protocol::ErrorCode;
use haven_protocol::access::Role;
use haven_protocol::audit::AuditAction;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{CommitInfo, MESSAGE_RETENTION_SECS};
use sha2::{Digest as _, Sha256};
use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, Sqlite, SqliteConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::audit::{self, Event};
use crate::clock::now;
use crate::delivery::fanout::FanOut;
use crate::delivery::quota::{Charged, Exceeded, Ledger};
use crate::identity::session::Authed;
use crate::store::Pool;

/// A device of a visit's group takes part only while it is the visit's clinician's or
/// the one admitted from the waiting room (declined, gone or replaced, it is a member in
/// MLS until the clinician's device removes it, but sends nothing meanwhile).
macro_rules! in_its_visit {
    () => {
        " AND NOT EXISTS (
               SELECT 1 FROM conversations vc JOIN visits v ON v.id = vc.visit_id
               WHERE vc.id = cd.conversation_id AND v.clinician_id <> cd.user_id
                 AND NOT EXISTS (
                     SELECT 1 FROM visit_participants vp
                     WHERE vp.visit_id = v.id AND vp.device_id = cd.device_id
                       AND vp.state = 'admitted'))"
    };
}

/// Jobs one transaction takes at most.
const MAX_BATCH: usize = 512;
/// Jobs waiting before senders are slowed down.
const QUEUE: usize = 4096;

/// A message to store: already parsed, its framing read by [`haven_mls::wire::inspect`].
pub struct SendJob {
    pub authed: Authed,
    pub source: Option<IpAddr>,
    pub device: Id,
    pub conversation: Id,
    pub kind: MessageKind,
    pub epoch: u64,
    pub message: Vec<u8>,
    pub commit: Option<CommitInfo>,
    /// The version of the device's sealed state that wrote it, if the client said.
    pub state: Option<u64>,
}

pub struct AckJob {
    pub authed: Authed,
    pub device: Id,
    pub conversation: Id,
    pub seq: u64,
    /// The person read up to `seq` (an audit entry), rather than the device
    /// processed it.
    pub read: bool,
}

enum Work {
    Send(Box<SendJob>),
    Ack(Box<AckJob>),
}

/// Why a job was refused. The message is for people and names no input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: &'static str,
    pub winner: Option<u64>,
    /// The quota that refused it, with when to try again.
    pub quota: Option<Exceeded>,
}

impl Refusal {
    fn new(code: ErrorCode, message: &'static str) -> Self {
        Self {
            code,
            message,
            winner: None,
            quota: None,
        }
    }
    fn quota(exceeded: Exceeded) -> Self {
        Self {
            quota: Some(exceeded),
            ..Self::new(ErrorCode::QuotaExceeded, exceeded.message())
        }
    }
    fn not_a_member() -> Self {
        Self::new(
            ErrorCode::NotAMember,
            "This device is not a member of that conversation.",
        )
    }
    fn invalid(message: &'static str) -> Self {
        Self::new(ErrorCode::InvalidMessage, message)
    }
    fn replayed() -> Self {
        Self::new(
            ErrorCode::Replayed,
            "That message is already in this conversation; it was not stored again.",
        )
    }
    fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "The message could not be stored. Nothing was lost: send it again.",
        )
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(error = %error, "delivery store error");
        Self::internal()
    }
}

impl From<crate::error::Error> for Refusal {
    fn from(error: crate::error::Error) -> Self {
        tracing::error!(error = %error, "delivery error");
        Self::internal()
    }
}

/// Where a job's answer goes, with the room its message takes in the queue (given back
/// when the job is done).
struct Reply {
    answer: oneshot::Sender<Result<u64, Refusal>>,
    _room: Option<OwnedSemaphorePermit>,
}

/// Bytes of messages waiting in the writer's queue, in KiB: past it, connections wait to
/// queue more (each waits its turn, so a device's messages keep their order).
const QUEUED_KIB: usize = 64 * 1024;

/// The handle connections submit to.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<(Work, Reply)>,
    room: Arc<Semaphore>,
}

impl Writer {
    /// Starts the writer task.
    pub fn spawn(
        db: Pool,
        fanout: std::sync::Arc<dyn FanOut>,
        issuer: ed25519_dalek::VerifyingKey,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, fanout, issuer, rx));
        Self {
            jobs,
            room: Arc::new(Semaphore::new(QUEUED_KIB)),
        }
    }

    async fn submit(&self, work: Work) -> Result<u64, Refusal> {
        self.queue(work).await.answer().await
    }

    /// Puts `work` in the writer's queue and returns once it is there (waiting while
    /// the queue is full), without waiting for the answer. Jobs queued one after the
    /// other are written in that order: a connection queues each frame before it reads
    /// the next, so a device's messages are stored in the order it wrote them.
    async fn queue(&self, work: Work) -> Queued {
        let kib = match &work {
            // Every message counts for at least 1 KiB, and at most the whole queue.
            Work::Send(job) => (job.message.len() / 1024 + 1).min(QUEUED_KIB),
            Work::Ack(_) => 0,
        };
        let room = if kib == 0 {
            None
        } else {
            let Ok(room) = self
                .room
                .clone()
                .acquire_many_owned(u32::try_from(kib).unwrap_or(u32::MAX))
                .await
            else {
                return Queued(None);
            };
            Some(room)
        };
        let (answer, answered) = oneshot::channel();
        let reply = Reply {
            answer,
            _room: room,
        };
        match self.jobs.send((work, reply)).await {
            Ok(()) => Queued(Some(answered)),
            Err(_) => Queued(None),
        }
    }

    /// [`Writer::send`], in two steps: queued in order now, answered later.
    pub async fn queue_send(&self, job: SendJob) -> Queued {
        self.queue(Work::Send(Box::new(job))).await
    }

    /// [`Writer::ack`], in two steps: queued in order now, answered later.
    pub async fn queue_ack(&self, job: AckJob) -> Queued {
        self.queue(Work::Ack(Box::new(job))).await
    }

    /// Stores a message; `Ok(seq)` once it and its audit entries are durable.
    pub async fn send(&self, job: SendJob) -> Result<u64, Refusal> {
        self.submit(Work::Send(Box::new(job))).await
    }

    /// Records that a device processed everything up to `seq`; `Ok` with the device's
    /// acknowledged position afterwards.
    pub async fn ack(&self, job: AckJob) -> Result<u64, Refusal> {
        self.submit(Work::Ack(Box::new(job))).await
    }
}

/// A job in the writer's queue; [`Queued::answer`] waits for its result.
pub struct Queued(Option<oneshot::Receiver<Result<u64, Refusal>>>);

impl Queued {
    pub async fn answer(self) -> Result<u64, Refusal> {
        match self.0 {
            Some(answer) => answer.await.map_err(|_| Refusal::internal())?,
            None => Err(Refusal::internal()),
        }
    }
}

/// What a job did, for after the commit.
struct Done {
    result: u64,
    wake: Option<(Id, Vec<Id>)>,
    /// Someone's delivered position moved: these devices get the new receipts.
    receipts: Option<(Id, Vec<Id>)>,
}

async fn run(
    db: Pool,
    fanout: std::sync::Arc<dyn FanOut>,
    issuer: ed25519_dalek::VerifyingKey,
    mut rx: mpsc::Receiver<(Work, Reply)>,
) {
    // The writer keeps one connection: taking one from the pool for every batch (with
    // its liveness check, and handing the last one back) cost more than some batches.
    // It is given up after a failure, and a fresh one taken for the next batch.
    let mut conn: Option<PoolConnection<Sqlite>> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = process(&db, &mut conn, &batch, &issuer).await;
        let mut wakes = Vec::new();
        let mut receipts = Vec::new();
        for ((_, reply), result) in batch.into_iter().zip(results) {
            let answer = result.map(|done| {
                wakes.extend(done.wake);
                receipts.extend(done.receipts);
                done.result
            });
            // The connection may have gone; the message is stored either way.
            let _ = reply.answer.send(answer);
        }
        for (conversation, devices) in wakes {
            fanout.wake(&conversation, &devices);
        }
        for (conversation, devices) in receipts {
            fanout.receipts(&conversation, &devices);
        }
    }
}

/// Runs a batch in one transaction; each job's result, or every job refused if the
/// transaction could not commit. Consecutive application messages are checked and
/// written together, with a few statements for the whole run; commits and
/// acknowledgements run one by one, each inside its own savepoint.
async fn process(
    db: &Pool,
    conn: &mut Option<PoolConnection<Sqlite>>,
    batch: &[(Work, Reply)],
    issuer: &ed25519_dalek::VerifyingKey,
) -> Vec<Result<Done, Refusal>> {
    let all_failed = |n: usize| (0..n).map(|_| Err(Refusal::internal())).collect();
    if conn.is_none() {
        *conn = db.acquire().await.ok();
    }
    let Some(held) = conn.as_mut() else {
        return all_failed(batch.len());
    };
    // Holds the write lock from the start, as `store::begin_write` does.
    let Ok(mut tx) = held.begin_with("BEGIN IMMEDIATE").await else {
        discard(conn).await;
        return all_failed(batch.len());
    };
    let written = write_batch(&mut tx, batch, issuer).await;
    let committed = match written {
        Ok(results) => tx.commit().await.map(|()| results),
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    };
    match committed {
        Ok(results) => results,
        Err(_) => {
            // Whatever state a failed transaction left the connection in, it is not
            // handed on: the next batch takes a fresh one.
            discard(conn).await;
            all_failed(batch.len())
        }
    }
}

/// Closes the writer's connection instead of returning it to the pool.
async fn discard(conn: &mut Option<PoolConnection<Sqlite>>) {
    if let Some(held) = conn.take() {
        let _ = held.close().await;
    }
}

/// The batch's writes inside the open transaction; each job's result. `Err`: the
/// transaction itself failed and must not commit.
async fn write_batch(
    tx: &mut SqliteConnection,
    batch: &[(Work, Reply)],
    issuer: &ed25519_dalek::VerifyingKey,
) -> Result<Vec<Result<Done, Refusal>>, sqlx::Error> {
    let mut results: Vec<Result<Done, Refusal>> = Vec::with_capacity(batch.len());
    let mut events = Vec::new();
    let mut run: Vec<&SendJob> = Vec::new();
    for (work, _) in batch {
        if let Work::Send(job) = work
            && job.kind == MessageKind::Application
        {
            run.push(job);
            continue;
        }
        if !run.is_empty() {
            results.extend(application_run(tx, &run, &mut events).await?);
            run.clear();
        }
        results.push(one_by_one(tx, work, &mut events, issuer).await?);
    }
    if !run.is_empty() {
        results.extend(application_run(tx, &run, &mut events).await?);
    }
    raise_state_versions(tx, batch).await?;
    if !events.is_empty() {
        audit::record_many(tx, events)
            .await
            .map_err(|e| sqlx::Error::Protocol(format!("audit: {e}")))?;
    }
    Ok(results)
}

/// Keeps, for each device that sent in this batch, the highest version of its sealed
/// state it sent from; in the batch's transaction, so no message is stored before the
/// version that wrote it is kept. Never lowered.
async fn raise_state_versions(
    tx: &mut SqliteConnection,
    batch: &[(Work, Reply)],
) -> Result<(), sqlx::Error> {
    let mut highest: HashMap<&str, i64> = HashMap::new();
    for (work, _) in batch {
        if let Work::Send(job) = work
            && let Some(version) = job.state.and_then(|v| i64::try_from(v).ok())
        {
            let kept = highest.entry(job.device.as_str()).or_insert(version);
            *kept = (*kept).max(version);
        }
    }
    for (device, version) in highest {
        sqlx::query("UPDATE mls_devices SET state_version = ? WHERE id = ? AND state_version < ?")
            .bind(version)
            .bind(device)
            .bind(version)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// One job inside its own savepoint: its writes stay only if it was accepted. `Err`:
/// the transaction itself failed.
async fn one_by_one(
    tx: &mut SqliteConnection,
    work: &Work,
    events: &mut Vec<Event>,
    issuer: &ed25519_dalek::VerifyingKey,
) -> Result<Result<Done, Refusal>, sqlx::Error> {
    sqlx::query("SAVEPOINT job").execute(&mut *tx).await?;
    let mut job_events = Vec::new();
    let outcome = match work {
        Work::Send(job) => send(tx, job, &mut job_events, issuer).await,
        Work::Ack(job) => ack(tx, job, &mut job_events).await,
    };
    if outcome.is_ok() {
        sqlx::query("RELEASE job").execute(&mut *tx).await?;
        events.append(&mut job_events);
    } else {
        sqlx::query("ROLLBACK TO job").execute(&mut *tx).await?;
        sqlx::query("RELEASE job").execute(&mut *tx).await?;
    }
    Ok(outcome)
}

/// `IN (…)` lists for `values`: chunks of at most `MAX_BATCH`, each padded to a power
/// of two by repeating its last value (which changes nothing an `IN` matches), with
/// their placeholders. The statements then come in a few lengths that stay prepared.
fn in_lists<T>(values: &[T]) -> Vec<(String, Vec<&T>)> {
    values
        .chunks(MAX_BATCH)
        .filter_map(|chunk| {
            let last = chunk.last()?;
            let len = chunk.len().next_power_of_two();
            let mut padded: Vec<&T> = chunk.iter().collect();
            padded.resize(len, last);
            Some((vec!["?"; len].join(", "), padded))
        })
        .collect()
}

/// What a run of application messages needs to know of one conversation.
struct RunConversation {
    patient: String,
    epoch: u64,
    last_seq: u64,
    /// Current members: device -> user.
    members: HashMap<String, String>,
    /// A visit's group whose visit has ended: it takes nothing more.
    visit_ended: bool,
}

/// Checks and stores consecutive application messages with a handful of statements:
/// the conversations and their current members read once, the messages written in
/// multi-row inserts, each conversation's position updated once. Nothing is written for
/// a refused message. `Err`: the transaction itself failed.
async fn application_run(
    tx: &mut SqliteConnection,
    run: &[&SendJob],
    events: &mut Vec<Event>,
) -> Result<Vec<Result<Done, Refusal>>, sqlx::Error> {
    let ids: Vec<&str> = {
        let mut seen = HashSet::new();
        run.iter()
            .map(|j| j.conversation.as_str())
            .filter(|c| seen.insert(*c))
            .collect()
    };
    let mut conversations: HashMap<String, RunConversation> = HashMap::new();
    let mut orgs: HashMap<String, String> = HashMap::new();
    // Only placeholders are interpolated into these statements: the values are bound.
    for (marks, chunk) in in_lists(&ids) {
        let sql = format!(
            "SELECT c.id, c.org_id, c.patient_id, c.epoch, c.last_seq, v.ended_at, v.cancelled_at, v.ends_at
             FROM conversations c LEFT JOIN visits v ON v.id = c.visit_id
             WHERE c.id IN ({marks})"
        );
        type Row = (
            String,
            String,
            String,
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
        for id in &chunk {
            query = query.bind(**id);
        }
        for (id, org, patient, epoch, last_seq, ended, cancelled, ends_at) in
            query.fetch_all(&mut *tx).await?
        {
            orgs.insert(id.clone(), org);
            conversations.insert(
                id,
                RunConversation {
                    patient,
                    epoch: u64::try_from(epoch).unwrap_or(0),
                    last_seq: u64::try_from(last_seq).unwrap_or(0),
                    members: HashMap::new(),
                    visit_ended: visit_over(ended, cancelled, ends_at),
                },
            );
        }
        let sql = format!(
            "SELECT cd.conversation_id, cd.device_id, cd.user_id FROM conversation_devices cd
             JOIN mls_devices d ON d.id = cd.device_id
             WHERE cd.left_seq IS NULL AND d.revoked_at IS NULL AND cd.conversation_id IN ({marks}) {}",
            in_its_visit!()
        );
        let mut query = sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for (conversation, device, user) in query.fetch_all(&mut *tx).await? {
            if let Some(c) = conversations.get_mut(&conversation) {
                c.members.insert(device, user);
            }
        }
    }

    // Messages already stored (a sender retrying after a reconnect, or a replay): by
    // digest, their conversation, sequence number and sending device. One index probe
    // per message.
    let digests: Vec<Vec<u8>> = run.iter().map(|j| digest(&j.message)).collect();
    let mut stored: HashMap<Vec<u8>, Stored> = HashMap::new();
    for (marks, chunk) in in_lists(&digests) {
        let sql = format!(
            "SELECT digest, conversation_id, seq, sender_device FROM mls_messages WHERE digest IN ({marks})"
        );
        let mut query =
            sqlx::query_as::<_, (Vec<u8>, String, i64, String)>(sqlx::AssertSqlSafe(sql));
        for d in chunk {
            query = query.bind(d.as_slice());
        }
        for (d, conversation, seq, sender) in query.fetch_all(&mut *tx).await? {
            stored.insert(d, Stored::from_row(conversation, seq, sender));
        }
    }

    let at = now();
    let mut ledger = Ledger::new(at);
    let mut sent = SentRuns::default();
    let mut outcomes = Vec::with_capacity(run.len());
    let mut rows: Vec<(&SendJob, u64, &[u8])> = Vec::new();
    for (job, digest) in run.iter().zip(&digests) {
        let key = job.conversation.as_str();
        let belongs = orgs
            .get(key)
            .is_some_and(|o| o == job.authed.org.id.as_str());
        let Some(conversation) = conversations.get_mut(key).filter(|_| belongs) else {
            outcomes.push(Err(Refusal::not_a_member()));
            continue;
        };
        if conversation.members.get(job.device.as_str()) != Some(&job.authed.user_id.to_string()) {
            outcomes.push(Err(Refusal::not_a_member()));
            continue;
        }
        if job.commit.is_some() {
            outcomes.push(Err(Refusal::invalid(
                "An application message cannot carry a change of members.",
            )));
            continue;
        }
        if conversation.visit_ended {
            outcomes.push(Err(visit_ended()));
            continue;
        }
        if let Some(before) = stored.get(digest) {
            outcomes.push(
                before
                    .answer(&job.conversation, &job.device)
                    .map(|seq| Done {
                        result: seq,
                        wake: None,
                        receipts: None,
                    }),
            );
            continue;
        }
        if job.epoch > conversation.epoch {
            outcomes.push(Err(Refusal::invalid(
                "That message is for an epoch this conversation has not reached.",
            )));
            continue;
        }
        // Members no longer keep the keys of epochs this old: nobody could read it (and
        // a replay of something long gone is refused here).
        if job.epoch.saturating_add(haven_mls::MAX_PAST_EPOCHS as u64) < conversation.epoch {
            outcomes.push(Err(Refusal::invalid(
                "That message is for an epoch too old for the members to read.",
            )));
            continue;
        }
        match ledger
            .charge(
                tx,
                job.authed.org.id.as_str(),
                job.authed.user_id.as_str(),
                Some(job.device.as_str()),
                job.message.len() as u64,
                Charged::Content,
            )
            .await?
        {
            Ok(()) => {}
            Err(exceeded) => {
                outcomes.push(Err(Refusal::quota(exceeded)));
                continue;
            }
        }
        conversation.last_seq += 1;
        let seq = conversation.last_seq;
        stored.insert(
            digest.clone(),
            Stored {
                conversation: key.to_owned(),
                seq,
                sender: job.device.to_string(),
            },
        );
        let wake = conversation
            .members
            .keys()
            .filter(|d| d.as_str() != job.device.as_str())
            .filter_map(|d| Id::parse(d).ok())
            .collect();
        sent.add(job, &conversation.patient, seq);
        rows.push((job, seq, digest.as_slice()));
        outcomes.push(Ok(Done {
            result: seq,
            wake: Some((job.conversation.clone(), wake)),
            receipts: None,
        }));
    }

    ledger.write(tx).await?;
    events.extend(sent.events());
    // 8 bound values a row; SQLite takes 32,766 bound values a statement.
    for chunk in crate::store::chunks(&rows, MAX_BATCH) {
        let sql = format!(
            "INSERT INTO mls_messages (conversation_id, seq, kind, epoch, sender_device, body, digest, welcome, created_at, expires_at) VALUES {}",
            vec!["(?, ?, 'application', ?, ?, ?, ?, NULL, ?, ?)"; chunk.len()].join(", ")
        );
        // Only placeholders are interpolated: the values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (job, seq, digest) in chunk {
            query = query
                .bind(job.conversation.as_str())
                .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                .bind(i64::try_from(job.epoch).unwrap_or(i64::MAX))
                .bind(job.device.as_str())
                .bind(job.message.as_slice())
                .bind(*digest)
                .bind(at)
                .bind(at + MESSAGE_RETENTION_SECS);
        }
        query.execute(&mut *tx).await?;
    }
    // Each conversation's position is its newest message, just inserted: one statement.
    let written: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| {
            rows.iter()
                .any(|(job, _, _)| job.conversation.as_str() == *id)
        })
        .collect();
    for (marks, chunk) in in_lists(&written) {
        let sql = format!(
            "UPDATE conversations SET last_seq = (
                 SELECT MAX(m.seq) FROM mls_messages m WHERE m.conversation_id = conversations.id)
             WHERE id IN ({marks})"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(outcomes)
}

/// The application messages a batch stored, one audit entry per sending session, device,
/// address and conversation, naming every sequence number: the entry is as durable as the
/// messages (same transaction), and the log grows by a few entries per batch instead of
/// one per message.
#[derive(Default)]
struct SentRuns<'a> {
    runs: Vec<SentRun<'a>>,
    index: HashMap<RunKey<'a>, usize>,
}

/// Session, device, conversation, address.
type RunKey<'a> = (&'a [u8], &'a str, &'a str, Option<IpAddr>);

struct SentRun<'a> {
    job: &'a SendJob,
    patient: String,
    seqs: Vec<u64>,
    bytes: usize,
}

impl<'a> SentRuns<'a> {
    fn add(&mut self, job: &'a SendJob, patient: &str, seq: u64) {
        let key = (
            job.authed.session_hash.as_slice(),
            job.device.as_str(),
            job.conversation.as_str(),
            job.source,
        );
        let at = *self.index.entry(key).or_insert_with(|| {
            self.runs.push(SentRun {
                job,
                patient: patient.to_owned(),
                seqs: Vec::new(),
                bytes: 0,
            });
            self.runs.len() - 1
        });
        if let Some(run) = self.runs.get_mut(at) {
            run.seqs.push(seq);
            run.bytes += job.message.len();
        }
    }

    fn events(self) -> impl Iterator<Item = Event> + 'a {
        self.runs.into_iter().map(|run| {
            let count = run.seqs.len();
            let noun = if count == 1 { "message" } else { "messages" };
            Event::by(&run.job.authed, AuditAction::MessageSent)
                .target(conversation_ref(&run.job.conversation))
                .patient(run.patient)
                .from(run.job.source)
                .detail(format!(
                    "application seq {}, {count} {noun}, {} bytes, from device {}",
                    ranges(&run.seqs),
                    run.bytes,
                    run.job.device
                ))
        })
    }
}

/// Ascending sequence numbers written as runs: `3`, `3-9`, `3-9, 12, 15-16`.
fn ranges(seqs: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&first) = seqs.get(i) {
        let mut last = first;
        while seqs.get(i + 1) == Some(&(last + 1)) {
            last += 1;
            i += 1;
        }
        out.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
        i += 1;
    }
    out.join(", ")
}

/// What identifies a message's bytes (unique among all stored messages).
fn digest(message: &[u8]) -> Vec<u8> {
    Sha256::digest(message).to_vec()
}

/// Where a message's bytes are already stored.
struct Stored {
    conversation: String,
    seq: u64,
    sender: String,
}

impl Stored {
    fn from_row(conversation: String, seq: i64, sender: String) -> Self {
        Self {
            conversation,
            seq: u64::try_from(seq).unwrap_or(0),
            sender,
        }
    }

    /// The answer to `device` sending the same bytes to `conversation` again: where they
    /// already are if it sent them there (after a reconnect that lost the answer); a
    /// replay if another device did, or they were stored in another conversation.
    fn answer(&self, conversation: &Id, device: &Id) -> Result<u64, Refusal> {
        if self.sender == device.as_str() && self.conversation == conversation.as_str() {
            Ok(self.seq)
        } else {
            Err(Refusal::replayed())
        }
    }
}

/// The message with `digest`, if its bytes are already stored.
async fn stored_before(
    conn: &mut SqliteConnection,
    digest: &[u8],
) -> Result<Option<Stored>, Refusal> {
    let row: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT conversation_id, seq, sender_device FROM mls_messages WHERE digest = ?",
    )
    .bind(digest)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(conversation, seq, sender)| Stored::from_row(conversation, seq, sender)))
}

fn conversation_ref(id: &Id) -> String {
    format!("conversation:{id}")
}

fn seq_i64(seq: u64) -> Result<i64, Refusal> {
    i64::try_from(seq).map_err(|_| Refusal::invalid("That sequence number is out of range."))
}

struct ConversationRow {
    patient: String,
    epoch: u64,
    last_seq: u64,
    visit: Option<VisitOf>,
}

async fn conversation(
    conn: &mut SqliteConnection,
    org: &Id,
    id: &Id,
) -> Result<ConversationRow, Refusal> {
    type Row = (
        String,
        i64,
        i64,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT c.patient_id, c.epoch, c.last_seq, c.visit_id, v.clinician_id, v.ended_at,
                v.cancelled_at, v.ends_at
         FROM conversations c LEFT JOIN visits v ON v.id = c.visit_id
         WHERE c.id = ? AND c.org_id = ?",
    )
    .bind(id.as_str())
    .bind(org.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let (patient, epoch, last_seq, visit_id, clinician, ended_at, cancelled_at, ends_at) =
        row.ok_or_else(Refusal::not_a_member)?;
    let visit = match (visit_id, clinician) {
        (Some(id), Some(clinician)) => Some(VisitOf {
            id,
            clinician,
            ended: visit_over(ended_at, cancelled_at, ends_at),
        }),
        (None, _) => None,
        // A visit conversation whose visit is gone takes nothing.
        (Some(_), None) => return Err(Refusal::not_a_member()),
    };
    Ok(ConversationRow {
        patient,
        epoch: u64::try_from(epoch).unwrap_or(0),
        last_seq: u64::try_from(last_seq).unwrap_or(0),
        visit,
    })
}

fn visit_ended() -> Refusal {
    Refusal::new(
        ErrorCode::Forbidden,
        "This visit has ended: nothing more is sent in it.",
    )
}

/// The visit a conversation of the visit kind belongs to.
struct VisitOf {
    id: String,
    clinician: String,
    ended: bool,
}

/// May `user`'s `device` be added to a visit's group? The clinician's devices, and the
/// one device each person admitted from the waiting room came with.
async fn may_join_visit(
    conn: &mut SqliteConnection,
    visit: &VisitOf,
    user: &str,
    device: &Id,
) -> Result<bool, Refusal> {
    if user == visit.clinician {
        return Ok(true);
    }
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM visit_participants
         WHERE visit_id = ? AND user_id = ? AND device_id = ? AND state = 'admitted'",
    )
    .bind(&visit.id)
    .bind(user)
    .bind(device.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// How long a visit's group goes on past the visit's scheduled end (a visit that runs
/// over), in seconds; then it takes nothing more.
const VISIT_OVERRUN_SECS: i64 = 3600;

/// A visit's group takes nothing once the visit ended, was cancelled, or ran past its
/// time by [`VISIT_OVERRUN_SECS`].
fn visit_over(ended_at: Option<i64>, cancelled_at: Option<i64>, ends_at: Option<i64>) -> bool {
    ended_at.is_some()
        || cancelled_at.is_some()
        || ends_at.is_some_and(|end| now() > end + VISIT_OVERRUN_SECS)
}

/// The device is the caller's, not revoked, and a current member of the conversation.
async fn is_current_member(
    conn: &mut SqliteConnection,
    conversation: &Id,
    device: &Id,
    user: &Id,
) -> Result<bool, Refusal> {
    let row: Option<(i64,)> = sqlx::query_as(concat!(
        "SELECT 1 FROM conversation_devices cd JOIN mls_devices d ON d.id = cd.device_id
         WHERE cd.conversation_id = ? AND cd.device_id = ? AND cd.user_id = ?
           AND cd.left_seq IS NULL AND d.revoked_at IS NULL",
        in_its_visit!()
    ))
    .bind(conversation.as_str())
    .bind(device.as_str())
    .bind(user.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// May `user` (of the conversation's organisation) be in a conversation about
/// `patient`? The patient, and active clinicians of their care team.
async fn may_join(
    conn: &mut SqliteConnection,
    org: &Id,
    patient: &str,
    user: &str,
) -> Result<bool, Refusal> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT role FROM users WHERE id = ? AND org_id = ? AND active = 1")
            .bind(user)
            .bind(org.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let Some(role) = row.and_then(|(r,)| r.parse::<Role>().ok()) else {
        return Ok(false);
    };
    match role {
        Role::Patient => Ok(user == patient),
        Role::Clinician => {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT 1 FROM care_team WHERE org_id = ? AND clinician_id = ? AND patient_id = ?",
            )
            .bind(org.as_str())
            .bind(user)
            .bind(patient)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(row.is_some())
        }
        _ => Ok(false),
    }
}

async fn send(
    conn: &mut SqliteConnection,
    job: &SendJob,
    events: &mut Vec<Event>,
    issuer: &ed25519_dalek::VerifyingKey,
) -> Result<Done, Refusal> {
    let org = &job.authed.org.id;
    let row = conversation(conn, org, &job.conversation).await?;
    if !is_current_member(conn, &job.conversation, &job.device, &job.authed.user_id).await? {
        return Err(Refusal::not_a_member());
    }
    if row.visit.as_ref().is_some_and(|v| v.ended) {
        return Err(visit_ended());
    }
    // Sent again after a reconnect (a commit included: it must not look like it lost
    // its own epoch): where it already is, with nothing written.
    let digest = digest(&job.message);
    if let Some(before) = stored_before(conn, &digest).await? {
        return Ok(Done {
            result: before.answer(&job.conversation, &job.device)?,
            wake: None,
            receipts: None,
        });
    }
    let seq = row.last_seq + 1;
    let seq_db = seq_i64(seq)?;
    let mut epoch_after = row.epoch;
    let mut welcome: Option<&[u8]> = None;
    let mut added_devices: Vec<(Id, String)> = Vec::new();
    let mut removed_devices: Vec<Id> = Vec::new();
    let mut public_state: Option<Vec<u8>> = None;
    let kind = match job.kind {
        MessageKind::Application => {
            if job.commit.is_some() {
                return Err(Refusal::invalid(
                    "An application message cannot carry a change of members.",
                ));
            }
            if job.epoch > row.epoch {
                return Err(Refusal::invalid(
                    "That message is for an epoch this conversation has not reached.",
                ));
            }
            "application"
        }
        MessageKind::Commit => {
            let (sent_welcome, group_info) = match &job.commit {
                Some(info) => (info.welcome.as_ref(), info.group_info.as_ref()),
                None => (None, None),
            };
            if job.epoch != row.epoch {
                if job.epoch > row.epoch {
                    return Err(Refusal::invalid(
                        "That commit is for an epoch this conversation has not reached.",
                    ));
                }
                let winner: Option<(i64,)> = sqlx::query_as(
                    "SELECT seq FROM mls_messages WHERE conversation_id = ? AND kind = 'commit' AND epoch = ?",
                )
                .bind(job.conversation.as_str())
                .bind(seq_i64(job.epoch)?)
                .fetch_optional(&mut *conn)
                .await?;
                return Err(Refusal {
                    winner: winner.and_then(|(s,)| u64::try_from(s).ok()),
                    ..Refusal::new(
                        ErrorCode::StaleEpoch,
                        "Another change to this conversation came first. Apply it, then try again.",
                    )
                });
            }
            epoch_after = row.epoch + 1;
            // The commit itself, checked against the conversation's public state
            // (RFC 9420 §16.2): one its members could not process is refused here, and
            // who joins and who leaves is read from it.
            let trust = Trust::new(org.clone(), *issuer);
            let clock = u64::try_from(now()).unwrap_or(0);
            let (stored,): (Option<Vec<u8>>,) =
                sqlx::query_as("SELECT public_state FROM conversations WHERE id = ?")
                    .bind(job.conversation.as_str())
                    .fetch_one(&mut *conn)
                    .await?;
            let mut view = match (stored, group_info) {
                (Some(bytes), _) => PublicConversation::restore(&bytes).map_err(|e| {
                    tracing::error!(error = %e, "a conversation's public state does not load");
                    Refusal::internal()
                })?,
                (None, Some(info)) if row.epoch == 0 => PublicConversation::start(
                    info.as_bytes(),
                    job.conversation.as_str().as_bytes(),
                    &job.device,
                    &trust,
                    clock,
                )
                .map_err(|_| {
                    Refusal::invalid("That GroupInfo does not start this conversation's group.")
                })?,
                _ => {
                    return Err(Refusal::invalid(
                        "A conversation's first commit carries the group's GroupInfo.",
                    ));
                }
            };
            let changed = view.commit(&job.message, &trust, clock).map_err(|_| {
                Refusal::invalid(
                    "That commit does not apply to this conversation: its members could not process it.",
                )
            })?;
            if changed.by != job.device {
                return Err(Refusal::invalid(
                    "That commit was made by another device than the one sending it.",
                ));
            }
            if changed.epoch != epoch_after {
                return Err(Refusal::invalid(
                    "That commit does not apply to this conversation: its members could not process it.",
                ));
            }
            let added: BTreeSet<&Id> = changed.added.iter().collect();
            let removed: BTreeSet<&Id> = changed.removed.iter().collect();
            if added.len() != changed.added.len()
                || removed.len() != changed.removed.len()
                || added.iter().any(|d| removed.contains(d))
                || added.len() + removed.len() > 1000
            {
                return Err(Refusal::invalid(
                    "A commit adds or removes each device once.",
                ));
            }
            if added.is_empty() != sent_welcome.is_none() {
                return Err(Refusal::invalid(
                    "A commit that adds devices carries their Welcome, and only then.",
                ));
            }
            welcome = sent_welcome.map(|w| w.as_bytes());
            let sender_is_clinician = job.authed.role == Role::Clinician;
            for device in added {
                let found: Option<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT user_id, revoked_at FROM mls_devices WHERE id = ? AND org_id = ?",
                )
                .bind(device.as_str())
                .bind(org.as_str())
                .fetch_optional(&mut *conn)
                .await?;
                let Some((user, None)) = found else {
                    return Err(Refusal::invalid(
                        "A device to add is unknown or was revoked.",
                    ));
                };
                let already: Option<(Option<i64>,)> = sqlx::query_as(
                    "SELECT left_seq FROM conversation_devices WHERE conversation_id = ? AND device_id = ?",
                )
                .bind(job.conversation.as_str())
                .bind(device.as_str())
                .fetch_optional(&mut *conn)
                .await?;
                if already.is_some() {
                    return Err(Refusal::invalid(
                        "A device to add is, or was, already in this conversation.",
                    ));
                }
                match &row.visit {
                    Some(visit) => {
                        if !may_join_visit(conn, visit, &user, device).await? {
                            return Err(Refusal::new(
                                ErrorCode::Forbidden,
                                "Only the visit's clinician and the devices admitted from its waiting room can be in a visit.",
                            ));
                        }
                    }
                    None => {
                        if !may_join(conn, org, &row.patient, &user).await? {
                            return Err(Refusal::new(
                                ErrorCode::NotInCareTeam,
                                "Only the patient and their care team can be in this conversation.",
                            ));
                        }
                    }
                }
                if !sender_is_clinician && user != job.authed.user_id.as_str() {
                    let present: Option<(i64,)> = sqlx::query_as(
                        "SELECT 1 FROM conversation_devices WHERE conversation_id = ? AND user_id = ? AND left_seq IS NULL",
                    )
                    .bind(job.conversation.as_str())
                    .bind(&user)
                    .fetch_optional(&mut *conn)
                    .await?;
                    if present.is_none() {
                        return Err(Refusal::new(
                            ErrorCode::Forbidden,
                            "Only a clinician can add a new person to a conversation.",
                        ));
                    }
                }
                added_devices.push((device.clone(), user));
            }
            for device in removed {
                let found: Option<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT cd.user_id, d.revoked_at FROM conversation_devices cd
                     JOIN mls_devices d ON d.id = cd.device_id
                     WHERE cd.conversation_id = ? AND cd.device_id = ? AND cd.left_seq IS NULL",
                )
                .bind(job.conversation.as_str())
                .bind(device.as_str())
                .fetch_optional(&mut *conn)
                .await?;
                let Some((user, revoked)) = found else {
                    return Err(Refusal::invalid(
                        "A device to remove is not in this conversation.",
                    ));
                };
                if !sender_is_clinician && user != job.authed.user_id.as_str() && revoked.is_none()
                {
                    return Err(Refusal::new(
                        ErrorCode::Forbidden,
                        "Only a clinician can remove another person from a conversation.",
                    ));
                }
                removed_devices.push(device.clone());
            }
            public_state = Some(view.snapshot().map_err(|_| Refusal::internal())?);
            "commit"
        }
        _ => {
            return Err(Refusal::invalid(
                "Only application messages and commits are sent to a conversation.",
            ));
        }
    };

    let at = now();
    // Counted inside this job's savepoint: a refusal after this point takes it back.
    let mut ledger = Ledger::new(at);
    let bytes = job.message.len() + welcome.map_or(0, <[u8]>::len);
    let what = match kind {
        "commit" if added_devices.is_empty() && !removed_devices.is_empty() => Charged::Removal,
        "commit" => Charged::Commit,
        _ => Charged::Content,
    };
    if let Err(exceeded) = ledger
        .charge(
            conn,
            org.as_str(),
            job.authed.user_id.as_str(),
            Some(job.device.as_str()),
            bytes as u64,
            what,
        )
        .await?
    {
        return Err(Refusal::quota(exceeded));
    }
    ledger.write(conn).await?;
    sqlx::query(
        "INSERT INTO mls_messages (conversation_id, seq, kind, epoch, sender_device, body, digest, welcome, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(job.conversation.as_str())
    .bind(seq_db)
    .bind(kind)
    .bind(seq_i64(job.epoch)?)
    .bind(job.device.as_str())
    .bind(&job.message)
    .bind(&digest)
    .bind(welcome)
    .bind(at)
    .bind(at + MESSAGE_RETENTION_SECS)
    .execute(&mut *conn)
    .await?;
    if let Some(state) = &public_state {
        sqlx::query("UPDATE conversations SET public_state = ? WHERE id = ?")
            .bind(state.as_slice())
            .bind(job.conversation.as_str())
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE conversations SET last_seq = ?, epoch = ? WHERE id = ?")
        .bind(seq_db)
        .bind(seq_i64(epoch_after)?)
        .bind(job.conversation.as_str())
        .execute(&mut *conn)
        .await?;
    for (device, user) in &added_devices {
        sqlx::query(
            "INSERT INTO conversation_devices (conversation_id, device_id, user_id, joined_seq, acked_seq, read_seq)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(job.conversation.as_str())
        .bind(device.as_str())
        .bind(user)
        .bind(seq_db)
        .bind(seq_db - 1)
        .bind(seq_db - 1)
        .execute(&mut *conn)
        .await?;
    }
    for device in &removed_devices {
        sqlx::query(
            "UPDATE conversation_devices SET left_seq = ? WHERE conversation_id = ? AND device_id = ?",
        )
        .bind(seq_db)
        .bind(job.conversation.as_str())
        .bind(device.as_str())
        .execute(&mut *conn)
        .await?;
    }
    let wake: Vec<(String,)> = sqlx::query_as(
        "SELECT device_id FROM conversation_devices
         WHERE conversation_id = ? AND (left_seq IS NULL OR left_seq >= ?) AND device_id != ?",
    )
    .bind(job.conversation.as_str())
    .bind(seq_db)
    .bind(job.device.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let wake = wake
        .into_iter()
        .filter_map(|(d,)| Id::parse(&d).ok())
        .collect();

    let target = conversation_ref(&job.conversation);
    let base = |action| {
        Event::by(&job.authed, action)
            .target(target.clone())
            .patient(row.patient.clone())
            .from(job.source)
    };
    events.push(base(AuditAction::MessageSent).detail(format!(
        "{kind} seq {seq}, {} bytes, from device {}",
        job.message.len(),
        job.device
    )));
    for (device, _) in &added_devices {
        events.push(base(AuditAction::MemberAdded).detail(format!("device {device} at seq {seq}")));
    }
    for device in &removed_devices {
        events
            .push(base(AuditAction::MemberRemoved).detail(format!("device {device} at seq {seq}")));
    }
    Ok(Done {
        result: seq,
        wake: Some((job.conversation.clone(), wake)),
        receipts: None,
    })
}

async fn ack(
    conn: &mut SqliteConnection,
    job: &AckJob,
    events: &mut Vec<Event>,
) -> Result<Done, Refusal> {
    let row: Option<(i64, i64, Option<i64>, String, i64)> = sqlx::query_as(
        "SELECT cd.acked_seq, cd.read_seq, cd.left_seq, c.patient_id, c.last_seq
         FROM conversation_devices cd JOIN conversations c ON c.id = cd.conversation_id
         JOIN mls_devices d ON d.id = cd.device_id
         WHERE cd.conversation_id = ? AND cd.device_id = ? AND cd.user_id = ? AND c.org_id = ?
           AND d.revoked_at IS NULL",
    )
    .bind(job.conversation.as_str())
    .bind(job.device.as_str())
    .bind(job.authed.user_id.as_str())
    .bind(job.authed.org.id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((acked, read, left, patient, last)) = row else {
        return Err(Refusal::not_a_member());
    };
    let seq = seq_i64(job.seq)?;
    let limit = left.map_or(last, |l| l.min(last));
    if seq > limit {
        return Err(Refusal::invalid(if job.read {
            "That marks as read messages this device has not been sent."
        } else {
            "That acknowledges messages this device has not been sent."
        }));
    }
    let before = if job.read { read } else { acked };
    // Nothing moves backwards, and a repeat records nothing.
    if seq <= before {
        return Ok(Done {
            result: u64::try_from(before).unwrap_or(0),
            wake: None,
            receipts: None,
        });
    }
    // The person's position before this: the furthest any of their devices got.
    let person = if job.read {
        i64::MAX
    } else {
        let (furthest,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(MAX(cd.acked_seq), 0) FROM conversation_devices cd
             JOIN mls_devices d ON d.id = cd.device_id
             WHERE cd.conversation_id = ? AND cd.user_id = ? AND cd.left_seq IS NULL
               AND d.revoked_at IS NULL",
        )
        .bind(job.conversation.as_str())
        .bind(job.authed.user_id.as_str())
        .fetch_one(&mut *conn)
        .await?;
        furthest
    };
    sqlx::query(if job.read {
        "UPDATE conversation_devices SET read_seq = ? WHERE conversation_id = ? AND device_id = ?"
    } else {
        "UPDATE conversation_devices SET acked_seq = ? WHERE conversation_id = ? AND device_id = ?"
    })
    .bind(seq)
    .bind(job.conversation.as_str())
    .bind(job.device.as_str())
    .execute(&mut *conn)
    .await?;
    let range = if seq == before + 1 {
        format!("seq {seq}")
    } else {
        format!("seq {}-{seq}", before + 1)
    };
    let (action, detail) = if job.read {
        (
            AuditAction::MessageRead,
            format!("{range} on device {}", job.device),
        )
    } else {
        (
            AuditAction::MessageDelivered,
            format!("{range} to device {}", job.device),
        )
    };
    events.push(
        Event::by(&job.authed, action)
            .target(conversation_ref(&job.conversation))
            .patient(patient)
            .detail(detail),
    );
    // The others learn that this person received more (only their own devices'
    // acknowledgements move it; a read does not).
    // Only the people who sent what this person newly received care: their devices
    // are told (in a large group, not everyone for every acknowledgement).
    let receipts = if seq > person {
        let devices: Vec<(String,)> = sqlx::query_as(
            "SELECT cd.device_id FROM conversation_devices cd
             WHERE cd.conversation_id = ? AND cd.user_id <> ? AND cd.left_seq IS NULL
               AND cd.user_id IN (
                   SELECT sd.user_id FROM mls_messages m
                   JOIN conversation_devices sd
                     ON sd.conversation_id = m.conversation_id AND sd.device_id = m.sender_device
                   WHERE m.conversation_id = ? AND m.seq > ? AND m.seq <= ?)",
        )
        .bind(job.conversation.as_str())
        .bind(job.authed.user_id.as_str())
        .bind(job.conversation.as_str())
        .bind(person)
        .bind(seq)
        .fetch_all(&mut *conn)
        .await?;
        let devices: Vec<Id> = devices
            .into_iter()
            .filter_map(|(d,)| Id::parse(&d).ok())
            .collect();
        (!devices.is_empty()).then(|| (job.conversation.clone(), devices))
    } else {
        None
    };
    Ok(Done {
        result: job.seq,
        wake: None,
        receipts,
    })
}

#[cfg(test)]
mod tests {
    use super::{MAX_BATCH, in_lists, ranges};

    #[test]
    fn sequence_numbers_are_written_as_runs() {
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[3]), "3");
        assert_eq!(ranges(&[3, 4, 5]), "3-5");
        assert_eq!(ranges(&[3, 4, 5, 9, 12, 13]), "3-5, 9, 12-13");
    }

    #[test]
    fn in_lists_come_in_powers_of_two_padded_with_the_last_value() {
        let values: Vec<usize> = (0..MAX_BATCH + 3).collect();
        let lists = in_lists(&values);
        assert_eq!(lists.len(), 2);
        let (marks, first) = &lists[0];
        assert_eq!(first.len(), MAX_BATCH);
        assert_eq!(marks.matches('?').count(), MAX_BATCH);
        let (marks, rest) = &lists[1];
        assert_eq!(marks, "?, ?, ?, ?");
        assert_eq!(
            rest,
            &[
                &MAX_BATCH,
                &(MAX_BATCH + 1),
                &(MAX_BATCH + 2),
                &(MAX_BATCH + 2)
            ]
        );
        assert!(in_lists::<usize>(&[]).is_empty());
    }
}
