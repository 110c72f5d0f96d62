//! The IOTC link of one TUTK session: connecting over the TransCode and the
//! CC51 transports **in parallel** (`wyze.md` §1.2: a Disco of each every
//! 100 ms; the camera answers only the one its firmware speaks), then
//! carrying channel data and answering the camera's keepalives over the
//! transport that won.
//!
//! Sans-IO and without timers of its own: the session calls
//! [`Link::connect_tick`] on its resend timer and feeds every datagram to
//! [`Link::handle`].
//!
//! **Finding a camera by UID.** With [`Link::set_search`], the stage-1 Disco
//! (and the CC51 hello) also go, once a second, to search targets: the
//! broadcast address and the `discovery.unicast_hosts` on UDP 32761 (the
//! reference's connection flow sends stage 1 as a broadcast). While
//! discovering, an answer from any address is taken when it proves it is the
//! camera: the TransCode answer names our UID, a CC51 answer
//! carries an HMAC keyed with the UID and AuthKey. The link then talks to
//! wherever that answer came from.

use std::net::SocketAddr;

use super::cc51::{self, Cc51Key};
use super::iotc::{self, Data, Disco, Packet, SessionReq, Sid, WireUid};
use super::transcode::TailPolicy;
use crate::proto::codec::WireError;

/// The two IOTC transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Obfuscated with TransCode (most firmware).
    TransCode,
    /// HMAC-tagged, V4 firmware ≥ 4.52.9.5332.
    Cc51,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TransCode => "transcode",
            Self::Cc51 => "cc51",
        })
    }
}

/// Which transports to try when connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportPolicy {
    /// Both at once; the first to answer wins (default).
    #[default]
    Race,
    /// Only this one (a camera whose firmware is known).
    Only(Transport),
}

impl TransportPolicy {
    fn allows(self, t: Transport) -> bool {
        match self {
            Self::Race => true,
            Self::Only(o) => o == t,
        }
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Sending Disco stage 1 (TransCode) and Disco seq 0 (CC51).
    Discovering,
    /// TransCode: the camera answered; Disco stage 2 sent, Session requests until `0x0404`.
    TransCodeSession,
    /// CC51: the camera handed out a ticket; seq 2 sent until the final answer.
    Cc51Confirm,
    /// Connected: data flows.
    Up,
}

/// What a datagram meant to the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// Not ours (another device, another sid, bad tag, garbage).
    Foreign(Option<WireError>),
    /// A connection step (nothing for the session to do).
    Step,
    /// The link came up over this transport.
    Up(Transport),
    /// Channel data (DTLS records).
    Data {
        /// IOTC channel.
        channel: u8,
        /// The records.
        payload: Vec<u8>,
    },
    /// A keepalive from the camera (answered already).
    Keepalive,
}

/// One camera's IOTC link.
#[derive(Debug)]
pub struct Link {
    uid: WireUid,
    authkey: [u8; 8],
    sid: Sid,
    tail: TailPolicy,
    policy: TransportPolicy,
    key: Cc51Key,
    /// Where the camera is; follows the source of its answers.
    peer: SocketAddr,
    phase: Phase,
    /// The winner, once one answered.
    transport: Option<Transport>,
    /// CC51 ticket from the camera's first answer.
    ticket: u16,
    /// Sequence number of our next TransCode DATA packet.
    seq: u16,
    /// Our CC51 keepalive counter.
    keepalive: u32,
    /// Where else the Discos go while discovering.
    search: Vec<SocketAddr>,
    /// Connect ticks so far (the search targets get every
    /// [`SEARCH_EVERY_TICKS`]th one).
    ticks: u32,
    /// Datagrams to send, with their destination.
    out: Vec<(SocketAddr, Vec<u8>)>,
}

/// The search targets get one Disco of each transport every this many
/// connect ticks (every second at the session's 100 ms discovery pace), so a
/// camera that is away costs the LAN one broadcast a second, not ten.
pub const SEARCH_EVERY_TICKS: u32 = 10;

impl Link {
    /// A link to `peer` for the camera `uid` with its AuthKey; `sid` is the
    /// session id (go2rtc uses the time in nanoseconds).
    pub fn new(
        uid: WireUid,
        authkey: [u8; 8],
        sid: Sid,
        peer: SocketAddr,
        tail: TailPolicy,
        policy: TransportPolicy,
    ) -> Self {
        Self {
            key: Cc51Key::new(&uid.0, &authkey),
            uid,
            authkey,
            sid,
            tail,
            policy,
            peer,
            phase: Phase::Discovering,
            transport: None,
            ticket: 0,
            seq: 0,
            keepalive: 0,
            search: Vec::new(),
            ticks: 0,
            out: Vec::new(),
        }
    }

    /// Also sends the Discos to `targets` while discovering (see the module
    /// docs), and takes an authentic answer from any of them.
    pub fn set_search(&mut self, mut targets: Vec<SocketAddr>) {
        targets.retain(|t| *t != self.peer);
        targets.sort_unstable();
        targets.dedup();
        self.search = targets;
    }

    fn push(&mut self, wire: Vec<u8>) {
        self.out.push((self.peer, wire));
    }

    /// The camera's address (it may change when the camera answers from another port).
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The transport in use, once connected (or while confirming).
    pub fn transport(&self) -> Option<Transport> {
        self.transport
    }

    /// True once data can flow.
    pub fn is_up(&self) -> bool {
        self.phase == Phase::Up
    }

    /// Next datagram to send, with its destination ([`Link::peer`], or a
    /// search target while discovering).
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.remove(0))
        }
    }

    /// Called on the session's connect timer (every 100 ms while
    /// discovering, every second while confirming): queues what this phase resends.
    pub fn connect_tick(&mut self) {
        match self.phase {
            Phase::Discovering => {
                let mut hellos = Vec::new();
                if self.policy.allows(Transport::TransCode) {
                    let d = Packet::Disco(Disco {
                        uid: self.uid,
                        sid: self.sid,
                        stage: 1,
                        authkey: self.authkey,
                    });
                    hellos.push(d.encode(self.tail));
                }
                if self.policy.allows(Transport::Cc51) {
                    hellos.push(self.cc51_disco(0));
                }
                let search = self.ticks.is_multiple_of(SEARCH_EVERY_TICKS);
                self.ticks = self.ticks.wrapping_add(1);
                for wire in hellos {
                    if search {
                        for t in &self.search {
                            self.out.push((*t, wire.clone()));
                        }
                    }
                    self.out.push((self.peer, wire));
                }
            }
            Phase::TransCodeSession => {
                let r = self.session_request();
                self.push(r);
            }
            Phase::Cc51Confirm => {
                let d = self.cc51_disco(2);
                self.push(d);
            }
            Phase::Up => {}
        }
    }

    fn cc51_disco(&self, seq: u16) -> Vec<u8> {
        cc51::Packet::Disco {
            seq,
            direction: 0,
            ticket: self.ticket,
            sid: self.sid,
        }
        .encode(&self.key)
    }

    fn session_request(&self) -> Vec<u8> {
        // The camera does not check the time (wyze.md §1.1: both tail
        // variants of this field worked), so a session needs no wall clock.
        Packet::Session(SessionReq {
            uid: self.uid,
            sid: self.sid,
            unix_time: 0,
        })
        .encode(self.tail)
    }

    /// Wraps channel data for the wire. `None` before the link is up.
    pub fn wrap(&mut self, channel: u8, payload: Vec<u8>) -> Option<Vec<u8>> {
        match (self.phase, self.transport?) {
            (Phase::Up, Transport::TransCode) => {
                self.seq = self.seq.wrapping_add(1);
                Some(
                    Packet::DataTx(Data {
                        seq: self.seq,
                        channel,
                        sid: self.sid,
                        payload,
                    })
                    .encode(self.tail),
                )
            }
            (Phase::Up, Transport::Cc51) => Some(
                cc51::Packet::Data {
                    channel,
                    ticket: self.ticket,
                    sid: self.sid,
                    payload,
                }
                .encode(&self.key),
            ),
            _ => None,
        }
    }

    /// Feeds a datagram from `from`.
    pub fn handle(&mut self, from: SocketAddr, p: &[u8]) -> Inbound {
        // While searching, an answer may come from anywhere; the Disco
        // handlers below take only an authentic one (our UID and sid, or a
        // valid CC51 tag). Afterwards only the camera's address counts.
        let searching = self.phase == Phase::Discovering && !self.search.is_empty();
        if from.ip() != self.peer.ip() && !searching {
            return Inbound::Foreign(None);
        }
        if cc51::is_cc51(p) {
            if !self.policy.allows(Transport::Cc51) || self.transport == Some(Transport::TransCode)
            {
                return Inbound::Foreign(None);
            }
            match cc51::Packet::decode(p, &self.key) {
                Ok(pkt) => self.on_cc51(from, pkt),
                Err(e) => Inbound::Foreign(Some(e)),
            }
        } else {
            if !self.policy.allows(Transport::TransCode) || self.transport == Some(Transport::Cc51)
            {
                return Inbound::Foreign(None);
            }
            match Packet::decode(p, self.tail) {
                Ok(pkt) => self.on_transcode(from, pkt),
                Err(e) => Inbound::Foreign(Some(e)),
            }
        }
    }

    fn on_transcode(&mut self, from: SocketAddr, pkt: Packet) -> Inbound {
        match (self.phase, pkt) {
            (Phase::Discovering, Packet::DiscoReply(d)) if d.uid == self.uid => {
                self.peer = from;
                self.transport = Some(Transport::TransCode);
                self.phase = Phase::TransCodeSession;
                let stage2 = Packet::Disco(Disco {
                    uid: self.uid,
                    sid: self.sid,
                    stage: 2,
                    authkey: [0; 8],
                });
                let (stage2, session) = (stage2.encode(self.tail), self.session_request());
                self.push(stage2);
                self.push(session);
                Inbound::Step
            }
            (Phase::TransCodeSession, Packet::DiscoReply(d)) if d.uid == self.uid => Inbound::Step,
            (Phase::TransCodeSession, Packet::SessionReply(s))
                if s.sid == self.sid || s.uid == self.uid =>
            {
                self.peer = from;
                self.phase = Phase::Up;
                Inbound::Up(Transport::TransCode)
            }
            (Phase::Up, Packet::SessionReply(_) | Packet::DiscoReply(_)) => Inbound::Step,
            (Phase::Up, Packet::DataRx(d)) if d.sid == self.sid => {
                self.peer = from;
                Inbound::Data {
                    channel: d.channel,
                    payload: d.payload,
                }
            }
            (Phase::Up | Phase::TransCodeSession, Packet::Keepalive { echo }) => {
                let wire = Packet::KeepaliveReply { echo }.encode(self.tail);
                self.push(wire);
                Inbound::Keepalive
            }
            _ => Inbound::Foreign(None),
        }
    }

    fn on_cc51(&mut self, from: SocketAddr, pkt: cc51::Packet) -> Inbound {
        match (self.phase, pkt) {
            (
                Phase::Discovering,
                cc51::Packet::Disco {
                    seq: 1,
                    ticket,
                    sid,
                    ..
                },
            ) => {
                self.peer = from;
                self.transport = Some(Transport::Cc51);
                self.ticket = ticket;
                self.sid = sid;
                self.phase = Phase::Cc51Confirm;
                let d = self.cc51_disco(2);
                self.push(d);
                Inbound::Step
            }
            (
                Phase::Cc51Confirm,
                cc51::Packet::Disco {
                    seq: 3, direction, ..
                },
            ) if direction == cc51::DIR_FINAL => {
                self.phase = Phase::Up;
                Inbound::Up(Transport::Cc51)
            }
            (Phase::Cc51Confirm | Phase::Up, cc51::Packet::Disco { .. }) => Inbound::Step,
            (
                Phase::Up,
                cc51::Packet::Data {
                    channel,
                    sid,
                    payload,
                    ..
                },
            ) if sid == self.sid => {
                self.peer = from;
                Inbound::Data { channel, payload }
            }
            (Phase::Up | Phase::Cc51Confirm, cc51::Packet::Keepalive { .. }) => {
                self.keepalive = self.keepalive.wrapping_add(2);
                let reply = cc51::Packet::Keepalive {
                    counter: self.keepalive,
                    sid: self.sid,
                };
                let wire = reply.encode(&self.key);
                self.push(wire);
                Inbound::Keepalive
            }
            _ => Inbound::Foreign(None),
        }
    }
}

/// The port a camera listens on when the config names none.
pub const DEFAULT_PORT: u16 = iotc::DEFAULT_PORT;

#[cfg(test)]
mod tests {
    use super::*;

    fn link(policy: TransportPolicy) -> Link {
        Link::new(
            WireUid::new("HSBJYB5HSETGCDWD111A").unwrap(),
            *b"Jd52xEZl",
            [1; 8],
            "127.0.0.1:32761".parse().unwrap(),
            TailPolicy::default(),
            policy,
        )
    }

    fn drain(l: &mut Link) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| l.poll_transmit().map(|(_, w)| w)).collect()
    }

    #[test]
    fn racing_sends_a_disco_of_each_transport() {
        let mut l = link(TransportPolicy::Race);
        l.connect_tick();
        let out = drain(&mut l);
        assert_eq!(out.len(), 2);
        assert!(
            matches!(Packet::decode(&out[0], TailPolicy::default()), Ok(Packet::Disco(d)) if d.stage == 1)
        );
        assert!(cc51::is_cc51(&out[1]));
        let mut only = link(TransportPolicy::Only(Transport::Cc51));
        only.connect_tick();
        assert_eq!(drain(&mut only).len(), 1);
    }

    #[test]
    fn transcode_connects_and_follows_the_cameras_port() {
        let mut l = link(TransportPolicy::Race);
        let cam: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let reply = Packet::DiscoReply(Disco {
            uid: l.uid,
            sid: l.sid,
            stage: 1,
            authkey: [0; 8],
        })
        .encode(TailPolicy::default());
        assert_eq!(l.handle(cam, &reply), Inbound::Step);
        let out = drain(&mut l);
        assert!(
            matches!(Packet::decode(&out[0], TailPolicy::default()), Ok(Packet::Disco(d)) if d.stage == 2)
        );
        assert!(matches!(
            Packet::decode(&out[1], TailPolicy::default()),
            Ok(Packet::Session(_))
        ));
        assert_eq!(l.peer(), cam);
        let up = Packet::SessionReply(SessionReq {
            uid: l.uid,
            sid: l.sid,
            unix_time: 0,
        })
        .encode(TailPolicy::default());
        assert_eq!(l.handle(cam, &up), Inbound::Up(Transport::TransCode));
        let wire = l.wrap(0, vec![1, 2, 3]).unwrap();
        let Ok(Packet::DataTx(d)) = Packet::decode(&wire, TailPolicy::default()) else {
            panic!()
        };
        assert_eq!((d.channel, d.payload), (0, vec![1, 2, 3]));
        // A CC51 answer now is foreign: the race is over.
        let late = cc51::Packet::Disco {
            seq: 1,
            direction: 0,
            ticket: 1,
            sid: [2; 8],
        }
        .encode(&l.key);
        assert!(matches!(l.handle(cam, &late), Inbound::Foreign(_)));
    }

    #[test]
    fn cc51_connects_with_the_cameras_ticket_and_sid() {
        let mut l = link(TransportPolicy::Race);
        let cam: SocketAddr = "127.0.0.1:32761".parse().unwrap();
        let key = l.key.clone();
        let one = cc51::Packet::Disco {
            seq: 1,
            direction: 0,
            ticket: 0x4242,
            sid: [9; 8],
        };
        assert_eq!(l.handle(cam, &one.encode(&key)), Inbound::Step);
        let out = drain(&mut l);
        assert_eq!(
            cc51::Packet::decode(&out[0], &key).unwrap(),
            cc51::Packet::Disco {
                seq: 2,
                direction: 0,
                ticket: 0x4242,
                sid: [9; 8]
            }
        );
        let three = cc51::Packet::Disco {
            seq: 3,
            direction: cc51::DIR_FINAL,
            ticket: 0x4242,
            sid: [9; 8],
        };
        assert_eq!(
            l.handle(cam, &three.encode(&key)),
            Inbound::Up(Transport::Cc51)
        );
        let ka = cc51::Packet::Keepalive {
            counter: 1,
            sid: [9; 8],
        };
        assert_eq!(l.handle(cam, &ka.encode(&key)), Inbound::Keepalive);
        assert!(matches!(
            cc51::Packet::decode(&drain(&mut l)[0], &key),
            Ok(cc51::Packet::Keepalive { counter: 2, .. })
        ));
    }

    #[test]
    fn strangers_and_other_sessions_are_foreign() {
        let mut l = link(TransportPolicy::Race);
        let other: SocketAddr = "127.0.0.9:32761".parse().unwrap();
        assert_eq!(l.handle(other, &[1, 2, 3]), Inbound::Foreign(None));
        let cam: SocketAddr = "127.0.0.1:32761".parse().unwrap();
        assert!(matches!(l.handle(cam, &[0; 40]), Inbound::Foreign(Some(_))));
        let wrong_uid = Packet::DiscoReply(Disco {
            uid: WireUid::new("OTHERCAMERA000000000").unwrap(),
            sid: [1; 8],
            stage: 1,
            authkey: [0; 8],
        })
        .encode(TailPolicy::default());
        assert_eq!(l.handle(cam, &wrong_uid), Inbound::Foreign(None));
    }

    #[test]
    fn searching_sends_discos_to_the_targets_once_a_second_and_takes_an_authentic_answer_from_anywhere(
    ) {
        let mut l = link(TransportPolicy::Race);
        let bcast: SocketAddr = "255.255.255.255:32761".parse().unwrap();
        let vlan: SocketAddr = "10.9.0.7:32761".parse().unwrap();
        l.set_search(vec![bcast, vlan, bcast, l.peer()]);
        l.connect_tick();
        let first: Vec<SocketAddr> =
            std::iter::from_fn(|| l.poll_transmit().map(|(d, _)| d)).collect();
        // Each transport's hello to both targets (deduplicated, the peer not
        // twice) and to the peer.
        assert_eq!(first.len(), 6, "{first:?}");
        assert_eq!(first.iter().filter(|d| **d == bcast).count(), 2);
        for _ in 1..SEARCH_EVERY_TICKS {
            l.connect_tick();
            let rest: Vec<SocketAddr> =
                std::iter::from_fn(|| l.poll_transmit().map(|(d, _)| d)).collect();
            assert_eq!(
                rest,
                vec![l.peer(), l.peer()],
                "between searches only the peer"
            );
        }
        l.connect_tick();
        assert_eq!(std::iter::from_fn(|| l.poll_transmit()).count(), 6);

        // A forged CC51 answer (wrong key) from elsewhere is foreign; garbage too.
        let cam: SocketAddr = "10.9.0.7:40001".parse().unwrap();
        let forged = cc51::Packet::Disco {
            seq: 1,
            direction: 0,
            ticket: 7,
            sid: [3; 8],
        }
        .encode(&Cc51Key::new(&l.uid.0, b"WRONGKEY"));
        assert!(matches!(l.handle(cam, &forged), Inbound::Foreign(_)));
        assert!(matches!(l.handle(cam, &[0x04, 0x02]), Inbound::Foreign(_)));
        // The camera's own answer, from an address we never named: taken.
        let reply = Packet::DiscoReply(Disco {
            uid: l.uid,
            sid: l.sid,
            stage: 1,
            authkey: [0; 8],
        })
        .encode(TailPolicy::default());
        assert_eq!(l.handle(cam, &reply), Inbound::Step);
        assert_eq!(l.peer(), cam);
        let out: Vec<SocketAddr> =
            std::iter::from_fn(|| l.poll_transmit().map(|(d, _)| d)).collect();
        assert_eq!(
            out,
            vec![cam, cam],
            "stage 2 and the session request go to the camera"
        );
        // From now on only the camera's address counts.
        let elsewhere: SocketAddr = "10.9.0.8:32761".parse().unwrap();
        assert_eq!(l.handle(elsewhere, &reply), Inbound::Foreign(None));
    }

    #[test]
    fn without_search_targets_only_the_peer_is_heard() {
        let mut l = link(TransportPolicy::Race);
        let reply = Packet::DiscoReply(Disco {
            uid: l.uid,
            sid: l.sid,
            stage: 1,
            authkey: [0; 8],
        })
        .encode(TailPolicy::default());
        let other: SocketAddr = "127.0.0.9:32761".parse().unwrap();
        assert_eq!(l.handle(other, &reply), Inbound::Foreign(None));
    }
}
