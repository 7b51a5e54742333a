//! Timings of each MLS operation for groups of 2, 10 and 100, by the very same code
//! natively and in headless Chromium. Compiled only with the `bench` feature, which
//! `cargo xtask bench` turns on to run it both ways (release builds) and write the
//! figures, with the browser/native ratio, to BENCHMARKS.md. Each printed line is
//! `HAVEN-BENCH {json}`.

#![cfg(feature = "bench")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a bench fails loudly

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use ed25519_dalek::SigningKey;
use haven_mls::public::PublicConversation;
use haven_mls::{CertificateBody, Commit, Device, Issuer, Trust};
use haven_protocol::access::Role;
use haven_protocol::identity::Id;

const CONVERSATION: &[u8] = b"bench0123456789abcdef0123456789ab";
const NOW: u64 = 1_800_000_000;

/// Milliseconds from an arbitrary start.
#[cfg(target_arch = "wasm32")]
fn clock() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

#[cfg(not(target_arch = "wasm32"))]
fn clock() -> f64 {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1000.0
}

struct Org {
    issuer: Issuer,
    trust: Trust,
    next: u32,
}

impl Org {
    fn device(&mut self, role: Role) -> Device {
        self.next += 1;
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&self.next.to_be_bytes());
        let mut device = Device::new().unwrap();
        let body = CertificateBody {
            organisation: self.trust.organisation.clone(),
            user: Id::from_bytes(id),
            role,
            name: format!("Member {}", self.next),
            device: Id::from_bytes(id),
            signature_key: device
                .signature_key()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            not_before: 0,
            not_after: u64::MAX,
        };
        let cert = self.issuer.issue(body).unwrap();
        device.certify(cert.encoded(), &self.trust, NOW).unwrap();
        device
    }
}

/// The server's public view of the group `creator` started with its first commit.
fn view_of(creator: &Device, first: &Commit, trust: &Trust) -> PublicConversation {
    let device = creator.certificate().unwrap().body().device.clone();
    let mut view = PublicConversation::start(
        first.group_info.as_ref().unwrap(),
        CONVERSATION,
        &device,
        trust,
        NOW,
    )
    .unwrap();
    view.commit(&first.commit, trust, NOW).unwrap();
    view
}

impl Org {
    /// The benchmark's organisation, the same in every run.
    fn new() -> Self {
        let issuer = Issuer::new(SigningKey::from_bytes(&[9; 32]));
        let trust = Trust::new(Id::from_bytes([9; 16]), issuer.verifying_key());
        Self {
            issuer,
            trust,
            next: 0,
        }
    }
}

/// Lets the browser's event loop run (the page must answer its driver); nothing natively.
#[cfg(target_arch = "wasm32")]
async fn breathe() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

#[cfg(not(target_arch = "wasm32"))]
async fn breathe() {}

/// Off during the warm-up round, whose figures include the browser compiling the wasm.
static REPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn report(op: &str, members: usize, micros: f64) {
    if !REPORTING.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let platform = if cfg!(target_arch = "wasm32") {
        "browser"
    } else {
        "native"
    };
    let line = format!(
        "HAVEN-BENCH {{\"platform\":\"{platform}\",\"op\":\"{op}\",\"members\":{members},\"micros\":{micros:.1}}}"
    );
    // std's stdout goes nowhere in the browser; the test runner collects the console.
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
    #[cfg(not(target_arch = "wasm32"))]
    println!("{line}");
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// A (the committer) and B (who processes) in a group of `members`; the others joined
/// and stay passive.
async fn measure(members: usize) {
    let mut org = Org::new();
    let trust = org.trust.clone();
    let mut a = org.device(Role::Clinician);
    let mut b = org.device(Role::Clinician);
    let mut others: Vec<Device> = (2..members).map(|_| org.device(Role::Patient)).collect();

    let start = clock();
    let reps = 20;
    let _ = a.key_packages(reps).unwrap();
    report(
        "create KeyPackage",
        members,
        (clock() - start) * 1000.0 / reps as f64,
    );

    a.create(CONVERSATION).unwrap();
    let mut packages = vec![b.key_packages(1).unwrap().remove(0)];
    for other in &mut others {
        packages.push(other.key_packages(1).unwrap().remove(0));
    }
    let commit = a.add(CONVERSATION, &packages, &trust, NOW).unwrap();
    a.confirm(CONVERSATION).unwrap();
    // The Delivery Service's view, which checks every commit below as the server does.
    let mut view = view_of(&a, &commit, &trust);
    let welcome = commit.welcome.unwrap();
    b.join(&welcome, &trust, NOW).unwrap();
    // The others join too, so the tree is the real one (their keys are in it already).
    for other in &mut others {
        other.join(&welcome, &trust, NOW).unwrap();
        breathe().await;
    }
    // A full tree: every member commits with a path once, processed by A and B.
    let mut updates: Vec<Vec<u8>> = Vec::new();
    for other in others.iter_mut() {
        for earlier in &updates {
            other.receive(CONVERSATION, earlier, &trust, NOW).unwrap();
        }
        let update = other.update(CONVERSATION, &trust).unwrap();
        other.confirm(CONVERSATION).unwrap();
        a.receive(CONVERSATION, &update.commit, &trust, NOW)
            .unwrap();
        b.receive(CONVERSATION, &update.commit, &trust, NOW)
            .unwrap();
        view.commit(&update.commit, &trust, NOW).unwrap();
        updates.push(update.commit);
        breathe().await;
    }
    let update = b.update(CONVERSATION, &trust).unwrap();
    b.confirm(CONVERSATION).unwrap();
    a.receive(CONVERSATION, &update.commit, &trust, NOW)
        .unwrap();
    view.commit(&update.commit, &trust, NOW).unwrap();

    // Medians of more rounds where a round is cheap: small groups are the noisiest.
    let rounds = if members <= 10 { 15 } else { 5 };
    let (mut add, mut add_processed, mut remove, mut remove_processed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut path, mut path_processed) = (Vec::new(), Vec::new());
    let mut checked = Vec::new();
    for _ in 0..rounds {
        breathe().await;
        let mut newcomer = org.device(Role::Patient);
        let package = newcomer.key_packages(1).unwrap();
        let t = clock();
        let commit = a.add(CONVERSATION, &package, &trust, NOW).unwrap();
        a.confirm(CONVERSATION).unwrap();
        add.push(clock() - t);
        let t = clock();
        b.receive(CONVERSATION, &commit.commit, &trust, NOW)
            .unwrap();
        add_processed.push(clock() - t);
        view.commit(&commit.commit, &trust, NOW).unwrap();

        let gone = newcomer.certificate().unwrap().body().device.clone();
        let t = clock();
        let commit = a.remove(CONVERSATION, &[gone], &trust).unwrap();
        a.confirm(CONVERSATION).unwrap();
        remove.push(clock() - t);
        let t = clock();
        b.receive(CONVERSATION, &commit.commit, &trust, NOW)
            .unwrap();
        remove_processed.push(clock() - t);
        view.commit(&commit.commit, &trust, NOW).unwrap();

        let t = clock();
        let commit = a.update(CONVERSATION, &trust).unwrap();
        a.confirm(CONVERSATION).unwrap();
        path.push(clock() - t);
        let t = clock();
        b.receive(CONVERSATION, &commit.commit, &trust, NOW)
            .unwrap();
        path_processed.push(clock() - t);
        let t = clock();
        view.commit(&commit.commit, &trust, NOW).unwrap();
        checked.push(clock() - t);
    }
    for (op, samples) in [
        ("add one member (commit with path)", add),
        ("process the add", add_processed),
        ("remove one member (commit with path)", remove),
        ("process the remove", remove_processed),
        ("commit with path (key update)", path),
        ("process a commit with path", path_processed),
        ("server: check a commit with path (PublicGroup)", checked),
    ] {
        report(op, members, median(samples) * 1000.0);
    }

    messages(
        &mut a,
        &mut b,
        &trust,
        members,
        ["encrypt a 200-byte message", "decrypt a 200-byte message"],
    );
    // The reference: the same, with message secrets written as JSON (the earlier store).
    a.keep_message_secrets_as_json();
    b.keep_message_secrets_as_json();
    messages(
        &mut a,
        &mut b,
        &trust,
        members,
        [
            "reference: encrypt, message secrets as JSON",
            "reference: decrypt, message secrets as JSON",
        ],
    );
}

/// 200 messages of 200 bytes from `a`, decrypted by `b`: the mean of each, reported
/// under `ops` (encrypt, decrypt).
fn messages(a: &mut Device, b: &mut Device, trust: &Trust, members: usize, ops: [&str; 2]) {
    let count = 200;
    let body = vec![b'x'; 200];
    let t = clock();
    let sent: Vec<Vec<u8>> = (0..count)
        .map(|_| a.send(CONVERSATION, &body).unwrap())
        .collect();
    report(ops[0], members, (clock() - t) * 1000.0 / count as f64);
    let t = clock();
    for message in &sent {
        b.receive(CONVERSATION, message, trust, NOW).unwrap();
    }
    report(ops[1], members, (clock() - t) * 1000.0 / count as f64);
}

/// The server's check alone in a larger group: `members` join in one add (no one else
/// commits, so the tree is sparser than in [`measure`]), then the creator's key updates
/// are checked against the public view.
async fn measure_check(members: usize) {
    let mut org = Org::new();
    let trust = org.trust.clone();
    let mut a = org.device(Role::Clinician);
    a.create(CONVERSATION).unwrap();
    let mut packages = Vec::new();
    for _ in 1..members {
        packages.push(org.device(Role::Patient).key_packages(1).unwrap().remove(0));
        breathe().await;
    }
    let commit = a.add(CONVERSATION, &packages, &trust, NOW).unwrap();
    a.confirm(CONVERSATION).unwrap();
    let mut view = view_of(&a, &commit, &trust);
    let mut checked = Vec::new();
    for _ in 0..5 {
        breathe().await;
        let update = a.update(CONVERSATION, &trust).unwrap();
        a.confirm(CONVERSATION).unwrap();
        let t = clock();
        view.commit(&update.commit, &trust, NOW).unwrap();
        checked.push(clock() - t);
    }
    report(
        "server: check a commit with path, all joined in one add (PublicGroup)",
        members,
        median(checked) * 1000.0,
    );
}

async fn run() {
    // Warm-up, not reported: the browser first runs wasm from a baseline compilation and
    // optimises each function only once it is hot, so the first rounds measure the
    // compiler, not the code. Natively this only warms the caches.
    measure(2).await;
    measure(10).await;
    REPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    for members in [2, 10, 100] {
        measure(members).await;
        breathe().await;
    }
    for members in [10, 100, 250] {
        measure_check(members).await;
        breathe().await;
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
async fn mls_operations() {
    run().await;
}

/// Natively nothing waits, so one poll runs the whole benchmark.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn mls_operations() {
    use std::future::Future as _;
    let mut future = std::pin::pin!(run());
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(future.as_mut().poll(&mut context).is_ready());
}
