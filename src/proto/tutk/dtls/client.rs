//! The client role's handshake: ClientHello (again with the cookie after a
//! HelloVerifyRequest), then ServerHello, ServerKeyExchange (mandatory for
//! ECDHE_PSK, optional for PSK), ServerHelloDone; answers with
//! ClientKeyExchange, ChangeCipherSpec, Finished; ends on the server's Finished.
//!
//! Each state is named for what it awaits. Record handling, retransmission and
//! alerts are `conn.rs`/`mod.rs`'s business.

use std::time::Instant;

use subtle::ConstantTimeEq;

use super::conn::Conn;
use super::handshake::{
    ext, msg_type, ClientHello, ClientKeyExchange, HelloVerifyRequest, Message, ServerHello,
    ServerKeyExchange, EMPTY_RENEGOTIATION_INFO_SCSV, X25519,
};
use super::prf::{self, Side};
use super::record::DTLS12;
use super::{alert, AuthFailure, CipherSuite, DtlsConfig, Fatal, HandshakeError, Step};

/// Where a client handshake is.
#[derive(Debug)]
pub(crate) enum ClientState {
    /// Built, `start` not called yet.
    Idle,
    /// Sent the first ClientHello: a HelloVerifyRequest or the ServerHello may come.
    ExpectServerHelloOrVerify {
        /// The hello, to resend with the cookie.
        hello: Box<ClientHello>,
    },
    /// Sent the ClientHello with the cookie: only a ServerHello now.
    ExpectServerHello {
        /// The hello we sent.
        hello: Box<ClientHello>,
    },
    /// Got the ServerHello.
    ExpectServerKeyExchange {
        /// Both randoms and the suite.
        params: Params,
    },
    /// Got the ServerKeyExchange.
    ExpectServerHelloDone {
        /// Both randoms and the suite.
        params: Params,
        /// The server's X25519 share (ECDHE_PSK).
        server_public: Option<[u8; 32]>,
    },
    /// Sent our Finished: the server's CCS + Finished must come.
    ExpectServerFinished {
        /// Negotiated suite.
        suite: CipherSuite,
        /// Master secret (for the server's verify_data).
        master: Box<[u8; prf::MASTER_LEN]>,
    },
}

/// What the ServerHello fixed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    suite: CipherSuite,
    client_random: [u8; 32],
    server_random: [u8; 32],
}

impl ClientState {
    /// What this state awaits, for timeouts and errors.
    pub(crate) fn awaiting(&self) -> &'static str {
        match self {
            Self::Idle => "start",
            Self::ExpectServerHelloOrVerify { .. } => "HelloVerifyRequest or ServerHello",
            Self::ExpectServerHello { .. } => "ServerHello",
            Self::ExpectServerKeyExchange { .. } => "ServerKeyExchange",
            Self::ExpectServerHelloDone { .. } => "ServerHelloDone",
            Self::ExpectServerFinished { .. } => "server Finished",
        }
    }
}

/// Sends the first ClientHello.
pub(crate) fn start(cfg: &DtlsConfig, conn: &mut Conn, now: Instant) -> ClientState {
    let mut suites: Vec<u16> = cfg.suites.iter().map(|s| s.id()).collect();
    // Signals secure renegotiation support (OpenSSL 3 servers expect it) while
    // we never renegotiate.
    suites.push(EMPTY_RENEGOTIATION_INFO_SCSV);
    let mut extensions = Vec::new();
    if cfg.suites.iter().any(|s| s.uses_ecdhe()) {
        extensions.push((
            ext::SUPPORTED_GROUPS,
            [0, 2].into_iter().chain(X25519.to_be_bytes()).collect(),
        ));
        extensions.push((ext::EC_POINT_FORMATS, vec![1, 0]));
    }
    let hello = ClientHello {
        version: DTLS12,
        random: conn.random32(),
        session_id: Vec::new(),
        cookie: Vec::new(),
        suites,
        compression: vec![0],
        extensions,
    };
    send_hello(conn, &hello, now);
    ClientState::ExpectServerHelloOrVerify {
        hello: Box::new(hello),
    }
}

fn send_hello(conn: &mut Conn, hello: &ClientHello, now: Instant) {
    conn.begin_flight();
    conn.add_message(0, msg_type::CLIENT_HELLO, hello.encode(), true);
    conn.send_flight(now, true);
}

fn epoch0(msg: &Message) -> Result<(), Fatal> {
    match msg.epoch {
        0 => Ok(()),
        _ => Err(Fatal::new(
            alert::UNEXPECTED_MESSAGE,
            HandshakeError::Illegal("handshake message in the wrong epoch"),
        )),
    }
}

/// Advances the client on one whole handshake message.
pub(crate) fn on_message(
    state: ClientState,
    msg: Message,
    cfg: &DtlsConfig,
    conn: &mut Conn,
    now: Instant,
) -> Result<Step<ClientState>, Fatal> {
    let awaiting = state.awaiting();
    match (state, msg.msg_type) {
        (ClientState::ExpectServerHelloOrVerify { mut hello }, msg_type::HELLO_VERIFY_REQUEST) => {
            epoch0(&msg)?;
            let hvr = HelloVerifyRequest::decode(&msg.body)
                .map_err(Fatal::malformed("HelloVerifyRequest"))?;
            // The transcript starts again with the hello that carries the cookie.
            conn.transcript.clear();
            hello.cookie = hvr.cookie;
            conn.peer_flight_start = Some(msg.seq);
            send_hello(conn, &hello, now);
            Ok(Step::Next(ClientState::ExpectServerHello { hello }))
        }
        (
            ClientState::ExpectServerHelloOrVerify { hello }
            | ClientState::ExpectServerHello { hello },
            msg_type::SERVER_HELLO,
        ) => {
            epoch0(&msg)?;
            let sh = ServerHello::decode(&msg.body).map_err(Fatal::malformed("ServerHello"))?;
            if sh.version != DTLS12 {
                return Err(Fatal::new(
                    alert::PROTOCOL_VERSION,
                    HandshakeError::Version(sh.version),
                ));
            }
            let suite = CipherSuite::from_id(sh.suite)
                .filter(|s| cfg.suites.contains(s))
                .ok_or(Fatal::new(
                    alert::ILLEGAL_PARAMETER,
                    HandshakeError::UnofferedSuite(sh.suite),
                ))?;
            if sh.compression != 0 {
                return Err(Fatal::new(
                    alert::ILLEGAL_PARAMETER,
                    HandshakeError::Illegal("compression"),
                ));
            }
            for (t, data) in &sh.extensions {
                if *t == ext::RENEGOTIATION_INFO && data[..] != [0] {
                    return Err(Fatal::new(
                        alert::HANDSHAKE_FAILURE,
                        HandshakeError::Illegal("renegotiation_info"),
                    ));
                }
            }
            conn.peer_flight_start = Some(msg.seq);
            conn.add_transcript(msg.msg_type, msg.seq, &msg.body);
            let params = Params {
                suite,
                client_random: hello.random,
                server_random: sh.random,
            };
            Ok(Step::Next(ClientState::ExpectServerKeyExchange { params }))
        }
        (ClientState::ExpectServerKeyExchange { params }, msg_type::SERVER_KEY_EXCHANGE) => {
            epoch0(&msg)?;
            let ske = ServerKeyExchange::decode(&msg.body, params.suite.uses_ecdhe())
                .map_err(Fatal::malformed("ServerKeyExchange"))?;
            conn.add_transcript(msg.msg_type, msg.seq, &msg.body);
            // The hint is ignored: the identity is configured.
            Ok(Step::Next(ClientState::ExpectServerHelloDone {
                params,
                server_public: ske.public,
            }))
        }
        (ClientState::ExpectServerKeyExchange { params }, msg_type::SERVER_HELLO_DONE)
            if !params.suite.uses_ecdhe() =>
        {
            finish_flight(params, None, msg, cfg, conn, now)
        }
        (
            ClientState::ExpectServerHelloDone {
                params,
                server_public,
            },
            msg_type::SERVER_HELLO_DONE,
        ) => finish_flight(params, server_public, msg, cfg, conn, now),
        (ClientState::ExpectServerFinished { suite, master }, msg_type::FINISHED) => {
            if msg.epoch != 1 {
                return Err(Fatal::new(
                    alert::UNEXPECTED_MESSAGE,
                    HandshakeError::Illegal("Finished in epoch 0"),
                ));
            }
            let expected = prf::finished(&master, Side::Server, &conn.transcript);
            if !bool::from(expected.ct_eq(&msg.body[..])) {
                return Err(Fatal::auth(
                    alert::DECRYPT_ERROR,
                    AuthFailure::FinishedMismatch,
                ));
            }
            conn.add_transcript(msg.msg_type, msg.seq, &msg.body);
            Ok(Step::Connected(suite))
        }
        (_, got) => Err(Fatal::unexpected(got, awaiting)),
    }
}

/// ServerHelloDone: derive the keys and send CKE, CCS, Finished.
fn finish_flight(
    params: Params,
    server_public: Option<[u8; 32]>,
    msg: Message,
    cfg: &DtlsConfig,
    conn: &mut Conn,
    now: Instant,
) -> Result<Step<ClientState>, Fatal> {
    epoch0(&msg)?;
    if !msg.body.is_empty() {
        return Err(Fatal::new(
            alert::DECODE_ERROR,
            HandshakeError::Illegal("ServerHelloDone with a body"),
        ));
    }
    conn.add_transcript(msg.msg_type, msg.seq, &msg.body);
    let (other, public) = match server_public {
        Some(peer) => {
            let secret = conn.random32();
            let shared = x25519_dalek::x25519(secret, peer);
            if shared == [0; 32] {
                return Err(Fatal::new(
                    alert::ILLEGAL_PARAMETER,
                    HandshakeError::Illegal("low-order X25519 share"),
                ));
            }
            (
                shared,
                Some(x25519_dalek::x25519(
                    secret,
                    x25519_dalek::X25519_BASEPOINT_BYTES,
                )),
            )
        }
        None => ([0; 32], None),
    };
    let pms = prf::premaster(&other, cfg.psk.expose());
    let master = prf::master_secret(&pms, &params.client_random, &params.server_random);
    conn.install_keys(
        params.suite,
        &master,
        &params.client_random,
        &params.server_random,
        true,
    );
    let cke = ClientKeyExchange {
        identity: cfg.identity.clone(),
        public,
    };
    conn.begin_flight();
    conn.add_message(0, msg_type::CLIENT_KEY_EXCHANGE, cke.encode(), true);
    conn.add_ccs();
    let verify = prf::finished(&master, Side::Client, &conn.transcript);
    conn.add_message(1, msg_type::FINISHED, verify.to_vec(), true);
    conn.send_flight(now, true);
    Ok(Step::Next(ClientState::ExpectServerFinished {
        suite: params.suite,
        master: Box::new(master),
    }))
}
