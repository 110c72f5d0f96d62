//! A session that needs two sockets, for the harness and daemon tests: the
//! real demo-mode session on socket 0, plus a LAN-search-like probe on socket 1
//! (broadcast-capable), which sends `probe` to a beacon every second and counts
//! the beacon's answers. PPPP and Wyze sessions have this shape (search from
//! one socket, session from another); this stand-in lets the plumbing be tested
//! before they land. `EchoBeacon` is the device side of the probe.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cam2mqtt::model::{CameraCommand, Protocol};
use cam2mqtt::proto::demo::{DemoConfig, DemoSession};
use cam2mqtt::proto::{
    CommandId, Datagram, Handled, Session, SessionEvent, SessionFactory, SocketIx, SocketSpec,
    Transmit,
};
use cam2mqtt::sim::Device;

/// The probe's payload.
pub const PROBE: &[u8] = b"probe";
/// How often the probe is sent.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Demo session on socket 0 + probe on socket 1.
#[derive(Debug)]
pub struct TwoSocketSession {
    inner: DemoSession,
    beacon: SocketAddr,
    next_probe: Option<Instant>,
    probes: Vec<Transmit>,
    /// Answers received on socket 1.
    pub answers: Arc<AtomicU64>,
}

impl Session for TwoSocketSession {
    fn start(&mut self, now: Instant) {
        self.inner.start(now);
        self.handle_timeout(now);
    }
    fn handle_datagram(&mut self, now: Instant, d: Datagram<'_>) -> Handled {
        if d.socket == SocketIx(1) {
            if d.from == self.beacon && d.payload == PROBE {
                self.answers.fetch_add(1, Ordering::SeqCst);
                return Handled::Mine;
            }
            return Handled::NotMine;
        }
        self.inner.handle_datagram(now, d)
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.next_probe.is_none_or(|t| t <= now) {
            self.probes.push(Transmit {
                socket: SocketIx(1),
                dst: self.beacon,
                payload: PROBE.to_vec(),
            });
            self.next_probe = Some(now + PROBE_EVERY);
        }
        if self.inner.poll_timeout().is_some_and(|t| t <= now) {
            self.inner.handle_timeout(now);
        }
    }
    fn handle_talk(&mut self, now: Instant, input: cam2mqtt::proto::talk::TalkInput) {
        self.inner.handle_talk(now, input);
    }
    fn handle_command(&mut self, now: Instant, id: CommandId, command: CameraCommand) {
        self.inner.handle_command(now, id, command);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.probes.pop().or_else(|| self.inner.poll_transmit())
    }
    fn poll_event(&mut self) -> Option<SessionEvent> {
        self.inner.poll_event()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        [self.inner.poll_timeout(), self.next_probe]
            .into_iter()
            .flatten()
            .min()
    }
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// Builds [`TwoSocketSession`]s; socket 1 binds `probe_bind` with broadcast.
#[derive(Debug, Clone)]
pub struct TwoSocketFactory {
    /// The demo session's settings.
    pub demo: DemoConfig,
    /// Where the beacon listens.
    pub beacon: SocketAddr,
    /// Local address of the probe socket.
    pub probe_bind: SocketAddr,
    /// Answers received, across sessions.
    pub answers: Arc<AtomicU64>,
}

impl TwoSocketFactory {
    /// A session without the factory (for `Pair`).
    pub fn session(&self) -> TwoSocketSession {
        TwoSocketSession {
            inner: DemoSession::new(self.demo.clone()),
            beacon: self.beacon,
            next_probe: None,
            probes: Vec::new(),
            answers: self.answers.clone(),
        }
    }
}

impl SessionFactory for TwoSocketFactory {
    fn protocol(&self) -> Protocol {
        Protocol::Demo
    }
    fn sockets(&self) -> Vec<SocketSpec> {
        vec![
            SocketSpec::any_for(self.demo.video),
            SocketSpec {
                bind: self.probe_bind,
                broadcast: true,
            },
        ]
    }
    fn build(&self, _wall: std::time::SystemTime) -> Box<dyn Session> {
        Box::new(self.session())
    }
}

/// A device socket that answers every datagram with the same bytes.
#[derive(Debug, Default)]
pub struct EchoBeacon {
    out: Vec<Transmit>,
    /// Datagrams received.
    pub received: u64,
}

impl Device for EchoBeacon {
    fn sockets(&self) -> usize {
        1
    }
    fn handle_datagram(&mut self, _now: Instant, d: Datagram<'_>) {
        self.received += 1;
        self.out.push(Transmit {
            socket: d.socket,
            dst: d.from,
            payload: d.payload.to_vec(),
        });
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// Two devices as one: `first`'s sockets, then `second`'s.
pub struct Both<A, B> {
    /// Sockets `0..first.sockets()`.
    pub first: A,
    /// The sockets after those.
    pub second: B,
}

impl<A: Device, B: Device> Device for Both<A, B> {
    fn sockets(&self) -> usize {
        self.first.sockets() + self.second.sockets()
    }
    fn handle_datagram(&mut self, now: Instant, d: Datagram<'_>) {
        let n = self.first.sockets() as u8;
        if d.socket.0 < n {
            self.first.handle_datagram(now, d);
        } else {
            let d = Datagram {
                socket: SocketIx(d.socket.0 - n),
                ..d
            };
            self.second.handle_datagram(now, d);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        if self.first.poll_timeout().is_some_and(|t| t <= now) {
            self.first.handle_timeout(now);
        }
        if self.second.poll_timeout().is_some_and(|t| t <= now) {
            self.second.handle_timeout(now);
        }
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        let n = self.first.sockets() as u8;
        self.first.poll_transmit().or_else(|| {
            self.second.poll_transmit().map(|t| Transmit {
                socket: SocketIx(t.socket.0 + n),
                ..t
            })
        })
    }
    fn poll_timeout(&self) -> Option<Instant> {
        [self.first.poll_timeout(), self.second.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
}
