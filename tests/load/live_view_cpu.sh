#!/usr/bin/env bash
# Live view cost: one simulated camera (its own process), a real mosquitto and
# `cam2mqtt run` (release build) in another process; for each viewer count,
# that many `curl` clients read the camera's stream.mjpeg, and the bridge's
# utime+stime from /proc is measured over MEASURE seconds (after WARMUP).
# Then the time a new viewer waits for its first complete picture (median of
# FIRST_ROUNDS, each with no other viewer, after the live decoder stopped).
# Everything stays on loopback; broadcasts off.
#
#   bash tests/load/live_view_cpu.sh pppp  [VIEWERS="0 1 10"]
#   WYZE_SIZE=1920x1080 bash tests/load/live_view_cpu.sh tutk [VIEWERS="0 1"]
#
#   pppp: a JSON-dialect camera at 10 fps 640x480 (MJPEG: frames forwarded)
#   tutk: a Wyze camera streaming H.264 at WYZE_SIZE (default 640x360), 20 fps;
#         watched, the bridge decodes it live at http.live_fps (5)
# Environment: MEASURE (20), WARMUP (6), FIRST_ROUNDS (5), BIN (default: build
# target/release/cam2mqtt).
set -euo pipefail
cd "$(dirname "$0")/../.."
PROTOCOL=${1:?pppp or tutk}
VIEWERS=${2:-"0 1 10"}
MEASURE=${MEASURE:-20}
WARMUP=${WARMUP:-6}
FIRST_ROUNDS=${FIRST_ROUNDS:-5}
WYZE_SIZE=${WYZE_SIZE:-640x360}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/cam2mqtt
fi
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
HTTP=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n' "$PORT" > "$DIR/mosquitto.conf"
mosquitto -c "$DIR/mosquitto.conf" >/dev/null 2>&1 &
case "$PROTOCOL" in
  pppp) "$BIN" simulate --protocol pppp --dialect json --listen 127.0.0.1:0 > "$DIR/cams.toml" 2> "$DIR/sim.log" & ;;
  tutk) "$BIN" simulate --protocol tutk --listen 127.0.0.1:0 --size "$WYZE_SIZE" > "$DIR/cams.toml" 2> "$DIR/sim.log" & ;;
  *) echo "protocol: pppp or tutk" >&2; exit 2 ;;
esac
SIM=$!
sleep 2
CAM=$(grep '^id = ' "$DIR/cams.toml" | head -1 | sed 's/id = "\(.*\)"/\1/')
{
  printf '[mqtt]\nurl = "mqtt://127.0.0.1:%s"\n\n[snapshots]\ninterval_s = 10\n\n' "$PORT"
  printf '[rtsp]\nlisten = ""\n\n'
  printf '[http]\nlisten = "127.0.0.1:%s"\nlive_fps = 5\n\n' "$HTTP"
  printf '[discovery]\npppp_broadcast = false\ntutk_broadcast = false\ninterval_s = 60\n\n'
  grep -v '^#' "$DIR/cams.toml"
} > "$DIR/bridge.toml"
"$BIN" --config "$DIR/bridge.toml" run 2> "$DIR/bridge.log" &
BRIDGE=$!
URL="http://127.0.0.1:$HTTP/api/cameras/$CAM/stream.mjpeg"
for _ in $(seq 1 100); do
  state=$(curl -s "http://127.0.0.1:$HTTP/api/cameras/$CAM" || true)
  case "$state" in *'"status":"streaming"'*) break ;; esac
  sleep 0.2
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
SIZE=""
if [ "$PROTOCOL" = tutk ]; then SIZE=" $WYZE_SIZE"; fi
echo "camera $CAM ($PROTOCOL$SIZE), bridge pid $BRIDGE, $MEASURE s per point"
for n in $VIEWERS; do
  PIDS=()
  for _ in $(seq 1 "$n"); do
    curl -s -o /dev/null "$URL" &
    PIDS+=($!)
  done
  sleep "$WARMUP"
  t0=$(ticks "$BRIDGE")
  sleep "$MEASURE"
  t1=$(ticks "$BRIDGE")
  metrics=$(curl -s "http://127.0.0.1:$HTTP/metrics" || true)
  decoders=$(printf '%s\n' "$metrics" | awk '/^cam2mqtt_live_decoders /{print $2}')
  if [ "${#PIDS[@]}" -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
  awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$MEASURE" -v n="$n" -v d="$decoders" \
    'BEGIN { printf "  %2d viewers: bridge CPU %5.1f %% of one core (live decoders %s)\n", n, 100 * (b - a) / hz / s, d }'
  sleep 5
done
python3 - "$URL" "$FIRST_ROUNDS" <<'EOF'
import socket, statistics, sys, time, urllib.parse
url, rounds = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlsplit(url)
waits = []
for _ in range(rounds):
    s = socket.create_connection((u.hostname, u.port))
    start = time.monotonic()
    s.sendall(f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n".encode())
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        body = buf.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in buf else b""
        part = body.find(b"Content-Length: ")
        if part >= 0:
            end = body.find(b"\r\n", part)
            head_end = body.find(b"\r\n\r\n", part)
            if end > 0 and head_end > 0:
                n = int(body[part + 16:end])
                if len(body) >= head_end + 4 + n:
                    break
    waits.append(time.monotonic() - start)
    s.close()
    time.sleep(5)  # the live decoder stops 3 s after the last viewer
print(f"  first complete picture for a new viewer: median {statistics.median(waits)*1000:.1f} ms (of {rounds}: {', '.join(f'{w*1000:.1f}' for w in waits)} ms)")
EOF
