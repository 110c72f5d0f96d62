//! The publisher's outgoing queue and its hand-off to the MQTT client.
//!
//! A message is handed to rumqttc with a *synchronous* `try_publish`: either
//! the client took it (and will send it once) or it did not (and it stays at
//! the front of the queue). Nothing is ever awaited while handing over, so no
//! hand-off can be cancelled half-way.
//!
//! Why it matters: rumqttc's `publish(..).await` parks the message in the
//! request channel's waiting-sender slot when the channel is full. If that
//! future is dropped (say, because it lost a `select!` race) after the event
//! loop already moved the message into the channel, the message is sent even
//! though the caller saw no `Ok` and queued it again: the same command result
//! reached the broker twice. `tests` below reproduce that with rumqttc's own
//! client and show the outbox hands each message over exactly once.

use std::collections::{HashMap, HashSet, VecDeque};

use rumqttc::{AsyncClient, ClientError, QoS};

use super::core::{OutboundMessage, Qos};

/// Messages waiting for the client at most. Retained messages replace an
/// unsent one on the same topic, so what piles up in a burst is events (one
/// per command, about 150 bytes): 64 bursts of 1,000 commands fit, in about
/// 20 MB at worst. Beyond that the oldest go (reported once per burst).
pub const MAX_QUEUE: usize = 1 << 16;
/// Payload bytes waiting at most (snapshots count with their size).
pub const MAX_QUEUE_BYTES: usize = 32 << 20;
/// Queue capacity kept after a burst has drained (the rest is given back).
const KEEP_CAPACITY: usize = 1024;

/// Something that takes a message now or not at all.
pub trait Handoff {
    /// Hands `m` over without waiting: true if the client took it (it will be
    /// sent once), false if it is full or gone (nothing was taken).
    fn try_hand(&self, m: &OutboundMessage) -> bool;
}

impl Handoff for AsyncClient {
    fn try_hand(&self, m: &OutboundMessage) -> bool {
        let qos = match m.qos {
            Qos::AtMostOnce => QoS::AtMostOnce,
            Qos::AtLeastOnce => QoS::AtLeastOnce,
        };
        match self.try_publish(m.topic.clone(), qos, m.retain, m.payload.to_vec()) {
            Ok(()) => true,
            // Full, or the event loop is gone (the network task reports that).
            Err(ClientError::TryRequest(_) | ClientError::Request(_)) => false,
        }
    }
}

/// What [`Outbox::pump`] left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pumped {
    /// Everything was handed over.
    Drained,
    /// The client is full; the rest waits (retry after a short pause).
    Blocked,
}

/// The bounded outgoing queue.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<OutboundMessage>,
    /// Sequence number of `queue[0]` (every message queued gets the next one).
    head: u64,
    /// Where the unsent replaceable message (retained, or QoS 0) of a topic
    /// sits, by sequence number: replacing is O(1) however long the queue.
    latest: HashMap<String, u64>,
    /// Payload bytes queued.
    bytes: usize,
    /// Messages dropped because the queue was full (diagnostics).
    dropped: u64,
    /// Drops not logged yet (logged once per burst, not per message).
    unreported: u64,
}

impl Outbox {
    /// Queues `m`. A snapshot or any retained message replaces an unsent one
    /// for the same topic (only the latest value matters); when the queue is
    /// full, the oldest message is dropped.
    pub fn push(&mut self, m: OutboundMessage) {
        let replaceable = m.qos == Qos::AtMostOnce || m.retain;
        if replaceable {
            let at = self.latest.get(&m.topic).map(|seq| seq - self.head);
            if let Some(old) = at.and_then(|i| self.queue.get_mut(usize::try_from(i).ok()?)) {
                self.bytes = self.bytes - old.payload.len() + m.payload.len();
                *old = m;
                return;
            }
        }
        while !self.queue.is_empty()
            && (self.queue.len() >= MAX_QUEUE || self.bytes + m.payload.len() > MAX_QUEUE_BYTES)
        {
            self.pop_front();
            self.dropped += 1;
            self.unreported += 1;
        }
        if replaceable {
            let seq = self.head + self.queue.len() as u64;
            self.latest.insert(m.topic.clone(), seq);
        }
        self.bytes += m.payload.len();
        self.queue.push_back(m);
    }

    fn pop_front(&mut self) -> Option<OutboundMessage> {
        let m = self.queue.pop_front()?;
        if self.latest.get(&m.topic) == Some(&self.head) {
            self.latest.remove(&m.topic);
        }
        self.head += 1;
        self.bytes -= m.payload.len();
        Some(m)
    }

    /// Rebuilds the bookkeeping after the queue was changed in place.
    fn reindex(&mut self) {
        self.bytes = self.queue.iter().map(|m| m.payload.len()).sum();
        self.latest.clear();
        for (i, m) in self.queue.iter().enumerate() {
            if m.qos == Qos::AtMostOnce || m.retain {
                self.latest.insert(m.topic.clone(), self.head + i as u64);
            }
        }
    }

    /// Queues the shutdown messages ahead of everything else; unsent messages
    /// for the same topics are dropped, so nothing older can land after them.
    pub fn push_final(&mut self, finals: Vec<OutboundMessage>) {
        let topics: HashSet<&str> = finals.iter().map(|m| m.topic.as_str()).collect();
        self.queue.retain(|m| !topics.contains(m.topic.as_str()));
        for m in finals.into_iter().rev() {
            self.queue.push_front(m);
        }
        self.reindex();
    }

    /// Forgets everything queued (the connection is gone; the next connect
    /// republishes what matters).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.queue.shrink_to(KEEP_CAPACITY);
        self.reindex();
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Messages dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Hands queued messages to `client` in order until it is full.
    pub fn pump(&mut self, client: &impl Handoff, acks: &mut Acks) -> Pumped {
        while let Some(m) = self.queue.front() {
            if !client.try_hand(m) {
                return Pumped::Blocked;
            }
            if m.qos == Qos::AtLeastOnce {
                acks.handed += 1;
            }
            self.pop_front();
        }
        if self.unreported > 0 {
            tracing::warn!(
                dropped = self.unreported,
                "MQTT publish queue was full (the broker took messages slower than they came); dropped the oldest"
            );
            self.unreported = 0;
        }
        // A burst's peak capacity is not kept for good.
        if self.queue.capacity() > KEEP_CAPACITY {
            self.queue.shrink_to(KEEP_CAPACITY);
        }
        Pumped::Drained
    }
}

/// QoS 1 publishes handed to the client, written by it and acknowledged by
/// the broker, so shutdown can wait until its last messages are at the broker.
#[derive(Debug, Default)]
pub struct Acks {
    /// QoS 1 publishes handed to the client on this connection.
    handed: u64,
    /// QoS 1 publishes the client wrote to the socket.
    sent: u64,
    /// Packet ids written and not acknowledged yet.
    outstanding: HashSet<u16>,
}

impl Acks {
    /// The client wrote a publish with packet id `pkid` (0: QoS 0).
    pub fn on_sent(&mut self, pkid: u16) {
        if pkid != 0 {
            self.sent += 1;
            self.outstanding.insert(pkid);
        }
    }

    /// The broker acknowledged `pkid`.
    pub fn on_acked(&mut self, pkid: u16) {
        self.outstanding.remove(&pkid);
    }

    /// Every QoS 1 publish handed over was written and acknowledged.
    pub fn settled(&self) -> bool {
        self.sent >= self.handed && self.outstanding.is_empty()
    }

    /// The connection is gone: nothing handed over will be acknowledged.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests;
