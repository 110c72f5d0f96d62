//! Video snapshots end to end: the simulator's pre-encoded clips go through
//! the media sink and `media::video::snapshot_from_gop`, and the published
//! JPEG is compared with the test pattern it was encoded from.
//!
//! Also holds the ignored test that regenerates the clips under
//! `tests/data/video/` (it needs ffmpeg with libx264 and libx265; nothing
//! else here does):
//! `cargo test --test video_snapshot -- --ignored regenerate_the_test_clips`

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cam2mqtt::media::sink::{MediaSink, SnapshotSource};
use cam2mqtt::media::video::{psnr, snapshot_from_gop};
use cam2mqtt::model::VideoCodec;
use cam2mqtt::sim::video::{read_frame_code, reference_rgb, TestVideo, GOP_LEN, MOVING_GOPS};

/// PSNR floor for the published JPEG (q80) against the pattern; the clips
/// measure 43-47 dB (see `media::video`'s tests), a wrong frame is below 30.
const MIN_DB: f64 = 30.0;

/// A simulated camera streams 2.5 GOPs and switches size mid-stream; the
/// snapshot published at each point is the newest frame, at the new size.
#[test]
fn a_streamed_gop_becomes_a_jpeg_of_the_newest_frame_even_after_a_size_switch() {
    // An arbitrary origin: the sink reads no clock.
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let mut sink = MediaSink::new(4 << 20);
    let mut n = 0u64;
    for (codec, (w, h), frames) in [
        (VideoCodec::H264, (640, 360), 25u64),
        (VideoCodec::H264, (1280, 720), 13),
        (VideoCodec::H265, (640, 360), 7),
    ] {
        // The switch starts at the clip's keyframe, as a camera restarts
        // its GOP on a resolution change.
        for i in 0..frames {
            let frame = TestVideo::frame(codec, w, h, i).expect("clip");
            sink.push_video(t0 + Duration::from_millis(n * 100), frame);
            n += 1;
        }
        let Some(SnapshotSource::Gop {
            codec: c,
            frames: gop,
            ..
        }) = sink.snapshot_source()
        else {
            panic!("a GOP is cached");
        };
        assert_eq!(c, codec);
        // The newest frame of the clip's loop, and its GOP since the keyframe.
        let clip_len = TestVideo::clip(codec, w, h).expect("clip").len() as u64;
        let last = (frames - 1) % clip_len;
        assert_eq!(
            gop.len() as u64,
            last % GOP_LEN as u64 + 1,
            "keyframe first, no gap"
        );
        let jpeg = snapshot_from_gop(codec, &gop, 200_000, 80).expect("snapshot");
        assert!(jpeg.len() <= 200_000);
        let img = image::load_from_memory(&jpeg).expect("a JPEG").to_rgb8();
        assert_eq!(img.dimensions(), (w, h));
        assert_eq!(read_frame_code(img.as_raw(), w, h), Some(last as u8));
        let db = psnr(img.as_raw(), &reference_rgb(w, h, last));
        assert!(db > MIN_DB, "{codec:?} {w}x{h} frame {last}: {db:.1} dB");
        eprintln!(
            "{codec:?} {w}x{h} frame {last}: published JPEG {db:.1} dB, {} bytes",
            jpeg.len()
        );
    }
}

/// One clip to make: file name, size, frames, encoder arguments.
struct Recipe {
    file: &'static str,
    width: u32,
    height: u32,
    frames: usize,
    args: &'static [&'static str],
}

/// Output colour conversion, as cameras send it: BT.601 limited range 4:2:0.
const TO_420: &[&str] = &[
    "-vf",
    "scale=out_color_matrix=bt601:out_range=tv,format=yuv420p",
    "-colorspace",
    "smpte170m",
    "-color_range",
    "tv",
];

const X264: &[&str] = &[
    "-c:v",
    "libx264",
    "-preset",
    "medium",
    "-profile:v",
    "high",
    "-crf",
    "23",
    "-g",
    "10",
    "-bf",
    "0",
    "-threads",
    "1",
    "-x264-params",
    "aud=1",
    "-bsf:v",
    "h264_mp4toannexb",
    "-f",
    "h264",
];

const X265: &[&str] = &[
    "-c:v",
    "libx265",
    "-preset",
    "medium",
    "-crf",
    "26",
    "-x265-params",
    "keyint=10:min-keyint=10:bframes=0:aud=1:repeat-headers=1:frame-threads=1:pools=none:log-level=error",
    "-f",
    "hevc",
];

fn recipes() -> Vec<Recipe> {
    // The simulator's default size moves through several GOPs (see
    // `sim::video`); the larger sizes are one GOP each.
    let gops = |width| if width == 640 { MOVING_GOPS } else { 1 };
    let h264 = |file, width, height| Recipe {
        file,
        width,
        height,
        frames: GOP_LEN * gops(width),
        args: X264,
    };
    let h265 = |file, width, height| Recipe {
        file,
        width,
        height,
        frames: GOP_LEN * gops(width),
        args: X265,
    };
    vec![
        h264("h264_640x360.h264", 640, 360),
        h264("h264_1280x720.h264", 1280, 720),
        h264("h264_1920x1080.h264", 1920, 1080),
        h264("h264_2560x1440.h264", 2560, 1440),
        h265("h265_640x360.h265", 640, 360),
        h265("h265_1920x1080.h265", 1920, 1080),
        // Decoder evidence only (not streamed by the simulator).
        Recipe {
            file: "h264_bframes_640x360.h264",
            width: 640,
            height: 360,
            frames: GOP_LEN,
            args: &[
                "-c:v",
                "libx264",
                "-preset",
                "medium",
                "-profile:v",
                "high",
                "-crf",
                "23",
                "-g",
                "10",
                "-bf",
                "2",
                "-threads",
                "1",
                "-x264-params",
                "aud=1",
                "-f",
                "h264",
            ],
        },
        Recipe {
            file: "h264_444_64x64.h264",
            width: 64,
            height: 64,
            frames: 1,
            args: &[
                "-pix_fmt",
                "yuv444p",
                "-c:v",
                "libx264",
                "-profile:v",
                "high444",
                "-threads",
                "1",
                "-x264-params",
                "aud=1",
                "-f",
                "h264",
            ],
        },
        Recipe {
            file: "h265_444_64x64.h265",
            width: 64,
            height: 64,
            frames: 1,
            args: &[
                "-pix_fmt",
                "yuv444p",
                "-c:v",
                "libx265",
                "-x265-params",
                "aud=1:frame-threads=1:pools=none:log-level=error",
                "-f",
                "hevc",
            ],
        },
    ]
}

#[test]
#[ignore = "needs ffmpeg; rewrites tests/data/video"]
fn regenerate_the_test_clips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/video");
    std::fs::create_dir_all(&dir).unwrap();
    let version = Command::new("ffmpeg").arg("-version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .unwrap();
    let date = String::from_utf8_lossy(&date.stdout).trim().to_owned();
    for r in recipes() {
        let size = format!("{}x{}", r.width, r.height);
        let mut args: Vec<&str> = vec![
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            &size,
            "-r",
            "10",
            "-i",
            "-",
        ];
        if !r.args.contains(&"yuv444p") {
            args.extend_from_slice(TO_420);
        }
        args.extend_from_slice(r.args);
        let out = dir.join(r.file);
        let mut child = Command::new("ffmpeg")
            .args(&args)
            .arg(&out)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        {
            let mut stdin = child.stdin.take().unwrap();
            for n in 0..r.frames {
                stdin
                    .write_all(&reference_rgb(r.width, r.height, n as u64))
                    .unwrap();
            }
        }
        assert!(child.wait().unwrap().success(), "{}", r.file);
        let bytes = std::fs::metadata(&out).unwrap().len();
        let txt = format!(
            "{file}: {frames} frame(s) of cam2mqtt::sim::video::reference_rgb({w}, {h}, n) for n = 0..{frames},\n\
             piped as raw RGB24 into ffmpeg, {bytes} bytes.\n\
             Made by `cargo test --test video_snapshot -- --ignored regenerate_the_test_clips` on {date} with\n\
             {version}\n\
             Command (frames on stdin):\n\
             ffmpeg {args} tests/data/video/{file}\n",
            file = r.file,
            frames = r.frames,
            w = r.width,
            h = r.height,
            args = args
                .iter()
                .map(|a| if a.contains([':', ',', '=']) { format!("'{a}'") } else { (*a).to_owned() })
                .collect::<Vec<_>>()
                .join(" "),
        );
        let txt_path = dir.join(format!("{}.txt", r.file.rsplit_once('.').unwrap().0));
        std::fs::write(txt_path, txt).unwrap();
    }
}
