//! `Pair`: a bridge session and a simulated camera joined by two seeded lossy
//! links, stepped in virtual time with no tokio and no sockets (quinn's
//! `Pair`, str0m's `progress`). Each step handles the earliest of: a deadline of
//! either side or a datagram due out of a link. Both sides may have several
//! sockets; every event the client emits is checked against the drain
//! contract ([`ContractChecker`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cam2mqtt::model::CameraCommand;
use cam2mqtt::proto::{CommandId, Datagram, Session, SessionEvent, SocketIx};
use cam2mqtt::sim::netem::{Netem, NetemConfig};
use cam2mqtt::sim::Device;

use super::contract::ContractChecker;

/// A datagram in flight: (from, to, bytes).
pub type Wire = (SocketAddr, SocketAddr, Vec<u8>);

/// Client session + device + links + virtual clock.
pub struct Pair<S: Session, D: Device> {
    /// The bridge side.
    pub client: S,
    /// The camera side.
    pub device: D,
    /// Virtual now.
    pub now: Instant,
    /// Client → device link.
    pub up: Netem<Wire>,
    /// Device → client link.
    pub down: Netem<Wire>,
    /// The client's socket addresses, by socket index.
    pub client_addrs: Vec<SocketAddr>,
    /// The device's socket addresses, by socket index.
    pub device_addrs: Vec<SocketAddr>,
    /// Every event the client emitted.
    pub events: Vec<SessionEvent>,
    /// The drain contract, checked on every client event.
    pub contract: ContractChecker,
    /// Datagrams each client socket received (by socket index).
    pub client_received: Vec<u64>,
    /// Every datagram the client sent: (from, to, bytes).
    pub client_sent: Vec<Wire>,
}

impl<S: Session, D: Device> Pair<S, D> {
    /// Joins `client` (with one socket at `client_addr`) and `device`.
    pub fn new(
        client: S,
        device: D,
        now: Instant,
        client_addr: SocketAddr,
        device_addrs: Vec<SocketAddr>,
        up: NetemConfig,
        down: NetemConfig,
    ) -> Self {
        Self::with_sockets(
            client,
            device,
            now,
            vec![client_addr],
            device_addrs,
            up,
            down,
        )
    }

    /// Joins `client`, whose sockets are at `client_addrs`, and `device`.
    pub fn with_sockets(
        client: S,
        device: D,
        now: Instant,
        client_addrs: Vec<SocketAddr>,
        device_addrs: Vec<SocketAddr>,
        up: NetemConfig,
        down: NetemConfig,
    ) -> Self {
        let n = client_addrs.len();
        let mut p = Self {
            client,
            device,
            now,
            up: Netem::new(up),
            down: Netem::new(down),
            client_addrs,
            device_addrs,
            events: Vec::new(),
            contract: ContractChecker::default(),
            client_received: vec![0; n],
            client_sent: Vec::new(),
        };
        p.client.start(now);
        p.drain();
        p
    }

    fn drain(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            let from = self.client_addrs[usize::from(t.socket.0)];
            self.client_sent.push((from, t.dst, t.payload.clone()));
            self.up.push(self.now, (from, t.dst, t.payload));
        }
        while let Some(ev) = self.client.poll_event() {
            self.contract.observe(&ev);
            self.events.push(ev);
        }
        self.contract.check_is_closed(self.client.is_closed());
        while let Some(t) = self.device.poll_transmit() {
            let from = self.device_addrs[usize::from(t.socket.0)];
            self.down.push(self.now, (from, t.dst, t.payload));
        }
    }

    fn deliver(&mut self) {
        while let Some((from, to, payload)) = self.up.poll_output(self.now) {
            if let Some(ix) = self.device_addrs.iter().position(|a| *a == to) {
                let d = Datagram {
                    socket: SocketIx(ix as u8),
                    from,
                    payload: &payload,
                };
                self.device.handle_datagram(self.now, d);
            }
            self.drain();
        }
        while let Some((from, to, payload)) = self.down.poll_output(self.now) {
            if let Some(ix) = self.client_addrs.iter().position(|a| *a == to) {
                self.client_received[ix] += 1;
                let d = Datagram {
                    socket: SocketIx(ix as u8),
                    from,
                    payload: &payload,
                };
                let _ = self.client.handle_datagram(self.now, d);
            }
            self.drain();
        }
    }

    /// Hands the client a command (its id is recorded for the contract check).
    pub fn command(&mut self, id: u64, command: CameraCommand) {
        self.contract.issued(CommandId(id));
        self.client.handle_command(self.now, CommandId(id), command);
        self.drain();
    }

    /// Advances to the next thing that happens, if it is before `limit`.
    /// Returns false when nothing is scheduled before `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.deliver();
        let next = [
            self.client.poll_timeout(),
            self.device.poll_timeout(),
            self.up.poll_timeout(),
            self.down.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next.filter(|t| *t <= limit) else {
            self.now = self.now.max(limit);
            return false;
        };
        self.now = self.now.max(next);
        if self.client.poll_timeout().is_some_and(|t| t <= self.now) {
            self.client.handle_timeout(self.now);
        }
        if self.device.poll_timeout().is_some_and(|t| t <= self.now) {
            self.device.handle_timeout(self.now);
        }
        self.drain();
        self.deliver();
        true
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        while self.step(limit) {}
    }

    /// Takes the events collected so far.
    pub fn take_events(&mut self) -> Vec<SessionEvent> {
        std::mem::take(&mut self.events)
    }
}
