//! The demo-mode `FrameAssembler` under both `FrameCheck` policies.
//!
//! Input: a sequence of datagrams, each `[len u8][len bytes]` (a short last
//! chunk takes whatever is left). Each chunk goes through
//! `VideoDatagram::decode` and, if it parses, into both assemblers, whose
//! `pull()` is drained after every push. Every frame delivered as `Ok` must be
//! a JPEG (`FF D8` … `FF D9`) of at most `MAX_FRAME` bytes.
#![no_main]

use cam2mqtt::proto::demo::assembler::FrameAssembler;
use cam2mqtt::proto::demo::wire::{VideoDatagram, EOI, SOI};
use cam2mqtt::proto::demo::FrameCheck;
use libfuzzer_sys::fuzz_target;

const MAX_FRAME: usize = 64 * 1024;

fn drain(a: &mut FrameAssembler, policy: FrameCheck) {
    while let Some(result) = a.pull() {
        if let Ok(frame) = result {
            assert!(
                frame.starts_with(&SOI),
                "{policy}: frame does not start with FF D8"
            );
            assert!(
                frame.ends_with(&EOI),
                "{policy}: frame does not end with FF D9"
            );
            assert!(
                frame.len() <= MAX_FRAME,
                "{policy}: frame of {} bytes",
                frame.len()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut header = FrameAssembler::new(
        FrameCheck::Header,
        MAX_FRAME,
        cam2mqtt::media::jpeg::decodes,
    );
    let mut markers = FrameAssembler::new(
        FrameCheck::Markers,
        MAX_FRAME,
        cam2mqtt::media::jpeg::decodes,
    );
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (chunk, next) = tail.split_at(usize::from(len).min(tail.len()));
        rest = next;
        let Ok(dgram) = VideoDatagram::decode(chunk) else {
            continue;
        };
        header.push(&dgram);
        drain(&mut header, FrameCheck::Header);
        markers.push(&dgram);
        drain(&mut markers, FrameCheck::Markers);
    }
});
