//! The PPPP MJPEG assembler fed arbitrary payloads and gaps: never panics and
//! only ever emits whole JPEGs (SOI … EOI) within its size limit.
#![no_main]

use arbitrary::Arbitrary;
use cam2mqtt::proto::pppp::media::{MediaItem, MjpegAssembler};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Push(Vec<u8>),
    Gap,
}

fuzz_target!(|ops: Vec<Op>| {
    let mut a = MjpegAssembler::new(64 * 1024, |_| true);
    for op in ops.into_iter().take(500) {
        match op {
            Op::Push(p) => a.push(&p),
            Op::Gap => a.gap(),
        }
        while let Some(item) = a.pull() {
            if let Ok(MediaItem::Jpeg(j)) = item {
                assert!(j.starts_with(&[0xFF, 0xD8]), "starts with SOI");
                assert!(j.len() <= 64 * 1024, "bounded");
            }
        }
    }
});
