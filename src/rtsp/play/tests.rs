use super::*;

fn frame(ms: u64, keyframe: bool) -> VideoFrame {
    // SPS, PPS, IDR (keyframe) or a non-IDR slice, Annex-B.
    let mut data = Vec::new();
    if keyframe {
        data.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x64, 0, 0x1F, 0, 0, 0, 1, 0x68, 0xEE]);
        data.extend_from_slice(&[0, 0, 0, 1, 0x65, 1, 2, 3]);
    } else {
        data.extend_from_slice(&[0, 0, 0, 1, 0x41, 9, 9]);
    }
    VideoFrame {
        codec: VideoCodec::H264,
        keyframe,
        timestamp: Duration::from_millis(ms),
        data: Bytes::from(data),
    }
}

fn h264() -> VideoTrack {
    VideoTrack::H264 {
        fmtp: String::new(),
    }
}

fn player(now: Instant, audio: Option<AudioTrack>) -> Player {
    Player::new(
        now,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        Some((0, h264())),
        audio.map(|a| (1, a)),
        [0x1111_2222_3333_4444, 0x5555_6666_7777_8888],
        "cam2mqtt".into(),
    )
}

fn drain(p: &mut Player) -> Vec<Outgoing> {
    std::iter::from_fn(|| p.poll_transmit()).collect()
}

/// The RTP packets only (no sender reports).
fn drain_rtp(p: &mut Player) -> Vec<Outgoing> {
    drain(p).into_iter().filter(|o| !o.rtcp).collect()
}

fn rtp_ts(packet: &[u8]) -> u32 {
    u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]])
}

/// RTP timestamps of the last packet of each video frame (marker set).
fn frame_stamps(out: &[Outgoing]) -> Vec<u32> {
    out.iter()
        .filter(|o| o.track == 0 && !o.rtcp && o.packet[1] & 0x80 != 0)
        .map(|o| rtp_ts(&o.packet))
        .collect()
}

#[test]
fn a_gop_ends_at_now_and_frames_follow_the_cameras_clock() {
    let t0 = crate::io::clock::now();
    let mut p = player(t0, None);
    p.handle_gop(
        t0,
        &[frame(1000, true), frame(1050, false), frame(1100, false)],
    );
    let stamps = frame_stamps(&drain(&mut p));
    let base = p.video.as_ref().unwrap().0.base;
    // The newest GOP frame sits at "now" (0 on the timeline), the ones
    // before it 50 and 100 ms (4500 and 9000 ticks) earlier.
    assert_eq!(
        stamps,
        vec![base.wrapping_sub(9000), base.wrapping_sub(4500), base]
    );
    // A live frame 40 ms later by the camera, arriving 47 ms later: the
    // camera's spacing wins (jitter is not passed on).
    p.handle_video(
        t0 + Duration::from_millis(47),
        &frame(1140, false),
        Some(t0 + Duration::from_millis(47)),
    );
    assert_eq!(frame_stamps(&drain(&mut p)), vec![base.wrapping_add(3600)]);
}

#[test]
fn a_drifting_camera_clock_is_reanchored_at_arrival() {
    let t0 = crate::io::clock::now();
    let mut p = player(t0, None);
    p.handle_gop(t0, &[frame(0, true)]);
    drain(&mut p);
    let base = p.video.as_ref().unwrap().0.base;
    // The camera says 10 s passed; it arrived 2 s later.
    let at = t0 + Duration::from_secs(2);
    p.handle_video(at, &frame(10_000, false), Some(at));
    assert_eq!(
        frame_stamps(&drain(&mut p)),
        vec![base.wrapping_add(180_000)]
    );
    // A camera clock that jumps back does not move RTP time backwards:
    // the frame goes the least gap (1 ms, 90 ticks) after the one before.
    p.handle_video(at, &frame(5, false), Some(at));
    assert_eq!(
        frame_stamps(&drain(&mut p)),
        vec![base.wrapping_add(180_090)]
    );
}

#[test]
fn after_a_loss_frames_wait_for_the_next_keyframe() {
    let t0 = crate::io::clock::now();
    let mut p = player(t0, None);
    p.handle_video(t0, &frame(0, false), Some(t0));
    assert!(drain(&mut p).is_empty(), "no keyframe yet");
    p.handle_video(t0, &frame(40, true), Some(t0));
    assert_eq!(frame_stamps(&drain(&mut p)).len(), 1);
    p.handle_video_lost();
    p.handle_video(t0, &frame(80, false), Some(t0));
    assert!(drain(&mut p).is_empty());
    p.handle_video(t0, &frame(120, true), Some(t0));
    assert_eq!(frame_stamps(&drain(&mut p)).len(), 1);
    assert_eq!(p.stats().skipped, 2);
    assert_eq!(p.stats().frames, 2);
}

#[test]
fn audio_and_video_that_arrive_together_share_the_timeline() {
    // Lip sync: a client maps each track's RTP time to wall time through
    // the sender reports; audio and video that arrived at the same moment
    // must map to the same wall time.
    let t0 = crate::io::clock::now();
    let mut p = player(t0, Some(AudioTrack::Pcmu));
    p.handle_gop(t0, &[frame(0, true)]);
    let mut out = drain(&mut p);
    let mut at = t0;
    let mut video_at = Vec::new();
    let mut audio_at = Vec::new();
    for i in 1..=50u64 {
        at += Duration::from_millis(20);
        p.handle_audio(
            at,
            &LiveAudioChunk {
                codec: AudioCodec::Mulaw,
                sample_rate: 8000,
                data: Bytes::from(vec![0xFF; 160]),
                at,
            },
        );
        if i % 2 == 0 {
            p.handle_video(at, &frame(i * 20, false), Some(at));
            video_at.push(at);
        }
        audio_at.push(at);
    }
    out.extend(drain(&mut p));
    // Each track's first packet comes after its first sender report, so a
    // player can place it on the shared timeline from the start.
    for track in [0, 1] {
        let first = out.iter().find(|o| o.track == track).unwrap();
        assert!(first.rtcp, "track {track} starts with RTP, not a report");
    }
    // The next reports, when they are due (both by then).
    let now = t0 + rtcp::INTERVAL + Duration::from_millis(20);
    p.handle_timeout(now);
    let later = drain(&mut p);
    let reports: Vec<&Outgoing> = later.iter().filter(|o| o.rtcp).collect();
    assert_eq!(reports.len(), 2, "one sender report per track");
    // (rtp at report, clock rate) per track; the reports share one NTP time.
    let sr = |track: u8| {
        let r = reports.iter().find(|o| o.track == track).unwrap();
        (
            u32::from_be_bytes(r.packet[16..20].try_into().unwrap()),
            &r.packet[8..16],
        )
    };
    let ((v_sr, v_ntp), (a_sr, a_ntp)) = (sr(0), sr(1));
    assert_eq!(v_ntp, a_ntp);
    // Seconds before the report of each packet (end of the audio chunk:
    // a chunk that arrived at `at` was captured in the 20 ms before).
    let secs = |sr: u32, ts: u32, rate: f64| f64::from(sr.wrapping_sub(ts) as i32) / rate;
    let video: Vec<f64> = frame_stamps(&out)[1..]
        .iter()
        .map(|&ts| secs(v_sr, ts, 90_000.0))
        .collect();
    let audio: Vec<f64> = out
        .iter()
        .filter(|o| o.track == 1 && !o.rtcp)
        .map(|o| secs(a_sr, rtp_ts(&o.packet), 8000.0) - 0.020)
        .collect();
    for (i, v) in video.iter().enumerate() {
        let a = audio[2 * i + 1];
        assert!((v - a).abs() < 0.005, "frame {i}: video {v} s, audio {a} s");
    }
    let expected = now.duration_since(video_at[0]).as_secs_f64();
    assert!((video[0] - expected).abs() < 0.001);
    assert_eq!(audio_at.len(), audio.len());
}

#[test]
fn audio_stamps_run_by_sample_count_through_arrival_jitter() {
    let t0 = crate::io::clock::now();
    let mut p = player(t0, Some(AudioTrack::Pcmu));
    let mut stamps = Vec::new();
    for (i, jitter) in [0u64, 15, 3, 30, 8].iter().enumerate() {
        let at = t0 + Duration::from_millis(20 * i as u64 + jitter);
        let chunk = LiveAudioChunk {
            codec: AudioCodec::Mulaw,
            sample_rate: 8000,
            data: Bytes::from(vec![0x7F; 160]),
            at,
        };
        p.handle_audio(at, &chunk);
        stamps.extend(drain_rtp(&mut p).iter().map(|o| rtp_ts(&o.packet)));
    }
    let steps: Vec<u32> = stamps.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    assert_eq!(steps, vec![160; 4]);
    // A gap (the camera stopped sending for a second) re-places it.
    let at = t0 + Duration::from_millis(1200);
    p.handle_audio(
        at,
        &LiveAudioChunk {
            codec: AudioCodec::Mulaw,
            sample_rate: 8000,
            data: Bytes::from(vec![0x7F; 160]),
            at,
        },
    );
    let last = rtp_ts(&drain_rtp(&mut p)[0].packet);
    // The first chunk (arrived at 0) starts 20 ms before it, so the fifth
    // at 4 x 20 - 20 = 60 ms (480 ticks); the late one starts where its
    // arrival says: 1200 - 20 = 1180 ms (9440 ticks).
    assert_eq!(last.wrapping_sub(stamps[4]), 9440 - 480);
}

#[test]
fn adpcm_goes_out_as_mulaw_and_pcm_as_big_endian_l16() {
    let t0 = crate::io::clock::now();
    let of = |codec, sample_rate| {
        audio_track(&LiveAudioChunk {
            codec,
            sample_rate,
            data: Bytes::from_static(&[0; 4]),
            at: t0,
        })
    };
    assert_eq!(of(AudioCodec::ImaAdpcm, 8000), Some(AudioTrack::Pcmu));
    assert_eq!(of(AudioCodec::Alaw, 8000), Some(AudioTrack::Pcma));
    assert_eq!(
        of(AudioCodec::PcmS16Le, 16_000),
        Some(AudioTrack::L16(16_000))
    );
    assert_eq!(
        of(AudioCodec::Aac, 16_000),
        None,
        "AAC without an ADTS header"
    );
    let mut p = player(t0, Some(AudioTrack::Pcmu));
    let pcm: Vec<i16> = (0..160).map(|i| (i * 100) as i16).collect();
    let adpcm = codec::encode(AudioCodec::ImaAdpcm, &pcm).unwrap();
    p.handle_audio(
        t0,
        &LiveAudioChunk {
            codec: AudioCodec::ImaAdpcm,
            sample_rate: 8000,
            data: Bytes::from(adpcm.clone()),
            at: t0,
        },
    );
    let out = drain_rtp(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].packet[1] & 0x7F, pt::PCMU);
    let expected: Vec<u8> = codec::decode(AudioCodec::ImaAdpcm, &adpcm)
        .unwrap()
        .iter()
        .map(|&s| codec::mulaw_encode(s))
        .collect();
    assert_eq!(&out[0].packet[12..], &expected[..]);

    let mut p = player(t0, Some(AudioTrack::L16(16_000)));
    p.handle_audio(
        t0,
        &LiveAudioChunk {
            codec: AudioCodec::PcmS16Le,
            sample_rate: 16_000,
            data: Bytes::from_static(&[0x34, 0x12, 0xFF, 0x7F]),
            at: t0,
        },
    );
    assert_eq!(
        &drain_rtp(&mut p)[0].packet[12..],
        &[0x12, 0x34, 0x7F, 0xFF]
    );
}

#[test]
fn a_jpeg_rtp_cannot_carry_is_reencoded_and_counted() {
    let t0 = crate::io::clock::now();
    let mut p = Player::new(
        t0,
        SystemTime::UNIX_EPOCH,
        Some((0, VideoTrack::Jpeg)),
        None,
        [1, 2],
        "c".into(),
    );
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    // 4:4:4 (quality 95 with jpeg-encoder): RFC 2435 has no type for it.
    let full = crate::media::jpeg::encode_rgb(&img, 95).unwrap();
    let sub = crate::media::jpeg::encode_rgb(&img, 80).unwrap();
    p.handle_jpeg(t0, &sub, t0, |_| panic!("4:2:0 goes as it is"));
    assert_eq!(p.stats().reencoded, 0);
    p.handle_jpeg(t0, &full, t0, |_| Some(Bytes::from(sub.clone())));
    assert_eq!(p.stats().reencoded, 1);
    assert_eq!(p.stats().frames, 2);
    p.handle_jpeg(t0, b"not a jpeg", t0, |_| None);
    assert_eq!(p.stats().frames, 2);
}

#[test]
fn jpegs_keep_their_arrival_cadence_and_never_share_a_tick() {
    let t0 = crate::io::clock::now();
    let start = t0 + Duration::from_millis(80);
    let mut p = Player::new(
        start,
        SystemTime::UNIX_EPOCH,
        Some((0, VideoTrack::Jpeg)),
        None,
        [1, 2],
        "c".into(),
    );
    let img = image::RgbImage::from_fn(32, 16, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let jpeg = crate::media::jpeg::encode_rgb(&img, 80).unwrap();
    let never = |_: &[u8]| -> Option<Bytes> { panic!("4:2:0 goes as it is") };
    // The picture current at PLAY arrived 80 ms before it; the next one
    // 100 ms after that (the camera's 10 fps), a third at the same instant.
    p.handle_jpeg(start, &jpeg, t0, never);
    let next = t0 + Duration::from_millis(100);
    p.handle_jpeg(next, &jpeg, next, never);
    p.handle_jpeg(next, &jpeg, next, never);
    let s = frame_stamps(&drain(&mut p));
    assert_eq!(s.len(), 3);
    // 100 ms at 90 kHz between the first two, not the 20 ms between
    // their deliveries; then the least gap, one millisecond.
    assert_eq!(s[1].wrapping_sub(s[0]), 9000);
    assert_eq!(s[2].wrapping_sub(s[1]), 90);
}

/// Two ADTS frames (AAC LC, 16 kHz = index 8, mono), bodies `body_a` and
/// `body_b`: the header fields are written bit by bit from ISO/IEC
/// 13818-7 §6.2.1 (sync 0xFFF, MPEG-4, layer 0, no CRC, profile 1 = LC).
fn adts(bodies: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for body in bodies {
        let len = body.len() + 7;
        out.extend_from_slice(&[
            0xFF,
            0xF1,
            (1 << 6) | (8 << 2),
            (1 << 6) | ((len >> 11) as u8 & 0x03),
            (len >> 3) as u8,
            ((len as u8 & 0x07) << 5) | 0x1F,
            0xFC,
        ]);
        out.extend_from_slice(body);
    }
    out
}

#[test]
fn aac_goes_as_rfc_3640_with_its_config_from_the_adts_header() {
    let t0 = crate::io::clock::now();
    let chunk = LiveAudioChunk {
        codec: AudioCodec::Aac,
        sample_rate: 16_000,
        data: Bytes::from(adts(&[b"first", b"second!"])),
        at: t0,
    };
    // AudioSpecificConfig: object type 2 (5 bits), index 8 (4), 1 channel
    // (4), 000: 00010 1000 0001 000 = 0x1408.
    let track = audio_track(&chunk).unwrap();
    assert_eq!(
        track,
        AudioTrack::Aac {
            rate: 16_000,
            channels: 1,
            config: 0x1408
        }
    );
    let mut p = player(t0, Some(track));
    p.handle_audio(t0, &chunk);
    let out = drain_rtp(&mut p);
    assert_eq!(out.len(), 2, "one packet per AAC frame");
    // AU-headers-length 16 bits, then size 5 (13 bits) and index 0 (3).
    assert_eq!(
        &out[0].packet[12..],
        &[0, 16, 0, 5 << 3, b'f', b'i', b'r', b's', b't']
    );
    assert_eq!(&out[1].packet[12..16], &[0, 16, 0, 7 << 3]);
    assert_eq!(out[0].packet[1], 0x80 | pt::AAC, "marker: whole frames");
    assert_eq!(
        rtp_ts(&out[1].packet).wrapping_sub(rtp_ts(&out[0].packet)),
        1024
    );
    // Not ADTS: nothing offered, nothing sent.
    let junk = LiveAudioChunk {
        data: Bytes::from_static(b"\x00\x01garbage"),
        ..chunk
    };
    assert_eq!(audio_track(&junk), None);
    p.handle_audio(t0, &junk);
    assert!(drain(&mut p).is_empty());
}
