//! `haven-server serve --demo`: a demo organisation with one user of each role, so a
//! newcomer can try every view. Demo accounts have fixed, printed passwords and TOTP
//! secrets: they exist for trying Haven out and for the end-to-end tests, never for
//! real data.

use haven_protocol::access::Role;
use haven_protocol::identity::{Id, Password};
use sqlx::SqlitePool;

use crate::clock::now;
use crate::error::Result;
use crate::secrets;

/// One demo account.
pub struct DemoUser {
    pub role: Role,
    pub email: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    /// Raw TOTP secret (staff roles); patients start without one.
    pub totp_secret: Option<[u8; 20]>,
}

/// The demo accounts. TOTP secrets are fixed so that the printed helper and the tests
/// can compute codes.
pub const USERS: [DemoUser; 7] = [
    DemoUser {
        role: Role::Patient,
        email: "patient@demo.haven",
        name: "Pat Okafor",
        password: "demo patient password",
        totp_secret: None,
    },
    DemoUser {
        role: Role::Patient,
        email: "patient2@demo.haven",
        name: "Zoë Ångström",
        password: "demo patient password",
        totp_secret: None,
    },
    DemoUser {
        role: Role::Clinician,
        email: "clinician@demo.haven",
        name: "Dr. Cleo Ruiz",
        password: "demo clinician password",
        totp_secret: Some(*b"demo-clinician-totp!"),
    },
    DemoUser {
        role: Role::Clinician,
        email: "clinician2@demo.haven",
        name: "Dr. Noor Haddad",
        password: "demo clinician password",
        totp_secret: Some(*b"demo-clinician-2-otp"),
    },
    DemoUser {
        role: Role::Staff,
        email: "staff@demo.haven",
        name: "Sam Staff",
        password: "demo staff password",
        totp_secret: Some(*b"demo-staff-totp-key!"),
    },
    DemoUser {
        role: Role::Admin,
        email: "admin@demo.haven",
        name: "Ada Admin",
        password: "demo admin password",
        totp_secret: Some(*b"demo-admin-totp-key!"),
    },
    DemoUser {
        role: Role::Auditor,
        email: "auditor@demo.haven",
        name: "Aud Itor",
        password: "demo auditor password",
        totp_secret: Some(*b"demo-auditor-totp-k!"),
    },
];

/// Adds the demo users to `org` (once); the first patient joins the first clinician's care
/// team (the second clinician is in no care team until someone brings them in).
pub async fn seed(db: &SqlitePool, org: &Id) -> Result<()> {
    let mut ids = Vec::new();
    for user in &USERS {
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT id FROM users WHERE org_id = ? AND email = ?")
                .bind(org.as_str())
                .bind(user.email)
                .fetch_optional(db)
                .await?;
        if let Some((id,)) = existing {
            ids.push(id);
            continue;
        }
        let password = Password::parse(user.password)?;
        let hash = secrets::hash_password(&password).await?;
        let id = secrets::new_id()?;
        sqlx::query(
            "INSERT INTO users (id, org_id, email, display_name, role, password_hash, totp_secret, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(org.as_str())
        .bind(user.email)
        .bind(user.name)
        .bind(user.role.as_str())
        .bind(hash)
        .bind(user.totp_secret.map(|s| s.to_vec()))
        .bind(now())
        .execute(db)
        .await?;
        ids.push(id.to_string());
    }
    if let (Some(patient), Some(clinician)) = (ids.first(), ids.get(2)) {
        sqlx::query(
            "INSERT OR IGNORE INTO care_team (org_id, clinician_id, patient_id) VALUES (?, ?, ?)",
        )
        .bind(org.as_str())
        .bind(clinician)
        .bind(patient)
        .execute(db)
        .await?;
    }
    Ok(())
}
