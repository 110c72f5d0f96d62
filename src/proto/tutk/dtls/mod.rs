//! A sans-IO DTLS 1.2 PSK endpoint, client and server, for the Wyze/TUTK
//! channels (`wyze.md` §1.3): suites `0xCCAC` (ECDHE_PSK + X25519 +
//! ChaCha20-Poly1305) and `0x00AE` (PSK + AES-128-CBC + HMAC-SHA256), identity
//! `AUTHPWD_admin`, PSK = [`wyze_psk`]\(ENR), no extended master secret, no
//! resumption, no renegotiation, optional HelloVerifyRequest cookie.
//!
//! # Shape
//! [`Dtls::client`]/[`Dtls::server`] build an endpoint from a [`DtlsConfig`]
//! and a 32-byte RNG seed (randoms, X25519 secrets and CBC IVs all come from
//! it, so tests are deterministic). Then, with the project's drain contract:
//! `start(now)`, `handle_datagram(now, bytes)`, `handle_timeout(now)`,
//! `send(data)`, `close(now)` in; `poll_transmit()` (one datagram payload
//! each, several records packed up to the MTU), `poll_event()` and
//! `poll_timeout()` out. After every input, drain `poll_transmit` and
//! `poll_event` to `None`. The caller (the TUTK session) wraps each datagram
//! in IOTC framing; this module never reads a clock or owns a socket.
//!
//! # Behaviour
//! - Flights are resent on a timer starting at 300 ms and doubling up to a cap
//!   (RFC 6347 §4.2.4); the whole handshake has a deadline (5 s) after which
//!   [`DtlsClose::HandshakeTimeout`] (or [`AuthFailure::PeerIgnoredFinished`]
//!   when the peer kept resending its flight after our Finished) is reported.
//! - A retransmission of the peer flight our last flight answered makes us
//!   resend ours (the server resends its final flight only this way).
//! - Handshake messages are fragmented to the MTU and reassembled from
//!   fragments in any order; messages of the next flight are buffered.
//! - Records that are replayed, from an unknown epoch, malformed or failing
//!   authentication are dropped and counted in [`DtlsStats`], never fatal,
//!   except that a failing record while we await the peer's Finished ends the
//!   handshake as [`AuthFailure::BadRecordMac`] (a wrong PSK).
//! - The PSK is held in [`Psk`], whose `Debug` is redacted.

mod client;
mod conn;
pub mod handshake;
pub mod prf;
pub mod record;
mod server;
pub mod suites;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use rand::SeedableRng;
use sha2::{Digest, Sha256};

use conn::{Conn, Timer};
use handshake::{msg_type, Fragment, Pushed};
use record::content;
pub use suites::CipherSuite;

/// A 32-byte pre-shared key. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Psk([u8; 32]);

impl Psk {
    /// Wraps raw key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The Wyze PSK of a camera's ENR ([`wyze_psk`]).
    pub fn from_enr(enr: &[u8]) -> Self {
        Self(wyze_psk(enr))
    }

    /// The key bytes. Call only where they go into the key schedule.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for Psk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::secret::REDACTED)
    }
}

/// The Wyze DTLS PSK: SHA-256(ENR) with every byte from the first 0x00 on set
/// to zero, because the camera SDK treats the hash as a C string; still 32
/// bytes (`wyze.md` §1.3, §5.3).
pub fn wyze_psk(enr: &[u8]) -> [u8; 32] {
    let mut h: [u8; 32] = Sha256::digest(enr).into();
    if let Some(nul) = h.iter().position(|b| *b == 0) {
        h[nul..].fill(0);
    }
    h
}

/// Endpoint settings; [`DtlsConfig::new`] gives the camera's defaults.
#[derive(Debug, Clone)]
pub struct DtlsConfig {
    /// The pre-shared key.
    pub psk: Psk,
    /// PSK identity: what the client sends and the server requires
    /// (`AUTHPWD_admin` on Wyze cameras).
    pub identity: Vec<u8>,
    /// Identity hint the server sends in ServerKeyExchange (the client ignores
    /// whatever it receives).
    pub identity_hint: Vec<u8>,
    /// Client: the suites offered, in preference order. Server: the suites
    /// accepted, in preference order.
    pub suites: Vec<CipherSuite>,
    /// Server: answer a ClientHello without a valid cookie with a
    /// HelloVerifyRequest. Off by default, like the cameras (go2rtc's
    /// `InsecureSkipVerifyHello`); OpenSSL's `s_server` turns it on.
    pub cookie_exchange: bool,
    /// Largest datagram payload we send (records and fragments are sized to it).
    pub mtu: usize,
    /// First flight retransmission interval.
    pub retransmit_initial: Duration,
    /// Cap of the doubling retransmission interval.
    pub retransmit_max: Duration,
    /// Deadline for the whole handshake.
    pub handshake_timeout: Duration,
}

impl DtlsConfig {
    /// Identity and hint the cameras use.
    pub const WYZE_IDENTITY: &'static [u8] = b"AUTHPWD_admin";

    /// Defaults of `wyze.md` §1.8: both suites (0xCCAC first), MTU 1200, 300 ms
    /// first retransmission, 5 s handshake, no cookie exchange.
    pub fn new(psk: Psk) -> Self {
        Self {
            psk,
            identity: Self::WYZE_IDENTITY.to_vec(),
            identity_hint: Self::WYZE_IDENTITY.to_vec(),
            suites: CipherSuite::ALL.to_vec(),
            cookie_exchange: false,
            mtu: 1200,
            retransmit_initial: Duration::from_millis(300),
            retransmit_max: Duration::from_millis(2400),
            handshake_timeout: Duration::from_secs(5),
        }
    }
}

/// What the endpoint reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsEvent {
    /// The handshake finished (both Finished messages verified).
    Connected {
        /// The negotiated suite.
        suite: CipherSuite,
    },
    /// Application data from the peer.
    Data(Vec<u8>),
    /// The endpoint is closed; reported once.
    Closed(DtlsClose),
}

/// Why a PSK handshake failed authentication: the session maps all of these
/// to "auth_failed".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The peer's Finished record did not decrypt with our keys.
    #[error("the peer's Finished record failed authentication (wrong PSK?)")]
    BadRecordMac,
    /// The peer's Finished decrypted but its verify_data was wrong.
    #[error("the peer's Finished did not verify (wrong PSK?)")]
    FinishedMismatch,
    /// The peer answered our Finished with a fatal alert.
    #[error("the peer rejected our handshake with alert {0} (wrong PSK?)")]
    PeerRejected(u8),
    /// The client's PSK identity is not ours.
    #[error("unknown PSK identity {0:?}")]
    UnknownIdentity(String),
    /// The peer kept resending its flight after our Finished until the
    /// deadline: it silently drops our Finished (OpenSSL does with a wrong PSK).
    #[error("the peer never accepted our Finished and kept resending its flight (wrong PSK?)")]
    PeerIgnoredFinished,
}

/// Why the endpoint closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtlsClose {
    /// The peer sent close_notify.
    #[error("peer sent close_notify")]
    PeerClosed,
    /// [`Dtls::close`] was called.
    #[error("closed locally")]
    LocalClosed,
    /// The PSK (or identity) does not match the peer's.
    #[error("DTLS authentication failed: {0}")]
    AuthFailed(AuthFailure),
    /// The peer sent a fatal alert.
    #[error("peer sent fatal alert {0}")]
    PeerAlert(u8),
    /// No complete handshake within the deadline.
    #[error("DTLS handshake timed out after {after:?} awaiting {awaiting}")]
    HandshakeTimeout {
        /// The configured deadline.
        after: Duration,
        /// What we were waiting for.
        awaiting: &'static str,
    },
    /// We aborted the handshake (a fatal alert was sent).
    #[error("DTLS handshake failed: {0}")]
    Handshake(HandshakeError),
}

impl DtlsClose {
    /// Whether the session should report this as "auth_failed".
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::AuthFailed(_))
    }
}

/// Why we aborted a handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// A handshake message did not parse.
    #[error("malformed {what}: {error}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// The codec error.
        error: crate::proto::codec::WireError,
    },
    /// A well-formed message that does not belong here.
    #[error("unexpected handshake message type {got} (awaiting {awaiting})")]
    Unexpected {
        /// Its type.
        got: u8,
        /// What the state awaited.
        awaiting: &'static str,
    },
    /// No suite in common with the peer.
    #[error("no cipher suite in common (peer offered {0:04x?})")]
    NoCommonSuite(Vec<u16>),
    /// The server chose a suite we did not offer.
    #[error("server chose cipher suite {0:#06x}, which we did not offer")]
    UnofferedSuite(u16),
    /// Not DTLS 1.2.
    #[error("peer speaks version {0:#06x}, not DTLS 1.2")]
    Version(u16),
    /// Something else illegal (compression, key share, renegotiation info, epoch).
    #[error("illegal parameter: {0}")]
    Illegal(&'static str),
}

/// Alert descriptions we send or recognize (RFC 5246 §7.2).
pub mod alert {
    /// close_notify
    pub const CLOSE_NOTIFY: u8 = 0;
    /// unexpected_message
    pub const UNEXPECTED_MESSAGE: u8 = 10;
    /// bad_record_mac
    pub const BAD_RECORD_MAC: u8 = 20;
    /// handshake_failure
    pub const HANDSHAKE_FAILURE: u8 = 40;
    /// illegal_parameter
    pub const ILLEGAL_PARAMETER: u8 = 47;
    /// decode_error
    pub const DECODE_ERROR: u8 = 50;
    /// decrypt_error
    pub const DECRYPT_ERROR: u8 = 51;
    /// protocol_version
    pub const PROTOCOL_VERSION: u8 = 70;
    /// no_renegotiation (warning)
    pub const NO_RENEGOTIATION: u8 = 100;
    /// unknown_psk_identity
    pub const UNKNOWN_PSK_IDENTITY: u8 = 115;
}

/// Why [`Dtls::send`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtlsError {
    /// The handshake is not finished.
    #[error("DTLS handshake not finished")]
    NotConnected,
    /// The endpoint is closed.
    #[error("DTLS endpoint closed")]
    Closed,
    /// One record (one datagram) cannot carry this much.
    #[error("{len} bytes do not fit one DTLS record (max {max})")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// The most one record carries at this MTU and suite.
        max: usize,
    },
}

/// Running counters (records dropped are never fatal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DtlsStats {
    /// Records that failed authentication.
    pub records_bad_auth: u64,
    /// Records seen before (replay window).
    pub records_replayed: u64,
    /// Records of an epoch we have no keys for (or too many early ones).
    pub records_stale_epoch: u64,
    /// Datagrams whose framing broke off.
    pub records_malformed: u64,
    /// Well-framed records or messages we ignored (plaintext data, bad alerts, handshake noise).
    pub records_ignored: u64,
    /// Flights we resent.
    pub retransmits: u64,
}

/// A fatal handshake outcome: the alert to send and the close to report.
#[derive(Debug)]
pub(crate) struct Fatal {
    alert: u8,
    close: DtlsClose,
}

impl Fatal {
    fn new(alert: u8, error: HandshakeError) -> Self {
        Self {
            alert,
            close: DtlsClose::Handshake(error),
        }
    }
    fn auth(alert: u8, why: AuthFailure) -> Self {
        Self {
            alert,
            close: DtlsClose::AuthFailed(why),
        }
    }
    fn malformed(what: &'static str) -> impl FnOnce(crate::proto::codec::WireError) -> Self {
        move |error| {
            Self::new(
                alert::DECODE_ERROR,
                HandshakeError::Malformed { what, error },
            )
        }
    }
    fn unexpected(got: u8, awaiting: &'static str) -> Self {
        Self::new(
            alert::UNEXPECTED_MESSAGE,
            HandshakeError::Unexpected { got, awaiting },
        )
    }
}

/// Where the endpoint is.
#[derive(Debug)]
enum State {
    /// Client handshake in progress.
    Client(client::ClientState),
    /// Server handshake in progress.
    Server(server::ServerState),
    /// Handshake done; application data flows.
    Connected {
        /// Negotiated suite.
        suite: CipherSuite,
    },
    /// Over; `Closed` was reported.
    Closed,
}

/// Which side of the handshake we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Client,
    Server,
}

/// A DTLS 1.2 PSK endpoint (see the module docs).
#[derive(Debug)]
pub struct Dtls {
    /// Client or server (renegotiation refusal differs).
    role: Role,
    /// Settings.
    cfg: DtlsConfig,
    /// Shared record/flight machinery.
    conn: Conn,
    /// Handshake or connection state.
    state: State,
    /// Application data that authenticated before the handshake finished here.
    early_data: Vec<Vec<u8>>,
}

impl Dtls {
    fn new(cfg: DtlsConfig, seed: [u8; 32], role: Role, state: State) -> Self {
        let conn = Conn::new(
            cfg.mtu,
            cfg.retransmit_initial,
            cfg.retransmit_max,
            rand_chacha::ChaCha20Rng::from_seed(seed),
        );
        Self {
            role,
            cfg,
            conn,
            state,
            early_data: Vec::new(),
        }
    }

    /// A client endpoint; `start` sends the ClientHello.
    pub fn client(cfg: DtlsConfig, seed: [u8; 32]) -> Self {
        Self::new(
            cfg,
            seed,
            Role::Client,
            State::Client(client::ClientState::Idle),
        )
    }

    /// A server endpoint; it waits for a ClientHello.
    pub fn server(cfg: DtlsConfig, seed: [u8; 32]) -> Self {
        let mut d = Self::new(cfg, seed, Role::Server, State::Closed);
        let cookie_key = d.conn.random32();
        d.state = State::Server(server::ServerState::ExpectClientHello { cookie_key });
        d
    }

    /// Starts the endpoint (the client sends its first flight).
    pub fn start(&mut self, now: Instant) {
        if let State::Client(client::ClientState::Idle) = self.state {
            self.conn
                .timers
                .set(Timer::Handshake, now + self.cfg.handshake_timeout);
            self.state = State::Client(client::start(&self.cfg, &mut self.conn, now));
        }
    }

    /// Feeds one received datagram (records, untrusted).
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if matches!(self.state, State::Closed) {
            return;
        }
        let had_keys = self.conn.has_keys();
        let mut resent = false;
        for rec in self.conn.open(datagram) {
            match rec.content_type {
                content::HANDSHAKE => self.on_handshake_record(now, &rec, &mut resent),
                content::ALERT => self.on_alert(&rec),
                content::APPLICATION_DATA => self.on_data(rec),
                // ChangeCipherSpec is implied by epoch-1 records authenticating.
                _ => {}
            }
            if matches!(self.state, State::Closed) {
                return;
            }
        }
        if std::mem::take(&mut self.conn.auth_failures) > 0 && self.awaits_finished() {
            return self.fail(Fatal::auth(
                alert::BAD_RECORD_MAC,
                AuthFailure::BadRecordMac,
            ));
        }
        if !had_keys && self.conn.has_keys() {
            for early in self.conn.take_early() {
                self.handle_datagram(now, &early);
            }
        }
    }

    fn on_handshake_record(&mut self, now: Instant, rec: &conn::Inbound, resent: &mut bool) {
        let Ok(frags) = Fragment::decode_all(&rec.plain) else {
            self.conn.stats.records_malformed += 1;
            return;
        };
        for f in &frags {
            match self.conn.reasm.push(rec.epoch, f) {
                Pushed::Old(seq) if !*resent => *resent = self.conn.on_old_message(seq),
                Pushed::Stored => {}
                _ => self.conn.stats.records_ignored += 1,
            }
        }
        while let Some(msg) = self.conn.reasm.pop() {
            self.on_message(now, msg);
            if matches!(self.state, State::Closed) {
                return;
            }
        }
    }

    fn on_message(&mut self, now: Instant, msg: handshake::Message) {
        let state = std::mem::replace(&mut self.state, State::Closed);
        let step = match state {
            State::Client(s) => client::on_message(s, msg, &self.cfg, &mut self.conn, now)
                .map(|n| n.map(State::Client)),
            State::Server(s) => server::on_message(s, msg, &self.cfg, &mut self.conn, now)
                .map(|n| n.map(State::Server)),
            State::Connected { suite } => {
                // Renegotiation (HelloRequest to a client, ClientHello to a
                // server, authenticated in epoch 1) is refused with a warning.
                let reneg = match self.role {
                    Role::Client => msg_type::HELLO_REQUEST,
                    Role::Server => msg_type::CLIENT_HELLO,
                };
                if msg.epoch == 1 && msg.msg_type == reneg {
                    self.conn
                        .send_record(content::ALERT, &[1, alert::NO_RENEGOTIATION]);
                } else {
                    self.conn.stats.records_ignored += 1;
                }
                Ok(Step::Next(State::Connected { suite }))
            }
            State::Closed => Ok(Step::Next(State::Closed)),
        };
        match step {
            Ok(Step::Next(s)) => self.state = s,
            Ok(Step::Connected(suite)) => {
                self.conn.timers.clear();
                if self.role == Role::Client {
                    // The server's flight was final; nothing of ours is resent
                    // any more (else duplicates could ping-pong).
                    self.conn.drop_flight();
                }
                self.state = State::Connected { suite };
                self.conn.events.push_back(DtlsEvent::Connected { suite });
                for d in self.early_data.drain(..) {
                    self.conn.events.push_back(DtlsEvent::Data(d));
                }
            }
            // `self.state` is the `Closed` placeholder here: report directly.
            Err(fatal) => {
                self.conn.send_record(content::ALERT, &[2, fatal.alert]);
                self.report_close(fatal.close);
            }
        }
    }

    fn on_alert(&mut self, rec: &conn::Inbound) {
        let [level, desc] = rec.plain[..] else {
            self.conn.stats.records_ignored += 1;
            return;
        };
        // After the handshake only authenticated (epoch-1) alerts count.
        if matches!(self.state, State::Connected { .. }) && rec.epoch == 0 {
            self.conn.stats.records_ignored += 1;
            return;
        }
        if desc == alert::CLOSE_NOTIFY {
            self.conn
                .send_record(content::ALERT, &[1, alert::CLOSE_NOTIFY]);
            self.finish(DtlsClose::PeerClosed);
        } else if level == 2 {
            let close = match desc {
                alert::BAD_RECORD_MAC | alert::DECRYPT_ERROR | alert::UNKNOWN_PSK_IDENTITY
                    if !self.is_connected() =>
                {
                    DtlsClose::AuthFailed(AuthFailure::PeerRejected(desc))
                }
                _ => DtlsClose::PeerAlert(desc),
            };
            self.finish(close);
        }
    }

    fn on_data(&mut self, rec: conn::Inbound) {
        if rec.epoch != 1 {
            self.conn.stats.records_ignored += 1;
        } else if self.is_connected() {
            self.conn.events.push_back(DtlsEvent::Data(rec.plain));
        } else if self.early_data.len() < 16 {
            self.early_data.push(rec.plain);
        }
    }

    fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    fn awaits_finished(&self) -> bool {
        matches!(
            self.state,
            State::Client(client::ClientState::ExpectServerFinished { .. })
                | State::Server(server::ServerState::ExpectClientFinished { .. })
        )
    }

    /// Sends the fatal alert (in the current write epoch) and closes.
    fn fail(&mut self, fatal: Fatal) {
        self.conn.send_record(content::ALERT, &[2, fatal.alert]);
        self.finish(fatal.close);
    }

    fn finish(&mut self, close: DtlsClose) {
        if !matches!(self.state, State::Closed) {
            self.report_close(close);
        }
    }

    fn report_close(&mut self, close: DtlsClose) {
        self.state = State::Closed;
        self.conn.timers.clear();
        self.conn.drop_flight();
        self.conn.events.push_back(DtlsEvent::Closed(close));
    }

    /// Called when the deadline from [`Dtls::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.conn.timers.expired(now) {
            match timer {
                Timer::Retransmit => self.conn.on_retransmit_timer(now),
                Timer::Handshake => {
                    let close = if self.awaits_finished() && self.conn.peer_resends > 0 {
                        DtlsClose::AuthFailed(AuthFailure::PeerIgnoredFinished)
                    } else {
                        DtlsClose::HandshakeTimeout {
                            after: self.cfg.handshake_timeout,
                            awaiting: self.awaiting(),
                        }
                    };
                    self.finish(close);
                }
            }
        }
    }

    fn awaiting(&self) -> &'static str {
        match &self.state {
            State::Client(s) => s.awaiting(),
            State::Server(s) => s.awaiting(),
            State::Connected { .. } => "nothing",
            State::Closed => "nothing (closed)",
        }
    }

    /// Sends application data as one record (one datagram).
    pub fn send(&mut self, data: &[u8]) -> Result<(), DtlsError> {
        match self.state {
            State::Connected { suite, .. } => {
                let max = self.max_data(suite);
                if data.len() > max {
                    return Err(DtlsError::TooLarge {
                        len: data.len(),
                        max,
                    });
                }
                self.conn.send_record(content::APPLICATION_DATA, data);
                Ok(())
            }
            State::Closed => Err(DtlsError::Closed),
            _ => Err(DtlsError::NotConnected),
        }
    }

    fn max_data(&self, suite: CipherSuite) -> usize {
        suite.max_plaintext(self.cfg.mtu.saturating_sub(record::HEADER_LEN))
    }

    /// The most application data one `send` takes, once connected.
    pub fn max_send(&self) -> Option<usize> {
        match self.state {
            State::Connected { suite, .. } => Some(self.max_data(suite)),
            _ => None,
        }
    }

    /// Sends close_notify (if anything was started) and closes; reports
    /// `Closed(LocalClosed)` unless already closed.
    pub fn close(&mut self, now: Instant) {
        let _ = now;
        if matches!(self.state, State::Closed) {
            return;
        }
        let started = !matches!(
            self.state,
            State::Client(client::ClientState::Idle)
                | State::Server(server::ServerState::ExpectClientHello { .. })
        );
        if started {
            self.conn
                .send_record(content::ALERT, &[1, alert::CLOSE_NOTIFY]);
        }
        self.finish(DtlsClose::LocalClosed);
    }

    /// Next datagram payload to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.conn.out.pop_front()
    }

    /// Next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.conn.events.pop_front()
    }

    /// When [`Dtls::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conn.timers.next_timeout()
    }

    /// True once `Closed` was reported.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The negotiated suite, once connected.
    pub fn suite(&self) -> Option<CipherSuite> {
        match self.state {
            State::Connected { suite, .. } => Some(suite),
            _ => None,
        }
    }

    /// Counters.
    pub fn stats(&self) -> &DtlsStats {
        &self.conn.stats
    }
}

/// The outcome of one handshake message in a role's state machine.
#[derive(Debug)]
pub(crate) enum Step<S> {
    /// Stay in (or move to) this state.
    Next(S),
    /// The handshake is complete with this suite.
    Connected(CipherSuite),
}

impl<S> Step<S> {
    fn map<T>(self, f: impl FnOnce(S) -> T) -> Step<T> {
        match self {
            Self::Next(s) => Step::Next(f(s)),
            Self::Connected(c) => Step::Connected(c),
        }
    }
}
