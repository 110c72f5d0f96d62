//! An in-memory datagram network for daemon-level tests: [`MemNet`] routes
//! datagrams between [`MemSocket`]s by address, with seeded loss (the same
//! [`LossModel`] as [`super::netem`]), per-address outages and injected socket
//! failures, so tests run under tokio's paused clock without touching the OS.
//! [`MemFactory`] binds them for sessions through [`SocketFactory`].

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::ReadBuf;
use tokio::sync::mpsc;

use super::netem::LossModel;
use crate::io::{DatagramSocket, SocketFactory};
use crate::proto::SocketSpec;

type Packet = (SocketAddr, Vec<u8>);

#[derive(Debug)]
struct NetState {
    endpoints: HashMap<SocketAddr, mpsc::UnboundedSender<Packet>>,
    /// Addresses whose traffic is dropped both ways (a network outage).
    blocked: Vec<SocketAddr>,
    /// Addresses whose socket fails on the next receive (a crash).
    broken: Vec<SocketAddr>,
    loss: LossModel,
    next_port: u16,
    delivered: u64,
    /// The local socket that last sent to each destination.
    talks_to: HashMap<SocketAddr, SocketAddr>,
    /// Sockets bound with broadcast allowed.
    broadcast: Vec<SocketAddr>,
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
                loss: LossModel::new(0.0, None, seed),
                next_port: 40000,
                delivered: 0,
                talks_to: HashMap::new(),
                broadcast: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, NetState> {
        // A poisoned lock only means a test thread panicked; the data is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drop each datagram with probability `p`.
    pub fn set_loss(&self, p: f64) {
        self.lock().loss.set_loss(p);
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

    /// The local address of the socket that last sent a datagram to `peer`.
    pub fn socket_talking_to(&self, peer: SocketAddr) -> Option<SocketAddr> {
        self.lock().talks_to.get(&peer).copied()
    }

    /// True if the socket bound at `addr` was bound with broadcast allowed.
    pub fn is_broadcast(&self, addr: SocketAddr) -> bool {
        self.lock().broadcast.contains(&addr)
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
        s.talks_to.insert(dst, self.addr);
        let lost = s.loss.lose();
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
        let mut s = self.net.lock();
        s.endpoints.remove(&self.addr);
        s.broadcast.retain(|a| *a != self.addr);
    }
}

/// Binds [`MemSocket`]s; an unspecified address binds 127.0.0.1.
#[derive(Debug, Clone)]
pub struct MemFactory(pub MemNet);

impl SocketFactory for MemFactory {
    type Socket = MemSocket;
    async fn bind(&self, spec: SocketSpec) -> io::Result<MemSocket> {
        let mut addr = spec.bind;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        let sock = self.0.bind(addr)?;
        if spec.broadcast {
            self.0.lock().broadcast.push(sock.addr);
        }
        Ok(sock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::socket::send_to;

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

#[cfg(test)]
mod fairness {
    use super::*;
    use crate::io::socket::{recv_any, send_to, try_recv};

    /// Two sockets with datagrams waiting: reception alternates between them
    /// (socket 0 cannot starve socket 1), and `try_recv` drains what is waiting
    /// without blocking, then reports empty.
    #[tokio::test]
    async fn sockets_are_polled_fairly_and_drained_without_waiting() {
        let net = MemNet::new(1);
        let s0 = net.bind("127.0.0.1:1100".parse().unwrap()).unwrap();
        let s1 = net.bind("127.0.0.1:1101".parse().unwrap()).unwrap();
        let peer = net.bind("127.0.0.1:1200".parse().unwrap()).unwrap();
        for i in 0..4u8 {
            send_to(&peer, &[0, i], s0.local_addr().unwrap())
                .await
                .unwrap();
            send_to(&peer, &[1, i], s1.local_addr().unwrap())
                .await
                .unwrap();
        }
        let sockets = [s0, s1];
        let mut next = 0;
        let mut buf = [0u8; 8];
        let (first, _, _) = recv_any(&sockets, &mut next, &mut buf).await.unwrap();
        let mut order = vec![first.0];
        while let Some(r) = try_recv(&sockets, &mut next, &mut buf) {
            order.push(r.unwrap().0 .0);
        }
        assert_eq!(order, vec![0, 1, 0, 1, 0, 1, 0, 1]);
        assert!(try_recv(&sockets, &mut next, &mut buf).is_none());
    }
}
