//! A minimal RTSP client for tests: requests and answers as text, RTP over
//! the connection (`$`-framed), written from RFC 2326 §10.12 and §12 —
//! nothing of the bridge's code. For what a full client does, the tests use
//! ffmpeg and retina; this one does what they cannot: stop reading on
//! purpose, send audio on the back-channel, show the raw answers.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header lines, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Reply {
    /// The first header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// One connection.
pub struct RtspClient {
    stream: TcpStream,
    buf: Vec<u8>,
    cseq: u32,
    /// The session id, once SETUP answered one.
    pub session: Option<String>,
    /// An `Authorization` value sent with every request.
    pub authorization: Option<String>,
}

impl RtspClient {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::with_stream(TcpStream::connect(addr).await.expect("RTSP connect"))
    }

    /// Connects with a receive buffer of `bytes` (a client that will stop
    /// reading fills it soon).
    pub async fn connect_small(addr: SocketAddr, bytes: u32) -> Self {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.set_recv_buffer_size(bytes).unwrap();
        Self::with_stream(s.connect(addr).await.expect("RTSP connect"))
    }

    fn with_stream(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            cseq: 0,
            session: None,
            authorization: None,
        }
    }

    /// Sends a request and waits for its answer (interleaved data that comes
    /// first is dropped).
    pub async fn request(&mut self, method: &str, url: &str, headers: &[(&str, &str)]) -> Reply {
        self.cseq += 1;
        let mut text = format!("{method} {url} RTSP/1.0\r\nCSeq: {}\r\n", self.cseq);
        for (n, v) in headers {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(s) = &self.session {
            text.push_str(&format!("Session: {s}\r\n"));
        }
        if let Some(a) = &self.authorization {
            text.push_str(&format!("Authorization: {a}\r\n"));
        }
        text.push_str("\r\n");
        self.stream.write_all(text.as_bytes()).await.unwrap();
        loop {
            if let Some(reply) = self.take_reply() {
                if method == "SETUP" {
                    if let Some(s) = reply.header("session") {
                        self.session = Some(s.split(';').next().unwrap().trim().to_string());
                    }
                }
                return reply;
            }
            self.fill().await.expect("the server closed the connection");
        }
    }

    /// The next interleaved packet: (channel, payload); `None` when the
    /// server closed the connection.
    pub async fn packet(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.first() == Some(&b'$') && self.buf.len() >= 4 {
                let len = usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
                if self.buf.len() >= 4 + len {
                    let channel = self.buf[1];
                    let data = self.buf[4..4 + len].to_vec();
                    self.buf.drain(..4 + len);
                    return Some((channel, data));
                }
            } else if !self.buf.is_empty() && self.buf[0] != b'$' {
                // An answer to nothing we wait for: skip it.
                self.take_reply()?;
                continue;
            }
            self.fill().await?;
        }
    }

    /// Sends an interleaved packet.
    pub async fn send_packet(&mut self, channel: u8, payload: &[u8]) {
        let mut b = vec![b'$', channel];
        b.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
        b.extend_from_slice(payload);
        self.stream.write_all(&b).await.unwrap();
    }

    /// Whether the server has closed the connection (reads what is there
    /// within `wait`; data is dropped).
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let mut tmp = vec![0u8; 1 << 16];
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut tmp)).await {
                Err(_) => return false,
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(_)) => {}
            }
        }
    }

    async fn fill(&mut self) -> Option<()> {
        let mut tmp = vec![0u8; 1 << 16];
        let n = self.stream.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        self.buf.extend_from_slice(&tmp[..n]);
        Some(())
    }

    /// A whole answer at the front of the buffer (interleaved data before it
    /// is dropped).
    fn take_reply(&mut self) -> Option<Reply> {
        while self.buf.first() == Some(&b'$') {
            if self.buf.len() < 4 {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
            if self.buf.len() < 4 + len {
                return None;
            }
            self.buf.drain(..4 + len);
        }
        let end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        if self.buf.len() < end + 4 + len {
            return None;
        }
        let body = String::from_utf8_lossy(&self.buf[end + 4..end + 4 + len]).into_owned();
        self.buf.drain(..end + 4 + len);
        Some(Reply {
            status,
            headers,
            body,
        })
    }
}

/// The `a=control` of each `m=` section of an SDP, with its media line.
pub fn tracks(sdp: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut media = None;
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            media = Some(m.to_string());
        } else if let (Some(c), Some(m)) = (line.strip_prefix("a=control:"), &media) {
            out.push((m.clone(), c.to_string()));
            media = None;
        }
    }
    out
}

/// An RTP packet (version 2, no CSRC): `pt`, `seq`, `ts`, `ssrc`, payload.
pub fn rtp_packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt & 0x7F];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// G.711 μ-law of one 16-bit sample (ITU-T G.711, the bias-and-segment
/// form; written here independently of the bridge's codec).
pub fn ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    let s = (s.min(32_635)) + BIAS;
    let exponent = (7 - (s.leading_zeros() as i32 - 17)).clamp(0, 7);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}
