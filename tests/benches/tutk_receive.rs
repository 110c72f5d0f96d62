//! Wyze/TUTK receive path without DTLS: TransCode throughput on 1200-byte
//! packets (Disco/session packets are scrambled whole; data packets only
//! bytes 0..64), the K10001 XXTEA answer, and media packets → frame
//! assembler for a 1080p-sized GOP, in MB/s of packet bytes.
//!
//! `cargo bench --bench tutk_receive`

use cam2mqtt::proto::tutk::frame::{codec, FrameAssembler, FrameInfo, MediaChannel, Piece};
use cam2mqtt::proto::tutk::iotc::{Data, Packet};
use cam2mqtt::proto::tutk::transcode::{self, TailPolicy};
use cam2mqtt::proto::tutk::xxtea;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A GOP of 10 frames (a 60 KB keyframe, nine 8 KB P-frames) in 1000-byte pieces.
fn gop() -> (Vec<Vec<u8>>, u64) {
    let mut out = Vec::new();
    let mut seq = 0u16;
    for f in 1..=10u32 {
        let key = f == 1;
        let len: usize = if key { 60_000 } else { 8_000 };
        let data: Vec<u8> = (0..len).map(|i| (i as u32 ^ f) as u8).collect();
        let total = len.div_ceil(1000) as u16;
        let info = FrameInfo {
            codec: codec::H264,
            flags: u8::from(key),
            payload_size: len as u32,
            frame_no: f,
            ..FrameInfo::default()
        };
        for (i, chunk) in data.chunks(1000).enumerate() {
            seq = seq.wrapping_add(1);
            out.push(
                Piece {
                    channel: if key {
                        MediaChannel::IVideo
                    } else {
                        MediaChannel::PVideo
                    },
                    frame_type: 0,
                    frame_no: f,
                    total,
                    index: i as u16,
                    data: chunk,
                    info: Some(info),
                }
                .encode(seq),
            );
        }
    }
    let bytes = out.iter().map(|p| p.len() as u64).sum();
    (out, bytes)
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("tutk");
    let block = vec![0x5Au8; 1200];
    g.throughput(Throughput::Bytes(1200));
    g.bench_function("transcode decode 1200 B (whole body)", |b| {
        b.iter(|| {
            let mut d = block.clone();
            transcode::decode(&mut d, TailPolicy::default());
            d
        })
    });
    let data = Packet::DataRx(Data {
        seq: 1,
        channel: 0,
        sid: [1; 8],
        payload: vec![0x17; 1172],
    })
    .encode(TailPolicy::default());
    g.bench_function("data packet decode 1200 B (bytes 0..64 scrambled)", |b| {
        b.iter(|| Packet::decode(&data, TailPolicy::default()).expect("decodes"))
    });
    g.throughput(Throughput::Bytes(16));
    g.bench_function("xxtea decrypt 16 B (K10001 answer)", |b| {
        b.iter(|| xxtea::decrypt16(std::hint::black_box([7u8; 16]), b"FFFFFFFFFFFFFFFF"))
    });
    let (packets, bytes) = gop();
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("media packets to frames (10-frame GOP)", |b| {
        b.iter(|| {
            let mut a = FrameAssembler::new();
            let mut n = 0;
            for p in &packets {
                a.push(p).expect("valid packet");
                while a.pull().is_some() {
                    n += 1;
                }
            }
            assert_eq!(n, 10);
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
