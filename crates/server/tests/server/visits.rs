//! Scheduling video visits (issue 23) as the people who use them and as those who should
//! not: staff and clinicians schedule, patients see their own, and every bad request is
//! refused with a clear error and nothing stored.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::api::{get, now, post, send, sign_in};
use crate::common::store::user_id;
use crate::common::{Client, TestServer, store};

fn visit(patient: &str, clinician: &str, starts_at: i64, minutes: i64) -> Value {
    json!({"patient": patient, "clinician": clinician, "starts_at": starts_at, "minutes": minutes})
}

#[tokio::test]
async fn staff_and_clinicians_schedule_visits_and_each_role_sees_its_own() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let patient2 = sign_in(&client, "patient2@demo.haven", None).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let at = now() as i64;

    // Staff schedule one in two hours; the clinician one now, on demand.
    let later = post(
        &client,
        "/api/visits",
        Some(&staff),
        visit(&patient_id, &clinician_id, at + 7200, 30),
    )
    .await;
    assert_eq!(later.status, StatusCode::OK, "{:?}", later.json());
    assert_eq!(later.json()["joinable"], false);
    assert_eq!(later.json()["clinician"]["display_name"], "Dr. Cleo Ruiz");
    let now_visit = post(
        &client,
        "/api/visits",
        Some(&clinician),
        visit(&patient_id, &clinician_id, at, 15),
    )
    .await;
    assert_eq!(now_visit.status, StatusCode::OK, "{:?}", now_visit.json());
    assert_eq!(now_visit.json()["joinable"], true);

    // The patient sees both, soonest first; the other patient none; staff and the
    // clinician the schedule, their reads recorded.
    let mine = get(&client, "/api/visits", &patient).await;
    assert_eq!(mine.status, StatusCode::OK);
    let listed = mine.json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["id"], now_visit.json()["id"]);
    assert_eq!(listed[1]["id"], later.json()["id"]);
    assert_eq!(listed[1]["minutes"], 30);
    let theirs = get(&client, "/api/visits", &patient2).await;
    assert_eq!(theirs.json().as_array().unwrap().len(), 0);
    for token in [&staff, &clinician] {
        let schedule = get(&client, "/api/visits", token).await;
        assert_eq!(schedule.json().as_array().unwrap().len(), 2);
    }
    assert_eq!(store::count(&db, "visit_scheduled").await, 2);
    let reads = store::entries(&db, "patient_list_read").await;
    assert!(reads.iter().any(|e| e["target"] == "list:visit schedule"));
    assert!(reads.iter().any(|e| e["target"] == "list:own visits"));
}

#[tokio::test]
async fn a_visit_that_breaks_a_rule_is_refused_and_nothing_is_stored() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let admin = sign_in(&client, "admin@demo.haven", None).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let patient2_id = user_id(&db, "patient2@demo.haven").await;
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let clinician2_id = user_id(&db, "clinician2@demo.haven").await;
    let at = now() as i64;
    let cases = [
        (
            &staff,
            visit(&patient_id, &clinician_id, at - 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &staff,
            visit(&patient_id, &clinician_id, at + 400 * 24 * 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &staff,
            visit(&patient_id, &clinician_id, at + 3600, 0),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &staff,
            visit(&patient_id, &clinician_id, at + 3600, 241),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        // Not in the patient's care team (the second clinician is in none).
        (
            &staff,
            visit(&patient_id, &clinician2_id, at + 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_in_care_team",
        ),
        // Not a patient; an id of no one in this organisation.
        (
            &staff,
            visit(&clinician_id, &clinician_id, at + 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &staff,
            visit(&"ab".repeat(16), &clinician_id, at + 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        // The patient is not in this clinician's care team.
        (
            &staff,
            visit(&patient2_id, &clinician_id, at + 3600, 30),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_in_care_team",
        ),
        // A clinician schedules only their own visits.
        (
            &clinician,
            visit(&patient_id, &clinician2_id, at + 3600, 30),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        // Patients and admins schedule none.
        (
            &patient,
            visit(&patient_id, &clinician_id, at + 3600, 30),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &admin,
            visit(&patient_id, &clinician_id, at + 3600, 30),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        // Not the shape of a visit.
        (
            &staff,
            json!({"patient": patient_id, "clinician": clinician_id, "starts_at": "soon", "minutes": 30}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            &staff,
            json!({"patient": patient_id, "clinician": clinician_id, "starts_at": at, "minutes": 30, "room": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (token, body, status, code) in cases {
        let reply = post(&client, "/api/visits", Some(token), body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {:?}", reply.json());
        assert_eq!(reply.json()["error"]["code"], code, "{body}");
    }
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM visits")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(store::count(&db, "visit_scheduled").await, 0);
    // An admin has no visit list either.
    assert_eq!(
        get(&client, "/api/visits", &admin).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn cancel(client: &Client, id: &str, token: &str) -> StatusCode {
    let path = format!("/api/visits/{id}");
    send(client, Method::DELETE, &path, Some(token), None, None)
        .await
        .status
}

#[tokio::test]
async fn a_visit_is_cancelled_by_its_clinician_or_staff_before_it_ends_and_leaves_the_lists() {
    let server = TestServer::start_with(|c| c.demo = true).await;
    let client = server.client();
    let db = haven_server::store::open(server.data.path()).await.unwrap();
    let staff = sign_in(&client, "staff@demo.haven", None).await;
    let clinician = sign_in(&client, "clinician@demo.haven", None).await;
    let clinician2 = sign_in(&client, "clinician2@demo.haven", None).await;
    let patient = sign_in(&client, "patient@demo.haven", None).await;
    let patient_id = user_id(&db, "patient@demo.haven").await;
    let clinician_id = user_id(&db, "clinician@demo.haven").await;
    let at = now() as i64;
    let schedule = || async {
        let reply = post(
            &client,
            "/api/visits",
            Some(&staff),
            visit(&patient_id, &clinician_id, at + 3600, 30),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
        reply.json()["id"].as_str().unwrap().to_owned()
    };
    let (first, second, third) = (schedule().await, schedule().await, schedule().await);
    assert_eq!(
        get(&client, "/api/visits", &patient)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Not theirs to cancel: another clinician, the patient; no such visit; not an id.
    let refused = [
        (first.clone(), clinician2.clone(), StatusCode::FORBIDDEN),
        (first.clone(), patient.clone(), StatusCode::FORBIDDEN),
        ("ab".repeat(16), staff.clone(), StatusCode::NOT_FOUND),
        ("not-an-id".to_owned(), staff.clone(), StatusCode::NOT_FOUND),
    ];
    for (id, token, status) in refused {
        assert_eq!(cancel(&client, &id, &token).await, status, "{id}");
    }
    // Its clinician cancels one, staff another; again is no change.
    assert_eq!(
        cancel(&client, &first, &clinician).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        cancel(&client, &second, &staff).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(cancel(&client, &first, &staff).await, StatusCode::CONFLICT);
    // One that is over cannot be.
    sqlx::query("UPDATE visits SET starts_at = ?, ends_at = ? WHERE id = ?")
        .bind(at - 7200)
        .bind(at - 60)
        .bind(&third)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(cancel(&client, &third, &staff).await, StatusCode::CONFLICT);

    // The cancelled ones left the lists (and the one that is over too); each cancellation
    // is recorded once.
    for token in [&patient, &clinician, &staff] {
        let listed = get(&client, "/api/visits", token).await.json();
        assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
    }
    assert_eq!(store::count(&db, "visit_cancelled").await, 2);
}
