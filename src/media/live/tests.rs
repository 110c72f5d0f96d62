//! Behaviour of [`LiveDecoder`] on the committed test clips (`tests/data/video/`,
//! through `sim::video::TestVideo`), restamped where a test needs another
//! frame rate or a clock jump.

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::media::video::psnr;
use crate::sim::video::{read_frame_code, reference_rgb, TestVideo, GOP_LEN};

/// Lowest PSNR accepted between a live JPEG (q80) and the pattern frame it
/// shows: the snapshot tests' bar (`media::video`); a picture of the wrong
/// frame, a lost reference or a chroma shift lands below 30 dB.
const MIN_JPEG_DB: f64 = 30.0;

const CODECS: [VideoCodec; 2] = [VideoCodec::H264, VideoCodec::H265];

fn every_picture() -> LiveSettings {
    LiveSettings {
        min_interval: Duration::ZERO,
        max_bytes: usize::MAX,
        quality: 80,
    }
}

fn paced(ms: u64) -> LiveSettings {
    LiveSettings {
        min_interval: Duration::from_millis(ms),
        ..every_picture()
    }
}

/// The whole 640x360 clip (7 GOPs of 10), frame `i` stamped `i * step_ms`.
fn clip(codec: VideoCodec, w: u32, h: u32, step_ms: u64) -> Vec<VideoFrame> {
    let len = TestVideo::clip(codec, w, h).expect("clip").len() as u64;
    (0..len)
        .map(|n| {
            let mut f = TestVideo::frame(codec, w, h, n).expect("clip");
            f.timestamp = Duration::from_millis(n * step_ms);
            f
        })
        .collect()
}

/// The pattern frame a picture shows, after checking it against the pattern.
fn check_picture(p: &LivePicture, w: u32, h: u32, frame: u64) {
    let img = image::load_from_memory(&p.jpeg).expect("a JPEG").to_rgb8();
    assert_eq!(img.dimensions(), (w, h));
    assert_eq!((p.width, p.height), (w, h));
    let db = psnr(img.as_raw(), &reference_rgb(w, h, frame));
    assert!(db > MIN_JPEG_DB, "{w}x{h} frame {frame}: {db:.1} dB");
    assert_eq!(read_frame_code(img.as_raw(), w, h), Some(frame as u8));
}

/// Pushes `frames`; returns `(index in frames, picture)` for every picture.
fn run(dec: &mut LiveDecoder, frames: &[VideoFrame]) -> Vec<(usize, LivePicture)> {
    frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| dec.push(f).expect("decodes").map(|p| (i, p)))
        .collect()
}

#[test]
fn every_picture_of_every_clip_decodes_to_its_pattern_frame() {
    for codec in CODECS {
        for (w, h) in TestVideo::sizes(codec) {
            // The big clips are one GOP; the 640x360 ones seven.
            let frames = clip(codec, w, h, 100);
            let mut dec = LiveDecoder::new(codec, every_picture());
            let pictures = run(&mut dec, &frames);
            assert_eq!(pictures.len(), frames.len(), "{codec:?} {w}x{h}");
            for (i, p) in &pictures {
                assert_eq!(p.timestamp, frames[*i].timestamp);
                check_picture(p, w, h, *i as u64);
            }
            let n = frames.len() as u64;
            assert_eq!(
                dec.stats(),
                LiveStats {
                    frames_decoded: n,
                    pictures_encoded: n,
                    frames_skipped: 0,
                    errors: 0,
                }
            );
        }
    }
}

#[test]
fn b_frames_come_out_in_display_order_and_only_while_the_order_is_learnt_are_some_dropped() {
    let units = rusty_h264_decoder::split_access_units(include_bytes!(
        "../../../tests/data/video/h264_bframes_640x360.h264"
    ));
    assert_eq!(units.len(), GOP_LEN);
    // Three passes of the GOP: the second starts with the depth learnt, and
    // its last picture, held for display order, comes out with the third's
    // keyframe.
    let frames: Vec<VideoFrame> = (0..3 * GOP_LEN)
        .map(|i| VideoFrame {
            codec: VideoCodec::H264,
            keyframe: i % GOP_LEN == 0,
            timestamp: Duration::from_millis(i as u64 * 100),
            data: Bytes::copy_from_slice(units[i % GOP_LEN]),
        })
        .collect();
    let mut dec = LiveDecoder::new(VideoCodec::H264, every_picture());
    let mut codes = Vec::new();
    for f in &frames {
        if let Some(p) = dec.push(f).expect("decodes") {
            let img = image::load_from_memory(&p.jpeg).expect("a JPEG").to_rgb8();
            let code = read_frame_code(img.as_raw(), 640, 360).expect("sized");
            check_picture(&p, 640, 360, u64::from(code));
            codes.push(code);
        }
    }
    let gops: Vec<&[u8]> = codes.split_inclusive(|&c| c == 9).collect();
    assert_eq!(gops.len(), 3, "{codes:?}");
    // Never backwards, each GOP ends on its last frame; only the first
    // lost pictures, while the depth was learnt.
    for gop in &gops {
        assert!(gop.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
    }
    assert_eq!(gops[0].last(), Some(&9), "{codes:?}");
    assert_eq!(gops[1], (0..10).collect::<Vec<u8>>(), "{codes:?}");
}

#[test]
fn at_20_fps_with_200_ms_pacing_the_first_picture_comes_at_once_then_every_4th() {
    for codec in CODECS {
        let frames = clip(codec, 640, 360, 50);
        let mut dec = LiveDecoder::new(codec, paced(200));
        let pictures = run(&mut dec, &frames);
        let at: Vec<usize> = pictures.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            at,
            (0..frames.len()).step_by(4).collect::<Vec<_>>(),
            "{codec:?}"
        );
        for (i, p) in &pictures {
            check_picture(p, 640, 360, *i as u64);
        }
        let stats = dec.stats();
        assert_eq!(
            stats.frames_decoded,
            frames.len() as u64,
            "every frame decoded"
        );
        assert_eq!(stats.pictures_encoded, at.len() as u64);
    }
}

#[test]
fn timestamps_jittering_by_a_few_ms_still_give_the_full_picture_rate() {
    let mut frames = clip(VideoCodec::H264, 640, 360, 50);
    for (i, f) in frames.iter_mut().enumerate() {
        // 50 ms apart on average, each up to 3 ms early or late.
        let jitter = [0i64, -3, 2, -1, 3, -2][i % 6];
        f.timestamp = Duration::from_millis((i as i64 * 50 + 10 + jitter) as u64);
    }
    let mut dec = LiveDecoder::new(VideoCodec::H264, paced(200));
    let pictures = run(&mut dec, &frames);
    // 70 frames of 50 ms: 3.5 s at 5 fps.
    assert!(
        (17..=18).contains(&pictures.len()),
        "{} pictures",
        pictures.len()
    );
    for pair in pictures.windows(2) {
        let gap = pair[1].1.timestamp - pair[0].1.timestamp;
        assert!(gap >= Duration::from_millis(190), "{gap:?}");
    }
}

#[test]
fn non_keyframes_before_the_first_keyframe_are_skipped_and_counted() {
    let frames = clip(VideoCodec::H264, 640, 360, 100);
    let mut dec = LiveDecoder::new(VideoCodec::H264, every_picture());
    let pictures = run(&mut dec, &frames[3..GOP_LEN + 2]);
    let at: Vec<usize> = pictures.iter().map(|(i, _)| i + 3).collect();
    assert_eq!(at, [10, 11]);
    check_picture(&pictures[0].1, 640, 360, 10);
    assert_eq!(dec.stats().frames_skipped, 7);
    assert_eq!(dec.stats().frames_decoded, 2);
}

#[test]
fn after_lost_nothing_comes_until_the_next_keyframe_then_pictures_again() {
    for codec in CODECS {
        let frames = clip(codec, 640, 360, 100);
        let mut dec = LiveDecoder::new(codec, every_picture());
        assert_eq!(run(&mut dec, &frames[..5]).len(), 5);
        dec.lost();
        // Frames 5 and 6 are lost; 7 to 9 depend on them.
        assert!(run(&mut dec, &frames[7..GOP_LEN]).is_empty());
        assert_eq!(dec.stats().frames_skipped, 3, "{codec:?}");
        let pictures = run(&mut dec, &frames[GOP_LEN..2 * GOP_LEN]);
        assert_eq!(pictures.len(), GOP_LEN, "{codec:?}");
        for (i, p) in &pictures {
            check_picture(p, 640, 360, (GOP_LEN + i) as u64);
        }
        assert_eq!(dec.stats().errors, 0);
    }
}

#[test]
fn a_corrupted_frame_mid_gop_is_an_error_and_decoding_resumes_at_the_next_keyframe() {
    for codec in CODECS {
        let mut frames = clip(codec, 640, 360, 100);
        // A slice cut after its header: the decoder runs out of bits.
        frames[5].data = frames[5].data.slice(..frames[5].data.len().min(12));
        let mut dec = LiveDecoder::new(codec, every_picture());
        assert_eq!(run(&mut dec, &frames[..5]).len(), 5);
        let err = dec.push(&frames[5]);
        assert!(
            matches!(err, Err(VideoError::Decode { index: 5, .. })),
            "{codec:?}: {err:?}"
        );
        assert!(run(&mut dec, &frames[6..GOP_LEN]).is_empty(), "{codec:?}");
        let pictures = run(&mut dec, &frames[GOP_LEN..]);
        assert_eq!(pictures.len(), frames.len() - GOP_LEN, "{codec:?}");
        for (i, p) in &pictures {
            check_picture(p, 640, 360, (GOP_LEN + i) as u64);
        }
        let stats = dec.stats();
        assert_eq!(stats.errors, 1, "{codec:?}");
        assert_eq!(stats.frames_skipped, 4, "{codec:?}");
        assert_eq!(stats.frames_decoded, frames.len() as u64 - 5, "{codec:?}");
    }
}

#[test]
fn a_timestamp_that_jumps_backwards_restarts_the_pacing_instead_of_stalling() {
    let mut frames = clip(VideoCodec::H264, 640, 360, 50);
    // The camera's clock restarts at frame 20 (a keyframe): 0 ms again.
    for f in &mut frames[20..] {
        f.timestamp -= Duration::from_millis(20 * 50);
    }
    let mut dec = LiveDecoder::new(VideoCodec::H264, paced(200));
    let at: Vec<usize> = run(&mut dec, &frames).into_iter().map(|(i, _)| i).collect();
    let mut expected: Vec<usize> = (0..20).step_by(4).collect();
    expected.extend((20..frames.len()).step_by(4));
    assert_eq!(at, expected);
    // Even mid-GOP, and by a little: the next picture comes at once.
    let mut frames = clip(VideoCodec::H264, 640, 360, 50);
    for f in &mut frames[13..] {
        f.timestamp -= Duration::from_millis(80);
    }
    let mut dec = LiveDecoder::new(VideoCodec::H264, paced(200));
    let at: Vec<usize> = run(&mut dec, &frames[..20])
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at, [0, 4, 8, 12, 13, 17]);
}

#[test]
fn a_timestamp_that_jumps_far_forward_gives_one_picture_not_a_burst() {
    let mut frames = clip(VideoCodec::H264, 640, 360, 50);
    for f in &mut frames[10..] {
        f.timestamp += Duration::from_secs(3600);
    }
    let mut dec = LiveDecoder::new(VideoCodec::H264, paced(200));
    let at: Vec<usize> = run(&mut dec, &frames[..30])
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at, [0, 4, 8, 10, 14, 18, 22, 26]);
}

#[test]
fn a_new_codec_or_picture_size_gets_a_new_decoder_and_decodes_right() {
    // (codec, width, height) of consecutive GOPs of one "camera".
    let gops = [
        (VideoCodec::H264, 640, 360),
        (VideoCodec::H264, 1920, 1080),
        (VideoCodec::H264, 640, 360),
        (VideoCodec::H265, 640, 360),
        (VideoCodec::H265, 1920, 1080),
        (VideoCodec::H265, 640, 360),
        (VideoCodec::H264, 1280, 720),
    ];
    let mut dec = LiveDecoder::new(VideoCodec::H264, every_picture());
    for (n, &(codec, w, h)) in gops.iter().enumerate() {
        let frames = TestVideo::gop_frames(codec, w, h).expect("clip");
        let pictures = run(&mut dec, &frames);
        assert_eq!(pictures.len(), GOP_LEN, "GOP {n}: {codec:?} {w}x{h}");
        for (i, p) in &pictures {
            check_picture(p, w, h, *i as u64);
        }
        assert_eq!(dec.codec(), codec);
    }
    assert_eq!(dec.stats().errors, 0);
}

#[test]
fn a_picture_over_the_size_cap_is_shrunk_and_its_size_reported() {
    let frames = TestVideo::gop_frames(VideoCodec::H264, 1920, 1080).expect("clip");
    let mut full = LiveDecoder::new(VideoCodec::H264, every_picture());
    let big = full
        .push(&frames[0])
        .expect("decodes")
        .expect("first picture");
    let cap = big.jpeg.len() / 8;
    let mut dec = LiveDecoder::new(
        VideoCodec::H264,
        LiveSettings {
            max_bytes: cap,
            ..every_picture()
        },
    );
    let small = dec
        .push(&frames[0])
        .expect("decodes")
        .expect("first picture");
    assert!(small.jpeg.len() <= cap);
    assert!(small.width < 1920, "{}x{}", small.width, small.height);
    let img = image::load_from_memory(&small.jpeg).expect("a JPEG");
    assert_eq!((img.width(), img.height()), (small.width, small.height));
    // A cap no picture fits is an error for that picture only.
    let mut dec = LiveDecoder::new(
        VideoCodec::H264,
        LiveSettings {
            max_bytes: 100,
            ..every_picture()
        },
    );
    assert!(matches!(dec.push(&frames[0]), Err(VideoError::Jpeg(_))));
    assert!(dec.push(&frames[1]).is_err());
    let stats = dec.stats();
    assert_eq!((stats.frames_decoded, stats.errors), (2, 2));
}

#[test]
fn the_default_settings_are_5_fps() {
    assert_eq!(
        LiveSettings::default().min_interval,
        Duration::from_millis(200)
    );
    assert_eq!(
        LiveSettings::at_fps(0, 1, 80).min_interval,
        Duration::from_secs(1)
    );
}

fn random_annex_b() -> impl Strategy<Value = Vec<u8>> {
    let nal = (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..80)).prop_map(|(h, body)| {
        let mut n = vec![0, 0, 1, h];
        n.extend(body);
        n
    });
    proptest::collection::vec(nal, 1..4).prop_map(|n| n.concat())
}

/// One step of a hostile or damaged stream.
#[derive(Debug, Clone)]
enum Step {
    /// Frame `n` of the 640x360 clip, stamped `ms`, with bytes flipped.
    Real {
        h265: bool,
        n: u64,
        ms: u64,
        flips: Vec<(usize, u8)>,
    },
    /// Random Annex-B bytes with a random keyframe flag.
    Junk {
        h265: bool,
        key: bool,
        data: Vec<u8>,
    },
    Lost,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (
            any::<bool>(),
            0u64..70,
            0u64..100_000,
            proptest::collection::vec((any::<usize>(), 1u8..=255), 0..2)
        )
            .prop_map(|(h265, n, ms, flips)| Step::Real { h265, n, ms, flips }),
        2 => (any::<bool>(), any::<bool>(), random_annex_b())
            .prop_map(|(h265, key, data)| Step::Junk { h265, key, data }),
        1 => Just(Step::Lost),
    ]
}

fn codec_of(h265: bool) -> VideoCodec {
    if h265 {
        VideoCodec::H265
    } else {
        VideoCodec::H264
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_bytes_never_panic(frames in proptest::collection::vec((any::<bool>(), random_annex_b()), 1..8)) {
        let mut dec = LiveDecoder::new(VideoCodec::H264, paced(10));
        for (i, (key, data)) in frames.into_iter().enumerate() {
            let frame = VideoFrame {
                codec: codec_of(i % 3 == 2),
                keyframe: key,
                timestamp: Duration::from_millis(i as u64 * 50),
                data: Bytes::from(data),
            };
            let _ = dec.push(&frame);
        }
    }

    #[test]
    fn arbitrary_frame_sequences_never_panic_and_every_push_is_counted_once(
        steps in proptest::collection::vec(step(), 1..24),
    ) {
        let mut dec = LiveDecoder::new(VideoCodec::H264, paced(100));
        let mut pushed = 0u64;
        for s in steps {
            let frame = match s {
                Step::Lost => {
                    dec.lost();
                    continue;
                }
                Step::Real { h265, n, ms, flips } => {
                    let mut f = TestVideo::frame(codec_of(h265), 640, 360, n).expect("clip");
                    let mut d = f.data.to_vec();
                    for (at, x) in flips {
                        let i = at % d.len();
                        d[i] ^= x;
                    }
                    f.data = Bytes::from(d);
                    f.timestamp = Duration::from_millis(ms);
                    f
                }
                Step::Junk { h265, key, data } => VideoFrame {
                    codec: codec_of(h265),
                    keyframe: key,
                    timestamp: Duration::ZERO,
                    data: Bytes::from(data),
                },
            };
            pushed += 1;
            if let Ok(Some(p)) = dec.push(&frame) {
                prop_assert!(image::load_from_memory(&p.jpeg).is_ok());
            }
        }
        let s = dec.stats();
        // No JPEG error with an unlimited cap: each push is one of three.
        prop_assert_eq!(s.frames_decoded + s.frames_skipped + s.errors, pushed);
        prop_assert!(s.pictures_encoded <= s.frames_decoded);
    }
}
