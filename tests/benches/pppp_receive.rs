//! PPPP receive path: XOR de-obfuscation throughput, and datagrams →
//! de-obfuscation → wire decode → reliable DRW channel → MJPEG assembler →
//! JPEG frames, in MB/s of datagram bytes.
//!
//! `cargo bench --bench pppp_receive`

// A bench needs a base instant; it never feeds a protocol core a real clock otherwise.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

use cam2mqtt::proto::pppp::drw::{Delivered, DrwChannel, DrwConfig};
use cam2mqtt::proto::pppp::media::{frame_type, FrameHeader, MediaItem, MjpegAssembler};
use cam2mqtt::proto::pppp::obfuscate::{Key, Obfuscation};
use cam2mqtt::proto::pppp::wire::{Message, MAX_DRW_DATA};
use cam2mqtt::sim::pattern::{render_jpeg, PatternSpec};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Ten 640x480 frames as a JSON camera sends them: 32-byte header + JPEG,
/// cut into 1024-byte DRW payloads on channel 1, obfuscated with "camera".
fn datagrams(obf: Obfuscation) -> (Vec<Vec<u8>>, u64) {
    let spec = PatternSpec::default();
    let mut out = Vec::new();
    let mut bytes = 0u64;
    let mut index = 0u16;
    for f in 0..10u64 {
        let jpeg = render_jpeg(&spec, "bench", f);
        let mut stream = FrameHeader::new(frame_type::JPEG, jpeg.len() as u32)
            .to_bytes()
            .to_vec();
        stream.extend_from_slice(&jpeg);
        for chunk in stream.chunks(MAX_DRW_DATA) {
            let mut d = Message::Drw {
                channel: 1,
                index,
                data: chunk,
            }
            .to_vec();
            obf.seal(&mut d);
            bytes += d.len() as u64;
            out.push(d);
            index = index.wrapping_add(1);
        }
    }
    (out, bytes)
}

fn bench(c: &mut Criterion) {
    let obf = Obfuscation::Xor(Key::from_psk("camera"));
    let (dgrams, bytes) = datagrams(obf);
    let mut g = c.benchmark_group("pppp_receive");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("decrypt_10_frames_640x480", |b| {
        b.iter(|| {
            for d in &dgrams {
                let mut p = d.clone();
                obf.open(&mut p);
                std::hint::black_box(&p);
            }
        })
    });
    g.bench_function("decrypt_drw_jpeg_10_frames_640x480", |b| {
        b.iter(|| {
            let now = Instant::now();
            let mut cfg = DrwConfig::media();
            cfg.recv.first_index = Some(0);
            let mut ch = DrwChannel::new(1, cfg);
            let mut media = MjpegAssembler::new(1 << 20, |_| true);
            let mut frames = 0;
            for d in &dgrams {
                let mut p = d.clone();
                obf.open(&mut p);
                let m = Message::decode(&p).expect("valid");
                ch.handle_message(now, &m);
                while let Some(Delivered::Data { data, .. }) = ch.recv.poll_delivered() {
                    media.push(&data);
                    while let Some(item) = media.pull() {
                        frames += usize::from(matches!(item, Ok(MediaItem::Jpeg(_))));
                    }
                }
                while ch.poll_datagram().is_some() {}
            }
            assert_eq!(frames, 10);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
