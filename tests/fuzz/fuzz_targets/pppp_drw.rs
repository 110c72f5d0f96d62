//! The reliable DRW receive side fed arbitrary (index, data, time) sequences:
//! never panics, keeps its bounds, and delivers a contiguous stream (data and
//! gaps, no index twice).
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use cam2mqtt::proto::pppp::drw::{Delivered, RecvChannel, RecvConfig};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Drw { index: u16, len: u8, byte: u8 },
    Advance { ms: u16 },
}

fuzz_target!(|ops: Vec<Op>| {
    let t0 = Instant::now();
    let mut now = t0;
    let cfg = RecvConfig {
        window: 32,
        max_bytes: 4096,
        ..RecvConfig::default()
    };
    let mut ch = RecvChannel::new(cfg);
    let mut next: Option<u16> = None;
    for op in ops.into_iter().take(2000) {
        match op {
            Op::Drw { index, len, byte } => {
                let data = vec![byte; usize::from(len)];
                let _ = ch.handle_drw(now, index, &data);
            }
            Op::Advance { ms } => {
                now += Duration::from_millis(u64::from(ms));
                ch.handle_timeout(now);
            }
        }
        while let Some(d) = ch.poll_delivered() {
            let (from, to) = match d {
                Delivered::Data { index, .. } => (index, index),
                Delivered::Gap { from, to } => (from, to),
            };
            if let Some(n) = next {
                assert_eq!(from, n, "contiguous delivery");
            }
            next = Some(to.wrapping_add(1));
        }
        while ch.poll_ack().is_some() {}
        let (packets, bytes) = ch.buffered();
        assert!(packets <= 32 && bytes <= 4096 + 255);
    }
});
