//! The sans-IO root: the vocabulary every camera protocol speaks.
//!
//! A protocol *session* is a pure state machine. It is fed datagrams, commands and
//! the current time, and it hands back datagrams to send, events and the next
//! deadline. It never reads a clock, never touches a socket and never awaits: the
//! only place that does is [`crate::io::driver`]. That is what lets tests replay
//! loss, reordering, timeouts and reconnects deterministically.
//!
//! # The drain contract
//! After *every* call to a `handle_*` method the caller drains
//! [`Session::poll_transmit`] and [`Session::poll_event`] until both return `None`,
//! and only then reads [`Session::poll_timeout`] and waits. Sub-machines
//! (reassemblers, reliable channels, DTLS) use the same verbs and their parent
//! drains them.
//!
//! # Sockets
//! A session may use several local sockets (PPPP searches the LAN from one and
//! talks to the camera from another; a Wyze intercom adds a second IOTC channel).
//! Its [`SessionFactory`] declares them as [`SocketSpec`]s; the driver binds them
//! in that order and they are numbered by [`SocketIx`].
//!
//! This module must not mention `tokio` or read `Instant::now()` (enforced by
//! `clippy.toml` and `tests/sans_io.rs`).
#![deny(missing_docs)]

pub mod codec;
pub mod demo;
pub mod pppp;
pub mod talk;
#[cfg(test)]
pub mod testing;
pub mod timer;
pub mod tutk;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::model::{CameraCommand, CameraDetails, CommandError, MediaFrame, Protocol};

pub use timer::TimerTable;

/// One local socket a session needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketSpec {
    /// Local address to bind (port 0: any free port; an unspecified IP: every interface).
    pub bind: SocketAddr,
    /// Whether the socket may send to broadcast addresses (LAN searches).
    pub broadcast: bool,
}

impl SocketSpec {
    /// Any free port on every interface of `peer`'s address family, no broadcast.
    pub fn any_for(peer: SocketAddr) -> Self {
        let ip: std::net::IpAddr = match peer {
            SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
        };
        Self {
            bind: SocketAddr::new(ip, 0),
            broadcast: false,
        }
    }
}

/// Builds a protocol's sessions for one camera and says which sockets they need.
///
/// A camera's spec holds one of these; every (re)start builds a fresh session.
/// Implemented by each protocol's config type (e.g. [`demo::DemoConfig`]).
pub trait SessionFactory: Send + Sync + std::fmt::Debug + 'static {
    /// The protocol the sessions speak.
    fn protocol(&self) -> Protocol;
    /// The local sockets a session needs, in [`SocketIx`] order (at least one).
    fn sockets(&self) -> Vec<SocketSpec>;
    /// A new session, not started yet. `wall` is the wall-clock time now
    /// (read by the caller; protocols that set the camera's clock use it).
    fn build(&self, wall: std::time::SystemTime) -> Box<dyn Session>;

    /// Checks a command's values against what this protocol can carry, before
    /// it is staged or sent (the same check for `set/wifi_ssid` as for
    /// `set/wifi`). The default accepts everything.
    fn check(&self, command: &CameraCommand) -> Result<(), CommandError> {
        let _ = command;
        Ok(())
    }
}

/// Index of one of a session's local sockets (0 is the primary one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SocketIx(pub u8);

/// A datagram the session wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Which of the session's local sockets to send from.
    pub socket: SocketIx,
    /// Where to send it.
    pub dst: SocketAddr,
    /// The bytes, already encoded for the wire.
    pub payload: Vec<u8>,
}

/// A datagram that arrived on one of the session's sockets.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    /// The local socket it arrived on.
    pub socket: SocketIx,
    /// Who sent it.
    pub from: SocketAddr,
    /// Its bytes, untrusted.
    pub payload: &'a [u8],
}

/// Whether a datagram belonged to the session (firezone's `-> bool`, str0m's `accepts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Handled {
    /// The session consumed it (even if it turned out to be a duplicate).
    Mine,
    /// Not for this session: wrong peer, unknown format. Counted and dropped.
    NotMine,
}

/// Opaque id the driver attaches to a command so it can route the result back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u64);

/// Why a session ended. Reported once, as [`SessionEvent::Closed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// No media (or no answer at all) for longer than the silence timeout.
    #[error("camera silent for {0:?}")]
    Silent(Duration),
    /// The camera rejected our credentials.
    #[error("authentication rejected: {0}")]
    AuthRejected(String),
    /// The camera closed the session.
    #[error("camera closed the session")]
    PeerClosed,
    /// The camera left the protocol on purpose (e.g. demo mode after Wi-Fi setup).
    #[error("camera left {0}")]
    LeftMode(&'static str),
    /// The camera answered the handshake but never sent media.
    #[error("camera answered but sent no video for {0:?}")]
    NoMedia(Duration),
    /// The camera is there but cannot take a session now (a Wyze camera
    /// updating its firmware or checking its ENR); retried with backoff.
    #[error("camera unavailable: {0}")]
    Unavailable(String),
    /// The camera broke the protocol (a malformed answer, a handshake that
    /// failed for a reason other than credentials, no answer to a step).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Nothing ever answered the session's opening: the camera is off or
    /// elsewhere, or it ignores us because our keys are wrong (a Wyze camera
    /// ignores a Disco made with the wrong ENR or MAC). The text says what to
    /// check. Retried slowly until the camera has answered once.
    #[error("{0}")]
    Unanswered(String),
    /// The local side asked to stop.
    #[error("stopped")]
    Stopped,
}

/// Running counters a session keeps; published in the camera's `state`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionStats {
    /// Complete, verified frames delivered.
    pub frames: u64,
    /// Frames thrown away because a part was missing or they failed checks.
    pub frames_dropped: u64,
    /// Media payload bytes received (for bitrate).
    pub media_bytes: u64,
    /// Audio datagrams received.
    pub audio_packets: u64,
    /// Audio payload bytes received.
    pub audio_bytes: u64,
    /// Datagrams dropped as malformed or foreign.
    pub datagrams_rejected: u64,
}

/// What a session reports upwards.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// The session is established and media is flowing; carries what we learnt.
    Streaming(CameraDetails),
    /// The camera told us more about itself (firmware, signal, IR or light
    /// state) after `Streaming`; fields left `None` are unchanged.
    Details(CameraDetails),
    /// A complete media unit (JPEG frame, video access unit, audio chunk).
    Media(MediaFrame),
    /// Counters changed (emitted at most about once a second).
    Stats(SessionStats),
    /// A command finished.
    CommandDone {
        /// The id given to [`Session::handle_command`].
        id: CommandId,
        /// Success, or why not.
        result: Result<(), CommandError>,
    },
    /// Something about an outgoing audio playback (intercom, [`talk`]).
    Talk(talk::TalkEvent),
    /// The session is over; the supervisor decides whether to restart it.
    Closed(CloseReason),
}

/// The sans-IO session every protocol implements.
pub trait Session: Send + 'static {
    /// Called once before anything else, with the time the session starts.
    fn start(&mut self, now: Instant);

    /// Feed one received datagram.
    fn handle_datagram(&mut self, now: Instant, datagram: Datagram<'_>) -> Handled;

    /// Called when the deadline from [`Session::poll_timeout`] has passed.
    fn handle_timeout(&mut self, now: Instant);

    /// Run a command. Its result comes back as [`SessionEvent::CommandDone`] with `id`.
    fn handle_command(&mut self, now: Instant, id: CommandId, command: CameraCommand);

    /// Outgoing audio (intercom), see [`talk`]: every [`talk::TalkInput::Open`]
    /// is answered by exactly one [`talk::TalkEvent::Ended`] (after
    /// [`talk::TalkEvent::Ready`] if the camera took it). A session whose
    /// camera has no speaker ends it at once with
    /// [`CommandError::Unsupported`].
    fn handle_talk(&mut self, now: Instant, input: talk::TalkInput);

    /// Next datagram to send. Changes after any `handle_*` call or `start`.
    #[must_use]
    fn poll_transmit(&mut self) -> Option<Transmit>;

    /// Next event. Changes after any `handle_*` call or `start`.
    #[must_use]
    fn poll_event(&mut self) -> Option<SessionEvent>;

    /// The earliest time [`Session::handle_timeout`] must be called. Changes after
    /// any `handle_*` call or `start`.
    #[must_use]
    fn poll_timeout(&self) -> Option<Instant>;

    /// True once [`SessionEvent::Closed`] has been emitted.
    #[must_use]
    fn is_closed(&self) -> bool;

    /// The bridge stops the session: queue whatever tells the camera goodbye
    /// (PPPP sends CLOSE three times). The driver sends what this queues, then
    /// ends; no event is expected. The default sends nothing.
    fn close(&mut self, now: Instant) {
        let _ = now;
    }
}

impl Session for Box<dyn Session> {
    fn start(&mut self, now: Instant) {
        (**self).start(now);
    }
    fn handle_datagram(&mut self, now: Instant, datagram: Datagram<'_>) -> Handled {
        (**self).handle_datagram(now, datagram)
    }
    fn handle_timeout(&mut self, now: Instant) {
        (**self).handle_timeout(now);
    }
    fn handle_command(&mut self, now: Instant, id: CommandId, command: CameraCommand) {
        (**self).handle_command(now, id, command);
    }
    fn handle_talk(&mut self, now: Instant, input: talk::TalkInput) {
        (**self).handle_talk(now, input);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        (**self).poll_transmit()
    }
    fn poll_event(&mut self) -> Option<SessionEvent> {
        (**self).poll_event()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        (**self).poll_timeout()
    }
    fn is_closed(&self) -> bool {
        (**self).is_closed()
    }
    fn close(&mut self, now: Instant) {
        (**self).close(now);
    }
}

/// Helper for sessions: an event queue plus a transmit queue, drained by `poll_*`.
#[derive(Debug, Default)]
pub struct Outbox {
    transmits: std::collections::VecDeque<Transmit>,
    events: std::collections::VecDeque<SessionEvent>,
}

impl Outbox {
    /// Queue a datagram.
    pub fn send(&mut self, socket: SocketIx, dst: SocketAddr, payload: Vec<u8>) {
        self.transmits.push_back(Transmit {
            socket,
            dst,
            payload,
        });
    }

    /// Queue an event.
    pub fn emit(&mut self, event: SessionEvent) {
        self.events.push_back(event);
    }

    /// Pop the next datagram.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Pop the next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }
}

/// The answer of a session whose camera takes no intercom audio: the
/// playback ends at once, unsupported.
pub fn no_talk(input: &talk::TalkInput, protocol: Protocol) -> Option<SessionEvent> {
    match input {
        talk::TalkInput::Open { id } => Some(SessionEvent::Talk(talk::TalkEvent::Ended {
            id: *id,
            played: Duration::ZERO,
            result: Err(CommandError::Unsupported {
                command: "intercom",
                protocol,
            }),
        })),
        _ => None,
    }
}

/// A JPEG frame as a media event (cheap to clone).
pub fn jpeg_event(bytes: Bytes) -> SessionEvent {
    SessionEvent::Media(MediaFrame::Jpeg(bytes))
}
