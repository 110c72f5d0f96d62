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
# shellcheck source=tests/load/live_lib.sh
. tests/load/live_lib.sh
RTSP=$(free_port)
live_start --protocol tutk --size "$WYZE_SIZE" --fps "$FPS" -- \
  "$(printf '[snapshots]\ninterval_s = 0\n\n[rtsp]\nlisten = "127.0.0.1:%s"' "$RTSP")"
URL="rtsp://127.0.0.1:$RTSP/$CAM"
echo "camera $CAM (Wyze H.264 $WYZE_SIZE at $FPS fps), bridge pid $BRIDGE, $MEASURE s per point"
for n in $CLIENTS; do
  PIDS=()
  for _ in $(seq 1 "$n"); do
    ffmpeg -nostdin -v error -rtsp_transport tcp -i "$URL" -map 0:v -c copy -f null - 2>>"$DIR/ffmpeg.log" &
    PIDS+=($!)
  done
  sleep "$WARMUP"
  t0=$(cpu_ticks)
  sleep "$MEASURE"
  t1=$(cpu_ticks)
  clients=$(curl -s "http://127.0.0.1:$HTTP/metrics" | awk '/^cam2mqtt_rtsp_clients /{print $2}')
  if [ "${#PIDS[@]}" -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
  printf '  %2d clients: bridge CPU %s %% of one core (RTSP clients connected: %s)\n' \
    "$n" "$(cpu_percent "$t0" "$t1" "$MEASURE")" "$clients"
  sleep 2
done
