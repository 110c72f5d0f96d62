//! The camera driven directly with hand-built client packets (the shared
//! codecs and the DTLS engine's client role, not the bridge's session), in
//! virtual time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::proto::tutk::auth::{challenge_response, ChallengeError, ChallengeStatus};
use crate::proto::tutk::av::{Hl, Ioctrl, Login, LoginReply, LOGIN_OK};
use crate::proto::tutk::cc51;
use crate::proto::tutk::dtls::{DtlsClose, DtlsConfig, DtlsEvent, Psk};
use crate::proto::tutk::frame::{self, AvEvent, FrameAssembler, FrameInfo, Piece};
use crate::proto::tutk::iotc::{self, Data, Disco, SessionReq};
use crate::proto::tutk::kcmd::{self, id, AuthResult, Channel};
use crate::proto::tutk::transcode::TailPolicy;
use crate::secret::Secret;

const CLIENT: &str = "192.168.1.20:40000";
const CLIENT2: &str = "192.168.1.20:40999";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn t0() -> Instant {
    // An arbitrary origin from the one permitted clock; the device reads none.
    crate::io::clock::now()
}

fn cfg(transport: Transport) -> TutkCameraConfig {
    TutkCameraConfig {
        transport,
        ..TutkCameraConfig::default()
    }
}

/// A packet the camera sent, decoded.
#[derive(Debug, Clone)]
enum Got {
    Tc(iotc::Packet),
    Cc(cc51::Packet),
}

/// A hand-driven client around the camera.
struct Rig {
    cam: Box<dyn Device>,
    h: TutkCameraHandle,
    now: Instant,
    client: SocketAddr,
    transport: Transport,
    uid: iotc::WireUid,
    enr: Secret,
    authkey: [u8; 8],
    key: cc51::Cc51Key,
    sid: [u8; 8],
    ticket: u16,
    cam_sid: [u8; 8],
    tx_seq: u16,
    dtls: Option<Dtls>,
    dtls_closed: Option<DtlsClose>,
    connected: bool,
    answer_keepalives: bool,
    av_seq: u32,
    cmd_seq: u16,
    /// Every IOTC packet the camera sent, decoded.
    got: Vec<(SocketAddr, Got)>,
    /// Control messages (non-media) out of DTLS.
    control: Vec<Vec<u8>>,
    /// Media packets out of DTLS.
    media: Vec<Vec<u8>>,
}

impl Rig {
    fn new(cfg: TutkCameraConfig) -> Self {
        Self::with_source(cfg, Arc::new(crate::sim::video::TestVideo))
    }

    fn with_source(cfg: TutkCameraConfig, source: Arc<dyn VideoSource>) -> Self {
        let now = t0();
        let transport = cfg.transport;
        let uid = iotc::WireUid::new(&cfg.uid).unwrap();
        let enr = cfg.enr.clone();
        let authkey = auth::authkey(&enr, &cfg.mac);
        let cam = TutkCamera::with_source(cfg, source, now);
        let h = cam.handle();
        Self {
            cam: Box::new(cam),
            h,
            now,
            client: addr(CLIENT),
            transport,
            uid,
            enr,
            authkey,
            key: cc51::Cc51Key::new(&uid.0, &authkey),
            sid: [1, 2, 3, 4, 5, 6, 7, 8],
            ticket: 0,
            cam_sid: [0; 8],
            tx_seq: 0,
            dtls: None,
            dtls_closed: None,
            connected: false,
            answer_keepalives: true,
            av_seq: 0,
            cmd_seq: 0,
            got: Vec::new(),
            control: Vec::new(),
            media: Vec::new(),
        }
    }

    /// The camera behind a link that loses `loss` of what it sends.
    fn lossy(cfg: TutkCameraConfig, loss: f64, seed: u64) -> Self {
        let mut r = Self::new(cfg.clone());
        let cam = TutkCamera::new(cfg, r.now);
        r.h = cam.handle();
        r.cam = Box::new(crate::sim::runner::Lossy::new(cam, loss, seed));
        r
    }

    /// Resends a K-command (same sequence) every 300 ms until answered, as
    /// clients do.
    fn kcmd_until_answered(&mut self, command: u16, payload: Vec<u8>) -> Hl {
        self.cmd_seq = self.cmd_seq.wrapping_add(1);
        for _ in 0..20 {
            let r = self.kcmd_seq(command, self.cmd_seq, payload.clone());
            if let Some(hl) = r.into_iter().next() {
                return hl;
            }
            self.run_for(Duration::from_millis(300));
            let seq = self.cmd_seq;
            let late: Vec<Hl> = self
                .control
                .iter()
                .filter_map(|m| Ioctrl::decode(m).ok())
                .filter(|f| f.cmd_seq == seq && f.hl.command == command + 1)
                .map(|f| f.hl)
                .collect();
            if let Some(hl) = late.into_iter().next() {
                return hl;
            }
        }
        panic!("K{command} never answered");
    }

    fn raw(&mut self, p: &[u8]) {
        self.cam.handle_datagram(
            self.now,
            Datagram {
                socket: SOCKET,
                from: self.client,
                payload: p,
            },
        );
        self.drain();
    }

    fn tc(&mut self, p: iotc::Packet) {
        self.raw(&p.encode(TailPolicy::default()));
    }

    fn cc(&mut self, p: cc51::Packet) {
        let key = self.key.clone();
        self.raw(&p.encode(&key));
    }

    /// Packets the camera sent since `from` (an index into `got`).
    fn since(&self, from: usize) -> Vec<Got> {
        self.got[from..].iter().map(|(_, g)| g.clone()).collect()
    }

    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.cam.poll_transmit() {
                progressed = true;
                assert_eq!(t.socket, SOCKET);
                let g = match self.transport {
                    Transport::TransCode => {
                        Got::Tc(iotc::Packet::decode(&t.payload, TailPolicy::default()).unwrap())
                    }
                    Transport::Cc51 => {
                        Got::Cc(cc51::Packet::decode(&t.payload, &self.key).unwrap())
                    }
                };
                let mut dtls_in = None;
                let mut keepalive = None;
                match &g {
                    Got::Tc(iotc::Packet::DataRx(d)) if d.channel == 0 => {
                        dtls_in = Some(d.payload.clone())
                    }
                    Got::Cc(cc51::Packet::Data {
                        channel: 0,
                        payload,
                        ..
                    }) => dtls_in = Some(payload.clone()),
                    Got::Tc(iotc::Packet::Keepalive { echo }) => {
                        keepalive = Some(
                            iotc::Packet::KeepaliveReply { echo: *echo }
                                .encode(TailPolicy::default()),
                        )
                    }
                    Got::Cc(cc51::Packet::Keepalive { counter, sid }) => {
                        keepalive = Some(
                            cc51::Packet::Keepalive {
                                counter: counter.wrapping_add(2),
                                sid: *sid,
                            }
                            .encode(&self.key),
                        )
                    }
                    _ => {}
                }
                self.got.push((t.dst, g));
                if let (Some(rec), Some(d)) = (dtls_in, self.dtls.as_mut()) {
                    d.handle_datagram(self.now, &rec);
                }
                if let Some(k) = keepalive.filter(|_| self.answer_keepalives) {
                    self.cam.handle_datagram(
                        self.now,
                        Datagram {
                            socket: SOCKET,
                            from: self.client,
                            payload: &k,
                        },
                    );
                }
            }
            progressed |= self.pump_client();
            if !progressed {
                return;
            }
        }
    }

    /// Drains the client DTLS endpoint; true if it sent anything.
    fn pump_client(&mut self) -> bool {
        let Some(d) = self.dtls.as_mut() else {
            return false;
        };
        let mut out = Vec::new();
        while let Some(rec) = d.poll_transmit() {
            out.push(rec);
        }
        while let Some(ev) = d.poll_event() {
            match ev {
                DtlsEvent::Connected { .. } => self.connected = true,
                DtlsEvent::Data(m) if frame::is_media(&m) => self.media.push(m),
                DtlsEvent::Data(m) => self.control.push(m),
                DtlsEvent::Closed(c) => self.dtls_closed = Some(c),
            }
        }
        let sent = !out.is_empty();
        for rec in out {
            let p = self.wrap(rec);
            self.cam.handle_datagram(
                self.now,
                Datagram {
                    socket: SOCKET,
                    from: self.client,
                    payload: &p,
                },
            );
        }
        sent
    }

    fn wrap(&mut self, payload: Vec<u8>) -> Vec<u8> {
        match self.transport {
            Transport::TransCode => {
                self.tx_seq = self.tx_seq.wrapping_add(1);
                iotc::Packet::DataTx(Data {
                    seq: self.tx_seq,
                    channel: 0,
                    sid: self.sid,
                    payload,
                })
                .encode(TailPolicy::default())
            }
            Transport::Cc51 => cc51::Packet::Data {
                channel: 0,
                ticket: self.ticket,
                sid: self.cam_sid,
                payload,
            }
            .encode(&self.key),
        }
    }

    /// Advances virtual time by `d`, firing every timer on the way.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = [
                self.cam.poll_timeout(),
                self.dtls.as_ref().and_then(Dtls::poll_timeout),
            ]
            .into_iter()
            .flatten()
            .min()
            .filter(|t| *t <= end);
            let Some(t) = next else {
                self.now = end;
                return;
            };
            self.now = t.max(self.now);
            self.cam.handle_timeout(self.now);
            if let Some(dt) = self.dtls.as_mut() {
                if dt.poll_timeout().is_some_and(|x| x <= self.now) {
                    dt.handle_timeout(self.now);
                }
            }
            self.drain();
        }
    }

    /// The IOTC handshake of the camera's transport.
    fn connect_iotc(&mut self) {
        match self.transport {
            Transport::TransCode => {
                self.tc(self.disco(1, self.authkey));
                self.tc(self.disco(2, [0; 8]));
                self.tc(iotc::Packet::Session(SessionReq {
                    uid: self.uid,
                    sid: self.sid,
                    unix_time: 1_700_000_000,
                }));
            }
            Transport::Cc51 => {
                self.cc(cc51::Packet::Disco {
                    seq: 0,
                    direction: 0,
                    ticket: 0,
                    sid: self.sid,
                });
                let Some(Got::Cc(cc51::Packet::Disco { ticket, sid, .. })) =
                    self.got.last().map(|g| g.1.clone())
                else {
                    panic!("no CC51 answer: {:?}", self.got);
                };
                self.ticket = ticket;
                self.cam_sid = sid;
                self.cc(cc51::Packet::Disco {
                    seq: 2,
                    direction: 0,
                    ticket,
                    sid,
                });
            }
        }
    }

    fn disco(&self, stage: u8, authkey: [u8; 8]) -> iotc::Packet {
        iotc::Packet::Disco(Disco {
            uid: self.uid,
            sid: self.sid,
            stage,
            authkey,
        })
    }

    /// DTLS as the client, with the client's ENR.
    fn connect_dtls(&mut self) {
        let psk = Psk::from_enr(self.enr.expose().as_bytes());
        let mut d = Dtls::client(DtlsConfig::new(psk), [7; 32]);
        d.start(self.now);
        self.dtls = Some(d);
        self.drain();
        for _ in 0..50 {
            if self.connected || self.dtls_closed.is_some() {
                return;
            }
            self.run_for(Duration::from_millis(100));
        }
    }

    fn send_av(&mut self, m: &[u8]) {
        self.dtls.as_mut().unwrap().send(m).unwrap();
        self.drain();
    }

    fn login_with(&mut self, user: &str, password: &str) -> Vec<LoginReply> {
        let before = self.control.len();
        let [one, two] = Login {
            user: user.into(),
            password: Secret::new(password),
            nonce: [9, 8, 7, 6],
            resend: 0,
        }
        .encode();
        self.send_av(&one);
        self.run_for(Duration::from_millis(10));
        self.send_av(&two);
        self.control[before..]
            .iter()
            .filter_map(|m| LoginReply::decode(m).ok())
            .collect()
    }

    fn login(&mut self) {
        let enr = self.enr.expose().to_owned();
        let r = self.login_with("admin", &enr);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].result, LOGIN_OK);
    }

    /// Sends a K-command with the next sequence and returns the answers to it.
    fn kcmd(&mut self, command: u16, payload: Vec<u8>) -> Vec<Hl> {
        self.cmd_seq = self.cmd_seq.wrapping_add(1);
        self.kcmd_seq(command, self.cmd_seq, payload)
    }

    fn kcmd_seq(&mut self, command: u16, cmd_seq: u16, payload: Vec<u8>) -> Vec<Hl> {
        let before = self.control.len();
        self.av_seq += 1;
        let f = Ioctrl {
            av_seq: self.av_seq,
            cmd_seq,
            hl: Hl::new(command, payload),
        };
        self.send_av(&f.encode());
        self.control[before..]
            .iter()
            .filter_map(|m| Ioctrl::decode(m).ok())
            .filter(|r| r.cmd_seq == cmd_seq)
            .map(|r| r.hl)
            .collect()
    }

    fn one(&mut self, command: u16, payload: Vec<u8>) -> Hl {
        let mut r = self.kcmd(command, payload);
        assert_eq!(r.len(), 1, "answers to K{command}: {r:?}");
        let hl = r.remove(0);
        assert_eq!(hl.command, command + 1);
        hl
    }

    /// K10000–K10003, answering the challenge with the shared `auth` code.
    fn kauth(&mut self, video: bool, audio: bool) -> AuthResult {
        let hl = self.one(id::AUTH, kcmd::auth_request("", false));
        let (status, challenge) = kcmd::parse_challenge(&hl.payload).unwrap();
        let response = challenge_response(ChallengeStatus::from_byte(status), challenge, &self.enr)
            .unwrap_or([0; 16]);
        let hl = self.one(
            id::CHALLENGE_RESPONSE,
            kcmd::challenge_response(response, [0; 4], video, audio),
        );
        kcmd::parse_auth_result(&hl.payload).unwrap()
    }

    /// Everything up to streaming.
    fn ready(cfg: TutkCameraConfig, video: bool, audio: bool) -> Self {
        Self::ready_with(cfg, Arc::new(crate::sim::video::TestVideo), video, audio)
    }

    fn ready_with(
        cfg: TutkCameraConfig,
        source: Arc<dyn VideoSource>,
        video: bool,
        audio: bool,
    ) -> Self {
        let mut r = Self::with_source(cfg, source);
        r.connect_iotc();
        r.connect_dtls();
        assert!(r.connected, "DTLS: {:?}", r.dtls_closed);
        r.login();
        let a = r.kauth(video, audio);
        assert!(a.accepted, "{a:?}");
        r
    }

    /// The video frames in `media`, reassembled.
    fn frames(&self) -> Vec<(u32, bool, FrameInfo, Vec<u8>)> {
        let mut a = FrameAssembler::new();
        let mut out = Vec::new();
        for m in &self.media {
            a.push(m).unwrap();
            while let Some(ev) = a.pull() {
                if let AvEvent::Video {
                    frame_no,
                    keyframe,
                    info,
                    data,
                    ..
                } = ev
                {
                    out.push((frame_no, keyframe, info, data.to_vec()));
                }
            }
        }
        out
    }
}

fn source_gop(size: FrameSize) -> Arc<[AccessUnit]> {
    VideoSource::clip(
        &crate::sim::video::TestVideo,
        crate::model::VideoCodec::H264,
        size,
    )
    .unwrap()
}

// ---------------------------------------------------------------- IOTC ----

#[test]
fn transcode_camera_answers_disco_takes_stage_two_and_answers_the_session_request() {
    let mut r = Rig::new(cfg(Transport::TransCode));
    r.tc(r.disco(1, r.authkey));
    match r.since(0).as_slice() {
        [Got::Tc(iotc::Packet::DiscoReply(d))] => {
            assert_eq!((d.uid, d.sid), (r.uid, r.sid));
        }
        other => panic!("{other:?}"),
    }
    r.tc(r.disco(2, [0; 8]));
    assert_eq!(r.got.len(), 1, "stage 2 is taken silently");
    r.tc(iotc::Packet::Session(SessionReq {
        uid: r.uid,
        sid: r.sid,
        unix_time: 5,
    }));
    match r.since(1).as_slice() {
        [Got::Tc(iotc::Packet::SessionReply(s))] => assert_eq!(s.sid, r.sid),
        other => panic!("{other:?}"),
    }
    assert_eq!((r.h.sessions(), r.h.peer()), (1, Some(r.client)));
}

#[test]
fn the_camera_sends_keepalives_every_one_to_two_seconds_and_counts_answers() {
    for t in [Transport::TransCode, Transport::Cc51] {
        let mut r = Rig::new(cfg(t));
        r.connect_iotc();
        let before = r.got.len();
        r.run_for(Duration::from_millis(6100));
        let keepalives = r.since(before).len();
        assert!((3..=6).contains(&keepalives), "{t}: {keepalives}");
        assert_eq!(r.h.keepalives_sent(), keepalives as u64);
        assert_eq!(r.h.keepalive_replies(), keepalives as u64);
        assert_eq!(r.h.sessions_expired(), 0, "{t}: answers keep it alive");
    }
}

#[test]
fn cc51_camera_runs_the_four_step_disco_with_its_own_ticket_and_sid() {
    let mut r = Rig::new(cfg(Transport::Cc51));
    r.cc(cc51::Packet::Disco {
        seq: 0,
        direction: 0,
        ticket: 0,
        sid: r.sid,
    });
    let Some(Got::Cc(cc51::Packet::Disco {
        seq: 1,
        ticket,
        sid,
        direction: 0,
    })) = r.since(0).first().cloned()
    else {
        panic!("{:?}", r.got);
    };
    assert_ne!(ticket, 0);
    assert_ne!(sid, r.sid, "the camera picks the sid");
    // A resend of seq 0 gets the same ticket and sid.
    r.cc(cc51::Packet::Disco {
        seq: 0,
        direction: 0,
        ticket: 0,
        sid: r.sid,
    });
    assert!(matches!(r.since(1).as_slice(),
        [Got::Cc(cc51::Packet::Disco { seq: 1, ticket: t, sid: s, .. })] if *t == ticket && *s == sid));
    r.cc(cc51::Packet::Disco {
        seq: 2,
        direction: 0,
        ticket,
        sid,
    });
    assert!(matches!(r.since(2).as_slice(),
        [Got::Cc(cc51::Packet::Disco { seq: 3, direction: cc51::DIR_FINAL, ticket: t, .. })] if *t == ticket));
    assert_eq!(r.h.sessions(), 1);
}

#[test]
fn each_camera_ignores_the_other_transport_silently() {
    let mut tc = Rig::new(cfg(Transport::TransCode));
    tc.cc(cc51::Packet::Disco {
        seq: 0,
        direction: 0,
        ticket: 0,
        sid: tc.sid,
    });
    assert!(tc.got.is_empty());
    let mut cc = Rig::new(cfg(Transport::Cc51));
    let disco = cc.disco(1, cc.authkey);
    cc.raw(&disco.encode(TailPolicy::default()));
    assert!(cc.got.is_empty());
    assert_eq!((tc.h.sessions(), cc.h.sessions()), (0, 0));
    assert_eq!(tc.h.ignored_datagrams() + cc.h.ignored_datagrams(), 2);
}

#[test]
fn a_wrong_authkey_or_uid_gets_no_answer() {
    let mut r = Rig::new(cfg(Transport::TransCode));
    r.tc(r.disco(1, *b"WRONGKEY"));
    let mut other = r.disco(1, r.authkey);
    if let iotc::Packet::Disco(d) = &mut other {
        d.uid = iotc::WireUid::new("SOMEOTHERCAMERA00001").unwrap();
    }
    r.tc(other);
    assert!(r.got.is_empty());
    // CC51: a tag made with another AuthKey does not verify.
    let mut c = Rig::new(cfg(Transport::Cc51));
    c.key = cc51::Cc51Key::new(&c.uid.0, b"WRONGKEY");
    let p = cc51::Packet::Disco {
        seq: 0,
        direction: 0,
        ticket: 0,
        sid: c.sid,
    }
    .encode(&c.key);
    c.cam.handle_datagram(
        c.now,
        Datagram {
            socket: SOCKET,
            from: c.client,
            payload: &p,
        },
    );
    assert!(c.cam.poll_transmit().is_none());
    assert_eq!(r.h.sessions() + c.h.sessions(), 0);
}

#[test]
fn a_silent_client_is_forgotten_and_the_camera_follows_a_moved_client() {
    let mut r = Rig::new(cfg(Transport::TransCode));
    r.connect_iotc();
    r.client = addr(CLIENT2);
    r.tc(iotc::Packet::Session(SessionReq {
        uid: r.uid,
        sid: r.sid,
        unix_time: 5,
    }));
    assert_eq!(r.got.last().unwrap().0, addr(CLIENT2));
    assert_eq!(r.h.peer(), Some(addr(CLIENT2)));
    r.answer_keepalives = false;
    r.run_for(Duration::from_secs(7));
    assert_eq!(r.h.sessions_expired(), 0);
    r.run_for(Duration::from_secs(2));
    assert_eq!((r.h.sessions_expired(), r.h.peer()), (1, None));
    let n = r.got.len();
    r.run_for(Duration::from_secs(5));
    assert_eq!(r.got.len(), n, "a forgotten client gets nothing");
    assert_eq!(r.cam.poll_timeout(), None);
}

#[test]
fn the_first_discos_can_be_dropped_like_a_camera_still_waking() {
    let mut c = cfg(Transport::TransCode);
    c.quirks.drop_first_discos = 2;
    let mut r = Rig::new(c);
    for _ in 0..2 {
        r.tc(r.disco(1, r.authkey));
    }
    assert!(r.got.is_empty());
    r.tc(r.disco(1, r.authkey));
    assert_eq!(r.got.len(), 1);
    assert_eq!((r.h.discos_dropped(), r.h.discos_answered()), (2, 1));
}

// ---------------------------------------------------- DTLS and AV login ----

#[test]
fn dtls_connects_over_both_transports_and_a_wrong_enr_fails_the_handshake() {
    for t in [Transport::TransCode, Transport::Cc51] {
        let mut r = Rig::new(cfg(t));
        r.connect_iotc();
        r.connect_dtls();
        assert!(r.connected, "{t}: {:?}", r.dtls_closed);
        assert_eq!(r.h.dtls_connected(), 1);

        let mut c = cfg(t);
        c.quirks.wrong_enr = true;
        let mut r = Rig::new(c);
        r.connect_iotc();
        assert_eq!(r.h.sessions(), 1, "{t}: the AuthKey still matches");
        r.connect_dtls();
        assert!(!r.connected);
        assert!(
            r.dtls_closed
                .as_ref()
                .is_some_and(DtlsClose::is_auth_failure),
            "{t}: {:?}",
            r.dtls_closed
        );
        assert_eq!(r.h.dtls_failed(), 1);
    }
}

#[test]
fn a_client_that_starts_dtls_over_gets_a_fresh_handshake_and_login() {
    let mut r = Rig::ready(cfg(Transport::TransCode), true, false);
    r.run_for(Duration::from_millis(300));
    assert!(!r.media.is_empty());
    r.connected = false;
    r.dtls = None;
    r.connect_dtls();
    assert!(r.connected, "{:?}", r.dtls_closed);
    assert_eq!((r.h.dtls_connected(), r.h.sessions()), (2, 1));
    assert!(!r.h.settings().video, "streaming waits for a new K-auth");
    r.login();
    assert!(r.kauth(true, false).accepted);
    assert_eq!(r.h.logins_accepted(), 2);
}

#[test]
fn the_av_login_is_answered_once_per_pair_and_a_wrong_password_is_refused() {
    let mut r = Rig::new(cfg(Transport::TransCode));
    r.connect_iotc();
    r.connect_dtls();
    let bad = r.login_with("admin", "not-the-enr");
    assert_eq!(bad.len(), 2, "each refused login is answered");
    assert!(bad.iter().all(|b| b.result != LOGIN_OK));
    assert_eq!(r.h.logins_rejected(), 2);
    let enr = r.enr.expose().to_owned();
    assert!(r
        .login_with("guest", &enr)
        .iter()
        .all(|b| b.result != LOGIN_OK));
    // Before a login, K-commands are ignored.
    assert!(r.kcmd(id::AUTH, vec![]).is_empty());
    let ok = r.login_with("admin", &enr);
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].nonce, [9, 8, 7, 6]);
    assert!(ok[0].two_way_audio);
    assert_eq!((r.h.logins_accepted(), r.h.login_resend()), (1, Some(0)));
    // ACKs count as liveness.
    let ack = crate::proto::tutk::av::Ack {
        av_seq: 1,
        rx_start: 0,
        rx_end: 0,
        count: 1,
        time_ms: 0,
    };
    r.send_av(&ack.encode());
    assert_eq!(r.h.acks_received(), 1);
}

// ---------------------------------------------------------------- K-auth ----

#[test]
fn k_auth_succeeds_for_statuses_1_3_and_6_with_the_shared_answer() {
    for status in [
        ChallengeStatus::Default,
        ChallengeStatus::Enr16,
        ChallengeStatus::Enr32,
    ] {
        for t in [Transport::TransCode, Transport::Cc51] {
            let mut c = cfg(t);
            c.auth_status = status;
            let mut r = Rig::new(c);
            r.connect_iotc();
            r.connect_dtls();
            r.login();
            let hl = r.one(id::AUTH, vec![]);
            assert_eq!(hl.payload[0], status.byte());
            let a = {
                let (s, ch) = kcmd::parse_challenge(&hl.payload).unwrap();
                let resp = challenge_response(ChallengeStatus::from_byte(s), ch, &r.enr).unwrap();
                let hl = r.one(
                    id::CHALLENGE_RESPONSE,
                    kcmd::challenge_response(resp, [0; 4], false, false),
                );
                kcmd::parse_auth_result(&hl.payload).unwrap()
            };
            assert!(a.accepted, "{status:?} {t}");
            assert_eq!(a.model.as_deref(), Some("WYZE_CAKP2JFUS"));
            assert_eq!(a.mac.as_deref(), Some(DEFAULT_MAC));
            assert_eq!(a.firmware.as_deref(), Some("4.36.11.sim"));
            assert_eq!((a.fps, a.wifi_db), (Some(10), Some(71)));
            assert_eq!(r.h.last_auth(), Some(AuthOutcome::Accepted));
        }
    }
}

#[test]
fn a_wrong_answer_gets_connection_res_2_and_nothing_else_is_served() {
    let mut r = Rig::new(cfg(Transport::TransCode));
    r.connect_iotc();
    r.connect_dtls();
    r.login();
    r.one(id::AUTH, vec![]);
    let hl = r.one(
        id::CHALLENGE_RESPONSE,
        kcmd::challenge_response([0x55; 16], [0; 4], true, true),
    );
    let a = kcmd::parse_auth_result(&hl.payload).unwrap();
    assert!(!a.accepted);
    assert_eq!(a.code, "2");
    assert_eq!(r.h.last_auth(), Some(AuthOutcome::Rejected));
    assert!(r.kcmd(id::NIGHT_VISION_GET, vec![]).is_empty());
    r.run_for(Duration::from_secs(1));
    assert!(r.media.is_empty());
}

#[test]
fn statuses_2_4_and_5_are_sent_so_the_client_can_report_them() {
    for (status, why) in [
        (ChallengeStatus::Updating, "updating"),
        (ChallengeStatus::CheckingEnr, "checking"),
        (ChallengeStatus::Off, "off"),
    ] {
        let mut c = cfg(Transport::TransCode);
        c.auth_status = status;
        let mut r = Rig::new(c);
        r.connect_iotc();
        r.connect_dtls();
        r.login();
        let hl = r.one(id::AUTH, vec![]);
        let (s, ch) = kcmd::parse_challenge(&hl.payload).unwrap();
        assert_eq!(s, status.byte());
        let err = challenge_response(ChallengeStatus::from_byte(s), ch, &r.enr).unwrap_err();
        assert!(matches!(err, ChallengeError::NotReady(_)), "{why}: {err}");
        // Whatever a client answers, the camera says no.
        let hl = r.one(
            id::CHALLENGE_RESPONSE,
            kcmd::challenge_response(ch, [0; 4], true, false),
        );
        assert!(!kcmd::parse_auth_result(&hl.payload).unwrap().accepted);
    }
}

#[test]
fn resent_commands_get_the_same_answer_and_are_recorded_once() {
    let mut r = Rig::new(cfg(Transport::TransCode));
    r.connect_iotc();
    r.connect_dtls();
    r.login();
    let a = r.kcmd_seq(id::AUTH, 7, vec![]);
    let b = r.kcmd_seq(id::AUTH, 7, vec![]);
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(a, b, "the same challenge, not a new one");
    assert_eq!(r.h.commands_with_id(id::AUTH).len(), 1);
    assert_eq!(r.h.duplicate_commands(), 1);
    // The first challenge is still the one to answer.
    let (s, ch) = kcmd::parse_challenge(&a[0].payload).unwrap();
    let resp = challenge_response(ChallengeStatus::from_byte(s), ch, &r.enr).unwrap();
    let res = r.kcmd_seq(
        id::CHALLENGE_RESPONSE,
        8,
        kcmd::challenge_response(resp, [0; 4], false, false),
    );
    assert!(kcmd::parse_auth_result(&res[0].payload).unwrap().accepted);
}

// ----------------------------------------------------------------- Media ----

#[test]
fn video_pieces_reassemble_to_exactly_the_sources_access_units() {
    let mut r = Rig::ready(cfg(Transport::TransCode), true, false);
    r.run_for(Duration::from_millis(2050));
    let gop = source_gop(FrameSize::Sd360);
    let frames = r.frames();
    assert!(frames.len() >= 20, "{}", frames.len());
    for (i, (no, key, info, data)) in frames.iter().enumerate() {
        assert_eq!(*no, i as u32 + 1, "frame numbers count up");
        let unit = &gop[i % gop.len()];
        assert_eq!(*key, unit.keyframe, "frame {no}");
        assert!(
            data[..] == unit.data[..],
            "frame {no}: {} vs {} bytes",
            data.len(),
            unit.data.len()
        );
        assert_eq!(info.frame_size, FrameSize::Sd360.code());
        assert_eq!(info.codec, frame::codec::H264);
        assert_eq!(info.fps, 10);
    }
    for m in &r.media {
        let p = Piece::decode(m).unwrap().unwrap();
        assert!(p.data.len() <= DEFAULT_MAX_PIECE);
        let ch = if p.frame_no % 10 == 1 {
            frame::MediaChannel::IVideo
        } else {
            frame::MediaChannel::PVideo
        };
        assert_eq!(p.channel, ch, "I-frames on 0x05, P-frames on 0x07");
    }
    let sent = r.h.frames();
    assert_eq!(sent.len(), frames.len());
    assert_eq!(r.h.frames_sent(), frames.len() as u64);
    assert!(sent[0].keyframe && sent[0].pieces > 1);
    assert!(r.h.settings().video);
}

#[test]
fn the_default_picture_moves_on_so_snapshots_seconds_apart_differ() {
    use crate::media::video::{decode_last_picture, psnr};
    use crate::model::{VideoCodec, VideoFrame};
    use crate::sim::video::{read_frame_code, reference_rgb};
    let mut r = Rig::ready(cfg(Transport::TransCode), true, false);
    r.run_for(Duration::from_millis(4050));
    let frames = r.frames();
    assert!(frames.len() >= 40, "{}", frames.len());
    // What a snapshot after frame `upto` shows: decode from the keyframe before it.
    let picture = |upto: usize| {
        let from = (0..=upto).rev().find(|&i| frames[i].1).expect("a keyframe");
        let gop: Vec<VideoFrame> = frames[from..=upto]
            .iter()
            .map(|f| VideoFrame {
                codec: VideoCodec::H264,
                keyframe: f.1,
                timestamp: Duration::ZERO,
                data: bytes::Bytes::from(f.3.clone()),
            })
            .collect();
        let p = decode_last_picture(VideoCodec::H264, &gop).expect("decodes");
        let code = read_frame_code(p.rgb.as_raw(), 640, 360).expect("a frame code");
        let db = psnr(p.rgb.as_raw(), &reference_rgb(640, 360, u64::from(code)));
        assert!(
            db > 30.0,
            "frame {upto}: {db:.1} dB against pattern frame {code}"
        );
        code
    };
    // Three seconds apart, at the same point of a second: different pictures.
    let (a, b) = (picture(9), picture(39));
    assert_eq!((a, b), (9, 39));
    // A keyframe asked for mid-clip is the next one, not the clip's first.
    let before = r.h.frames().len();
    r.one(id::RESOLUTION, kcmd::resolution(FrameSize::Sd360, 0));
    r.run_for(Duration::from_millis(120));
    let key = &r.frames()[before];
    assert!(key.1);
    let clip = source_gop(FrameSize::Sd360);
    assert!(key.3[..] == clip[40].data[..] || key.3[..] == clip[50].data[..]);
}

#[test]
fn h265_cameras_stream_the_h265_clip_and_any_source_can_be_plugged_in() {
    let mut c = cfg(Transport::TransCode);
    c.codec = crate::model::VideoCodec::H265;
    let mut r = Rig::ready(c.clone(), true, false);
    r.run_for(Duration::from_millis(1050));
    let gop = VideoSource::clip(
        &crate::sim::video::TestVideo,
        crate::model::VideoCodec::H265,
        FrameSize::Sd360,
    )
    .unwrap();
    let frames = r.frames();
    assert!(frames.len() >= 10);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.2.codec, frame::codec::H265);
        assert!(f.3[..] == gop[i % gop.len()].data[..], "frame {}", f.0);
    }
    // No H.265 clip at 720p: the camera refuses that size.
    assert_eq!(
        r.one(id::RESOLUTION, kcmd::resolution(FrameSize::Hd720, 0))
            .payload,
        vec![0]
    );
    assert_eq!(r.h.resolution(), FrameSize::Sd360);

    c.codec = crate::model::VideoCodec::H264;
    let mut r = Rig::ready_with(c, Arc::new(SyntheticVideo), true, false);
    r.run_for(Duration::from_millis(250));
    let synthetic = SyntheticVideo
        .clip(crate::model::VideoCodec::H264, FrameSize::Sd360)
        .unwrap();
    assert!(r.frames()[0].3[..] == synthetic[0].data[..]);
}

#[test]
fn a_resolution_change_starts_with_a_keyframe_of_the_new_size() {
    let mut r = Rig::ready(cfg(Transport::Cc51), true, false);
    r.run_for(Duration::from_millis(350));
    let hl = r.one(id::RESOLUTION, kcmd::resolution(FrameSize::Hd720, 0));
    assert_eq!(hl.payload, vec![1]);
    assert_eq!(r.h.resolution(), FrameSize::Hd720);
    r.run_for(Duration::from_millis(350));
    let frames = r.frames();
    let first_720 = frames
        .iter()
        .position(|f| f.2.frame_size == FrameSize::Hd720.code())
        .unwrap();
    let (_, key, info, data) = &frames[first_720];
    assert!(*key && info.keyframe());
    assert!(data[..] == source_gop(FrameSize::Hd720)[0].data[..]);
    assert!(frames[..first_720]
        .iter()
        .all(|f| f.2.frame_size == FrameSize::Sd360.code()));
    // A re-sent K10056 with the current size asks for a keyframe.
    r.run_for(Duration::from_millis(250));
    let n = r.h.frames().len();
    assert!(!r.h.frames()[n - 1].keyframe);
    r.one(id::RESOLUTION, kcmd::resolution(FrameSize::Hd720, 0));
    r.run_for(Duration::from_millis(120));
    assert!(r.h.frames()[n].keyframe);
    // K10052 (doorbells) too; an unknown size is refused.
    assert_eq!(
        r.one(
            id::RESOLUTION_OLD,
            kcmd::resolution_old(FrameSize::Hd1080, 0)
        )
        .payload,
        vec![1]
    );
    assert_eq!(r.h.resolution(), FrameSize::Hd1080);
    assert_eq!(r.one(id::RESOLUTION, vec![9, 0, 0, 0, 0]).payload, vec![0]);
}

#[test]
fn k10010_switches_video_and_audio_and_audio_is_pcmu_in_single_pieces() {
    let mut r = Rig::ready(cfg(Transport::TransCode), false, false);
    r.run_for(Duration::from_millis(500));
    assert!(r.media.is_empty(), "no flags, no media");
    r.one(id::CHANNEL, kcmd::channel(Channel::Audio, true));
    r.run_for(Duration::from_millis(200));
    assert!(r.h.audio_frames_sent() >= 9);
    let mut a = FrameAssembler::new();
    for m in &r.media {
        a.push(m).unwrap();
    }
    let ev = a.pull().unwrap();
    let AvEvent::Audio { info, data } = ev else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (info.codec, info.sample_rate(), data.len()),
        (frame::codec::PCMU, 8000, 160)
    );
    r.one(id::CHANNEL, kcmd::channel(Channel::Video, true));
    r.run_for(Duration::from_millis(300));
    assert!(r.frames().len() >= 3);
    r.one(id::CHANNEL, kcmd::channel(Channel::Video, false));
    r.one(id::CHANNEL, kcmd::channel(Channel::Audio, false));
    let n = r.media.len();
    r.run_for(Duration::from_millis(300));
    assert_eq!(r.media.len(), n);
}

#[test]
fn duplicated_and_reordered_pieces_still_reassemble_exactly() {
    let mut c = cfg(Transport::TransCode);
    c.quirks.duplicate_media = 0.3;
    c.quirks.reorder_within_frame = 1.0;
    c.resolution = FrameSize::Hd720;
    let mut r = Rig::ready(c, true, false);
    r.run_for(Duration::from_millis(1050));
    let gop = source_gop(FrameSize::Hd720);
    let frames = r.frames();
    assert!(frames.len() >= 10);
    for (i, f) in frames.iter().enumerate() {
        let want = &gop[i % gop.len()].data;
        assert!(
            f.3[..] == want[..],
            "frame {}: {} vs {}",
            f.0,
            f.3.len(),
            want.len()
        );
    }
    let pieces: usize = r.h.frames().iter().map(|f| usize::from(f.pieces)).sum();
    assert!(r.media.len() > pieces, "some pieces came twice");
}

#[test]
fn under_loss_resent_commands_still_authenticate_and_delivered_frames_are_exact() {
    let mut r = Rig::lossy(cfg(Transport::TransCode), 0.05, 3);
    r.connect_iotc();
    for _ in 0..10 {
        if r.h.sessions() == 1 {
            break;
        }
        r.connect_iotc();
    }
    r.connect_dtls();
    assert!(r.connected, "{:?}", r.dtls_closed);
    let enr = r.enr.expose().to_owned();
    while r.h.logins_accepted() == 0 || r.control.iter().all(|m| LoginReply::decode(m).is_err()) {
        r.login_with("admin", &enr);
        r.run_for(Duration::from_millis(600));
    }
    let hl = r.kcmd_until_answered(id::AUTH, vec![]);
    let (s, ch) = kcmd::parse_challenge(&hl.payload).unwrap();
    let resp = challenge_response(ChallengeStatus::from_byte(s), ch, &r.enr).unwrap();
    let hl = r.kcmd_until_answered(
        id::CHALLENGE_RESPONSE,
        kcmd::challenge_response(resp, [0; 4], true, false),
    );
    assert!(kcmd::parse_auth_result(&hl.payload).unwrap().accepted);
    assert_eq!(
        r.h.commands_with_id(id::AUTH).len(),
        1,
        "resends are not new commands"
    );
    r.run_for(Duration::from_secs(3));
    let gop = source_gop(FrameSize::Sd360);
    let frames = r.frames();
    let sent = r.h.frames_sent();
    assert!(
        frames.len() as u64 * 3 >= sent,
        "{} of {sent}",
        frames.len()
    );
    for f in &frames {
        let want = &gop[(f.0 as usize - 1) % gop.len()].data;
        assert!(f.3[..] == want[..], "frame {}", f.0);
    }
}

// -------------------------------------------------------------- Commands ----

#[test]
fn settings_commands_are_answered_with_id_plus_one_and_recorded() {
    let mut r = Rig::ready(cfg(Transport::TransCode), false, false);
    assert_eq!(r.one(id::NIGHT_VISION_SET, vec![1]).payload, vec![1]);
    assert_eq!(r.one(id::IR_LED_SET, vec![1]).payload, vec![1]);
    assert_eq!(r.one(id::STATUS_LIGHT_SET, vec![2]).payload, vec![1]);
    assert_eq!(r.one(id::NIGHT_VISION_SET, vec![9]).payload, vec![0]);
    assert_eq!(
        (r.h.night_vision(), r.h.ir_led(), r.h.status_light()),
        (1, 1, 2)
    );
    assert_eq!(r.one(id::NIGHT_VISION_GET, vec![]).payload, vec![1]);
    assert_eq!(r.one(id::IR_LED_GET, vec![]).payload, vec![1]);
    assert_eq!(r.one(id::STATUS_LIGHT_GET, vec![]).payload, vec![2]);
    let hl = r.one(
        id::PARAMS,
        vec![
            3,
            param::STATUS_LIGHT,
            param::NIGHT_VISION,
            param::RESOLUTION,
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&hl.payload).unwrap();
    assert_eq!(v, serde_json::json!({"1": "2", "2": "1", "4": "1"}));
    let set = r.h.commands_with_id(id::NIGHT_VISION_SET);
    assert_eq!(set.len(), 2);
    assert_eq!(set[0].payload, vec![1]);
    let all: Vec<u16> = r.h.commands().iter().map(|c| c.command).collect();
    assert_eq!(&all[..2], &[id::AUTH, id::CHALLENGE_RESPONSE]);
    // Unknown commands are recorded and answered empty.
    assert_eq!(r.one(10_640, vec![1, 2]).payload, Vec::<u8>::new());
    assert_eq!(r.h.commands().last().unwrap().command, 10_640);
}

// ------------------------------------------------------- Pause and seed ----

#[test]
fn a_paused_camera_is_silent_and_loses_its_session() {
    let mut r = Rig::ready(cfg(Transport::TransCode), true, false);
    r.run_for(Duration::from_millis(300));
    r.h.set_paused(true);
    let n = r.got.len();
    r.tc(r.disco(1, r.authkey));
    r.run_for(Duration::from_secs(10));
    assert_eq!(r.got.len(), n);
    r.h.set_paused(false);
    r.run_for(Duration::from_millis(200));
    assert_eq!(r.h.sessions_expired(), 1);
    assert_eq!(r.got.len(), n);
    // A new connection works.
    r.sid = [9; 8];
    r.connect_iotc();
    assert_eq!(r.h.sessions(), 2);
}

#[test]
fn the_same_seed_and_inputs_give_the_same_bytes() {
    let run = || {
        let mut r = Rig::ready(cfg(Transport::Cc51), true, true);
        r.run_for(Duration::from_millis(500));
        let mut out = Vec::new();
        for (dst, g) in &r.got {
            out.push(format!("{dst} {g:?}"));
        }
        out
    };
    assert_eq!(run(), run());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn hostile_datagrams_never_panic(
        packets in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..300), 1..8),
        cc in proptest::bool::ANY,
    ) {
        let t = if cc { Transport::Cc51 } else { Transport::TransCode };
        let mut r = Rig::new(cfg(t));
        r.connect_iotc();
        for p in &packets {
            r.raw(p);
            // As channel data of the session too (into DTLS).
            let w = r.wrap(p.clone());
            r.raw(&w);
        }
        r.run_for(Duration::from_millis(50));
    }
}
