//! The back channel against a camera-side DTLS client from the same engine,
//! and the frame layout against the TUTK document's table (§12.2, §10.2).

use super::*;
use crate::proto::testing::t0;
use crate::proto::tutk::dtls::DtlsConfig;

const ENR: &[u8] = b"aKzdqckqZ8HUHFe5";

fn pcmu() -> TalkFormat {
    TalkFormat {
        codec: AudioCodec::Mulaw,
        sample_rate: 8000,
        samples_per_frame: SAMPLES_PER_FRAME,
    }
}

#[test]
fn a_frame_is_laid_out_as_the_tutk_document_says() {
    let payload = [0xFFu8; 160];
    let f = encode_frame(&pcmu(), 0, 7, &payload).unwrap();
    assert_eq!(f.len(), 36 + 160 + 16);
    // Header (TUTK document §12.2), little-endian.
    assert_eq!(&f[0..4], &[0x03, 0x09, 0x0C, 0x00]);
    assert_eq!(&f[4..8], &7u32.to_le_bytes(), "TX sequence");
    assert_eq!(&f[8..12], &0u32.to_le_bytes(), "timestamp µs of frame 0");
    assert_eq!(&f[12..16], &1u32.to_le_bytes(), "flags of the first frame");
    assert_eq!(&f[16..18], &[0x03, 0x01]);
    assert_eq!(&f[18..20], &0u16.to_le_bytes(), "previous frame number");
    assert_eq!(&f[20..22], &1u16.to_le_bytes(), "one packet per frame");
    assert_eq!(&f[22..24], &0x0010u16.to_le_bytes());
    assert_eq!(
        &f[24..28],
        &(160u32 + 16).to_le_bytes(),
        "payload + FRAMEINFO"
    );
    assert_eq!(&f[28..32], &0u32.to_le_bytes());
    assert_eq!(&f[32..36], &1u32.to_le_bytes(), "frame numbers start at 1");
    assert_eq!(&f[36..196], &payload[..]);
    // TX FRAMEINFO (§10.2): PCMU 0x89, 8 kHz (index 0) → flags 0b10.
    let info = &f[196..];
    assert_eq!(&info[0..2], &[0x89, 0x00]);
    assert_eq!(info[2], 0x02);
    assert_eq!((info[3], info[4], info[5]), (0, 1, 0));
    assert_eq!(&info[6..12], &[0; 6]);
    assert_eq!(&info[12..16], &0u32.to_le_bytes());

    // Frame 50 (the 51st): 50 × 20 ms = 1000 ms; later flags.
    let f = encode_frame(&pcmu(), 50, 8, &payload).unwrap();
    assert_eq!(&f[8..12], &1_000_000u32.to_le_bytes());
    assert_eq!(&f[12..16], &0x0010_0001u32.to_le_bytes());
    assert_eq!(&f[18..20], &50u16.to_le_bytes());
    assert_eq!(&f[28..32], &50u32.to_le_bytes());
    assert_eq!(&f[32..36], &51u32.to_le_bytes());
    assert_eq!(&f[196 + 12..], &1000u32.to_le_bytes());
}

#[test]
fn sixteen_khz_pcm_sets_rate_index_three() {
    // The document's own example: 16 kHz, 16-bit, mono → flags 0x0E.
    let fmt = TalkFormat {
        codec: AudioCodec::PcmS16Le,
        sample_rate: 16000,
        samples_per_frame: 160,
    };
    let f = encode_frame(&fmt, 1, 0, &[0; 320]).unwrap();
    assert_eq!(&f[36 + 320..36 + 322], &[0x8C, 0x00]);
    assert_eq!(f[36 + 322], 0x0E);
    // 160 samples at 16 kHz = 10 ms.
    assert_eq!(&f[36 + 320 + 12..], &10u32.to_le_bytes());
}

#[test]
fn codecs_and_rates_the_camera_cannot_take_are_not_framed() {
    let mut f = pcmu();
    f.codec = AudioCodec::Aac;
    assert_eq!(encode_frame(&f, 0, 0, &[1]), None);
    let mut f = pcmu();
    f.sample_rate = 9000;
    assert_eq!(encode_frame(&f, 0, 0, &[1]), None);
}

#[test]
fn the_login_answer_echoes_the_nonce_and_sets_the_back_channel_bytes() {
    let a = login_answer([1, 2, 3, 4]);
    assert_eq!(a.len(), 60);
    assert_eq!(&a[0..2], &[0x00, 0x21]);
    assert_eq!(&a[20..24], &[1, 2, 3, 4]);
    assert_eq!((a[29], a[31]), (1, 1));
    assert_eq!(&a[36..40], &4u32.to_le_bytes());
    assert_eq!(&a[40..44], &av::CAPABILITIES.to_le_bytes());
    assert_eq!((a[54], a[56]), (3, 2));
}

/// The camera's side: a DTLS client with the same PSK.
struct Camera {
    dtls: Dtls,
    received: Vec<Vec<u8>>,
    connected: bool,
}

impl Camera {
    fn new(now: Instant) -> Self {
        let mut cfg = DtlsConfig::new(Psk::from_enr(ENR));
        cfg.suites = vec![CipherSuite::PskAes128CbcSha256];
        let mut dtls = Dtls::client(cfg, [9; 32]);
        dtls.start(now);
        Self {
            dtls,
            received: Vec::new(),
            connected: false,
        }
    }

    fn pump(&mut self) {
        while let Some(ev) = self.dtls.poll_event() {
            match ev {
                DtlsEvent::Connected { .. } => self.connected = true,
                DtlsEvent::Data(d) => self.received.push(d.to_vec()),
                DtlsEvent::Closed(_) => {}
            }
        }
    }
}

/// Moves datagrams both ways until neither side has any.
fn exchange(now: Instant, cam: &mut Camera, bc: &mut BackChannel) {
    loop {
        let mut moved = false;
        while let Some(d) = cam.dtls.poll_transmit() {
            bc.handle_datagram(now, &d);
            moved = true;
        }
        while let Some(d) = bc.poll_transmit() {
            cam.dtls.handle_datagram(now, &d);
            moved = true;
        }
        cam.pump();
        if !moved {
            return;
        }
    }
}

fn login(nonce: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0u8; av::LOGIN1_LEN];
    p[2..4].copy_from_slice(&0x000Cu16.to_le_bytes());
    p[20..24].copy_from_slice(&nonce);
    p[24..29].copy_from_slice(b"admin");
    p
}

fn events(bc: &mut BackChannel) -> Vec<BackEvent> {
    std::iter::from_fn(|| bc.poll_event()).collect()
}

#[test]
fn the_camera_dials_in_logs_in_and_gets_paced_frames_until_drained() {
    let t = t0();
    let mut bc = BackChannel::new(TalkId(1), pcmu(), Psk::from_enr(ENR), [3; 32], t);
    let mut cam = Camera::new(t);
    exchange(t, &mut cam, &mut bc);
    assert!(cam.connected, "DTLS up with the camera as the client");
    assert!(events(&mut bc).is_empty(), "not ready before the login");

    cam.dtls.send(&login([9, 8, 7, 6])).unwrap();
    exchange(t, &mut cam, &mut bc);
    assert_eq!(events(&mut bc), [BackEvent::Ready]);
    let answer = cam.received.pop().expect("the login answer");
    assert_eq!(&answer[0..2], &[0x00, 0x21]);
    assert_eq!(&answer[20..24], &[9, 8, 7, 6]);

    // A repeated login is answered again.
    cam.dtls.send(&login([9, 8, 7, 6])).unwrap();
    exchange(t, &mut cam, &mut bc);
    assert_eq!(cam.received.len(), 1);
    cam.received.clear();

    // One second of audio, paced by the back channel's own timer.
    let frames: Vec<Bytes> = (0..50).map(|i| Bytes::from(vec![i as u8; 160])).collect();
    bc.push(t, frames).unwrap();
    bc.finish(t);
    let mut now = t;
    let mut arrivals = Vec::new();
    while let Some(next) = bc.poll_timeout() {
        now = now.max(next);
        bc.handle_timeout(now);
        let before = cam.received.len();
        exchange(now, &mut cam, &mut bc);
        arrivals.extend(std::iter::repeat_n(now - t, cam.received.len() - before));
        if bc.state == State::Over {
            break;
        }
    }
    assert_eq!(events(&mut bc), [BackEvent::Drained]);
    assert_eq!(cam.received.len(), 50);
    for (i, f) in cam.received.iter().enumerate() {
        assert_eq!(&f[32..36], &(i as u32 + 1).to_le_bytes(), "frame number");
        assert_eq!(&f[4..8], &(i as u32).to_le_bytes(), "sequence");
        assert_eq!(f[36], i as u8, "payload in order");
    }
    let last = *arrivals.last().unwrap();
    assert_eq!(last, Duration::from_millis(980) - crate::proto::talk::LEAD);
    assert_eq!(bc.played(), Duration::from_secs(1));
}

#[test]
fn a_camera_that_never_dials_in_fails_the_channel_after_the_setup_timeout() {
    let t = t0();
    let mut bc = BackChannel::new(TalkId(1), pcmu(), Psk::from_enr(ENR), [3; 32], t);
    let deadline = bc.poll_timeout().unwrap();
    assert!(deadline <= t + SETUP_TIMEOUT);
    bc.handle_timeout(t + SETUP_TIMEOUT);
    let ev = events(&mut bc);
    assert!(
        matches!(ev.as_slice(), [BackEvent::Failed(w)] if w.contains("never opened")),
        "{ev:?}"
    );
    assert_eq!(bc.poll_timeout(), None);
}

#[test]
fn a_camera_with_another_psk_never_gets_the_channel() {
    let t = t0();
    let mut bc = BackChannel::new(
        TalkId(1),
        pcmu(),
        Psk::from_enr(b"another-enr-0000"),
        [3; 32],
        t,
    );
    let mut cam = Camera::new(t);
    exchange(t, &mut cam, &mut bc);
    assert!(!cam.connected);
    bc.handle_timeout(t + SETUP_TIMEOUT);
    assert!(matches!(events(&mut bc).as_slice(), [BackEvent::Failed(_)]));
}
