#!/usr/bin/env bash
# Load test of `regiocal serve` on loopback (RELIABILITY.md section 4 and F9), in ONE run:
#
#   bash scripts/load.sh
#
# 1. builds the release binary, generates 50 sources x 10 events with shared/bench/gen_feeds.py
#    (seed 42), and starts `regiocal serve` on 127.0.0.1 (REGIOCAL_BIND), waiting until every
#    source is ingested;
# 2. runs wrk (closed loop, -t1 -c64) for DURATION seconds each against
#      ics   GET /calendar.ics                          (merged feed)
#      304   GET /calendar.ics with If-None-Match: <its ETag>
#      json  GET /api/v1/events?category=Theater&from=...&to=...&limit=50   (filtered query)
#      ics+slowloris  the ics run again while scripts/slowloris.py holds SLOW dribbling and
#                     IDLE silent sockets open (reopening any the server closes);
#      ics+uploads    the ics run again during a slow-body flood: UPLOADS push connections
#                     without a token sending 1 MiB bodies fast, and UPLOADS with a valid
#                     token announcing 1 MiB and sending 1 byte/s (the server's RSS is
#                     sampled every 0.5 s during it);
# 3. prints req/s, p99 latency, the server's RSS (VmRSS after each run, VmHWM at the end), its
#    open file descriptors, and the p99 ratio ics+slowloris / ics, as a Markdown table.
#
# Server and load generators are pinned to different cores with taskset when there are >= 2.
# wrk is not installed by this script: `apt-get install -y wrk`.
#
# Environment: DURATION (15) CONNS (64) SOURCES (50) EVENTS (10) SLOW (1000) IDLE (2000) UPLOADS (200)
#   PORT (18080) REGIOCAL_BENCH_SHARED (<repo>/../shared) WORK (new /tmp dir) KEEP_WORK=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${REGIOCAL_BENCH_SHARED:-$ROOT/../shared}
GEN=$SHARED/bench/gen_feeds.py
DURATION=${DURATION:-15}
CONNS=${CONNS:-64}
SOURCES=${SOURCES:-50}
EVENTS=${EVENTS:-10}
SLOW=${SLOW:-1000}
IDLE=${IDLE:-2000}
UPLOADS=${UPLOADS:-200}
TOKEN=rc_load_test_token
PORT=${PORT:-18080}
WORK=${WORK:-$(mktemp -d /tmp/regiocal-load.XXXXXX)}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
RC=$TARGET/release/regiocal
BASE=http://127.0.0.1:$PORT

log() { printf '[load %s] %s\n' "$(date -u +%T)" "$*" >&2; }

command -v wrk >/dev/null || { echo "load.sh: wrk not found; install it with: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "load.sh: curl not found; install it with: apt-get install -y curl" >&2; exit 2; }
[ -f "$GEN" ] || { echo "load.sh: $GEN not found (set REGIOCAL_BENCH_SHARED)" >&2; exit 2; }

# Enough descriptors for SLOW + IDLE sockets on both ends.
need=$((SLOW + IDLE + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$need" 2>/dev/null || log "ulimit -n is $(ulimit -n) (< $need): some sockets may fail"
fi

if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER="taskset -c 0"; PIN_LOAD="taskset -c 1"; PINNED="server on CPU 0, load on CPU 1"
else
  PIN_SERVER=""; PIN_LOAD=""; PINNED="not pinned"
fi

SERVER_PID=""; SLOW_PID=""
cleanup() {
  [ -n "$SLOW_PID" ] && kill $SLOW_PID 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet --bin regiocal)

log "generating $SOURCES x $EVENTS events in $WORK"
python3 "$GEN" --feeds "$SOURCES" --events "$EVENTS" --seed 42 --out "$WORK/data" >/dev/null
{
  # The generator's year: "now" pinned inside it, window covering all of it.
  printf '[calendar]\nname = "Load"\npast_days = 151\nfuture_days = 213\n'
  printf '[store]\npath = "%s/store.sqlite"\n' "$WORK"
  printf '[[source]]\nid = "push"\nname = "Push"\n'
  printf '[[actor]]\nid = "load"\nname = "Load"\nsources = ["push"]\ntoken_sha256 = "%s"\n' \
    "$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)"
  i=0
  for f in "$WORK"/data/*.ics; do
    printf '[[source]]\nid = "s%03d"\nname = "%s"\nurl = "%s"\n' "$i" "$(basename "$f" .ics)" "$f"
    i=$((i + 1))
  done
} >"$WORK/regiocal.toml"

log "starting regiocal serve on 127.0.0.1:$PORT ($PINNED)"
REGIOCAL_NOW=2026-06-01T00:00:00Z REGIOCAL_BIND=127.0.0.1:$PORT RUST_LOG=regiocal=warn \
  $PIN_SERVER "$RC" serve --config "$WORK/regiocal.toml" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready=0
for _ in $(seq 1 300); do
  if curl -sf "$BASE/api/v1/sources" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["sources"]
sys.exit(0 if s and all(x["health"] == "ok" for x in s if x["id"] != "push") else 1)' 2>/dev/null; then ready=1; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
[ "$ready" = 1 ] || { echo "load.sh: server not ready after 60 s" >&2; cat "$WORK/server.log" >&2; exit 1; }
sleep 0.5 # the snapshot swap follows the last ingest

ICS_URL="$BASE/calendar.ics"
JSON_URL="$BASE/api/v1/events?category=Theater&from=2026-03-01&to=2026-09-30&limit=50"
ETAG=$(curl -sD - -o /dev/null "$ICS_URL" | awk -F': ' 'tolower($1)=="etag" {sub(/\r$/, "", $2); print $2}')
ICS_BYTES=$(curl -s "$ICS_URL" | wc -c)
EVENTS_SERVED=$(curl -s "$BASE/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$ICS_URL")
[ "$code" = 304 ] || { echo "load.sh: If-None-Match gave $code, not 304" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "$JSON_URL")
[ "$code" = 200 ] || { echo "load.sh: JSON query gave $code" >&2; exit 1; }
log "ready: $EVENTS_SERVED occurrences, calendar.ics $ICS_BYTES bytes, ETag $ETAG"

status_kb() { awk -v k="$1:" '$1==k {print $2}' "/proc/$SERVER_PID/status"; }
fds() { ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l; }

ROWS=()
declare -A P99
run() { # name url [header]
  local name=$1 url=$2 out=$WORK/wrk-$1.txt
  log "wrk $name: -t1 -c$CONNS -d${DURATION}s"
  if [ $# -ge 3 ]; then
    $PIN_LOAD wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "$3" "$url" >"$out"
  else
    $PIN_LOAD wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$out"
  fi
  local rps p99 errs non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p99=$(awk '$1=="99%" {print $2}' "$out" | python3 -c '
import sys
v = sys.stdin.read().strip()
for unit, f in (("us", 0.001), ("ms", 1), ("s", 1000)):
    if v.endswith(unit):
        print(round(float(v[:-len(unit)]) * f, 2)); break')
  errs=$(awk '/Socket errors/ {print $0}' "$out" | sed 's/^ *//')
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$out")
  P99[$name]=$p99
  ROWS+=("| $name | $rps | $p99 | ${non2xx:-0} | ${errs:-none} | $(status_kb VmRSS) | $(fds) |")
}

run ics "$ICS_URL"
run 304 "$ICS_URL" "If-None-Match: $ETAG"
run json "$JSON_URL"

log "slowloris: $SLOW dribbling + $IDLE idle sockets"
$PIN_LOAD python3 "$ROOT/scripts/slowloris.py" --port "$PORT" --dribble "$SLOW" --idle "$IDLE" \
  >"$WORK/slowloris.txt" 2>&1 &
SLOW_PID=$!
for _ in $(seq 1 300); do grep -q '^open ' "$WORK/slowloris.txt" && break; sleep 0.1; done
grep '^open ' "$WORK/slowloris.txt" >&2 || { echo "load.sh: slowloris did not start" >&2; cat "$WORK/slowloris.txt" >&2; exit 1; }
FDS_UNDER=$(fds)
run ics+slowloris "$ICS_URL"
kill "$SLOW_PID"; wait "$SLOW_PID" 2>/dev/null || true; SLOW_PID=""
SLOW_SUMMARY=$(tail -1 "$WORK/slowloris.txt")
sleep 1
FDS_AFTER=$(fds)

log "slow-body flood: $UPLOADS token-less uploads of 1 MiB, $UPLOADS with a token at 1 B/s"
RSS_BEFORE=$(status_kb VmRSS)
$PIN_LOAD python3 "$ROOT/scripts/slowloris.py" --port "$PORT" --dribble 0 --idle 0 \
  --upload "$UPLOADS" --upload-chunk 65536 --interval 0.05 >"$WORK/uploads-anon.txt" 2>&1 &
UP1=$!
$PIN_LOAD python3 "$ROOT/scripts/slowloris.py" --port "$PORT" --dribble 0 --idle 0 \
  --upload "$UPLOADS" --upload-token "$TOKEN" --upload-chunk 1 --interval 1 >"$WORK/uploads-token.txt" 2>&1 &
UP2=$!
SLOW_PID="$UP1 $UP2"
for f in uploads-anon uploads-token; do
  for _ in $(seq 1 300); do grep -q '^open ' "$WORK/$f.txt" && break; sleep 0.1; done
done
( max=0; while kill -0 "$UP1" 2>/dev/null; do
    r=$(status_kb VmRSS); [ "${r:-0}" -gt "$max" ] && max=$r; echo "$max" >"$WORK/rss-max.txt"; sleep 0.5
  done ) &
SAMPLER=$!
run ics+uploads "$ICS_URL"
kill $UP1 $UP2; wait $UP1 $UP2 2>/dev/null || true; SLOW_PID=""
kill "$SAMPLER" 2>/dev/null || true
UPLOAD_RSS_MAX=$(cat "$WORK/rss-max.txt" 2>/dev/null || echo 0)
UPLOAD_SUMMARY="without token: $(tail -1 "$WORK/uploads-anon.txt"); with token: $(tail -1 "$WORK/uploads-token.txt")"
UPLOAD_RATIO=$(python3 -c "print(round(${P99[ics+uploads]} / ${P99[ics]}, 2))")
HWM=$(status_kb VmHWM)
RATIO=$(python3 -c "print(round(${P99[ics+slowloris]} / ${P99[ics]}, 2))")

cat <<EOF

## Load run $(date -u +%FT%TZ)

- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo), load average before: $(cut -d' ' -f1-3 /proc/loadavg)
- $PINNED; wrk -t1 -c$CONNS -d${DURATION}s (closed loop); release build
- data: $SOURCES sources x $EVENTS events, $EVENTS_SERVED occurrences served, calendar.ics $ICS_BYTES bytes

| run | req/s | p99 ms | non-2xx/3xx | socket errors | VmRSS KiB | server fds |
|---|---|---|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")

- p99 under slowloris / p99 idle (ics): **$RATIO**
- server fds with slowloris running: $FDS_UNDER; one second after it stopped: $FDS_AFTER
- slowloris: $SLOW_SUMMARY
- p99 during the slow-body flood / p99 idle (ics): **$UPLOAD_RATIO**; server RSS before it $RSS_BEFORE KiB, highest during it $UPLOAD_RSS_MAX KiB
- uploads: $UPLOAD_SUMMARY
- server VmHWM (peak RSS): $HWM KiB
EOF
