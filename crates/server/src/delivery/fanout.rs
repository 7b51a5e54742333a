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
    /// Someone's delivered position in `conversation` moved: each of `devices` reads
    /// the receipts again.
    fn receipts(&self, conversation: &Id, devices: &[Id]);
    /// `device` was revoked: every connection that receives its messages stops at once.
    fn revoke(&self, device: &Id);
}

/// Orders one device's sends across its connections: a connection queues a send to
/// the writer only while holding the gate and only if its subscription is the
/// device's newest (the number inside). Subscribing again takes the gate to raise the
/// number, so whatever an older connection queued comes before anything the newer one
/// sends, and nothing the older one reads afterwards is stored.
pub type Gate = tokio::sync::Mutex<u64>;

/// What a connection waits on: the conversations with something new since it last
/// looked, and those whose receipts moved.
#[derive(Default)]
pub struct Mailbox {
    pending: Mutex<Posted>,
    notify: Notify,
}

/// What was posted to a mailbox since it was last taken.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Posted {
    pub messages: HashSet<Id>,
    pub receipts: HashSet<Id>,
    /// The device was revoked.
    pub revoked: bool,
}

impl Mailbox {
    fn post(&self, conversation: &Id, receipts: bool) {
        if let Ok(mut pending) = self.pending.lock() {
            let set = if receipts {
                &mut pending.receipts
            } else {
                &mut pending.messages
            };
            set.insert(conversation.clone());
        }
        self.notify.notify_one();
    }

    fn revoke(&self) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.revoked = true;
        }
        self.notify.notify_one();
    }

    /// Waits until something was posted, then takes everything posted so far.
    pub async fn take(&self) -> Posted {
        loop {
            let taken = match self.pending.lock() {
                Ok(mut pending) => std::mem::take(&mut *pending),
                Err(_) => Posted::default(),
            };
            if taken.revoked || !taken.messages.is_empty() || !taken.receipts.is_empty() {
                return taken;
            }
            self.notify.notified().await;
        }
    }
}

pub struct Subscription {
    pub mailbox: Arc<Mailbox>,
    pub gate: Arc<Gate>,
    _registration: Box<dyn Send + Sync>,
}

/// One connection's mailbox, by registration number.
type Registered = (u64, Arc<Mailbox>);

/// Connections of this process.
#[derive(Default)]
pub struct Local {
    next: AtomicU64,
    devices: Mutex<HashMap<Id, Vec<Registered>>>,
    /// Each subscribed device's gate, kept while a subscription holds it.
    gates: Mutex<HashMap<Id, Weak<Gate>>>,
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
        let gate = self.gate(device);
        if let Ok(mut devices) = self.0.devices.lock() {
            devices
                .entry(device.clone())
                .or_default()
                .push((id, mailbox.clone()));
        }
        Subscription {
            mailbox,
            gate,
            _registration: Box::new(LocalRegistration {
                hub: Arc::downgrade(&self.0),
                device: device.clone(),
                id,
            }),
        }
    }

    fn wake(&self, conversation: &Id, devices: &[Id]) {
        self.post(conversation, devices, false);
    }

    fn receipts(&self, conversation: &Id, devices: &[Id]) {
        self.post(conversation, devices, true);
    }

    fn revoke(&self, device: &Id) {
        let Ok(map) = self.0.devices.lock() else {
            return;
        };
        for (_, mailbox) in map.get(device).into_iter().flatten() {
            mailbox.revoke();
        }
    }
}

impl LocalFanOut {
    /// The device's gate, shared by all its subscriptions in this process.
    fn gate(&self, device: &Id) -> Arc<Gate> {
        let Ok(mut gates) = self.0.gates.lock() else {
            return Arc::new(Gate::new(0));
        };
        if let Some(gate) = gates.get(device).and_then(Weak::upgrade) {
            return gate;
        }
        // Forget the gates nobody holds now and then: amortised, the map stays within
        // twice the devices subscribed.
        if gates.len() >= 64 && gates.len().is_power_of_two() {
            gates.retain(|_, gate| gate.strong_count() > 0);
        }
        let gate = Arc::new(Gate::new(0));
        gates.insert(device.clone(), Arc::downgrade(&gate));
        gate
    }

    fn post(&self, conversation: &Id, devices: &[Id], receipts: bool) {
        let Ok(map) = self.0.devices.lock() else {
            return;
        };
        for device in devices {
            for (_, mailbox) in map.get(device).into_iter().flatten() {
                mailbox.post(conversation, receipts);
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
        hub.receipts(&c2, std::slice::from_ref(&a));
        hub.receipts(&c1, std::slice::from_ref(&b));
        let got = sub.mailbox.take().await;
        assert_eq!(
            got,
            Posted {
                messages: [c1.clone(), c2.clone()].into(),
                receipts: [c2].into(),
                revoked: false,
            }
        );
        drop(sub);
        assert!(hub.0.devices.lock().unwrap().is_empty());
        hub.wake(&c1, &[a]);
    }
}
