//! One RTSP client connection, sans-IO: bytes from the client in
//! ([`Conn::handle_bytes`]), responses out ([`Conn::poll_transmit`]), what
//! the server must do ([`Conn::poll_event`]: start or stop sending a
//! camera's tracks, hand on back-channel audio, wait for a camera's first
//! picture) and when to look again ([`Conn::poll_timeout`]). Messages are
//! parsed and written with `rtsp-types`; the methods are OPTIONS, DESCRIBE,
//! SETUP, PLAY, TEARDOWN and GET_PARAMETER (keep-alive). RTP goes over the
//! RTSP connection (`RTP/AVP/TCP;interleaved=a-b`) or over UDP
//! (`RTP/AVP;unicast;client_port=a-b`, from the server's one port pair).
//!
//! Every request but OPTIONS passes the trust rule ([`super::auth`]) first:
//! 401 with Digest and Basic challenges, or 403 for a client off this
//! machine when no credentials are set. Nothing about a camera is looked up
//! before that, so a wrong password never reaches one.
//!
//! The buffer of unparsed bytes is bounded; a message that does not parse
//! gets 400 and ends the connection. A session nobody keeps alive (no
//! request, no interleaved data, no RTCP over UDP) ends after
//! [`SESSION_TIMEOUT_S`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtsp_types::{headers, Message, Method, ParseError, Request, Response, StatusCode, Version};

use super::auth::{Access, Denied};
use super::sdp::{Description, TrackKind};

/// Unparsed bytes kept at most (a request is a few hundred bytes).
pub const MAX_PENDING: usize = 64 << 10;
/// Session timeout announced to clients (they send GET_PARAMETER before).
pub const SESSION_TIMEOUT_S: u32 = 60;
/// The ONVIF back-channel feature tag.
pub const BACKCHANNEL: &str = "www.onvif.org/ver20/backchannel";

/// A camera as a DESCRIBE finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Its description.
    Found(Description),
    /// It exists but its stream's parameters are not known yet (no picture
    /// since it connected): ask again shortly.
    NotReady,
    /// No such camera (or stream).
    Unknown,
}

/// What the connection needs from the server: the description of a camera
/// by the path (its name, then an optional stream name).
pub trait Catalog {
    /// The camera's description; `backchannel` when the client asked for it.
    fn describe(&self, camera: &str, stream: Option<&str>, backchannel: bool) -> Lookup;
}

/// Where a track's RTP goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// On the RTSP connection, `$`-framed on `channel` (RTCP on `channel + 1`).
    Tcp {
        /// Interleaved channel for RTP.
        channel: u8,
    },
    /// By UDP to the client's ports.
    Udp {
        /// The client's RTP address.
        rtp: SocketAddr,
        /// The client's RTCP address.
        rtcp: SocketAddr,
    },
}

/// A track set up on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackSetup {
    /// Track number (`trackID=N`).
    pub track: u8,
    /// What it carries.
    pub kind: TrackKind,
    /// Where it goes.
    pub delivery: Delivery,
}

/// What the server must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnEvent {
    /// Send these tracks of `camera` to the client, from a keyframe.
    Play {
        /// The camera (as the client named it).
        camera: String,
        /// Its tracks and where they go.
        tracks: Vec<TrackSetup>,
    },
    /// A DESCRIBE waits for `camera`'s first picture: call
    /// [`Conn::retry`] when it has one, or with `last` after a while.
    Wait {
        /// The camera.
        camera: String,
    },
    /// An RTP packet the client sent on the back-channel track.
    Backchannel(Vec<u8>),
    /// Stop sending; the client tore the session down.
    Teardown,
    /// End the connection (after what was queued is sent).
    Close,
}

/// The fixed parts of a connection.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// Its session id, if the client makes a session (random, by the server).
    pub session_id: String,
    /// The client.
    pub peer: SocketAddr,
    /// Who may use the server.
    pub access: Arc<Access>,
    /// The server's RTP/RTCP ports for UDP delivery (`None`: TCP only).
    pub udp_ports: Option<(u16, u16)>,
    /// The server's start: nonces count seconds from it.
    pub epoch: Instant,
}

#[derive(Debug)]
struct Session {
    camera: String,
    tracks: Vec<TrackSetup>,
    playing: bool,
}

/// One client connection (see the module docs).
#[derive(Debug)]
pub struct Conn {
    cfg: ConnConfig,
    pending: Vec<u8>,
    session: Option<Session>,
    /// What the last DESCRIBE (or SETUP) found, by camera.
    described: Option<(String, Description)>,
    /// A DESCRIBE waiting for its camera.
    deferred: Option<Request<Vec<u8>>>,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<ConnEvent>,
    last_activity: Instant,
    closed: bool,
}

impl Conn {
    /// A new connection at `now`.
    pub fn new(cfg: ConnConfig, now: Instant) -> Self {
        Self {
            cfg,
            pending: Vec::new(),
            session: None,
            described: None,
            deferred: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
            last_activity: now,
            closed: false,
        }
    }

    /// Bytes from the client at `now`.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8], catalog: &impl Catalog) {
        if self.closed {
            return;
        }
        self.last_activity = now;
        self.pending.extend_from_slice(bytes);
        // A request waiting for its camera holds the ones behind it (answers
        // go out in order).
        while !self.closed && self.deferred.is_none() && !self.pending.is_empty() {
            match Message::<Vec<u8>>::parse(&self.pending) {
                Ok((msg, used)) => {
                    self.pending.drain(..used);
                    match msg {
                        Message::Request(r) => self.on_request(now, r, catalog),
                        Message::Data(d) => self.on_data(d.channel_id(), d.as_slice()),
                        Message::Response(_) => {}
                    }
                }
                Err(ParseError::Incomplete(_)) if self.pending.len() <= MAX_PENDING => return,
                Err(_) => {
                    let r = Response::builder(Version::V1_0, StatusCode::BadRequest).empty();
                    self.send(&r);
                    self.close();
                }
            }
        }
    }

    /// Asks the catalog again for a DESCRIBE that waits ([`ConnEvent::Wait`]);
    /// with `last`, a camera still not ready gets 503.
    pub fn retry(&mut self, now: Instant, catalog: &impl Catalog, last: bool) {
        let Some(req) = self.deferred.take() else {
            return;
        };
        self.describe(&req, catalog, last);
        if self.deferred.is_none() {
            // Requests that came behind it.
            self.handle_bytes(now, &[], catalog);
        }
    }

    /// The client showed it is alive another way (RTCP over UDP).
    pub fn touch(&mut self, now: Instant) {
        self.last_activity = now;
    }

    /// When [`Conn::handle_timeout`] must run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.closed)
            .then(|| self.last_activity + Duration::from_secs(u64::from(SESSION_TIMEOUT_S)))
    }

    /// Time passed: a session nobody kept alive ends.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| now >= t) {
            if self.session.take().is_some() {
                self.events.push_back(ConnEvent::Teardown);
            }
            self.close();
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

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The client's address for back-channel RTP over UDP, if it set one up.
    pub fn udp_backchannel(&self) -> Option<SocketAddr> {
        self.session.as_ref()?.tracks.iter().find_map(|t| match t {
            TrackSetup {
                kind: TrackKind::Backchannel,
                delivery: Delivery::Udp { rtp, .. },
                ..
            } => Some(*rtp),
            _ => None,
        })
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

    /// Sends `r` with one `name: value` line per value: `rtsp-types` joins
    /// repeated headers with commas, which clients cannot split for
    /// `WWW-Authenticate` (its values hold commas themselves).
    fn send_with_lines<B: AsRef<[u8]>>(&mut self, r: &Response<B>, name: &str, values: &[String]) {
        let mut buf = Vec::new();
        if r.write(&mut buf).is_err() {
            return;
        }
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            return;
        };
        let lines: String = values.iter().map(|v| format!("\r\n{name}: {v}")).collect();
        buf.splice(end..end, lines.into_bytes());
        self.out.push_back(buf);
    }

    fn on_data(&mut self, channel: u8, payload: &[u8]) {
        let Some(s) = &self.session else {
            return;
        };
        let back = s
            .tracks
            .iter()
            .any(|t| t.kind == TrackKind::Backchannel && t.delivery == Delivery::Tcp { channel });
        if back && s.playing {
            self.events
                .push_back(ConnEvent::Backchannel(payload.to_vec()));
        }
    }

    fn on_request(&mut self, now: Instant, req: Request<Vec<u8>>, catalog: &impl Catalog) {
        if req.method() != Method::Options {
            let auth = req.header(&headers::AUTHORIZATION).map(|v| v.as_str());
            let now_s = now.saturating_duration_since(self.cfg.epoch).as_secs();
            let method: &str = req.method().into();
            if let Err(denied) = self
                .cfg
                .access
                .check(self.cfg.peer.ip(), method, auth, now_s)
            {
                tracing::debug!(peer = %self.cfg.peer, method, "RTSP request refused: {denied}");
                let r = match denied {
                    Denied::NotLocal => reply(&req, StatusCode::Forbidden)
                        .build(format!("{denied}\r\n").into_bytes()),
                    Denied::BadCredentials | Denied::Stale => {
                        let stale = denied == Denied::Stale;
                        let challenges = self.cfg.access.challenges(now_s, stale);
                        let r = reply(&req, StatusCode::Unauthorized).empty();
                        self.send_with_lines(&r, "WWW-Authenticate", &challenges);
                        return;
                    }
                };
                self.send(&r);
                return;
            }
        }
        match req.method() {
            Method::Options => {
                let r = reply(&req, StatusCode::Ok)
                    .header(
                        headers::PUBLIC,
                        "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER",
                    )
                    .empty();
                self.send(&r);
            }
            Method::Describe => self.describe(&req, catalog, false),
            Method::Setup => self.setup(&req, catalog),
            Method::Play => {
                let ok = self.session_ok(&req);
                match self.session.as_mut().filter(|_| ok) {
                    Some(s) => {
                        s.playing = true;
                        let (camera, tracks) = (s.camera.clone(), s.tracks.clone());
                        let r = reply(&req, StatusCode::Ok)
                            .header(headers::SESSION, self.cfg.session_id.clone())
                            .header(headers::RANGE, "npt=now-")
                            .empty();
                        self.send(&r);
                        self.events.push_back(ConnEvent::Play { camera, tracks });
                    }
                    None => self.send(&reply(&req, StatusCode::SessionNotFound).empty()),
                }
            }
            Method::Teardown => {
                if self.session_ok(&req) && self.session.take().is_some() {
                    self.send(&reply(&req, StatusCode::Ok).empty());
                    self.events.push_back(ConnEvent::Teardown);
                } else {
                    self.send(&reply(&req, StatusCode::SessionNotFound).empty());
                }
            }
            Method::GetParameter => self.send(&reply(&req, StatusCode::Ok).empty()),
            _ => self.send(&reply(&req, StatusCode::MethodNotAllowed).empty()),
        }
    }

    fn describe(&mut self, req: &Request<Vec<u8>>, catalog: &impl Catalog, last: bool) {
        let backchannel = req
            .header(&headers::REQUIRE)
            .is_some_and(|v| v.as_str().contains(BACKCHANNEL));
        let path = Path::of(req);
        let Some(camera) = path.camera.clone() else {
            self.send(&reply(req, StatusCode::NotFound).empty());
            return;
        };
        match catalog.describe(&camera, path.stream.as_deref(), backchannel) {
            Lookup::Found(d) => {
                let base = req
                    .request_uri()
                    .map(|u| u.as_str().trim_end_matches('/').to_string())
                    .unwrap_or_default();
                let r = reply(req, StatusCode::Ok)
                    .header(headers::CONTENT_TYPE, "application/sdp")
                    .header(headers::CONTENT_BASE, format!("{base}/"))
                    .build(d.to_sdp().into_bytes());
                self.send(&r);
                self.described = Some((camera, d));
            }
            Lookup::NotReady if !last => {
                self.deferred = Some(req.clone());
                self.events.push_back(ConnEvent::Wait { camera });
            }
            Lookup::NotReady => self.send(&reply(req, StatusCode::ServiceUnavailable).empty()),
            Lookup::Unknown => self.send(&reply(req, StatusCode::NotFound).empty()),
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
            (Some(_), Some(g)) => self.cfg.session_id == g,
            _ => false,
        }
    }

    fn setup(&mut self, req: &Request<Vec<u8>>, catalog: &impl Catalog) {
        let path = Path::of(req);
        let Some(camera) = path.camera.clone() else {
            self.send(&reply(req, StatusCode::NotFound).empty());
            return;
        };
        if self.session.as_ref().is_some_and(|s| s.camera != camera) {
            // One camera per session.
            self.send(&reply(req, StatusCode::AggregateOperationNotAllowed).empty());
            return;
        }
        if self.described.as_ref().is_none_or(|(c, _)| *c != camera) {
            // SETUP without DESCRIBE (a client that knows the layout).
            match catalog.describe(&camera, path.stream.as_deref(), false) {
                Lookup::Found(d) => self.described = Some((camera.clone(), d)),
                Lookup::NotReady => {
                    self.send(&reply(req, StatusCode::ServiceUnavailable).empty());
                    return;
                }
                Lookup::Unknown => {
                    self.send(&reply(req, StatusCode::NotFound).empty());
                    return;
                }
            }
        }
        let track = path.track.unwrap_or(0);
        let Some(kind) = self
            .described
            .as_ref()
            .and_then(|(_, d)| d.track_kind(track))
        else {
            self.send(&reply(req, StatusCode::NotFound).empty());
            return;
        };
        let transport = req
            .header(&headers::TRANSPORT)
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        let Some((delivery, answer)) = self.transport(&transport) else {
            self.send(&reply(req, StatusCode::UnsupportedTransport).empty());
            return;
        };
        let id = self.cfg.session_id.clone();
        let s = self.session.get_or_insert_with(|| Session {
            camera,
            tracks: Vec::new(),
            playing: false,
        });
        s.tracks.retain(|t| t.track != track);
        s.tracks.push(TrackSetup {
            track,
            kind,
            delivery,
        });
        let r = reply(req, StatusCode::Ok)
            .header(headers::TRANSPORT, answer)
            .header(
                headers::SESSION,
                format!("{id};timeout={SESSION_TIMEOUT_S}"),
            )
            .empty();
        self.send(&r);
    }

    /// The first transport in the client's list that the server takes, and
    /// the `Transport` answer.
    fn transport(&self, header: &str) -> Option<(Delivery, String)> {
        header.split(',').find_map(|spec| {
            let mut parts = spec.split(';').map(str::trim);
            let proto = parts.next()?.to_ascii_uppercase();
            let params: Vec<&str> = parts.collect();
            let value = |key: &str| {
                params
                    .iter()
                    .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
            };
            let pair = |v: &str| -> Option<(u16, u16)> {
                let mut it = v.split('-');
                let a: u16 = it.next()?.trim().parse().ok()?;
                let b = match it.next() {
                    Some(b) => b.trim().parse().ok()?,
                    None => a.checked_add(1)?,
                };
                Some((a, b))
            };
            match proto.as_str() {
                "RTP/AVP/TCP" => {
                    let (a, b) = match value("interleaved") {
                        Some(v) => {
                            let (a, b) = pair(v)?;
                            (u8::try_from(a).ok()?, u8::try_from(b).ok()?)
                        }
                        None => (0, 1),
                    };
                    Some((
                        Delivery::Tcp { channel: a },
                        format!("RTP/AVP/TCP;unicast;interleaved={a}-{b}"),
                    ))
                }
                "RTP/AVP" | "RTP/AVP/UDP" => {
                    let (sa, sb) = self.cfg.udp_ports?;
                    if params.iter().any(|p| p.eq_ignore_ascii_case("multicast")) {
                        return None;
                    }
                    let (ca, cb) = pair(value("client_port")?)?;
                    let ip = self.cfg.peer.ip();
                    Some((
                        Delivery::Udp {
                            rtp: SocketAddr::new(ip, ca),
                            rtcp: SocketAddr::new(ip, cb),
                        },
                        format!("RTP/AVP;unicast;client_port={ca}-{cb};server_port={sa}-{sb}"),
                    ))
                }
                _ => None,
            }
        })
    }
}

/// An answer to `req` with its CSeq.
fn reply(req: &Request<Vec<u8>>, status: StatusCode) -> rtsp_types::ResponseBuilder {
    let mut b = Response::builder(req.version(), status);
    if let Some(cseq) = req.header(&headers::CSEQ) {
        b = b.header(headers::CSEQ, cseq.as_str().to_string());
    }
    b
}

/// What a request's URL names: `/<camera>[/<stream>][/trackID=N]`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Path {
    camera: Option<String>,
    stream: Option<String>,
    track: Option<u8>,
}

impl Path {
    fn of(req: &Request<Vec<u8>>) -> Self {
        let mut p = Path::default();
        let Some(url) = req.request_uri() else {
            return p;
        };
        for seg in url.path().split('/').filter(|s| !s.is_empty()) {
            let seg = percent_encoding::percent_decode_str(seg)
                .decode_utf8_lossy()
                .into_owned();
            if let Some(n) = seg.strip_prefix("trackID=") {
                p.track = n.parse().ok();
            } else if p.camera.is_none() {
                p.camera = Some(seg);
            } else if p.stream.is_none() {
                p.stream = Some(seg);
            }
        }
        p
    }
}

#[cfg(test)]
mod tests;
