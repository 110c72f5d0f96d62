//! Behaviour of two endpoints joined by a seeded lossy, reordering link in
//! virtual time (each step handles the earliest deadline or due datagram, as
//! `tests/support/pair.rs` does for sessions), plus the PSK vectors.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::sim::netem::{Netem, NetemConfig};

fn hex(s: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(s.as_bytes()).unwrap()
}

/// `wyze.md` §5.3 (from go2rtc's doc history, hash verified): SHA-256 of
/// this ENR has a NUL at index 11, so the PSK keeps 11 bytes and 21 zeros.
#[test]
fn wyze_psk_zeroes_everything_after_the_first_nul() {
    let full: [u8; 32] = Sha256::digest(b"GkB9S7cX38GgzSC6").into();
    assert_eq!(&full[..12], &hex("16549c533b4e9812808f9100")[..]);
    assert_ne!(full[12..], [0; 20]);
    let psk = wyze_psk(b"GkB9S7cX38GgzSC6");
    assert_eq!(&psk[..11], &hex("16549c533b4e9812808f91")[..]);
    assert_eq!(psk[11..], [0; 21]);
}

/// `wyze.md` §1.3: ENR `aKzdqckqZ8HUHFe5` hashes without a NUL, so the PSK is
/// the plain SHA-256.
#[test]
fn wyze_psk_is_the_plain_hash_without_a_nul() {
    let full: [u8; 32] = Sha256::digest(b"aKzdqckqZ8HUHFe5").into();
    assert!(!full.contains(&0));
    assert_eq!(wyze_psk(b"aKzdqckqZ8HUHFe5"), full);
}

#[test]
fn the_psk_never_shows_in_debug_output() {
    let cfg = DtlsConfig::new(Psk::new([0xAB; 32]));
    let shown = format!("{cfg:?} {:?}", Dtls::client(cfg.clone(), [1; 32]));
    assert!(
        !shown.to_lowercase().contains("abab") && !shown.contains("171, 171"),
        "{shown}"
    );
    assert!(shown.contains(crate::secret::REDACTED));
}

fn cfg(suites: &[CipherSuite]) -> DtlsConfig {
    let mut c = DtlsConfig::new(Psk::from_enr(b"aKzdqckqZ8HUHFe5"));
    c.suites = suites.to_vec();
    c
}

fn lossy(loss: f64, seed: u64) -> NetemConfig {
    NetemConfig {
        loss,
        reorder: 0.1,
        duplicate: 0.05,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(3),
        ..NetemConfig::perfect(seed)
    }
}

/// Client + server + two links + virtual clock.
struct Pair {
    c: Dtls,
    s: Dtls,
    now: Instant,
    up: Netem<Vec<u8>>,
    down: Netem<Vec<u8>>,
    c_events: Vec<DtlsEvent>,
    s_events: Vec<DtlsEvent>,
    /// Largest datagram either side sent.
    largest: usize,
}

impl Pair {
    fn new(c: DtlsConfig, s: DtlsConfig, up: NetemConfig, down: NetemConfig) -> Self {
        let now = crate::proto::testing::t0();
        let mut p = Self {
            c: Dtls::client(c, [1; 32]),
            s: Dtls::server(s, [2; 32]),
            now,
            up: Netem::new(up),
            down: Netem::new(down),
            c_events: Vec::new(),
            s_events: Vec::new(),
            largest: 0,
        };
        p.s.start(now);
        p.c.start(now);
        p
    }

    fn drain(&mut self) {
        while let Some(d) = self.c.poll_transmit() {
            self.largest = self.largest.max(d.len());
            self.up.push(self.now, d);
        }
        while let Some(d) = self.s.poll_transmit() {
            self.largest = self.largest.max(d.len());
            self.down.push(self.now, d);
        }
        while let Some(e) = self.c.poll_event() {
            self.c_events.push(e);
        }
        while let Some(e) = self.s.poll_event() {
            self.s_events.push(e);
        }
    }

    /// Steps until `done` holds or nothing is left before `limit`.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Self) -> bool) {
        let end = self.now + limit;
        loop {
            self.drain();
            if done(self) {
                return;
            }
            let next = [
                self.c.poll_timeout(),
                self.s.poll_timeout(),
                self.up.poll_timeout(),
                self.down.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|n| *n <= end) else {
                return;
            };
            self.now = self.now.max(next);
            while let Some(d) = self.up.poll_output(self.now) {
                self.s.handle_datagram(self.now, &d);
            }
            while let Some(d) = self.down.poll_output(self.now) {
                self.c.handle_datagram(self.now, &d);
            }
            if self.c.poll_timeout().is_some_and(|t| t <= self.now) {
                self.c.handle_timeout(self.now);
            }
            if self.s.poll_timeout().is_some_and(|t| t <= self.now) {
                self.s.handle_timeout(self.now);
            }
        }
    }

    fn both_connected(&self) -> bool {
        self.c.suite().is_some() && self.s.suite().is_some()
    }

    fn data(events: &[DtlsEvent]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| {
                if let DtlsEvent::Data(d) = e {
                    Some(d.clone())
                } else {
                    None
                }
            })
            .collect()
    }

    fn closes(events: &[DtlsEvent]) -> Vec<DtlsClose> {
        events
            .iter()
            .filter_map(|e| {
                if let DtlsEvent::Closed(c) = e {
                    Some(c.clone())
                } else {
                    None
                }
            })
            .collect()
    }
}

#[test]
fn handshake_and_data_both_ways_on_a_clean_link_for_both_suites() {
    for suite in CipherSuite::ALL {
        let mut p = Pair::new(
            cfg(&[suite]),
            cfg(&CipherSuite::ALL),
            NetemConfig::perfect(1),
            NetemConfig::perfect(2),
        );
        p.run_until(Duration::from_secs(1), Pair::both_connected);
        assert_eq!(p.c_events, vec![DtlsEvent::Connected { suite }]);
        assert_eq!(p.s_events, vec![DtlsEvent::Connected { suite }]);
        p.c.send(b"K10000 hello").unwrap();
        p.s.send(b"K10001 challenge").unwrap();
        p.run_until(Duration::from_secs(1), |p| {
            Pair::data(&p.s_events).len() == 1 && Pair::data(&p.c_events).len() == 1
        });
        assert_eq!(Pair::data(&p.s_events), vec![b"K10000 hello".to_vec()]);
        assert_eq!(Pair::data(&p.c_events), vec![b"K10001 challenge".to_vec()]);
        assert_eq!(p.c.stats().retransmits, 0, "{suite}: no loss, no resend");
        // close_notify both ways.
        p.c.close(p.now);
        p.run_until(Duration::from_secs(1), |p| p.s.is_closed());
        assert_eq!(Pair::closes(&p.c_events), vec![DtlsClose::LocalClosed]);
        assert_eq!(Pair::closes(&p.s_events), vec![DtlsClose::PeerClosed]);
        assert_eq!(p.c.send(b"x"), Err(DtlsError::Closed));
    }
}

#[test]
fn client_prefers_its_first_suite_the_server_accepts() {
    let mut p = Pair::new(
        cfg(&CipherSuite::ALL),
        cfg(&CipherSuite::ALL),
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_until(Duration::from_secs(1), Pair::both_connected);
    assert_eq!(p.c.suite(), Some(CipherSuite::EcdhePskChacha20Poly1305));
    let mut p = Pair::new(
        cfg(&CipherSuite::ALL),
        cfg(&[CipherSuite::PskAes128CbcSha256]),
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_until(Duration::from_secs(1), Pair::both_connected);
    assert_eq!(p.c.suite(), Some(CipherSuite::PskAes128CbcSha256));
}

#[test]
fn handshake_completes_under_20_percent_loss_with_reordering_and_duplicates() {
    for suite in CipherSuite::ALL {
        for seed in 0..12u64 {
            let mut c = cfg(&[suite]);
            c.handshake_timeout = Duration::from_secs(60);
            let mut s = c.clone();
            s.cookie_exchange = seed % 2 == 0;
            let mut p = Pair::new(c, s, lossy(0.2, seed), lossy(0.2, seed + 100));
            p.run_until(Duration::from_secs(60), Pair::both_connected);
            assert!(
                p.both_connected(),
                "{suite} seed {seed}: {:?} {:?}",
                p.c_events,
                p.s_events
            );
            // Data still arrives once connected (resend until one gets through).
            for _ in 0..20 {
                p.c.send(b"ping").unwrap();
                p.run_until(Duration::from_millis(50), |p| {
                    !Pair::data(&p.s_events).is_empty()
                });
            }
            assert!(Pair::data(&p.s_events).iter().all(|d| d == b"ping"));
            assert!(!Pair::data(&p.s_events).is_empty(), "{suite} seed {seed}");
            assert!(Pair::closes(&p.c_events).is_empty() && Pair::closes(&p.s_events).is_empty());
        }
    }
}

#[test]
fn tiny_mtu_fragments_every_flight_and_it_still_completes() {
    for suite in CipherSuite::ALL {
        let mut c = cfg(&[suite]);
        c.mtu = 100;
        let s = c.clone();
        let mut p = Pair::new(c, s, lossy(0.0, 5), lossy(0.0, 6));
        p.run_until(Duration::from_secs(2), Pair::both_connected);
        assert!(p.both_connected(), "{suite}");
        assert!(p.largest <= 100, "{suite}: sent {} bytes", p.largest);
        let max = p.c.max_send().unwrap();
        assert!(p.c.send(&vec![7; max]).is_ok());
        assert!(matches!(
            p.c.send(&vec![7; max + 1]),
            Err(DtlsError::TooLarge { .. })
        ));
    }
}

#[test]
fn wrong_psk_fails_cleanly_on_both_sides_as_an_auth_failure() {
    for suite in CipherSuite::ALL {
        let c = cfg(&[suite]);
        let mut s = c.clone();
        s.psk = Psk::from_enr(b"GkB9S7cX38GgzSC6");
        let mut p = Pair::new(c, s, NetemConfig::perfect(1), NetemConfig::perfect(2));
        p.run_until(Duration::from_secs(10), |p| {
            p.c.is_closed() && p.s.is_closed()
        });
        let (cc, sc) = (Pair::closes(&p.c_events), Pair::closes(&p.s_events));
        assert_eq!(
            sc,
            vec![DtlsClose::AuthFailed(AuthFailure::BadRecordMac)],
            "{suite}"
        );
        assert_eq!(
            cc,
            vec![DtlsClose::AuthFailed(AuthFailure::PeerRejected(
                alert::BAD_RECORD_MAC
            ))],
            "{suite}"
        );
        assert!(cc[0].is_auth_failure() && cc[0].to_string().contains("wrong PSK"));
    }
}

#[test]
fn wrong_identity_is_rejected_by_the_server() {
    let mut c = cfg(&CipherSuite::ALL);
    c.identity = b"intruder".to_vec();
    let mut p = Pair::new(
        c,
        cfg(&CipherSuite::ALL),
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_until(Duration::from_secs(10), |p| {
        p.c.is_closed() && p.s.is_closed()
    });
    assert_eq!(
        Pair::closes(&p.s_events),
        vec![DtlsClose::AuthFailed(AuthFailure::UnknownIdentity(
            "intruder".into()
        ))]
    );
    assert!(Pair::closes(&p.c_events)[0].is_auth_failure());
}

#[test]
fn no_common_suite_fails_with_handshake_failure() {
    let mut p = Pair::new(
        cfg(&[CipherSuite::EcdhePskChacha20Poly1305]),
        cfg(&[CipherSuite::PskAes128CbcSha256]),
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_until(Duration::from_secs(10), |p| {
        p.c.is_closed() && p.s.is_closed()
    });
    assert!(matches!(
        Pair::closes(&p.s_events)[..],
        [DtlsClose::Handshake(HandshakeError::NoCommonSuite(_))]
    ));
    assert_eq!(
        Pair::closes(&p.c_events),
        vec![DtlsClose::PeerAlert(alert::HANDSHAKE_FAILURE)]
    );
}

#[test]
fn a_silent_peer_times_out_after_the_deadline_with_backoff() {
    let t0 = crate::proto::testing::t0();
    let mut c = Dtls::client(cfg(&CipherSuite::ALL), [3; 32]);
    c.start(t0);
    let mut sent = vec![t0];
    assert!(c.poll_transmit().is_some());
    while let Some(t) = c.poll_timeout() {
        c.handle_timeout(t);
        if c.poll_transmit().is_some() {
            sent.push(t);
        }
    }
    let gaps: Vec<u128> = sent.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
    assert_eq!(gaps, vec![300, 600, 1200, 2400]);
    let ev: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(
            ev[..],
            [DtlsEvent::Closed(DtlsClose::HandshakeTimeout { .. })]
        ),
        "{ev:?}"
    );
    assert_eq!(c.send(b"late"), Err(DtlsError::Closed));
}

#[test]
fn send_before_the_handshake_is_refused() {
    let mut c = Dtls::client(cfg(&CipherSuite::ALL), [3; 32]);
    assert_eq!(c.send(b"early"), Err(DtlsError::NotConnected));
}

#[test]
fn replayed_and_tampered_records_are_dropped_and_counted_not_fatal() {
    let mut p = Pair::new(
        cfg(&CipherSuite::ALL),
        cfg(&CipherSuite::ALL),
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_until(Duration::from_secs(1), Pair::both_connected);
    p.c.send(b"once").unwrap();
    let rec = p.c.poll_transmit().unwrap();
    p.s.handle_datagram(p.now, &rec);
    p.s.handle_datagram(p.now, &rec);
    p.c.send(b"twice").unwrap();
    let mut bad = p.c.poll_transmit().unwrap();
    *bad.last_mut().unwrap() ^= 1;
    p.s.handle_datagram(p.now, &bad);
    let mut stale = rec.clone();
    stale[4] = 7;
    p.s.handle_datagram(p.now, &stale);
    p.drain();
    assert_eq!(Pair::data(&p.s_events), vec![b"once".to_vec()]);
    let st = p.s.stats();
    assert_eq!(
        (
            st.records_replayed,
            st.records_bad_auth,
            st.records_stale_epoch
        ),
        (1, 1, 1)
    );
    assert!(!p.s.is_closed());
}

#[test]
fn several_records_in_one_datagram_are_all_delivered() {
    let mut p = Pair::new(
        cfg(&CipherSuite::ALL),
        cfg(&CipherSuite::ALL),
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_until(Duration::from_secs(1), Pair::both_connected);
    let mut joined = Vec::new();
    for m in [&b"one"[..], b"two", b"three"] {
        p.c.send(m).unwrap();
        joined.extend(p.c.poll_transmit().unwrap());
    }
    p.s.handle_datagram(p.now, &joined);
    p.drain();
    assert_eq!(
        Pair::data(&p.s_events),
        vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
}

#[test]
fn a_lost_final_flight_is_resent_when_the_client_resends_its_own() {
    let mut p = Pair::new(
        cfg(&CipherSuite::ALL),
        cfg(&CipherSuite::ALL),
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_until(Duration::from_secs(1), |p| p.s.suite().is_some());
    // Drop the server's CCS + Finished.
    while p.s.poll_transmit().is_some() {}
    while p.down.poll_output(p.now + Duration::from_secs(1)).is_some() {}
    p.run_until(Duration::from_secs(2), Pair::both_connected);
    assert!(p.both_connected());
    assert!(p.s.stats().retransmits >= 1 && p.c.stats().retransmits >= 1);
}

/// Hostile datagrams at every stage never panic and `Closed` comes at most once.
fn hostile(datagrams: &[Vec<u8>], server: bool) {
    let t0 = crate::proto::testing::t0();
    let mut e = if server {
        Dtls::server(cfg(&CipherSuite::ALL), [4; 32])
    } else {
        Dtls::client(cfg(&CipherSuite::ALL), [4; 32])
    };
    e.start(t0);
    let mut closed = 0;
    for (i, d) in datagrams.iter().enumerate() {
        let now = t0 + Duration::from_millis(100 * i as u64);
        e.handle_datagram(now, d);
        e.handle_timeout(now);
        let _ = e.send(b"x");
        while e.poll_transmit().is_some() {}
        while let Some(ev) = e.poll_event() {
            closed += usize::from(matches!(ev, DtlsEvent::Closed(_)));
        }
    }
    assert!(closed <= 1);
}

fn record_like() -> impl Strategy<Value = Vec<u8>> {
    (
        20u8..=23,
        0u16..3,
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(ct, epoch, seq, body)| {
            let mut hs = vec![
                body.first().copied().unwrap_or(1) % 21,
                0,
                0,
                body.len() as u8,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                body.len() as u8,
            ];
            hs.extend_from_slice(&body);
            let mut out = Vec::new();
            record::encode(
                &mut out,
                ct,
                epoch,
                u64::from(seq),
                if ct == 22 { &hs } else { &body },
            );
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn hostile_bytes_never_panic(
        raw in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 1..6),
        framed in prop::collection::vec(record_like(), 1..8),
        server in any::<bool>(),
    ) {
        hostile(&raw, server);
        hostile(&framed, server);
    }
}
