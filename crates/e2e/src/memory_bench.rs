//! The Delivery Service's memory under a backlog attack (issue 22): the resident memory
//! of the real `haven-server` process while 20 connections subscribe devices that each
//! have 300 MiB of messages waiting, beside the same process idle.
//!
//! The server runs as a process of its own (`haven-server serve --demo`), so what
//! `/proc/<pid>/status` says is its memory alone; the clients here share the machine
//! but not the address space. A clinician's device writes the backlog through the
//! ordinary API: real MLS application messages of about 1 MiB each to a conversation
//! with the patient's devices and the clinician's other devices, none of which ever
//! reads them until the attack. Then two phases, each on devices whose backlog nothing
//! has touched: connections that read and acknowledge as fast as they can, and
//! connections that subscribe and never read (a hostile client).
//!
//! Trust: the attacking clients speak the protocol correctly and hold valid sessions;
//! what they attack is the server's memory, by asking for everything at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use haven_mls::Device;
use haven_protocol::messaging::{DELIVERY_WINDOW, MAX_MLS_MESSAGE_BYTES, to_hex};
use haven_protocol::ws::MAX_FRAME_BYTES;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::delivery_bench::{Client, Socket, b64, enrol, next, send, trust, unhex};
use crate::{Result, ServerProcess};

const MIB: u64 = 1024 * 1024;
/// Messages in the backlog of each receiving device.
const BACKLOG: usize = 300;
/// Text of each message: with MLS's framing, signature, padding and tag the message
/// stays just under `MAX_MLS_MESSAGE_BYTES` (1 MiB).
const PLAINTEXT: usize = 1_040_000;
/// Sends in flight while the backlog is written.
const SEND_WINDOW: usize = 4;
/// Connections per subscribed device, in each phase (two devices per phase).
const PER_DEVICE: usize = 10;
/// A reading connection stops once it has received this much...
const READ_BUDGET: u64 = 64 * MIB;
/// ...or after this long.
const READ_FOR: Duration = Duration::from_secs(20);
/// How long the connections that never read are held open.
const HOLD_FOR: Duration = Duration::from_secs(5);
/// Between two readings of the server's resident memory during an attack.
const SAMPLE_EVERY: Duration = Duration::from_millis(25);
/// After the backlog is written, before the idle figure.
const SETTLE: Duration = Duration::from_secs(2);
/// Readings, a second apart, whose median is the idle figure.
const IDLE_SAMPLES: usize = 5;
/// How long any one answer of the server may take during the setup.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);
/// The target (issue 22): an attack's peak stays less than this above idle, in MiB.
pub const TARGET_MIB: u64 = 100;

pub struct Figures {
    /// Messages in each device's backlog, and the size of one (MLS bytes).
    pub messages: usize,
    pub message_bytes: usize,
    /// What each receiving device has waiting.
    pub backlog_bytes: u64,
    /// Seconds the clinician's device took to write the backlog.
    pub write_secs: f64,
    /// Resident memory, in bytes: before the backlog was written (one reading), then
    /// idle after it.
    pub before_backlog: u64,
    pub idle: u64,
    pub reading_median: u64,
    pub reading_peak: u64,
    pub reading_samples: usize,
    /// MLS bytes and messages delivered to the 20 reading connections together.
    pub delivered_bytes: u64,
    pub delivered_messages: u64,
    /// From the first `subscribe` to the last delivery.
    pub reading_secs: f64,
    /// `error` frames the reading connections received.
    pub reading_errors: usize,
    pub hostile_peak: u64,
    pub hostile_samples: usize,
    /// Whether the kernel's high-water mark (`VmHWM`, reset before each phase) was
    /// counted in the peaks besides the samples.
    pub peak_from_kernel: bool,
}

/// A field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
fn status_bytes(pid: u32, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| format!("no {field} in {path}"))
}

/// Resets the kernel's high-water mark of `pid`'s resident memory to its current size
/// (Linux `clear_refs` 5); `false` where that is refused, and the samples alone count.
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

fn median(mut samples: Vec<u64>) -> u64 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or(0)
}

/// Reads `pid`'s resident memory every [`SAMPLE_EVERY`] on a thread of its own, so a
/// busy client runtime does not thin the samples out.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u64>>,
}

impl Sampler {
    fn start(pid: u32) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rss-sampler".to_owned())
            .spawn(move || {
                let mut samples = Vec::new();
                while !stopped.load(Ordering::Relaxed) {
                    if let Ok(rss) = status_bytes(pid, "VmRSS") {
                        samples.push(rss);
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
                samples
            })
            .map_err(|e| e.to_string())?;
        Ok(Self { stop, thread })
    }

    fn finish(self) -> Result<Vec<u64>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| "the memory sampler failed".to_owned())
    }
}

/// The peak of a phase: the highest sample, and the kernel's high-water mark since
/// [`reset_peak`] when that worked.
fn peak(pid: u32, samples: &[u64], from_kernel: bool) -> u64 {
    let sampled = samples.iter().copied().max().unwrap_or(0);
    let kernel = if from_kernel {
        status_bytes(pid, "VmHWM").unwrap_or(0)
    } else {
        0
    };
    sampled.max(kernel)
}

fn unix_now() -> Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs())
}

/// The next answer to a `send` on the setup connection (other frames are skipped); a
/// refusal ends the run.
async fn accepted(socket: &mut Socket) -> Result<Value> {
    loop {
        let frame = tokio::time::timeout(ANSWER_WITHIN, next(socket))
            .await
            .map_err(|_| "no answer to a send within a minute".to_owned())??;
        match frame["type"].as_str() {
            Some("accepted") => return Ok(frame),
            Some("refused" | "error") => return Err(format!("a send was refused: {frame}")),
            _ => {}
        }
    }
}

/// Publishes one KeyPackage of `device` (`id`), for the add that brings it into the
/// conversation.
async fn publish(client: &Client, token: &str, device: &mut Device, id: &str) -> Result {
    let packages: Vec<Value> = device
        .key_packages(1)
        .map_err(|e| e.to_string())?
        .iter()
        .map(|p| json!(to_hex(p)))
        .collect();
    client
        .call(
            "POST",
            &format!("/api/mls/devices/{id}/key-packages"),
            Some(token),
            json!({"key_packages": packages}),
        )
        .await?;
    Ok(())
}

async fn user_id(client: &Client, token: &str) -> Result<String> {
    let session = client
        .call("GET", "/api/session", Some(token), Value::Null)
        .await?;
    Ok(session["user_id"].as_str().ok_or("no user")?.to_owned())
}

/// A signed-in connection of `token`'s person. The previous phase's connections may
/// not all have been let go by the server yet (a person may hold only so many), so a
/// refusal is tried again for a while.
async fn signed_in(client: &Client, token: &str) -> Result<Socket> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.signed_in_socket(token).await {
            Ok(socket) => return Ok(socket),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Closes a connection without waiting long for the server, which may be busy
/// writing to it.
async fn close(mut socket: Socket) {
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
}

/// MLS bytes in `text`, standard base64.
fn decoded_len(text: &str) -> u64 {
    let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding) as u64
}

/// What one reading connection received.
struct Read {
    bytes: u64,
    messages: u64,
    errors: usize,
    last: Option<Instant>,
}

/// Subscribes `device` on `socket`, then reads and acknowledges every delivery as it
/// comes, until [`READ_BUDGET`] arrived or `deadline` passed.
async fn read_and_ack(mut socket: Socket, device: String, deadline: Instant) -> Result<Read> {
    send(&mut socket, json!({"type": "subscribe", "device": device})).await?;
    let mut read = Read {
        bytes: 0,
        messages: 0,
        errors: 0,
        last: None,
    };
    let mut subscribed = false;
    let until = tokio::time::Instant::from_std(deadline);
    while read.bytes < READ_BUDGET {
        let message = match tokio::time::timeout_at(until, socket.next()).await {
            Err(_) => break,
            Ok(Some(Ok(message))) => message,
            Ok(other) => return Err(format!("a reading connection ended: {other:?}")),
        };
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
        match frame["type"].as_str() {
            Some("subscribed") => subscribed = true,
            Some("deliver") => {
                let (Some(conversation), Some(seq), Some(body)) = (
                    frame["conversation"].as_str(),
                    frame["seq"].as_u64(),
                    frame["message"].as_str(),
                ) else {
                    return Err("a delivery without its conversation, seq or message".into());
                };
                read.bytes += decoded_len(body);
                read.messages += 1;
                read.last = Some(Instant::now());
                send(
                    &mut socket,
                    json!({"type": "ack", "conversation": conversation, "seq": seq}),
                )
                .await?;
            }
            Some("gap") => {
                let (Some(conversation), Some(to)) =
                    (frame["conversation"].as_str(), frame["to"].as_u64())
                else {
                    return Err("a gap without its conversation or end".into());
                };
                send(
                    &mut socket,
                    json!({"type": "ack", "conversation": conversation, "seq": to}),
                )
                .await?;
            }
            Some("error") if !subscribed => {
                return Err(format!("subscribe refused: {frame}"));
            }
            Some("error") => read.errors += 1,
            _ => {}
        }
    }
    close(socket).await;
    Ok(read)
}

pub async fn run() -> Result<Figures> {
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = ServerProcess::start(data.path(), 0, &["--demo"])?;
    let pid = server.pid().ok_or("the server has no process id")?;
    let client = Client::of(&server)?;

    // Who is who: the clinician writes from C1; the patient's P1 and the clinician's C2
    // are read in the first phase, P2 and C3 (the same backlog, untouched) in the second.
    // 300 MiB of backlog a device is past the default storage quotas: the clinic's
    // administrator raises them, as a clinic expecting this would.
    let admin = client.sign_in("admin@demo.haven").await?;
    let most =
        json!({"bytes_per_day": 100_000_000_000_000u64, "bytes_held": 100_000_000_000_000u64});
    client
        .call(
            "PUT",
            "/api/org/quotas",
            Some(&admin),
            json!({"device": most, "person": most, "organisation": most}),
        )
        .await?;
    let clinician = client.sign_in("clinician@demo.haven").await?;
    let patient = client.sign_in("patient@demo.haven").await?;
    let trust = trust(&client, &clinician).await?;
    let (mut c1, c1_id) = enrol(&client, &clinician, &trust).await?;
    let (mut c2, c2_id) = enrol(&client, &clinician, &trust).await?;
    let (mut c3, c3_id) = enrol(&client, &clinician, &trust).await?;
    let (mut p1, p1_id) = enrol(&client, &patient, &trust).await?;
    let (mut p2, p2_id) = enrol(&client, &patient, &trust).await?;
    publish(&client, &clinician, &mut c2, &c2_id).await?;
    publish(&client, &clinician, &mut c3, &c3_id).await?;
    publish(&client, &patient, &mut p1, &p1_id).await?;
    publish(&client, &patient, &mut p2, &p2_id).await?;
    let clinician_user = user_id(&client, &clinician).await?;
    let patient_user = user_id(&client, &patient).await?;

    let created = client
        .call(
            "POST",
            "/api/conversations",
            Some(&clinician),
            json!({"patient": patient_user, "device": c1_id}),
        )
        .await?;
    let conversation = created["id"]
        .as_str()
        .ok_or("no conversation id")?
        .to_owned();
    let group = conversation.as_bytes();
    c1.create(group).map_err(|e| e.to_string())?;
    let claimed = client
        .call(
            "POST",
            "/api/mls/key-packages/claim",
            Some(&clinician),
            json!({
                "users": [patient_user, clinician_user],
                "devices": [p1_id, p2_id, c2_id, c3_id],
            }),
        )
        .await?;
    let packages: Vec<Vec<u8>> = claimed
        .as_array()
        .ok_or("the claim returned no list")?
        .iter()
        .filter_map(|c| c["key_package"].as_str())
        .map(unhex)
        .collect();
    if packages.len() != 4 {
        return Err(format!(
            "claimed {} KeyPackages for 4 devices",
            packages.len()
        ));
    }
    let commit = c1
        .add(group, &packages, &trust, unix_now()?)
        .map_err(|e| e.to_string())?;
    let welcome = commit.welcome.as_ref().ok_or("no welcome")?;
    let mut setup = client.socket(&clinician, &c1_id).await?;
    send(
        &mut setup,
        json!({
            "type": "send", "request": 0, "conversation": conversation,
            "message": b64(&commit.commit),
            "commit": {
                "welcome": b64(welcome),
                "group_info": commit.group_info.as_deref().map(b64),
            }
        }),
    )
    .await?;
    accepted(&mut setup).await?;
    c1.confirm(group).map_err(|e| e.to_string())?;

    // The backlog: a few sends in flight, each answered once it is durable. The first is
    // waited for on its own, so a message of this size being refused says so at once.
    let before_backlog = status_bytes(pid, "VmRSS")?;
    let text = vec![b'x'; PLAINTEXT];
    let mut message_bytes = 0;
    let mut backlog_bytes = 0u64;
    let mut in_flight = 0;
    let writing = Instant::now();
    for i in 0..BACKLOG {
        let message = c1.send(group, &text).map_err(|e| e.to_string())?;
        if message.len() > MAX_MLS_MESSAGE_BYTES {
            return Err(format!(
                "{PLAINTEXT} bytes of text make an MLS message of {} bytes, over {MAX_MLS_MESSAGE_BYTES}",
                message.len()
            ));
        }
        message_bytes = message.len();
        backlog_bytes += message.len() as u64;
        let frame = json!({
            "type": "send", "request": i + 1, "conversation": conversation,
            "message": b64(&message),
        })
        .to_string();
        if frame.len() > MAX_FRAME_BYTES {
            return Err(format!(
                "a send of {} bytes is over the frame limit of {MAX_FRAME_BYTES}",
                frame.len()
            ));
        }
        setup
            .send(Message::text(frame))
            .await
            .map_err(|e| e.to_string())?;
        in_flight += 1;
        if i == 0 || in_flight >= SEND_WINDOW {
            accepted(&mut setup)
                .await
                .map_err(|e| format!("{e} (a message of {message_bytes} bytes)"))?;
            in_flight -= 1;
        }
    }
    while in_flight > 0 {
        accepted(&mut setup).await?;
        in_flight -= 1;
    }
    let write_secs = writing.elapsed().as_secs_f64();
    close(setup).await;
    drop(text);

    tokio::time::sleep(SETTLE).await;
    let mut idle_samples = Vec::with_capacity(IDLE_SAMPLES);
    for i in 0..IDLE_SAMPLES {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        idle_samples.push(status_bytes(pid, "VmRSS")?);
    }
    let idle = median(idle_samples);

    // Phase 1: 20 connections subscribe at once and read as fast as they can. They
    // sign in first, one after another (a server lets an address hold only a few
    // connections that have not), so that all subscribe together.
    let mut readers = Vec::with_capacity(2 * PER_DEVICE);
    for (token, device) in [(&patient, &p1_id), (&clinician, &c2_id)] {
        for _ in 0..PER_DEVICE {
            readers.push((signed_in(&client, token).await?, device.clone()));
        }
    }
    let peak_from_kernel = reset_peak(pid);
    let sampler = Sampler::start(pid)?;
    let start = Instant::now();
    let deadline = start + READ_FOR;
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|(socket, device)| tokio::spawn(read_and_ack(socket, device, deadline)))
        .collect();
    let mut reads = Vec::with_capacity(tasks.len());
    for task in tasks {
        reads.push(task.await.map_err(|e| e.to_string())?);
    }
    let ended = start.elapsed();
    let samples = sampler.finish()?;
    let reading_peak = peak(pid, &samples, peak_from_kernel);
    let reading_samples = samples.len();
    let reading_median = median(samples);
    let mut delivered_bytes = 0;
    let mut delivered_messages = 0;
    let mut reading_errors = 0;
    let mut last = None::<Instant>;
    for read in reads {
        let read = read?;
        delivered_bytes += read.bytes;
        delivered_messages += read.messages;
        reading_errors += read.errors;
        last = last.max(read.last);
    }
    let reading_secs = last
        .map_or(ended, |at| at.duration_since(start))
        .as_secs_f64();

    // Phase 2: 20 connections subscribe the two untouched devices and never read.
    let mut hostile = Vec::with_capacity(2 * PER_DEVICE);
    for (token, device) in [(&patient, &p2_id), (&clinician, &c3_id)] {
        for _ in 0..PER_DEVICE {
            hostile.push((signed_in(&client, token).await?, device.clone()));
        }
    }
    let peak_from_kernel = reset_peak(pid) && peak_from_kernel;
    let sampler = Sampler::start(pid)?;
    for (socket, device) in &mut hostile {
        send(socket, json!({"type": "subscribe", "device": device})).await?;
    }
    tokio::time::sleep(HOLD_FOR).await;
    let samples = sampler.finish()?;
    let hostile_peak = peak(pid, &samples, peak_from_kernel);
    let hostile_samples = samples.len();
    // A hostile client just goes: the server learns it when its writes fail.
    drop(hostile);
    drop(server);

    Ok(Figures {
        messages: BACKLOG,
        message_bytes,
        backlog_bytes,
        write_secs,
        before_backlog,
        idle,
        reading_median,
        reading_peak,
        reading_samples,
        delivered_bytes,
        delivered_messages,
        reading_secs,
        reading_errors,
        hostile_peak,
        hostile_samples,
        peak_from_kernel,
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// `value` above `idle`, in MiB, signed.
fn above(value: u64, idle: u64) -> f64 {
    mib(value) - mib(idle)
}

fn verdict(value: u64, idle: u64) -> &'static str {
    if above(value, idle) < TARGET_MIB as f64 {
        "within the target"
    } else {
        "over the target"
    }
}

/// The BENCHMARKS.md section.
pub fn section(f: &Figures, date: &str, machine: &str) -> String {
    let rate = if f.reading_secs > 0.0 {
        mib(f.delivered_bytes) / f.reading_secs
    } else {
        0.0
    };
    let kernel = if f.peak_from_kernel {
        ", and each peak also counts the kernel's high-water mark (`VmHWM`, reset before each \
         phase), so a spike between two samples is not missed"
    } else {
        " (the kernel's high-water mark could not be reset here, so the peaks are the \
         highest samples)"
    };
    format!(
        "## Delivery Service: memory under a backlog attack (issue 22)\n\n\
         Measured by `cargo xtask bench` on {date}, {machine}. The release `haven-server` runs \
         as a process of its own (`serve --demo`, a fresh data directory); its resident memory \
         is `VmRSS` from `/proc/<pid>/status`, read every {every} ms during each attack{kernel}. \
         A clinician's device wrote {messages} MLS application messages of {size} bytes each \
         (the limit is {limit} bytes) to a conversation with two devices of the patient and two \
         more of the clinician (a device is not sent its own messages), {window} in flight, in \
         {write:.0} s: each of those four devices then has {backlog:.0} MiB waiting. Idle is the \
         median of {idle_n} readings a second apart, after the writes settled.\n\n\
         Reading attack: {n} connections at once, {per} subscribing the patient's first device \
         and {per} the clinician's second, each reading every delivery and acknowledging it at \
         once, until it received {budget} MiB or {secs} s passed. Non-reading attack: {n} more \
         connections subscribe the other two devices (whose backlog nothing has touched) and \
         never read, held for {hold} s.\n\n\
         | what | resident memory | above idle |\n| --- | ---: | ---: |\n\
         | reference: the same server before the backlog was written | {before:.0} MiB | {before_d:+.0} MiB |\n\
         | idle, after the backlog was written | {idle:.0} MiB | |\n\
         | reading attack, median of {rs} readings | {rm:.0} MiB | {rm_d:+.0} MiB |\n\
         | reading attack, peak | {rp:.0} MiB | **{rp_d:+.0} MiB** |\n\
         | non-reading attack, peak of {hs} readings | {hp:.0} MiB | **{hp_d:+.0} MiB** |\n\n\
         | reading attack | figure |\n| --- | ---: |\n\
         | delivered to the {n} connections together | {delivered} messages, {delivered_mib:.0} MiB |\n\
         | throughput, first `subscribe` to last delivery ({reading:.1} s) | {rate:.0} MiB/s |\n\
         | `error` frames received | {errors} |\n\n\
         Target (issue 22): under {target} MiB above idle while the attack runs. This run: the \
         reading attack's peak is {v_read}, the non-reading attack's {v_hostile}. What bounds \
         it: a connection has at most {in_flight} MiB of messages sent and not yet \
         acknowledged (one message always goes when none is), and at most {delivery_window} \
         per conversation, and reads a conversation's messages from the store only as far as \
         that allows; a connection that does not read is sent nothing more once that much is \
         on its way.",
        every = SAMPLE_EVERY.as_millis(),
        messages = f.messages,
        size = f.message_bytes,
        limit = MAX_MLS_MESSAGE_BYTES,
        window = SEND_WINDOW,
        write = f.write_secs,
        backlog = mib(f.backlog_bytes),
        idle_n = IDLE_SAMPLES,
        n = 2 * PER_DEVICE,
        per = PER_DEVICE,
        budget = READ_BUDGET / MIB,
        secs = READ_FOR.as_secs(),
        hold = HOLD_FOR.as_secs(),
        before = mib(f.before_backlog),
        before_d = above(f.before_backlog, f.idle),
        idle = mib(f.idle),
        rs = f.reading_samples,
        rm = mib(f.reading_median),
        rm_d = above(f.reading_median, f.idle),
        rp = mib(f.reading_peak),
        rp_d = above(f.reading_peak, f.idle),
        hs = f.hostile_samples,
        hp = mib(f.hostile_peak),
        hp_d = above(f.hostile_peak, f.idle),
        delivered = f.delivered_messages,
        delivered_mib = mib(f.delivered_bytes),
        reading = f.reading_secs,
        errors = f.reading_errors,
        target = TARGET_MIB,
        v_read = verdict(f.reading_peak, f.idle),
        v_hostile = verdict(f.hostile_peak, f.idle),
        in_flight = haven_server::delivery::socket::BYTES_IN_FLIGHT as u64 / MIB,
        delivery_window = DELIVERY_WINDOW,
    )
}
