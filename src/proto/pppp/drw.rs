//! The reliable DRW channel of PPPP (`pppp.md` §1.2, §3.4, §4): one
//! [`DrwChannel`] per channel id (0 commands, 1 video, 2 audio, 3 talk), as a
//! sans-IO state machine.
//!
//! Owns:
//! * per-channel u16 indices, compared with serial-number arithmetic
//!   (`(index - expected) as i16`), so they may start anywhere and wrap
//!   0xFFFF → 0;
//! * the receive side ([`RecvChannel`]): a bounded reorder buffer, in-order
//!   delivery, skip-ahead over holes that are not going to be filled (reported
//!   as [`Delivered::Gap`]), and batched DRW_ACKs;
//! * the send side ([`SendChannel`]): index assignment, retransmission of the
//!   *same* index until acked, a give-up deadline and a bound on packets in
//!   flight.
//!
//! Rules taken from what other clients learnt (§4): never ack what could not
//! be stored, so the camera's own retransmission is the recovery (go2rtc,
//! eufy-sdk PR #212); ack duplicates again, because they mean our ack was lost;
//! retransmit with the same index (cam-reverse renumbers, which a camera takes
//! for new data); and never freeze on a hole: when the buffer is full, or a
//! hole is older than the stall timeout, give up on it and resume at the next
//! packet that starts a frame.
//!
//! Must not: frame or obfuscate datagrams (the session does; this module only
//! wraps its output in [`Message`]), understand frames (a `frame_start`
//! predicate is injected), read a clock (every call takes `now`), or decide
//! what a failed send means (the session fails its command).
//!
//! Drain contract ([`crate::proto`]): after every `handle_*` call, drain
//! `poll_delivered`, `poll_ack`, `poll_transmit` and `poll_event`, then read
//! `poll_timeout`. Undrained output counts against the bounds, so a caller
//! that forgets cannot make memory grow.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::wire::{Message, DRW_MARKER, MAX_DRW_DATA};
use crate::proto::timer::TimerTable;

/// Largest reorder window and in-flight count. Serial-number arithmetic on
/// u16 needs every live index within half the index space; a quarter ahead
/// leaves a quarter behind in which late retransmissions are still
/// recognised as old.
pub const MAX_WINDOW: usize = 0x4000;

/// Most indices we put in one DRW_ACK: 8 + 2 × 512 bytes stays under a
/// 1500-byte MTU.
pub const MAX_ACK_BATCH: usize = 512;

/// Longest configurable delay or timeout; longer values are clamped so that
/// `now + delay` cannot overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Ack messages kept while the caller does not drain [`RecvChannel::poll_ack`];
/// beyond that the oldest is dropped (harmless: the camera resends and is
/// acked again).
const MAX_QUEUED_ACKS: usize = 16;

/// Magic of the 32-byte media frame header (`pppp.md` §3.4).
pub const FRAME_MAGIC: [u8; 4] = [0x55, 0xAA, 0x15, 0xA8];

/// JPEG start of image plus the first byte of the next marker: how frames
/// start on binary cameras that send no header (`pppp.md` §3.4).
const JPEG_START: [u8; 3] = [0xFF, 0xD8, 0xFF];

/// Frame-start predicate for the media channels: the data begins with the
/// frame header magic `55 AA 15 A8`, or with a bare JPEG start `FF D8 FF`
/// (cameras that send no header). Neither can appear at the start of a packet
/// in the middle of a JPEG: inside entropy-coded data `FF` is only followed by
/// `00` or a restart marker.
pub fn video_frame_start(data: &[u8]) -> bool {
    data.starts_with(&FRAME_MAGIC) || data.starts_with(&JPEG_START)
}

/// Serial-number distance from `from` to `to`: positive if `to` comes after
/// `from`, negative if before (RFC 1982 style, on u16).
fn ahead(from: u16, to: u16) -> i16 {
    // Reinterpreting the wrapped difference as signed is the whole point.
    to.wrapping_sub(from) as i16
}

/// `n` as a u16 offset; callers pass values below [`MAX_WINDOW`].
fn offset(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Receive-side settings of one channel.
#[derive(Debug, Clone, Copy)]
pub struct RecvConfig {
    /// How many indices ahead of the next expected one are accepted, and so
    /// the most packets the reorder buffer holds (clamped to
    /// 1..=[`MAX_WINDOW`]). A packet beyond it is not stored and not acked.
    pub window: usize,
    /// Most data bytes the reorder buffer holds. Bounds memory when packets
    /// are large; a packet that would exceed it is not stored and not acked.
    pub max_bytes: usize,
    /// Acks are sent once this many are pending (clamped to
    /// 1..=[`MAX_ACK_BATCH`]); more pending acks go out as several messages.
    pub ack_batch: usize,
    /// A pending ack is sent at the latest this long after the packet arrived.
    pub ack_delay: Duration,
    /// A hole with data buffered behind it (or packets arriving beyond the
    /// window) is given up after this long without delivery progress, so a
    /// packet the camera never resends does not freeze the stream.
    pub stall_timeout: Duration,
    /// Whether a packet's data starts a frame. After a hole is given up,
    /// delivery resumes at the first buffered packet for which this is true
    /// (the packets before it belong to the broken frame). `None`: every
    /// packet may start (the command channel).
    pub frame_start: Option<fn(&[u8]) -> bool>,
    /// The first index the peer will send, if known. `None`: the first packet
    /// that arrives sets it (a packet reordered before it is then treated as
    /// old).
    pub first_index: Option<u16>,
}

impl Default for RecvConfig {
    fn default() -> Self {
        Self {
            window: 256,
            max_bytes: 256 * MAX_DRW_DATA,
            ack_batch: 64,
            ack_delay: Duration::from_millis(10),
            stall_timeout: Duration::from_secs(1),
            frame_start: None,
            first_index: None,
        }
    }
}

/// Send-side settings of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendConfig {
    /// Most packets awaiting an ack (clamped to 1..=[`MAX_WINDOW`]); further
    /// sends fail with [`SendError::Full`].
    pub max_in_flight: usize,
    /// An unacked packet is sent again (same index, same bytes) this often.
    pub retransmit: Duration,
    /// An unacked packet is given up this long after it was first sent and
    /// reported as [`SendEvent::Failed`].
    pub deadline: Duration,
    /// Index of the first packet we send (`pppp.md` §4: cameras expect 0).
    pub first_index: u16,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 64,
            retransmit: Duration::from_millis(300),
            deadline: Duration::from_secs(5),
            first_index: 0,
        }
    }
}

/// Settings of one [`DrwChannel`]. The default suits the command channel.
#[derive(Debug, Clone, Copy)]
pub struct DrwConfig {
    /// Receive side.
    pub recv: RecvConfig,
    /// Send side.
    pub send: SendConfig,
    /// Marker byte of the DRW_ACKs we send: `D1` as every open client does
    /// (the official app uses `D2`; cameras accept both, `pppp.md` §1.2).
    pub ack_marker: u8,
}

impl Default for DrwConfig {
    fn default() -> Self {
        Self {
            recv: RecvConfig::default(),
            send: SendConfig::default(),
            ack_marker: DRW_MARKER,
        }
    }
}

impl DrwConfig {
    /// Settings for the command channel: every packet may start a message.
    pub fn commands() -> Self {
        Self::default()
    }

    /// Settings for a media channel: after a lost packet, delivery resumes at
    /// the next packet for which [`video_frame_start`] holds.
    pub fn media() -> Self {
        let mut cfg = Self::commands();
        cfg.recv.frame_start = Some(video_frame_start);
        cfg
    }
}

// ---------------------------------------------------------------------------
// Receive side
// ---------------------------------------------------------------------------

/// What [`RecvChannel::handle_drw`] did with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The next expected index: delivered, with any buffered run after it. Acked.
    Delivered,
    /// Ahead of a hole: kept in the reorder buffer. Acked.
    Buffered,
    /// Already delivered (or given up), or already buffered: dropped and acked
    /// again, since the camera resends only when our ack was lost.
    Duplicate,
    /// Further behind than the window (a very late retransmission): dropped, acked.
    OutOfWindow,
    /// Could not be stored (beyond the window, over the byte limit, or output
    /// not drained): dropped and **not** acked, so the camera resends it.
    NotStored,
}

/// What the receive side hands upwards, in index order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// The data of the next index.
    Data {
        /// Its index.
        index: u16,
        /// Its bytes.
        data: Bytes,
    },
    /// Indices `from..=to` (inclusive, wrapping) were given up: the consumer
    /// must drop whatever frame or message it was assembling.
    Gap {
        /// First index skipped.
        from: u16,
        /// Last index skipped.
        to: u16,
    },
}

/// Receive-side counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvStats {
    /// Packets delivered in order.
    pub delivered: u64,
    /// Packets that arrived again (already delivered, given up or buffered); re-acked.
    pub duplicates: u64,
    /// Packets further behind than the window; acked and dropped.
    pub out_of_window: u64,
    /// Packets that could not be stored; not acked.
    pub not_stored: u64,
    /// Gaps reported (holes given up).
    pub gaps: u64,
    /// Indices given up in those gaps, including buffered packets dropped
    /// because they belonged to the broken frame.
    pub skipped: u64,
}

crate::timer_kind! {
    /// Receive-side deadlines.
    enum RecvTimer {
        /// Send the pending acks.
        AckFlush,
        /// Give up on the hole at the next expected index.
        Stall,
    }
}

/// The receive side of one channel: reorders, delivers, acks.
#[derive(Debug)]
pub struct RecvChannel {
    /// Settings, clamped.
    cfg: RecvConfig,
    /// Whether `next` is known (from the config or the first packet).
    anchored: bool,
    /// The next index to deliver.
    next: u16,
    /// `slots[k]` holds index `next + 1 + k`. Only grown to store a packet, so
    /// its last element is always `Some` and it is empty iff nothing is buffered.
    slots: VecDeque<Option<Bytes>>,
    /// Packets in `slots`.
    buffered: usize,
    /// Data bytes in `slots`.
    buffered_bytes: usize,
    /// The nearest index seen beyond the window since delivery last
    /// progressed: evidence for resynchronising when nothing is buffered.
    far_ahead: Option<u16>,
    /// Delivered, not yet polled.
    out: VecDeque<Delivered>,
    /// Data bytes in `out`.
    out_bytes: usize,
    /// Indices to ack, not yet in a message (fewer than `ack_batch`).
    pending_acks: Vec<u16>,
    /// Ack messages ready to send.
    ready_acks: VecDeque<Vec<u16>>,
    /// Ack flush and stall deadlines.
    timers: TimerTable<RecvTimer>,
    /// Counters for the session's stats.
    stats: RecvStats,
}

impl RecvChannel {
    /// A receive side with `cfg` (out-of-range values are clamped).
    pub fn new(cfg: RecvConfig) -> Self {
        let cfg = RecvConfig {
            window: cfg.window.clamp(1, MAX_WINDOW),
            ack_batch: cfg.ack_batch.clamp(1, MAX_ACK_BATCH),
            ack_delay: cfg.ack_delay.min(MAX_TIMEOUT),
            stall_timeout: cfg.stall_timeout.min(MAX_TIMEOUT),
            ..cfg
        };
        Self {
            anchored: cfg.first_index.is_some(),
            next: cfg.first_index.unwrap_or(0),
            cfg,
            slots: VecDeque::new(),
            buffered: 0,
            buffered_bytes: 0,
            far_ahead: None,
            out: VecDeque::new(),
            out_bytes: 0,
            pending_acks: Vec::new(),
            ready_acks: VecDeque::new(),
            timers: TimerTable::default(),
            stats: RecvStats::default(),
        }
    }

    /// Feeds one received DRW of this channel.
    pub fn handle_drw(&mut self, now: Instant, index: u16, data: &[u8]) -> Received {
        if !self.anchored {
            self.anchored = true;
            self.next = index;
        }
        let before = self.next;
        // Judged once, on what earlier calls left undrained.
        let backlogged = self.backlogged();
        let mut outcome = self.place(index, data, backlogged);
        if outcome == Received::NotStored && !backlogged && self.full_for(data.len()) {
            // Stall under pressure: give up on the hole, then try again (the
            // skip usually makes room, often it makes this packet the next).
            self.skip_ahead();
            outcome = self.place(index, data, backlogged);
        }
        match outcome {
            Received::NotStored => {
                self.stats.not_stored += 1;
                let d = ahead(self.next, index);
                if usize::from(d.unsigned_abs()) > self.cfg.window && d > 0 {
                    let nearer = self.far_ahead.is_none_or(|far| ahead(self.next, far) > d);
                    if nearer {
                        self.far_ahead = Some(index);
                    }
                }
            }
            Received::Duplicate => {
                self.stats.duplicates += 1;
                self.queue_ack(now, index);
            }
            Received::OutOfWindow => {
                self.stats.out_of_window += 1;
                self.queue_ack(now, index);
            }
            Received::Delivered | Received::Buffered => self.queue_ack(now, index),
        }
        self.update_stall(now, before != self.next);
        outcome
    }

    /// Call when the deadline from [`RecvChannel::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.expired(now) {
            match timer {
                RecvTimer::AckFlush => self.flush_acks(),
                RecvTimer::Stall => {
                    if self.buffered > 0 {
                        self.skip_ahead();
                    } else if let Some(far) = self.far_ahead.take() {
                        self.resync(far);
                    }
                    self.update_stall(now, true);
                }
            }
        }
    }

    /// Moves every pending ack into a message now (e.g. before closing).
    pub fn flush_acks(&mut self) {
        self.timers.stop(RecvTimer::AckFlush);
        if self.pending_acks.is_empty() {
            return;
        }
        if self.ready_acks.len() >= MAX_QUEUED_ACKS {
            self.ready_acks.pop_front();
        }
        self.ready_acks
            .push_back(std::mem::take(&mut self.pending_acks));
    }

    /// The next data or gap, in index order.
    pub fn poll_delivered(&mut self) -> Option<Delivered> {
        let item = self.out.pop_front()?;
        if let Delivered::Data { data, .. } = &item {
            self.out_bytes = self.out_bytes.saturating_sub(data.len());
        }
        Some(item)
    }

    /// The indices of the next DRW_ACK to send (at most `ack_batch`).
    pub fn poll_ack(&mut self) -> Option<Vec<u16>> {
        self.ready_acks.pop_front()
    }

    /// When [`RecvChannel::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Counters so far.
    pub fn stats(&self) -> RecvStats {
        self.stats
    }

    /// The next index to deliver (`None` until the first packet when no
    /// `first_index` was configured).
    pub fn next_expected(&self) -> Option<u16> {
        self.anchored.then_some(self.next)
    }

    /// Packets and data bytes held in the reorder buffer.
    pub fn buffered(&self) -> (usize, usize) {
        (self.buffered, self.buffered_bytes)
    }

    fn starts_frame(&self, data: &[u8]) -> bool {
        self.cfg.frame_start.is_none_or(|f| f(data))
    }

    /// Output left undrained by earlier calls beyond what one call can
    /// produce: refuse more data until the caller drains.
    fn backlogged(&self) -> bool {
        self.out.len() > self.cfg.window + 2 || self.out_bytes > 2 * self.cfg.max_bytes
    }

    /// Whether a packet of `len` bytes did not fit because the buffer is
    /// full, so that giving up the hole would make room.
    fn full_for(&self, len: usize) -> bool {
        self.buffered > 0
            && len <= self.cfg.max_bytes
            && (self.buffered >= self.cfg.window
                || self.buffered_bytes.saturating_add(len) > self.cfg.max_bytes)
    }

    /// Stores or delivers one packet if it can; never acks or counts.
    fn place(&mut self, index: u16, data: &[u8], backlogged: bool) -> Received {
        let d = ahead(self.next, index);
        let dist = usize::from(d.unsigned_abs());
        if d < 0 {
            return if dist <= self.cfg.window {
                Received::Duplicate
            } else {
                Received::OutOfWindow
            };
        }
        // d >= 0 from here; slot dist - 1 holds index `next + dist`.
        if d > 0 && dist <= self.cfg.window && matches!(self.slots.get(dist - 1), Some(Some(_))) {
            return Received::Duplicate;
        }
        if backlogged {
            return Received::NotStored;
        }
        if d == 0 {
            self.deliver_run(index, Bytes::copy_from_slice(data));
            return Received::Delivered;
        }
        if dist > self.cfg.window
            || self.buffered_bytes.saturating_add(data.len()) > self.cfg.max_bytes
        {
            return Received::NotStored;
        }
        let k = dist - 1;
        if self.slots.len() <= k {
            self.slots.resize(k + 1, None);
        }
        match self.slots.get_mut(k) {
            Some(slot) => {
                *slot = Some(Bytes::copy_from_slice(data));
                self.buffered += 1;
                self.buffered_bytes += data.len();
                Received::Buffered
            }
            None => Received::NotStored,
        }
    }

    /// Delivers `index` (which must be `next`) and the buffered run after it.
    fn deliver_run(&mut self, index: u16, data: Bytes) {
        self.far_ahead = None;
        self.push_data(index, data);
        self.next = index.wrapping_add(1);
        // `slots[0]` is now the slot of `next` itself.
        while let Some(slot) = self.slots.pop_front() {
            let Some(data) = slot else {
                break; // the hole at `next`; `slots[0]` is `next + 1` again
            };
            self.buffered -= 1;
            self.buffered_bytes -= data.len();
            self.push_data(self.next, data);
            self.next = self.next.wrapping_add(1);
        }
    }

    fn push_data(&mut self, index: u16, data: Bytes) {
        self.stats.delivered += 1;
        self.out_bytes += data.len();
        self.out.push_back(Delivered::Data { index, data });
    }

    fn push_gap(&mut self, from: u16, to: u16) {
        self.stats.gaps += 1;
        self.stats.skipped += u64::from(to.wrapping_sub(from)) + 1;
        self.out.push_back(Delivered::Gap { from, to });
    }

    /// Gives up on the hole at `next`: resumes at the first buffered packet
    /// that starts a frame, else at the oldest buffered one. Buffered packets
    /// before that point are dropped with the hole.
    fn skip_ahead(&mut self) {
        let target = self
            .slots
            .iter()
            .position(|s| s.as_deref().is_some_and(|d| self.starts_frame(d)))
            .or_else(|| self.slots.iter().position(Option::is_some));
        let Some(k) = target else { return };
        let from = self.next;
        let to = from.wrapping_add(offset(k));
        for _ in 0..k {
            if let Some(Some(data)) = self.slots.pop_front() {
                self.buffered -= 1;
                self.buffered_bytes -= data.len();
            }
        }
        self.push_gap(from, to);
        let index = to.wrapping_add(1);
        self.next = index;
        if let Some(Some(data)) = self.slots.pop_front() {
            self.buffered -= 1;
            self.buffered_bytes -= data.len();
            self.deliver_run(index, data);
        }
    }

    /// Nothing buffered but the peer is beyond the window: jump to the
    /// nearest index seen there (it was not acked, so it will come again).
    fn resync(&mut self, to_index: u16) {
        self.slots.clear();
        self.buffered = 0;
        self.buffered_bytes = 0;
        self.push_gap(self.next, to_index.wrapping_sub(1));
        self.next = to_index;
    }

    fn queue_ack(&mut self, now: Instant, index: u16) {
        if self.pending_acks.contains(&index) {
            return;
        }
        if self.pending_acks.is_empty() {
            self.timers
                .set(RecvTimer::AckFlush, now + self.cfg.ack_delay);
        }
        self.pending_acks.push(index);
        if self.pending_acks.len() >= self.cfg.ack_batch {
            self.flush_acks();
        }
    }

    /// Arms the stall timer while a hole blocks delivery; restarts it when
    /// delivery made progress.
    fn update_stall(&mut self, now: Instant, progressed: bool) {
        let stalled = self.buffered > 0 || self.far_ahead.is_some();
        if !stalled {
            self.timers.stop(RecvTimer::Stall);
        } else if progressed || self.timers.get(RecvTimer::Stall).is_none() {
            self.timers
                .set(RecvTimer::Stall, now + self.cfg.stall_timeout);
        }
    }
}

// ---------------------------------------------------------------------------
// Send side
// ---------------------------------------------------------------------------

/// Why [`SendChannel::send`] refused data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Too many packets await an ack (or their events were not drained yet).
    #[error("{limit} DRW packets already await an acknowledgement")]
    Full {
        /// The configured bound.
        limit: usize,
    },
    /// More data than one DRW carries.
    #[error("DRW data of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Bytes offered.
        len: usize,
        /// Most bytes one packet may carry.
        max: usize,
    },
}

/// The fate of a packet we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendEvent {
    /// The peer acknowledged it.
    Acked {
        /// Its index.
        index: u16,
    },
    /// No ack before the deadline; it is no longer retransmitted.
    Failed {
        /// Its index.
        index: u16,
    },
}

/// Send-side counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendStats {
    /// Packets accepted by [`SendChannel::send`].
    pub sent: u64,
    /// Retransmissions queued.
    pub retransmitted: u64,
    /// Packets acknowledged.
    pub acked: u64,
    /// Packets given up at the deadline.
    pub failed: u64,
    /// Acks for indices not in flight (duplicates or unknown); ignored.
    pub unknown_acks: u64,
}

crate::timer_kind! {
    /// Send-side deadlines (the earliest over all packets in flight).
    enum SendTimer {
        /// Some packet is due for retransmission.
        Retransmit,
        /// Some packet reaches its deadline.
        GiveUp,
    }
}

/// One packet awaiting its ack.
#[derive(Debug)]
struct InFlight {
    /// Its index, kept for every retransmission.
    index: u16,
    /// Its bytes, resent unchanged.
    data: Bytes,
    /// When to send it again.
    retransmit_at: Instant,
    /// When to report it failed.
    give_up_at: Instant,
    /// In the transmit queue and not polled yet (never queued twice).
    queued: bool,
}

/// The send side of one channel: numbers, retransmits and tracks our packets.
#[derive(Debug)]
pub struct SendChannel {
    /// Settings, clamped.
    cfg: SendConfig,
    /// Index of the next new packet.
    next: u16,
    /// Unacked packets, oldest first.
    in_flight: VecDeque<InFlight>,
    /// Indices to (re)transmit; stale ones are skipped when polled.
    transmit: VecDeque<u16>,
    /// Acks and failures not polled yet.
    events: VecDeque<SendEvent>,
    /// Earliest retransmission and give-up over `in_flight`.
    timers: TimerTable<SendTimer>,
    /// Counters for the session's stats.
    stats: SendStats,
}

impl SendChannel {
    /// A send side with `cfg` (out-of-range values are clamped).
    pub fn new(cfg: SendConfig) -> Self {
        let cfg = SendConfig {
            max_in_flight: cfg.max_in_flight.clamp(1, MAX_WINDOW),
            retransmit: cfg.retransmit.min(MAX_TIMEOUT),
            deadline: cfg.deadline.min(MAX_TIMEOUT),
            ..cfg
        };
        Self {
            next: cfg.first_index,
            cfg,
            in_flight: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            timers: TimerTable::default(),
            stats: SendStats::default(),
        }
    }

    /// Queues `data` as the next packet and returns its index. It is
    /// retransmitted until acked or until the deadline.
    pub fn send(&mut self, now: Instant, data: &[u8]) -> Result<u16, SendError> {
        if data.len() > MAX_DRW_DATA {
            return Err(SendError::TooLarge {
                len: data.len(),
                max: MAX_DRW_DATA,
            });
        }
        if self.in_flight.len() + self.events.len() >= self.cfg.max_in_flight {
            return Err(SendError::Full {
                limit: self.cfg.max_in_flight,
            });
        }
        let index = self.next;
        self.next = index.wrapping_add(1);
        self.in_flight.push_back(InFlight {
            index,
            data: Bytes::copy_from_slice(data),
            retransmit_at: now + self.cfg.retransmit,
            give_up_at: now + self.cfg.deadline,
            queued: true,
        });
        self.transmit.push_back(index);
        self.stats.sent += 1;
        self.rearm();
        Ok(index)
    }

    /// Feeds the indices of a DRW_ACK of this channel.
    pub fn handle_ack(&mut self, indices: &[u16]) {
        for &index in indices {
            match self.in_flight.iter().position(|p| p.index == index) {
                Some(pos) => {
                    self.in_flight.remove(pos);
                    self.stats.acked += 1;
                    self.events.push_back(SendEvent::Acked { index });
                }
                None => self.stats.unknown_acks += 1,
            }
        }
        self.rearm();
    }

    /// Call when the deadline from [`SendChannel::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Self {
            cfg,
            in_flight,
            transmit,
            events,
            stats,
            ..
        } = self;
        in_flight.retain_mut(|p| {
            if p.give_up_at <= now {
                stats.failed += 1;
                events.push_back(SendEvent::Failed { index: p.index });
                return false;
            }
            if p.retransmit_at <= now {
                p.retransmit_at = now + cfg.retransmit;
                if !p.queued {
                    p.queued = true;
                    transmit.push_back(p.index);
                    stats.retransmitted += 1;
                }
            }
            true
        });
        self.rearm();
    }

    /// The next packet to put on the wire (first send or retransmission).
    pub fn poll_transmit(&mut self) -> Option<(u16, Bytes)> {
        while let Some(index) = self.transmit.pop_front() {
            if let Some(p) = self.in_flight.iter_mut().find(|p| p.index == index) {
                p.queued = false;
                return Some((index, p.data.clone()));
            }
        }
        None
    }

    /// The next ack or failure of one of our packets.
    pub fn poll_event(&mut self) -> Option<SendEvent> {
        self.events.pop_front()
    }

    /// When [`SendChannel::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// Packets awaiting an ack.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The index the next [`SendChannel::send`] will use.
    pub fn next_index(&self) -> u16 {
        self.next
    }

    /// Counters so far.
    pub fn stats(&self) -> SendStats {
        self.stats
    }

    fn rearm(&mut self) {
        match self.in_flight.iter().map(|p| p.retransmit_at).min() {
            Some(at) => self.timers.set(SendTimer::Retransmit, at),
            None => self.timers.stop(SendTimer::Retransmit),
        }
        match self.in_flight.iter().map(|p| p.give_up_at).min() {
            Some(at) => self.timers.set(SendTimer::GiveUp, at),
            None => self.timers.stop(SendTimer::GiveUp),
        }
    }
}

// ---------------------------------------------------------------------------
// Both sides
// ---------------------------------------------------------------------------

/// Both directions of one DRW channel, with its id so it can build messages.
/// The session owns one per channel and routes DRW / DRW_ACK by channel id.
#[derive(Debug)]
pub struct DrwChannel {
    /// Channel id, written into the acks and data we send.
    channel: u8,
    /// Marker byte of our DRW_ACKs.
    ack_marker: u8,
    /// What the camera sends us on this channel.
    pub recv: RecvChannel,
    /// What we send the camera on this channel.
    pub send: SendChannel,
}

impl DrwChannel {
    /// Channel `channel` with `cfg`.
    pub fn new(channel: u8, cfg: DrwConfig) -> Self {
        Self {
            channel,
            ack_marker: cfg.ack_marker,
            recv: RecvChannel::new(cfg.recv),
            send: SendChannel::new(cfg.send),
        }
    }

    /// The channel id.
    pub fn channel(&self) -> u8 {
        self.channel
    }

    /// Feeds a decoded message: a DRW or DRW_ACK of this channel is consumed
    /// (`true`); anything else is left to the caller (`false`).
    pub fn handle_message(&mut self, now: Instant, message: &Message<'_>) -> bool {
        match message {
            Message::Drw {
                channel,
                index,
                data,
            } if *channel == self.channel => {
                self.recv.handle_drw(now, *index, data);
                true
            }
            Message::DrwAck {
                channel, indices, ..
            } if *channel == self.channel => {
                self.send.handle_ack(indices);
                true
            }
            _ => false,
        }
    }

    /// Call when the deadline from [`DrwChannel::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.recv.handle_timeout(now);
        self.send.handle_timeout(now);
    }

    /// The earliest deadline of either side (ack flush, stall, retransmit, give-up).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.recv.poll_timeout(), self.send.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next DRW_ACK to send, as a message of this channel.
    pub fn poll_ack_message(&mut self) -> Option<Message<'static>> {
        let indices = self.recv.poll_ack()?;
        Some(Message::DrwAck {
            marker: self.ack_marker,
            channel: self.channel,
            indices,
        })
    }

    /// The next plaintext datagram to send (acks first, then data), ready for
    /// obfuscation.
    pub fn poll_datagram(&mut self) -> Option<Vec<u8>> {
        if let Some(ack) = self.poll_ack_message() {
            return Some(ack.to_vec());
        }
        let (index, data) = self.send.poll_transmit()?;
        Some(
            Message::Drw {
                channel: self.channel,
                index,
                data: &data,
            }
            .to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testing::t0;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const MS: Duration = Duration::from_millis(1);
    /// First byte of a test packet that starts a frame.
    const START: u8 = 0x55;

    fn starts(data: &[u8]) -> bool {
        data.first() == Some(&START)
    }

    /// A test packet: a start flag, then the index.
    fn pkt(index: u16, start: bool) -> Vec<u8> {
        let [hi, lo] = index.to_be_bytes();
        vec![if start { START } else { 0 }, hi, lo, 0xEE]
    }

    fn recv(window: usize, first: Option<u16>) -> RecvChannel {
        RecvChannel::new(RecvConfig {
            window,
            first_index: first,
            frame_start: Some(starts),
            ..RecvConfig::default()
        })
    }

    fn drain(rx: &mut RecvChannel) -> Vec<Delivered> {
        std::iter::from_fn(|| rx.poll_delivered()).collect()
    }

    fn data_indices(out: &[Delivered]) -> Vec<u16> {
        out.iter()
            .filter_map(|d| match d {
                Delivered::Data { index, .. } => Some(*index),
                Delivered::Gap { .. } => None,
            })
            .collect()
    }

    fn data(index: u16) -> Delivered {
        Delivered::Data {
            index,
            data: Bytes::from(pkt(index, false)),
        }
    }

    /// Every ack the channel would send now, flushing the partial batch.
    fn acks(rx: &mut RecvChannel) -> Vec<u16> {
        rx.flush_acks();
        std::iter::from_fn(|| rx.poll_ack()).flatten().collect()
    }

    #[test]
    fn in_order_packets_are_delivered_at_once_and_acked() {
        let t = t0();
        let mut rx = recv(8, None);
        for i in 100..105 {
            assert_eq!(rx.handle_drw(t, i, &pkt(i, false)), Received::Delivered);
            assert_eq!(drain(&mut rx), vec![data(i)]);
        }
        assert_eq!(acks(&mut rx), (100..105).collect::<Vec<_>>());
        assert_eq!(rx.stats().delivered, 5);
        assert_eq!(rx.buffered(), (0, 0));
        assert_eq!(rx.poll_timeout(), None, "no stall, acks flushed");
    }

    #[test]
    fn reordered_packets_within_the_window_are_delivered_in_order() {
        let t = t0();
        let mut rx = recv(8, Some(0));
        for i in [3, 1, 2] {
            assert_eq!(rx.handle_drw(t, i, &pkt(i, false)), Received::Buffered);
        }
        assert!(drain(&mut rx).is_empty());
        assert_eq!(rx.buffered(), (3, 12));
        assert_eq!(rx.handle_drw(t, 0, &pkt(0, false)), Received::Delivered);
        assert_eq!(data_indices(&drain(&mut rx)), vec![0, 1, 2, 3]);
        assert_eq!(rx.buffered(), (0, 0));
        assert_eq!(rx.next_expected(), Some(4));
        let mut acked = acks(&mut rx);
        acked.sort_unstable();
        assert_eq!(acked, vec![0, 1, 2, 3], "every stored packet is acked");
    }

    #[test]
    fn duplicates_are_dropped_counted_and_acked_again() {
        let t = t0();
        let mut rx = recv(8, Some(0));
        rx.handle_drw(t, 0, &pkt(0, false));
        rx.handle_drw(t, 2, &pkt(2, false));
        drain(&mut rx);
        assert_eq!(acks(&mut rx), vec![0, 2]);
        // The camera resends both: our ack was lost.
        assert_eq!(rx.handle_drw(t, 0, &pkt(0, false)), Received::Duplicate);
        assert_eq!(rx.handle_drw(t, 2, &pkt(2, false)), Received::Duplicate);
        assert!(drain(&mut rx).is_empty(), "nothing delivered twice");
        assert_eq!(acks(&mut rx), vec![0, 2], "acked again");
        assert_eq!(rx.stats().duplicates, 2);
        assert_eq!(rx.buffered(), (1, 4));
        rx.handle_drw(t, 1, &pkt(1, false));
        assert_eq!(data_indices(&drain(&mut rx)), vec![1, 2]);
    }

    #[test]
    fn old_retransmissions_behind_the_window_are_acked_and_dropped() {
        let t = t0();
        let mut rx = recv(4, Some(0));
        for i in 0..10 {
            rx.handle_drw(t, i, &pkt(i, false));
            drain(&mut rx);
        }
        acks(&mut rx);
        assert_eq!(rx.handle_drw(t, 2, &pkt(2, false)), Received::OutOfWindow);
        assert_eq!(rx.handle_drw(t, 8, &pkt(8, false)), Received::Duplicate);
        assert!(drain(&mut rx).is_empty());
        assert_eq!(acks(&mut rx), vec![2, 8]);
        assert_eq!(rx.stats().out_of_window, 1);
        assert_eq!(rx.stats().duplicates, 1);
    }

    /// Acceptance: "index wraparound past 0xFFFF is exercised".
    #[test]
    fn a_stream_from_0xfff0_to_0x0010_reordered_across_the_wrap_arrives_complete_and_in_order() {
        let first = 0xFFF0u16;
        let indices: Vec<u16> = (0..33u16).map(|i| first.wrapping_add(i)).collect();
        assert_eq!(indices.last(), Some(&0x0010));
        for seed in 0..20u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            // Reorder locally (each packet moves at most 6 places), so packets
            // from after the wrap overtake ones from before it.
            let mut order = indices.clone();
            for i in 0..order.len() {
                let j = (i + rng.random_range(0..6)).min(order.len() - 1);
                order.swap(i, j);
            }
            // With a known start, and with the first packet as anchor.
            for anchor in [Some(first), None] {
                let mut rx = RecvChannel::new(RecvConfig {
                    first_index: anchor,
                    ..RecvConfig::default()
                });
                let mut arrival = order.clone();
                if anchor.is_none() {
                    arrival.retain(|&i| i != first);
                    arrival.insert(0, first);
                }
                let mut out = Vec::new();
                for (n, &i) in arrival.iter().enumerate() {
                    let t = t0() + MS * u32::try_from(n).unwrap();
                    rx.handle_drw(t, i, &pkt(i, false));
                    out.extend(drain(&mut rx));
                }
                assert_eq!(
                    out,
                    indices.iter().map(|&i| data(i)).collect::<Vec<_>>(),
                    "seed {seed}"
                );
                let mut acked = acks(&mut rx);
                acked.sort_unstable();
                let mut want = indices.clone();
                want.sort_unstable();
                assert_eq!(acked, want);
                assert_eq!(rx.next_expected(), Some(0x0011));
            }
        }
    }

    /// Acceptance: "a full reorder buffer recovers at the next frame".
    #[test]
    fn a_full_reorder_buffer_does_not_ack_what_does_not_fit_and_recovers_at_the_next_frame_start() {
        let t = t0();
        let mut rx = recv(4, Some(0));
        rx.handle_drw(t, 0, &pkt(0, true));
        assert_eq!(data_indices(&drain(&mut rx)), vec![0]);
        // 1 is lost for good; 2..=5 fill the buffer; 4 starts the next frame.
        for (i, start) in [(2, false), (3, false), (4, true), (5, false)] {
            assert_eq!(rx.handle_drw(t, i, &pkt(i, start)), Received::Buffered);
        }
        assert_eq!(rx.buffered().0, 4);
        assert_eq!(acks(&mut rx), vec![0, 2, 3, 4, 5]);
        // 11 does not fit, not even after giving up the hole (6..=10 are
        // still missing): not stored, not acked.
        assert_eq!(rx.handle_drw(t, 11, &pkt(11, false)), Received::NotStored);
        assert!(
            !acks(&mut rx).contains(&11),
            "never ack what was not stored"
        );
        // The broken frame (1..=3) is given up; delivery resumes at 4.
        assert_eq!(
            drain(&mut rx),
            vec![
                Delivered::Gap { from: 1, to: 3 },
                Delivered::Data {
                    index: 4,
                    data: pkt(4, true).into()
                },
                data(5),
            ]
        );
        let stats = rx.stats();
        assert_eq!((stats.gaps, stats.skipped, stats.not_stored), (1, 3, 1));
        // The camera resends what we did not ack: it all arrives.
        for i in 6..=11 {
            assert_eq!(rx.handle_drw(t, i, &pkt(i, false)), Received::Delivered);
        }
        assert_eq!(data_indices(&drain(&mut rx)), (6..=11).collect::<Vec<_>>());
        assert!(acks(&mut rx).contains(&11));
        // A late copy of a skipped packet is acked (so the camera stops) and dropped.
        assert_eq!(rx.handle_drw(t, 1, &pkt(1, false)), Received::OutOfWindow);
        assert!(drain(&mut rx).is_empty());
        assert_eq!(acks(&mut rx), vec![1]);
    }

    #[test]
    fn the_packet_that_overflows_a_full_buffer_is_taken_once_the_skip_makes_room() {
        let t = t0();
        let mut rx = recv(4, Some(0));
        for (i, start) in [(1, false), (2, false), (3, true), (4, false)] {
            rx.handle_drw(t, i, &pkt(i, start));
        }
        assert_eq!(rx.handle_drw(t, 5, &pkt(5, false)), Received::Delivered);
        assert_eq!(
            drain(&mut rx),
            vec![
                Delivered::Gap { from: 0, to: 2 },
                Delivered::Data {
                    index: 3,
                    data: pkt(3, true).into()
                },
                data(4),
                data(5),
            ]
        );
        assert!(acks(&mut rx).contains(&5), "stored, so acked");
        assert_eq!(rx.poll_timeout(), None, "nothing left to stall on");
    }

    #[test]
    fn without_a_frame_start_in_the_buffer_delivery_resumes_at_the_oldest_buffered_packet() {
        let t = t0();
        let mut rx = recv(3, Some(0));
        for i in [1, 2, 3] {
            rx.handle_drw(t, i, &pkt(i, false));
        }
        assert_eq!(rx.handle_drw(t, 5, &pkt(5, false)), Received::Buffered);
        assert_eq!(
            drain(&mut rx),
            vec![Delivered::Gap { from: 0, to: 0 }, data(1), data(2), data(3)],
            "no frame start buffered: resume at the oldest buffered packet"
        );
        assert_eq!(
            rx.next_expected(),
            Some(4),
            "5 waits behind the new hole at 4"
        );
    }

    #[test]
    fn a_hole_that_is_never_filled_is_given_up_by_the_stall_timer() {
        let t = t0();
        let mut rx = recv(8, Some(0));
        rx.handle_drw(t, 0, &pkt(0, true));
        // 1 is lost and the camera never resends it.
        rx.handle_drw(t + 5 * MS, 2, &pkt(2, false));
        rx.handle_drw(t + 6 * MS, 3, &pkt(3, true));
        rx.handle_drw(t + 7 * MS, 4, &pkt(4, false));
        assert_eq!(data_indices(&drain(&mut rx)), vec![0]);
        rx.handle_timeout(t + 20 * MS); // ack flush only
        acks(&mut rx);
        let stall = t + 5 * MS + Duration::from_secs(1);
        assert_eq!(
            rx.poll_timeout(),
            Some(stall),
            "armed when the hole blocked data"
        );
        rx.handle_timeout(stall - MS);
        assert!(drain(&mut rx).is_empty());
        rx.handle_timeout(stall);
        assert_eq!(
            drain(&mut rx),
            vec![
                Delivered::Gap { from: 1, to: 2 },
                Delivered::Data {
                    index: 3,
                    data: pkt(3, true).into()
                },
                data(4),
            ]
        );
        assert_eq!(rx.poll_timeout(), None);
    }

    #[test]
    fn the_stall_timer_restarts_when_delivery_progresses() {
        let t = t0();
        let mut rx = recv(8, Some(0));
        rx.flush_acks();
        rx.handle_drw(t, 2, &pkt(2, false));
        rx.handle_drw(t, 5, &pkt(5, false));
        rx.flush_acks();
        assert_eq!(rx.poll_timeout(), Some(t + Duration::from_secs(1)));
        // 0 and 1 arrive late: progress, but 5 still waits behind the hole at 3.
        let later = t + 600 * MS;
        rx.handle_drw(later, 0, &pkt(0, false));
        rx.handle_drw(later, 1, &pkt(1, false));
        rx.flush_acks();
        assert_eq!(data_indices(&drain(&mut rx)), vec![0, 1, 2]);
        assert_eq!(rx.poll_timeout(), Some(later + Duration::from_secs(1)));
        rx.handle_timeout(t + Duration::from_secs(1));
        assert!(
            drain(&mut rx).is_empty(),
            "the old deadline no longer applies"
        );
    }

    #[test]
    fn a_stream_that_jumped_beyond_the_window_is_resynchronised_by_the_stall_timer() {
        let t = t0();
        let mut rx = recv(4, Some(0));
        for i in [100, 101, 102] {
            assert_eq!(rx.handle_drw(t, i, &pkt(i, false)), Received::NotStored);
        }
        assert!(acks(&mut rx).is_empty(), "nothing stored, nothing acked");
        let stall = t + Duration::from_secs(1);
        assert_eq!(rx.poll_timeout(), Some(stall));
        rx.handle_timeout(stall);
        assert_eq!(drain(&mut rx), vec![Delivered::Gap { from: 0, to: 99 }]);
        assert_eq!(rx.next_expected(), Some(100));
        // The camera resends the unacked packets.
        for i in [101, 100, 102] {
            rx.handle_drw(stall, i, &pkt(i, false));
        }
        assert_eq!(data_indices(&drain(&mut rx)), vec![100, 101, 102]);
        assert_eq!(rx.stats().skipped, 100);
    }

    #[test]
    fn the_byte_limit_bounds_the_reorder_buffer() {
        let t = t0();
        let mut rx = RecvChannel::new(RecvConfig {
            window: 16,
            max_bytes: 8,
            first_index: Some(0),
            ..RecvConfig::default()
        });
        // Larger than the whole buffer: can only be delivered in order.
        assert_eq!(rx.handle_drw(t, 1, &[0; 9]), Received::NotStored);
        assert_eq!(rx.buffered(), (0, 0));
        assert_eq!(rx.handle_drw(t, 0, &[0; 9]), Received::Delivered);
        // Two 4-byte packets fill it; the third gives up the hole at 1.
        rx.handle_drw(t, 2, &pkt(2, false));
        rx.handle_drw(t, 3, &pkt(3, false));
        assert_eq!(rx.buffered(), (2, 8));
        assert_eq!(rx.handle_drw(t, 5, &pkt(5, false)), Received::Buffered);
        let out = drain(&mut rx);
        assert_eq!(out.get(1), Some(&Delivered::Gap { from: 1, to: 1 }));
        assert_eq!(data_indices(&out), vec![0, 2, 3]);
        assert_eq!(rx.buffered(), (1, 4));
    }

    #[test]
    fn undrained_output_is_bounded() {
        let t = t0();
        let mut rx = recv(4, Some(0));
        let outcomes: Vec<Received> = (0..20)
            .map(|i| rx.handle_drw(t, i, &pkt(i, false)))
            .collect();
        assert!(outcomes.contains(&Received::NotStored));
        let out = drain(&mut rx);
        assert!(out.len() <= 4 + 3, "{}", out.len());
        assert_eq!(
            data_indices(&out),
            (0..u16::try_from(out.len()).unwrap()).collect::<Vec<_>>()
        );
        assert!(!acks(&mut rx).contains(&19), "refused, so not acked");
    }

    #[test]
    fn acks_for_n_packets_go_out_as_one_message_of_n_indices() {
        let t = t0();
        let mut rx = RecvChannel::new(RecvConfig {
            ack_batch: 8,
            ..RecvConfig::default()
        });
        for i in 0..7 {
            rx.handle_drw(t, i, &pkt(i, false));
            assert_eq!(rx.poll_ack(), None, "batch not full yet");
        }
        rx.handle_drw(t, 7, &pkt(7, false));
        assert_eq!(rx.poll_ack(), Some((0..8).collect()));
        assert_eq!(rx.poll_ack(), None);
        assert_eq!(rx.poll_timeout(), None, "nothing pending");
    }

    #[test]
    fn more_pending_acks_than_the_batch_size_go_out_as_several_messages() {
        let t = t0();
        let mut rx = RecvChannel::new(RecvConfig {
            ack_batch: 4,
            ..RecvConfig::default()
        });
        // Arrive without draining in between: none is lost.
        for i in 0..10 {
            rx.handle_drw(t, i, &pkt(i, false));
        }
        let mut msgs: Vec<Vec<u16>> = std::iter::from_fn(|| rx.poll_ack()).collect();
        assert_eq!(msgs, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
        rx.handle_timeout(t + 10 * MS);
        msgs = std::iter::from_fn(|| rx.poll_ack()).collect();
        assert_eq!(msgs, vec![vec![8, 9]], "the rest within the ack delay");
    }

    #[test]
    fn a_partial_batch_is_flushed_when_the_ack_delay_expires() {
        let t = t0();
        let mut rx = RecvChannel::new(RecvConfig::default());
        rx.handle_drw(t, 0, &pkt(0, false));
        rx.handle_drw(t + 4 * MS, 1, &pkt(1, false));
        assert_eq!(rx.poll_ack(), None);
        assert_eq!(
            rx.poll_timeout(),
            Some(t + 10 * MS),
            "from the oldest pending ack"
        );
        rx.handle_timeout(t + 9 * MS);
        assert_eq!(rx.poll_ack(), None);
        rx.handle_timeout(t + 10 * MS);
        assert_eq!(rx.poll_ack(), Some(vec![0, 1]));
        assert_eq!(rx.poll_timeout(), None);
    }

    fn sender(max_in_flight: usize) -> SendChannel {
        SendChannel::new(SendConfig {
            max_in_flight,
            ..SendConfig::default()
        })
    }

    #[test]
    fn sends_get_consecutive_indices_that_wrap() {
        let t = t0();
        let mut tx = SendChannel::new(SendConfig {
            first_index: 0xFFFE,
            ..SendConfig::default()
        });
        let got: Vec<u16> = (0..4).map(|n| tx.send(t, &[n]).unwrap()).collect();
        assert_eq!(got, vec![0xFFFE, 0xFFFF, 0, 1]);
        let sent: Vec<(u16, Bytes)> = std::iter::from_fn(|| tx.poll_transmit()).collect();
        assert_eq!(
            sent,
            vec![
                (0xFFFE, Bytes::from_static(&[0])),
                (0xFFFF, Bytes::from_static(&[1])),
                (0, Bytes::from_static(&[2])),
                (1, Bytes::from_static(&[3])),
            ]
        );
        assert_eq!(tx.next_index(), 2);
    }

    #[test]
    fn an_unacked_packet_is_retransmitted_with_the_same_index_and_bytes_until_acked() {
        let t = t0();
        let mut tx = sender(64);
        tx.send(t, b"first").unwrap();
        let i = tx.send(t, b"login").unwrap();
        assert_eq!(i, 1);
        assert_eq!(tx.poll_transmit().map(|p| p.0), Some(0));
        assert_eq!(tx.poll_transmit(), Some((1, Bytes::from_static(b"login"))));
        tx.handle_ack(&[0]);
        assert_eq!(tx.poll_event(), Some(SendEvent::Acked { index: 0 }));
        assert_eq!(tx.poll_timeout(), Some(t + 300 * MS));
        tx.handle_timeout(t + 299 * MS);
        assert_eq!(tx.poll_transmit(), None);
        for n in 1..=3u32 {
            let at = t + 300 * MS * n;
            assert_eq!(tx.poll_timeout(), Some(at));
            tx.handle_timeout(at);
            assert_eq!(
                tx.poll_transmit(),
                Some((1, Bytes::from_static(b"login"))),
                "retransmission {n}: same index, same bytes"
            );
            assert_eq!(tx.poll_transmit(), None);
        }
        tx.handle_ack(&[1]);
        assert_eq!(tx.poll_event(), Some(SendEvent::Acked { index: 1 }));
        assert_eq!(tx.poll_timeout(), None);
        tx.handle_timeout(t + Duration::from_secs(10));
        assert_eq!(tx.poll_transmit(), None);
        assert_eq!(tx.stats().retransmitted, 3);
        assert_eq!(tx.stats().acked, 2);
    }

    #[test]
    fn an_undrained_retransmission_is_not_queued_twice() {
        let t = t0();
        let mut tx = sender(64);
        tx.send(t, b"x").unwrap();
        tx.handle_timeout(t + 300 * MS);
        tx.handle_timeout(t + 600 * MS);
        assert_eq!(tx.poll_transmit().map(|p| p.0), Some(0));
        assert_eq!(tx.poll_transmit(), None);
    }

    #[test]
    fn a_packet_never_acked_fails_at_the_deadline_and_is_no_longer_retransmitted() {
        let t = t0();
        let mut tx = sender(64);
        tx.send(t, b"cmd").unwrap();
        assert_eq!(tx.poll_transmit(), Some((0, Bytes::from_static(b"cmd"))));
        let mut now = t;
        let mut copies = 1;
        let mut events = Vec::new();
        while let Some(at) = tx.poll_timeout() {
            now = at;
            tx.handle_timeout(now);
            while let Some((index, data)) = tx.poll_transmit() {
                assert_eq!((index, &data[..]), (0, &b"cmd"[..]));
                copies += 1;
            }
            events.extend(std::iter::from_fn(|| tx.poll_event()));
        }
        assert_eq!(now, t + Duration::from_secs(5));
        assert_eq!(events, vec![SendEvent::Failed { index: 0 }]);
        assert_eq!(copies, 1 + 16, "first send, then every 300 ms before 5 s");
        assert_eq!(tx.in_flight(), 0);
        tx.handle_ack(&[0]);
        assert_eq!(tx.poll_event(), None, "a late ack changes nothing");
        assert_eq!(tx.stats().failed, 1);
    }

    #[test]
    fn packets_in_flight_are_bounded() {
        let t = t0();
        let mut tx = sender(4);
        for i in 0..4 {
            assert_eq!(tx.send(t, &[1]), Ok(i));
        }
        assert_eq!(tx.send(t, &[1]), Err(SendError::Full { limit: 4 }));
        tx.handle_ack(&[2]);
        assert_eq!(
            tx.send(t, &[1]),
            Err(SendError::Full { limit: 4 }),
            "undrained events count"
        );
        assert_eq!(tx.poll_event(), Some(SendEvent::Acked { index: 2 }));
        assert_eq!(tx.send(t, &[1]), Ok(4));
        assert_eq!(tx.in_flight(), 4);
    }

    #[test]
    fn duplicate_and_unknown_acks_are_ignored() {
        let t = t0();
        let mut tx = sender(8);
        tx.send(t, b"a").unwrap();
        tx.send(t, b"b").unwrap();
        tx.handle_ack(&[7, 1, 1, 0xFFFF]);
        assert_eq!(tx.poll_event(), Some(SendEvent::Acked { index: 1 }));
        assert_eq!(tx.poll_event(), None);
        assert_eq!(tx.in_flight(), 1);
        assert_eq!(tx.stats().unknown_acks, 3);
    }

    #[test]
    fn data_larger_than_one_drw_is_refused() {
        let mut tx = sender(8);
        assert_eq!(
            tx.send(t0(), &[0; MAX_DRW_DATA + 1]),
            Err(SendError::TooLarge {
                len: MAX_DRW_DATA + 1,
                max: MAX_DRW_DATA
            })
        );
        assert_eq!(tx.send(t0(), &[0; MAX_DRW_DATA]), Ok(0));
    }

    #[test]
    fn a_channel_routes_its_own_messages_and_emits_plaintext_datagrams() {
        let t = t0();
        let mut ch = DrwChannel::new(1, DrwConfig::media());
        let frame = [0x55, 0xAA, 0x15, 0xA8, 0x03];
        assert!(ch.handle_message(
            t,
            &Message::Drw {
                channel: 1,
                index: 0,
                data: &frame
            }
        ));
        assert!(!ch.handle_message(
            t,
            &Message::Drw {
                channel: 0,
                index: 0,
                data: &frame
            }
        ));
        assert!(!ch.handle_message(t, &Message::Alive));
        assert_eq!(
            ch.recv.poll_delivered(),
            Some(Delivered::Data {
                index: 0,
                data: Bytes::copy_from_slice(&frame)
            })
        );
        assert_eq!(ch.send.send(t + 2 * MS, b"talk"), Ok(0));
        assert_eq!(
            ch.poll_timeout(),
            Some(t + 10 * MS),
            "the ack flush comes first"
        );
        // The data goes out at once; the ack after its delay.
        let dgram = ch.poll_datagram().unwrap();
        assert_eq!(
            Message::decode(&dgram).unwrap(),
            Message::Drw {
                channel: 1,
                index: 0,
                data: b"talk"
            }
        );
        assert_eq!(ch.poll_datagram(), None);
        ch.handle_timeout(t + 10 * MS);
        let dgram = ch.poll_datagram().unwrap();
        assert_eq!(
            Message::decode(&dgram).unwrap(),
            Message::DrwAck {
                marker: 0xD1,
                channel: 1,
                indices: vec![0]
            }
        );
        assert_eq!(ch.poll_timeout(), Some(t + 302 * MS), "the retransmission");
        assert!(ch.handle_message(
            t,
            &Message::DrwAck {
                marker: 0xD2,
                channel: 1,
                indices: vec![0]
            }
        ));
        assert_eq!(ch.send.poll_event(), Some(SendEvent::Acked { index: 0 }));
        assert_eq!(ch.poll_timeout(), None);
    }

    #[test]
    fn video_frames_start_at_the_header_magic_or_a_bare_jpeg() {
        assert!(video_frame_start(&[0x55, 0xAA, 0x15, 0xA8, 0x03, 0x00]));
        assert!(video_frame_start(&[0xFF, 0xD8, 0xFF, 0xDB]));
        assert!(!video_frame_start(&[0x12, 0x34, 0xFF, 0xD8]));
        assert!(!video_frame_start(&[0x55, 0xAA]));
        assert!(!video_frame_start(&[]));
    }

    // -----------------------------------------------------------------------
    // A lossy, reordering, duplicating link between a sender and a receiver.
    // -----------------------------------------------------------------------

    /// One direction of the simulated network.
    struct Link<T> {
        loss: f64,
        dup: f64,
        max_delay_ms: u64,
        queue: Vec<(Instant, u64, T)>,
        seq: u64,
    }

    impl<T: Clone> Link<T> {
        fn new(loss: f64, dup: f64, max_delay_ms: u64) -> Self {
            Self {
                loss,
                dup,
                max_delay_ms,
                queue: Vec::new(),
                seq: 0,
            }
        }

        fn send(&mut self, rng: &mut ChaCha8Rng, now: Instant, item: T) {
            let copies = if rng.random_bool(self.dup) { 2 } else { 1 };
            for _ in 0..copies {
                if rng.random_bool(self.loss) {
                    continue;
                }
                let delay = Duration::from_millis(rng.random_range(1..=self.max_delay_ms));
                self.seq += 1;
                self.queue.push((now + delay, self.seq, item.clone()));
            }
        }

        fn next(&self) -> Option<Instant> {
            self.queue.iter().map(|q| q.0).min()
        }

        fn due(&mut self, now: Instant) -> Vec<T> {
            let mut due: Vec<(Instant, u64, T)> = Vec::new();
            let mut i = 0;
            while i < self.queue.len() {
                if self.queue.get(i).is_some_and(|q| q.0 <= now) {
                    due.push(self.queue.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            due.sort_by_key(|q| (q.0, q.1));
            due.into_iter().map(|q| q.2).collect()
        }
    }

    struct Outcome {
        delivered: Vec<Delivered>,
        events: Vec<SendEvent>,
        first: u16,
        messages: Vec<Vec<u8>>,
        rx: RecvStats,
        tx: SendStats,
    }

    /// Sends `n` messages from a `SendChannel` to a `RecvChannel` over lossy
    /// links until every packet is acked or failed and the receiver is idle.
    fn simulate(seed: u64, send: SendConfig, recv: RecvConfig, n: usize) -> Outcome {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let loss = rng.random_range(0.0..0.5);
        let dup = rng.random_range(0.0..0.3);
        let delay = rng.random_range(1..80);
        let mut data_link: Link<(u16, Bytes)> = Link::new(loss, dup, delay);
        let mut ack_link: Link<Vec<u16>> = Link::new(loss, dup, delay);
        let mut tx = SendChannel::new(send);
        let mut rx = RecvChannel::new(recv);
        let messages: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let len = rng.random_range(0..64);
                let mut m: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                m.extend_from_slice(&u32::try_from(i).unwrap().to_be_bytes());
                m
            })
            .collect();
        let send_every = Duration::from_millis(rng.random_range(0..5));
        let mut now = t0();
        let mut next_send = now;
        let mut sent = 0;
        let mut out = Outcome {
            delivered: Vec::new(),
            events: Vec::new(),
            first: send.first_index,
            messages: messages.clone(),
            rx: RecvStats::default(),
            tx: SendStats::default(),
        };
        let mut quiet_until = None;
        for _ in 0..1_000_000 {
            while sent < n && next_send <= now {
                match tx.send(now, messages.get(sent).unwrap()) {
                    Ok(_) => sent += 1,
                    Err(SendError::Full { .. }) => break,
                    Err(e) => panic!("{e}"),
                }
                next_send = now + send_every;
            }
            for (index, data) in data_link.due(now) {
                rx.handle_drw(now, index, &data);
                out.delivered
                    .extend(std::iter::from_fn(|| rx.poll_delivered()));
                while let Some(a) = rx.poll_ack() {
                    ack_link.send(&mut rng, now, a);
                }
            }
            for indices in ack_link.due(now) {
                tx.handle_ack(&indices);
                out.events.extend(std::iter::from_fn(|| tx.poll_event()));
            }
            if rx.poll_timeout().is_some_and(|at| at <= now) {
                rx.handle_timeout(now);
            }
            if tx.poll_timeout().is_some_and(|at| at <= now) {
                tx.handle_timeout(now);
            }
            out.delivered
                .extend(std::iter::from_fn(|| rx.poll_delivered()));
            out.events.extend(std::iter::from_fn(|| tx.poll_event()));
            while let Some(a) = rx.poll_ack() {
                ack_link.send(&mut rng, now, a);
            }
            while let Some(p) = tx.poll_transmit() {
                data_link.send(&mut rng, now, p);
            }
            // Done: everything sent and settled, then a quiet spell so the
            // receiver's stall timer can give up holes of failed packets.
            if sent == n && tx.in_flight() == 0 {
                let until = *quiet_until.get_or_insert(now + Duration::from_secs(5));
                if now >= until {
                    out.rx = rx.stats();
                    out.tx = tx.stats();
                    return out;
                }
            }
            let can_send = sent < n && tx.in_flight() < send.max_in_flight;
            let next = [
                data_link.next(),
                ack_link.next(),
                rx.poll_timeout(),
                tx.poll_timeout(),
                can_send.then_some(next_send),
                quiet_until,
            ]
            .into_iter()
            .flatten()
            .min()
            .expect("something is always pending");
            now = next.max(now + Duration::from_micros(100));
        }
        panic!("seed {seed}: the simulation did not settle");
    }

    /// Checks that outputs cover consecutive indices exactly once each, from
    /// the first sent, and that each delivered packet carries the bytes sent
    /// under its index. Returns which message offsets were covered.
    fn check_contiguous(o: &Outcome) -> Vec<bool> {
        let mut covered = vec![false; o.messages.len()];
        let mut cursor = o.first;
        for d in &o.delivered {
            let (from, to) = match d {
                Delivered::Data { index, data } => {
                    let i = usize::from(index.wrapping_sub(o.first));
                    assert_eq!(Some(&data[..]), o.messages.get(i).map(|m| &m[..]));
                    (*index, *index)
                }
                Delivered::Gap { from, to } => (*from, *to),
            };
            assert_eq!(from, cursor, "outputs are contiguous");
            assert!(ahead(from, to) >= 0);
            let mut i = from;
            loop {
                let slot = covered.get_mut(usize::from(i.wrapping_sub(o.first)));
                let slot = slot.expect("only indices that were sent");
                assert!(!*slot, "{i:#x} covered twice");
                *slot = true;
                if i == to {
                    break;
                }
                i = i.wrapping_add(1);
            }
            cursor = to.wrapping_add(1);
        }
        covered
    }

    /// With a window that never fills and deadlines that never pass, the
    /// channel is a perfect pipe over any link with loss below 100 %.
    #[test]
    fn over_a_lossy_reordering_duplicating_link_everything_arrives_exactly_once_and_in_order() {
        let (mut retransmitted, mut duplicates) = (0, 0);
        for seed in 0..24u64 {
            let first = if seed % 2 == 0 { 0xFF80 } else { 0x1234 };
            let n = 300;
            let forever = Duration::from_secs(24 * 3600);
            let o = simulate(
                seed,
                SendConfig {
                    first_index: first,
                    deadline: forever,
                    ..SendConfig::default()
                },
                RecvConfig {
                    window: 512,
                    stall_timeout: forever,
                    first_index: Some(first),
                    ..RecvConfig::default()
                },
                n,
            );
            let want: Vec<Delivered> = o
                .messages
                .iter()
                .enumerate()
                .map(|(i, m)| Delivered::Data {
                    index: first.wrapping_add(u16::try_from(i).unwrap()),
                    data: Bytes::from(m.clone()),
                })
                .collect();
            assert!(o.delivered == want, "seed {seed}");
            let acked = o
                .events
                .iter()
                .filter(|e| matches!(e, SendEvent::Acked { .. }))
                .count();
            assert_eq!(acked, n, "seed {seed}: every packet acked once");
            retransmitted += o.tx.retransmitted;
            duplicates += o.rx.duplicates;
            assert_eq!((o.rx.not_stored, o.rx.gaps), (0, 0), "seed {seed}");
        }
        assert!(
            retransmitted > 1000 && duplicates > 100,
            "the link was hostile ({retransmitted}, {duplicates})"
        );
    }

    /// With small bounds and the default deadlines, failures and give-ups happen, but
    /// delivery stays in order and exactly-once, every hole is reported, and
    /// nothing the receiver acked is lost.
    #[test]
    fn with_small_bounds_and_deadlines_a_lossy_link_never_reorders_duplicates_or_silently_loses_data(
    ) {
        let (mut gaps, mut failed) = (0, 0);
        for seed in 100..116u64 {
            let first = 0xFFC0;
            let o = simulate(
                seed,
                SendConfig {
                    first_index: first,
                    max_in_flight: 32,
                    ..SendConfig::default()
                },
                RecvConfig {
                    window: 48,
                    first_index: Some(first),
                    ..RecvConfig::default()
                },
                400,
            );
            let covered = check_contiguous(&o);
            for e in &o.events {
                if let SendEvent::Acked { index } = e {
                    let i = usize::from(index.wrapping_sub(first));
                    assert_eq!(
                        covered.get(i),
                        Some(&true),
                        "seed {seed}: {index:#x} was acked but neither delivered nor reported in a gap"
                    );
                }
            }
            assert_eq!(o.events.len(), o.messages.len(), "one fate per packet");
            gaps += o.rx.gaps;
            failed += o.tx.failed;
        }
        assert!(
            gaps > 0 && failed > 0,
            "holes were given up ({gaps}, {failed})"
        );
    }

    proptest::proptest! {
        #[test]
        fn the_receive_side_never_panics_and_keeps_its_bounds(
            ops in proptest::collection::vec(
                (0u8..8, proptest::num::u16::ANY, 0usize..12, proptest::bool::ANY),
                0..300,
            ),
            anchor in proptest::option::of(proptest::num::u16::ANY),
            window in 1usize..12,
            max_bytes in 0usize..48,
        ) {
            let mut rx = RecvChannel::new(RecvConfig {
                window,
                max_bytes,
                ack_batch: 5,
                first_index: anchor,
                frame_start: Some(starts),
                ..RecvConfig::default()
            });
            let mut now = t0();
            let mut cursor: Option<u16> = None;
            let base = 0xFFFAu16;
            for (op, raw, len, start) in ops {
                match op {
                    0 => now += MS * u32::from(raw % 1500),
                    1 => rx.handle_timeout(now),
                    _ => {
                        let index = if op == 2 { raw } else { base.wrapping_add(raw % 24) };
                        let mut data = pkt(index, start);
                        data.resize(3 + len, 0xEE);
                        rx.handle_drw(now, index, &data);
                    }
                }
                let (packets, bytes) = rx.buffered();
                proptest::prop_assert!(packets <= window && bytes <= max_bytes);
                while let Some(d) = rx.poll_delivered() {
                    let (from, to) = match &d {
                        Delivered::Data { index, data } => {
                            proptest::prop_assert_eq!(data.get(1..3), Some(&index.to_be_bytes()[..]));
                            (*index, *index)
                        }
                        Delivered::Gap { from, to } => (*from, *to),
                    };
                    if let Some(c) = cursor {
                        proptest::prop_assert_eq!(from, c, "outputs are contiguous");
                    }
                    cursor = Some(to.wrapping_add(1));
                }
                while let Some(a) = rx.poll_ack() {
                    proptest::prop_assert!(!a.is_empty() && a.len() <= 5);
                }
                if let Some(at) = rx.poll_timeout() {
                    proptest::prop_assert!(at <= now + Duration::from_secs(1));
                }
            }
        }

        #[test]
        fn the_send_side_never_panics_and_keeps_its_bounds(
            ops in proptest::collection::vec(
                (0u8..5, proptest::collection::vec(proptest::num::u16::ANY, 0..4), 0usize..1100),
                0..200,
            ),
        ) {
            let mut tx = sender(6);
            let mut now = t0();
            let mut outcome = std::collections::HashMap::new();
            for (op, indices, len) in ops {
                match op {
                    0 => now += MS * u32::try_from(len).unwrap(),
                    1 => tx.handle_timeout(now),
                    2 => tx.handle_ack(&indices),
                    3 => tx.handle_ack(&[tx.next_index().wrapping_sub(1)]),
                    _ => { let _ = tx.send(now, &vec![7; len]); }
                }
                proptest::prop_assert!(tx.in_flight() <= 6);
                while let Some(e) = tx.poll_event() {
                    let (SendEvent::Acked { index } | SendEvent::Failed { index }) = e;
                    proptest::prop_assert!(outcome.insert(index, e).is_none(), "one fate per packet");
                }
                while let Some((index, _)) = tx.poll_transmit() {
                    proptest::prop_assert!(!outcome.contains_key(&index), "settled packets stay quiet");
                }
            }
        }
    }
}
