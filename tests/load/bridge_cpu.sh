#!/usr/bin/env bash
# Bridge CPU per camera: N simulated cameras (in their own process), a real
# mosquitto, and `cam2mqtt run` in a third process; the bridge's and the
# simulators' utime+stime from /proc over MEASURE seconds. Snapshots every
# 10 s. Everything stays on loopback (camera i on 127.0.0.i).
#
#   pppp: JSON-dialect cameras at 10 fps 640x480 (MJPEG), port 32108
#   tutk: Wyze cameras streaming H.264 (the simulator's default 640x360),
#         port 32761; the bridge decodes a GOP per camera per snapshot
#
#   bash tests/load/bridge_cpu.sh pppp|tutk [N] [MEASURE=30]
#   (pppp_cpu.sh: 16 PPPP cameras; tutk_cpu.sh: 8 Wyze cameras)
set -euo pipefail
cd "$(dirname "$0")/../.."
PROTOCOL=${1:?pppp or tutk}
case "$PROTOCOL" in
  pppp) N=${2:-16}; SIMULATE=(--protocol pppp --dialect json --listen 127.0.0.1:32108) ;;
  tutk) N=${2:-8}; SIMULATE=(--protocol tutk --listen 127.0.0.1:32761) ;;
  *) echo "protocol: pppp or tutk" >&2; exit 2 ;;
esac
MEASURE=${3:-30}
cargo build --release --quiet
BIN=target/release/cam2mqtt
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n' "$PORT" > "$DIR/mosquitto.conf"
mosquitto -c "$DIR/mosquitto.conf" >/dev/null 2>&1 &
"$BIN" simulate "${SIMULATE[@]}" --count "$N" > "$DIR/cams.toml" 2> "$DIR/sim.log" &
SIM=$!
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
  printf '[mqtt]\nurl = "mqtt://127.0.0.1:%s"\n\n[snapshots]\ninterval_s = 10\n\n[http]\nlisten = ""\n\n' "$PORT"
  printf '[discovery]\npppp_broadcast = false\ntutk_broadcast = false\ninterval_s = 60\n\n'
  grep -v '^#' "$DIR/cams.toml"
} > "$DIR/bridge.toml"
"$BIN" --config "$DIR/bridge.toml" --state-dir "$DIR/state" --log-level warn run 2> "$DIR/bridge.log" &
BRIDGE=$!
sleep 12   # first scan (2 s) and sessions up
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
B0=$(ticks $BRIDGE); S0=$(ticks $SIM); T0=$(date +%s.%N)
sleep "$MEASURE"
B1=$(ticks $BRIDGE); S1=$(ticks $SIM); T1=$(date +%s.%N)
RSS=$(awk '/VmHWM/ {print $2}' "/proc/$BRIDGE/status")
python3 - "$N" "$B0" "$B1" "$S0" "$S1" "$T0" "$T1" "$HZ" "$RSS" <<'PY'
import sys
n, b0, b1, s0, s1, t0, t1, hz, rss = sys.argv[1:]
n = int(n); wall = float(t1) - float(t0); hz = int(hz)
bridge = (float(b1) - float(b0)) / hz / wall
sim = (float(s1) - float(s0)) / hz / wall
print(f"cameras: {n}, measured over {wall:.1f} s")
print(f"bridge: {bridge*100:.1f}% of one core in all, {bridge*100/n:.2f}% per camera; peak RSS {int(rss)//1024} MB")
print(f"simulators: {sim*100:.1f}% of one core in all, {sim*100/n:.2f}% per camera")
PY
# How many cameras were really streaming (their retained state says so).
# (`cam2mqtt/+/state` also matches `cam2mqtt/bridge/state`, hence N+1.)
STATES=$(timeout 5 mosquitto_sub -h 127.0.0.1 -p "$PORT" -t 'cam2mqtt/+/state' -C $((N + 1)) -W 4 2>/dev/null | grep '^{' || true)
STREAMING=$(printf '%s\n' "$STATES" | grep -c '"session":"streaming"' || true)
FRAMES=$(printf '%s\n' "$STATES" | python3 -c 'import sys, json; print(round(sum(json.loads(l)["fps"] for l in sys.stdin if l.strip()), 1))' || true)
echo "cameras streaming: $STREAMING of $N, total frame rate reported: $FRAMES fps"
