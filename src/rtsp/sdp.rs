//! The session description (SDP, RFC 8866) a DESCRIBE answers: one video
//! track in the camera's own codec, the camera's audio if it has any, and,
//! for a client that asked for the ONVIF back-channel, a `sendonly` audio
//! track it can talk on. Tracks are addressed by `a=control:trackID=N`.

/// The video of a camera, as RTP will carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoTrack {
    /// H.264 with its `fmtp` (from a keyframe: [`super::rtp::h264_fmtp`]).
    H264 {
        /// `packetization-mode=1;profile-level-id=…;sprop-parameter-sets=…`.
        fmtp: String,
    },
    /// H.265 with its `fmtp` ([`super::rtp::h265_fmtp`]).
    H265 {
        /// `sprop-vps=…;sprop-sps=…;sprop-pps=…`.
        fmtp: String,
    },
    /// JPEG (RFC 2435, static payload type 26).
    Jpeg,
}

/// Audio as RTP carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioTrack {
    /// G.711 μ-law, 8 kHz (static payload type 0).
    Pcmu,
    /// G.711 A-law, 8 kHz (static payload type 8).
    Pcma,
    /// 16-bit big-endian PCM at this rate, mono (dynamic type 98).
    L16(u32),
    /// AAC as the camera sent it (RFC 3640 AAC-hbr, dynamic type 99).
    Aac {
        /// Sampling rate.
        rate: u32,
        /// Channels.
        channels: u8,
        /// AudioSpecificConfig.
        config: u16,
    },
}

/// What a track (`trackID=N`) carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    /// The camera's video.
    Video,
    /// The camera's microphone.
    Audio,
    /// Audio from the client to the camera's speaker.
    Backchannel,
}

/// Payload types used.
pub mod pt {
    /// H.264.
    pub const H264: u8 = 96;
    /// H.265.
    pub const H265: u8 = 97;
    /// L16.
    pub const L16: u8 = 98;
    /// AAC (MPEG4-GENERIC).
    pub const AAC: u8 = 99;
    /// JPEG (static).
    pub const JPEG: u8 = 26;
    /// PCMU (static).
    pub const PCMU: u8 = 0;
    /// PCMA (static).
    pub const PCMA: u8 = 8;
}

/// What a DESCRIBE describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// The camera's name (`s=`).
    pub name: String,
    /// The video.
    pub video: VideoTrack,
    /// The camera's microphone, if streamed.
    pub audio: Option<AudioTrack>,
    /// Offer the ONVIF back-channel (PCMU and PCMA, `sendonly`).
    pub backchannel: bool,
    /// `o=` session id (a number that changes between bridge runs).
    pub session_id: u64,
}

impl Description {
    /// What track `n` carries (`None`: no such track). Tracks are numbered
    /// video, audio (if any), back-channel (if offered).
    pub fn track_kind(&self, n: u8) -> Option<TrackKind> {
        let mut kinds = vec![TrackKind::Video];
        if self.audio.is_some() {
            kinds.push(TrackKind::Audio);
        }
        if self.backchannel {
            kinds.push(TrackKind::Backchannel);
        }
        kinds.get(usize::from(n)).copied()
    }

    /// The SDP text (CRLF line ends).
    pub fn to_sdp(&self) -> String {
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push_str("\r\n");
        };
        line("v=0".into());
        line(format!("o=- {} 1 IN IP4 0.0.0.0", self.session_id));
        // Names are the user's: no line breaks may reach the SDP.
        let name: String = self.name.chars().filter(|c| !c.is_control()).collect();
        line(format!(
            "s={}",
            if name.is_empty() { "camera" } else { &name }
        ));
        line("c=IN IP4 0.0.0.0".into());
        line("t=0 0".into());
        line("a=control:*".into());
        line("a=range:npt=now-".into());
        let (vpt, rtpmap, fmtp) = match &self.video {
            VideoTrack::H264 { fmtp } => (pt::H264, Some("H264/90000"), Some(fmtp.as_str())),
            VideoTrack::H265 { fmtp } => (pt::H265, Some("H265/90000"), Some(fmtp.as_str())),
            VideoTrack::Jpeg => (pt::JPEG, Some("JPEG/90000"), None),
        };
        line(format!("m=video 0 RTP/AVP {vpt}"));
        if let Some(m) = rtpmap {
            line(format!("a=rtpmap:{vpt} {m}"));
        }
        if let Some(f) = fmtp {
            line(format!("a=fmtp:{vpt} {f}"));
        }
        line("a=recvonly".into());
        line("a=control:trackID=0".into());
        let mut track = 1;
        if let Some(a) = self.audio {
            let (apt, map) = match a {
                AudioTrack::Pcmu => (pt::PCMU, "PCMU/8000".to_string()),
                AudioTrack::Pcma => (pt::PCMA, "PCMA/8000".to_string()),
                AudioTrack::L16(rate) => (pt::L16, format!("L16/{rate}/1")),
                AudioTrack::Aac { rate, channels, .. } => {
                    (pt::AAC, format!("MPEG4-GENERIC/{rate}/{channels}"))
                }
            };
            line(format!("m=audio 0 RTP/AVP {apt}"));
            line(format!("a=rtpmap:{apt} {map}"));
            if let AudioTrack::Aac { config, .. } = a {
                line(format!(
                    "a=fmtp:{apt} streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config={config:04X}"
                ));
            }
            line("a=recvonly".into());
            line(format!("a=control:trackID={track}"));
            track += 1;
        }
        if self.backchannel {
            line(format!("m=audio 0 RTP/AVP {} {}", pt::PCMU, pt::PCMA));
            line(format!("a=rtpmap:{} PCMU/8000", pt::PCMU));
            line(format!("a=rtpmap:{} PCMA/8000", pt::PCMA));
            line("a=sendonly".into());
            line(format!("a=control:trackID={track}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_h264_camera_with_pcmu_and_a_backchannel() {
        let d = Description {
            name: "Front door".into(),
            video: VideoTrack::H264 {
                fmtp: "packetization-mode=1;profile-level-id=64001F;sprop-parameter-sets=Z2QAH6w=,aO48gA==".into(),
            },
            audio: Some(AudioTrack::Pcmu),
            backchannel: true,
            session_id: 42,
        };
        assert_eq!(
            d.to_sdp(),
            "v=0\r\no=- 42 1 IN IP4 0.0.0.0\r\ns=Front door\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
             a=control:*\r\na=range:npt=now-\r\n\
             m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
             a=fmtp:96 packetization-mode=1;profile-level-id=64001F;sprop-parameter-sets=Z2QAH6w=,aO48gA==\r\n\
             a=recvonly\r\na=control:trackID=0\r\n\
             m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\na=control:trackID=1\r\n\
             m=audio 0 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=sendonly\r\na=control:trackID=2\r\n"
        );
    }

    #[test]
    fn a_jpeg_camera_without_audio_and_a_name_with_a_line_break() {
        let d = Description {
            name: "Yard\r\nm=evil".into(),
            video: VideoTrack::Jpeg,
            audio: None,
            backchannel: false,
            session_id: 1,
        };
        let sdp = d.to_sdp();
        assert!(sdp.contains("s=Yardm=evil\r\n"), "{sdp}");
        assert!(sdp.contains("m=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\n"));
        assert_eq!(sdp.lines().filter(|l| l.starts_with("m=")).count(), 1);
    }
}
