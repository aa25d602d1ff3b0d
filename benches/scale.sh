#!/usr/bin/env bash
# Memory of `regiocal serve` and the size of what it serves, at a generated region, in ONE run:
#
#   bash benches/scale.sh                        # 100 sources x 1,000 events
#   FEEDS=1000 bash benches/scale.sh             # 1,000 x 1,000 (1.7 M occurrences)
#   BASELINE=/path/to/older/regiocal bash benches/scale.sh   # the same run with another binary
#                                                           # first, and the ratios
#
# For each binary (BASELINE if given, then this checkout's release build) it
# 1. generates FEEDS x EVENTS events with shared/bench/gen_feeds.py (seed 42; once per run),
#    every source a local file, and a fresh SQLite store;
# 2. starts `regiocal serve` on 127.0.0.1:PORT with the clock pinned inside the generated year
#    and samples the server's VmRSS every 0.2 s;
# 3. waits until every source is ingested and the snapshot with all of them is served (the
#    occurrence count of /healthz stops moving), then 5 s more;
# 4. records the resident memory then (steady) and 25 s later (settled), the peak (VmHWM, start-up included), the time
#    to the full snapshot, the bytes of the unfiltered /calendar.ics and /api/v1/events.jsonld,
#    and of one source's /calendar.ics?source=s000;
# and prints a Markdown table (with baseline / current ratios when BASELINE is set).
#
# Environment: FEEDS (100) EVENTS (1000) PORT (18181) REGIOCAL_BENCH_SHARED (<repo>/../shared)
#   BASELINE (none) WORK (new /tmp dir) KEEP_WORK=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${REGIOCAL_BENCH_SHARED:-$ROOT/../shared}
GEN=$SHARED/bench/gen_feeds.py
FEEDS=${FEEDS:-100}
EVENTS=${EVENTS:-1000}
PORT=${PORT:-18181}
WORK=${WORK:-$(mktemp -d /tmp/regiocal-scale.XXXXXX)}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
RC=$TARGET/release/regiocal
BASE=http://127.0.0.1:$PORT

log() { printf '[scale %s] %s\n' "$(date -u +%T)" "$*" >&2; }
command -v curl >/dev/null || { echo "scale.sh: curl not found (apt-get install -y curl)" >&2; exit 2; }
[ -f "$GEN" ] || { echo "scale.sh: $GEN not found (set REGIOCAL_BENCH_SHARED)" >&2; exit 2; }

SERVER_PID=""; SAMPLER=""
cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet --bin regiocal)

log "generating $FEEDS x $EVENTS events in $WORK/data"
python3 "$GEN" --feeds "$FEEDS" --events "$EVENTS" --seed 42 --out "$WORK/data" >/dev/null
DATA_BYTES=$(cat "$WORK"/data/*.ics | wc -c)

write_config() { # folder
  {
    # The generator's year: "now" pinned inside it, the window covering all of it.
    printf '[calendar]\nname = "Scale"\npast_days = 151\nfuture_days = 213\n'
    printf '[store]\npath = "%s/store.sqlite"\n' "$1"
    i=0
    for f in "$WORK"/data/*.ics; do
      printf '[[source]]\nid = "s%03d"\nname = "%s"\nurl = "%s"\n' "$i" "$(basename "$f" .ics)" "$f"
      i=$((i + 1))
    done
  } >"$1/regiocal.toml"
}

status_kb() { awk -v k="$1:" '$1==k {print $2}' "/proc/$SERVER_PID/status"; }
occurrences() { curl -sf "$BASE/healthz" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])' 2>/dev/null || echo 0; }
all_ok() {
  curl -sf "$BASE/api/v1/sources" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["sources"]
sys.exit(0 if s and all(x["health"] == "ok" for x in s) else 1)' 2>/dev/null
}
bytes_of() { curl -s "$BASE$1" | wc -c; }

declare -A R
measure() { # name binary
  local name=$1 bin=$2 dir=$WORK/$1
  mkdir -p "$dir"; write_config "$dir"
  log "$name: starting $bin serve on 127.0.0.1:$PORT"
  local t0; t0=$(date +%s.%N)
  REGIOCAL_NOW=2026-06-01T00:00:00Z REGIOCAL_BIND=127.0.0.1:$PORT RUST_LOG=regiocal=warn \
    "$bin" serve --config "$dir/regiocal.toml" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  ( while kill -0 "$SERVER_PID" 2>/dev/null; do
      awk '$1=="VmRSS:" {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null; sleep 0.2
    done >"$dir/rss.txt" ) &
  SAMPLER=$!
  local ready=0
  for _ in $(seq 1 3000); do
    if all_ok; then ready=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    sleep 0.2
  done
  [ "$ready" = 1 ] || { echo "scale.sh: $name not ingested after 10 min" >&2; exit 1; }
  # The last snapshot follows the last ingest: wait until the count stops moving.
  local last=-1 n stable=0
  while [ "$stable" -lt 10 ]; do
    n=$(occurrences)
    if [ "$n" = "$last" ] && [ "$n" != 0 ]; then stable=$((stable + 1)); else stable=0; last=$n; fi
    sleep 0.5
  done
  local t1; t1=$(date +%s.%N)
  sleep 5
  R[$name.occ]=$last
  R[$name.ready]=$(python3 -c "print(round($t1 - $t0 - 5, 1))")
  R[$name.steady]=$(status_kb VmRSS)
  R[$name.ics]=$(bytes_of /calendar.ics)
  R[$name.jsonld]=$(bytes_of /api/v1/events.jsonld)
  R[$name.one]=$(bytes_of "/calendar.ics?source=s000")
  R[$name.steady_after]=$(status_kb VmRSS)
  # The allocator hands freed pages back over seconds: what stays once it did.
  sleep 25
  R[$name.settled]=$(status_kb VmRSS)
  R[$name.peak]=$(status_kb VmHWM)
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  kill "$SAMPLER" 2>/dev/null || true; SAMPLER=""
  R[$name.sampled]=$(sort -n "$dir/rss.txt" | tail -1)
  log "$name: ${R[$name.occ]} occurrences; steady ${R[$name.steady]} KiB, peak ${R[$name.peak]} KiB"
}

NAMES=()
if [ -n "${BASELINE:-}" ]; then measure baseline "$BASELINE"; NAMES+=(baseline); fi
measure current "$RC"; NAMES+=(current)

mib() { python3 -c "print(round(${1:-0} / 1024, 1))"; }
mb() { python3 -c "print(round(${1:-0} / 1e6, 2))"; }
row() { # label key unit
  local line="| $1 |" n
  for n in "${NAMES[@]}"; do
    case $3 in
      kib) line+=" $(mib "${R[$n.$2]}") MiB |" ;;
      bytes) line+=" $(mb "${R[$n.$2]}") MB |" ;;
      *) line+=" ${R[$n.$2]} |" ;;
    esac
  done
  if [ "${#NAMES[@]}" = 2 ] && [ "$3" != plain ]; then
    line+=" $(python3 -c "a, b = ${R[current.$2]:-0}, ${R[baseline.$2]:-0}; print(round(a / b, 2) if b else '-')") |"
  fi
  echo "$line"
}

cat <<EOF

## Scale run $(date -u +%FT%TZ)

- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo), load average before: $(cut -d' ' -f1-3 /proc/loadavg)
- data: $FEEDS sources x $EVENTS events (gen_feeds.py seed 42), $(mb "$DATA_BYTES") MB of ICS; serve from a fresh SQLite store

| | $(printf '%s | ' "${NAMES[@]}")$( [ "${#NAMES[@]}" = 2 ] && echo 'current / baseline |')
|---|$(printf -- '---:|%.0s' "${NAMES[@]}")$( [ "${#NAMES[@]}" = 2 ] && echo '---:|')
$(row "occurrences served" occ plain)
$(row "start to full snapshot, s" ready plain)
$(row "resident, steady (VmRSS 5 s after)" steady kib)
$(row "resident after the requests below" steady_after kib)
$(row "resident 30 s after the full snapshot" settled kib)
$(row "peak (VmHWM, start-up included)" peak kib)
$(row "highest sampled VmRSS" sampled kib)
$(row "unfiltered /calendar.ics" ics bytes)
$(row "unfiltered /api/v1/events.jsonld" jsonld bytes)
$(row "/calendar.ics?source=s000" one bytes)
EOF
