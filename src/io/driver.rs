//! The one `select!` loop that runs any sans-IO [`Session`] over real or
//! in-memory sockets.
//!
//! After every input the driver drains `poll_transmit`/`poll_event` to `None`
//! (the drain contract in [`crate::proto`]), then waits for the first of: a
//! datagram on any socket (polled fairly), the session's deadline, a command, or
//! cancellation. A socket that became readable is drained (up to
//! [`MAX_BURST`] datagrams) before the driver waits again. Events, including
//! command results, go to an [`EventSink`] that must not block, so a slow
//! broker can never delay the packet path.
//!
//! The caller runs the driver inside a tracing span naming the camera, so every
//! log line here carries the camera's id and protocol.

use std::io;
use std::net::SocketAddr;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::clock;
use super::socket::{recv_any, send_to, try_recv, DatagramSocket, Received};
use crate::model::CameraCommand;
use crate::proto::codec::LimitedHex;
use crate::proto::talk::TalkInput;
use crate::proto::{CloseReason, CommandId, Datagram, Handled, Session, SessionEvent, Transmit};

/// Largest datagram accepted (bigger ones are truncated by the OS; UDP max).
const RECV_BUF: usize = 65_536;
/// Datagrams handled from ready sockets before the driver looks at its timer,
/// commands and cancellation again.
pub const MAX_BURST: usize = 64;
/// Bytes of a dropped datagram shown in the debug log.
const LOG_HEAD: usize = 16;

/// Input for a running session.
#[derive(Debug)]
pub enum SessionCommand {
    /// A command; its result comes back through the [`EventSink`] as
    /// [`SessionEvent::CommandDone`] with the same id.
    Command {
        /// Chosen by the caller, echoed in the result.
        id: CommandId,
        /// The command.
        command: CameraCommand,
    },
    /// Outgoing audio ([`crate::proto::talk`]); answered by
    /// [`SessionEvent::Talk`].
    Talk(TalkInput),
}

/// Receives session events; must return quickly and never await.
pub trait EventSink: Send {
    /// Handle one event.
    fn event(&mut self, event: SessionEvent);
}

/// Why the driver stopped other than a session close.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A socket failed.
    #[error("socket error: {0}")]
    Socket(#[from] io::Error),
    /// The session was given no socket.
    #[error("the session has no socket")]
    NoSocket,
}

/// Sends one datagram; a send failure is logged and otherwise ignored.
pub async fn flush<S: DatagramSocket>(sockets: &[S], t: Transmit) {
    let Some(sock) = sockets.get(usize::from(t.socket.0)) else {
        tracing::warn!(
            socket = t.socket.0,
            "transmit on a socket that does not exist (a bug)"
        );
        return;
    };
    // UDP sends fail only transiently (no route, buffer full); the protocol's
    // own retransmission covers a lost datagram, so log and carry on.
    if let Err(e) = send_to(sock, &t.payload, t.dst).await {
        tracing::debug!(dst = %t.dst, error = %e, "send failed");
    }
}

/// ICMP port-unreachable surfaces as `ConnectionRefused` on some platforms'
/// UDP sockets; it says nothing about our socket, so keep going.
pub fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Drains the session's outputs: every transmit, then every event. Returns the
/// close reason once the session has closed.
async fn drain<S: Session, D: DatagramSocket, K: EventSink>(
    session: &mut S,
    sockets: &[D],
    sink: &mut K,
) -> Option<CloseReason> {
    while let Some(t) = session.poll_transmit() {
        flush(sockets, t).await;
    }
    let mut closed = None;
    while let Some(ev) = session.poll_event() {
        if let SessionEvent::Closed(reason) = &ev {
            closed = Some(reason.clone());
        }
        sink.event(ev);
    }
    closed
}

fn deliver<S: Session>(session: &mut S, buf: &[u8], received: Received) {
    let (socket, from, n) = received;
    let payload = buf.get(..n).unwrap_or(buf);
    let d = Datagram {
        socket,
        from,
        payload,
    };
    if session.handle_datagram(clock::now(), d) == Handled::NotMine {
        log_dropped(from, payload);
    }
}

fn log_dropped(from: SocketAddr, payload: &[u8]) {
    tracing::debug!(
        peer = %from,
        len = payload.len(),
        head = %LimitedHex::new(payload, LOG_HEAD),
        "datagram dropped: not for this session"
    );
}

/// Runs `session` until it closes, a socket fails or `cancel` fires.
///
/// Commands still running when it ends are not answered here: the caller knows
/// which it sent and answers them (the camera core reports them offline).
pub async fn run_session<S: Session, D: DatagramSocket, K: EventSink>(
    mut session: S,
    sockets: Vec<D>,
    mut commands: mpsc::Receiver<SessionCommand>,
    sink: &mut K,
    cancel: CancellationToken,
) -> Result<CloseReason, DriverError> {
    if sockets.is_empty() {
        return Err(DriverError::NoSocket);
    }
    let mut buf = vec![0u8; RECV_BUF];
    let mut next_socket = 0usize;
    let mut commands_open = true;
    session.start(clock::now());
    loop {
        if let Some(reason) = drain(&mut session, &sockets, sink).await {
            return Ok(reason);
        }
        let deadline = session.poll_timeout();
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                // Say goodbye (bounded: a UDP send does not block for long).
                session.close(clock::now());
                while let Some(t) = session.poll_transmit() {
                    flush(&sockets, t).await;
                }
                return Ok(CloseReason::Stopped);
            }
            r = recv_any(&sockets, &mut next_socket, &mut buf) => match r {
                Ok(received) => {
                    deliver(&mut session, &buf, received);
                    // Drain what is already waiting before sleeping again.
                    for _ in 1..MAX_BURST {
                        if let Some(reason) = drain(&mut session, &sockets, sink).await {
                            return Ok(reason);
                        }
                        match try_recv(&sockets, &mut next_socket, &mut buf) {
                            Some(Ok(received)) => deliver(&mut session, &buf, received),
                            Some(Err(e)) if is_transient(&e) => {}
                            Some(Err(e)) => return Err(DriverError::Socket(e)),
                            None => break,
                        }
                    }
                }
                Err(e) if is_transient(&e) => {
                    tracing::debug!(error = %e, "transient receive error");
                }
                Err(e) => return Err(DriverError::Socket(e)),
            },
            () = clock::sleep_until(deadline) => session.handle_timeout(clock::now()),
            cmd = commands.recv(), if commands_open => match cmd {
                Some(SessionCommand::Command { id, command }) => {
                    session.handle_command(clock::now(), id, command);
                }
                Some(SessionCommand::Talk(input)) => session.handle_talk(clock::now(), input),
                None => commands_open = false,
            },
        }
    }
}
