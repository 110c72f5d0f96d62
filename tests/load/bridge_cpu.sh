#!/usr/bin/env bash
# Bridge CPU and memory per camera: simulated cameras (in their own processes),
# a real mosquitto, and `cam2mqtt run` in another process; the bridge's and the
# simulators' utime+stime from /proc over MEASURE seconds, and the bridge's
# peak RSS (VmHWM). Snapshots every 10 s. Everything stays on loopback
# (camera i on 127.0.0.i), broadcasts off.
#
#   pppp: JSON-dialect cameras at 10 fps 640x480 (MJPEG), port 32108
#   tutk: Wyze cameras streaming H.264 at WYZE_SIZE (default 640x360),
#         port 32761; the bridge decodes a GOP per camera per snapshot
#   mix:  N is MJPEG+WYZE (e.g. 64+8): both kinds at once
#
#   bash tests/load/bridge_cpu.sh pppp|tutk|mix [N] [MEASURE=30]
#   (pppp_cpu.sh: 16 PPPP cameras; tutk_cpu.sh: 8 Wyze cameras;
#    mix_cpu.sh: 64 PPPP + 8 Wyze 1080p cameras)
#
# Environment:
#   WYZE_SIZE=1920x1080   Wyze picture size (640x360, 1280x720, 1920x1080, 2560x1440)
#   DECODE_WORKERS=n      sets [snapshots] decode_workers (default: the bridge's)
#   LATENCY=1             afterwards, snapshot latency: first snapshot after each
#                         camera came online, and ROUNDS (40) on-demand requests
#                         to the Wyze cameras (tests/load/snapshot_latency.py)
#   BIN=path              the bridge binary (default: build target/release/cam2mqtt)
#   BASE_IP=127.0.0.1     address of the first simulated camera (the others count up)
set -euo pipefail
cd "$(dirname "$0")/../.."
PROTOCOL=${1:?pppp, tutk or mix}
IP=${BASE_IP:-127.0.0.1}
WYZE_SIZE=${WYZE_SIZE:-640x360}
MJPEG=0
WYZE=0
case "$PROTOCOL" in
  pppp) MJPEG=${2:-16} ;;
  tutk) WYZE=${2:-8} ;;
  mix) SPEC=${2:-64+8}; MJPEG=${SPEC%+*}; WYZE=${SPEC#*+} ;;
  *) echo "protocol: pppp, tutk or mix" >&2; exit 2 ;;
esac
N=$((MJPEG + WYZE))
MEASURE=${3:-30}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/cam2mqtt
fi
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n' "$PORT" > "$DIR/mosquitto.conf"
mosquitto -c "$DIR/mosquitto.conf" >/dev/null 2>&1 &
SIMS=()
: > "$DIR/cams.toml"
if [ "$MJPEG" -gt 0 ]; then
  "$BIN" simulate --protocol pppp --dialect json --listen "$IP:32108" --count "$MJPEG" \
    > "$DIR/cams_pppp.toml" 2> "$DIR/sim_pppp.log" &
  SIMS+=($!)
fi
if [ "$WYZE" -gt 0 ]; then
  "$BIN" simulate --protocol tutk --listen "$IP:32761" --size "$WYZE_SIZE" --count "$WYZE" \
    > "$DIR/cams_tutk.toml" 2> "$DIR/sim_tutk.log" &
  SIMS+=($!)
fi
sleep 2
# Every camera must be its own: N entries with N different UIDs and ids.
ENTRIES=$(grep -c '^\[\[cameras\]\]' "$DIR/cams.toml" || true)
UIDS=$(grep '^uid = ' "$DIR/cams.toml" | sort -u | wc -l)
IDS=$(grep '^id = ' "$DIR/cams.toml" | sort -u | wc -l)
if [ "$ENTRIES" != "$N" ] || [ "$UIDS" != "$N" ] || [ "$IDS" != "$N" ]; then
  echo "simulate printed $ENTRIES entries, $UIDS distinct UIDs, $IDS distinct ids for $N cameras" >&2
  exit 1
fi
{
  printf '[mqtt]\nurl = "mqtt://127.0.0.1:%s"\n\n[snapshots]\ninterval_s = 10\n' "$PORT"
  if [ -n "${DECODE_WORKERS:-}" ]; then printf 'decode_workers = %s\n' "$DECODE_WORKERS"; fi
  printf '\n[rtsp]\nlisten = ""\n\n[http]\nlisten = ""\n\n'
  printf '[discovery]\npppp_broadcast = false\ntutk_broadcast = false\ninterval_s = 60\n\n'
  cat "$DIR"/cams_*.toml | grep -v '^#'
} > "$DIR/bridge.toml"
if [ "${LATENCY:-0}" = 1 ]; then
  python3 tests/load/snapshot_latency.py "$PORT" first 25 "$DIR/started" > "$DIR/first.txt" &
  PROBE=$!
  sleep 0.5
fi
date +%s.%N > "$DIR/started"
"$BIN" --config "$DIR/bridge.toml" --state-dir "$DIR/state" --log-level warn run 2> "$DIR/bridge.log" &
BRIDGE=$!
sleep 12   # first scan (2 s) and sessions up
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sim_ticks() { local t=0; for p in "${SIMS[@]}"; do t=$((t + $(ticks "$p"))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)
B0=$(ticks $BRIDGE); S0=$(sim_ticks); T0=$(date +%s.%N)
sleep "$MEASURE"
B1=$(ticks $BRIDGE); S1=$(sim_ticks); T1=$(date +%s.%N)
RSS=$(awk '/VmHWM/ {print $2}' "/proc/$BRIDGE/status")
python3 - "$MJPEG" "$WYZE" "$WYZE_SIZE" "$B0" "$B1" "$S0" "$S1" "$T0" "$T1" "$HZ" "$RSS" <<'PY'
import sys
mjpeg, wyze, size, b0, b1, s0, s1, t0, t1, hz, rss = sys.argv[1:]
n = int(mjpeg) + int(wyze); wall = float(t1) - float(t0); hz = int(hz)
bridge = (float(b1) - float(b0)) / hz / wall
sim = (float(s1) - float(s0)) / hz / wall
print(f"cameras: {n} ({mjpeg} MJPEG 640x480, {wyze} Wyze {size}), measured over {wall:.1f} s")
print(f"bridge: {bridge*100:.1f}% of one core in all, {bridge*100/n:.2f}% per camera; peak RSS {int(rss)//1024} MB")
print(f"simulators: {sim*100:.1f}% of one core in all, {sim*100/n:.2f}% per camera")
PY
# How many cameras were really streaming (their retained state says so).
# (`cam2mqtt/+/state` also matches `cam2mqtt/bridge/state`, hence N+1.)
STATES=$(timeout 5 mosquitto_sub -h 127.0.0.1 -p "$PORT" -t 'cam2mqtt/+/state' -C $((N + 1)) -W 4 2>/dev/null | grep '^{' || true)
STREAMING=$(printf '%s\n' "$STATES" | grep -c '"session":"streaming"' || true)
FRAMES=$(printf '%s\n' "$STATES" | python3 -c 'import sys, json; print(round(sum(json.loads(l)["fps"] for l in sys.stdin if l.strip()), 1))' || true)
echo "cameras streaming: $STREAMING of $N, total frame rate reported: $FRAMES fps"
if [ "${LATENCY:-0}" = 1 ]; then
  wait "$PROBE" || true
  cat "$DIR/first.txt"
  if [ "$WYZE" -gt 0 ]; then
    python3 tests/load/snapshot_latency.py "$PORT" demand sim_tutk_ "${ROUNDS:-40}"
    RSS=$(awk '/VmHWM/ {print $2}' "/proc/$BRIDGE/status")
    echo "bridge peak RSS after the on-demand requests: $((RSS / 1024)) MB"
  fi
fi
