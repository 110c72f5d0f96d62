//! Hostile datagrams into a DTLS client and server at every stage of a real
//! handshake between them: input `[stage u8][len u8][datagram]…`; the two
//! endpoints exchange their datagrams in memory and, before the `stage`-th
//! delivery (or once connected), every fuzzed datagram goes to both.
//!
//! Must never panic; `Closed` comes at most once per endpoint and
//! `is_closed()` agrees with it; the drain contract is followed.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

fuzz_target!(|data: &[u8]| {
    let Some((&stage, mut rest)) = data.split_first() else { return };
    let mut hostile = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        hostile.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    let mut cfg = DtlsConfig::new(Psk::from_enr(b"aKzdqckqZ8HUHFe5"));
    cfg.cookie_exchange = stage & 0x80 != 0;
    cfg.mtu = if stage & 0x40 != 0 { 100 } else { 1200 };
    let mut c = Dtls::client(cfg.clone(), [1; 32]);
    let mut s = Dtls::server(cfg, [2; 32]);
    let (mut cc, mut sc) = (0, 0);
    let mut now = base();
    c.start(now);
    s.start(now);
    let mut to_s = Vec::new();
    let mut to_c = Vec::new();
    let mut deliveries = 0u8;
    for _ in 0..64 {
        drain(&mut c, &mut to_s, &mut cc);
        drain(&mut s, &mut to_c, &mut sc);
        if deliveries == stage & 0x0f || (to_s.is_empty() && to_c.is_empty()) {
            for h in &hostile {
                c.handle_datagram(now, h);
                drain(&mut c, &mut Vec::new(), &mut cc);
                s.handle_datagram(now, h);
                drain(&mut s, &mut Vec::new(), &mut sc);
            }
            let _ = c.send(b"data");
            let _ = s.send(b"data");
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
