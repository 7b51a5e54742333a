//! The witness's memory: per organisation, the newest tree head this browser verified,
//! and the last alarm it reported, in IndexedDB, so they outlive reloads and sign-outs.
//!
//! Nothing here is secret or PHI: a signed tree head is public (sizes, a root hash, a
//! signature). Heads are stored as the same JSON `GET /api/audit/head` answers, which
//! `haven-server audit check-head` reads, so an auditor can hand a kept head to the
//! command line. Every handler set on a request is cleared once it fired, and the
//! database closes when [`Kept`] is dropped.

use haven_audit_log::{SignedTreeHead, WitnessAlarmReport};

use crate::storage::KeyValue;
pub use crate::storage::{Result, StoreError};

const DB_NAME: &str = "haven-witness";
/// Organisation id -> the newest verified head (JSON).
const HEADS: &str = "heads";
/// Organisation id -> the last alarm reported to the server (JSON), so one finding is
/// reported once however often the page is opened.
const ALARMS: &str = "alarms";

/// The open witness database.
pub struct Kept {
    db: KeyValue,
}

impl Kept {
    pub async fn open() -> Result<Self> {
        Ok(Self {
            db: KeyValue::open(DB_NAME, &[HEADS, ALARMS]).await?,
        })
    }

    async fn read(&self, store: &str, organisation: &str) -> Result<Option<String>> {
        self.db.get(store, organisation).await
    }

    async fn write(&self, store: &str, organisation: &str, json: &str) -> Result<()> {
        self.db.put(store, organisation, json).await
    }

    /// The newest head kept for `organisation`; a value that no longer parses counts as
    /// none.
    pub async fn head(&self, organisation: &str) -> Result<Option<SignedTreeHead>> {
        let text = self.read(HEADS, organisation).await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Keeps `head` as the newest verified head of its organisation.
    pub async fn keep(&self, head: &SignedTreeHead) -> Result<()> {
        let json = serde_json::to_string(head).map_err(|_| StoreError::Refused)?;
        self.write(HEADS, &head.organisation, &json).await
    }

    /// Whether exactly this alarm was already reported from this browser.
    pub async fn reported(&self, alarm: &WitnessAlarmReport) -> Result<bool> {
        let text = self.read(ALARMS, &alarm.kept.organisation).await?;
        Ok(text
            .and_then(|t| serde_json::from_str::<WitnessAlarmReport>(&t).ok())
            .is_some_and(|last| last == *alarm))
    }

    pub async fn mark_reported(&self, alarm: &WitnessAlarmReport) -> Result<()> {
        let json = serde_json::to_string(alarm).map_err(|_| StoreError::Refused)?;
        self.write(ALARMS, &alarm.kept.organisation, &json).await
    }
}
