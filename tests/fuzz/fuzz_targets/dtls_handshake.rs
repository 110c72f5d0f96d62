//! Hostile handshake fragments in well-framed plaintext records, into a DTLS
//! client and server at every stage of a real handshake between them. Input:
//! `[stage u8]` then fragments `[type u8][seq u8][offset u8][declared len u8][n u8][body n]…`,
//! each sent as an epoch-0 handshake record with a fresh record number, so
//! they pass the record layer and reach the reassembler and message codecs.
//!
//! Must never panic; `Closed` comes at most once per endpoint and
//! `is_closed()` agrees with it.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cam2mqtt::proto::tutk::dtls::record::{self, content};
use cam2mqtt::proto::tutk::dtls::{Dtls, DtlsConfig, DtlsEvent, Psk};
use libfuzzer_sys::fuzz_target;

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    // A clock origin for the fuzz process; the endpoints only ever get it as an argument.
    #[allow(clippy::disallowed_methods)]
    *BASE.get_or_init(Instant::now)
}

fn drain(e: &mut Dtls, out: &mut Vec<Vec<u8>>, closed: &mut u32) {
    while let Some(d) = e.poll_transmit() {
        out.push(d);
    }
    while let Some(ev) = e.poll_event() {
        if matches!(ev, DtlsEvent::Closed(_)) {
            *closed += 1;
        }
    }
    assert!(*closed <= 1, "Closed reported twice");
    assert_eq!(e.is_closed(), *closed == 1);
}

fn hostile_records(mut rest: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut seq = 1_000u64;
    while let [t, s, off, len, n, tail @ ..] = rest {
        let n = usize::from(*n).min(tail.len());
        let body = &tail[..n];
        let mut hs = vec![*t, 0, 0, *len, 0, *s, 0, 0, *off, 0, 0, n as u8];
        hs.extend_from_slice(body);
        let mut rec = Vec::new();
        record::encode(&mut rec, content::HANDSHAKE, 0, seq, &hs);
        seq += 1;
        out.push(rec);
        rest = &tail[n..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&stage, rest)) = data.split_first() else { return };
    let hostile = hostile_records(rest);
    let mut cfg = DtlsConfig::new(Psk::from_enr(b"aKzdqckqZ8HUHFe5"));
    cfg.cookie_exchange = stage & 0x80 != 0;
    let mut c = Dtls::client(cfg.clone(), [1; 32]);
    let mut s = Dtls::server(cfg, [2; 32]);
    let (mut cc, mut sc) = (0, 0);
    let mut now = base();
    c.start(now);
    s.start(now);
    let (mut to_s, mut to_c) = (Vec::new(), Vec::new());
    let mut deliveries = 0u8;
    for _ in 0..64 {
        drain(&mut c, &mut to_s, &mut cc);
        drain(&mut s, &mut to_c, &mut sc);
        if deliveries == stage & 0x0f {
            // All in one datagram, then one per datagram.
            let joined: Vec<u8> = hostile.concat();
            for e in [&mut c, &mut s] {
                e.handle_datagram(now, &joined);
                for h in &hostile {
                    e.handle_datagram(now, h);
                }
            }
            drain(&mut c, &mut Vec::new(), &mut cc);
            drain(&mut s, &mut Vec::new(), &mut sc);
        }
        if to_s.is_empty() && to_c.is_empty() {
            now += Duration::from_millis(400);
            c.handle_timeout(now);
            s.handle_timeout(now);
            if c.is_closed() && s.is_closed() {
                break;
            }
            continue;
        }
        deliveries = deliveries.wrapping_add(1);
        for d in std::mem::take(&mut to_s) {
            s.handle_datagram(now, &d);
        }
        for d in std::mem::take(&mut to_c) {
            c.handle_datagram(now, &d);
        }
    }
});
