//! Datagram sockets: the [`DatagramSocket`] trait, the real tokio UDP socket,
//! the [`SocketFactory`] that binds what a session's [`SocketSpec`]s ask for, and
//! fair, draining reception over a set of sockets ([`recv_any`], [`try_recv`]).
//!
//! The in-memory network used by daemon-level tests (`sim::memnet`) implements
//! the same traits; this module knows nothing about it.

#![allow(clippy::disallowed_types)] // the io layer owns the UDP sockets

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};

use tokio::io::ReadBuf;

use crate::proto::{SocketIx, SocketSpec};

/// What a session or device needs from a datagram socket.
pub trait DatagramSocket: Send + Sync + 'static {
    /// The bound address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// Poll for one datagram into `buf`, returning its sender.
    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>>;
    /// Poll to send one datagram.
    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        dst: SocketAddr,
    ) -> Poll<io::Result<usize>>;
}

/// Sends one datagram.
pub async fn send_to<S: DatagramSocket>(
    sock: &S,
    buf: &[u8],
    dst: SocketAddr,
) -> io::Result<usize> {
    std::future::poll_fn(|cx| sock.poll_send_to(cx, buf, dst)).await
}

impl DatagramSocket for tokio::net::UdpSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::UdpSocket::local_addr(self)
    }
    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        tokio::net::UdpSocket::poll_recv_from(self, cx, buf)
    }
    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        dst: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        tokio::net::UdpSocket::poll_send_to(self, cx, buf, dst)
    }
}

/// Creates sockets for sessions and discovery (real UDP or in-memory).
pub trait SocketFactory: Send + Sync + 'static {
    /// The socket type made.
    type Socket: DatagramSocket;
    /// Binds one socket as `spec` asks.
    fn bind(&self, spec: SocketSpec) -> impl Future<Output = io::Result<Self::Socket>> + Send;
}

/// Binds real UDP sockets.
#[derive(Debug, Clone, Copy, Default)]
pub struct UdpFactory;

impl SocketFactory for UdpFactory {
    type Socket = tokio::net::UdpSocket;
    async fn bind(&self, spec: SocketSpec) -> io::Result<Self::Socket> {
        let sock = tokio::net::UdpSocket::bind(spec.bind).await?;
        if spec.broadcast {
            sock.set_broadcast(true)?;
        }
        Ok(sock)
    }
}

/// Binds two UDP sockets on `ip` with consecutive ports, the first even (an
/// RTP/RTCP pair, RFC 3550 §11), on ports the system picks.
pub async fn bind_port_pair(
    ip: std::net::IpAddr,
) -> io::Result<(tokio::net::UdpSocket, tokio::net::UdpSocket)> {
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free port pair");
    for _ in 0..32 {
        let rtp = tokio::net::UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let port = rtp.local_addr()?.port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        match tokio::net::UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
            Ok(rtcp) => return Ok((rtp, rtcp)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// This machine's address on the network it reaches others by (the source
/// address of its default route), for URLs shown to users. Connecting a UDP
/// socket sends nothing; `None` without a route.
pub fn primary_ip() -> Option<std::net::IpAddr> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // TEST-NET-1 (RFC 5737): never reached, only routed.
    sock.connect("192.0.2.1:9").ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// Binds every socket in `specs`, in order.
pub async fn bind_all<F: SocketFactory>(
    factory: &F,
    specs: &[SocketSpec],
) -> io::Result<Vec<F::Socket>> {
    let mut sockets = Vec::with_capacity(specs.len());
    for spec in specs {
        sockets.push(factory.bind(*spec).await?);
    }
    Ok(sockets)
}

/// One received datagram's coordinates: which socket, from whom, how long.
pub type Received = (SocketIx, SocketAddr, usize);

fn ix(i: usize) -> SocketIx {
    SocketIx(u8::try_from(i).unwrap_or(u8::MAX))
}

/// Waits for a datagram on any of `sockets`, polling them fairly: each call
/// starts at `*next` and moves it past the socket that answered, so a busy
/// socket 0 cannot starve the others.
pub async fn recv_any<S: DatagramSocket>(
    sockets: &[S],
    next: &mut usize,
    buf: &mut [u8],
) -> io::Result<Received> {
    std::future::poll_fn(|cx| poll_any(sockets, next, buf, cx)).await
}

fn poll_any<S: DatagramSocket>(
    sockets: &[S],
    next: &mut usize,
    buf: &mut [u8],
    cx: &mut Context<'_>,
) -> Poll<io::Result<Received>> {
    let n = sockets.len();
    for k in 0..n {
        let i = (*next + k) % n;
        let mut rb = ReadBuf::new(buf);
        if let Poll::Ready(r) = sockets[i].poll_recv_from(cx, &mut rb) {
            let len = rb.filled().len();
            *next = (i + 1) % n;
            return Poll::Ready(r.map(|from| (ix(i), from, len)));
        }
    }
    Poll::Pending
}

/// A datagram that is already waiting on any of `sockets`, without waiting
/// (fair in the same way as [`recv_any`]); `None` when every socket is empty.
pub fn try_recv<S: DatagramSocket>(
    sockets: &[S],
    next: &mut usize,
    buf: &mut [u8],
) -> Option<io::Result<Received>> {
    let mut cx = Context::from_waker(Waker::noop());
    match poll_any(sockets, next, buf, &mut cx) {
        Poll::Ready(r) => Some(r),
        Poll::Pending => None,
    }
}
