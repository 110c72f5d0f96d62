# shellcheck shell=bash
# Shared by the live-view and RTSP load scripts (sourced, not run): a release
# bridge, a real mosquitto and one simulated camera, all on loopback with
# broadcasts off, and the bridge's CPU time from /proc.
#
#   live_start SIM_ARGS... -- SECTIONS [HTTP_KEYS]
#       starts mosquitto, `cam2mqtt simulate SIM_ARGS` and `cam2mqtt run`
#       (SECTIONS: TOML such as [snapshots] and [rtsp]; HTTP_KEYS: lines for
#       [http] after its listen key) and waits until the camera streams.
#       Sets DIR, CAM, HTTP (its port), BRIDGE (its pid).
#   cpu_ticks                               the bridge's utime+stime in ticks.
#   cpu_percent T0 T1 SECONDS               percent of one core between two readings.

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/cam2mqtt
fi
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

live_start() {
  local sim_args=()
  while [ "$1" != "--" ]; do sim_args+=("$1"); shift; done
  local sections=$2 http_keys=${3:-}
  local mqtt
  mqtt=$(free_port)
  HTTP=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n' "$mqtt" > "$DIR/mosquitto.conf"
  mosquitto -c "$DIR/mosquitto.conf" >/dev/null 2>&1 &
  "$BIN" simulate --listen 127.0.0.1:0 "${sim_args[@]}" > "$DIR/cams.toml" 2> "$DIR/sim.log" &
  sleep 2
  CAM=$(grep '^id = ' "$DIR/cams.toml" | head -1 | sed 's/id = "\(.*\)"/\1/')
  {
    printf '[mqtt]\nurl = "mqtt://127.0.0.1:%s"\n\n' "$mqtt"
    printf '%s\n\n' "$sections"
    printf '[http]\nlisten = "127.0.0.1:%s"\n%s\n\n' "$HTTP" "$http_keys"
    printf '[discovery]\npppp_broadcast = false\ntutk_broadcast = false\ninterval_s = 60\n\n'
    grep -v '^#' "$DIR/cams.toml"
  } > "$DIR/bridge.toml"
  "$BIN" --config "$DIR/bridge.toml" run 2> "$DIR/bridge.log" &
  BRIDGE=$!
  local state
  for _ in $(seq 1 100); do
    state=$(curl -s "http://127.0.0.1:$HTTP/api/cameras/$CAM" || true)
    case "$state" in *'"status":"streaming"'*) return 0 ;; esac
    sleep 0.2
  done
  echo "the camera never streamed; bridge log:" >&2
  cat "$DIR/bridge.log" >&2
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$BRIDGE/stat"; }

cpu_percent() {
  awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" -v s="$3" 'BEGIN { printf "%5.1f", 100 * (b - a) / hz / s }'
}
