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

use std::collections::{HashSet, VecDeque};

use rumqttc::{AsyncClient, ClientError, QoS};

use super::core::{OutboundMessage, Qos};

/// Messages waiting for the client at most (older non-retained ones go first).
pub const MAX_QUEUE: usize = 4096;

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
    /// Messages dropped because the queue was full (diagnostics).
    dropped: u64,
}

impl Outbox {
    /// Queues `m`: a QoS 0 message (a snapshot) replaces an unsent one for the
    /// same topic; when the queue is full, the oldest message is dropped.
    pub fn push(&mut self, m: OutboundMessage) {
        if m.qos == Qos::AtMostOnce {
            if let Some(old) = self.queue.iter_mut().find(|q| q.topic == m.topic) {
                *old = m;
                return;
            }
        }
        if self.queue.len() >= MAX_QUEUE {
            self.queue.pop_front();
            self.dropped += 1;
            tracing::warn!("MQTT publish queue full; dropped the oldest message");
        }
        self.queue.push_back(m);
    }

    /// Queues the shutdown messages ahead of everything else; unsent messages
    /// for the same topics are dropped, so nothing older can land after them.
    pub fn push_final(&mut self, finals: Vec<OutboundMessage>) {
        let topics: HashSet<&str> = finals.iter().map(|m| m.topic.as_str()).collect();
        self.queue.retain(|m| !topics.contains(m.topic.as_str()));
        for m in finals.into_iter().rev() {
            self.queue.push_front(m);
        }
    }

    /// Forgets everything queued (the connection is gone; the next connect
    /// republishes what matters).
    pub fn clear(&mut self) {
        self.queue.clear();
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
            self.queue.pop_front();
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
