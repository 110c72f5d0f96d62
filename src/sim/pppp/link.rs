//! The camera's side of the link: how datagrams are sealed and queued
//! ([`emit`]), and the session's outgoing DRW traffic: numbering and sending
//! new packets with the duplicate and late-resend quirks, batched acks, and
//! resends of what was not acked (the bookkeeping is in [`super::reliable`]).

use super::*;

/// Obfuscation and padding of outgoing datagrams.
#[derive(Debug, Clone, Copy)]
pub(super) struct Wire {
    pub(super) obfuscation: Obfuscation,
    pub(super) padding: usize,
}

/// What handing a datagram to the driver counts in the handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    Nothing,
    FrameDone,
    Audio,
    Ack,
}

/// A datagram waiting for the driver, and what handing it over counts.
#[derive(Debug)]
pub(super) struct Out {
    pub(super) transmit: Transmit,
    pub(super) counted: Counted,
}

/// Encodes, pads and obfuscates `msg` and queues it for the driver.
pub(super) fn emit(
    out: &mut VecDeque<Out>,
    wire: &Wire,
    socket: SocketIx,
    dst: SocketAddr,
    msg: &Message<'_>,
    counted: Counted,
) {
    let mut payload = msg.to_vec();
    payload.resize(payload.len() + wire.padding, 0);
    wire.obfuscation.seal(&mut payload);
    out.push_back(Out {
        transmit: Transmit {
            socket,
            dst,
            payload,
        },
        counted,
    });
}

/// `p` as a probability: clamped to 0–1, NaN as 0.
fn probability(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

impl PpppCamera {
    /// Numbers `data` on `channel`, sends it, and applies the duplicate and
    /// late-resend quirks.
    pub(super) fn send_drw(
        &mut self,
        now: Instant,
        channel: u8,
        data: Vec<u8>,
        kind: PacketKind,
        counted: Counted,
    ) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some(tx) = s.tx.get_mut(usize::from(channel)) else {
            return;
        };
        let peer = s.peer;
        let index = tx.push(now, data, kind);
        let data = tx.data(index).unwrap_or_default();
        let msg = Message::Drw {
            channel,
            index,
            data,
        };
        emit(
            &mut self.out,
            &self.wire,
            SESSION_SOCKET,
            peer,
            &msg,
            counted,
        );
        let q = &self.cfg.quirks;
        if q.duplicate_rate > 0.0 && self.rng.random_bool(probability(q.duplicate_rate)) {
            emit(
                &mut self.out,
                &self.wire,
                SESSION_SOCKET,
                peer,
                &msg,
                Counted::Nothing,
            );
        }
        if q.late_resend > 0.0 && self.rng.random_bool(probability(q.late_resend)) {
            let pick: usize = self.rng.random_range(0..1024);
            if let Some((index, data)) = tx.acked_sample(pick) {
                let old = Message::Drw {
                    channel,
                    index,
                    data,
                };
                emit(
                    &mut self.out,
                    &self.wire,
                    SESSION_SOCKET,
                    peer,
                    &old,
                    Counted::Nothing,
                );
            }
        }
        s.resend_check.get_or_insert(now + RESEND_TICK);
    }

    /// Sends the waiting acks, one DRW_ACK (marker D1) per channel and batch.
    pub(super) fn flush_acks(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.ack_due = None;
        let copies = if self.cfg.quirks.duplicate_acks { 2 } else { 1 };
        for (ch, acks) in s.acks.iter_mut().enumerate() {
            for chunk in acks.chunks(MAX_ACK_INDICES) {
                let msg = Message::DrwAck {
                    marker: DRW_MARKER,
                    channel: ch as u8,
                    indices: chunk.to_vec(),
                };
                for _ in 0..copies {
                    emit(
                        &mut self.out,
                        &self.wire,
                        SESSION_SOCKET,
                        s.peer,
                        &msg,
                        Counted::Ack,
                    );
                }
            }
            acks.clear();
        }
    }

    /// Resends (same index) every packet unacked for [`RESEND_AFTER`].
    pub(super) fn resend(&mut self, now: Instant) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let peer = s.peer;
        let mut resent = 0u64;
        for (ch, tx) in s.tx.iter_mut().enumerate() {
            tx.resend_due(now, RESEND_AFTER, |index, data| {
                resent += 1;
                let msg = Message::Drw {
                    channel: ch as u8,
                    index,
                    data,
                };
                emit(
                    &mut self.out,
                    &self.wire,
                    SESSION_SOCKET,
                    peer,
                    &msg,
                    Counted::Nothing,
                );
            });
        }
        s.resend_check =
            s.tx.iter()
                .any(|t| !t.is_empty())
                .then_some(now + RESEND_TICK);
        self.shared
            .counters
            .retransmissions
            .fetch_add(resent, Ordering::Relaxed);
    }
}
