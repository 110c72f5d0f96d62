//! PPPP intercom — **experimental**. No open implementation sends audio to
//! these cameras (`pppp.md` §3.5), so this is the most plausible path from
//! what the references do know, behind a per-camera [`TalkPolicy`]:
//!
//! * **Known:** PPPP lists DRW channel 3 as "audio to the device"; the JSON
//!   dialect has command 300 `talk_send` (`isSend: 1` → `result: 0`); the
//!   binary dialect has `0x3002`/`0x3003` (LOCAL_LIVEAUDIO_START/STOP, "may
//!   be talk"); the cameras' own audio is IMA ADPCM (JSON) or G.711 A-law
//!   (binary) at 8 kHz, each packet a 32-byte `stream_head_t` plus payload.
//! * **Guessed:** that `talk_send`/`0x3002` opens the speaker; that channel 3
//!   takes packets laid out like the camera's own audio ([`packet`]: the
//!   same header with type `0x08` for ADPCM or `0x06` for A-law, stream id
//!   1), with ADPCM restarted per packet as the cameras send theirs; 320
//!   samples (40 ms) per packet.
//!
//! The policy's default turns it on for the JSON dialect (where `talk_send`
//! exists) and off for the others; a user whose camera stays silent turns
//! it off, and one whose binary camera turns out to work turns it on.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::dialect::Dialect;
use crate::model::{AudioCodec, TalkFormat};

/// The DRW channel that carries audio to the camera.
pub const CH_TALK: u8 = 3;
/// Samples in one talk packet (40 ms at 8 kHz).
pub const SAMPLES_PER_PACKET: usize = 320;
/// How long the camera may take to answer the talk command.
pub const START_TIMEOUT: Duration = Duration::from_secs(5);
/// `stream_head_t` magic (`55 AA 15 A8`).
pub const MAGIC: u32 = 0xA815_AA55;
/// Header length.
pub const HEADER_LEN: usize = 32;

/// Whether a PPPP camera is offered intercom (`intercom` in its config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TalkPolicy {
    /// On for the JSON dialect, off for the others.
    #[default]
    Auto,
    /// On for any dialect that has a talk command (JSON, binary).
    On,
    /// Off.
    Off,
}

impl TalkPolicy {
    /// The format the camera gets, if intercom is on for `dialect`.
    pub fn format(self, dialect: Dialect) -> Option<TalkFormat> {
        let on = match (self, dialect) {
            (Self::Off, _) | (_, Dialect::Cgi) => false,
            (Self::On, _) | (Self::Auto, Dialect::Json) => true,
            (Self::Auto, Dialect::Binary) => false,
        };
        let codec = match dialect {
            Dialect::Json => AudioCodec::ImaAdpcm,
            Dialect::Binary | Dialect::Cgi => AudioCodec::Alaw,
        };
        on.then_some(TalkFormat {
            codec,
            sample_rate: 8000,
            samples_per_frame: SAMPLES_PER_PACKET,
        })
    }

    /// As the config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::On => "on",
            Self::Off => "off",
        }
    }
}

impl fmt::Display for TalkPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not `auto`, `on` or `off`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an intercom policy (auto, on, off)")]
pub struct UnknownTalkPolicy(pub String);

impl FromStr for TalkPolicy {
    type Err = UnknownTalkPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "on" | "true" => Ok(Self::On),
            "off" | "false" => Ok(Self::Off),
            _ => Err(UnknownTalkPolicy(s.chars().take(32).collect())),
        }
    }
}

/// One talk packet for DRW channel 3: the 32-byte `stream_head_t`
/// (`pppp.md` §3.4, little-endian) and the encoded audio. `at` is the time
/// since the playback started (the header's seconds and milliseconds).
pub fn packet(codec: AudioCodec, frame_no: u32, at: Duration, payload: &[u8]) -> Option<Vec<u8>> {
    let kind = match codec {
        AudioCodec::ImaAdpcm => 0x08,
        AudioCodec::Alaw => 0x06,
        _ => return None,
    };
    let len = u32::try_from(payload.len()).ok()?;
    let mut p = Vec::with_capacity(HEADER_LEN + payload.len());
    p.extend_from_slice(&MAGIC.to_le_bytes());
    p.push(kind);
    p.push(1); // stream id: audio
    p.extend_from_slice(&(at.subsec_millis() as u16).to_le_bytes());
    p.extend_from_slice(
        &u32::try_from(at.as_secs())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    p.extend_from_slice(&frame_no.to_le_bytes());
    p.extend_from_slice(&len.to_le_bytes());
    p.resize(HEADER_LEN, 0);
    p.extend_from_slice(payload);
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_talks_to_json_cameras_only() {
        let f = TalkPolicy::Auto.format(Dialect::Json).unwrap();
        assert_eq!(
            (f.codec, f.sample_rate, f.samples_per_frame),
            (AudioCodec::ImaAdpcm, 8000, 320)
        );
        assert_eq!(TalkPolicy::Auto.format(Dialect::Binary), None);
        assert_eq!(
            TalkPolicy::On.format(Dialect::Binary).map(|f| f.codec),
            Some(AudioCodec::Alaw)
        );
        assert_eq!(TalkPolicy::On.format(Dialect::Cgi), None);
        assert_eq!(TalkPolicy::Off.format(Dialect::Json), None);
        assert_eq!("ON".parse::<TalkPolicy>(), Ok(TalkPolicy::On));
        assert!("maybe".parse::<TalkPolicy>().is_err());
        assert_eq!(TalkPolicy::default().to_string(), "auto");
    }

    #[test]
    fn a_talk_packet_carries_the_stream_header_of_the_cameras_own_audio() {
        let p = packet(
            AudioCodec::ImaAdpcm,
            7,
            Duration::from_millis(2_280),
            &[0xAB; 160],
        )
        .unwrap();
        assert_eq!(p.len(), 32 + 160);
        assert_eq!(&p[0..6], &[0x55, 0xAA, 0x15, 0xA8, 0x08, 0x01]);
        assert_eq!(&p[6..8], &280u16.to_le_bytes(), "milliseconds");
        assert_eq!(&p[8..12], &2u32.to_le_bytes(), "seconds");
        assert_eq!(&p[12..16], &7u32.to_le_bytes(), "frame number");
        assert_eq!(&p[16..20], &160u32.to_le_bytes(), "payload length");
        assert!(p[20..32].iter().all(|b| *b == 0));
        let a = packet(AudioCodec::Alaw, 0, Duration::ZERO, &[0xD5; 320]).unwrap();
        assert_eq!(a[4], 0x06);
        assert_eq!(packet(AudioCodec::Mulaw, 0, Duration::ZERO, &[]), None);
    }
}
