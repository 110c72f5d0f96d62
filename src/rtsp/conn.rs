//! One RTSP client connection, sans-IO: bytes from the client in
//! ([`Conn::handle_bytes`]), responses out ([`Conn::poll_transmit`]) and what
//! the server must do ([`Conn::poll_event`]: start or stop sending a camera's
//! tracks). Messages are parsed and written with `rtsp-types`; the methods
//! are OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN and GET_PARAMETER
//! (keep-alive). This step carries RTP over the RTSP connection
//! (`RTP/AVP/TCP;interleaved=a-b`); a SETUP asking for UDP is answered 461
//! until the UDP transport lands.
//!
//! The buffer of unparsed bytes is bounded; a message that does not parse
//! gets 400 and ends the connection.

use std::collections::VecDeque;

use rtsp_types::{headers, Message, Method, ParseError, Request, Response, StatusCode, Version};

use super::sdp::Description;

/// Unparsed bytes kept at most (a request is a few hundred bytes).
pub const MAX_PENDING: usize = 64 << 10;
/// Session timeout announced to clients (they send GET_PARAMETER before).
pub const SESSION_TIMEOUT_S: u32 = 60;
/// The ONVIF back-channel feature tag.
pub const BACKCHANNEL: &str = "www.onvif.org/ver20/backchannel";

/// What the connection needs from the server: the description of a camera
/// by the path's first segment, if it exists.
pub trait Catalog {
    /// The camera's description; `backchannel` when the client asked for it.
    fn describe(&self, camera: &str, backchannel: bool) -> Option<Description>;
}

/// A track set up on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interleaved {
    /// Track number (`trackID=N`).
    pub track: u8,
    /// Interleaved channel for RTP (RTCP is `rtp + 1`).
    pub rtp: u8,
}

/// What the server must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnEvent {
    /// Send these tracks of `camera` on the connection, from a keyframe.
    Play {
        /// The camera.
        camera: String,
        /// Its tracks and their channels.
        tracks: Vec<Interleaved>,
    },
    /// Stop sending; the client tore the session down.
    Teardown,
    /// End the connection (after what was queued is sent).
    Close,
}

#[derive(Debug)]
struct Session {
    id: String,
    camera: String,
    tracks: Vec<Interleaved>,
    playing: bool,
}

/// One client connection (see the module docs).
#[derive(Debug)]
pub struct Conn {
    pending: Vec<u8>,
    session: Option<Session>,
    /// Next session id (a random start from the server).
    session_id: String,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<ConnEvent>,
    closed: bool,
}

impl Conn {
    /// A connection whose session (if the client makes one) gets `session_id`.
    pub fn new(session_id: String) -> Self {
        Self {
            pending: Vec::new(),
            session: None,
            session_id,
            out: VecDeque::new(),
            events: VecDeque::new(),
            closed: false,
        }
    }

    /// Bytes from the client.
    pub fn handle_bytes(&mut self, bytes: &[u8], catalog: &impl Catalog) {
        if self.closed {
            return;
        }
        self.pending.extend_from_slice(bytes);
        loop {
            match Message::<Vec<u8>>::parse(&self.pending) {
                Ok((msg, used)) => {
                    self.pending.drain(..used);
                    match msg {
                        Message::Request(r) => self.on_request(&r, catalog),
                        // Interleaved data from the client (RTCP receiver
                        // reports, back-channel audio later) and stray
                        // responses are not needed yet.
                        Message::Data(_) | Message::Response(_) => {}
                    }
                }
                Err(ParseError::Incomplete(_)) if self.pending.len() <= MAX_PENDING => return,
                Err(_) => {
                    let r = Response::builder(Version::V1_0, StatusCode::BadRequest).empty();
                    self.send(&r);
                    self.close();
                    return;
                }
            }
            if self.closed || self.pending.is_empty() {
                return;
            }
        }
    }

    /// Next bytes for the client.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// Next thing for the server to do.
    pub fn poll_event(&mut self) -> Option<ConnEvent> {
        self.events.pop_front()
    }

    fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.events.push_back(ConnEvent::Close);
        }
    }

    fn send<B: AsRef<[u8]>>(&mut self, r: &Response<B>) {
        let mut buf = Vec::new();
        if r.write(&mut buf).is_ok() {
            self.out.push_back(buf);
        }
    }

    fn on_request(&mut self, req: &Request<Vec<u8>>, catalog: &impl Catalog) {
        let version = req.version();
        let cseq = req
            .header(&headers::CSEQ)
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        let reply = |status: StatusCode| {
            Response::builder(version, status).header(headers::CSEQ, cseq.clone())
        };
        let url = req
            .request_uri()
            .map(|u| u.as_str().trim_end_matches('/').to_string());
        let path: Vec<String> = req
            .request_uri()
            .map(|u| {
                u.path()
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        match req.method() {
            Method::Options => {
                let r = reply(StatusCode::Ok)
                    .header(
                        headers::PUBLIC,
                        "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER",
                    )
                    .empty();
                self.send(&r);
            }
            Method::Describe => {
                let backchannel = req
                    .header(&headers::REQUIRE)
                    .is_some_and(|v| v.as_str().contains(BACKCHANNEL));
                match path
                    .first()
                    .and_then(|cam| catalog.describe(cam, backchannel))
                {
                    Some(d) => {
                        let r = reply(StatusCode::Ok)
                            .header(headers::CONTENT_TYPE, "application/sdp")
                            .header(
                                headers::CONTENT_BASE,
                                format!("{}/", url.unwrap_or_default()),
                            )
                            .build(d.to_sdp().into_bytes());
                        self.send(&r);
                    }
                    None => self.send(&reply(StatusCode::NotFound).empty()),
                }
            }
            Method::Setup => self.setup(req, &path, reply),
            Method::Play => {
                let ok = self.session_ok(req);
                match self.session.as_mut().filter(|_| ok) {
                    Some(s) => {
                        s.playing = true;
                        let (id, camera, tracks) =
                            (s.id.clone(), s.camera.clone(), s.tracks.clone());
                        let r = reply(StatusCode::Ok)
                            .header(headers::SESSION, id)
                            .header(headers::RANGE, "npt=now-")
                            .empty();
                        self.send(&r);
                        self.events.push_back(ConnEvent::Play { camera, tracks });
                    }
                    None => self.send(&reply(StatusCode::SessionNotFound).empty()),
                }
            }
            Method::Teardown => {
                if self.session_ok(req) && self.session.take().is_some() {
                    self.send(&reply(StatusCode::Ok).empty());
                    self.events.push_back(ConnEvent::Teardown);
                } else {
                    self.send(&reply(StatusCode::SessionNotFound).empty());
                }
            }
            Method::GetParameter => self.send(&reply(StatusCode::Ok).empty()),
            _ => self.send(&reply(StatusCode::MethodNotAllowed).empty()),
        }
    }

    fn session_ok(&self, req: &Request<Vec<u8>>) -> bool {
        let given = req.header(&headers::SESSION).map(|v| {
            v.as_str()
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        });
        match (&self.session, given) {
            (Some(s), Some(g)) => s.id == g,
            _ => false,
        }
    }

    fn setup(
        &mut self,
        req: &Request<Vec<u8>>,
        path: &[String],
        reply: impl Fn(StatusCode) -> rtsp_types::ResponseBuilder,
    ) {
        let Some(camera) = path.first().cloned() else {
            self.send(&reply(StatusCode::NotFound).empty());
            return;
        };
        let track = path
            .get(1)
            .and_then(|t| t.strip_prefix("trackID="))
            .and_then(|n| n.parse::<u8>().ok())
            .unwrap_or(0);
        if self.session.as_ref().is_some_and(|s| s.camera != camera) {
            // One camera per session.
            self.send(&reply(StatusCode::AggregateOperationNotAllowed).empty());
            return;
        }
        let transport = req
            .header(&headers::TRANSPORT)
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        let Some(rtp) = interleaved_channel(&transport) else {
            // UDP (or anything else) is not offered yet.
            self.send(&reply(StatusCode::UnsupportedTransport).empty());
            return;
        };
        let id = self.session_id.clone();
        let s = self.session.get_or_insert_with(|| Session {
            id: id.clone(),
            camera,
            tracks: Vec::new(),
            playing: false,
        });
        s.tracks.retain(|t| t.track != track);
        s.tracks.push(Interleaved { track, rtp });
        let r = reply(StatusCode::Ok)
            .header(
                headers::TRANSPORT,
                format!(
                    "RTP/AVP/TCP;unicast;interleaved={}-{}",
                    rtp,
                    rtp.saturating_add(1)
                ),
            )
            .header(
                headers::SESSION,
                format!("{id};timeout={SESSION_TIMEOUT_S}"),
            )
            .empty();
        self.send(&r);
    }
}

/// The RTP channel of a `Transport` asking for `RTP/AVP/TCP` with
/// `interleaved=a-b` (or `a`).
fn interleaved_channel(transport: &str) -> Option<u8> {
    transport.split(',').find_map(|spec| {
        let mut parts = spec.split(';').map(str::trim);
        if !parts.next()?.eq_ignore_ascii_case("RTP/AVP/TCP") {
            return None;
        }
        parts.find_map(|p| {
            let v = p.strip_prefix("interleaved=")?;
            v.split('-').next()?.parse().ok()
        })
    })
}

#[cfg(test)]
mod tests;
