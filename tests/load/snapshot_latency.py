#!/usr/bin/env python3
"""Snapshot latency probe for the load harness (bridge_cpu.sh), stdlib only.

A minimal MQTT 3.1.1 client (QoS 0, loopback broker) that records, per camera:
* first-snapshot latency: from the bridge's start (the wall time in
  START_FILE) to the camera's first `snapshot`, and from its `availability`
  turning `online` (the bridge has its first picture) to that snapshot (this
  one reads low when the publisher is busy: both messages then queue);
* on-demand latency: from publishing `set/snapshot` to the next `snapshot` of
  that camera. Requests go round-robin to the cameras whose id starts with
  PREFIX, one at a time, at a random 1-2 s spacing (so they land at every
  phase of the scheduled snapshots).

  snapshot_latency.py PORT first  SECONDS START_FILE # first snapshots, until SECONDS
  snapshot_latency.py PORT demand PREFIX ROUNDS      # on-demand requests
Prints `name: n=.. p50=.. ms p95=.. ms max=.. ms`.
"""
import random
import socket
import sys
import time


def enc_str(s):
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def enc_len(n):
    out = bytearray()
    while True:
        d, n = n % 128, n // 128
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Mqtt:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        body = enc_str("MQTT") + bytes([4, 2]) + (0).to_bytes(2, "big")
        body += enc_str(f"latency-probe-{random.randrange(1 << 30)}")
        self.s.sendall(bytes([0x10]) + enc_len(len(body)) + body)
        kind, _ = self.packet(None)
        assert kind == 0x20, "CONNACK"

    def subscribe(self, topics):
        body = (1).to_bytes(2, "big")
        for t in topics:
            body += enc_str(t) + b"\x00"
        self.s.sendall(bytes([0x82]) + enc_len(len(body)) + body)

    def publish(self, topic, payload):
        body = enc_str(topic) + payload
        self.s.sendall(bytes([0x30]) + enc_len(len(body)) + body)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(1 << 20)
            except socket.timeout:
                return False
            if not chunk:
                raise EOFError("broker closed the connection")
            self.buf += chunk
        return True

    def packet(self, deadline):
        """(type, body) of the next packet, or (None, None) at the deadline."""
        if not self._fill(2, deadline):
            return None, None
        n, mult, i = 0, 1, 1
        while True:
            if not self._fill(i + 1, deadline):
                return None, None
            d = self.buf[i]
            n += (d & 0x7F) * mult
            mult *= 128
            i += 1
            if not d & 0x80:
                break
        if not self._fill(i + n, deadline):
            return None, None
        kind, body = self.buf[0] & 0xF0, self.buf[i : i + n]
        self.buf = self.buf[i + n :]
        return kind, body

    def message(self, deadline):
        """(topic, payload, wall-clock arrival) or None at the deadline."""
        while True:
            kind, body = self.packet(deadline)
            if kind is None:
                return None
            if kind == 0x30:
                tl = int.from_bytes(body[:2], "big")
                return body[2 : 2 + tl].decode(), body[2 + tl :], time.time()


def summary(name, ms):
    if not ms:
        print(f"{name}: no samples")
        return
    ms = sorted(ms)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    print(
        f"{name}: n={len(ms)} p50={pick(0.5):.0f} ms p95={pick(0.95):.0f} ms max={ms[-1]:.0f} ms"
    )


def camera(topic):
    parts = topic.split("/")
    return parts[1] if len(parts) >= 3 else None


def first(port, seconds, start_file):
    m = Mqtt(port)
    m.subscribe(["cam2mqtt/+/availability", "cam2mqtt/+/snapshot"])
    online, done = {}, {}
    end = time.monotonic() + seconds
    while (msg := m.message(end)) is not None:
        topic, payload, at = msg
        cam = camera(topic)
        if topic.endswith("/availability") and payload == b"online":
            online.setdefault(cam, at)
        elif topic.endswith("/snapshot"):
            done.setdefault(cam, at)
    start = float(open(start_file).read())
    groups = {}
    for cam, at in done.items():
        g = groups.setdefault(cam.rsplit("_", 1)[0], ([], []))
        g[0].append((at - start) * 1000)
        if cam in online:
            g[1].append((at - online[cam]) * 1000)
    for group, (from_start, from_online) in sorted(groups.items()):
        summary(f"first snapshot after the bridge started, {group}", from_start)
        summary(f"first snapshot after online, {group}", from_online)
    missing = sorted(set(online) - set(done))
    if missing:
        print(f"online without a first snapshot: {len(missing)}")


def demand(port, prefix, rounds):
    m = Mqtt(port)
    m.subscribe(["cam2mqtt/+/availability"])
    cams = set()
    end = time.monotonic() + 2
    while (msg := m.message(end)) is not None:
        topic, payload, _ = msg
        if payload == b"online" and camera(topic).startswith(prefix):
            cams.add(camera(topic))
    cams = sorted(cams)
    if not cams:
        print(f"on-demand: no online camera starting with {prefix}")
        return
    m.subscribe(["cam2mqtt/+/snapshot"])
    time.sleep(0.5)
    ms, lost = [], 0
    for r in range(rounds):
        time.sleep(random.uniform(1.0, 2.0))
        cam = cams[r % len(cams)]
        # Drain what arrived meanwhile, so only a newer snapshot counts.
        while m.message(time.monotonic() + 0.001) is not None:
            pass
        t0 = time.time()
        m.publish(f"cam2mqtt/{cam}/set/snapshot", b"1")
        deadline = time.monotonic() + 10
        while True:
            msg = m.message(deadline)
            if msg is None:
                lost += 1
                break
            topic, _, at = msg
            if topic == f"cam2mqtt/{cam}/snapshot":
                ms.append((at - t0) * 1000)
                break
    summary(f"on-demand snapshot, {prefix}* ({len(cams)} cameras)", ms)
    if lost:
        print(f"on-demand requests without a snapshot within 10 s: {lost}")


if __name__ == "__main__":
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "first":
        first(port, float(sys.argv[3]), sys.argv[4])
    else:
        demand(port, sys.argv[3], int(sys.argv[4]))
