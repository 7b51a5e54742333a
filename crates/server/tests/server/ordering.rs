//! A device's sends are stored in the order it wrote them: on one connection whatever
//! the writer's batching, and across a dropped connection and a server killed with
//! SIGKILL, the way a client resends what was never answered. Written as the failure
//! an outside client found: a burst written back to back was stored up to 138 places
//! out of order, and receivers refused what fell outside MLS's window.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use futures_util::SinkExt as _;
use haven_mls::Received;
use haven_protocol::messaging::Delivered;
use haven_protocol::ws::ServerFrame;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::Client;
use crate::common::ws::Socket;
use crate::delivery::{Person, ack, b64, next, open_conversation};

/// The real `haven-server` binary, killed with SIGKILL when dropped.
struct Process {
    child: Child,
    addr: SocketAddr,
    leaf: CertificateDer<'static>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(data: &Path, port: u16) -> Process {
    use std::io::BufRead as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_haven-server"))
        .args(["serve", "--demo", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(url) = line.strip_prefix("Haven is running at ") {
            break url
                .trim_end_matches('/')
                .rsplit(':')
                .next()
                .unwrap()
                .parse::<u16>()
                .unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let leaf = CertificateDer::from_pem_file(haven_server::tls::dev_cert_path(data)).unwrap();
    Process {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        leaf,
    }
}

fn send_frame(request: u64, conversation: &str, message: &[u8]) -> Message {
    Message::text(
        json!({"type": "send", "request": request, "conversation": conversation, "message": b64(message)})
            .to_string(),
    )
}

/// Writes the sends for `requests` back to back, without waiting for any answer.
async fn burst(
    socket: &mut Socket,
    conversation: &str,
    messages: &[Vec<u8>],
    requests: std::ops::Range<usize>,
) {
    for i in requests {
        socket
            .feed(send_frame(i as u64 + 1, conversation, &messages[i]))
            .await
            .unwrap();
    }
    socket.flush().await.unwrap();
}

/// Reads answers until every request in `wanted` has one; returns request -> seq.
async fn answers(socket: &mut Socket, wanted: usize) -> HashMap<u64, u64> {
    let mut seqs = HashMap::new();
    while seqs.len() < wanted {
        match next(socket).await {
            ServerFrame::Accepted { request, seq } => {
                seqs.insert(request, seq);
            }
            ServerFrame::Deliver { .. } | ServerFrame::Changed { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    seqs
}

#[tokio::test]
async fn a_burst_is_stored_in_the_order_written_across_a_drop_and_a_sigkill() {
    const N: usize = 1000;
    let data = tempfile::tempdir().unwrap();
    let mut server = spawn(data.path(), 0);
    let client = Client::new(server.addr, server.leaf.clone(), None);
    let db = haven_server::store::open(data.path()).await.unwrap();
    let mut clinician = Person::new(&client, "clinician@demo.haven").await;
    let mut patient = Person::new(&client, "patient@demo.haven").await;
    let (mut c_socket, _) = clinician.connect_at(server.addr, server.leaf.clone()).await;
    let (conversation, _) =
        open_conversation(&client, &db, &mut clinician, &patient, &mut c_socket, false).await;
    let messages: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            clinician
                .device
                .send(conversation.as_bytes(), format!("message {i}").as_bytes())
                .unwrap()
        })
        .collect();

    // A burst, and the connection drops with nothing read back.
    burst(&mut c_socket, &conversation, &messages, 0..400).await;
    drop(c_socket);
    // Reconnected, the client sends again everything unanswered, in order, and the
    // server is killed in the middle of it.
    let (mut c_socket, _) = clinician.connect_at(server.addr, server.leaf.clone()).await;
    burst(&mut c_socket, &conversation, &messages, 0..700).await;
    drop(server);
    drop(c_socket);
    server = spawn(data.path(), 0);
    let (mut c_socket, _) = clinician.connect_at(server.addr, server.leaf.clone()).await;
    burst(&mut c_socket, &conversation, &messages, 0..N).await;
    let seqs = answers(&mut c_socket, N).await;
    let order: Vec<u64> = (1..=N as u64).map(|r| seqs[&r]).collect();
    for (i, pair) in order.windows(2).enumerate() {
        assert!(
            pair[0] < pair[1],
            "message {} stored at {} after message {} at {}",
            i + 1,
            pair[1],
            i,
            pair[0]
        );
    }
    // Each stored once: the Welcome's commit, then the thousand.
    assert_eq!(order.first(), Some(&2));
    assert_eq!(order.last(), Some(&(N as u64 + 1)));

    // The patient receives every one, exactly once, in order, and decrypts each.
    let (mut p_socket, mut frames) = patient.connect_at(server.addr, server.leaf.clone()).await;
    let mut shown = Vec::new();
    let mut last = 0;
    while shown.len() < N {
        if frames.is_empty() {
            frames.push(next(&mut p_socket).await);
        }
        for frame in std::mem::take(&mut frames) {
            let ServerFrame::Deliver {
                seq, kind, message, ..
            } = frame
            else {
                continue;
            };
            assert_eq!(seq, last + 1, "delivered out of order");
            last = seq;
            if kind == Delivered::Welcome {
                patient
                    .device
                    .join(
                        message.as_bytes(),
                        &patient.trust,
                        crate::common::api::now(),
                    )
                    .unwrap();
            } else {
                let received = patient
                    .device
                    .receive(
                        conversation.as_bytes(),
                        message.as_bytes(),
                        &patient.trust,
                        crate::common::api::now(),
                    )
                    .unwrap_or_else(|e| panic!("seq {seq} does not decrypt: {e:?}"));
                let Received::Message { body, .. } = received else {
                    panic!("seq {seq} is not a message");
                };
                shown.push(String::from_utf8(body).unwrap());
            }
            if seq % 100 == 0 || shown.len() == N {
                ack(&mut p_socket, &conversation, seq).await;
            }
        }
    }
    let expected: Vec<String> = (0..N).map(|i| format!("message {i}")).collect();
    assert_eq!(shown, expected);

    // Audited: the entries written with each batch name every message stored, once.
    let mut audited = Vec::new();
    let entries = crate::common::store::entries(&db, "message_sent").await;
    for entry in &entries {
        let detail = entry["detail"].as_str().unwrap();
        let Some(rest) = detail.strip_prefix("application seq ") else {
            continue;
        };
        let list = rest
            .split(", ")
            .take_while(|r| !r.ends_with("messages") && !r.ends_with("message"));
        for run in list {
            let (first, last) = run.split_once('-').unwrap_or((run, run));
            audited.extend(first.parse::<u64>().unwrap()..=last.parse::<u64>().unwrap());
        }
    }
    audited.sort_unstable();
    assert_eq!(audited, (2..=N as u64 + 1).collect::<Vec<_>>());
    assert!(entries.len() < N, "one entry per batch, not per message");
}
