//! Datagram sockets: the real tokio UDP socket and an in-memory network for tests.
//!
//! [`MemNet`] routes datagrams between [`MemSocket`]s by address, with seeded
//! loss, per-address outages and injected socket failures, so daemon-level tests
//! run under `start_paused` time without touching the OS.

#![allow(clippy::disallowed_types)] // the io layer owns the UDP sockets

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::ReadBuf;
use tokio::sync::mpsc;

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

/// Creates sockets for sessions (real UDP or in-memory).
pub trait SocketFactory: Send + Sync + 'static {
    /// The socket type made.
    type Socket: DatagramSocket;
    /// Binds a socket able to reach `peer`.
    fn bind_for(&self, peer: SocketAddr) -> impl Future<Output = io::Result<Self::Socket>> + Send;
}

/// Binds real UDP sockets on an ephemeral port of the right address family.
#[derive(Debug, Clone, Copy, Default)]
pub struct UdpFactory;

impl SocketFactory for UdpFactory {
    type Socket = tokio::net::UdpSocket;
    async fn bind_for(&self, peer: SocketAddr) -> io::Result<Self::Socket> {
        let local: SocketAddr = match peer.ip() {
            IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        tokio::net::UdpSocket::bind(local).await
    }
}

type Packet = (SocketAddr, Vec<u8>);

#[derive(Debug)]
struct NetState {
    endpoints: HashMap<SocketAddr, mpsc::UnboundedSender<Packet>>,
    /// Addresses whose traffic is dropped both ways (a network outage).
    blocked: Vec<SocketAddr>,
    /// Addresses whose socket fails on the next receive (a crash).
    broken: Vec<SocketAddr>,
    loss: f64,
    rng: ChaCha8Rng,
    next_port: u16,
    delivered: u64,
    /// Which local socket a [`MemFactory`] bound for which peer (newest wins).
    bound_for: HashMap<SocketAddr, SocketAddr>,
}

/// An in-memory datagram network (cheap to clone; clones share the network).
#[derive(Debug, Clone)]
pub struct MemNet {
    state: Arc<Mutex<NetState>>,
}

impl MemNet {
    /// A lossless network whose random choices come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Arc::new(Mutex::new(NetState {
                endpoints: HashMap::new(),
                blocked: Vec::new(),
                broken: Vec::new(),
                loss: 0.0,
                rng: ChaCha8Rng::seed_from_u64(seed),
                next_port: 40000,
                delivered: 0,
                bound_for: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, NetState> {
        // A poisoned lock only means a test thread panicked; the data is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drop each datagram with probability `p`.
    pub fn set_loss(&self, p: f64) {
        self.lock().loss = p.clamp(0.0, 1.0);
    }

    /// Cut (or restore) all traffic to and from `addr`.
    pub fn set_blocked(&self, addr: SocketAddr, blocked: bool) {
        let mut s = self.lock();
        s.blocked.retain(|a| *a != addr);
        if blocked {
            s.blocked.push(addr);
        }
    }

    /// Make the socket bound at `addr` fail its next receive, as if it crashed.
    pub fn break_socket(&self, addr: SocketAddr) {
        self.lock().broken.push(addr);
    }

    /// The local address of the socket most recently bound to talk to `peer`.
    pub fn socket_bound_for(&self, peer: SocketAddr) -> Option<SocketAddr> {
        self.lock().bound_for.get(&peer).copied()
    }

    /// Datagrams delivered so far.
    pub fn delivered(&self) -> u64 {
        self.lock().delivered
    }

    /// Binds `addr` (port 0 picks a free port on 127.0.0.1's stand-in).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<MemSocket> {
        let mut s = self.lock();
        let addr = if addr.port() == 0 {
            loop {
                s.next_port = s.next_port.wrapping_add(1).max(1024);
                let candidate = SocketAddr::new(addr.ip(), s.next_port);
                if !s.endpoints.contains_key(&candidate) {
                    break candidate;
                }
            }
        } else {
            addr
        };
        if s.endpoints.get(&addr).is_some_and(|tx| !tx.is_closed()) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{addr} in use"),
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        s.endpoints.insert(addr, tx);
        Ok(MemSocket {
            net: self.clone(),
            addr,
            rx: Mutex::new(rx),
        })
    }
}

/// A socket on a [`MemNet`].
#[derive(Debug)]
pub struct MemSocket {
    net: MemNet,
    addr: SocketAddr,
    rx: Mutex<mpsc::UnboundedReceiver<Packet>>,
}

impl DatagramSocket for MemSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        {
            let mut s = self.net.lock();
            if let Some(i) = s.broken.iter().position(|a| *a == self.addr) {
                s.broken.remove(i);
                return Poll::Ready(Err(io::Error::other("socket broken by test")));
            }
        }
        let mut rx = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        match rx.poll_recv(cx) {
            Poll::Ready(Some((from, data))) => {
                let n = data.len().min(buf.remaining());
                buf.put_slice(&data[..n]);
                Poll::Ready(Ok(from))
            }
            Poll::Ready(None) => Poll::Ready(Err(io::Error::other("network gone"))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_send_to(
        &self,
        _cx: &mut Context<'_>,
        buf: &[u8],
        dst: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let mut s = self.net.lock();
        let loss = s.loss;
        let lost = loss > 0.0 && s.rng.random_bool(loss);
        let blocked = s.blocked.contains(&dst) || s.blocked.contains(&self.addr);
        if !lost && !blocked {
            if let Some(tx) = s.endpoints.get(&dst) {
                if tx.send((self.addr, buf.to_vec())).is_ok() {
                    s.delivered += 1;
                }
            }
        }
        // Like UDP: a send to nowhere succeeds.
        Poll::Ready(Ok(buf.len()))
    }
}

impl Drop for MemSocket {
    fn drop(&mut self) {
        self.net.lock().endpoints.remove(&self.addr);
    }
}

/// Binds [`MemSocket`]s on 127.0.0.1 with fresh ports.
#[derive(Debug, Clone)]
pub struct MemFactory(pub MemNet);

impl SocketFactory for MemFactory {
    type Socket = MemSocket;
    async fn bind_for(&self, peer: SocketAddr) -> io::Result<MemSocket> {
        let sock = self.0.bind((Ipv4Addr::LOCALHOST, 0).into())?;
        self.0.lock().bound_for.insert(peer, sock.addr);
        Ok(sock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn mem_sockets_exchange_datagrams_and_honour_outages() {
        let net = MemNet::new(1);
        let a = net.bind("127.0.0.1:1000".parse().unwrap()).unwrap();
        let b = net.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        send_to(&a, b"hi", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 16];
        let mut rb = ReadBuf::new(&mut buf);
        let from = std::future::poll_fn(|cx| b.poll_recv_from(cx, &mut rb))
            .await
            .unwrap();
        assert_eq!((from, rb.filled()), (a.local_addr().unwrap(), &b"hi"[..]));
        net.set_blocked(a.local_addr().unwrap(), true);
        send_to(&a, b"lost", b.local_addr().unwrap()).await.unwrap();
        assert_eq!(net.delivered(), 1);
        assert!(net.bind("127.0.0.1:1000".parse().unwrap()).is_err());
    }
}
