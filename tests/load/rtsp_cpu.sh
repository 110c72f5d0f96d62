#!/usr/bin/env bash
# RTSP cost: one simulated Wyze camera (its own process) streaming H.264 at
# WYZE_SIZE (default 1920x1080), a real mosquitto and `cam2mqtt run` (release
# build) in another process; for each client count, that many ffmpeg clients
# read rtsp://…/<camera> over TCP and copy it (no decoding, `-c copy -f null`),
# and the bridge's utime+stime from /proc is measured over MEASURE seconds
# (after WARMUP). The bridge passes H.264 through, so a client should cost
# next to nothing beyond the camera session (the 0-client line). Snapshots
# are on demand only, so no snapshot decode adds noise.
# Everything stays on loopback; broadcasts off.
#
#   bash tests/load/rtsp_cpu.sh [CLIENTS="0 1 10"]
#
# Environment: MEASURE (20), WARMUP (6), WYZE_SIZE (1920x1080), FPS (20),
# BIN (default: build target/release/cam2mqtt).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS=${1:-"0 1 10"}
MEASURE=${MEASURE:-20}
WARMUP=${WARMUP:-6}
WYZE_SIZE=${WYZE_SIZE:-1920x1080}
FPS=${FPS:-20}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/cam2mqtt
fi
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
HTTP=$(free_port)
RTSP=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n' "$PORT" > "$DIR/mosquitto.conf"
mosquitto -c "$DIR/mosquitto.conf" >/dev/null 2>&1 &
"$BIN" simulate --protocol tutk --listen 127.0.0.1:0 --size "$WYZE_SIZE" --fps "$FPS" > "$DIR/cams.toml" 2> "$DIR/sim.log" &
sleep 2
CAM=$(grep '^id = ' "$DIR/cams.toml" | head -1 | sed 's/id = "\(.*\)"/\1/')
{
  printf '[mqtt]\nurl = "mqtt://127.0.0.1:%s"\n\n[snapshots]\ninterval_s = 0\n\n' "$PORT"
  printf '[rtsp]\nlisten = "127.0.0.1:%s"\n\n' "$RTSP"
  printf '[http]\nlisten = "127.0.0.1:%s"\n\n' "$HTTP"
  printf '[discovery]\npppp_broadcast = false\ntutk_broadcast = false\ninterval_s = 60\n\n'
  grep -v '^#' "$DIR/cams.toml"
} > "$DIR/bridge.toml"
"$BIN" --config "$DIR/bridge.toml" run 2> "$DIR/bridge.log" &
BRIDGE=$!
URL="rtsp://127.0.0.1:$RTSP/$CAM"
for _ in $(seq 1 100); do
  state=$(curl -s "http://127.0.0.1:$HTTP/api/cameras/$CAM" || true)
  case "$state" in *'"status":"streaming"'*) break ;; esac
  sleep 0.2
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
echo "camera $CAM (Wyze H.264 $WYZE_SIZE at $FPS fps), bridge pid $BRIDGE, $MEASURE s per point"
for n in $CLIENTS; do
  PIDS=()
  for _ in $(seq 1 "$n"); do
    ffmpeg -nostdin -v error -rtsp_transport tcp -i "$URL" -map 0:v -c copy -f null - 2>>"$DIR/ffmpeg.log" &
    PIDS+=($!)
  done
  sleep "$WARMUP"
  t0=$(ticks "$BRIDGE")
  sleep "$MEASURE"
  t1=$(ticks "$BRIDGE")
  clients=$(curl -s "http://127.0.0.1:$HTTP/metrics" | awk '/^cam2mqtt_rtsp_clients /{print $2}')
  if [ "${#PIDS[@]}" -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
  awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$MEASURE" -v n="$n" -v c="$clients" \
    'BEGIN { printf "  %2d clients: bridge CPU %5.1f %% of one core (RTSP clients connected: %s)\n", n, 100 * (b - a) / hz / s, c }'
  sleep 2
done
