//! The machinery both roles share: write sequence numbers and ciphers per
//! epoch, reading records (epoch check, replay window, authentication), the
//! current outgoing flight with its retransmission timer, the handshake
//! reassembler and the transcript.
//!
//! It knows nothing of ClientHello or Finished: `client.rs`/`server.rs` decide
//! what goes into a flight, `mod.rs` what a record means. It never reads a
//! clock (`now` is passed in) and draws randomness only from its seeded RNG.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::RngCore;
use rand_chacha::ChaCha20Rng;

use super::handshake::{self, Reassembler};
use super::prf;
use super::record::{self, content, Record, ReplayWindow, DTLS12, HEADER_LEN};
use super::suites::{CipherSuite, RecordCipher, RecordMeta};
use super::{DtlsEvent, DtlsStats};
use crate::proto::TimerTable;

crate::timer_kind! {
    /// The endpoint's deadlines.
    pub enum Timer {
        /// Resend the current flight (RFC 6347 §4.2.4).
        Retransmit,
        /// Give up on the whole handshake.
        Handshake,
    }
}

/// One message of a flight, kept so the flight can be sent again.
#[derive(Debug, Clone)]
pub enum FlightItem {
    /// A handshake message.
    Handshake {
        /// The epoch it is sent in (Finished: 1).
        epoch: u16,
        /// Type.
        msg_type: u8,
        /// message_seq.
        seq: u16,
        /// Body.
        body: Vec<u8>,
    },
    /// ChangeCipherSpec (epoch 0); everything after it is sent in epoch 1.
    Ccs,
}

/// A record that passed the epoch, replay and authentication checks.
#[derive(Debug)]
pub struct Inbound {
    /// Content type.
    pub content_type: u8,
    /// Epoch it arrived in.
    pub epoch: u16,
    /// Plaintext.
    pub plain: Vec<u8>,
}

/// How many epoch-1 records we hold while our keys are not derived yet.
const MAX_EARLY: usize = 8;

/// Shared endpoint state (see the module docs).
#[derive(Debug)]
pub struct Conn {
    /// Largest datagram payload we send.
    pub mtu: usize,
    /// First retransmission interval (restored for every new flight).
    rto_initial: Duration,
    /// Cap of the doubling interval.
    rto_max: Duration,
    /// The current interval.
    rto: Duration,
    /// Next write sequence number, per epoch (0 and 1).
    write_seq: [u64; 2],
    /// Epoch-1 keys: (write, read), once derived.
    keys: Option<(RecordCipher, RecordCipher)>,
    /// The negotiated suite, once keys exist (sizes records).
    pub suite: Option<CipherSuite>,
    /// The epoch alerts and data go out in (1 after we sent ChangeCipherSpec).
    pub write_epoch: u16,
    /// Anti-replay per epoch.
    replay: [ReplayWindow; 2],
    /// Epoch-1 records that came before our keys (reordered Finished).
    early: Vec<Vec<u8>>,
    /// Next message_seq we send.
    pub send_seq: u16,
    /// Incoming handshake messages.
    pub reasm: Reassembler,
    /// Our last flight, for retransmission.
    flight: Vec<FlightItem>,
    /// message_seq where the peer flight our `flight` answers starts: a
    /// retransmission of it makes us resend ours.
    answers_from: Option<u16>,
    /// Where the peer flight being received starts.
    pub peer_flight_start: Option<u16>,
    /// The peer resent the flight our current flight answers this many times.
    pub peer_resends: u32,
    /// Handshake messages so far (with 12-byte headers, as if unfragmented).
    pub transcript: Vec<u8>,
    /// Deadlines.
    pub timers: TimerTable<Timer>,
    /// Datagrams to send.
    pub out: VecDeque<Vec<u8>>,
    /// Events to report.
    pub events: VecDeque<DtlsEvent>,
    /// Counters.
    pub stats: DtlsStats,
    /// Randomness (randoms, X25519 secrets, CBC IVs), seeded by the caller.
    pub rng: ChaCha20Rng,
    /// Authentication failures on epoch-1 records since the last look.
    pub auth_failures: u32,
}

impl Conn {
    /// A fresh endpoint.
    pub fn new(mtu: usize, rto_initial: Duration, rto_max: Duration, rng: ChaCha20Rng) -> Self {
        Self {
            mtu,
            rto_initial,
            rto_max,
            rto: rto_initial,
            write_seq: [0; 2],
            keys: None,
            suite: None,
            write_epoch: 0,
            replay: [ReplayWindow::default(); 2],
            early: Vec::new(),
            send_seq: 0,
            reasm: Reassembler::default(),
            flight: Vec::new(),
            answers_from: None,
            peer_flight_start: None,
            peer_resends: 0,
            transcript: Vec::new(),
            timers: TimerTable::default(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: DtlsStats::default(),
            rng,
            auth_failures: 0,
        }
    }

    /// 32 random bytes.
    pub fn random32(&mut self) -> [u8; 32] {
        let mut r = [0u8; 32];
        self.rng.fill_bytes(&mut r);
        r
    }

    /// Derives and installs the epoch-1 keys.
    pub fn install_keys(
        &mut self,
        suite: CipherSuite,
        master: &[u8; prf::MASTER_LEN],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        we_are_client: bool,
    ) {
        let kb = prf::key_block(master, client_random, server_random, suite.key_block_len());
        self.keys = Some(RecordCipher::pair(suite, &kb, we_are_client));
        self.suite = Some(suite);
    }

    /// Whether epoch-1 keys exist.
    pub fn has_keys(&self) -> bool {
        self.keys.is_some()
    }

    /// The epoch-1 records held back until the keys existed.
    pub fn take_early(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.early)
    }

    /// Appends a message to the transcript.
    pub fn add_transcript(&mut self, msg_type: u8, seq: u16, body: &[u8]) {
        self.transcript
            .extend_from_slice(&handshake::full_message(msg_type, seq, body));
    }

    /// Starts a new flight (forgetting the previous one).
    pub fn begin_flight(&mut self) {
        self.flight.clear();
        self.peer_resends = 0;
    }

    /// Adds a handshake message to the flight (and, if `transcript`, to the
    /// transcript); returns its message_seq.
    pub fn add_message(
        &mut self,
        epoch: u16,
        msg_type: u8,
        body: Vec<u8>,
        transcript: bool,
    ) -> u16 {
        let seq = self.send_seq;
        self.send_seq = self.send_seq.wrapping_add(1);
        if transcript {
            self.add_transcript(msg_type, seq, &body);
        }
        self.flight.push(FlightItem::Handshake {
            epoch,
            msg_type,
            seq,
            body,
        });
        seq
    }

    /// Adds ChangeCipherSpec to the flight.
    pub fn add_ccs(&mut self) {
        self.flight.push(FlightItem::Ccs);
    }

    /// Sends the flight; `retransmit` arms the timer (not for a final flight,
    /// which is resent only when the peer resends its own).
    pub fn send_flight(&mut self, now: Instant, retransmit: bool) {
        self.answers_from = self.peer_flight_start.take();
        self.transmit_flight();
        self.rto = self.rto_initial;
        if retransmit {
            self.timers.set(Timer::Retransmit, now + self.rto);
        } else {
            self.timers.stop(Timer::Retransmit);
        }
    }

    /// The retransmission timer fired: resend and back off.
    pub fn on_retransmit_timer(&mut self, now: Instant) {
        self.stats.retransmits += 1;
        self.transmit_flight();
        self.rto = (self.rto * 2).min(self.rto_max);
        self.timers.set(Timer::Retransmit, now + self.rto);
    }

    /// A fragment of message `seq`, already delivered, came again: resend our
    /// flight if it answers that one. Returns whether it did.
    pub fn on_old_message(&mut self, seq: u16) -> bool {
        match self.answers_from {
            Some(from) if seq >= from && !self.flight.is_empty() => {
                self.peer_resends += 1;
                self.stats.retransmits += 1;
                self.transmit_flight();
                true
            }
            _ => false,
        }
    }

    /// Forgets the flight (handshake over on the side that does not resend).
    pub fn drop_flight(&mut self) {
        self.flight.clear();
        self.answers_from = None;
        self.timers.stop(Timer::Retransmit);
    }

    fn transmit_flight(&mut self) {
        let mut dgram = Vec::new();
        let items = std::mem::take(&mut self.flight);
        for item in &items {
            let records: Vec<Vec<u8>> = match item {
                FlightItem::Ccs => vec![self.seal(0, content::CCS, &[1])],
                FlightItem::Handshake {
                    epoch,
                    msg_type,
                    seq,
                    body,
                } => {
                    let room = self.mtu.saturating_sub(HEADER_LEN);
                    let room = match (epoch, self.suite) {
                        (1, Some(s)) => s.max_plaintext(room),
                        _ => room,
                    };
                    let max_body = room.saturating_sub(handshake::HEADER_LEN);
                    handshake::fragments(*msg_type, *seq, body, max_body)
                        .into_iter()
                        .map(|f| self.seal(*epoch, content::HANDSHAKE, &f))
                        .collect()
                }
            };
            if matches!(item, FlightItem::Ccs) {
                self.write_epoch = 1;
            }
            for rec in records {
                if !dgram.is_empty() && dgram.len() + rec.len() > self.mtu {
                    self.out.push_back(std::mem::take(&mut dgram));
                }
                dgram.extend_from_slice(&rec);
            }
        }
        if !dgram.is_empty() {
            self.out.push_back(dgram);
        }
        self.flight = items;
    }

    /// One protected record in `epoch` (the next sequence number of that epoch).
    fn seal(&mut self, epoch: u16, content_type: u8, plain: &[u8]) -> Vec<u8> {
        let ix = usize::from(epoch.min(1));
        let seq = self.write_seq[ix];
        self.write_seq[ix] += 1;
        let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + 64);
        match (&self.keys, epoch) {
            (Some((write, _)), 1) => {
                let meta = RecordMeta {
                    content_type,
                    version: DTLS12,
                    epoch,
                    seq,
                };
                let frag = write.seal(&meta, plain, &mut self.rng);
                record::encode(&mut out, content_type, epoch, seq, &frag);
            }
            // Epoch 0 (and, never by construction, epoch 1 without keys) is plaintext.
            _ => record::encode(&mut out, content_type, 0, seq, plain),
        }
        out
    }

    /// Sends one record in the current write epoch as its own datagram.
    pub fn send_record(&mut self, content_type: u8, plain: &[u8]) {
        let rec = self.seal(self.write_epoch, content_type, plain);
        self.out.push_back(rec);
    }

    /// The records of a datagram that pass the checks, in order. Malformed
    /// framing, stale epochs, replays and failed authentication are counted
    /// and dropped; epoch-1 records before our keys are held back.
    pub fn open(&mut self, datagram: &[u8]) -> Vec<Inbound> {
        let (records, err) = Record::split(datagram);
        if err.is_some() {
            self.stats.records_malformed += 1;
        }
        let mut out = Vec::new();
        for rec in records {
            match rec.epoch {
                0 => {
                    if !self.replay[0].is_fresh(rec.seq) {
                        self.stats.records_replayed += 1;
                        continue;
                    }
                    self.replay[0].mark(rec.seq);
                    out.push(Inbound {
                        content_type: rec.content_type,
                        epoch: 0,
                        plain: rec.fragment.to_vec(),
                    });
                }
                1 => {
                    let Some((_, read)) = &self.keys else {
                        if self.early.len() < MAX_EARLY {
                            let mut raw = Vec::new();
                            record::encode(&mut raw, rec.content_type, 1, rec.seq, rec.fragment);
                            // Keep the version the peer used: it is authenticated.
                            if let Some(v) = raw.get_mut(1..3) {
                                v.copy_from_slice(&rec.version.to_be_bytes());
                            }
                            self.early.push(raw);
                        } else {
                            self.stats.records_stale_epoch += 1;
                        }
                        continue;
                    };
                    if !self.replay[1].is_fresh(rec.seq) {
                        self.stats.records_replayed += 1;
                        continue;
                    }
                    let meta = RecordMeta {
                        content_type: rec.content_type,
                        version: rec.version,
                        epoch: 1,
                        seq: rec.seq,
                    };
                    match read.open(&meta, rec.fragment) {
                        Some(plain) => {
                            self.replay[1].mark(rec.seq);
                            out.push(Inbound {
                                content_type: rec.content_type,
                                epoch: 1,
                                plain,
                            });
                        }
                        None => {
                            self.stats.records_bad_auth += 1;
                            self.auth_failures += 1;
                        }
                    }
                }
                _ => self.stats.records_stale_epoch += 1,
            }
        }
        out
    }
}
