//! Attachments: blobs the browser encrypted with a fresh key that travels only inside
//! the MLS message. The server stores and serves bytes it cannot read, to members of the
//! blob's conversation only, and records each upload and download (ids and sizes).
//!
//! A blob is streamed to a temporary file, flushed to disk, then renamed into place and
//! recorded in one transaction with its audit entry; a refused or broken upload leaves
//! nothing behind.

use std::path::PathBuf;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use haven_protocol::ErrorCode;
use haven_protocol::audit::AuditAction;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{
    ATTACHMENT_OVERHEAD_BYTES, AttachmentStored, MAX_ATTACHMENT_BYTES, MESSAGE_RETENTION_SECS,
};
use sqlx::SqliteConnection;
use tokio::io::AsyncWriteExt as _;

use crate::audit::{self, Event};
use crate::clock::now;
use crate::delivery::quota::{self, Charged, Exceeded, Ledger};
use crate::error::{Error, Result};
use crate::http::extract::ClientAddr;
use crate::identity::session::Authed;
use crate::state::AppState;
use crate::store::begin_write;

/// The largest request body an upload may have.
pub const MAX_UPLOAD_BYTES: usize = (MAX_ATTACHMENT_BYTES + ATTACHMENT_OVERHEAD_BYTES) as usize;

const DIR: &str = "attachments";

fn path_of(state: &AppState, id: &Id) -> PathBuf {
    state.data_dir().join(DIR).join(id.as_str())
}

fn too_large() -> Error {
    Error::bad(
        ErrorCode::PayloadTooLarge,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Attachments can be at most 25 MB.",
    )
}

/// The conversation's patient, if the caller is a current member of it.
async fn membership(
    conn: &mut SqliteConnection,
    authed: &Authed,
    conversation: &Id,
) -> Result<String> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT c.patient_id FROM conversations c
         WHERE c.id = ? AND c.org_id = ? AND EXISTS (
             SELECT 1 FROM conversation_devices cd JOIN mls_devices d ON d.id = cd.device_id
             WHERE cd.conversation_id = c.id AND cd.user_id = ? AND cd.left_seq IS NULL
               AND d.revoked_at IS NULL)",
    )
    .bind(conversation.as_str())
    .bind(authed.org.id.as_str())
    .bind(authed.user_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    // Not a member and no such conversation look the same.
    row.map(|(p,)| p).ok_or(Error::NotFound)
}

/// `POST /api/conversations/{id}/attachments`
pub async fn upload(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(conversation): Path<String>,
    body: Body,
) -> Result<Json<AttachmentStored>> {
    let conversation = Id::parse(&conversation).map_err(|_| Error::NotFound)?;
    {
        let mut conn = state.db().acquire().await?;
        membership(&mut conn, &authed, &conversation).await?;
        // Out of room already: refused before any byte is taken (the upload's own size
        // is checked again, with the rest, once it is in).
        let mut ledger = Ledger::new(now());
        if let Err(exceeded) = ledger
            .charge(
                &mut conn,
                authed.org.id.as_str(),
                authed.user_id.as_str(),
                None,
                1,
                Charged::Content,
            )
            .await?
        {
            let (state, authed) = (state.clone(), authed.clone());
            tokio::spawn(async move {
                quota::record_refusal(&state, &authed, exceeded, Some(ip)).await;
            });
            return Err(exceeded.error());
        }
    }
    let id = crate::secrets::new_id()?;
    let dir = state.data_dir().join(DIR);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(Error::internal)?;
    let temporary = dir.join(format!("{id}.part"));
    let written = write_stream(&temporary, body).await;
    let size = match written {
        Ok(size) if size > 0 => size,
        Ok(_) => {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(Error::bad(
                ErrorCode::InvalidBody,
                StatusCode::UNPROCESSABLE_ENTITY,
                "The attachment is empty.",
            ));
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(e);
        }
    };
    let finished = path_of(&state, &id);
    let stored = async {
        tokio::fs::rename(&temporary, &finished)
            .await
            .map_err(Error::internal)?;
        let mut tx = begin_write(state.db()).await?;
        // Still a member now that the bytes are in.
        let patient = membership(&mut tx, &authed, &conversation).await?;
        let at = now();
        // Counted in the transaction that records it: two uploads cannot both take the
        // last room.
        let mut ledger = Ledger::new(at);
        if let Err(exceeded) = ledger
            .charge(
                &mut tx,
                authed.org.id.as_str(),
                authed.user_id.as_str(),
                None,
                size,
                Charged::Content,
            )
            .await?
        {
            return Err(Refused::Quota(exceeded));
        }
        ledger.write(&mut tx).await?;
        sqlx::query(
            "INSERT INTO attachments (id, org_id, conversation_id, uploaded_by, size, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(authed.org.id.as_str())
        .bind(conversation.as_str())
        .bind(authed.user_id.as_str())
        .bind(i64::try_from(size).map_err(Error::internal)?)
        .bind(at)
        .bind(at + MESSAGE_RETENTION_SECS)
        .execute(&mut *tx)
        .await?;
        let event = Event::by(&authed, AuditAction::AttachmentUploaded)
            .target(format!("conversation:{conversation}"))
            .patient(patient)
            .detail(format!("attachment {id}, {size} bytes"))
            .from(Some(ip));
        audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok::<_, Refused>(())
    }
    .await;
    if let Err(refused) = stored {
        let _ = tokio::fs::remove_file(&finished).await;
        return Err(match refused {
            Refused::Quota(exceeded) => {
                // Recorded even if the client goes before the answer.
                let (state, authed) = (state.clone(), authed.clone());
                tokio::spawn(async move {
                    quota::record_refusal(&state, &authed, exceeded, Some(ip)).await;
                });
                exceeded.error()
            }
            Refused::Other(e) => e,
        });
    }
    Ok(Json(AttachmentStored { id, size }))
}

/// Why a finished upload was not recorded.
enum Refused {
    Quota(Exceeded),
    Other(Error),
}

impl<E: Into<Error>> From<E> for Refused {
    fn from(e: E) -> Self {
        Self::Other(e.into())
    }
}

/// Streams `body` into `path`, flushed to disk; refuses past the limit.
async fn write_stream(path: &std::path::Path, body: Body) -> Result<u64> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(Error::internal)?;
    let mut stream = body.into_data_stream();
    let mut size: u64 = 0;
    while let Some(chunk) = stream.next().await {
        // The body limit ends the stream with an error past MAX_UPLOAD_BYTES.
        let chunk = chunk.map_err(|_| too_large())?;
        size += chunk.len() as u64;
        if size > MAX_UPLOAD_BYTES as u64 {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(Error::internal)?;
    }
    file.sync_all().await.map_err(Error::internal)?;
    Ok(size)
}

/// `GET /api/attachments/{id}`
pub async fn download(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = Id::parse(&id).map_err(|_| Error::NotFound)?;
    let mut tx = begin_write(state.db()).await?;
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT conversation_id, size FROM attachments WHERE id = ? AND org_id = ?")
            .bind(id.as_str())
            .bind(authed.org.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let (conversation, size) = row.ok_or(Error::NotFound)?;
    let conversation = Id::parse(&conversation).map_err(Error::internal)?;
    let patient = membership(&mut tx, &authed, &conversation).await?;
    let file = tokio::fs::File::open(path_of(&state, &id))
        .await
        .map_err(|_| Error::NotFound)?;
    let event = Event::by(&authed, AuditAction::AttachmentDownloaded)
        .target(format!("conversation:{conversation}"))
        .patient(patient)
        .detail(format!("attachment {id}, {size} bytes"))
        .from(Some(ip));
    audit::record(&mut tx, event).await?;
    tx.commit().await?;
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(buffer)),
                    file,
                ))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(length) = HeaderValue::from_str(&size.to_string()) {
        headers.insert(header::CONTENT_LENGTH, length);
    }
    Ok(response)
}

/// Deletes expired attachments' rows and files; returns how many went.
pub async fn collect(state: &AppState, now: i64) -> Result<u64> {
    let due: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM attachments WHERE expires_at <= ? LIMIT 1000")
            .bind(now)
            .fetch_all(state.db())
            .await?;
    let mut removed = 0;
    for (id,) in due {
        let Ok(id) = Id::parse(&id) else { continue };
        match tokio::fs::remove_file(path_of(state, &id)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::internal(e)),
        }
        sqlx::query("DELETE FROM attachments WHERE id = ?")
            .bind(id.as_str())
            .execute(state.db())
            .await?;
        removed += 1;
    }
    Ok(removed)
}
