//! Receive-path throughput for A9 demo mode: datagrams → `DemoSession` →
//! verified JPEG events, and the frame assembler alone, in MB/s of payload.
//!
//! `cargo bench --bench demo_receive`

// A bench needs a base instant; it never feeds a protocol core a real clock otherwise.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::time::Instant;

use cam2mqtt::proto::demo::assembler::{FrameAssembler, FrameCheck};
use cam2mqtt::proto::demo::wire::{VideoDatagram, VideoHeader, HEADER_LEN, MAX_DATAGRAM};
use cam2mqtt::proto::demo::{DemoConfig, DemoSession};
use cam2mqtt::proto::{Datagram, Session, SocketIx};
use cam2mqtt::sim::pattern::{render_jpeg, PatternSpec};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Ten 640x480 test-pattern frames cut into camera-sized datagrams.
fn datagrams() -> (Vec<Vec<u8>>, u64) {
    let spec = PatternSpec::default();
    let mut out = Vec::new();
    let mut bytes = 0u64;
    for f in 0..10u64 {
        let jpeg = render_jpeg(&spec, "bench", f);
        bytes += jpeg.len() as u64;
        let chunks: Vec<&[u8]> = jpeg.chunks(MAX_DATAGRAM - HEADER_LEN).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let header = VideoHeader::new(f as u8, (i + 1) as u8, i + 1 == chunks.len());
            let mut d = Vec::new();
            VideoDatagram {
                header,
                payload: chunk,
            }
            .encode(&mut d);
            out.push(d);
        }
    }
    (out, bytes)
}

fn bench(c: &mut Criterion) {
    let (dgrams, bytes) = datagrams();
    let video: SocketAddr = "127.0.0.2:8080".parse().unwrap();
    let mut g = c.benchmark_group("demo_receive");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("session_10_frames_640x480", |b| {
        b.iter(|| {
            let now = Instant::now();
            let mut s = DemoSession::new(DemoConfig::new(
                video,
                "127.0.0.2:8070".parse().unwrap(),
                "127.0.0.2:8090".parse().unwrap(),
                cam2mqtt::media::jpeg::decodes,
            ));
            s.start(now);
            let mut frames = 0;
            for d in &dgrams {
                let _ = s.handle_datagram(
                    now,
                    Datagram {
                        socket: SocketIx(0),
                        from: video,
                        payload: d,
                    },
                );
                while let Some(ev) = s.poll_event() {
                    frames += usize::from(matches!(ev, cam2mqtt::proto::SessionEvent::Media(_)));
                }
                while s.poll_transmit().is_some() {}
            }
            assert_eq!(frames, 10);
        })
    });
    for policy in [FrameCheck::Header, FrameCheck::Markers] {
        g.bench_function(format!("assembler_{policy}"), |b| {
            b.iter(|| {
                let mut a = FrameAssembler::new(policy, 1 << 20, cam2mqtt::media::jpeg::decodes);
                let mut ok = 0;
                for d in &dgrams {
                    a.push(&VideoDatagram::decode(d).unwrap());
                    while let Some(r) = a.pull() {
                        ok += usize::from(r.is_ok());
                    }
                }
                assert_eq!(ok, 10);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
