//! Messaging at scale, each figure beside its reference from the same run:
//!
//! - Delivery latency with 200 connected clients: 100 clinician–patient pairs, each in a
//!   conversation of its own, every device on its own WSS connection. The clinicians send
//!   in turn, one message every 5 ms; a message's latency runs from just before its
//!   sender encrypts it to just after the recipient decrypted it. The reference is a
//!   `ping` → `pong` round trip over the same connections at the same pace.
//! - Adding one member to a 250-member group until every member device has processed
//!   the Add. The devices run in this one process on a shared core, so each round is
//!   taken in two phases: first only the frames' arrival is timed (the server's work and
//!   the network), then each device processes its frame and that processing is timed on
//!   its own, as it would run on the member's own computer. A round's figure is the
//!   adder's commit, plus the last arrival, plus the slowest processing (an upper bound).
//!
//! The people are made straight in the store (sign-in is measured on its own elsewhere),
//! each with a full session; everything else goes through the API and the WebSocket.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use haven_mls::{Device, Trust};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::Result;
use crate::delivery_bench::{Client, Server, Socket, b64, enrol, trust};

/// Clinician–patient pairs for the latency run (two clients each).
const PAIRS: usize = 100;
/// Messages each clinician sends in the latency run.
const PER_PAIR: usize = 20;
/// Between two sends (by different clinicians, in turn): 200 messages a second in all,
/// each clinician every half second. The clients' MLS work shares one core here, so a
/// faster pace measures their queue rather than the path (throughput is measured on its
/// own).
const PACE: Duration = Duration::from_millis(5);
/// Member devices of the large group before the first round.
const GROUP: usize = 250;
/// Rounds of adding one member to it.
const ADD_ROUNDS: usize = 20;

pub struct Figures {
    pub latency: Latencies,
    pub add: Percentiles,
    pub add_commit: Percentiles,
    pub add_arrival: Percentiles,
    pub add_processing: Percentiles,
}

/// Milliseconds.
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

fn percentiles(mut samples: Vec<Duration>) -> Percentiles {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples
            .get(i)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Percentiles {
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
    }
}

fn unix_now() -> Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs())
}

type Pool = sqlx::SqlitePool;

/// `n` people of `role`, made in the store with a full session each: (user id, token).
async fn people(
    db: &Pool,
    org: &str,
    role: &str,
    n: usize,
    tag: &str,
) -> Result<Vec<(String, String)>> {
    let now = i64::try_from(unix_now()?).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let user = haven_server::secrets::new_id().map_err(|e| e.to_string())?;
        let device = haven_server::secrets::new_id().map_err(|e| e.to_string())?;
        let token = haven_server::secrets::new_token().map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO users (id, org_id, email, display_name, role, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(user.as_str())
        .bind(org)
        .bind(format!("{tag}-{i}@bench.haven"))
        .bind(format!("Bench {role} {i}"))
        .bind(role)
        .bind(haven_server::secrets::dummy_hash())
        .bind(now)
        .execute(db)
        .await
        .map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO devices (id, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
        )
        .bind(device.as_str())
        .bind(user.as_str())
        .bind(now)
        .bind(now)
        .execute(db)
        .await
        .map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, org_id, device_id, stage, created_at, last_seen_at, expires_at)
             VALUES (?, ?, ?, ?, 'full', ?, ?, ?)",
        )
        .bind(haven_server::secrets::token_hash(&token))
        .bind(user.as_str())
        .bind(org)
        .bind(device.as_str())
        .bind(now)
        .bind(now)
        .bind(now + 8 * 3600)
        .execute(db)
        .await
        .map_err(|e| e.to_string())?;
        out.push((user.to_string(), token));
    }
    Ok(out)
}

async fn care_team(db: &Pool, org: &str, clinician: &str, patient: &str) -> Result {
    sqlx::query("INSERT INTO care_team (org_id, clinician_id, patient_id) VALUES (?, ?, ?)")
        .bind(org)
        .bind(clinician)
        .bind(patient)
        .execute(db)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// One device with its connection: the sending half here, the receiving half forwarding
/// every text frame, stamped on arrival, to one channel.
struct Member {
    device: Device,
    id: String,
    sink: SplitSink<Socket, Message>,
}

type Arrival = (usize, Instant, Value);

async fn connect(
    client: &Client,
    token: &str,
    device: Device,
    id: String,
    index: usize,
    arrivals: &mpsc::UnboundedSender<Arrival>,
) -> Result<Member> {
    let socket = client.socket(token, &id).await?;
    let (sink, mut stream) = socket.split();
    let tx = arrivals.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            if let Message::Text(text) = message {
                let at = Instant::now();
                if let Ok(value) = serde_json::from_str::<Value>(text.as_str())
                    && tx.send((index, at, value)).is_err()
                {
                    break;
                }
            }
        }
    });
    Ok(Member { device, id, sink })
}

async fn say(member: &mut Member, frame: Value) -> Result {
    member
        .sink
        .send(Message::text(frame.to_string()))
        .await
        .map_err(|e| e.to_string())
}

fn refused(value: &Value) -> Option<String> {
    matches!(value["type"].as_str(), Some("refused" | "error")).then(|| value.to_string())
}

/// The next arrival of `kind` (others of no interest are skipped; a refusal ends the run).
async fn wait_for(arrivals: &mut mpsc::UnboundedReceiver<Arrival>, kind: &str) -> Result<Arrival> {
    loop {
        let arrival = tokio::time::timeout(Duration::from_secs(60), arrivals.recv())
            .await
            .map_err(|_| format!("no {kind} within a minute"))?
            .ok_or("the connections closed")?;
        if let Some(e) = refused(&arrival.2) {
            return Err(format!("refused during the run: {e}"));
        }
        if arrival.2["type"] == kind {
            return Ok(arrival);
        }
    }
}

fn bytes_of(value: &Value) -> Result<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().ok_or("no bytes")?)
        .map_err(|e| e.to_string())
}

/// Starts a conversation about `patient` by `creator`, adding `added` (their KeyPackages
/// made here), and waits until each added device joined from the Welcome.
#[allow(clippy::too_many_arguments)]
async fn open_group(
    client: &Client,
    token: &str,
    patient: &str,
    care_team: bool,
    members: &mut [Member],
    creator: usize,
    added: &[usize],
    trust: &Trust,
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
) -> Result<String> {
    let created = client
        .call(
            "POST",
            "/api/conversations",
            Some(token),
            json!({"patient": patient, "device": members[creator].id, "care_team": care_team}),
        )
        .await?;
    let id = created["id"].as_str().ok_or("no id")?.to_owned();
    let now = unix_now()?;
    let mut packages = Vec::with_capacity(added.len());
    for &i in added {
        packages.extend(
            members[i]
                .device
                .key_packages(1)
                .map_err(|e| e.to_string())?,
        );
    }
    let creator_device = &mut members[creator].device;
    creator_device
        .create(id.as_bytes())
        .map_err(|e| e.to_string())?;
    let commit = creator_device
        .add(id.as_bytes(), &packages, trust, now)
        .map_err(|e| e.to_string())?;
    let welcome = commit.welcome.as_ref().ok_or("no welcome")?;
    let frame = json!({
        "type": "send", "request": 0, "conversation": id, "message": b64(&commit.commit),
        "commit": {
            "welcome": b64(welcome),
            "group_info": commit.group_info.as_deref().map(b64),
        }
    });
    say(&mut members[creator], frame).await?;
    wait_for(arrivals, "accepted").await?;
    members[creator]
        .device
        .confirm(id.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut joined = 0;
    while joined < added.len() {
        let (index, _, frame) = wait_for(arrivals, "deliver").await?;
        let message = bytes_of(&frame["message"])?;
        members[index]
            .device
            .join(&message, trust, now)
            .map_err(|e| e.to_string())?;
        say(
            &mut members[index],
            json!({"type": "ack", "conversation": id, "seq": frame["seq"]}),
        )
        .await?;
        joined += 1;
    }
    Ok(id)
}

pub async fn run() -> Result<Figures> {
    let server = Server::start().await?;
    let db = haven_server::store::open(server.data.path())
        .await
        .map_err(|e| e.to_string())?;
    let (org,): (String,) = sqlx::query_as("SELECT id FROM organisations WHERE is_default = 1")
        .fetch_one(&db)
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        let latency = latency(&server.client, &db, &org).await?;
        let (add, add_commit, add_arrival, add_processing) =
            large_group(&server.client, &db, &org).await?;
        Ok::<_, String>(Figures {
            latency,
            add,
            add_commit,
            add_arrival,
            add_processing,
        })
    }
    .await;
    drop(db);
    server.stop();
    result
}

/// The latency run's figures.
pub struct Latencies {
    /// Send to the recipient's decrypted plaintext.
    pub delivered: Percentiles,
    /// Send to the sender hearing `accepted` (durable and audited).
    pub durable: Percentiles,
    pub echo: Percentiles,
    pub samples: usize,
}

async fn latency(client: &Client, db: &Pool, org: &str) -> Result<Latencies> {
    let clinicians = people(db, org, "clinician", PAIRS, "latency-clinician").await?;
    let patients = people(db, org, "patient", PAIRS, "latency-patient").await?;
    for (c, p) in clinicians.iter().zip(&patients) {
        care_team(db, org, &c.0, &p.0).await?;
    }
    let trust = trust(client, &clinicians[0].1).await?;
    let (tx, mut arrivals) = mpsc::unbounded_channel();
    // Members 2i (clinician) and 2i + 1 (patient).
    let mut members = Vec::with_capacity(2 * PAIRS);
    for (c, p) in clinicians.iter().zip(&patients) {
        for (_, token) in [c, p] {
            let (device, id) = enrol(client, token, &trust).await?;
            let index = members.len();
            members.push(connect(client, token, device, id, index, &tx).await?);
        }
    }
    let mut conversations = Vec::with_capacity(PAIRS);
    for (i, (c, p)) in clinicians.iter().zip(&patients).enumerate() {
        let id = open_group(
            client,
            &c.1,
            &p.0,
            false,
            &mut members,
            2 * i,
            &[2 * i + 1],
            &trust,
            &mut arrivals,
        )
        .await?;
        conversations.push(id);
    }
    // Let the setup's acknowledgements and receipts settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while arrivals.try_recv().is_ok() {}

    // Reference: ping → pong round trips over the clinicians' connections, same pace.
    let total = PAIRS * PER_PAIR;
    let start = Instant::now();
    let mut echo = Vec::with_capacity(total);
    let mut sent = 0;
    let mut ticker = tokio::time::interval(PACE);
    while echo.len() < total {
        tokio::select! {
            _ = ticker.tick(), if sent < total => {
                let at = start.elapsed().as_nanos() as u64;
                say(&mut members[2 * (sent % PAIRS)], json!({"type": "ping", "seq": at})).await?;
                sent += 1;
            }
            arrival = arrivals.recv() => {
                let (_, at, frame) = arrival.ok_or("the connections closed")?;
                if frame["type"] == "pong" {
                    let then = frame["seq"].as_u64().ok_or("no seq")?;
                    echo.push(at.duration_since(start) - Duration::from_nanos(then));
                } else if let Some(e) = refused(&frame) {
                    return Err(e);
                }
            }
        }
    }

    // The full path: encrypt, send, store durably with its audit entry, deliver,
    // decrypt.
    let start = Instant::now();
    let mut samples = Vec::with_capacity(total);
    let mut sent = 0;
    let mut sent_at = Vec::with_capacity(total);
    let mut durable = Vec::with_capacity(total);
    let body_len = 100;
    let mut ticker = tokio::time::interval(PACE);
    while samples.len() < total {
        tokio::select! {
            _ = ticker.tick(), if sent < total => {
                let pair = sent % PAIRS;
                let at = start.elapsed().as_nanos() as u64;
                let mut body = format!("{at:020}").into_bytes();
                body.resize(body_len, b' ');
                let sender = &mut members[2 * pair];
                let message = sender
                    .device
                    .send(conversations[pair].as_bytes(), &body)
                    .map_err(|e| e.to_string())?;
                let frame = json!({
                    "type": "send", "request": sent, "conversation": conversations[pair],
                    "message": b64(&message)
                });
                say(sender, frame).await?;
                sent_at.push(start.elapsed().as_nanos() as u64);
                sent += 1;
            }
            arrival = arrivals.recv() => {
                let (index, stamped, frame) = arrival.ok_or("the connections closed")?;
                if let Some(e) = refused(&frame) {
                    return Err(e);
                }
                if frame["type"] == "accepted" {
                    let request = frame["request"].as_u64().ok_or("no request")? as usize;
                    let then = sent_at.get(request).copied().ok_or("unknown request")?;
                    durable.push(stamped.duration_since(start) - Duration::from_nanos(then));
                }
                if frame["type"] != "deliver" {
                    continue;
                }
                let pair = index / 2;
                let message = bytes_of(&frame["message"])?;
                let received = members[index]
                    .device
                    .receive(conversations[pair].as_bytes(), &message, &trust, unix_now()?)
                    .map_err(|e| e.to_string())?;
                let shown = Instant::now();
                let haven_mls::Received::Message { body, .. } = received else {
                    return Err("expected a message".to_owned());
                };
                let then: u64 = std::str::from_utf8(body.get(..20).ok_or("short body")?)
                    .map_err(|e| e.to_string())?
                    .parse()
                    .map_err(|_| "not a time")?;
                samples.push(shown.duration_since(start) - Duration::from_nanos(then));
                say(
                    &mut members[index],
                    json!({"type": "ack", "conversation": conversations[pair], "seq": frame["seq"]}),
                )
                .await?;
            }
        }
    }
    Ok(Latencies {
        delivered: percentiles(samples),
        durable: percentiles(durable),
        echo: percentiles(echo),
        samples: total,
    })
}

type GroupFigures = (Percentiles, Percentiles, Percentiles, Percentiles);

async fn large_group(client: &Client, db: &Pool, org: &str) -> Result<GroupFigures> {
    // One patient and enough clinicians of their care team, ten devices each. The first
    // device is a clinician's (only clinicians bring people in), the patient's ten
    // come next.
    let devices_needed = GROUP + ADD_ROUNDS;
    let per_user = haven_protocol::messaging::MAX_DEVICES_PER_USER as usize;
    let patient = people(db, org, "patient", 1, "group-patient").await?;
    let clinicians = people(db, org, "clinician", group_clinicians(), "group-clinician").await?;
    for c in &clinicians {
        care_team(db, org, &c.0, &patient[0].0).await?;
    }
    let mut owners: Vec<&str> = vec![clinicians[0].1.as_str()];
    owners.extend(std::iter::repeat_n(patient[0].1.as_str(), per_user));
    for (i, c) in clinicians.iter().enumerate() {
        let slots = if i == 0 { per_user - 1 } else { per_user };
        owners.extend(std::iter::repeat_n(c.1.as_str(), slots));
    }
    let trust = trust(client, owners[0]).await?;
    let (tx, mut arrivals) = mpsc::unbounded_channel();
    let mut members = Vec::with_capacity(devices_needed);
    for (index, token) in owners.iter().take(devices_needed).enumerate() {
        let (device, id) = enrol(client, token, &trust).await?;
        members.push(connect(client, token, device, id, index, &tx).await?);
    }
    if members.len() < devices_needed {
        return Err("not enough devices for the group".to_owned());
    }
    let everyone_else: Vec<usize> = (1..GROUP).collect();
    let conversation = open_group(
        client,
        owners[0],
        &patient[0].0,
        true,
        &mut members,
        0,
        &everyone_else,
        &trust,
        &mut arrivals,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    while arrivals.try_recv().is_ok() {}

    let key = conversation.as_bytes();
    let (mut rounds, mut commits, mut lasts, mut slowest) = (vec![], vec![], vec![], vec![]);
    for round in 0..ADD_ROUNDS {
        let newcomer = GROUP + round;
        let package = members[newcomer]
            .device
            .key_packages(1)
            .map_err(|e| e.to_string())?;
        let now = unix_now()?;
        // Phase one: the adder commits; the server stores it and fans it out; every
        // member's connection (and the newcomer's) receives it.
        let start = Instant::now();
        let commit = members[0]
            .device
            .add(key, &package, &trust, now)
            .map_err(|e| e.to_string())?;
        let committed = start.elapsed();
        let welcome = commit.welcome.as_ref().ok_or("no welcome")?;
        let frame = json!({
            "type": "send", "request": round + 1, "conversation": conversation,
            "message": b64(&commit.commit),
            "commit": {"welcome": b64(welcome)}
        });
        say(&mut members[0], frame).await?;
        let mut arrived: Vec<Option<(Instant, Value)>> = vec![None; newcomer + 1];
        let mut waiting = newcomer + 1;
        while waiting > 0 {
            let (index, at, frame) = tokio::time::timeout(Duration::from_secs(60), arrivals.recv())
                .await
                .map_err(|_| "the Add did not reach everyone within a minute")?
                .ok_or("the connections closed")?;
            if let Some(e) = refused(&frame) {
                return Err(e);
            }
            let wanted = (index == 0 && frame["type"] == "accepted")
                || (index != 0 && frame["type"] == "deliver");
            if wanted && index <= newcomer && arrived[index].is_none() {
                arrived[index] = Some((at, frame));
                waiting -= 1;
            }
        }
        // Phase two: each device processes what it received, timed on its own.
        let mut worst = (Duration::ZERO, Duration::ZERO);
        for (index, arrival) in arrived.into_iter().enumerate() {
            let Some((at, frame)) = arrival else {
                return Err("a device received nothing".to_owned());
            };
            let begin = Instant::now();
            let member = &mut members[index];
            if index == 0 {
                member.device.confirm(key).map_err(|e| e.to_string())?;
            } else {
                let message = bytes_of(&frame["message"])?;
                if index == newcomer {
                    member
                        .device
                        .join(&message, &trust, now)
                        .map_err(|e| e.to_string())?;
                } else {
                    member
                        .device
                        .receive(key, &message, &trust, now)
                        .map_err(|e| e.to_string())?;
                }
            }
            let processing = begin.elapsed();
            let total = at.duration_since(start) + processing;
            if total > worst.0 {
                worst = (total, processing);
            }
            if index != 0 {
                say(
                    member,
                    json!({"type": "ack", "conversation": conversation, "seq": frame["seq"]}),
                )
                .await?;
            }
            // The arrival of the last frame, as the server and network delivered it.
            lasts.push(at.duration_since(start));
        }
        rounds.push(worst.0);
        commits.push(committed);
        slowest.push(worst.1);
        // Acknowledgements and receipts of this round settle before the next.
        tokio::time::sleep(Duration::from_millis(200)).await;
        while arrivals.try_recv().is_ok() {}
    }
    Ok((
        percentiles(rounds),
        percentiles(commits),
        percentiles(lasts),
        percentiles(slowest),
    ))
}

/// Clinicians needed for the group and its newcomers, besides the patient's devices.
fn group_clinicians() -> usize {
    let per_user = haven_protocol::messaging::MAX_DEVICES_PER_USER as usize;
    (GROUP + ADD_ROUNDS - per_user).div_ceil(per_user)
}

/// The BENCHMARKS.md section.
pub fn section(f: &Figures, date: &str, machine: &str) -> String {
    format!(
        "## Messaging at scale: latency with 200 clients, and adding to a 250-member group (issue 12)\n\n\
         Measured by `cargo xtask bench` on {date}, {machine}. The release server runs in the \
         bench process on a runtime of one thread, pinned with SQLite's workers to one core of its own, embedded SQLite with \
         `synchronous=FULL`; the MLS clients (native, the same `haven-mls` code the browser \
         runs) share one other thread. Milliseconds.\n\n\
         ### Delivery latency, 200 connected clients\n\n\
         {pairs} clinician–patient pairs, each in its own conversation, every device on its own \
         WSS connection over loopback. The clinicians send in turn, one message every \
         {pace} ms ({samples} messages; each clinician every {each} ms). The clients' MLS work \
         shares one core, so a faster pace would time their queue rather than the path; the \
         throughput is measured above. Latency runs from just before the sender encrypts to \
         just after the recipient decrypted (the message durable, sequenced and audited on the \
         way). The reference is a `ping` → `pong` round trip over the same connections at the \
         same pace, measured just before.\n\n\
         | what | p50 | p99 |\n| --- | ---: | ---: |\n\
         | reference: WebSocket echo round trip | {ep50:.2} | {ep99:.2} |\n\
         | send → the sender hears `accepted` (durable, audited) | {dp50:.2} | {dp99:.2} |\n\
         | send → durable → delivered → decrypted | **{lp50:.2}** | **{lp99:.2}** |\n\n\
         Target (issue 12): p99 under 50 ms.\n\n\
         ### Adding one member to a 250-member group\n\n\
         A care-team conversation of {group} member devices (a patient and {clinicians} clinicians, \
         ten devices each), grown by one device per round for {rounds} rounds. The devices share \
         one thread here, so each round is timed in two phases: the adder's commit and the \
         frames' arrival at all {group} connections first (nothing else running), then each \
         device's processing of the Add, timed on its own as on its own computer. A round's \
         figure is the largest arrival-plus-processing over all devices (the adder's includes \
         its commit and the server's `accepted`).\n\n\
         | what | p50 | p95 |\n| --- | ---: | ---: |\n\
         | the adder creates the commit (with path) | {cp50:.1} | {cp95:.1} |\n\
         | a frame reaches a member's connection (after the commit is sent; every device, every round) | {ap50:.1} | {ap95:.1} |\n\
         | the slowest device's processing | {pp50:.1} | {pp95:.1} |\n\
         | **until every member device processed the Add** | **{rp50:.1}** | **{rp95:.1}** |\n\n\
         Target (issue 12): p95 under 375 ms on loopback.",
        pairs = PAIRS,
        pace = PACE.as_millis(),
        each = PACE.as_millis() * PAIRS as u128,
        samples = f.latency.samples,
        ep50 = f.latency.echo.p50,
        ep99 = f.latency.echo.p99,
        dp50 = f.latency.durable.p50,
        dp99 = f.latency.durable.p99,
        lp50 = f.latency.delivered.p50,
        lp99 = f.latency.delivered.p99,
        group = GROUP,
        clinicians = group_clinicians(),
        rounds = ADD_ROUNDS,
        cp50 = f.add_commit.p50,
        cp95 = f.add_commit.p95,
        ap50 = f.add_arrival.p50,
        ap95 = f.add_arrival.p95,
        pp50 = f.add_processing.p50,
        pp95 = f.add_processing.p95,
        rp50 = f.add.p50,
        rp95 = f.add.p95,
    )
}
