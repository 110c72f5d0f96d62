//! The camera's own DRW reliability (`pppp.md` §4), written for the device
//! side only: [`TxChannel`] numbers what the camera sends on one channel,
//! keeps it until acked and says what is due for a resend (same index);
//! [`RxChannel`] puts what a client sends back in order, once.
//!
//! Indices are u16 and wrap; an index is compared with serial arithmetic
//! (`(a - b) as i16`). Internally the sender numbers packets with a u64
//! sequence that never wraps, and maps an acked u16 back to it through the
//! distance from the next index, so a send buffer of up to 32 767 packets is
//! unambiguous across the wrap.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Most packets a client may send ahead of the next one the camera expects;
/// anything further is neither stored nor acked (the client resends it).
pub const RX_WINDOW: u16 = 256;
/// Largest send buffer a channel accepts (half the index space).
pub const MAX_SEND_BUFFER: usize = 32_767;
/// Acked packets remembered per channel for the `late_resend` quirk.
const RECENTLY_ACKED: usize = 32;

/// What an outgoing packet is, for the bounded send buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// A command reply: kept until acked, never dropped.
    Command,
    /// Part of a media frame (video, or an audio packet); the number groups the
    /// packets of one frame, which are dropped together.
    Media(u64),
}

#[derive(Debug)]
struct TxPacket {
    index: u16,
    data: Vec<u8>,
    kind: PacketKind,
    sent_at: Instant,
}

/// One outgoing DRW channel.
#[derive(Debug)]
pub struct TxChannel {
    next_index: u16,
    next_seq: u64,
    unacked: BTreeMap<u64, TxPacket>,
    recently_acked: VecDeque<(u16, Vec<u8>)>,
}

impl TxChannel {
    /// A channel whose first packet gets index `first_index`.
    pub fn new(first_index: u16) -> Self {
        Self {
            next_index: first_index,
            next_seq: 0,
            unacked: BTreeMap::new(),
            recently_acked: VecDeque::new(),
        }
    }

    /// Numbers `data`, keeps it until acked and returns its index; the caller
    /// sends it now (at `now`).
    pub fn push(&mut self, now: Instant, data: Vec<u8>, kind: PacketKind) -> u16 {
        let index = self.next_index;
        self.unacked.insert(
            self.next_seq,
            TxPacket {
                index,
                data,
                kind,
                sent_at: now,
            },
        );
        self.next_seq += 1;
        self.next_index = self.next_index.wrapping_add(1);
        index
    }

    /// The data of the packet with `index`, if it is still unacked.
    pub fn data(&self, index: u16) -> Option<&[u8]> {
        let seq = self.seq_of(index)?;
        self.unacked.get(&seq).map(|p| p.data.as_slice())
    }

    fn seq_of(&self, index: u16) -> Option<u64> {
        let back = self.next_index.wrapping_sub(index);
        if back == 0 {
            return None;
        }
        self.next_seq.checked_sub(u64::from(back))
    }

    /// Marks `index` acked. False when it is not (or no longer) waiting.
    pub fn ack(&mut self, index: u16) -> bool {
        let Some(seq) = self.seq_of(index) else {
            return false;
        };
        let Some(p) = self.unacked.remove(&seq) else {
            return false;
        };
        if self.recently_acked.len() >= RECENTLY_ACKED {
            self.recently_acked.pop_front();
        }
        self.recently_acked.push_back((p.index, p.data));
        true
    }

    /// Unacked packets.
    pub fn len(&self) -> usize {
        self.unacked.len()
    }

    /// True when everything sent has been acked.
    pub fn is_empty(&self) -> bool {
        self.unacked.is_empty()
    }

    /// Calls `resend(index, data)` for every packet unacked for `after` or
    /// longer, oldest first, and restarts their timers.
    pub fn resend_due(
        &mut self,
        now: Instant,
        after: Duration,
        mut resend: impl FnMut(u16, &[u8]),
    ) {
        for p in self.unacked.values_mut() {
            if now.saturating_duration_since(p.sent_at) >= after {
                resend(p.index, &p.data);
                p.sent_at = now;
            }
        }
    }

    /// An already-acked packet (index and data), picked by `pick` from the
    /// last few acked, for the `late_resend` quirk.
    pub fn acked_sample(&self, pick: usize) -> Option<(u16, &[u8])> {
        let n = self.recently_acked.len();
        if n == 0 {
            return None;
        }
        self.recently_acked
            .get(pick % n)
            .map(|(i, d)| (*i, d.as_slice()))
    }

    /// Forgets every unacked packet of the oldest media frame (the camera's
    /// small buffer overflowing). Returns how many packets went; 0 when only
    /// commands are waiting.
    pub fn drop_oldest_media(&mut self) -> usize {
        let Some(group) = self.unacked.values().find_map(|p| match p.kind {
            PacketKind::Media(g) => Some(g),
            PacketKind::Command => None,
        }) else {
            return 0;
        };
        let before = self.unacked.len();
        self.unacked
            .retain(|_, p| p.kind != PacketKind::Media(group));
        before - self.unacked.len()
    }
}

/// What [`RxChannel::receive`] made of a packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// New, in order: these payloads (this one and any stored ones it
    /// completed) are delivered, in index order.
    Delivered(Vec<Vec<u8>>),
    /// New but early: stored until the gap before it is filled.
    Stored,
    /// Already delivered or already stored: ack again, do nothing.
    Duplicate,
    /// Too far ahead (or far behind): neither stored nor acked.
    OutOfWindow,
}

impl Received {
    /// Whether the packet is acked.
    pub fn ack(&self) -> bool {
        !matches!(self, Self::OutOfWindow)
    }
}

/// One incoming DRW channel: reorder buffer and duplicate filter.
#[derive(Debug)]
pub struct RxChannel {
    next: u16,
    pending: BTreeMap<u16, Vec<u8>>,
}

impl RxChannel {
    /// Expects index `first` next (clients start at 0, `pppp.md` §4).
    pub fn new(first: u16) -> Self {
        Self {
            next: first,
            pending: BTreeMap::new(),
        }
    }

    /// Takes packet `index`.
    pub fn receive(&mut self, index: u16, data: &[u8]) -> Received {
        let ahead = index.wrapping_sub(self.next) as i16;
        if ahead < 0 {
            // Behind: already delivered (however far behind), so acked again
            // and otherwise ignored.
            return Received::Duplicate;
        }
        if ahead as u16 >= RX_WINDOW {
            return Received::OutOfWindow;
        }
        if ahead > 0 {
            if self.pending.contains_key(&index) {
                return Received::Duplicate;
            }
            self.pending.insert(index, data.to_vec());
            return Received::Stored;
        }
        let mut out = vec![data.to_vec()];
        self.next = self.next.wrapping_add(1);
        while let Some(d) = self.pending.remove(&self.next) {
            out.push(d);
            self.next = self.next.wrapping_add(1);
        }
        Received::Delivered(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        crate::io::clock::now()
    }

    #[test]
    fn acks_map_back_across_the_wrap() {
        let t = t0();
        let mut tx = TxChannel::new(0xFFFE);
        let idx: Vec<u16> = (0..4)
            .map(|i| tx.push(t, vec![i], PacketKind::Command))
            .collect();
        assert_eq!(idx, [0xFFFE, 0xFFFF, 0, 1]);
        assert_eq!(tx.data(0), Some(&[2u8][..]));
        assert!(tx.ack(0xFFFF));
        assert!(!tx.ack(0xFFFF), "twice");
        assert!(!tx.ack(2), "not sent yet");
        assert!(!tx.ack(0x8000), "never sent");
        assert_eq!(tx.len(), 3);
        let mut resent = Vec::new();
        tx.resend_due(
            t + Duration::from_millis(299),
            Duration::from_millis(300),
            |i, _| resent.push(i),
        );
        assert!(resent.is_empty());
        tx.resend_due(
            t + Duration::from_millis(300),
            Duration::from_millis(300),
            |i, _| resent.push(i),
        );
        assert_eq!(resent, [0xFFFE, 0, 1]);
        assert_eq!(tx.acked_sample(7), Some((0xFFFF, &[1u8][..])));
    }

    #[test]
    fn the_oldest_media_frame_is_dropped_whole_and_commands_never() {
        let t = t0();
        let mut tx = TxChannel::new(0);
        tx.push(t, vec![0], PacketKind::Command);
        for _ in 0..3 {
            tx.push(t, vec![1], PacketKind::Media(7));
        }
        tx.push(t, vec![2], PacketKind::Media(8));
        assert_eq!(tx.drop_oldest_media(), 3);
        assert_eq!(tx.drop_oldest_media(), 1);
        assert_eq!(tx.drop_oldest_media(), 0);
        assert_eq!(tx.len(), 1);
    }

    #[test]
    fn receive_reorders_dedupes_and_bounds() {
        let mut rx = RxChannel::new(0xFFFF);
        assert_eq!(rx.receive(1, b"c"), Received::Stored);
        assert_eq!(rx.receive(1, b"c"), Received::Duplicate);
        assert_eq!(
            rx.receive(0xFFFF, b"a"),
            Received::Delivered(vec![b"a".to_vec()])
        );
        assert_eq!(
            rx.receive(0, b"b"),
            Received::Delivered(vec![b"b".to_vec(), b"c".to_vec()])
        );
        assert_eq!(rx.receive(0, b"b"), Received::Duplicate);
        assert_eq!(rx.receive(2 + RX_WINDOW, b"x"), Received::OutOfWindow);
        assert!(!Received::OutOfWindow.ack());
    }
}
