//! A9 demo-mode wire format (plain UDP, no PPPP framing).
//!
//! Facts (`../shared/reference/pppp.md` §5, the A9 forum thread):
//! - `42 76` sent to the video port (8080) starts the MJPEG stream; the camera
//!   answers from port 8080 with datagrams of up to 1472 bytes: an 8-byte header,
//!   then JPEG bytes. Frames start at `FF D8` and end at `FF D9`.
//! - The original scripts sent `30 67` and `30 66` to the audio port (8070)
//!   before audio arrived.
//! - Wi-Fi setup on port 8090: `66` ssid `###` password `00 99`, ssid and
//!   password shorter than 32 bytes; the camera answers three identical datagrams.
//!
//! Inference (not in the references, hence the `FrameCheck` policy): the A9's
//! chip is a Beken BK7252, and Beken's video-transfer code prefixes each UDP
//! packet with `[frame_id u8][is_eof u8][packet counter u8][size u8]` plus four
//! reserved bytes in its 8-byte variant. [`VideoHeader`] reads that layout.

use super::super::codec::{Reader, WireError};

/// Sent to the video port to start streaming.
pub const START_VIDEO: [u8; 2] = [0x42, 0x76];
/// Sent to the audio port (twice, these two) by the scripts that got audio.
pub const START_AUDIO: [[u8; 2]; 2] = [[0x30, 0x67], [0x30, 0x66]];
/// Length of the per-datagram video header.
pub const HEADER_LEN: usize = 8;
/// Largest datagram the camera sends (Ethernet MTU minus IP and UDP headers).
pub const MAX_DATAGRAM: usize = 1472;
/// Longest SSID or password the camera accepts (the forum's `assert len < 0x20`).
pub const MAX_WIFI_FIELD: usize = 31;
/// JPEG start-of-image marker.
pub const SOI: [u8; 2] = [0xFF, 0xD8];
/// JPEG end-of-image marker.
pub const EOI: [u8; 2] = [0xFF, 0xD9];

/// The 8-byte header of a video datagram, read as Beken's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoHeader {
    /// Frame number, wrapping at 256.
    pub frame_id: u8,
    /// Set on the last datagram of a frame.
    pub end_of_frame: bool,
    /// Datagram number within the frame (1-based on Beken firmware).
    pub packet: u8,
    /// The bytes as received, kept for logs and for cameras whose header differs.
    pub raw: [u8; HEADER_LEN],
}

impl VideoHeader {
    /// Builds the header a Beken-style camera sends.
    pub fn new(frame_id: u8, packet: u8, end_of_frame: bool) -> Self {
        let raw = [frame_id, u8::from(end_of_frame), packet, 0, 0, 0, 0, 0];
        Self {
            frame_id,
            end_of_frame,
            packet,
            raw,
        }
    }
}

/// One video datagram: header plus a slice of JPEG bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoDatagram<'a> {
    /// The header.
    pub header: VideoHeader,
    /// JPEG bytes carried by this datagram.
    pub payload: &'a [u8],
}

impl<'a> VideoDatagram<'a> {
    /// Parses a datagram from the video port.
    pub fn decode(buf: &'a [u8]) -> Result<Self, WireError> {
        if buf.len() > MAX_DATAGRAM {
            return Err(WireError::Invalid {
                field: "video datagram",
                reason: format!("{} bytes, more than {MAX_DATAGRAM}", buf.len()),
            });
        }
        let mut r = Reader::new(buf);
        let head = r.take(HEADER_LEN)?;
        let mut raw = [0u8; HEADER_LEN];
        raw.copy_from_slice(head);
        Ok(Self {
            header: VideoHeader {
                frame_id: raw[0],
                end_of_frame: raw[1] != 0,
                packet: raw[2],
                raw,
            },
            payload: r.rest(),
        })
    }

    /// Appends the datagram's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header.raw);
        out.extend_from_slice(self.payload);
    }
}

/// The Wi-Fi provisioning request for port 8090.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WifiRequest<'a> {
    /// Network name.
    pub ssid: &'a [u8],
    /// Network password (empty for an open network).
    pub password: &'a [u8],
}

/// Why an SSID/password pair cannot be sent to a demo-mode camera.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WifiFieldError {
    /// SSID empty.
    #[error("ssid must not be empty")]
    EmptySsid,
    /// SSID too long.
    #[error("ssid is {0} bytes; this camera accepts at most {MAX_WIFI_FIELD}")]
    SsidTooLong(usize),
    /// Password too long.
    #[error("password is {0} bytes; this camera accepts at most {MAX_WIFI_FIELD}")]
    PasswordTooLong(usize),
    /// Password too short for WPA.
    #[error(
        "password must be empty (open network) or 8 to {MAX_WIFI_FIELD} bytes (WPA), got {0} bytes"
    )]
    PasswordTooShort(usize),
    /// A character the framing cannot carry.
    #[error("{field} must not contain {what}")]
    Forbidden {
        /// `ssid` or `password`.
        field: &'static str,
        /// The offending sequence.
        what: &'static str,
    },
}

impl<'a> WifiRequest<'a> {
    /// Checks the fields against what the camera's framing can carry.
    pub fn new(ssid: &'a str, password: &'a str) -> Result<Self, WifiFieldError> {
        Self::check_ssid(ssid)?;
        Self::check_password(password)?;
        Ok(Self {
            ssid: ssid.as_bytes(),
            password: password.as_bytes(),
        })
    }

    /// The SSID rules alone (for an SSID staged before its password).
    pub fn check_ssid(ssid: &str) -> Result<(), WifiFieldError> {
        let s = ssid.as_bytes();
        if s.is_empty() {
            return Err(WifiFieldError::EmptySsid);
        }
        if s.len() > MAX_WIFI_FIELD {
            return Err(WifiFieldError::SsidTooLong(s.len()));
        }
        if ssid.contains("###") {
            return Err(WifiFieldError::Forbidden {
                field: "ssid",
                what: "\"###\" (it separates ssid and password)",
            });
        }
        if s.contains(&0) {
            return Err(WifiFieldError::Forbidden {
                field: "ssid",
                what: "a NUL byte",
            });
        }
        Ok(())
    }

    /// The password rules alone (for a password staged before its SSID).
    pub fn check_password(password: &str) -> Result<(), WifiFieldError> {
        let p = password.as_bytes();
        if p.len() > MAX_WIFI_FIELD {
            return Err(WifiFieldError::PasswordTooLong(p.len()));
        }
        if !p.is_empty() && p.len() < 8 {
            return Err(WifiFieldError::PasswordTooShort(p.len()));
        }
        if p.contains(&0) {
            return Err(WifiFieldError::Forbidden {
                field: "password",
                what: "a NUL byte",
            });
        }
        Ok(())
    }

    /// `66` ssid `###` password `00 99`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x66);
        out.extend_from_slice(self.ssid);
        out.extend_from_slice(b"###");
        out.extend_from_slice(self.password);
        out.extend_from_slice(&[0x00, 0x99]);
    }

    /// Parses a request (the camera's side).
    pub fn decode(buf: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        let lead = r.u8()?;
        if lead != 0x66 {
            return Err(WireError::BadMagic {
                expected: "66",
                got: format!("{lead:02x}"),
            });
        }
        let body = r.rest();
        let Some(body) = body.strip_suffix(&[0x00, 0x99]) else {
            return Err(WireError::Invalid {
                field: "wifi request",
                reason: "does not end with 00 99".into(),
            });
        };
        let Some(sep) = body.windows(3).position(|w| w == b"###") else {
            return Err(WireError::Invalid {
                field: "wifi request",
                reason: "no ### separator".into(),
            });
        };
        let (ssid, rest) = body.split_at(sep);
        let password = rest.get(3..).unwrap_or_default();
        if ssid.len() > MAX_WIFI_FIELD || password.len() > MAX_WIFI_FIELD {
            return Err(WireError::Invalid {
                field: "wifi request",
                reason: "ssid or password longer than 31 bytes".into(),
            });
        }
        Ok(Self { ssid, password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_request_matches_the_forum_script_byte_for_byte() {
        // The forum script builds b"\x66" + ssid + b"###" + pwd + b"\x00" + b"\x99".
        let mut out = Vec::new();
        WifiRequest::new("home", "secret123")
            .unwrap()
            .encode(&mut out);
        let expected: Vec<u8> =
            [&[0x66][..], b"home", b"###", b"secret123", &[0x00, 0x99]].concat();
        assert_eq!(out, expected);
        assert_eq!(
            WifiRequest::decode(&out).unwrap(),
            WifiRequest::new("home", "secret123").unwrap()
        );
    }

    #[test]
    fn rejects_fields_the_camera_cannot_take() {
        let long = "x".repeat(32);
        assert_eq!(
            WifiRequest::new("", "12345678"),
            Err(WifiFieldError::EmptySsid)
        );
        assert_eq!(
            WifiRequest::new(&long, ""),
            Err(WifiFieldError::SsidTooLong(32))
        );
        assert_eq!(
            WifiRequest::new("a", &long),
            Err(WifiFieldError::PasswordTooLong(32))
        );
        assert_eq!(
            WifiRequest::new("a", "short"),
            Err(WifiFieldError::PasswordTooShort(5))
        );
        assert!(WifiRequest::new("a###b", "12345678").is_err());
        assert!(WifiRequest::new("a", "1234\u{0}5678").is_err());
        assert!(WifiRequest::new("open-net", "").is_ok());
        assert!(WifiRequest::new(&"x".repeat(31), &"y".repeat(31)).is_ok());
    }

    #[test]
    fn video_datagram_needs_its_header() {
        assert_eq!(
            VideoDatagram::decode(&[1, 2, 3]),
            Err(WireError::Truncated { need: 8, got: 3 })
        );
        let d = VideoDatagram::decode(&[7, 1, 3, 0, 0, 0, 0, 0, 0xFF, 0xD9]).unwrap();
        assert_eq!(d.header, VideoHeader::new(7, 3, true));
        assert_eq!(d.payload, &[0xFF, 0xD9]);
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(out, [7, 1, 3, 0, 0, 0, 0, 0, 0xFF, 0xD9]);
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let _ = VideoDatagram::decode(&bytes);
            let _ = WifiRequest::decode(&bytes);
        }
    }
}
