//! A video visit as one participant's device sees it: plain Rust, no web-sys, so every
//! transition is tested without a browser. The page feeds it [`Event`]s (from the
//! server, from the visit's MLS group, from its peer connections) and carries out the
//! [`Command`]s it returns: opening and closing one `RTCPeerConnection` per other member,
//! applying descriptions and candidates, and sending signalling as MLS application
//! messages in the visit's group.
//!
//! Trust: a [`Signal`] arrives with the device that sent it as MLS authenticated it; the
//! server cannot forge or alter one. What is checked here is that the sender is a member
//! now (a removed member's late offer is refused), that each description names the DTLS
//! fingerprint the media must then show, and that the media's fingerprint is that one.
//! Negotiation is "perfect negotiation": of two devices the one with the smaller id is
//! impolite (it offers first and ignores a crossing offer), the other polite (it rolls
//! back its own and answers).

use std::collections::BTreeMap;

use haven_protocol::access::Role;
use haven_protocol::identity::Id;

/// People in one visit at most (a mesh: each pair has its own connection).
pub const MAX_PARTICIPANTS: usize = 4;

/// Where this device stands in the visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// In the waiting room: no keys, no signalling.
    Waiting,
    /// The clinician declined: the visit is over for this device.
    Declined,
    /// Admitted: in the visit's group, connecting to the others.
    InVisit,
    /// This device left.
    Left,
    /// The visit ended for everyone.
    Ended,
}

/// Signalling, carried as an MLS application message in the visit's group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A session description offered to one device (`restart`: after a network change).
    Offer {
        to: Id,
        sdp: String,
        restart: bool,
    },
    Answer {
        to: Id,
        sdp: String,
    },
    Candidate {
        to: Id,
        candidate: String,
    },
    /// The visit ends for everyone (a clinician's only).
    End,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// This device's Welcome to the visit's group was processed: the members then
    /// (devices and their certified roles, this device included).
    Admitted { members: Vec<(Id, Role)> },
    /// The clinician declined this device.
    Declined,
    /// The group's members changed (a commit): the members now.
    Members { members: Vec<(Id, Role)> },
    /// Signalling from `from`, as MLS authenticated it.
    Received { from: Id, signal: Signal },
    /// The page made the description the last [`Command::Offer`] or [`Command::Answer`]
    /// asked for.
    Described { peer: Id, sdp: String },
    /// A peer connection reached `connected`, and its DTLS transport showed this
    /// certificate fingerprint.
    Connected { peer: Id, fingerprint: String },
    /// A peer connection failed or was disconnected for too long.
    Failed { peer: Id },
    /// The person leaves.
    Leave,
    /// The person ends the visit for everyone (clinicians only).
    EndForAll,
}

/// Why something received was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Signalling from a device that is not in the visit (any more).
    NotAMember,
    /// A description without a DTLS fingerprint.
    NoFingerprint,
    /// The media showed another certificate than the member's description named: not
    /// the member on the other end.
    FingerprintMismatch,
    /// An answer nobody asked for.
    Unexpected,
    /// Only a clinician ends a visit for everyone.
    NotAClinician,
    /// More people than a visit takes.
    Full,
}

/// What the page does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Open a peer connection to this member (with this device's tracks).
    Open { peer: Id },
    /// Create an offer (an ICE restart if `restart`) and hand it back as
    /// [`Event::Described`].
    Offer { peer: Id, restart: bool },
    /// Roll back this device's own offer (the polite side of crossing offers).
    RollBack { peer: Id },
    /// Apply the remote offer, create an answer and hand it back as
    /// [`Event::Described`].
    Answer { peer: Id, sdp: String },
    /// Apply the remote answer.
    Apply { peer: Id, sdp: String },
    /// Add a remote ICE candidate.
    Candidate { peer: Id, candidate: String },
    /// Send this in the visit's group.
    Send(Signal),
    /// Close the connection to this member and stop what it carried.
    Close { peer: Id },
    /// Tell the person.
    Refused { peer: Id, why: Refusal },
    /// Leave the visit's group (an MLS Remove of this device's own leaf).
    LeaveGroup,
}

/// One other member's connection, as far as negotiation goes.
#[derive(Debug, Clone, Default)]
struct Peer {
    /// This device has asked for or sent an offer not yet answered.
    offering: bool,
    /// The last description asked of the page was an offer (else an answer), and an ICE
    /// restart.
    describing_offer: bool,
    restart: bool,
    /// The fingerprint the member's last description named.
    fingerprint: Option<String>,
    /// Connected, and the media showed that fingerprint.
    verified: bool,
}

/// One device's view of one visit.
#[derive(Debug, Clone)]
pub struct Visit {
    me: Id,
    stage: Stage,
    members: BTreeMap<Id, Role>,
    peers: BTreeMap<Id, Peer>,
}

/// The fingerprint lines of a session description (`a=fingerprint:sha-256 AB:CD...`),
/// normalised; `None` if there is none, or two that disagree.
pub fn fingerprint_of(sdp: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in sdp.lines() {
        let Some(value) = line.trim().strip_prefix("a=fingerprint:") else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        let mut parts = value.split_whitespace();
        let (Some(hash), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let normal = format!("{hash} {hex}");
        match &found {
            Some(before) if *before != normal => return None,
            _ => found = Some(normal),
        }
    }
    found
}

impl Visit {
    /// A device entering the visit's waiting room.
    pub fn waiting(me: Id) -> Self {
        Self {
            me,
            stage: Stage::Waiting,
            members: BTreeMap::new(),
            peers: BTreeMap::new(),
        }
    }

    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// The members this device has a connection to.
    pub fn peers(&self) -> impl Iterator<Item = &Id> {
        self.peers.keys()
    }

    /// Whether the media to `peer` is connected and showed the fingerprint its member
    /// named.
    pub fn verified(&self, peer: &Id) -> bool {
        self.peers.get(peer).is_some_and(|p| p.verified)
    }

    /// Of two devices, the one with the smaller id offers first and keeps its offer
    /// when two cross.
    fn impolite_to(&self, peer: &Id) -> bool {
        self.me < *peer
    }

    pub fn handle(&mut self, event: Event) -> Vec<Command> {
        let mut out = Vec::new();
        match event {
            Event::Admitted { members } => {
                // Admitted again (a Welcome seen twice): nothing new.
                if self.stage == Stage::Waiting {
                    self.stage = Stage::InVisit;
                    self.members_now(members, &mut out);
                }
            }
            Event::Declined => {
                if self.stage == Stage::Waiting {
                    self.stage = Stage::Declined;
                }
            }
            Event::Members { members } => {
                if self.stage == Stage::InVisit {
                    self.members_now(members, &mut out);
                }
            }
            Event::Received { from, signal } => {
                if self.stage == Stage::InVisit {
                    self.received(from, signal, &mut out);
                }
            }
            Event::Described { peer, sdp } => self.described(peer, sdp, &mut out),
            Event::Connected { peer, fingerprint } => {
                let Some(p) = self.peers.get_mut(&peer) else {
                    return out;
                };
                let shown = fingerprint_of(&format!("a=fingerprint:{fingerprint}"));
                if shown.is_some() && shown == p.fingerprint {
                    p.verified = true;
                } else {
                    self.peers.remove(&peer);
                    out.push(Command::Close { peer: peer.clone() });
                    out.push(Command::Refused {
                        peer,
                        why: Refusal::FingerprintMismatch,
                    });
                }
            }
            Event::Failed { peer } => {
                // The impolite side restarts ICE; the polite one waits for its offer.
                if self.stage == Stage::InVisit
                    && self.impolite_to(&peer)
                    && let Some(p) = self.peers.get_mut(&peer)
                {
                    p.offering = true;
                    p.describing_offer = true;
                    p.restart = true;
                    p.verified = false;
                    out.push(Command::Offer {
                        peer,
                        restart: true,
                    });
                }
            }
            Event::Leave => {
                if self.stage == Stage::InVisit {
                    self.close_all(&mut out);
                    out.push(Command::LeaveGroup);
                    self.stage = Stage::Left;
                } else if self.stage == Stage::Waiting {
                    self.stage = Stage::Left;
                }
            }
            Event::EndForAll => {
                if self.stage != Stage::InVisit {
                    return out;
                }
                if self.members.get(&self.me) != Some(&Role::Clinician) {
                    out.push(Command::Refused {
                        peer: self.me.clone(),
                        why: Refusal::NotAClinician,
                    });
                    return out;
                }
                out.push(Command::Send(Signal::End));
                self.close_all(&mut out);
                self.stage = Stage::Ended;
            }
        }
        out
    }

    /// The group's members now: connections to newcomers (the impolite side offers),
    /// closed to those who left.
    fn members_now(&mut self, members: Vec<(Id, Role)>, out: &mut Vec<Command>) {
        self.members = members.into_iter().take(MAX_PARTICIPANTS * 4).collect();
        let gone: Vec<Id> = self
            .peers
            .keys()
            .filter(|p| !self.members.contains_key(*p))
            .cloned()
            .collect();
        for peer in gone {
            self.peers.remove(&peer);
            out.push(Command::Close { peer });
        }
        let others: Vec<Id> = self
            .members
            .keys()
            .filter(|m| **m != self.me)
            .cloned()
            .collect();
        for peer in others {
            if self.peers.contains_key(&peer) {
                continue;
            }
            if self.peers.len() + 1 >= MAX_PARTICIPANTS {
                out.push(Command::Refused {
                    peer,
                    why: Refusal::Full,
                });
                continue;
            }
            let impolite = self.impolite_to(&peer);
            self.peers.insert(
                peer.clone(),
                Peer {
                    offering: impolite,
                    describing_offer: impolite,
                    ..Peer::default()
                },
            );
            out.push(Command::Open { peer: peer.clone() });
            if impolite {
                out.push(Command::Offer {
                    peer,
                    restart: false,
                });
            }
        }
    }

    fn received(&mut self, from: Id, signal: Signal, out: &mut Vec<Command>) {
        if from == self.me {
            return; // this device's own, seen again
        }
        if signal == Signal::End {
            if self.members.get(&from) == Some(&Role::Clinician) {
                self.close_all(out);
                self.stage = Stage::Ended;
            } else {
                out.push(Command::Refused {
                    peer: from,
                    why: Refusal::NotAClinician,
                });
            }
            return;
        }
        let to_me = match &signal {
            Signal::Offer { to, .. } | Signal::Answer { to, .. } | Signal::Candidate { to, .. } => {
                *to == self.me
            }
            Signal::End => false,
        };
        if !to_me {
            return; // for another member of the mesh
        }
        let impolite = self.impolite_to(&from);
        let Some(peer) = self.peers.get_mut(&from) else {
            out.push(Command::Refused {
                peer: from,
                why: Refusal::NotAMember,
            });
            return;
        };
        match signal {
            Signal::Offer { sdp, .. } => {
                let Some(fingerprint) = fingerprint_of(&sdp) else {
                    out.push(Command::Refused {
                        peer: from,
                        why: Refusal::NoFingerprint,
                    });
                    return;
                };
                if peer.offering {
                    if impolite {
                        return; // crossing offers: ours stands
                    }
                    out.push(Command::RollBack { peer: from.clone() });
                    peer.offering = false;
                }
                peer.fingerprint = Some(fingerprint);
                peer.verified = false;
                peer.describing_offer = false;
                out.push(Command::Answer { peer: from, sdp });
            }
            Signal::Answer { sdp, .. } => {
                if !peer.offering {
                    out.push(Command::Refused {
                        peer: from,
                        why: Refusal::Unexpected,
                    });
                    return;
                }
                let Some(fingerprint) = fingerprint_of(&sdp) else {
                    out.push(Command::Refused {
                        peer: from,
                        why: Refusal::NoFingerprint,
                    });
                    return;
                };
                peer.offering = false;
                peer.fingerprint = Some(fingerprint);
                out.push(Command::Apply { peer: from, sdp });
            }
            Signal::Candidate { candidate, .. } => {
                out.push(Command::Candidate {
                    peer: from,
                    candidate,
                });
            }
            Signal::End => {}
        }
    }

    /// The page made a description: offers and answers go to their member.
    fn described(&mut self, peer: Id, sdp: String, out: &mut Vec<Command>) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return; // closed meanwhile
        };
        let signal = if p.describing_offer {
            Signal::Offer {
                to: peer,
                sdp,
                restart: std::mem::take(&mut p.restart),
            }
        } else {
            Signal::Answer { to: peer, sdp }
        };
        out.push(Command::Send(signal));
    }

    fn close_all(&mut self, out: &mut Vec<Command>) {
        for peer in std::mem::take(&mut self.peers).into_keys() {
            out.push(Command::Close { peer });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16])
    }

    fn sdp(fingerprint: &str) -> String {
        format!("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 {fingerprint}\r\n")
    }

    const DOCTOR: u8 = 1;
    const PATIENT: u8 = 2;

    /// A visit of the doctor (device 1) and the patient (device 2), from `me`'s side.
    fn admitted(me: u8) -> (Visit, Vec<Command>) {
        let mut visit = Visit::waiting(id(me));
        let out = visit.handle(Event::Admitted {
            members: vec![(id(DOCTOR), Role::Clinician), (id(PATIENT), Role::Patient)],
        });
        (visit, out)
    }

    fn offer_from(from: u8, to: u8, fingerprint: &str) -> Event {
        Event::Received {
            from: id(from),
            signal: Signal::Offer {
                to: id(to),
                sdp: sdp(fingerprint),
                restart: false,
            },
        }
    }

    #[wasm_bindgen_test]
    fn nothing_reaches_a_device_in_the_waiting_room_and_a_declined_one_stays_out() {
        let mut visit = Visit::waiting(id(PATIENT));
        assert!(
            visit
                .handle(offer_from(DOCTOR, PATIENT, "AA:BB"))
                .is_empty()
        );
        assert!(
            visit
                .handle(Event::Members {
                    members: vec![(id(DOCTOR), Role::Clinician)]
                })
                .is_empty()
        );
        visit.handle(Event::Declined);
        assert_eq!(visit.stage(), &Stage::Declined);
        // A late admission changes nothing.
        let out = visit.handle(Event::Admitted {
            members: vec![(id(DOCTOR), Role::Clinician), (id(PATIENT), Role::Patient)],
        });
        assert!(out.is_empty());
        assert_eq!(visit.stage(), &Stage::Declined);
    }

    #[wasm_bindgen_test]
    fn admitted_the_smaller_id_offers_and_the_other_answers_and_the_fingerprints_are_held() {
        let (mut doctor, out) = admitted(DOCTOR);
        assert_eq!(
            out,
            vec![
                Command::Open { peer: id(PATIENT) },
                Command::Offer {
                    peer: id(PATIENT),
                    restart: false
                }
            ]
        );
        let (mut patient, out) = admitted(PATIENT);
        assert_eq!(out, vec![Command::Open { peer: id(DOCTOR) }]);
        // Admitted twice (the Welcome seen again): nothing more is opened.
        let again = patient.handle(Event::Admitted {
            members: vec![(id(DOCTOR), Role::Clinician), (id(PATIENT), Role::Patient)],
        });
        assert!(again.is_empty());
        // The doctor's offer travels; the patient answers it.
        let sent = doctor.handle(Event::Described {
            peer: id(PATIENT),
            sdp: sdp("AA:BB"),
        });
        let [Command::Send(offer)] = sent.as_slice() else {
            panic!("{sent:?}");
        };
        let out = patient.handle(Event::Received {
            from: id(DOCTOR),
            signal: offer.clone(),
        });
        assert_eq!(
            out,
            vec![Command::Answer {
                peer: id(DOCTOR),
                sdp: sdp("AA:BB")
            }]
        );
        let sent = patient.handle(Event::Described {
            peer: id(DOCTOR),
            sdp: sdp("CC:DD"),
        });
        let [Command::Send(answer)] = sent.as_slice() else {
            panic!("{sent:?}");
        };
        let out = doctor.handle(Event::Received {
            from: id(PATIENT),
            signal: answer.clone(),
        });
        assert_eq!(
            out,
            vec![Command::Apply {
                peer: id(PATIENT),
                sdp: sdp("CC:DD")
            }]
        );
        // The media shows the fingerprints the descriptions named (case and all).
        doctor.handle(Event::Connected {
            peer: id(PATIENT),
            fingerprint: "sha-256 cc:dd".into(),
        });
        patient.handle(Event::Connected {
            peer: id(DOCTOR),
            fingerprint: "SHA-256 AA:BB".into(),
        });
        assert!(doctor.verified(&id(PATIENT)) && patient.verified(&id(DOCTOR)));
        // A second answer nobody asked for.
        let out = doctor.handle(Event::Received {
            from: id(PATIENT),
            signal: answer.clone(),
        });
        assert_eq!(
            out,
            vec![Command::Refused {
                peer: id(PATIENT),
                why: Refusal::Unexpected
            }]
        );
    }

    #[wasm_bindgen_test]
    fn media_from_another_certificate_than_the_member_named_is_cut_off() {
        let (mut patient, _) = admitted(PATIENT);
        patient.handle(offer_from(DOCTOR, PATIENT, "AA:BB"));
        let out = patient.handle(Event::Connected {
            peer: id(DOCTOR),
            fingerprint: "sha-256 EE:FF".into(),
        });
        assert_eq!(
            out,
            vec![
                Command::Close { peer: id(DOCTOR) },
                Command::Refused {
                    peer: id(DOCTOR),
                    why: Refusal::FingerprintMismatch
                }
            ]
        );
        assert!(!patient.verified(&id(DOCTOR)));
        // A description without a fingerprint, or with two that disagree.
        let (mut patient, _) = admitted(PATIENT);
        for sdp in [
            "v=0\r\n".to_owned(),
            format!("{}{}", sdp("AA:BB"), sdp("EE:FF")),
        ] {
            let out = patient.handle(Event::Received {
                from: id(DOCTOR),
                signal: Signal::Offer {
                    to: id(PATIENT),
                    sdp,
                    restart: false,
                },
            });
            assert_eq!(
                out,
                vec![Command::Refused {
                    peer: id(DOCTOR),
                    why: Refusal::NoFingerprint
                }]
            );
        }
    }

    #[wasm_bindgen_test]
    fn an_offer_from_a_removed_member_or_a_stranger_is_refused() {
        let (mut patient, _) = admitted(PATIENT);
        // An interpreter joins, then leaves: the connection closes.
        let out = patient.handle(Event::Members {
            members: vec![
                (id(DOCTOR), Role::Clinician),
                (id(PATIENT), Role::Patient),
                (id(9), Role::Patient),
            ],
        });
        // The patient's device has the smaller id: it offers.
        assert_eq!(
            out,
            vec![
                Command::Open { peer: id(9) },
                Command::Offer {
                    peer: id(9),
                    restart: false
                }
            ]
        );
        let out = patient.handle(Event::Members {
            members: vec![(id(DOCTOR), Role::Clinician), (id(PATIENT), Role::Patient)],
        });
        assert_eq!(out, vec![Command::Close { peer: id(9) }]);
        for stranger in [9, 7] {
            let out = patient.handle(offer_from(stranger, PATIENT, "AA:BB"));
            assert_eq!(
                out,
                vec![Command::Refused {
                    peer: id(stranger),
                    why: Refusal::NotAMember
                }]
            );
        }
        // Signalling for another member of the mesh is not this device's.
        assert!(patient.handle(offer_from(DOCTOR, 9, "AA:BB")).is_empty());
    }

    #[wasm_bindgen_test]
    fn crossing_offers_the_impolite_keeps_its_own_and_the_polite_rolls_back_and_answers() {
        let (mut doctor, _) = admitted(DOCTOR);
        let (mut patient, _) = admitted(PATIENT);
        // The patient renegotiates (a screen share, say) as the doctor's offer is out.
        patient.handle(Event::Failed { peer: id(DOCTOR) }); // the polite side waits
        let out = doctor.handle(offer_from(PATIENT, DOCTOR, "CC:DD"));
        assert!(
            out.is_empty(),
            "the impolite side ignores the crossing offer"
        );
        // The polite side, with an offer of its own out, rolls it back and answers.
        if let Some(p) = patient.peers.get_mut(&id(DOCTOR)) {
            p.offering = true;
        }
        let out = patient.handle(offer_from(DOCTOR, PATIENT, "AA:BB"));
        assert_eq!(
            out,
            vec![
                Command::RollBack { peer: id(DOCTOR) },
                Command::Answer {
                    peer: id(DOCTOR),
                    sdp: sdp("AA:BB")
                }
            ]
        );
    }

    #[wasm_bindgen_test]
    fn after_a_network_drop_the_impolite_side_restarts_ice() {
        let (mut doctor, _) = admitted(DOCTOR);
        let (mut patient, _) = admitted(PATIENT);
        assert!(
            patient
                .handle(Event::Failed { peer: id(DOCTOR) })
                .is_empty()
        );
        let out = doctor.handle(Event::Failed { peer: id(PATIENT) });
        assert_eq!(
            out,
            vec![Command::Offer {
                peer: id(PATIENT),
                restart: true
            }]
        );
        let sent = doctor.handle(Event::Described {
            peer: id(PATIENT),
            sdp: sdp("AA:BB"),
        });
        assert!(matches!(
            sent.as_slice(),
            [Command::Send(Signal::Offer { restart: true, .. })]
        ));
    }

    #[wasm_bindgen_test]
    fn only_a_clinician_ends_a_visit_for_everyone() {
        let (mut patient, _) = admitted(PATIENT);
        let out = patient.handle(Event::EndForAll);
        assert_eq!(
            out,
            vec![Command::Refused {
                peer: id(PATIENT),
                why: Refusal::NotAClinician
            }]
        );
        let out = patient.handle(Event::Received {
            from: id(9),
            signal: Signal::End,
        });
        assert_eq!(out.len(), 1);
        assert_eq!(patient.stage(), &Stage::InVisit);
        let (mut doctor, _) = admitted(DOCTOR);
        let out = doctor.handle(Event::EndForAll);
        assert_eq!(
            out,
            vec![
                Command::Send(Signal::End),
                Command::Close { peer: id(PATIENT) }
            ]
        );
        assert_eq!(doctor.stage(), &Stage::Ended);
        let out = patient.handle(Event::Received {
            from: id(DOCTOR),
            signal: Signal::End,
        });
        assert_eq!(out, vec![Command::Close { peer: id(DOCTOR) }]);
        assert_eq!(patient.stage(), &Stage::Ended);
    }

    #[wasm_bindgen_test]
    fn leaving_closes_everything_and_a_fifth_person_is_not_connected() {
        let mut doctor = Visit::waiting(id(DOCTOR));
        let members: Vec<(Id, Role)> = std::iter::once((id(DOCTOR), Role::Clinician))
            .chain((2..=5).map(|n| (id(n), Role::Patient)))
            .collect();
        let out = doctor.handle(Event::Admitted { members });
        assert_eq!(doctor.peers().count(), MAX_PARTICIPANTS - 1);
        assert!(out.contains(&Command::Refused {
            peer: id(5),
            why: Refusal::Full
        }));
        let out = doctor.handle(Event::Leave);
        assert_eq!(out.last(), Some(&Command::LeaveGroup));
        assert_eq!(
            out.iter()
                .filter(|c| matches!(c, Command::Close { .. }))
                .count(),
            3
        );
        assert_eq!(doctor.stage(), &Stage::Left);
        assert!(doctor.handle(offer_from(2, DOCTOR, "AA:BB")).is_empty());
    }
}
