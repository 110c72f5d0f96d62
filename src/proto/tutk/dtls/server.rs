//! The server role's handshake: optional HelloVerifyRequest cookie exchange,
//! then ServerHello, ServerKeyExchange (hint + X25519 for ECDHE_PSK, hint only
//! for PSK), ServerHelloDone; then the client's ClientKeyExchange (identity
//! checked), ChangeCipherSpec and Finished; answers with its own CCS +
//! Finished, a final flight resent only when the client resends its own.
//!
//! Each state is named for what it awaits. Record handling, retransmission and
//! alerts are `conn.rs`/`mod.rs`'s business.

use std::time::Instant;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::conn::{Conn, Timer};
use super::handshake::{
    ext, msg_type, ClientHello, ClientKeyExchange, HelloVerifyRequest, Message, ServerHello,
    ServerKeyExchange, EMPTY_RENEGOTIATION_INFO_SCSV, X25519,
};
use super::prf::{self, Side};
use super::record::{DTLS10, DTLS12};
use super::{alert, AuthFailure, CipherSuite, DtlsConfig, Fatal, HandshakeError, Step};

/// Where a server handshake is.
#[derive(Debug)]
// States are named for what they await (STYLE.md rule 3): all from the client.
#[allow(clippy::enum_variant_names)]
pub(crate) enum ServerState {
    /// Waiting for a (valid-cookie) ClientHello.
    ExpectClientHello {
        /// Keys the stateless cookie (HMAC over the hello's random and offer).
        cookie_key: [u8; 32],
    },
    /// Sent ServerHello … ServerHelloDone.
    ExpectClientKeyExchange {
        /// Negotiated suite.
        suite: CipherSuite,
        /// Both randoms.
        client_random: [u8; 32],
        /// Both randoms.
        server_random: [u8; 32],
        /// Our X25519 secret (ECDHE_PSK).
        secret: Option<[u8; 32]>,
    },
    /// Got the ClientKeyExchange (keys derived): the client Finished must come.
    ExpectClientFinished {
        /// Negotiated suite.
        suite: CipherSuite,
        /// Master secret.
        master: Box<[u8; prf::MASTER_LEN]>,
    },
}

impl ServerState {
    /// What this state awaits, for timeouts and errors.
    pub(crate) fn awaiting(&self) -> &'static str {
        match self {
            Self::ExpectClientHello { .. } => "ClientHello",
            Self::ExpectClientKeyExchange { .. } => "ClientKeyExchange",
            Self::ExpectClientFinished { .. } => "client Finished",
        }
    }
}

fn cookie(key: &[u8; 32], hello: &ClientHello) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(&hello.random);
    mac.update(&hello.session_id);
    for s in &hello.suites {
        mac.update(&s.to_be_bytes());
    }
    mac.finalize().into_bytes()[..16].to_vec()
}

fn in_epoch(msg: &Message, epoch: u16) -> Result<(), Fatal> {
    if msg.epoch == epoch {
        Ok(())
    } else {
        Err(Fatal::new(
            alert::UNEXPECTED_MESSAGE,
            HandshakeError::Illegal("handshake message in the wrong epoch"),
        ))
    }
}

/// Advances the server on one whole handshake message.
pub(crate) fn on_message(
    state: ServerState,
    msg: Message,
    cfg: &DtlsConfig,
    conn: &mut Conn,
    now: Instant,
) -> Result<Step<ServerState>, Fatal> {
    let awaiting = state.awaiting();
    match (state, msg.msg_type) {
        (ServerState::ExpectClientHello { cookie_key }, msg_type::CLIENT_HELLO) => {
            in_epoch(&msg, 0)?;
            let hello = ClientHello::decode(&msg.body).map_err(Fatal::malformed("ClientHello"))?;
            if conn.timers.get(Timer::Handshake).is_none() {
                conn.timers
                    .set(Timer::Handshake, now + cfg.handshake_timeout);
            }
            if cfg.cookie_exchange {
                let want = cookie(&cookie_key, &hello);
                if !bool::from(want.ct_eq(&hello.cookie)) {
                    // Stateless: the HVR carries the hello's message_seq and is
                    // in no transcript; the client's retransmission repeats it.
                    conn.send_seq = msg.seq;
                    conn.peer_flight_start = Some(msg.seq);
                    conn.begin_flight();
                    let hvr = HelloVerifyRequest {
                        version: DTLS10,
                        cookie: want,
                    };
                    conn.add_message(0, msg_type::HELLO_VERIFY_REQUEST, hvr.encode(), false);
                    conn.send_flight(now, false);
                    return Ok(Step::Next(ServerState::ExpectClientHello { cookie_key }));
                }
            }
            accept_hello(hello, msg, cfg, conn, now)
        }
        (
            ServerState::ExpectClientKeyExchange {
                suite,
                client_random,
                server_random,
                secret,
            },
            msg_type::CLIENT_KEY_EXCHANGE,
        ) => {
            in_epoch(&msg, 0)?;
            let cke = ClientKeyExchange::decode(&msg.body, suite.uses_ecdhe())
                .map_err(Fatal::malformed("ClientKeyExchange"))?;
            if cke.identity != cfg.identity {
                let shown = String::from_utf8_lossy(&cke.identity)
                    .chars()
                    .take(64)
                    .collect();
                return Err(Fatal::auth(
                    alert::UNKNOWN_PSK_IDENTITY,
                    AuthFailure::UnknownIdentity(shown),
                ));
            }
            let other = match (secret, cke.public) {
                (Some(secret), Some(peer)) => {
                    let shared = x25519_dalek::x25519(secret, peer);
                    if shared == [0; 32] {
                        return Err(Fatal::new(
                            alert::ILLEGAL_PARAMETER,
                            HandshakeError::Illegal("low-order X25519 share"),
                        ));
                    }
                    shared
                }
                _ => [0; 32],
            };
            conn.add_transcript(msg.msg_type, msg.seq, &msg.body);
            conn.peer_flight_start = Some(msg.seq);
            let pms = prf::premaster(&other, cfg.psk.expose());
            let master = prf::master_secret(&pms, &client_random, &server_random);
            conn.install_keys(suite, &master, &client_random, &server_random, false);
            Ok(Step::Next(ServerState::ExpectClientFinished {
                suite,
                master: Box::new(master),
            }))
        }
        (ServerState::ExpectClientFinished { suite, master }, msg_type::FINISHED) => {
            in_epoch(&msg, 1)?;
            let expected = prf::finished(&master, Side::Client, &conn.transcript);
            if !bool::from(expected.ct_eq(&msg.body[..])) {
                return Err(Fatal::auth(
                    alert::DECRYPT_ERROR,
                    AuthFailure::FinishedMismatch,
                ));
            }
            conn.add_transcript(msg.msg_type, msg.seq, &msg.body);
            let verify = prf::finished(&master, Side::Server, &conn.transcript);
            // peer_flight_start still names the ClientKeyExchange: a resent
            // client flight makes us resend this final one.
            conn.begin_flight();
            conn.add_ccs();
            conn.add_message(1, msg_type::FINISHED, verify.to_vec(), true);
            conn.send_flight(now, false);
            Ok(Step::Connected(suite))
        }
        (_, got) => Err(Fatal::unexpected(got, awaiting)),
    }
}

/// A ClientHello we go on with: pick the suite, send ServerHello … ServerHelloDone.
fn accept_hello(
    hello: ClientHello,
    msg: Message,
    cfg: &DtlsConfig,
    conn: &mut Conn,
    now: Instant,
) -> Result<Step<ServerState>, Fatal> {
    // DTLS versions count down: 0xFEFD (1.2) is numerically below 0xFEFF (1.0).
    if hello.version > DTLS12 {
        return Err(Fatal::new(
            alert::PROTOCOL_VERSION,
            HandshakeError::Version(hello.version),
        ));
    }
    if !hello.compression.contains(&0) {
        return Err(Fatal::new(
            alert::ILLEGAL_PARAMETER,
            HandshakeError::Illegal("no null compression"),
        ));
    }
    let groups = hello
        .extensions
        .iter()
        .find(|(t, _)| *t == ext::SUPPORTED_GROUPS)
        .map(|(_, d)| d);
    let x25519_ok = groups.is_none_or(|d| {
        d.get(2..)
            .unwrap_or(&[])
            .chunks_exact(2)
            .any(|g| g == X25519.to_be_bytes())
    });
    let suite = cfg
        .suites
        .iter()
        .copied()
        .find(|s| hello.suites.contains(&s.id()) && (!s.uses_ecdhe() || x25519_ok))
        .ok_or_else(|| {
            Fatal::new(
                alert::HANDSHAKE_FAILURE,
                HandshakeError::NoCommonSuite(hello.suites.clone()),
            )
        })?;
    let reneg = hello.suites.contains(&EMPTY_RENEGOTIATION_INFO_SCSV)
        || hello
            .extensions
            .iter()
            .any(|(t, _)| *t == ext::RENEGOTIATION_INFO);
    if hello
        .extensions
        .iter()
        .any(|(t, d)| *t == ext::RENEGOTIATION_INFO && d[..] != [0])
    {
        return Err(Fatal::new(
            alert::HANDSHAKE_FAILURE,
            HandshakeError::Illegal("renegotiation_info"),
        ));
    }
    conn.transcript.clear();
    conn.add_transcript(msg.msg_type, msg.seq, &msg.body);
    conn.send_seq = msg.seq;
    conn.peer_flight_start = Some(msg.seq);
    let server_random = conn.random32();
    let mut extensions = Vec::new();
    if reneg {
        extensions.push((ext::RENEGOTIATION_INFO, vec![0]));
    }
    let sh = ServerHello {
        version: DTLS12,
        random: server_random,
        session_id: Vec::new(),
        suite: suite.id(),
        compression: 0,
        extensions,
    };
    conn.begin_flight();
    conn.add_message(0, msg_type::SERVER_HELLO, sh.encode(), true);
    let secret = suite.uses_ecdhe().then(|| conn.random32());
    if secret.is_some() || !cfg.identity_hint.is_empty() {
        let public = secret.map(|s| x25519_dalek::x25519(s, x25519_dalek::X25519_BASEPOINT_BYTES));
        let ske = ServerKeyExchange {
            hint: cfg.identity_hint.clone(),
            public,
        };
        conn.add_message(0, msg_type::SERVER_KEY_EXCHANGE, ske.encode(), true);
    }
    conn.add_message(0, msg_type::SERVER_HELLO_DONE, Vec::new(), true);
    conn.send_flight(now, true);
    Ok(Step::Next(ServerState::ExpectClientKeyExchange {
        suite,
        client_random: hello.random,
        server_random,
        secret,
    }))
}
