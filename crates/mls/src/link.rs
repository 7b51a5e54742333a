//! Transcript links: inside its encryption, each application message names the message
//! its sender's device sent before it and the newest message that device held when it
//! wrote it. The server chooses the order of a conversation and may leave messages out;
//! MLS alone does not show either (within an epoch, messages of different senders
//! decrypt in any order, and a sender's generations may skip). With the links a member's
//! device sees when a message named by a later one never arrived, or arrived after it,
//! and says so.
//!
//! A link can be checked only against what this device holds: nothing before it joined,
//! inside a stretch the server declared gone, or older than the last [`KEPT`] messages.
//! A member can make false links of its own messages (a notice on others' screens); it
//! cannot make anyone else's message look missing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use haven_protocol::identity::Id;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Messages of a conversation whose digests a device keeps, the newest: a message names
/// what its sender held when it wrote it, which is at most the messages in flight behind
/// it. Kept with the device's state, which is sealed after every batch, so kept small.
pub const KEPT: usize = 128;
/// Messages named as a sender's previous one that are awaited at once; past this the
/// oldest counts as missing.
const AWAITED: usize = 256;
/// Stretches the device never held that are remembered; past this, the check starts
/// after the oldest.
const PASSED: usize = 16;

/// The first 128 bits of SHA-256 over a message's whole plaintext (its content with its
/// link), as 32 lower-case hex characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Digest(Id);

impl Digest {
    pub fn of(plaintext: &[u8]) -> Self {
        let hash = Sha256::digest(plaintext);
        let mut first = [0u8; 16];
        first.copy_from_slice(&hash[..16]);
        Self(Id::from_bytes(first))
    }
}

/// What a message says of the messages before it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The sender device's previous message in this conversation; none for its first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Digest>,
    /// The newest message the sender's device held (received, or its own accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Seen>,
}

/// A message by its place in the conversation and its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    pub seq: u64,
    pub digest: Digest,
}

/// One device's view of a conversation's links: what it sends, what it holds, and what
/// it found wrong. Kept with the device's state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Links {
    /// This device's last message here, and its recent ones (whose places it may not
    /// know yet: a later message may name one before the server's answer arrives).
    #[serde(default)]
    own: Option<Digest>,
    #[serde(default)]
    own_recent: VecDeque<Digest>,
    /// The messages this device holds, by place (the newest [`KEPT`]).
    #[serde(default)]
    at: BTreeMap<u64, Digest>,
    /// Places before this are not checked: before the device joined, or no longer kept.
    #[serde(default)]
    from: u64,
    /// Stretches the device never held: declared gone by the server, or unreadable.
    #[serde(default)]
    passed: Vec<(u64, u64)>,
    /// Each sender device's newest message.
    #[serde(default)]
    last: BTreeMap<Id, Digest>,
    /// Named as a sender's previous message, and not arrived.
    #[serde(default)]
    awaited: BTreeSet<Digest>,
    /// Named, found missing for good.
    #[serde(default)]
    lost: u64,
    /// Arrived after a message written after them, or at another place than their
    /// sender's next one saw them at.
    #[serde(default)]
    reordered: u64,
}

impl Links {
    /// Links checked from place `from` on (a device that came into a conversation, or
    /// kept none before).
    pub fn from(from: u64) -> Self {
        Self {
            from,
            ..Self::default()
        }
    }

    /// The link for this device's next message.
    pub fn next(&self) -> Link {
        Link {
            prev: self.own.clone(),
            seen: self.at.last_key_value().map(|(seq, digest)| Seen {
                seq: *seq,
                digest: digest.clone(),
            }),
        }
    }

    /// This device encrypted a message whose plaintext has `digest`.
    pub fn sent(&mut self, digest: Digest) {
        self.own = Some(digest.clone());
        self.own_recent.push_back(digest);
        while self.own_recent.len() > KEPT {
            self.own_recent.pop_front();
        }
    }

    /// The server placed this device's own message at `seq`.
    pub fn accepted(&mut self, seq: u64, digest: Digest) {
        self.hold(seq, digest);
    }

    /// The device came into the conversation at `seq`: nothing before is checked.
    pub fn joined(&mut self, seq: u64) {
        self.from = self.from.max(seq.saturating_add(1));
    }

    /// The server said `from..=to` is gone: not checked, and each sender's chain starts
    /// again after it.
    pub fn gap(&mut self, from: u64, to: u64) {
        self.pass(from, to);
        self.last.clear();
    }

    /// The message at `seq` could not be read (counted as such elsewhere).
    pub fn unreadable(&mut self, seq: u64) {
        self.pass(seq, seq);
    }

    fn pass(&mut self, from: u64, to: u64) {
        match self.passed.last_mut() {
            Some(last) if last.1.saturating_add(1) >= from => last.1 = last.1.max(to),
            _ => self.passed.push((from, to)),
        }
        if self.passed.len() > PASSED {
            let (_, to) = self.passed.remove(0);
            self.from = self.from.max(to.saturating_add(1));
        }
    }

    /// A message from `sender` (a device) arrived at `seq`, with `digest` and its link
    /// (none from a client that writes no links: nothing to check).
    pub fn received(&mut self, seq: u64, sender: &Id, digest: Digest, link: Option<&Link>) {
        // Named by a later message of its sender: it arrived after that one.
        let late = self.awaited.remove(&digest);
        if late {
            self.reordered += 1;
        }
        if let Some(link) = link {
            if !late {
                self.follow(sender, link.prev.as_ref());
                self.last.insert(sender.clone(), digest.clone());
            }
            if let Some(seen) = &link.seen {
                self.check_seen(seq, seen);
            }
        }
        self.hold(seq, digest);
    }

    /// Messages sent or seen by others that never reached this device.
    pub fn missing(&self) -> u64 {
        self.lost.saturating_add(self.awaited.len() as u64)
    }

    /// Messages that came in another order than their senders wrote them in.
    pub fn reordered(&self) -> u64 {
        self.reordered
    }

    fn follow(&mut self, sender: &Id, prev: Option<&Digest>) {
        let Some(last) = self.last.get(sender) else {
            return; // the first of this sender's messages this device holds
        };
        match prev {
            Some(prev) if prev == last => {}
            // Its previous one is here, but another of its messages came in between.
            Some(prev) if self.at.values().any(|d| d == prev) => self.reordered += 1,
            Some(prev) => {
                self.awaited.insert(prev.clone());
                if self.awaited.len() > AWAITED {
                    self.awaited.pop_first();
                    self.lost += 1;
                }
            }
            // Its chain starts again, after messages of it arrived.
            None => self.reordered += 1,
        }
    }

    fn check_seen(&mut self, seq: u64, seen: &Seen) {
        if seen.seq >= seq {
            // A message cannot have seen what the server placed after it.
            self.reordered += 1;
            return;
        }
        let passed = self
            .passed
            .iter()
            .any(|&(a, b)| a <= seen.seq && seen.seq <= b);
        if seen.seq < self.from || passed {
            return;
        }
        match self.at.get(&seen.seq) {
            Some(held) if *held == seen.digest => {}
            Some(_) => self.reordered += 1,
            // This device's own, named before the server's answer reached it.
            None if self.own_recent.contains(&seen.digest) => {
                self.hold(seen.seq, seen.digest.clone());
            }
            None => self.lost += 1,
        }
    }

    fn hold(&mut self, seq: u64, digest: Digest) {
        if seq < self.from {
            return;
        }
        self.at.insert(seq, digest);
        while self.at.len() > KEPT {
            if let Some((oldest, _)) = self.at.pop_first() {
                self.from = self.from.max(oldest.saturating_add(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        Digest::of(&[n])
    }

    fn device(n: u8) -> Id {
        Id::from_bytes([n; 16])
    }

    /// A sender's three messages as its device links them, each with its digest.
    fn three_from(sender: &mut Links) -> Vec<(Link, Digest)> {
        (1..=3)
            .map(|n| {
                let link = sender.next();
                sender.sent(d(n));
                (link, d(n))
            })
            .collect()
    }

    #[test]
    fn in_order_nothing_is_found_wrong() {
        let mut sender = Links::from(1);
        let mut reader = Links::from(1);
        for (seq, (link, digest)) in (1..).zip(three_from(&mut sender)) {
            sender.accepted(seq, digest.clone());
            reader.received(seq, &device(1), digest, Some(&link));
        }
        // The reader answers, naming the newest; the sender finds that in order too.
        let answer = reader.next();
        assert_eq!(answer.seen.as_ref().map(|s| s.seq), Some(3));
        sender.received(4, &device(2), d(9), Some(&answer));
        assert_eq!((reader.missing(), reader.reordered()), (0, 0));
        assert_eq!((sender.missing(), sender.reordered()), (0, 0));
    }

    #[test]
    fn a_dropped_message_is_missing_and_a_swapped_pair_is_reordered() {
        let mut sender = Links::from(1);
        let sent = three_from(&mut sender);
        // The server leaves out the second.
        let mut reader = Links::from(1);
        reader.received(1, &device(1), sent[0].1.clone(), Some(&sent[0].0));
        reader.received(2, &device(1), sent[2].1.clone(), Some(&sent[2].0));
        assert_eq!((reader.missing(), reader.reordered()), (1, 0));
        // The server swaps the second and the third.
        let mut reader = Links::from(1);
        reader.received(1, &device(1), sent[0].1.clone(), Some(&sent[0].0));
        reader.received(2, &device(1), sent[2].1.clone(), Some(&sent[2].0));
        reader.received(3, &device(1), sent[1].1.clone(), Some(&sent[1].0));
        assert_eq!((reader.missing(), reader.reordered()), (0, 1));
    }

    #[test]
    fn what_another_member_saw_must_be_where_they_saw_it() {
        // Message 1 from one device, then another's reply that saw it at place 1.
        let reply = Link {
            prev: None,
            seen: Some(Seen {
                seq: 1,
                digest: d(1),
            }),
        };
        // Delivered in that order: fine.
        let mut reader = Links::from(1);
        reader.received(1, &device(1), d(1), Some(&Link::default()));
        reader.received(2, &device(2), d(2), Some(&reply));
        assert_eq!((reader.missing(), reader.reordered()), (0, 0));
        // The first left out: the reply saw a message this device never got.
        let mut reader = Links::from(1);
        reader.received(2, &device(2), d(2), Some(&reply));
        assert_eq!((reader.missing(), reader.reordered()), (1, 0));
        // Swapped (the reply placed first): it names a place not before its own.
        let mut reader = Links::from(1);
        reader.received(1, &device(2), d(2), Some(&reply));
        reader.received(2, &device(1), d(1), Some(&Link::default()));
        assert_eq!(reader.reordered(), 1);
        // Another message in its place.
        let mut reader = Links::from(1);
        reader.received(1, &device(3), d(7), Some(&Link::default()));
        reader.received(2, &device(2), d(2), Some(&reply));
        assert_eq!((reader.missing(), reader.reordered()), (0, 1));
    }

    #[test]
    fn what_this_device_cannot_hold_is_not_held_against_the_server() {
        let reply = |seq| Link {
            prev: None,
            seen: Some(Seen { seq, digest: d(1) }),
        };
        let mut reader = Links::from(1);
        // Before it joined at 5; inside a declared gap; an unreadable message.
        reader.joined(5);
        reader.received(7, &device(2), d(2), Some(&reply(4)));
        reader.gap(8, 10);
        reader.received(11, &device(3), d(3), Some(&reply(9)));
        reader.unreadable(12);
        reader.received(13, &device(5), d(4), Some(&reply(12)));
        // Its own message, named before the server's answer came.
        reader.sent(d(5));
        let own = Link {
            prev: None,
            seen: Some(Seen {
                seq: 14,
                digest: d(5),
            }),
        };
        reader.received(15, &device(6), d(6), Some(&own));
        reader.accepted(14, d(5));
        // A client writing no links: nothing to check.
        reader.received(16, &device(4), d(8), None);
        assert_eq!((reader.missing(), reader.reordered()), (0, 0));
        // And it survives being kept.
        let kept: Links = serde_json::from_slice(&serde_json::to_vec(&reader).unwrap()).unwrap();
        assert_eq!(kept.next(), reader.next());
    }

    #[test]
    fn what_it_keeps_stays_bounded() {
        let mut reader = Links::from(1);
        let mut sender = Links::from(1);
        for seq in 1..=(KEPT as u64 * 3) {
            let link = sender.next();
            let digest = Digest::of(&seq.to_be_bytes());
            sender.sent(digest.clone());
            reader.received(seq, &device(1), digest, Some(&link));
            // Each naming a message never delivered.
            let orphan = Link {
                prev: Some(Digest::of(&[0, seq as u8, (seq >> 8) as u8])),
                seen: None,
            };
            reader.received(seq + 100_000, &device(2), d(0), Some(&orphan));
        }
        assert!(reader.at.len() <= KEPT && reader.awaited.len() <= AWAITED);
        assert!(sender.own_recent.len() <= KEPT);
        for n in 0..(PASSED as u64 * 2) {
            reader.gap(200_000 + n * 10, 200_000 + n * 10 + 1);
        }
        assert!(reader.passed.len() <= PASSED);
    }
}
