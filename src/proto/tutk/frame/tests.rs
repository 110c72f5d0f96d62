use super::*;

fn info(frame_no: u32, keyframe: bool, size: usize) -> FrameInfo {
    FrameInfo {
        codec: codec::H264,
        flags: u8::from(keyframe),
        fps: 20,
        frame_size: 1,
        bitrate: 60,
        timestamp_us: 0,
        timestamp_s: 1_700_000_000u32.wrapping_add(frame_no),
        payload_size: size as u32,
        frame_no,
    }
}

/// The packets of one frame of `len` bytes cut into `pieces`.
fn frame(frame_no: u32, keyframe: bool, len: usize, pieces: u16) -> Vec<Vec<u8>> {
    let data: Vec<u8> = (0..len).map(|i| (i as u32 ^ frame_no) as u8).collect();
    let chunk = len.div_ceil(usize::from(pieces));
    let channel = if keyframe {
        MediaChannel::IVideo
    } else {
        MediaChannel::PVideo
    };
    (0..pieces)
        .map(|i| {
            let from = (usize::from(i) * chunk).min(len);
            let to = (from + chunk).min(len);
            Piece {
                channel,
                frame_type: 0,
                frame_no,
                total: pieces,
                index: i,
                data: &data[from..to],
                info: Some(info(frame_no, keyframe, len)),
            }
            .encode(i)
        })
        .collect()
}

fn drain(a: &mut FrameAssembler) -> Vec<AvEvent> {
    std::iter::from_fn(|| a.pull()).collect()
}

fn frames(events: &[AvEvent]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            AvEvent::Video { frame_no, .. } => Some(*frame_no),
            _ => None,
        })
        .collect()
}

#[test]
fn pieces_use_the_documented_header_layouts() {
    let p = frame(7, true, 3000, 3);
    // First piece: type 0x08, 36-byte header, total @20, index @22, frame @32.
    assert_eq!((p[0][0], p[0][1]), (0x05, 0x08));
    assert_eq!(&p[0][2..4], &[0x0B, 0x00]);
    assert_eq!(&p[0][6..8], &[0x7E, 0x50]);
    assert_eq!(u16::from_le_bytes([p[0][20], p[0][21]]), 3);
    assert_eq!(
        u32::from_le_bytes([p[0][32], p[0][33], p[0][34], p[0][35]]),
        7
    );
    // Middle: type 0, 28-byte header, total @12, index @14, frame @24.
    assert_eq!(p[1][1], 0x00);
    assert_eq!(u16::from_le_bytes([p[1][14], p[1][15]]), 1);
    assert_eq!(
        u32::from_le_bytes([p[1][24], p[1][25], p[1][26], p[1][27]]),
        7
    );
    // Last: type 0x05 with the FRAMEINFO marker and 40 bytes at its end.
    assert_eq!(p[2][1], 0x05);
    assert_eq!(u16::from_le_bytes([p[2][14], p[2][15]]), FRAMEINFO_MARKER);
    let fi = FrameInfo::decode(&p[2][p[2].len() - 40..]).unwrap();
    assert_eq!(
        (fi.codec, fi.payload_size, fi.frame_no),
        (codec::H264, 3000, 7)
    );
    assert!(p.iter().all(|d| is_media(d)));
    // A single-piece frame is type 0x01 with a short header.
    let one = frame(8, false, 100, 1);
    assert_eq!((one[0][0], one[0][1]), (0x07, 0x01));
}

#[test]
fn control_messages_are_not_media() {
    assert!(!is_media(&[0x0C, 0x00, 0x0C, 0x00]));
    assert!(!is_media(&[0x00, 0x21]));
    assert!(!is_media(&[0x09, 0x00]));
    assert!(is_media(&[0x0C, 0x05, 0x0B, 0x00]));
}

#[test]
fn frames_reassemble_from_pieces_in_any_order() {
    let mut a = FrameAssembler::new();
    let mut p = frame(1, true, 5000, 5);
    p.reverse();
    p.swap(1, 3);
    for d in &p {
        a.push(d).unwrap();
    }
    let ev = drain(&mut a);
    let [AvEvent::Video { data, keyframe, .. }] = &ev[..] else {
        panic!("{ev:?}");
    };
    assert!(*keyframe);
    let expected: Vec<u8> = (0..5000).map(|i| (i as u32 ^ 1) as u8).collect();
    assert_eq!(&data[..], &expected[..]);
}

#[test]
fn a_late_piece_within_the_window_loses_nothing() {
    let mut a = FrameAssembler::new();
    let f1 = frame(1, true, 2000, 2);
    let f2 = frame(2, false, 900, 2);
    let f3 = frame(3, false, 900, 1);
    a.push(&f1[0]).unwrap();
    a.push(&f2[0]).unwrap();
    a.push(&f2[1]).unwrap();
    a.push(&f3[0]).unwrap();
    assert!(drain(&mut a).is_empty(), "frame 1 still waits");
    a.push(&f1[1]).unwrap();
    assert_eq!(frames(&drain(&mut a)), [1, 2, 3]);
    assert_eq!(a.stats().dropped, 0);
}

#[test]
fn a_lost_piece_drops_frames_until_the_next_keyframe() {
    let mut a = FrameAssembler::new();
    let mut ev = vec![];
    for f in 1..=12u32 {
        let key = f == 1 || f == 10;
        for (i, d) in frame(f, key, 1500, 3).iter().enumerate() {
            if f == 4 && i == 1 {
                continue; // lost
            }
            a.push(d).unwrap();
            ev.extend(drain(&mut a));
        }
    }
    assert_eq!(frames(&ev), [1, 2, 3, 10, 11, 12], "{ev:?}");
    let lost: Vec<_> = ev
        .iter()
        .filter(|e| matches!(e, AvEvent::VideoLost { .. }))
        .collect();
    assert_eq!(lost.len(), 1, "reported once");
    assert!(a.stats().dropped >= 6);
}

#[test]
fn the_stream_starts_at_a_keyframe() {
    let mut a = FrameAssembler::new();
    for f in 5..=8u32 {
        for d in frame(f, f == 7, 500, 1) {
            a.push(&d).unwrap();
        }
    }
    let ev = drain(&mut a);
    assert_eq!(frames(&ev), [7, 8]);
    assert!(!ev.iter().any(|e| matches!(e, AvEvent::VideoLost { .. })));
}

#[test]
fn a_size_that_disagrees_with_framinfo_is_a_loss() {
    let mut a = FrameAssembler::new();
    for d in frame(1, true, 400, 1) {
        a.push(&d).unwrap();
    }
    let mut bad = frame(2, false, 400, 1);
    // Claim 401 bytes in FRAMEINFO.payload_size (offset 16 of the 40 bytes).
    let n = bad[0].len() - 40 + 16;
    bad[0][n] = 0x91;
    a.push(&bad[0]).unwrap();
    for d in frame(3, false, 400, 1) {
        a.push(&d).unwrap();
    }
    let ev = drain(&mut a);
    assert_eq!(frames(&ev), [1]);
    assert!(matches!(ev[1], AvEvent::VideoLost { frames: 1 }));
}

#[test]
fn duplicates_and_late_pieces_are_counted_not_delivered_twice() {
    let mut a = FrameAssembler::new();
    let f = frame(1, true, 1000, 2);
    a.push(&f[0]).unwrap();
    a.push(&f[0]).unwrap();
    a.push(&f[1]).unwrap();
    a.push(&f[1]).unwrap();
    assert_eq!(frames(&drain(&mut a)), [1]);
    assert_eq!(a.stats().pieces_rejected, 2);
}

#[test]
fn audio_is_delivered_with_its_sample_rate() {
    let mut a = FrameAssembler::new();
    let fi = FrameInfo {
        codec: codec::PCMU,
        flags: (3 << 2) | 2,
        payload_size: 160,
        ..FrameInfo::default()
    };
    let p = Piece {
        channel: MediaChannel::Audio,
        frame_type: 0,
        frame_no: 1,
        total: 1,
        index: 0,
        data: &[0x55; 160],
        info: Some(fi),
    }
    .encode(0);
    a.push(&p).unwrap();
    let ev = drain(&mut a);
    let [AvEvent::Audio { info, data }] = &ev[..] else {
        panic!("{ev:?}");
    };
    assert_eq!((info.sample_rate(), data.len()), (16000, 160));
}

/// Resend mode (`tutk-iotc-wyze-protocol.md` §9.6): the wrapper's frame type
/// is byte 1 and the short fields sit where the 36-byte layout has them;
/// frame-index packets are skipped.
#[test]
fn wrapped_packets_and_frame_index_packets() {
    let direct = frame(1, true, 300, 1).remove(0);
    // Rebuild as a wrapped packet: 0C <type>, 36-byte header with the channel at 16.
    let mut w = vec![0u8; 36];
    w[0] = 0x0C;
    w[1] = 0x05;
    w[2] = 0x0B;
    w[16] = 0x05;
    w[20..22].copy_from_slice(&1u16.to_le_bytes());
    w[22..24].copy_from_slice(&FRAMEINFO_MARKER.to_le_bytes());
    w[24..26].copy_from_slice(&((300 + 40) as u16).to_le_bytes());
    w[32..36].copy_from_slice(&1u32.to_le_bytes());
    w.extend_from_slice(&direct[28..]);
    assert!(is_media(&w));
    let mut a = FrameAssembler::new();
    a.push(&w).unwrap();
    assert_eq!(frames(&drain(&mut a)), [1]);
    let mut index = vec![0u8; 1080];
    index[0] = 0x0C;
    index[2] = 0x0B;
    index[16] = 0x0C;
    assert_eq!(Piece::decode(&index), Ok(None));
}

#[test]
fn hostile_headers_are_errors() {
    let mut p = frame(1, true, 100, 1).remove(0);
    p[12..14].copy_from_slice(&0u16.to_le_bytes());
    assert!(Piece::decode(&p).is_err(), "zero pieces");
    let mut p = frame(1, true, 100, 2).remove(0);
    p[22..24].copy_from_slice(&5u16.to_le_bytes());
    assert!(Piece::decode(&p).is_err(), "index beyond total");
    let p = frame(1, true, 100, 1).remove(0);
    assert!(Piece::decode(&p[..p.len() - 1]).is_err(), "truncated");
    let mut p = frame(1, true, 100, 1).remove(0);
    let n = p.len() - 40;
    p[n] = 0x10;
    assert!(
        Piece::decode(&p).is_err(),
        "FRAMEINFO with a non-media codec"
    );
}

#[test]
fn the_frame_buffer_is_bounded() {
    let mut a = FrameAssembler::new();
    // Many frames that never complete: the assembler gives up on old ones.
    for f in 1..200u32 {
        let p = frame(f, true, 3000, 3);
        a.push(&p[0]).unwrap();
    }
    assert!(a.pending.len() <= REORDER_FRAMES as usize * 2 + 1);
}

/// Fuzzing found this (`tests/fuzz/crashes/tutk_av/timeout-*`): frame
/// numbers 2³¹ apart in flight made the give-up step pick the same frame
/// again and again. Now a number that far away starts the stream over.
#[test]
fn frame_numbers_far_apart_never_hang_the_window() {
    let mut a = FrameAssembler::new();
    for f in [
        0u32,
        1 << 31,
        3_000_000_000,
        5,
        u32::MAX,
        1 << 30,
        2,
        7,
        9,
        11,
        13,
        15,
        17,
        19,
        21,
    ] {
        a.push(&frame(f, false, 3000, 3)[0]).unwrap();
        drain(&mut a);
        assert!(a.pending.len() <= REORDER_FRAMES as usize * 2 + 1);
    }
    // And it still streams afterwards, from a keyframe.
    for p in frame(100, true, 900, 2) {
        a.push(&p).unwrap();
    }
    for p in frame(101, false, 900, 2) {
        a.push(&p).unwrap();
    }
    assert_eq!(frames(&drain(&mut a)), vec![100, 101]);
}

#[test]
fn a_camera_that_numbers_its_frames_anew_is_followed_from_its_next_keyframe() {
    let mut a = FrameAssembler::new();
    for f in 5000..5003u32 {
        for p in frame(f, f == 5000, 700, 2) {
            a.push(&p).unwrap();
        }
    }
    assert_eq!(frames(&drain(&mut a)), vec![5000, 5001, 5002]);
    // The camera restarted its stream: numbers start at 1 again. Without a
    // resync these would all be "late" forever.
    for f in 1..4u32 {
        for p in frame(f, f == 1, 700, 2) {
            a.push(&p).unwrap();
        }
    }
    let ev = drain(&mut a);
    assert_eq!(frames(&ev), vec![1, 2, 3], "{ev:?}");
    // A late piece of the old numbering, close behind, is still just late.
    let before = a.stats().pieces_rejected;
    a.push(&frame(2, false, 700, 2)[0]).unwrap();
    assert_eq!(a.stats().pieces_rejected, before + 1);
}

proptest::proptest! {
    #[test]
    fn hostile_packets_never_panic(packets in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..120), 0..20)) {
        let mut a = FrameAssembler::new();
        for p in &packets {
            let _ = a.push(p);
            while a.pull().is_some() {}
        }
    }

    /// Under loss, duplication and reordering, every delivered frame is
    /// exactly a frame that was sent, in order, starting at a keyframe, and
    /// after every reported loss the next frame is a keyframe.
    #[test]
    fn delivered_frames_are_exact_under_loss_and_reordering(seed in 0u64..1000) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut packets = vec![];
        for f in 1..=60u32 {
            let key = f % 15 == 1;
            for d in frame(f, key, 1200 + (f as usize * 37) % 900, 1 + (f % 4) as u16) {
                if rng.random_bool(0.05) { continue; }
                if rng.random_bool(0.05) { packets.push(d.clone()); }
                packets.push(d);
            }
        }
        for i in 0..packets.len().saturating_sub(1) {
            if rng.random_bool(0.1) { packets.swap(i, i + 1); }
        }
        let mut a = FrameAssembler::new();
        let mut last: Option<u32> = None;
        let mut after_loss = true;
        for p in &packets {
            a.push(p).unwrap();
            while let Some(e) = a.pull() {
                match e {
                    AvEvent::Video { frame_no, keyframe, data, .. } => {
                        let len = 1200 + (frame_no as usize * 37) % 900;
                        let expected: Vec<u8> = (0..len).map(|i| (i as u32 ^ frame_no) as u8).collect();
                        proptest::prop_assert_eq!(&data[..], &expected[..]);
                        proptest::prop_assert!(last.is_none_or(|l| frame_no > l));
                        if after_loss { proptest::prop_assert!(keyframe); }
                        // A decoder can always decode it: a keyframe, or the
                        // frame right after the one it decoded last.
                        proptest::prop_assert!(keyframe || last == Some(frame_no - 1));
                        after_loss = false;
                        last = Some(frame_no);
                    }
                    AvEvent::VideoLost { .. } => after_loss = true,
                    AvEvent::Audio { .. } => {}
                }
            }
        }
    }
}
