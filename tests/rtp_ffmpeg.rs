//! The RTP packetisers against an independent receiver: ffmpeg reads an SDP
//! file and decodes what we send over UDP on loopback — the simulator's
//! H.264 and H.265 clips and JPEGs from the bridge's encoder — with no
//! decoder error. (The RTSP server that will use these packetisers is not
//! written yet; this checks the payload formats on their own.)
//!
//! ffmpeg must be installed (`tests/run.sh` installs it); a missing binary
//! fails the test with a message.

// Real time, a subprocess and real sockets: this test is the outside world.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::Read as _;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cam2mqtt::model::VideoCodec;
use cam2mqtt::rtsp::rtp::{h264_fmtp, h265_fmtp, RtpStream};
use cam2mqtt::sim::video::TestVideo;

fn free_udp_port() -> u16 {
    // An even port (RTP convention); RTCP (port + 1) is not used here.
    loop {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = s.local_addr().unwrap().port();
        if p.is_multiple_of(2) && p < 65000 {
            return p;
        }
    }
}

/// Runs ffmpeg on `sdp`, sends `packets` (one Vec per frame) to `port`
/// 10 ms a frame, and returns (frames ffmpeg decoded, its stderr).
/// Waits until a process (ffmpeg) has bound UDP `port` on loopback, from
/// /proc/net/udp, so the first packets sent (the keyframe) are not lost to
/// a port nobody listens on yet, however slow ffmpeg starts.
fn wait_udp_bound(port: u16) {
    let needle = format!(":{port:04X} ");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
        // Local address is the second column: 0100007F:PORT.
        if table.lines().skip(1).any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(needle.trim_end()))
        }) {
            // ffmpeg reads once it has bound; a moment for it to get there.
            std::thread::sleep(Duration::from_millis(100));
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("ffmpeg never bound UDP port {port}");
}

fn ffmpeg_decodes(sdp: &str, port: u16, frames: &[Vec<Vec<u8>>]) -> (u64, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stream.sdp");
    std::fs::write(&path, sdp).unwrap();
    // ffmpeg stops after this many frames (the last ones are not waited for).
    let want = frames.len().saturating_sub(10);
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "warning"])
        .args([
            "-protocol_whitelist",
            "file,udp,rtp",
            "-reorder_queue_size",
            "0",
        ])
        .arg("-i")
        .arg(&path)
        .args([
            "-frames:v",
            &want.to_string(),
            "-f",
            "null",
            "-progress",
            "pipe:1",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg (apt-get install ffmpeg; tests/run.sh does it)");
    // ffmpeg opens the port while it probes the SDP.
    wait_udp_bound(port);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for f in frames {
        for p in f {
            sock.send_to(p, ("127.0.0.1", port)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let decoded = out
        .lines()
        .filter_map(|l| l.strip_prefix("frame="))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    (decoded, err)
}

fn video(codec: VideoCodec, pt: u8) -> (String, Vec<Vec<Vec<u8>>>) {
    let (w, h) = TestVideo::sizes(codec)[0];
    let clip = TestVideo::clip(codec, w, h).expect("a clip");
    let mut s = RtpStream::new(pt, 0x1234_5678, 1000);
    let mut frames = Vec::new();
    // The clip twice: ≥ 50 frames.
    for (n, au) in clip.iter().chain(clip.iter()).enumerate().take(70) {
        let ts = (n as u32) * 9000; // 90 kHz at 10 fps
        frames.push(match codec {
            VideoCodec::H264 => s.h264(ts, &au.data),
            VideoCodec::H265 => s.h265(ts, &au.data),
        });
    }
    let fmtp = match codec {
        VideoCodec::H264 => h264_fmtp(&clip[0].data).expect("parameter sets in the first keyframe"),
        VideoCodec::H265 => h265_fmtp(&clip[0].data).expect("parameter sets in the first keyframe"),
    };
    (fmtp, frames)
}

fn sdp(port: u16, pt: u8, rtpmap: Option<&str>, fmtp: Option<&str>) -> String {
    let mut s = format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=test\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video {port} RTP/AVP {pt}\r\n"
    );
    if let Some(m) = rtpmap {
        s.push_str(&format!("a=rtpmap:{pt} {m}\r\n"));
    }
    if let Some(f) = fmtp {
        s.push_str(&format!("a=fmtp:{pt} {f}\r\n"));
    }
    s
}

fn check(what: &str, decoded: u64, err: &str) {
    assert!(
        decoded >= 50,
        "{what}: ffmpeg decoded {decoded} frames; stderr:\n{err}"
    );
    let bad: Vec<&str> = err
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            ["error", "corrupt", "concealing", "missing", "invalid"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect();
    assert!(bad.is_empty(), "{what}: decoder complaints: {bad:?}");
}

#[test]
fn ffmpeg_decodes_our_h264_rtp() {
    let port = free_udp_port();
    let (fmtp, frames) = video(VideoCodec::H264, 96);
    let (n, err) = ffmpeg_decodes(
        &sdp(port, 96, Some("H264/90000"), Some(&fmtp)),
        port,
        &frames,
    );
    check("H.264", n, &err);
}

#[test]
fn ffmpeg_decodes_our_h265_rtp() {
    let port = free_udp_port();
    let (fmtp, frames) = video(VideoCodec::H265, 97);
    let (n, err) = ffmpeg_decodes(
        &sdp(port, 97, Some("H265/90000"), Some(&fmtp)),
        port,
        &frames,
    );
    check("H.265", n, &err);
}

#[test]
fn ffmpeg_decodes_our_jpeg_rtp() {
    let port = free_udp_port();
    let mut s = RtpStream::new(26, 42, 7);
    let frames: Vec<Vec<Vec<u8>>> = (0..70u32)
        .map(|n| {
            let img = image::RgbImage::from_fn(320, 240, |x, y| {
                image::Rgb([(x + n * 3) as u8, (y * 2) as u8, (n * 5) as u8])
            });
            let jpeg = cam2mqtt::media::jpeg::encode_rgb(&img, 75).unwrap();
            s.jpeg(n * 9000, &jpeg).expect("a 4:2:0 baseline JPEG")
        })
        .collect();
    let (n, err) = ffmpeg_decodes(&sdp(port, 26, None, None), port, &frames);
    check("JPEG", n, &err);
}

/// AAC from a camera (ADTS) as RFC 3640 AAC-hbr, its `config` from the ADTS
/// header: ffmpeg decodes the 1 kHz tone ffmpeg itself encoded.
#[test]
fn ffmpeg_decodes_our_aac_rtp() {
    use cam2mqtt::rtsp::rtp::adts_frames;
    use cam2mqtt::rtsp::sdp::{AudioTrack, Description, VideoTrack};
    let adts = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi"])
        .args(["-i", "sine=frequency=1000:sample_rate=16000", "-t", "3"])
        .args(["-ac", "1", "-c:a", "aac", "-f", "adts", "pipe:1"])
        .output()
        .expect("ffmpeg")
        .stdout;
    let frames = adts_frames(&adts);
    assert!(frames.len() > 40, "{} AAC frames", frames.len());
    let head = frames[0].0;
    let track = AudioTrack::Aac {
        rate: head.sample_rate().unwrap(),
        channels: head.channels,
        config: head.config(),
    };
    // The fmtp line as the bridge's SDP has it.
    let described = Description {
        name: "t".into(),
        video: VideoTrack::Jpeg,
        audio: Some(track),
        backchannel: false,
        session_id: 1,
    }
    .to_sdp();
    let fmtp = described
        .lines()
        .find_map(|l| l.strip_prefix("a=fmtp:99 "))
        .expect("an fmtp line for AAC")
        .to_string();
    let port = free_udp_port();
    let sdp = format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=test\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 99\r\na=rtpmap:99 MPEG4-GENERIC/16000/1\r\na=fmtp:99 {fmtp}\r\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aac.sdp");
    std::fs::write(&path, sdp).unwrap();
    let child = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "warning"])
        .args(["-protocol_whitelist", "file,udp,rtp", "-i"])
        .arg(&path)
        .args([
            "-t", "2", "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg");
    wait_udp_bound(port);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut s = RtpStream::new(99, 0x0A0C, 1);
    for (n, (_, frame)) in frames.iter().enumerate() {
        let p = s
            .aac(n as u32 * 1024, frame)
            .expect("a frame fits a packet");
        sock.send_to(&p, ("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_millis(4));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let pcm: Vec<i16> = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(
        pcm.len() >= 16_000,
        "{} samples decoded; stderr:\n{err}",
        pcm.len()
    );
    // The dominant frequency by rising zero crossings over the middle.
    let mid = &pcm[pcm.len() / 10..pcm.len() * 9 / 10];
    let rising = mid.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    let hz = rising as f64 * 16_000.0 / mid.len() as f64;
    assert!((hz - 1000.0).abs() <= 20.0, "{hz:.1} Hz; stderr:\n{err}");
}
