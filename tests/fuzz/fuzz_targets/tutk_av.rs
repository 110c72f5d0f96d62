//! What a Wyze camera sends inside DTLS: AV login answers, IOCTRL/HL blocks,
//! K-command payloads (K10001, K10003 JSON, resolutions) and media packets
//! into the frame assembler. Never panics; every delivered video frame is
//! decodable from what came before it (a keyframe, or the next frame number
//! after the last delivered one), and its size matches its FRAMEINFO.
#![no_main]

use cam2mqtt::proto::tutk::av::{Ack, Hl, Ioctrl, Login, LoginReply};
use cam2mqtt::proto::tutk::frame::{AvEvent, FrameAssembler};
use cam2mqtt::proto::tutk::kcmd;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = LoginReply::decode(data);
    let _ = Login::decode(data);
    let _ = Ack::decode(data);
    if let Ok(f) = Ioctrl::decode(data) {
        let _ = kcmd::parse_challenge(&f.hl.payload);
        let _ = kcmd::parse_auth_result(&f.hl.payload);
        let _ = kcmd::parse_resolution(f.hl.command, &f.hl.payload);
        assert_eq!(Hl::decode(&f.hl.encode()).expect("an encoded HL decodes"), f.hl);
    }
    let mut a = FrameAssembler::new();
    let mut last: Option<u32> = None;
    for packet in data.split(|&b| b == 0xFE).take(64) {
        let _ = a.push(packet);
        while let Some(e) = a.pull() {
            match e {
                AvEvent::Video { frame_no, keyframe, info, data, .. } => {
                    assert!(keyframe || last == Some(frame_no.wrapping_sub(1)), "undecodable frame");
                    assert_eq!(data.len(), info.payload_size as usize);
                    last = Some(frame_no);
                }
                AvEvent::VideoLost { .. } | AvEvent::Audio { .. } => {}
            }
        }
    }
});
