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
# shellcheck source=tests/load/live_lib.sh
. tests/load/live_lib.sh
case "$PROTOCOL" in
  pppp) SIM=(--protocol pppp --dialect json) ;;
  tutk) SIM=(--protocol tutk --size "$WYZE_SIZE") ;;
  *) echo "protocol: pppp or tutk" >&2; exit 2 ;;
esac
live_start "${SIM[@]}" -- "$(printf '[snapshots]\ninterval_s = 10\n\n[rtsp]\nlisten = ""')" "live_fps = 5"
URL="http://127.0.0.1:$HTTP/api/cameras/$CAM/stream.mjpeg"
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
  t0=$(cpu_ticks)
  sleep "$MEASURE"
  t1=$(cpu_ticks)
  metrics=$(curl -s "http://127.0.0.1:$HTTP/metrics" || true)
  decoders=$(printf '%s\n' "$metrics" | awk '/^cam2mqtt_live_decoders /{print $2}')
  if [ "${#PIDS[@]}" -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
  printf '  %2d viewers: bridge CPU %s %% of one core (live decoders %s)\n' \
    "$n" "$(cpu_percent "$t0" "$t1" "$MEASURE")" "$decoders"
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
