//! OpenSSL interop is the proof of the DTLS engine: our client against
//! `openssl s_server` and our server against `openssl s_client`, for both
//! suites (ECDHE-PSK-CHACHA20-POLY1305 with X25519, PSK-AES128-CBC-SHA256),
//! with application data both ways through the tools' stdin/stdout, over real
//! UDP on 127.0.0.1. Also: OpenSSL with a small `-mtu` (its fragments reach our
//! reassembly), and a wrong PSK in both directions.
//!
//! `openssl` must be installed (`tests/run.sh` installs it); a missing binary
//! fails the tests with a message rather than skipping them.

// Interop needs a real clock and real sockets; the engine under test still gets
// `now` as an argument and never touches either.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use cam2mqtt::proto::tutk::dtls::handshake::Fragment;
use cam2mqtt::proto::tutk::dtls::record::{content, Record};
use cam2mqtt::proto::tutk::dtls::{
    AuthFailure, CipherSuite, Dtls, DtlsClose, DtlsConfig, DtlsEvent, Psk,
};

const ENR: &[u8] = b"aKzdqckqZ8HUHFe5";

fn psk_hex(psk: &Psk) -> String {
    psk.expose().iter().map(|b| format!("{b:02x}")).collect()
}

fn openssl() -> &'static str {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "the `openssl` binary is required for the DTLS interop tests: apt-get install openssl (tests/run.sh does it)");
    "openssl"
}

/// A running openssl tool, killed when dropped; its stdout comes line by line.
struct Tool {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Tool {
    fn spawn(args: &[String]) -> Self {
        let mut child = Command::new(openssl())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start openssl");
        let stdin = child.stdin.take().expect("piped stdin");
        let (tx, lines) = channel();
        for stream in [
            Box::new(child.stdout.take().expect("piped stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("piped stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Collects output for up to `wait`; true once a line contains `needle`.
    fn saw(&mut self, needle: &str, wait: Duration) -> bool {
        let end = Instant::now() + wait;
        loop {
            if self.seen.iter().any(|l| l.contains(needle)) {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.lines.recv_timeout(left.min(Duration::from_millis(20))) {
                Ok(l) => self.seen.push(l),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(_) => return self.seen.iter().any(|l| l.contains(needle)),
            }
        }
    }

    fn type_line(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to openssl stdin");
        self.stdin.flush().expect("flush openssl stdin");
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our endpoint on a loopback socket.
struct Ours {
    sock: UdpSocket,
    peer: Option<SocketAddr>,
    dtls: Dtls,
    events: Vec<DtlsEvent>,
    /// Every datagram received, for inspection.
    received: Vec<Vec<u8>>,
}

impl Ours {
    fn new(dtls: Dtls, peer: Option<SocketAddr>) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind loopback");
        Self {
            sock,
            peer,
            dtls,
            events: Vec::new(),
            received: Vec::new(),
        }
    }

    fn port(&self) -> u16 {
        self.sock.local_addr().expect("local addr").port()
    }

    /// Runs the endpoint for up to `limit` or until `done(events)`.
    fn pump(&mut self, limit: Duration, done: impl Fn(&[DtlsEvent]) -> bool) -> bool {
        let end = Instant::now() + limit;
        let mut buf = vec![0u8; 65536];
        loop {
            while let Some(d) = self.dtls.poll_transmit() {
                if let Some(peer) = self.peer {
                    let _ = self.sock.send_to(&d, peer);
                }
            }
            while let Some(e) = self.dtls.poll_event() {
                self.events.push(e);
            }
            if done(&self.events) {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            let wait = self
                .dtls
                .poll_timeout()
                .map_or(Duration::from_millis(20), |t| {
                    t.saturating_duration_since(now)
                });
            let wait = wait
                .clamp(Duration::from_millis(1), Duration::from_millis(20))
                .min(end - now);
            self.sock
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                .expect("set timeout");
            if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                self.peer.get_or_insert(from);
                self.received.push(buf[..n].to_vec());
                self.dtls.handle_datagram(Instant::now(), &buf[..n]);
            }
            let now = Instant::now();
            if self.dtls.poll_timeout().is_some_and(|t| t <= now) {
                self.dtls.handle_timeout(now);
            }
        }
    }

    fn data(&self) -> Vec<u8> {
        self.events
            .iter()
            .filter_map(|e| {
                if let DtlsEvent::Data(d) = e {
                    Some(d.clone())
                } else {
                    None
                }
            })
            .flatten()
            .collect()
    }

    fn closed(&self) -> Option<&DtlsClose> {
        self.events.iter().find_map(|e| {
            if let DtlsEvent::Closed(c) = e {
                Some(c)
            } else {
                None
            }
        })
    }
}

fn connected(events: &[DtlsEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, DtlsEvent::Connected { .. } | DtlsEvent::Closed(_)))
}

/// A whole line of application data arrived (OpenSSL may send it in pieces).
fn line_arrived(events: &[DtlsEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, DtlsEvent::Data(d) if d.ends_with(b"\n")))
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn s_server(suite: CipherSuite, psk: &Psk, port: u16, extra: &[&str]) -> Tool {
    let mut args: Vec<String> = ["s_server", "-dtls1_2", "-nocert", "-psk"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(psk_hex(psk));
    for a in [
        "-psk_identity",
        "AUTHPWD_admin",
        "-psk_hint",
        "AUTHPWD_admin",
        "-cipher",
        suite.openssl_name(),
        "-accept",
    ] {
        args.push(a.into());
    }
    args.push(format!("127.0.0.1:{port}"));
    if suite.uses_ecdhe() {
        args.extend(["-groups".into(), "X25519".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut tool = Tool::spawn(&args);
    assert!(
        tool.saw("ACCEPT", Duration::from_secs(5)),
        "s_server did not start: {:?}",
        tool.seen
    );
    tool
}

fn s_client(suite: CipherSuite, psk: &Psk, port: u16, extra: &[&str]) -> Tool {
    let mut args: Vec<String> = ["s_client", "-dtls1_2", "-connect"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(format!("127.0.0.1:{port}"));
    args.extend(["-psk".into(), psk_hex(psk)]);
    for a in [
        "-psk_identity",
        "AUTHPWD_admin",
        "-cipher",
        suite.openssl_name(),
    ] {
        args.push(a.into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Tool::spawn(&args)
}

fn client_cfg(suite: CipherSuite) -> DtlsConfig {
    let mut c = DtlsConfig::new(Psk::from_enr(ENR));
    c.suites = vec![suite];
    c
}

fn our_client_against_s_server(suite: CipherSuite, extra: &[&str]) -> (Ours, Tool) {
    let port = free_port();
    let mut tool = s_server(suite, &Psk::from_enr(ENR), port, extra);
    let mut ours = Ours::new(
        Dtls::client(client_cfg(suite), [7; 32]),
        Some(SocketAddr::from(([127, 0, 0, 1], port))),
    );
    ours.dtls.start(Instant::now());
    assert!(
        ours.pump(Duration::from_secs(5), connected),
        "no handshake: {:?}",
        ours.events
    );
    assert_eq!(
        ours.events[0],
        DtlsEvent::Connected { suite },
        "{:?}",
        tool.seen
    );
    ours.dtls.send(b"hello from rust\n").unwrap();
    ours.pump(Duration::from_millis(100), |_| false);
    assert!(
        tool.saw("hello from rust", Duration::from_secs(3)),
        "s_server got no data: {:?}",
        tool.seen
    );
    tool.type_line("hello from openssl");
    ours.pump(Duration::from_secs(3), line_arrived);
    assert_eq!(
        String::from_utf8_lossy(&ours.data()),
        "hello from openssl\n"
    );
    (ours, tool)
}

#[test]
fn our_client_talks_to_openssl_s_server_with_chacha20_poly1305() {
    let (ours, tool) = our_client_against_s_server(CipherSuite::EcdhePskChacha20Poly1305, &[]);
    drop(tool);
    assert!(ours.closed().is_none());
}

#[test]
fn our_client_talks_to_openssl_s_server_with_aes128_cbc_sha256() {
    let (mut ours, mut tool) = our_client_against_s_server(CipherSuite::PskAes128CbcSha256, &[]);
    // close_notify reaches OpenSSL.
    ours.dtls.close(Instant::now());
    ours.pump(Duration::from_millis(100), |_| false);
    // s_server prints DONE when a close_notify ends the connection.
    let closed = tool.saw("DONE", Duration::from_secs(3));
    assert!(closed, "s_server did not see close_notify: {:?}", tool.seen);
}

fn our_server_against_s_client(suite: CipherSuite, our_mtu: usize, extra: &[&str]) -> (Ours, Tool) {
    let mut cfg = client_cfg(suite);
    cfg.mtu = our_mtu;
    our_configured_server_against_s_client(cfg, suite, extra)
}

fn our_configured_server_against_s_client(
    cfg: DtlsConfig,
    suite: CipherSuite,
    extra: &[&str],
) -> (Ours, Tool) {
    let mut ours = Ours::new(Dtls::server(cfg, [8; 32]), None);
    ours.dtls.start(Instant::now());
    let mut tool = s_client(suite, &Psk::from_enr(ENR), ours.port(), extra);
    assert!(
        ours.pump(Duration::from_secs(5), connected),
        "no handshake: {:?} {:?}",
        ours.events,
        tool.seen
    );
    assert_eq!(
        ours.events[0],
        DtlsEvent::Connected { suite },
        "{:?}",
        tool.seen
    );
    tool.type_line("hello from openssl");
    assert!(
        ours.pump(Duration::from_secs(3), line_arrived),
        "no data from s_client: {:?}",
        tool.seen
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.data()),
        "hello from openssl\n"
    );
    ours.dtls.send(b"hello from rust\n").unwrap();
    ours.pump(Duration::from_millis(50), |_| false);
    assert!(
        tool.saw("hello from rust", Duration::from_secs(3)),
        "s_client got no data: {:?}",
        tool.seen
    );
    (ours, tool)
}

#[test]
fn openssl_s_client_talks_to_our_server_with_chacha20_poly1305() {
    our_server_against_s_client(CipherSuite::EcdhePskChacha20Poly1305, 1200, &[]);
}

#[test]
fn openssl_s_client_talks_to_our_server_with_aes128_cbc_sha256() {
    our_server_against_s_client(CipherSuite::PskAes128CbcSha256, 1200, &[]);
}

/// The Wyze intercom back channel (`wyze.md` §1.3, §1.6): the camera dials
/// us and we are the DTLS server, with exactly the configuration the session
/// uses there (`proto::tutk::talk::dtls_config`): OpenSSL stands in for the
/// camera, offering only PSK-AES128-CBC-SHA256 with identity `AUTHPWD_admin`.
#[test]
fn openssl_as_the_camera_opens_the_intercom_back_channel_on_our_server() {
    let cfg = cam2mqtt::proto::tutk::talk::dtls_config(Psk::from_enr(ENR));
    assert_eq!(cfg.suites, [CipherSuite::PskAes128CbcSha256]);
    assert_eq!(cfg.identity, b"AUTHPWD_admin");
    let (mut ours, mut tool) =
        our_configured_server_against_s_client(cfg, CipherSuite::PskAes128CbcSha256, &[]);
    // The end of a playback: our close_notify ends OpenSSL's connection.
    ours.dtls.close(Instant::now());
    ours.pump(Duration::from_millis(100), |_| false);
    assert!(
        tool.saw("closed", Duration::from_secs(3)),
        "s_client did not see close_notify: {:?}",
        tool.seen
    );
}

/// OpenSSL's smallest link MTU is 256; a long SNI name makes its ClientHello
/// larger than that, so it arrives in fragments our reassembly puts together,
/// while our 100-byte fragments reach OpenSSL.
#[test]
fn small_mtus_fragment_both_ways_and_still_interoperate() {
    let name = format!("{}.example", "camera".repeat(40));
    let (ours, _tool) = our_server_against_s_client(
        CipherSuite::EcdhePskChacha20Poly1305,
        100,
        &["-mtu", "256", "-servername", &name],
    );
    let fragmented = ours
        .received
        .iter()
        .flat_map(|d| Record::split(d).0)
        .filter(|r| r.epoch == 0 && r.content_type == content::HANDSHAKE)
        .flat_map(|r| Fragment::decode_all(r.fragment).unwrap_or_default())
        .any(|f| f.body.len() < f.length);
    assert!(fragmented, "OpenSSL sent no handshake fragment");
}

#[test]
fn a_wrong_psk_fails_as_auth_failure_against_openssl_both_ways() {
    let wrong = Psk::from_enr(b"GkB9S7cX38GgzSC6");
    for suite in CipherSuite::ALL {
        // Our client, OpenSSL server with another key: OpenSSL silently drops our
        // Finished and resends its flight.
        let port = free_port();
        let _tool = s_server(suite, &wrong, port, &[]);
        let mut cfg = client_cfg(suite);
        cfg.handshake_timeout = Duration::from_millis(2000);
        let mut ours = Ours::new(
            Dtls::client(cfg, [9; 32]),
            Some(SocketAddr::from(([127, 0, 0, 1], port))),
        );
        ours.dtls.start(Instant::now());
        ours.pump(Duration::from_secs(4), |ev| {
            ev.iter().any(|e| matches!(e, DtlsEvent::Closed(_)))
        });
        let close = ours.closed().cloned();
        eprintln!("{suite}: our client vs s_server with another PSK: {close:?}");
        assert!(
            close.as_ref().is_some_and(DtlsClose::is_auth_failure),
            "{suite}: {close:?}"
        );

        // Our server, OpenSSL client with another key: its Finished fails to
        // authenticate here.
        let mut ours = Ours::new(Dtls::server(client_cfg(suite), [10; 32]), None);
        ours.dtls.start(Instant::now());
        let _tool = s_client(suite, &wrong, ours.port(), &[]);
        ours.pump(Duration::from_secs(4), |ev| {
            ev.iter().any(|e| matches!(e, DtlsEvent::Closed(_)))
        });
        assert_eq!(
            ours.closed(),
            Some(&DtlsClose::AuthFailed(AuthFailure::BadRecordMac)),
            "{suite}"
        );
    }
}
