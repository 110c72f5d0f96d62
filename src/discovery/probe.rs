//! The request/answer loop the probing sources share (demo-mode probe, PPPP
//! and TUTK LAN searches): one socket of its own, a round of requests every
//! `resend`, every answer handed to the source, until the source has what it
//! wants or the time is up. A socket that fails for good ends the probe
//! early (logged); transient errors (ICMP unreachable) are skipped.

use std::net::SocketAddr;
use std::time::Duration;

use crate::io::clock;
use crate::io::driver::{flush, is_transient};
use crate::io::socket::recv_any;
use crate::io::SocketFactory;
use crate::proto::{SocketSpec, Transmit};

/// One source's side of a probe.
pub trait Probe {
    /// The requests of the next round (sent from socket 0); empty: nothing
    /// left to ask, the probe ends.
    fn round(&mut self) -> Vec<Transmit>;
    /// An answer arrived; true when the source has all it wants.
    fn answer(&mut self, from: SocketAddr, payload: &[u8]) -> bool;
}

/// Runs `probe` on a socket bound to `spec` for at most `timeout`, a round
/// every `resend`. `what` names the source in logs.
pub async fn run<F: SocketFactory, P: Probe>(
    factory: &F,
    spec: SocketSpec,
    timeout: Duration,
    resend: Duration,
    what: &str,
    probe: &mut P,
) {
    let socket = match factory.bind(spec).await {
        Ok(s) => [s],
        Err(e) => {
            tracing::warn!(error = %e, "{what}: cannot bind a socket");
            return;
        }
    };
    let deadline = clock::now() + timeout;
    let mut buf = vec![0u8; 2048];
    let mut next = 0;
    while clock::now() < deadline {
        let requests = probe.round();
        if requests.is_empty() {
            return;
        }
        for t in requests {
            flush(&socket, t).await;
        }
        let resend_at = (clock::now() + resend).min(deadline);
        loop {
            tokio::select! {
                r = recv_any(&socket, &mut next, &mut buf) => match r {
                    Ok((_, from, n)) => {
                        let payload = buf.get(..n).unwrap_or(&buf);
                        if probe.answer(from, payload) {
                            return;
                        }
                    }
                    Err(e) if is_transient(&e) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "{what}: socket failed");
                        return;
                    }
                },
                () = clock::sleep_until(Some(resend_at)) => break,
            }
        }
    }
}
