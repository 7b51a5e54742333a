//! The MLS layer as members and attackers see it, natively and in Chromium
//! (`cargo test -p haven-mls --target wasm32-unknown-unknown`). The "server" here is a
//! plain ordered list: the real Delivery Service has its own tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use ed25519_dalek::SigningKey;
use haven_mls::{
    CertificateBody, CertificateError, Device, Error, Issuer, MessageKind, Received, Trust, wire,
};
use haven_protocol::access::Role;
use haven_protocol::identity::Id;

const NOW: u64 = 1_800_000_000;
const CONVERSATION: &[u8] = b"0123456789abcdef0123456789abcdef";

fn now() -> u64 {
    // Certificates are checked against this clock; KeyPackage lifetimes against the real
    // one inside openmls, so tests issue certificates around both.
    NOW
}

struct Org {
    seed: u8,
    id: Id,
    issuer: Issuer,
    trust: Trust,
    next: u8,
}

impl Org {
    fn new(seed: u8) -> Self {
        let issuer = Issuer::new(SigningKey::from_bytes(&[seed; 32]));
        let id = Id::from_bytes([seed; 16]);
        let trust = Trust::new(id.clone(), issuer.verifying_key());
        Self {
            seed,
            id,
            issuer,
            trust,
            next: 1,
        }
    }

    fn body(&mut self, device: &Device, user: Id, role: Role, name: &str) -> CertificateBody {
        CertificateBody {
            organisation: self.id.clone(),
            user,
            role,
            name: name.into(),
            device: self.fresh_id(),
            signature_key: hex(device.signature_key()),
            not_before: 0,
            not_after: u64::MAX,
        }
    }

    fn device_for(&mut self, user: Id, role: Role, name: &str) -> Device {
        let mut device = Device::new().unwrap();
        let body = self.body(&device, user, role, name);
        let cert = self.issuer.issue(body).unwrap();
        device.certify(cert.encoded(), &self.trust, now()).unwrap();
        device
    }

    /// Unique across organisations, so a rogue's ids never collide with ours.
    fn fresh_id(&mut self) -> Id {
        self.next += 1;
        let mut bytes = [self.next; 16];
        bytes[0] = self.seed;
        Id::from_bytes(bytes)
    }

    fn person(&mut self, role: Role, name: &str) -> Device {
        let user = self.fresh_id();
        self.device_for(user, role, name)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn device_id(device: &Device) -> Id {
    device.certificate().unwrap().body().device.clone()
}

fn kp(device: &mut Device) -> Vec<u8> {
    device.key_packages(1).unwrap().remove(0)
}

/// `creator` starts a conversation and adds `others` in one commit with one Welcome.
fn group(org: &Org, creator: &mut Device, others: &mut [Device]) {
    creator.create(CONVERSATION).unwrap();
    let kps: Vec<Vec<u8>> = others.iter_mut().map(kp).collect();
    let commit = creator.add(CONVERSATION, &kps, &org.trust, now()).unwrap();
    assert_eq!(commit.added.len(), others.len());
    creator.confirm(CONVERSATION).unwrap();
    let welcome = commit.welcome.as_ref().unwrap();
    for other in others.iter_mut() {
        let id = other.join(welcome, &org.trust, now()).unwrap();
        assert_eq!(id, CONVERSATION);
    }
}

fn text(received: Received) -> Vec<u8> {
    match received {
        Received::Message { body, .. } => body,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn groups_of_two_to_fifty_agree_and_everyone_reads_everyone() {
    for size in [2usize, 10, 50] {
        let mut org = Org::new(1);
        let mut clinician = org.person(Role::Clinician, "Dr Ada Byron");
        let mut others: Vec<Device> = (1..size)
            .map(|i| org.person(Role::Patient, &format!("Patient {i}")))
            .collect();
        group(&org, &mut clinician, &mut others);

        let code = clinician.verification_code(CONVERSATION).unwrap();
        assert_eq!(code.len(), 14, "{code}");
        for other in &others {
            assert_eq!(other.verification_code(CONVERSATION).unwrap(), code);
            let members = other.members(CONVERSATION, &org.trust).unwrap();
            assert_eq!(members.len(), size);
            assert!(members.iter().all(|(_, status)| status.is_ok()));
            assert!(
                members
                    .iter()
                    .any(|(m, _)| m.name == "Dr Ada Byron" && m.role == Role::Clinician)
            );
        }

        let hello = clinician.send(CONVERSATION, b"hello everyone").unwrap();
        for other in others.iter_mut() {
            let got = other
                .receive(CONVERSATION, &hello, &org.trust, now())
                .unwrap();
            match got {
                Received::Message { sender, body } => {
                    assert_eq!(body, b"hello everyone");
                    assert_eq!(sender.name, "Dr Ada Byron");
                    assert_eq!(sender.role, Role::Clinician);
                }
                other => panic!("{other:?}"),
            }
        }
        let reply = others[size - 2].send(CONVERSATION, b"thanks").unwrap();
        assert_eq!(
            text(
                clinician
                    .receive(CONVERSATION, &reply, &org.trust, now())
                    .unwrap()
            ),
            b"thanks"
        );
    }
}

#[test]
fn a_removed_member_cannot_read_what_is_sent_after_the_remove() {
    let mut org = Org::new(2);
    let mut clinician = org.person(Role::Clinician, "Dr B");
    let mut others = vec![
        org.person(Role::Patient, "P"),
        org.person(Role::Clinician, "Dr C"),
    ];
    group(&org, &mut clinician, &mut others);
    let leaving = device_id(&others[1]);

    let commit = clinician
        .remove(CONVERSATION, std::slice::from_ref(&leaving), &org.trust)
        .unwrap();
    assert_eq!(commit.removed, vec![leaving.clone()]);
    assert!(commit.welcome.is_none());
    clinician.confirm(CONVERSATION).unwrap();
    let got = others[0]
        .receive(CONVERSATION, &commit.commit, &org.trust, now())
        .unwrap();
    match got {
        Received::Committed {
            removed,
            removed_me,
            ..
        } => {
            assert_eq!(removed[0].device, leaving);
            assert!(!removed_me);
        }
        other => panic!("{other:?}"),
    }
    match others[1]
        .receive(CONVERSATION, &commit.commit, &org.trust, now())
        .unwrap()
    {
        Received::Committed { removed_me, .. } => assert!(removed_me),
        other => panic!("{other:?}"),
    }

    let secret = clinician.send(CONVERSATION, b"after the remove").unwrap();
    assert_eq!(
        text(
            others[0]
                .receive(CONVERSATION, &secret, &org.trust, now())
                .unwrap()
        ),
        b"after the remove"
    );
    assert!(
        others[1]
            .receive(CONVERSATION, &secret, &org.trust, now())
            .is_err()
    );
    assert!(matches!(
        others[1].send(CONVERSATION, b"still here?"),
        Err(Error::NotAMember)
    ));
}

#[test]
fn concurrent_commits_one_wins_and_the_other_change_still_happens() {
    let mut org = Org::new(3);
    let mut a = org.person(Role::Clinician, "Dr A");
    let mut others = vec![
        org.person(Role::Clinician, "Dr B"),
        org.person(Role::Patient, "P"),
    ];
    group(&org, &mut a, &mut others);
    let mut x = org.person(Role::Clinician, "Dr X");
    let patient = device_id(&others[1]);

    // Both at epoch 2: A adds X, B removes the patient. The server takes A's first.
    let a_commit = a
        .add(CONVERSATION, &[kp(&mut x)], &org.trust, now())
        .unwrap();
    let b_commit = others[0]
        .remove(CONVERSATION, std::slice::from_ref(&patient), &org.trust)
        .unwrap();
    assert_eq!(a_commit.epoch, b_commit.epoch);
    a.confirm(CONVERSATION).unwrap();

    // B is told it lost, applies the winner, and rebuilds its change on top.
    let (b, rest) = others.split_at_mut(1);
    let b = &mut b[0];
    b.lost_race(CONVERSATION).unwrap();
    b.receive(CONVERSATION, &a_commit.commit, &org.trust, now())
        .unwrap();
    rest[0]
        .receive(CONVERSATION, &a_commit.commit, &org.trust, now())
        .unwrap();
    x.join(a_commit.welcome.as_ref().unwrap(), &org.trust, now())
        .unwrap();
    // The losing commit, if the server delivered it anyway, is for a spent epoch.
    assert!(matches!(
        a.receive(CONVERSATION, &b_commit.commit, &org.trust, now()),
        Err(Error::StaleEpoch { .. })
    ));

    let retried = b.retry(CONVERSATION, &org.trust, now()).unwrap().unwrap();
    assert_eq!(retried.epoch, a_commit.epoch + 1);
    b.confirm(CONVERSATION).unwrap();
    for device in [&mut a, &mut x, &mut rest[0]] {
        device
            .receive(CONVERSATION, &retried.commit, &org.trust, now())
            .unwrap();
    }
    assert!(b.retry(CONVERSATION, &org.trust, now()).unwrap().is_none());

    let code = a.verification_code(CONVERSATION).unwrap();
    assert_eq!(b.verification_code(CONVERSATION).unwrap(), code);
    assert_eq!(x.verification_code(CONVERSATION).unwrap(), code);
    let names: Vec<String> = a
        .members(CONVERSATION, &org.trust)
        .unwrap()
        .into_iter()
        .map(|(m, _)| m.name)
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.contains(&"Dr X".to_string()) && !names.contains(&"P".to_string()));
}

#[test]
fn duplicates_out_of_order_late_and_tampered_messages() {
    let mut org = Org::new(4);
    let mut a = org.person(Role::Clinician, "Dr A");
    let mut others = vec![
        org.person(Role::Patient, "P"),
        org.person(Role::Clinician, "Dr C"),
    ];
    group(&org, &mut a, &mut others);

    let first = a.send(CONVERSATION, b"one").unwrap();
    let second = a.send(CONVERSATION, b"two").unwrap();
    let p = &mut others[0];
    // Out of order.
    assert_eq!(
        text(p.receive(CONVERSATION, &second, &org.trust, now()).unwrap()),
        b"two"
    );
    assert_eq!(
        text(p.receive(CONVERSATION, &first, &org.trust, now()).unwrap()),
        b"one"
    );
    // Twice: refused, never shown twice.
    assert!(matches!(
        p.receive(CONVERSATION, &first, &org.trust, now()),
        Err(Error::Refused(_))
    ));

    // Tampered: one flipped bit in the ciphertext is refused and breaks nothing.
    let third = a.send(CONVERSATION, b"three").unwrap();
    let mut tampered = third.clone();
    let last = tampered.len() - 5;
    tampered[last] ^= 1;
    assert!(
        p.receive(CONVERSATION, &tampered, &org.trust, now())
            .is_err()
    );
    assert_eq!(
        text(p.receive(CONVERSATION, &third, &org.trust, now()).unwrap()),
        b"three"
    );
    // Garbage and another conversation's message.
    assert_eq!(
        p.receive(CONVERSATION, b"\x00\x01garbage", &org.trust, now()),
        Err(Error::Malformed)
    );
    assert_eq!(
        p.receive(b"another", &third, &org.trust, now()),
        Err(Error::WrongConversation)
    );

    // Sent at one epoch, ordered after a commit to the next: still read.
    let late = others[1]
        .send(CONVERSATION, b"sent before the commit")
        .unwrap();
    let mut newcomer = org.person(Role::Patient, "Q");
    let commit = a
        .add(CONVERSATION, &[kp(&mut newcomer)], &org.trust, now())
        .unwrap();
    a.confirm(CONVERSATION).unwrap();
    others[0]
        .receive(CONVERSATION, &commit.commit, &org.trust, now())
        .unwrap();
    assert_eq!(
        text(
            others[0]
                .receive(CONVERSATION, &late, &org.trust, now())
                .unwrap()
        ),
        b"sent before the commit"
    );
    assert_eq!(
        text(a.receive(CONVERSATION, &late, &org.trust, now()).unwrap()),
        b"sent before the commit"
    );
    // A commit is applied once: the same commit again is for a spent epoch.
    assert!(matches!(
        others[0].receive(CONVERSATION, &commit.commit, &org.trust, now()),
        Err(Error::StaleEpoch { .. })
    ));
    // A message from an epoch this device has not reached says so.
    let ahead = a.send(CONVERSATION, b"ahead").unwrap();
    assert!(matches!(
        others[1].receive(CONVERSATION, &ahead, &org.trust, now()),
        Err(Error::FutureEpoch { .. })
    ));
}

/// KeyPackages whose certificate must be refused, and why.
#[test]
fn members_without_a_good_certificate_are_refused_with_the_reason() {
    let mut org = Org::new(5);
    let mut a = org.person(Role::Clinician, "Dr A");
    a.create(CONVERSATION).unwrap();

    // Another organisation's device, certified by that organisation.
    let mut other_org = Org::new(6);
    let mut stranger = other_org.person(Role::Patient, "Stranger");
    let err = a
        .add(CONVERSATION, &[kp(&mut stranger)], &org.trust, now())
        .unwrap_err();
    assert_eq!(err, Error::Certificate(CertificateError::BadSignature));
    // ...and with our organisation's id but someone else's key.
    let mut forger = Org::new(7);
    forger.id = org.id.clone();
    forger.trust = Trust::new(org.id.clone(), forger.issuer.verifying_key());
    let mut forged = forger.person(Role::Patient, "Forged");
    let err = a
        .add(CONVERSATION, &[kp(&mut forged)], &org.trust, now())
        .unwrap_err();
    assert_eq!(err, Error::Certificate(CertificateError::BadSignature));
    // Our key, another organisation's id.
    let mut cross = Device::new().unwrap();
    let mut body = org.body(&cross, Id::from_bytes([99; 16]), Role::Patient, "Cross");
    body.organisation = Id::from_bytes([98; 16]);
    let cert = org.issuer.issue(body).unwrap();
    let cross_trust = Trust::new(Id::from_bytes([98; 16]), org.issuer.verifying_key());
    cross.certify(cert.encoded(), &cross_trust, now()).unwrap();
    let err = a
        .add(CONVERSATION, &[kp(&mut cross)], &org.trust, now())
        .unwrap_err();
    assert_eq!(err, Error::Certificate(CertificateError::OtherOrganisation));
    // Expired by the time it is added.
    let mut brief = Device::new().unwrap();
    let mut body = org.body(&brief, Id::from_bytes([97; 16]), Role::Patient, "Brief");
    body.not_after = NOW + 10;
    let cert = org.issuer.issue(body).unwrap();
    brief.certify(cert.encoded(), &org.trust, now()).unwrap();
    let err = a
        .add(CONVERSATION, &[kp(&mut brief)], &org.trust, NOW + 11)
        .unwrap_err();
    assert_eq!(err, Error::Certificate(CertificateError::OutsideLifetime));
    // A certificate for one key carried by a leaf with another.
    let mut thief = Device::new().unwrap();
    let victim = org.person(Role::Patient, "Victim");
    assert_eq!(
        thief.certify(victim.certificate().unwrap().encoded(), &org.trust, now()),
        Err(Error::NotMyCertificate)
    );
    // Staff never take part in conversations: their devices are not certified for it.
    let mut staff = Device::new().unwrap();
    let body = org.body(&staff, Id::from_bytes([96; 16]), Role::Staff, "Front desk");
    let cert = org.issuer.issue(body).unwrap();
    assert_eq!(
        staff.certify(cert.encoded(), &org.trust, now()),
        Err(Error::Certificate(CertificateError::RoleNotAllowed(
            Role::Staff
        )))
    );
    // No Haven certificate at all: a plain name as the credential.
    let plain = raw_key_package(haven_mls::CIPHERSUITE);
    assert_eq!(
        a.add(
            CONVERSATION,
            std::slice::from_ref(&plain),
            &org.trust,
            now()
        )
        .unwrap_err(),
        Error::Certificate(CertificateError::Missing)
    );
    assert_eq!(
        wire::check_key_package(&plain, &org.trust, now()).unwrap_err(),
        Error::Certificate(CertificateError::Missing)
    );
    assert!(matches!(
        wire::check_key_package(b"not an mls message", &org.trust, now()),
        Err(Error::Malformed)
    ));
    // Nothing was added by any of these.
    assert_eq!(a.members(CONVERSATION, &org.trust).unwrap().len(), 1);
    assert_eq!(a.epoch(CONVERSATION).unwrap(), 0);
}

/// A trust remembers the certificates whose signature it verified, so a member's every
/// message does not cost a verification. The memory is for those exact bytes under that
/// exact key: a flipped signature byte, another issuer key (even on a clone sharing the
/// memory), a revocation or a lifetime still refuse.
#[test]
fn a_certificate_believed_once_is_believed_again_only_for_the_same_bytes_and_key() {
    let mut org = Org::new(11);
    let device = org.person(Role::Patient, "Pat");
    let certificate = device.certificate().unwrap().clone();
    let key = device.signature_key().to_vec();
    let trust = org.trust.clone();
    assert_eq!(trust.check(&certificate, &key, None), Ok(()));
    assert_eq!(trust.check(&certificate, &key, None), Ok(()));

    let mut tampered = certificate.encoded().to_vec();
    tampered[3] ^= 1;
    assert_eq!(
        trust.verify(&tampered, &key, None).unwrap_err(),
        CertificateError::BadSignature
    );
    let mut elsewhere = trust.clone();
    elsewhere.issuer = Org::new(12).issuer.verifying_key();
    assert_eq!(
        elsewhere.check(&certificate, &key, None),
        Err(CertificateError::BadSignature)
    );
    assert_eq!(
        trust.check(&certificate, &[7; 32], None),
        Err(CertificateError::KeyMismatch)
    );
    let body = certificate.body();
    assert_eq!(
        trust.check(&certificate, &key, Some(body.not_after)),
        Err(CertificateError::OutsideLifetime)
    );
    let mut revoking = trust.clone();
    revoking.revoked.insert(body.device.clone());
    assert_eq!(
        revoking.check(&certificate, &key, None),
        Err(CertificateError::Revoked)
    );
    // The original trust, sharing the memory, still believes it.
    assert_eq!(trust.check(&certificate, &key, None), Ok(()));
}

/// A member who bypasses the checks and commits a bad member into the group: every
/// honest member refuses that commit instead of merging it.
#[test]
fn a_commit_that_brings_in_an_uncertified_member_is_refused_by_honest_members() {
    let mut org = Org::new(8);
    let mut mallory = org.person(Role::Clinician, "Dr Mallory");
    let mut others = vec![org.person(Role::Patient, "Alice")];
    group(&org, &mut mallory, &mut others);

    let mut rogue_org = Org::new(9);
    rogue_org.id = org.id.clone();
    rogue_org.trust = Trust::new(org.id.clone(), rogue_org.issuer.verifying_key());
    let mut eve = rogue_org.person(Role::Clinician, "Eve");
    // Mallory's client is told to trust the rogue key as well.
    let commit = mallory
        .add(CONVERSATION, &[kp(&mut eve)], &rogue_org.trust, now())
        .unwrap();
    let epoch = others[0].epoch(CONVERSATION).unwrap();
    assert_eq!(
        others[0].receive(CONVERSATION, &commit.commit, &org.trust, now()),
        Err(Error::Certificate(CertificateError::BadSignature))
    );
    assert_eq!(others[0].epoch(CONVERSATION).unwrap(), epoch);
    // And Eve, joining through that Welcome, refuses the honest members in turn.
    assert!(
        eve.join(commit.welcome.as_ref().unwrap(), &rogue_org.trust, now())
            .is_err()
    );
}

#[test]
fn a_patient_may_add_their_own_new_device_but_not_a_new_person() {
    let mut org = Org::new(10);
    let mut clinician = org.person(Role::Clinician, "Dr A");
    let mut others = vec![org.person(Role::Patient, "Pat")];
    group(&org, &mut clinician, &mut others);
    let pat_user = others[0].certificate().unwrap().body().user.clone();

    let mut stranger = org.person(Role::Patient, "Stranger");
    let err = others[0]
        .add(CONVERSATION, &[kp(&mut stranger)], &org.trust, now())
        .unwrap_err();
    assert!(
        matches!(err, Error::Refused(ref why) if why.contains("new person")),
        "{err}"
    );
    let mut dr_b = org.person(Role::Clinician, "Dr B");
    let dr_b_device = device_id(&dr_b);
    let _ = &mut dr_b;
    let err = others[0]
        .remove(CONVERSATION, &[device_id(&clinician)], &org.trust)
        .unwrap_err();
    assert!(
        matches!(err, Error::Refused(ref why) if why.contains("another person")),
        "{err}"
    );
    let _ = dr_b_device;

    let mut second = org.device_for(pat_user, Role::Patient, "Pat");
    let commit = others[0]
        .add(CONVERSATION, &[kp(&mut second)], &org.trust, now())
        .unwrap();
    others[0].confirm(CONVERSATION).unwrap();
    clinician
        .receive(CONVERSATION, &commit.commit, &org.trust, now())
        .unwrap();
    second
        .join(commit.welcome.as_ref().unwrap(), &org.trust, now())
        .unwrap();
    assert_eq!(
        clinician.members(CONVERSATION, &org.trust).unwrap().len(),
        3
    );
}

#[test]
fn a_revoked_device_is_shown_as_revoked_and_its_messages_refused_until_removed() {
    let mut org = Org::new(11);
    let mut clinician = org.person(Role::Clinician, "Dr A");
    let mut others = vec![
        org.person(Role::Patient, "Pat"),
        org.person(Role::Clinician, "Dr Gone"),
    ];
    group(&org, &mut clinician, &mut others);
    let gone = device_id(&others[1]);
    let before = others[1].send(CONVERSATION, b"before revocation").unwrap();

    org.trust.revoked.insert(gone.clone());
    let members = others[0].members(CONVERSATION, &org.trust).unwrap();
    let status = members
        .iter()
        .find(|(m, _)| m.device == gone)
        .map(|(_, s)| s.clone())
        .unwrap();
    assert_eq!(status, Err(CertificateError::Revoked));
    assert_eq!(
        others[0].receive(CONVERSATION, &before, &org.trust, now()),
        Err(Error::Certificate(CertificateError::Revoked))
    );
    // The patient, the next member online, may commit the removal of a revoked device.
    let commit = others[0]
        .remove(CONVERSATION, std::slice::from_ref(&gone), &org.trust)
        .unwrap();
    others[0].confirm(CONVERSATION).unwrap();
    clinician
        .receive(CONVERSATION, &commit.commit, &org.trust, now())
        .unwrap();
    assert_eq!(
        clinician.members(CONVERSATION, &org.trust).unwrap().len(),
        2
    );
}

#[test]
fn a_device_restored_from_its_snapshot_carries_on() {
    let mut org = Org::new(12);
    let mut clinician = org.person(Role::Clinician, "Dr A");
    let mut others = vec![org.person(Role::Patient, "Pat")];
    group(&org, &mut clinician, &mut others);
    let m = clinician.send(CONVERSATION, b"one").unwrap();
    others[0]
        .receive(CONVERSATION, &m, &org.trust, now())
        .unwrap();

    let saved = others[0].snapshot().unwrap();
    let mut restored = Device::restore(&saved).unwrap();
    assert_eq!(restored.snapshot().unwrap(), saved);
    let m = clinician.send(CONVERSATION, b"two").unwrap();
    assert_eq!(
        text(
            restored
                .receive(CONVERSATION, &m, &org.trust, now())
                .unwrap()
        ),
        b"two"
    );
    let back = restored.send(CONVERSATION, b"three").unwrap();
    assert_eq!(
        text(
            clinician
                .receive(CONVERSATION, &back, &org.trust, now())
                .unwrap()
        ),
        b"three"
    );
    assert_eq!(
        restored.verification_code(CONVERSATION).unwrap(),
        clinician.verification_code(CONVERSATION).unwrap()
    );
    // A pending change survives a restart and is merged when it comes back.
    let mut newcomer = org.person(Role::Patient, "New");
    let commit = clinician
        .add(CONVERSATION, &[kp(&mut newcomer)], &org.trust, now())
        .unwrap();
    let mut clinician = Device::restore(&clinician.snapshot().unwrap()).unwrap();
    assert!(matches!(
        clinician.receive(CONVERSATION, &commit.commit, &org.trust, now()),
        Ok(Received::OwnCommitMerged { .. })
    ));
    assert!(Device::restore(b"haven-mls-device-1\ntruncated").is_err());
    let mut cut = saved.clone();
    cut.truncate(saved.len() - 1);
    assert_eq!(Device::restore(&cut).unwrap_err(), Error::BadSnapshot);
}

#[test]
fn the_directory_refuses_bad_key_packages() {
    let mut org = Org::new(13);
    let mut pat = org.person(Role::Patient, "Pat");
    let good = kp(&mut pat);
    let checked = wire::check_key_package(&good, &org.trust, now()).unwrap();
    assert!(!checked.last_resort);
    assert_eq!(checked.certificate.body().name, "Pat");
    assert_eq!(wire::inspect(&good).unwrap().kind, MessageKind::KeyPackage);
    let last = pat.last_resort_key_package().unwrap();
    assert!(
        wire::check_key_package(&last, &org.trust, now())
            .unwrap()
            .last_resort
    );

    // A flipped bit in the signature.
    let mut bad = good.clone();
    let at = bad.len() - 3;
    bad[at] ^= 0x10;
    assert!(matches!(
        wire::check_key_package(&bad, &org.trust, now()),
        Err(Error::Refused(_))
    ));
    // Expired.
    let expired = pat.key_package_with_lifetime(false, 1, 2).unwrap();
    assert!(matches!(
        wire::check_key_package(&expired, &org.trust, now()),
        Err(Error::Refused(ref why)) if why.contains("ifetime")
    ));
    // Another ciphersuite, built with openmls directly.
    let other = raw_key_package(
        openmls::prelude::Ciphersuite::MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519,
    );
    assert_eq!(
        wire::check_key_package(&other, &org.trust, now()).unwrap_err(),
        Error::WrongCiphersuite
    );
    // Certified for another organisation.
    let other_org = Org::new(14);
    assert_eq!(
        wire::check_key_package(&good, &other_org.trust, now()).unwrap_err(),
        Error::Certificate(CertificateError::BadSignature)
    );
}

#[test]
fn the_server_reads_only_kind_conversation_and_epoch() {
    let mut org = Org::new(15);
    let mut clinician = org.person(Role::Clinician, "Dr A");
    let mut others = vec![org.person(Role::Patient, "Pat")];
    group(&org, &mut clinician, &mut others);
    let message = clinician.send(CONVERSATION, b"a secret").unwrap();
    let seen = wire::inspect(&message).unwrap();
    assert_eq!(seen.kind, MessageKind::Application);
    assert_eq!(seen.conversation.as_deref(), Some(CONVERSATION));
    assert_eq!(seen.epoch, Some(1));
    assert!(!message.windows(8).any(|w| w == b"a secret"));
    let mut dr = org.person(Role::Clinician, "Dr B");
    let commit = clinician
        .add(CONVERSATION, &[kp(&mut dr)], &org.trust, now())
        .unwrap();
    assert_eq!(
        wire::inspect(&commit.commit).unwrap().kind,
        MessageKind::Commit
    );
    assert_eq!(
        wire::inspect(commit.welcome.as_ref().unwrap())
            .unwrap()
            .kind,
        MessageKind::Welcome
    );
}

/// A KeyPackage built with openmls directly, with a plain name as its credential.
fn raw_key_package(suite: openmls::prelude::Ciphersuite) -> Vec<u8> {
    use openmls::prelude::{tls_codec::Serialize as _, *};
    use openmls_basic_credential::SignatureKeyPair;
    let provider = openmls_rust_crypto::OpenMlsRustCrypto::default();
    let signer = SignatureKeyPair::new(suite.signature_algorithm()).unwrap();
    let credential = CredentialWithKey {
        credential: BasicCredential::new(b"mallory".to_vec()).into(),
        signature_key: signer.public().into(),
    };
    let bundle = KeyPackage::builder()
        .build(suite, &provider, &signer, credential)
        .unwrap();
    MlsMessageOut::from(bundle.key_package().clone())
        .tls_serialize_detached()
        .unwrap()
}

/// A device proves to the Authentication Service that it holds its key by signing the
/// server's challenge: the signature verifies strictly under that key over exactly the
/// registration message, and over no other person's, organisation's or challenge's.
#[test]
fn a_registration_signature_verifies_under_the_devices_key_for_that_message_only() {
    use haven_protocol::messaging::{RegistrationChallenge, registration_message};

    let device = Device::new().unwrap();
    let organisation = Id::from_bytes([1; 16]);
    let user = Id::from_bytes([2; 16]);
    let challenge = RegistrationChallenge::from_bytes([3; 32]);
    let signature = device
        .sign_registration(&organisation, &user, &challenge)
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(device.signature_key().try_into().unwrap())
        .unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(signature.as_bytes());
    let message = registration_message(&organisation, &user, &challenge);
    assert!(key.verify_strict(&message, &signature).is_ok());
    let someone = Id::from_bytes([9; 16]);
    for other in [
        registration_message(&organisation, &someone, &challenge),
        registration_message(&someone, &user, &challenge),
        registration_message(
            &organisation,
            &user,
            &RegistrationChallenge::from_bytes([9; 32]),
        ),
    ] {
        assert!(key.verify_strict(&other, &signature).is_err());
    }
}

/// The Delivery Service's public view (issue 22, item 3; work in progress): started from
/// the creator's GroupInfo, it checks each commit and learns from the commit itself who
/// joins and who leaves; an application message relabelled as a commit, or a commit
/// tampered with, is refused and changes nothing.
#[test]
fn the_public_view_checks_commits_and_derives_who_joins_and_leaves() {
    use haven_mls::public::PublicConversation;
    let mut org = Org::new(61);
    let mut clinician = org.person(Role::Clinician, "Dr. Lee");
    let mut patient = org.person(Role::Patient, "Pat");
    let mut other = org.person(Role::Clinician, "Dr. Ode");
    clinician.create(CONVERSATION).unwrap();
    let info = clinician.group_info(CONVERSATION).unwrap();
    let mut public = PublicConversation::start(
        &info,
        CONVERSATION,
        &device_id(&clinician),
        &org.trust,
        now(),
    )
    .unwrap();
    assert_eq!(public.epoch(), 0);
    // Not the creator's, or not this conversation: refused.
    assert!(
        PublicConversation::start(&info, CONVERSATION, &device_id(&patient), &org.trust, now())
            .is_err()
    );
    assert!(
        PublicConversation::start(&info, b"another", &device_id(&clinician), &org.trust, now())
            .is_err()
    );

    let package = kp(&mut patient);
    let add = clinician
        .add(CONVERSATION, &[package], &org.trust, now())
        .unwrap();
    assert_eq!(
        wire::inspect(&add.commit).unwrap().kind,
        MessageKind::Commit
    );
    // Tampered with: refused, nothing changes.
    // (A byte of the signed content: the membership tag at the end is the members' to
    // check, with a key the server does not have.)
    let mut tampered = add.commit.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    assert!(public.commit(&tampered, &org.trust, now()).is_err());
    assert_eq!(public.epoch(), 0);
    let changed = public.commit(&add.commit, &org.trust, now()).unwrap();
    assert_eq!(changed.epoch, 1);
    assert_eq!(changed.added, vec![device_id(&patient)]);
    assert!(changed.removed.is_empty());
    clinician.confirm(CONVERSATION).unwrap();
    patient
        .join(add.welcome.as_ref().unwrap(), &org.trust, now())
        .unwrap();

    // An application message labelled a commit is no commit.
    let message = patient.send(CONVERSATION, b"hello").unwrap();
    assert!(public.commit(&message, &org.trust, now()).is_err());
    assert_eq!(public.epoch(), 1);
    // The members still read each other (handshakes in the clear, content encrypted).
    text(
        clinician
            .receive(CONVERSATION, &message, &org.trust, now())
            .unwrap(),
    );

    // Kept in the store between commits: the view comes back whole.
    let mut public = PublicConversation::restore(&public.snapshot().unwrap()).unwrap();
    assert_eq!(public.epoch(), 1);
    // A second clinician joins, then leaves: the view says so from the commits alone.
    let package = kp(&mut other);
    let add = clinician
        .add(CONVERSATION, &[package], &org.trust, now())
        .unwrap();
    assert_eq!(
        public.commit(&add.commit, &org.trust, now()).unwrap().added,
        vec![device_id(&other)]
    );
    clinician.confirm(CONVERSATION).unwrap();
    patient
        .receive(CONVERSATION, &add.commit, &org.trust, now())
        .unwrap();
    let remove = clinician
        .remove(CONVERSATION, &[device_id(&other)], &org.trust)
        .unwrap();
    let changed = public.commit(&remove.commit, &org.trust, now()).unwrap();
    assert_eq!(changed.removed, vec![device_id(&other)]);
    assert_eq!(changed.epoch, 3);
    // The same commit again is for an epoch gone.
    assert!(public.commit(&remove.commit, &org.trust, now()).is_err());
}

/// Devices saved by the version that kept every openmls value as JSON (in the fixtures:
/// a clinician and a patient, three messages each way): they still open, read the
/// message secrets they kept, and go on exchanging messages, now kept in binary form.
#[test]
fn devices_saved_with_message_secrets_as_json_still_talk() {
    let issuer = Issuer::new(SigningKey::from_bytes(&[41; 32]));
    let trust = Trust::new(Id::from_bytes([41; 16]), issuer.verifying_key());
    let id = b"fixture-conversation-0123456789a";
    let clinician_then = include_bytes!("fixtures/json-store-clinician.bin");
    let patient_then = include_bytes!("fixtures/json-store-patient.bin");
    let mut doctor = Device::restore(clinician_then).unwrap();
    let mut patient = Device::restore(patient_then).unwrap();
    for round in 0..3 {
        let text = format!("after {round}");
        let message = doctor.send(id, text.as_bytes()).unwrap();
        let Received::Message { body, .. } = patient.receive(id, &message, &trust, NOW).unwrap()
        else {
            panic!("not a message");
        };
        assert_eq!(body, text.as_bytes());
        let answer = patient.send(id, b"received").unwrap();
        assert!(matches!(
            doctor.receive(id, &answer, &trust, NOW).unwrap(),
            Received::Message { .. }
        ));
        // And again after being saved in the new form.
        doctor = Device::restore(&doctor.snapshot().unwrap()).unwrap();
        patient = Device::restore(&patient.snapshot().unwrap()).unwrap();
    }
    // The new form is the smaller.
    assert!(doctor.snapshot().unwrap().len() < clinician_then.len());
}
