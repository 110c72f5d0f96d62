//! The simulated PPPP camera's side of the experimental talk path (see
//! `crate::proto::pppp::talk` for what is known and what is guessed):
//! after JSON `talk_send {isSend: 1}` or binary `0x3002`, each packet
//! delivered on DRW channel 3 must be a 32-byte `stream_head_t` (magic
//! `55 AA 15 A8`, type `0x08` ADPCM on JSON cameras or `0x06` A-law on binary
//! ones, stream id 1, `len` = the payload's length) followed by the audio,
//! 8 kHz mono, ADPCM from a fresh state per packet. Each one is checked,
//! decoded and appended to the current [`Playback`]; anything else, or
//! anything before the talk command, is counted as rejected.
//!
//! Written from `pppp.md` §3.4–3.5, not from the client's code.

use std::time::Instant;

use super::handle::Shared;
use crate::media::audio::codec;
use crate::model::AudioCodec;
use crate::proto::pppp::dialect::Dialect;

/// The rate of talk audio.
pub const RATE: u32 = 8000;

/// One delivered channel-3 packet.
pub(super) fn on_packet(shared: &Shared, dialect: Dialect, talking: bool, now: Instant, p: &[u8]) {
    if !talking {
        shared.with_playback(|pb| pb.rejected += 1);
        return;
    }
    match parse(dialect, p) {
        Ok((codec, frame_no, payload)) => match codec::decode(codec, payload) {
            Ok(pcm) => shared.with_playback(|pb| {
                if pb.frames == 0 && frame_no != 0 {
                    pb.out_of_sequence += 1;
                }
                pb.codec = Some(codec);
                pb.sample_rate = RATE;
                pb.frames += 1;
                pb.first_frame_at.get_or_insert(now);
                pb.last_frame_at = Some(now);
                if pb.pcm.len() + pcm.len() <= crate::sim::playback::MAX_PLAYBACK_SAMPLES {
                    pb.raw.extend_from_slice(payload);
                    pb.pcm.extend_from_slice(&pcm);
                }
            }),
            Err(_) => shared.with_playback(|pb| pb.rejected += 1),
        },
        Err(why) => {
            tracing::debug!(why, "sim: talk packet rejected");
            shared.with_playback(|pb| pb.rejected += 1);
        }
    }
}

fn parse(dialect: Dialect, p: &[u8]) -> Result<(AudioCodec, u32, &[u8]), &'static str> {
    if p.len() <= 32 {
        return Err("no audio after the 32-byte header");
    }
    if p.get(0..4) != Some(&[0x55, 0xAA, 0x15, 0xA8][..]) {
        return Err("not a stream header (55 AA 15 A8)");
    }
    let codec = match (dialect, p[4]) {
        (Dialect::Json, 0x08) => AudioCodec::ImaAdpcm,
        (Dialect::Binary, 0x06) => AudioCodec::Alaw,
        _ => return Err("a frame type this camera does not play"),
    };
    if p[5] != 1 {
        return Err("stream id is not 1 (audio)");
    }
    let frame_no = u32::from_le_bytes([p[12], p[13], p[14], p[15]]);
    let len = u32::from_le_bytes([p[16], p[17], p[18], p[19]]);
    let payload = &p[32..];
    if usize::try_from(len).ok() != Some(payload.len()) {
        return Err("len does not match the payload");
    }
    Ok((codec, frame_no, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(kind: u8, n: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x55, 0xAA, 0x15, 0xA8, kind, 1, 0, 0, 0, 0, 0, 0];
        p.extend_from_slice(&n.to_le_bytes());
        p.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        p.resize(32, 0);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn packets_are_checked_against_the_dialects_audio_type() {
        let ok = packet(0x08, 3, &[0x11; 160]);
        assert!(
            matches!(parse(Dialect::Json, &ok), Ok((AudioCodec::ImaAdpcm, 3, p)) if p.len() == 160)
        );
        assert!(parse(Dialect::Binary, &ok).is_err());
        assert!(matches!(
            parse(Dialect::Binary, &packet(0x06, 0, &[0xD5; 320])),
            Ok((AudioCodec::Alaw, 0, _))
        ));
        let mut bad = ok.clone();
        bad[16] = 7;
        assert!(parse(Dialect::Json, &bad).is_err());
        assert!(parse(Dialect::Json, &ok[..32]).is_err());
        assert!(parse(Dialect::Json, &[]).is_err());
    }
}
