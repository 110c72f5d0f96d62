//! The one `select!` loop: runs any sans-IO [`Session`] (or simulated
//! [`Device`]) over real or in-memory sockets.
//!
//! After every input the driver drains `poll_transmit`/`poll_event` to `None`
//! (the drain contract in [`crate::proto`]), then waits for the first of: a
//! datagram, the session's deadline, a command, or cancellation. Events go to an
//! [`EventSink`] that must not block, so a slow broker can never delay the
//! packet path.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::task::Poll;

use tokio::io::ReadBuf;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::clock;
use super::socket::{send_to, DatagramSocket};
use crate::model::{CameraCommand, CommandError};
use crate::proto::{CloseReason, CommandId, Datagram, Session, SessionEvent, SocketIx, Transmit};
use crate::sim::Device;

/// Largest datagram accepted (bigger ones are truncated by the OS; UDP max).
const RECV_BUF: usize = 65_536;

/// A command for a running session plus where to send its result.
#[derive(Debug)]
pub struct SessionCommand {
    /// The command.
    pub command: CameraCommand,
    /// Receives the result exactly once.
    pub reply: oneshot::Sender<Result<(), CommandError>>,
}

/// Receives session events; must return quickly and never await.
pub trait EventSink: Send {
    /// Handle one event (not `CommandDone`, which the driver routes itself).
    fn event(&mut self, event: SessionEvent);
}

/// Why the driver stopped other than a session close.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A socket failed.
    #[error("socket error: {0}")]
    Socket(#[from] io::Error),
    /// The session asked for more sockets than were given.
    #[error("session needs {need} sockets, driver has {have}")]
    Sockets {
        /// Asked for.
        need: usize,
        /// Given.
        have: usize,
    },
}

/// Waits for a datagram on any of `sockets`.
async fn recv_any<S: DatagramSocket>(
    sockets: &[S],
    buf: &mut [u8],
) -> io::Result<(SocketIx, SocketAddr, usize)> {
    std::future::poll_fn(|cx| {
        for (i, sock) in sockets.iter().enumerate() {
            let mut rb = ReadBuf::new(buf);
            if let Poll::Ready(r) = sock.poll_recv_from(cx, &mut rb) {
                let n = rb.filled().len();
                let ix = SocketIx(u8::try_from(i).unwrap_or(u8::MAX));
                return Poll::Ready(r.map(|from| (ix, from, n)));
            }
        }
        Poll::Pending
    })
    .await
}

async fn flush<S: DatagramSocket>(sockets: &[S], t: Transmit) {
    let Some(sock) = sockets.get(usize::from(t.socket.0)) else {
        tracing::warn!(
            socket = t.socket.0,
            "transmit on a socket that does not exist"
        );
        return;
    };
    // UDP sends fail only transiently (no route, buffer full); the protocol's
    // own retransmission covers a lost datagram, so log and carry on.
    if let Err(e) = send_to(sock, &t.payload, t.dst).await {
        tracing::debug!(dst = %t.dst, error = %e, "send failed");
    }
}

/// Sleeps until `at`, or forever when there is no deadline.
async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Runs `session` until it closes, a socket fails or `cancel` fires.
///
/// Pending commands are answered with [`CommandError::Offline`] when it ends.
pub async fn run_session<S: Session, D: DatagramSocket, K: EventSink>(
    mut session: S,
    sockets: Vec<D>,
    mut commands: mpsc::Receiver<SessionCommand>,
    sink: &mut K,
    cancel: CancellationToken,
) -> Result<CloseReason, DriverError> {
    if sockets.len() < session.sockets() {
        return Err(DriverError::Sockets {
            need: session.sockets(),
            have: sockets.len(),
        });
    }
    let mut pending: HashMap<CommandId, oneshot::Sender<Result<(), CommandError>>> = HashMap::new();
    let mut next_id = 0u64;
    let mut buf = vec![0u8; RECV_BUF];
    let mut commands_open = true;
    session.start(clock::now());
    let result = loop {
        // Drain: every transmit, then every event.
        while let Some(t) = session.poll_transmit() {
            flush(&sockets, t).await;
        }
        let mut closed = None;
        while let Some(ev) = session.poll_event() {
            match ev {
                SessionEvent::CommandDone { id, result } => {
                    if let Some(reply) = pending.remove(&id) {
                        let _ = reply.send(result);
                    }
                }
                SessionEvent::Closed(reason) => {
                    sink.event(SessionEvent::Closed(reason.clone()));
                    closed = Some(reason);
                }
                other => sink.event(other),
            }
        }
        if let Some(reason) = closed {
            break Ok(reason);
        }
        let deadline = session.poll_timeout();
        tokio::select! {
            biased;
            () = cancel.cancelled() => break Ok(CloseReason::Stopped),
            r = recv_any(&sockets, &mut buf) => match r {
                Ok((socket, from, n)) => {
                    let d = Datagram { socket, from, payload: &buf[..n] };
                    if session.handle_datagram(clock::now(), d) == crate::proto::Handled::NotMine {
                        tracing::trace!(%from, len = n, "datagram not for this session");
                    }
                }
                Err(e) if is_transient(&e) => {
                    tracing::debug!(error = %e, "transient receive error");
                }
                Err(e) => break Err(DriverError::Socket(e)),
            },
            () = sleep_until(deadline) => session.handle_timeout(clock::now()),
            cmd = commands.recv(), if commands_open => match cmd {
                Some(SessionCommand { command, reply }) => {
                    let id = CommandId(next_id);
                    next_id += 1;
                    pending.insert(id, reply);
                    session.handle_command(clock::now(), id, command);
                }
                None => commands_open = false,
            },
        }
    };
    for (_, reply) in pending.drain() {
        let _ = reply.send(Err(CommandError::Offline));
    }
    result
}

/// ICMP port-unreachable surfaces as `ConnectionRefused` on some platforms'
/// UDP sockets; it says nothing about our socket, so keep going.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Runs a simulated camera until `cancel` fires or a socket fails.
pub async fn run_device<V: Device, D: DatagramSocket>(
    mut device: V,
    sockets: Vec<D>,
    cancel: CancellationToken,
) -> Result<(), DriverError> {
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        while let Some(t) = device.poll_transmit() {
            flush(&sockets, t).await;
        }
        let deadline = device.poll_timeout();
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(()),
            r = recv_any(&sockets, &mut buf) => match r {
                Ok((socket, from, n)) => {
                    device.handle_datagram(clock::now(), Datagram { socket, from, payload: &buf[..n] });
                }
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(DriverError::Socket(e)),
            },
            () = sleep_until(deadline) => device.handle_timeout(clock::now()),
        }
    }
}
