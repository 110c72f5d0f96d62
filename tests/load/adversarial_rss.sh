#!/usr/bin/env bash
# Memory after an adversarial session: N simulated demo-mode cameras (their
# own process), a real mosquitto and `cam2mqtt run` (release). After a warm-up
# the bridge's RSS is taken; then every camera gets ROUNDS bursts of 1,000
# commands through mosquitto_pub (interval changes, on-demand snapshots,
# malformed values, unknown commands, bad Wi-Fi JSON) plus a few 1 MB
# payloads; then the bridge idles for IDLE seconds and its RSS is taken again.
# Prints RSS (MB) before, at peak (VmHWM) and after, the thread counts, and
# the events counted (one per command expected). Loopback only.
#
#   bash tests/load/adversarial_rss.sh [N=10] [ROUNDS=3] [IDLE=60]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10}
ROUNDS=${2:-3}
IDLE=${3:-60}
# BIN=path/to/cam2mqtt measures that binary instead of building this tree.
if [ -z "${BIN:-}" ]; then cargo build --release --quiet; BIN=target/release/cam2mqtt; fi
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\nuser root\n' "$PORT" > "$DIR/mosquitto.conf"
mosquitto -c "$DIR/mosquitto.conf" >/dev/null 2>&1 &
"$BIN" simulate --protocol demo --listen 127.0.0.1:0 --count "$N" > "$DIR/cams.toml" 2> "$DIR/sim.log" &
sleep 2
{
  printf '[mqtt]\nurl = "mqtt://127.0.0.1:%s"\n\n[snapshots]\ninterval_s = 10\n\n[rtsp]\nlisten = ""\n\n[http]\nlisten = ""\n\n' "$PORT"
  printf '[discovery]\npppp_broadcast = false\ntutk_broadcast = false\ninterval_s = 60\n\n'
  grep -v '^#' "$DIR/cams.toml"
} > "$DIR/bridge.toml"
IDS=$(grep -c '^\[\[cameras\]\]' "$DIR/bridge.toml")
python3 - "$DIR/bridge.toml" <<'PY'
import sys, re
p = sys.argv[1]; s = open(p).read(); n = 0
def cam(m):
    global n; n += 1
    return f'[[cameras]]\nid = "adv{n}"\n'
open(p, "w").write(re.sub(r'\[\[cameras\]\]\n', cam, s))
PY
"$BIN" --config "$DIR/bridge.toml" --state-dir "$DIR/state" --log-level warn run 2> "$DIR/bridge.log" &
BRIDGE=$!
mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 1 -t 'cam2mqtt/+/event' > "$DIR/events.txt" &
sleep 15
rss() { awk "/$1/ {print int(\$2/1024)}" "/proc/$BRIDGE/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$BRIDGE/status"; }
BEFORE=$(rss VmRSS); THREADS0=$(threads)
PEAK_THREADS=0
commands=0
FAILED=0
pub() { mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 "$@" 2>> "$DIR/pub.err"; }
# The payloads, 1,000 lines each.
seq 1000 | awk '{print ($1 * 37) % 3600}' > "$DIR/intervals"
seq 1000 > "$DIR/numbers"
for word in not-a-number '{"ssid": "x", "ssid": "y"}' now; do
  for _ in $(seq 1000); do printf '%s\n' "$word"; done > "$DIR/$(printf '%s' "$word" | tr -dc a-z | head -c 8)"
done
for r in $(seq "$ROUNDS"); do
  for i in $(seq "$IDS"); do
    t="cam2mqtt/adv$i/set"
    PIDS=()
    pub -l -t "$t/snapshot_interval" < "$DIR/intervals" & PIDS+=($!)
    pub -l -t "$t/snapshot" < "$DIR/numbers" & PIDS+=($!)
    pub -l -t "$t/snapshot_interval" < "$DIR/notanumb" & PIDS+=($!)
    pub -l -t "$t/wifi" < "$DIR/ssidxssi" & PIDS+=($!)
    pub -l -t "$t/fly" < "$DIR/now" & PIDS+=($!)
    for p in "${PIDS[@]}"; do wait "$p" || FAILED=$((FAILED + 1)); done
    commands=$((commands + 5000))
    T=$(threads); if [ "$T" -gt "$PEAK_THREADS" ]; then PEAK_THREADS=$T; fi
  done
  head -c 1100000 /dev/zero | pub -s -t "cam2mqtt/adv1/set/wifi"
  commands=$((commands + 1))
done
sleep 10
EVENTS=$(wc -l < "$DIR/events.txt")
sleep "$IDLE"
AFTER=$(rss VmRSS); PEAK=$(rss VmHWM); THREADS1=$(threads)
echo "cameras: $IDS, commands sent: $commands ($FAILED mosquitto_pub runs failed), events received: $EVENTS"
echo "bridge RSS: before $BEFORE MB, peak $PEAK MB, after ${IDLE}s idle $AFTER MB"
echo "bridge threads: before $THREADS0, peak seen $PEAK_THREADS, after $THREADS1"
echo "bridge warnings:"; grep -o 'WARN.*' "$DIR/bridge.log" | cut -c1-120 | sort | uniq -c | sort -rn | head -8 || true
sort "$DIR/pub.err" 2>/dev/null | uniq -c | head -5 || true
grep -c "cannot save" "$DIR/bridge.log" | sed 's/^/\"cannot save\" warnings: /' || true
