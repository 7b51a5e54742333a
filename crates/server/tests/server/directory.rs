//! The MLS Authentication Service and KeyPackage directory, driven as a client and as an
//! attacker would: certificates a real MLS client accepts, KeyPackages that must be
//! refused with nothing stored (ten-year lifetimes among them), claims limited to the care
//! team and bounded per claimer and device, registrations bounded per day, revocation
//! and the small list it leaves, and the release of a device's state key recorded.

use haven_mls::{CertificateError, Device, Trust};
use haven_protocol::identity::Id;
use haven_protocol::messaging::{
    DeviceChallenge, RegistrationChallenge, RegistrationSignature, to_hex,
};
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::common::api::{get, post, sign_in};
use crate::common::store::user_id;
use crate::common::{Client, Reply, TestServer, store};

fn code(reply: &Reply) -> String {
    reply.json()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

pub(crate) fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn now() -> u64 {
    crate::common::api::now()
}

pub(crate) async fn trust_of(client: &Client, token: &str) -> Trust {
    let reply = get(client, "/api/mls/trust", token).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    let key: [u8; 32] = unhex(body["issuer_key"].as_str().unwrap())
        .try_into()
        .unwrap();
    let mut trust = Trust::new(
        Id::parse(body["organisation"].as_str().unwrap()).unwrap(),
        ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap(),
    );
    for id in body["revoked"].as_array().unwrap() {
        trust
            .revoked
            .insert(Id::parse(id.as_str().unwrap()).unwrap());
    }
    trust
}

/// A fresh device registration challenge for the session `token`.
pub(crate) async fn challenge(client: &Client, token: &str) -> RegistrationChallenge {
    let reply = post(client, "/api/mls/devices/challenge", Some(token), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    serde_json::from_value::<DeviceChallenge>(reply.json())
        .unwrap()
        .challenge
}

/// The organisation and the user of the session `token`, as a device signs them.
async fn whoami(client: &Client, token: &str) -> (Id, Id) {
    let organisation = trust_of(client, token).await.organisation;
    let session = get(client, "/api/session", token).await;
    assert_eq!(session.status, StatusCode::OK);
    let user = Id::parse(session.json()["user_id"].as_str().unwrap()).unwrap();
    (organisation, user)
}

fn registration_body(
    device: &Device,
    challenge: &RegistrationChallenge,
    signature: &RegistrationSignature,
) -> Value {
    json!({
        "signature_key": to_hex(device.signature_key()),
        "challenge": challenge,
        "signature": signature,
    })
}

/// What a real client sends to register `device` in the session `token`: its key, a
/// fresh challenge, and the key's signature over both ids and the challenge.
pub(crate) async fn registration(client: &Client, token: &str, device: &Device) -> Value {
    let challenge = challenge(client, token).await;
    let (organisation, user) = whoami(client, token).await;
    let signature = device
        .sign_registration(&organisation, &user, &challenge)
        .unwrap();
    registration_body(device, &challenge, &signature)
}

/// Registers a fresh MLS device for the signed-in person and installs its certificate.
pub(crate) async fn enrol(client: &Client, token: &str) -> (Device, String) {
    let mut device = Device::new().unwrap();
    let body = registration(client, token, &device).await;
    let reply = post(client, "/api/mls/devices", Some(token), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let body = reply.json();
    let trust = trust_of(client, token).await;
    device
        .certify(&unhex(body["certificate"].as_str().unwrap()), &trust, now())
        .unwrap();
    (device, body["device"].as_str().unwrap().to_owned())
}

pub(crate) async fn upload(
    client: &Client,
    token: &str,
    device: &str,
    packages: &[Vec<u8>],
) -> Reply {
    let packages: Vec<Value> = packages.iter().map(|p| json!(to_hex(p))).collect();
    post(
        client,
        &format!("/api/mls/devices/{device}/key-packages"),
        Some(token),
        json!({ "key_packages": packages }),
    )
    .await
}

async fn pool(client: &Client, token: &str, device: &str) -> Value {
    let reply = get(
        client,
        &format!("/api/mls/devices/{device}/key-packages"),
        token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json()
}

#[tokio::test]
async fn a_device_certificate_names_its_owner_and_a_real_client_accepts_it() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let (device, id) = enrol(&client, &clinician).await;
    let body = device.certificate().unwrap().body().clone();
    assert_eq!(body.device.as_str(), id);
    assert_eq!(body.role, haven_protocol::Role::Clinician);
    assert_eq!(
        body.user.as_str(),
        user_id(&db, "clinician@demo.haven").await
    );
    let recorded = store::entries(&db, "device_registered").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["target"], format!("device:{id}"));

    // The same key twice is refused; so are roles that never converse.
    let body = registration(&client, &clinician, &device).await;
    let again = post(&client, "/api/mls/devices", Some(&clinician), body).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(code(&again), "device_unavailable");
    for who in ["staff@demo.haven", "auditor@demo.haven", "admin@demo.haven"] {
        let token = sign_in(&client, who, None).await;
        let reply = post(
            &client,
            "/api/mls/devices",
            Some(&token),
            json!({ "signature_key": "ab".repeat(32) }),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{who}");
        let reply = post(
            &client,
            "/api/mls/devices/challenge",
            Some(&token),
            json!({}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{who}");
    }
    for bad in [
        json!({"signature_key": "AB".repeat(32)}),
        json!({"signature_key": "ab"}),
        json!({}),
    ] {
        let reply = post(&client, "/api/mls/devices", Some(&clinician), bad).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // A person's devices are bounded.
    for _ in 1..haven_protocol::messaging::MAX_DEVICES_PER_USER {
        enrol(&client, &clinician).await;
    }
    let body = registration(&client, &clinician, &Device::new().unwrap()).await;
    let one_too_many = post(&client, "/api/mls/devices", Some(&clinician), body).await;
    assert_eq!(code(&one_too_many), "too_many_devices");
    assert_eq!(store::count(&db, "device_registered").await, 10);
}

/// The attack: a "key" that is no Ed25519 point, or the identity point, whose all-zero
/// "signature" verifies over any message under a lax check. Neither is certified, with a
/// fresh challenge or without one.
#[tokio::test]
async fn a_key_that_is_not_a_usable_ed25519_point_is_not_certified() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    // y = 2: no x satisfies the curve equation, so these bytes decode to no point.
    let off_curve = format!("02{}", "00".repeat(31));
    // y = 1, x = 0: the identity, of order 1. R = identity and s = 0 satisfy the
    // unstrict equation [s]B = R + [k]A for every message.
    let identity = format!("01{}", "00".repeat(31));
    let forged = format!("01{}", "00".repeat(63));
    for (what, key, signature) in [
        ("not a point", &off_curve, &forged),
        ("small order", &identity, &forged),
    ] {
        let challenge = challenge(&client, &patient).await;
        let reply = post(
            &client,
            "/api/mls/devices",
            Some(&patient),
            json!({ "signature_key": key, "challenge": challenge, "signature": signature }),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert_eq!(code(&reply), "invalid_device_key", "{what}");
        // As registration went before: the key alone.
        let reply = post(
            &client,
            "/api/mls/devices",
            Some(&patient),
            json!({ "signature_key": key }),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
    }
    assert_eq!(store::count(&db, "device_registered").await, 0);
}

/// The key must sign this session's challenge for this organisation and person: no
/// signature, another key's, one for someone else, or a damaged one is refused and
/// certifies nothing; the key's own signature is certified, and a real client accepts
/// the certificate.
#[tokio::test]
async fn a_registration_needs_the_keys_signature_over_a_fresh_challenge() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let (organisation, user) = whoami(&client, &patient).await;
    let mut device = Device::new().unwrap();

    let reply = post(
        &client,
        "/api/mls/devices",
        Some(&patient),
        json!({ "signature_key": to_hex(device.signature_key()) }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "no proof");
    let other_key = Device::new().unwrap();
    let someone_else = Id::from_bytes([7; 16]);
    let another_organisation = Id::from_bytes([8; 16]);
    for what in [
        "another key's signature",
        "signed for another person",
        "signed for another organisation",
        "a damaged signature",
    ] {
        let challenge = challenge(&client, &patient).await;
        let signature = match what {
            "another key's signature" => {
                other_key.sign_registration(&organisation, &user, &challenge)
            }
            "signed for another person" => {
                device.sign_registration(&organisation, &someone_else, &challenge)
            }
            "signed for another organisation" => {
                device.sign_registration(&another_organisation, &user, &challenge)
            }
            _ => device
                .sign_registration(&organisation, &user, &challenge)
                .map(|signature| {
                    let mut bytes = *signature.as_bytes();
                    bytes[40] ^= 0x01;
                    RegistrationSignature::from_bytes(bytes)
                }),
        }
        .unwrap();
        let body = registration_body(&device, &challenge, &signature);
        let reply = post(&client, "/api/mls/devices", Some(&patient), body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert_eq!(code(&reply), "invalid_device_proof", "{what}");
    }
    assert_eq!(store::count(&db, "device_registered").await, 0);

    let body = registration(&client, &patient, &device).await;
    let reply = post(&client, "/api/mls/devices", Some(&patient), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let trust = trust_of(&client, &patient).await;
    device
        .certify(
            &unhex(reply.json()["certificate"].as_str().unwrap()),
            &trust,
            now(),
        )
        .unwrap();
    assert_eq!(store::count(&db, "device_registered").await, 1);
}

/// A challenge is taken once, even by a registration that is refused; one never issued or
/// past its two minutes is refused; a session holds only a few unused ones.
#[tokio::test]
async fn a_registration_challenge_is_taken_once_and_expires() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let (organisation, user) = whoami(&client, &patient).await;
    let register = |device: &Device, challenge: &RegistrationChallenge| {
        let signature = device
            .sign_registration(&organisation, &user, challenge)
            .unwrap();
        let body = registration_body(device, challenge, &signature);
        let (client, patient) = (&client, patient.as_str());
        async move { post(client, "/api/mls/devices", Some(patient), body).await }
    };

    let used = challenge(&client, &patient).await;
    let first = register(&Device::new().unwrap(), &used).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.json());
    let again = register(&Device::new().unwrap(), &used).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&again), "invalid_device_proof");

    // Refused for its signature, it is used up all the same.
    let device = Device::new().unwrap();
    let refused = challenge(&client, &patient).await;
    let wrong = Device::new()
        .unwrap()
        .sign_registration(&organisation, &user, &refused)
        .unwrap();
    let body = registration_body(&device, &refused, &wrong);
    let reply = post(&client, "/api/mls/devices", Some(&patient), body).await;
    assert_eq!(code(&reply), "invalid_device_proof");
    let reply = register(&device, &refused).await;
    assert_eq!(
        code(&reply),
        "invalid_device_proof",
        "the challenge was used"
    );

    let never_issued = RegistrationChallenge::from_bytes([0x5a; 32]);
    let reply = register(&Device::new().unwrap(), &never_issued).await;
    assert_eq!(code(&reply), "invalid_device_proof");

    let late = challenge(&client, &patient).await;
    haven_server::store::execute(
        &db,
        "UPDATE mls_device_challenges SET expires_at = expires_at - 121",
    )
    .await
    .unwrap();
    let reply = register(&Device::new().unwrap(), &late).await;
    assert_eq!(code(&reply), "invalid_device_proof", "expired");
    assert_eq!(store::count(&db, "device_registered").await, 1);

    // Unused challenges per session are bounded; using one makes room again.
    let mut open = Vec::new();
    for _ in 0..haven_protocol::messaging::MAX_OPEN_DEVICE_CHALLENGES {
        open.push(challenge(&client, &patient).await);
    }
    let reply = post(
        &client,
        "/api/mls/devices/challenge",
        Some(&patient),
        json!({}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(code(&reply), "too_many_requests");
    let reply = register(&Device::new().unwrap(), &open[0]).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    challenge(&client, &patient).await;
}

/// A challenge belongs to the session it was issued to: another session of the same
/// person, or another person's, cannot use it (and does not use it up).
#[tokio::test]
async fn a_registration_challenge_of_another_session_is_refused() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let first = sign_in(&client, "patient@demo.haven", None).await;
    let second = sign_in(&client, "patient@demo.haven", None).await;
    let other_patient = sign_in(&client, "patient2@demo.haven", None).await;
    let (organisation, user) = whoami(&client, &first).await;
    let (_, other_user) = whoami(&client, &other_patient).await;

    let issued = challenge(&client, &first).await;
    let device = Device::new().unwrap();
    let signature = device
        .sign_registration(&organisation, &user, &issued)
        .unwrap();
    let body = registration_body(&device, &issued, &signature);
    let reply = post(&client, "/api/mls/devices", Some(&second), body.clone()).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&reply), "invalid_device_proof");
    let theirs = device
        .sign_registration(&organisation, &other_user, &issued)
        .unwrap();
    let reply = post(
        &client,
        "/api/mls/devices",
        Some(&other_patient),
        registration_body(&device, &issued, &theirs),
    )
    .await;
    assert_eq!(code(&reply), "invalid_device_proof");
    assert_eq!(store::count(&db, "device_registered").await, 0);

    // Still the first session's to use.
    let reply = post(&client, "/api/mls/devices", Some(&first), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(store::count(&db, "device_registered").await, 1);
}

#[tokio::test]
async fn bad_key_packages_are_refused_and_nothing_is_stored() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let (mut device, id) = enrol(&client, &patient).await;
    let good = device.key_packages(3).unwrap();
    let reply = upload(&client, &patient, &id, &good).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(reply.json(), json!({"one_time": 3, "last_resort": false}));
    // Uploading the same ones again stores nothing twice.
    upload(&client, &patient, &id, &good).await;
    assert_eq!(pool(&client, &patient, &id).await["one_time"], 3);

    let fresh = device.key_packages(1).unwrap().remove(0);
    let mut bad_signature = fresh.clone();
    let at = bad_signature.len() - 3;
    bad_signature[at] ^= 0x10;
    let expired = device.key_package_with_lifetime(false, 1, 2).unwrap();
    // A KeyPackage of another device of the same person, uploaded for this one.
    let (mut other, _) = enrol(&client, &patient).await;
    let foreign = other.key_packages(1).unwrap().remove(0);
    let two_last_resorts = [
        device.last_resort_key_package().unwrap(),
        device.last_resort_key_package().unwrap(),
    ];
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("bad signature", vec![fresh.clone(), bad_signature]),
        ("expired", vec![expired]),
        ("another device's", vec![foreign]),
        ("not MLS", vec![b"garbage".to_vec()]),
        ("two last-resort", two_last_resorts.to_vec()),
        ("none", vec![]),
    ];
    for (what, packages) in cases {
        let reply = upload(&client, &patient, &id, &packages).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert_eq!(code(&reply), "invalid_key_package", "{what}");
        assert_eq!(
            pool(&client, &patient, &id).await,
            json!({"one_time": 3, "last_resort": false}),
            "{what}"
        );
    }
    // Not hex at all, or another person's device.
    let reply = post(
        &client,
        &format!("/api/mls/devices/{id}/key-packages"),
        Some(&patient),
        json!({ "key_packages": ["zz"] }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let reply = upload(&client, &clinician, &id, std::slice::from_ref(&fresh)).await;
    assert_eq!(code(&reply), "device_unavailable");
    // The pool is bounded.
    let last = device.last_resort_key_package().unwrap();
    assert_eq!(
        upload(&client, &patient, &id, &[last]).await.json(),
        json!({"one_time": 3, "last_resort": true})
    );
    let limit = haven_protocol::messaging::MAX_KEY_PACKAGE_POOL as usize;
    let mut stored = 3;
    while stored + 50 <= limit {
        let batch = device.key_packages(50).unwrap();
        assert_eq!(
            upload(&client, &patient, &id, &batch).await.status,
            StatusCode::OK
        );
        stored += 50;
    }
    let batch = device.key_packages(limit - stored + 1).unwrap();
    let reply = upload(&client, &patient, &id, &batch).await;
    assert_eq!(code(&reply), "key_package_pool_full");
    assert_eq!(pool(&client, &patient, &id).await["one_time"], stored);
}

#[tokio::test]
async fn claims_consume_one_package_per_device_and_only_within_the_care_team() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let (mut phone, phone_id) = enrol(&client, &patient).await;
    let (mut laptop, laptop_id) = enrol(&client, &patient).await;
    upload(
        &client,
        &patient,
        &phone_id,
        &phone.key_packages(2).unwrap(),
    )
    .await;
    upload(
        &client,
        &patient,
        &phone_id,
        &[phone.last_resort_key_package().unwrap()],
    )
    .await;
    upload(
        &client,
        &patient,
        &laptop_id,
        &laptop.key_packages(1).unwrap(),
    )
    .await;

    let claim = |token: &str, users: Value| {
        let client = &client;
        let token = token.to_owned();
        async move {
            post(
                client,
                "/api/mls/key-packages/claim",
                Some(&token),
                json!({ "users": users }),
            )
            .await
        }
    };
    let first = claim(&clinician, json!([patient_id])).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.json());
    let first = first.json();
    assert_eq!(first.as_array().unwrap().len(), 2);
    // Each is a KeyPackage a real client accepts.
    let trust = trust_of(&client, &clinician).await;
    for claimed in first.as_array().unwrap() {
        let bytes = unhex(claimed["key_package"].as_str().unwrap());
        haven_mls::wire::check_key_package(&bytes, &trust, now()).unwrap();
    }
    assert_eq!(pool(&client, &patient, &phone_id).await["one_time"], 1);
    assert_eq!(pool(&client, &patient, &laptop_id).await["one_time"], 0);
    // When one-time packages run out, the last-resort one is handed out again.
    claim(&clinician, json!([patient_id])).await;
    let third = claim(&clinician, json!([patient_id])).await.json();
    let devices: Vec<&str> = third
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["device"].as_str().unwrap())
        .collect();
    assert_eq!(devices, vec![phone_id.as_str()], "the laptop has none left");
    assert_eq!(
        pool(&client, &patient, &phone_id).await,
        json!({"one_time": 0, "last_resort": true})
    );

    // Outside the care team, other roles, unknown people: refused, nothing consumed.
    let other_patient = sign_in(&client, "patient2@demo.haven", None).await;
    let refused = claim(&other_patient, json!([patient_id])).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let staff_id = user_id(&db, "staff@demo.haven").await;
    assert_eq!(
        claim(&clinician, json!([staff_id])).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        claim(&clinician, json!([Id::from_bytes([7; 16])]))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let too_many: Vec<String> = (0..51u8)
        .map(|i| Id::from_bytes([i; 16]).to_string())
        .collect();
    assert_eq!(
        claim(&clinician, json!(too_many)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    assert_eq!(
        claim(&staff, json!([patient_id])).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_deactivated_persons_devices_are_revoked_and_refused() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let (mut device, id) = enrol(&client, &clinician).await;
    upload(&client, &clinician, &id, &device.key_packages(2).unwrap()).await;
    // The patient holds one of its KeyPackages, as someone about to add it does.
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let held = post(
        &client,
        "/api/mls/key-packages/claim",
        Some(&patient),
        json!({ "users": [clinician_id] }),
    )
    .await
    .json();
    let held = unhex(held[0]["key_package"].as_str().unwrap());
    // Own revocation of a second device works and is recorded.
    let (_, spare) = enrol(&client, &clinician).await;
    let reply = post(
        &client,
        &format!("/api/mls/devices/{spare}/revoke"),
        Some(&clinician),
        json!({}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = post(
        &client,
        &format!("/api/mls/devices/{id}/revoke"),
        Some(&patient),
        json!({}),
    )
    .await;
    assert_eq!(
        code(&reply),
        "device_unavailable",
        "not the patient's device"
    );

    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let reply = post(
        &client,
        &format!("/api/users/{clinician_id}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert!(reply.status.is_success(), "{:?}", reply.status);

    let entries = store::entries(&db, "device_revoked").await;
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .any(|e| e["target"] == format!("device:{id}"))
    );
    let trust = trust_of(&client, &patient).await;
    assert!(trust.revoked.contains(&Id::parse(&id).unwrap()));
    // A client holding the revocation list refuses the KeyPackage it was handed.
    assert_eq!(
        haven_mls::wire::check_key_package(&held, &trust, now()).unwrap_err(),
        haven_mls::Error::Certificate(CertificateError::Revoked)
    );
    // The spare was never in a conversation and nobody else holds a package of it:
    // nothing can add it, so the list every member downloads leaves it out.
    assert!(!trust.revoked.contains(&Id::parse(&spare).unwrap()));
}

/// The attack: a KeyPackage valid for ten years was accepted, although the README
/// promises 28 days (its one-time key stays usable as long as the package). Lifetimes
/// longer than 28 days (and the hour clients date their start back by), or not begun,
/// are refused and nothing is stored.
#[tokio::test]
async fn a_key_package_valid_for_ten_years_is_refused() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let (mut device, id) = enrol(&client, &patient).await;
    let at = now();
    let day: u64 = 24 * 3600;
    let ten_years: u64 = 10 * 365 * day;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "ten years",
            device
                .key_package_with_lifetime(false, at - 60, at + ten_years)
                .unwrap(),
        ),
        (
            "a last-resort package for ten years",
            device
                .key_package_with_lifetime(true, at - 60, at + ten_years)
                .unwrap(),
        ),
        (
            "a minute more than 28 days and 2 hours",
            device
                .key_package_with_lifetime(false, at - 3600, at + 28 * day + 3600 + 60)
                .unwrap(),
        ),
        (
            "valid only from tomorrow",
            device
                .key_package_with_lifetime(false, at + day, at + 2 * day)
                .unwrap(),
        ),
    ];
    for (what, package) in cases {
        let reply = upload(&client, &patient, &id, &[package]).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert_eq!(code(&reply), "invalid_key_package", "{what}");
        assert_eq!(
            pool(&client, &patient, &id).await,
            json!({"one_time": 0, "last_resort": false}),
            "{what}"
        );
    }
    let long = device
        .key_package_with_lifetime(false, at - 60, at + ten_years)
        .unwrap();
    let reply = upload(&client, &patient, &id, &[long]).await;
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("28 days"), "{message}");

    // What clients make (28 days from an hour back) is taken, and so is a lifetime just
    // inside the bound.
    let reply = upload(&client, &patient, &id, &device.key_packages(1).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let inside = device
        .key_package_with_lifetime(false, at - 3600, at + 28 * day + 3600 - 60)
        .unwrap();
    let reply = upload(&client, &patient, &id, &[inside]).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(
        pool(&client, &patient, &id).await,
        json!({"one_time": 2, "last_resort": false})
    );
}

async fn claim_from(client: &Client, token: &str, body: Value) -> Reply {
    post(client, "/api/mls/key-packages/claim", Some(token), body).await
}

/// The attack: any care-team patient or any clinician could drain another person's
/// one-time KeyPackages (25 claims emptied a pool of 20), after which everyone reuses
/// the last-resort package; and claims left no trace in the audit log.
#[tokio::test]
async fn claimers_cannot_drain_a_devices_key_packages_and_every_claim_is_recorded() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let (mut device, id) = enrol(&client, &clinician).await;
    let packages = device.key_packages(20).unwrap();
    let reply = upload(&client, &clinician, &id, &packages).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let last_resort = device.last_resort_key_package().unwrap();
    let reply = upload(&client, &clinician, &id, std::slice::from_ref(&last_resort)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let trust = trust_of(&client, &clinician).await;

    // A patient of the clinician's care team, another clinician, and the owner from
    // another browser each claim 25 times within the hour.
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let colleague = sign_in(&client, "clinician2@demo.haven", None).await;
    let owner = sign_in(&client, "clinician@demo.haven", None).await;
    for (who, token, one_time) in [
        ("patient", &patient, 3usize),
        ("colleague", &colleague, 3),
        // 8 one-time packages of a device per hour in all.
        ("owner", &owner, 2),
    ] {
        let mut last_resorts = Vec::new();
        for _ in 0..25 {
            let reply = claim_from(&client, token, json!({ "users": [clinician_id] })).await;
            assert_eq!(reply.status, StatusCode::OK, "{who}: {:?}", reply.json());
            let claimed = reply.json();
            let claimed = claimed.as_array().unwrap();
            assert_eq!(claimed.len(), 1, "{who}");
            assert_eq!(claimed[0]["device"], json!(id), "{who}");
            let bytes = unhex(claimed[0]["key_package"].as_str().unwrap());
            let checked = haven_mls::wire::check_key_package(&bytes, &trust, now()).unwrap();
            last_resorts.push(checked.last_resort);
        }
        let expected: Vec<bool> = (0..25).map(|i| i >= one_time).collect();
        assert_eq!(
            last_resorts, expected,
            "{who}: {one_time} one-time packages, then the last-resort one"
        );
    }
    // Of 20, 8 were handed out: the pool is far from empty, and an honest add still
    // finds a one-time package.
    assert_eq!(
        pool(&client, &clinician, &id).await,
        json!({"one_time": 12, "last_resort": true})
    );

    // Every package handed out is recorded: which device, which kind, by whom; never
    // the package.
    let entries = store::entries(&db, "key_package_claimed").await;
    assert_eq!(entries.len(), 75);
    assert!(
        entries
            .iter()
            .all(|e| e["target"] == json!(format!("device:{id}"))),
        "{entries:?}"
    );
    let count = |detail: &str| entries.iter().filter(|e| e["detail"] == detail).count();
    assert_eq!(count("one-time"), 8);
    assert_eq!(count("last-resort"), 67);
    let patient_id = user_id(&db, "patient@demo.haven").await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["actor"]["user"] == json!(patient_id))
            .count(),
        25
    );
    let payloads = serde_json::to_string(&entries).unwrap();
    for package in packages.iter().chain([&last_resort]) {
        assert!(
            !payloads.contains(&to_hex(&package[8..40])),
            "key material in the log"
        );
    }
}

/// One claimer receives at most 500 packages an hour (each one an audit entry): past
/// that the claim is refused with nothing handed out and nothing recorded.
#[tokio::test]
async fn a_claimer_past_the_hourly_bound_is_refused_and_nothing_is_consumed() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let mut devices = Vec::new();
    for _ in 0..10 {
        let (mut device, id) = enrol(&client, &patient).await;
        let last = device.last_resort_key_package().unwrap();
        let reply = upload(&client, &patient, &id, &[last]).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
        devices.push((device, id));
    }
    for round in 0..50 {
        let reply = claim_from(&client, &clinician, json!({ "users": [patient_id] })).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "round {round}: {:?}",
            reply.json()
        );
        assert_eq!(reply.json().as_array().unwrap().len(), 10, "round {round}");
    }
    assert_eq!(store::count(&db, "key_package_claimed").await, 500);

    // A fresh one-time package of the first device is not consumed by the refused claim.
    let first_id = devices[0].1.clone();
    let fresh = devices[0].0.key_packages(1).unwrap();
    let reply = upload(&client, &patient, &first_id, &fresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let refused = claim_from(&client, &clinician, json!({ "users": [patient_id] })).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(code(&refused), "too_many_requests");
    assert_eq!(
        pool(&client, &patient, &first_id).await,
        json!({"one_time": 1, "last_resort": true})
    );
    assert_eq!(store::count(&db, "key_package_claimed").await, 500);
    // The bound is the claimer's: the owner still claims their own devices.
    let own = claim_from(&client, &patient, json!({ "users": [patient_id] })).await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.json());
}

/// The attack: releasing a device's state key (which unseals that browser's history)
/// left no audit entry. It is recorded, once per session and device within 10 minutes
/// (asking again in that session learns nothing new).
#[tokio::test]
async fn releasing_a_devices_state_key_is_recorded_once_per_session() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let (_, id) = enrol(&client, &patient).await;
    let path = format!("/api/mls/devices/{id}/state-key");
    let mut keys = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let reply = get(&client, &path, &patient).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
        keys.insert(reply.json()["key"].as_str().unwrap().to_owned());
    }
    assert_eq!(keys.len(), 1, "the same key every time");
    let entries = store::entries(&db, "device_state_key_released").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["target"], json!(format!("device:{id}")));
    assert_eq!(
        entries[0]["actor"]["user"],
        json!(user_id(&db, "patient@demo.haven").await)
    );
    let key = keys.into_iter().next().unwrap();
    assert!(
        !serde_json::to_string(&entries).unwrap().contains(&key),
        "the key itself is never recorded"
    );

    // Another session (a second tab signing in) is recorded on its own.
    let again = sign_in(&client, "patient@demo.haven", None).await;
    assert_eq!(get(&client, &path, &again).await.status, StatusCode::OK);
    assert_eq!(store::count(&db, "device_state_key_released").await, 2);
    // Someone else's device is refused, and nothing is recorded.
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    assert_eq!(
        get(&client, &path, &clinician).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(store::count(&db, "device_state_key_released").await, 2);
}

/// The attack: 60 register-and-revoke cycles in 1.4 s, each adding a device to the
/// revocation list that every member downloads. Registrations are bounded per person
/// per day, and the list names only revoked devices a member could still meet.
#[tokio::test]
async fn registrations_are_bounded_per_day_and_the_revocation_list_stays_small() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    for cycle in 0..13 {
        // A session of its own each time: revoking a device may end the session that
        // registered it.
        let patient = sign_in(&client, "patient@demo.haven", None).await;
        let device = Device::new().unwrap();
        let body = registration(&client, &patient, &device).await;
        let reply = post(&client, "/api/mls/devices", Some(&patient), body).await;
        if cycle < 10 {
            assert_eq!(reply.status, StatusCode::OK, "{cycle}: {:?}", reply.json());
            let id = reply.json()["device"].as_str().unwrap().to_owned();
            let revoked = post(
                &client,
                &format!("/api/mls/devices/{id}/revoke"),
                Some(&patient),
                json!({}),
            )
            .await;
            assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{cycle}");
        } else {
            assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{cycle}");
            assert_eq!(code(&reply), "too_many_requests", "{cycle}");
        }
    }
    assert_eq!(store::count(&db, "device_registered").await, 10);
    assert_eq!(store::count(&db, "device_revoked").await, 10);
    // None of them was in a conversation or handed to anyone: nothing can add them, and
    // the list every member downloads stays empty.
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let trust = trust_of(&client, &clinician).await;
    assert!(trust.revoked.is_empty(), "{:?}", trust.revoked);

    // A revoked device still in a conversation is listed until it is removed, however
    // old its certificate: members check a member's lifetime only when it joins.
    let (_, id) = enrol(&client, &clinician).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let created = post(
        &client,
        "/api/conversations",
        Some(&clinician),
        json!({ "patient": patient_id, "device": id, "care_team": false }),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json());
    let revoked = post(
        &client,
        &format!("/api/mls/devices/{id}/revoke"),
        Some(&clinician),
        json!({}),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    sqlx::query("UPDATE mls_devices SET not_after = 1 WHERE id = ?")
        .bind(&id)
        .execute(&db)
        .await
        .unwrap();
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let trust = trust_of(&client, &patient).await;
    assert_eq!(
        trust.revoked.into_iter().collect::<Vec<_>>(),
        vec![Id::parse(&id).unwrap()]
    );
}
