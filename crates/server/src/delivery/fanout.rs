//! Waking the connections of devices that have something new to receive. The writer
//! calls [`FanOut::wake`] after a batch is durable; each connection then reads what it
//! has not yet sent from the store, so a lost or merged wake-up never loses a message:
//! the store is the truth, a wake-up is only a hint.
//!
//! One process keeps the connections in memory ([`Local`]). Several processes behind a
//! load balancer put another implementation behind the same trait (PostgreSQL
//! LISTEN/NOTIFY carrying the device ids, or NATS).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use haven_protocol::identity::Id;
use tokio::sync::Notify;

pub trait FanOut: Send + Sync {
    /// Registers a connection that receives `device`'s messages; dropping the
    /// subscription ends it.
    fn subscribe(&self, device: &Id) -> Subscription;
    /// Something new in `conversation` for each of `devices`.
    fn wake(&self, conversation: &Id, devices: &[Id]);
}

/// What a connection waits on: the conversations with something new since it last
/// looked.
#[derive(Default)]
pub struct Mailbox {
    pending: Mutex<HashSet<Id>>,
    notify: Notify,
}

impl Mailbox {
    fn post(&self, conversation: &Id) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(conversation.clone());
        }
        self.notify.notify_one();
    }

    /// Waits until something was posted, then takes everything posted so far.
    pub async fn take(&self) -> Vec<Id> {
        loop {
            let taken: Vec<Id> = match self.pending.lock() {
                Ok(mut pending) => pending.drain().collect(),
                Err(_) => Vec::new(),
            };
            if !taken.is_empty() {
                return taken;
            }
            self.notify.notified().await;
        }
    }
}

pub struct Subscription {
    pub mailbox: Arc<Mailbox>,
    _registration: Box<dyn Send + Sync>,
}

/// One connection's mailbox, by registration number.
type Registered = (u64, Arc<Mailbox>);

/// Connections of this process.
#[derive(Default)]
pub struct Local {
    next: AtomicU64,
    devices: Mutex<HashMap<Id, Vec<Registered>>>,
}

struct LocalRegistration {
    hub: Weak<Local>,
    device: Id,
    id: u64,
}

impl Drop for LocalRegistration {
    fn drop(&mut self) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        if let Ok(mut devices) = hub.devices.lock()
            && let Some(list) = devices.get_mut(&self.device)
        {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                devices.remove(&self.device);
            }
        }
    }
}

/// The in-process fan-out, shared by every connection of the server.
#[derive(Clone, Default)]
pub struct LocalFanOut(Arc<Local>);

impl FanOut for LocalFanOut {
    fn subscribe(&self, device: &Id) -> Subscription {
        let id = self.0.next.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::default());
        if let Ok(mut devices) = self.0.devices.lock() {
            devices
                .entry(device.clone())
                .or_default()
                .push((id, mailbox.clone()));
        }
        Subscription {
            mailbox,
            _registration: Box::new(LocalRegistration {
                hub: Arc::downgrade(&self.0),
                device: device.clone(),
                id,
            }),
        }
    }

    fn wake(&self, conversation: &Id, devices: &[Id]) {
        let Ok(map) = self.0.devices.lock() else {
            return;
        };
        for device in devices {
            for (_, mailbox) in map.get(device).into_iter().flatten() {
                mailbox.post(conversation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_reach_subscribers_merge_and_stop_when_dropped() {
        let hub = LocalFanOut::default();
        let a = Id::from_bytes([1; 16]);
        let b = Id::from_bytes([2; 16]);
        let c1 = Id::from_bytes([3; 16]);
        let c2 = Id::from_bytes([4; 16]);
        let sub = hub.subscribe(&a);
        hub.wake(&c1, std::slice::from_ref(&a));
        hub.wake(&c1, &[a.clone(), b.clone()]);
        hub.wake(&c2, std::slice::from_ref(&a));
        let mut got = sub.mailbox.take().await;
        got.sort();
        assert_eq!(got, vec![c1.clone(), c2]);
        drop(sub);
        assert!(hub.0.devices.lock().unwrap().is_empty());
        hub.wake(&c1, &[a]);
    }
}
