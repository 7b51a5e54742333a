//! The MLS section of BENCHMARKS.md: each operation's time natively and in headless
//! Chromium, measured by the same code (`crates/mls/tests/bench.rs`), with the ratio.
//! `cargo xtask bench` runs both and hands their output here.

use std::collections::BTreeMap;

/// One `HAVEN-BENCH {json}` line.
struct Line {
    platform: String,
    op: String,
    members: u32,
    micros: f64,
}

fn line(json: &str) -> Option<Line> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(Line {
        platform: v["platform"].as_str()?.to_owned(),
        op: v["op"].as_str()?.to_owned(),
        members: u32::try_from(v["members"].as_u64()?).ok()?,
        micros: v["micros"].as_f64()?,
    })
}

/// The section, from the output of both runs; `None` if either is missing.
pub fn section(output: &str, date: &str, machine: &str) -> Option<String> {
    // (op order, members) -> (native, browser)
    let mut order: Vec<String> = Vec::new();
    let mut figures: BTreeMap<(usize, u32), (Option<f64>, Option<f64>)> = BTreeMap::new();
    for text in output.lines() {
        let Some(json) = text.split("HAVEN-BENCH ").nth(1) else {
            continue;
        };
        let Some(line) = line(json.trim()) else {
            continue;
        };
        let index = match order.iter().position(|o| *o == line.op) {
            Some(i) => i,
            None => {
                order.push(line.op.clone());
                order.len() - 1
            }
        };
        let entry = figures.entry((index, line.members)).or_default();
        match line.platform.as_str() {
            "native" => entry.0 = Some(line.micros),
            "browser" => entry.1 = Some(line.micros),
            _ => {}
        }
    }
    if figures.is_empty() || figures.values().any(|(n, b)| n.is_none() || b.is_none()) {
        return None;
    }
    let mut rows = String::new();
    for ((index, members), (native, browser)) in &figures {
        let (Some(native), Some(browser)) = (native, browser) else {
            continue;
        };
        let ratio = if *native > 0.0 { browser / native } else { 0.0 };
        rows.push_str(&format!(
            "| {} | {members} | {native:.0} | {browser:.0} | **{ratio:.1}x** |\n",
            order[*index]
        ));
    }
    Some(format!(
        "## MLS operations, native and in the browser (issue 12)

Measured by `cargo xtask bench` on {date}, {machine}. The same code (`crates/mls/tests/bench.rs`, release build, ciphersuite MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519) runs natively and as wasm in headless Chromium (wasm-bindgen-test); the native run is the reference. Times are in microseconds: the median of 15 rounds for commits (5 for 100 members), the mean of 20 KeyPackages and of 200 messages. Every member has committed with a path before the rounds, so the ratchet tree is full. Commit times include merging it once the server would have accepted it.

| operation | members | native µs | browser µs | browser / native |
| --- | ---: | ---: | ---: | ---: |
{rows}
Targets (issue 12): the browser within 2x of native for application messages and for processing a commit, 2.5x for creating one. Warm-up rounds with 2 and 10 members run before the figures are taken: the browser first runs wasm from a quick baseline compilation and optimises each function once it is hot, so without them the first figures measure its compiler. What is left of the gap in small groups is Ed25519 and X25519 arithmetic, which natively runs on AVX2 vector code and in wasm on 32-bit limbs (a 64-bit build of it for wasm measured 1.3x to 1.7x slower still). A member's certificate is verified once per exact bytes and issuer key, not on each of their messages: that took a second Ed25519 verification off every message received.

openmls writes a group's message secrets to its storage provider on every message sent or received: the epoch's secret tree and, for each of the 8 past epochs kept for late messages, the member list with every member's credential. openmls's in-memory provider encodes every value as JSON, bytes as arrays of numbers, which was about 70% of a message's native time (`perf`). Haven's store (`crates/mls/src/provider.rs`) keeps the message secrets and the ratchet tree (the largest value, read and written with every commit, by members and by the server's public view) in a compact binary form (postcard), and everything else as before; the rows marked reference measure the same messages with the message secrets written as JSON again, in the same run. What is left growing with the group is that member list, still encoded on every message. Commits gained too (they write the message secrets of the new epoch). With the encoding gone, what remains of a small group's message is mostly Ed25519 and AES arithmetic, where the browser is furthest behind native, so its ratio there rose while both figures fell."
    ))
}
