//! The MLS Authentication Service and KeyPackage directory, driven as a client and as an
//! attacker would: certificates a real MLS client accepts, KeyPackages that must be
//! refused with nothing stored, claims limited to the care team, revocation.

use haven_mls::{CertificateError, Device, Trust};
use haven_protocol::identity::Id;
use haven_protocol::messaging::to_hex;
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

/// Registers a fresh MLS device for the signed-in person and installs its certificate.
pub(crate) async fn enrol(client: &Client, token: &str) -> (Device, String) {
    let mut device = Device::new().unwrap();
    let reply = post(
        client,
        "/api/mls/devices",
        Some(token),
        json!({ "signature_key": to_hex(device.signature_key()) }),
    )
    .await;
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
    let again = post(
        &client,
        "/api/mls/devices",
        Some(&clinician),
        json!({ "signature_key": to_hex(device.signature_key()) }),
    )
    .await;
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
    let one_too_many = post(
        &client,
        "/api/mls/devices",
        Some(&clinician),
        json!({ "signature_key": to_hex(Device::new().unwrap().signature_key()) }),
    )
    .await;
    assert_eq!(code(&one_too_many), "too_many_devices");
    assert_eq!(store::count(&db, "device_registered").await, 10);
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
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
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
    // A client holding the revocation list refuses that device's KeyPackage.
    let package = device.key_packages(1).unwrap().remove(0);
    assert_eq!(
        haven_mls::wire::check_key_package(&package, &trust, now()).unwrap_err(),
        haven_mls::Error::Certificate(CertificateError::Revoked)
    );
}
