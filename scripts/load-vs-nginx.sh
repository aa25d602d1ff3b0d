#!/usr/bin/env bash
# regiocal beside nginx serving the same merged ICS, in ONE run, on loopback:
#
#   bash scripts/load-vs-nginx.sh
#
# 1. builds the release binary, generates SOURCES feeds x EVENTS events with
#    shared/bench/gen_feeds.py (seed 42; 100 x 540 is about 100,000 occurrences in the window)
#    and a second version of the same feeds (seed 43), and starts `regiocal serve` on
#    127.0.0.1:$PORT, waiting until every source is ingested;
# 2. writes regiocal's merged calendar.ics (and a gzip -9 copy) into a folder that nginx (from
#    Debian, `apt-get install -y nginx`; one worker, sendfile, gzip_static, ETags) serves on
#    127.0.0.1:$NGINX_PORT;
# 3. runs wrk (-t1 -c$CONNS, DURATION s each; server and nginx pinned to CPU 0, wrk to CPU 1)
#      nginx ics / ics gzip / 304
#      regiocal ics / ics gzip / 304 / filtered ICS (category + radius) / filtered JSON page
#    and then, while all but one of the SOURCES feeds change between two versions over and over,
#    regiocal ics / ics gzip / 304 / filtered ICS / filtered JSON again. INGEST=daemon (the
#    default) lets the server's own scheduler ingest them (every source is scheduled every
#    EVERY seconds; unchanged feeds cost a read and a hash); INGEST=process runs `regiocal fetch`
#    in a loop in another process on the server's CPU instead (the server notices through the
#    store version). Either way the server rebuilds its snapshot, renders the ready feeds and
#    swaps them in after each change;
#    With oha installed (`cargo install oha`), the latency comparison idle / during ingest is
#    also made at a fixed rate (RATE req/s for the 304 and the filtered JSON page, GZ_RATE for
#    the gzip ICS; --latency-correction), which leaves the CPU the ingest needs: wrk's closed
#    loop saturates the server, and then the lowered-priority import work hardly runs;
# 4. prints a Markdown table: req/s, p99, the ratios regiocal / nginx, and p99 during ingest /
#    idle;
# 5. compares the figures with the stored baseline (scripts/load-baseline.py) and exits 1 when
#    one measured against nginx in the same run is more than 20 % worse (SAVE_BASELINE=1
#    stores this run as the baseline instead).
#
# Environment: DURATION (10) CONNS (64) SOURCES (100) EVENTS (540) PORT (18080) INGEST (daemon)
#   EVERY (15) RATE (2000) GZ_RATE (20)
#   BASELINE (benches/results/load-vs-nginx-baseline.tsv) SAVE_BASELINE=1 FIGURES (file)
#   NGINX_PORT (18081) REGIOCAL_BENCH_SHARED (<repo>/../shared) WORK (new /tmp dir) KEEP_WORK=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${REGIOCAL_BENCH_SHARED:-$ROOT/../shared}
GEN=$SHARED/bench/gen_feeds.py
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
SOURCES=${SOURCES:-100}
EVENTS=${EVENTS:-540}
PORT=${PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
WORK=${WORK:-$(mktemp -d /tmp/regiocal-vs-nginx.XXXXXX)}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
RC=$TARGET/release/regiocal
BASE=http://127.0.0.1:$PORT
NBASE=http://127.0.0.1:$NGINX_PORT
# The generator's events fall in 2026: the window reaches back to its first day (the clock is
# not pinned, so the scheduler runs in real time).
PAST_DAYS=$(python3 -c 'import datetime; print(max(1, (datetime.date.today() - datetime.date(2026, 1, 1)).days + 1))')
INGEST=${INGEST:-daemon}
RATE=${RATE:-2000}
GZ_RATE=${GZ_RATE:-20}
HAVE_OHA=0; command -v oha >/dev/null && HAVE_OHA=1
EVERY=${EVERY:-15}
case "$INGEST" in daemon | process) ;; *) echo "INGEST must be daemon or process" >&2; exit 2 ;; esac

log() { printf '[vs-nginx %s] %s\n' "$(date -u +%T)" "$*" >&2; }

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 2; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx not found: apt-get install -y nginx" >&2; exit 2; }
[ -f "$GEN" ] || { echo "$GEN not found (set REGIOCAL_BENCH_SHARED)" >&2; exit 2; }

if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER="taskset -c 0"; PIN_LOAD="taskset -c 1"; PINNED="servers on CPU 0, wrk on CPU 1"
else
  PIN_SERVER=""; PIN_LOAD=""; PINNED="not pinned"
fi

SERVER_PID=""; NGINX_PID=""; INGEST_PID=""
cleanup() {
  [ -n "$INGEST_PID" ] && kill "$INGEST_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet --bin regiocal)

log "generating $SOURCES x $EVENTS events, two versions, in $WORK"
python3 "$GEN" --feeds "$SOURCES" --events "$EVENTS" --seed 42 --out "$WORK/v1" >/dev/null
python3 "$GEN" --feeds "$SOURCES" --events "$EVENTS" --seed 43 --out "$WORK/v2" >/dev/null
# The first source (s000), which the ingest below leaves alone, is generated on its own without
# copies: the generator copies events between the feeds of one run, and a copy of one of its
# events in a changing feed would change its merged events, and so its filtered feed and ETag,
# with every ingest (the 304 runs would get 200s).
python3 "$GEN" --feeds 1 --events "$EVENTS" --seed 44 --dup-rate 0 --out "$WORK/v0" >/dev/null
mkdir -p "$WORK/feeds"
for f in "$WORK"/v1/*.ics; do cp "$f" "$WORK/feeds/"; done
FIRST=$(basename "$(ls "$WORK"/feeds/*.ics | head -1)")
cp "$WORK/v0/$FIRST" "$WORK/feeds/$FIRST"
{
  printf '[calendar]\nname = "Load"\npast_days = %d\nfuture_days = 400\n' "$PAST_DAYS"
  printf '[store]\npath = "%s/store.sqlite"\npoll_interval = "1s"\n' "$WORK"
  # The two versions of a feed are unrelated (different seeds), and with the real clock only
  # the last weeks of 2026 are ahead: the shrink guard would hold many changes back, so it is
  # off here.
  printf '[fetch]\nconcurrency = 4\nmin_interval = "1s"\nshrink_threshold_percent = 100\n'
  i=0
  for f in "$WORK"/feeds/*.ics; do
    printf '[[source]]\nid = "s%03d"\nname = "%s"\nurl = "%s"\n' "$i" "$(basename "$f" .ics)" "$f"
    [ "$INGEST" = daemon ] && printf 'schedule = "*/%d * * * * *"\n' "$EVERY"
    i=$((i + 1))
  done
} >"$WORK/regiocal.toml"

log "starting regiocal serve on 127.0.0.1:$PORT ($PINNED)"
REGIOCAL_BIND=127.0.0.1:$PORT RUST_LOG=regiocal=warn \
  $PIN_SERVER "$RC" serve --config "$WORK/regiocal.toml" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready=0
for _ in $(seq 1 1200); do
  if curl -sf "$BASE/api/v1/sources" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["sources"]
sys.exit(0 if s and all(x["health"] == "ok" for x in s) else 1)' 2>/dev/null; then ready=1; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.25
done
[ "$ready" = 1 ] || { echo "server not ready after 300 s" >&2; cat "$WORK/server.log" >&2; exit 1; }
sleep 3 # the snapshot swap follows the last ingest

ICS_URL="$BASE/calendar.ics"
# The generator's venues lie in a few German cities; Cologne (50.94, 6.96) is one of them:
# theatre in Cologne is a few per cent of all occurrences, as a subscription to one category in
# one town would be.
FILTERED_ICS="$BASE/calendar.ics?category=Theater&near=50.94,6.96&radius_km=10"
JSON_URL="$BASE/api/v1/events?category=Theater&near=50.94,6.96&radius_km=10&from=2026-03-01&to=2026-09-30&limit=50"
FILTERED_VEVENTS=$(curl -sf "$FILTERED_ICS" | grep -c '^BEGIN:VEVENT' || true)
FILTERED_BYTES=$(curl -sf "$FILTERED_ICS" | wc -c)
JSON_EVENTS=$(curl -sf "$JSON_URL" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
# A filter that matches nothing would measure empty answers.
if [ "${FILTERED_VEVENTS:-0}" -eq 0 ] || [ "${JSON_EVENTS:-0}" -eq 0 ]; then
  echo "the filtered feed ($FILTERED_VEVENTS VEVENTs) or JSON page ($JSON_EVENTS events) is empty" >&2
  exit 1
fi
mkdir -p "$WORK/www"
# nginx's worker runs as an unprivileged user: it must be able to read the folder (mktemp -d
# makes it private).
chmod 755 "$WORK" "$WORK/www"
curl -sf "$ICS_URL" -o "$WORK/www/calendar.ics"
gzip -9 -k "$WORK/www/calendar.ics"
etag_of() { curl -sD - -o /dev/null "$1" | awk -F': ' 'tolower($1)=="etag" {sub(/\r$/, "", $2); print $2}'; }
ETAG=$(etag_of "$ICS_URL")
# The one source the ingest below leaves alone.
SOURCE_ICS="$BASE/calendar.ics?source=s000"
SOURCE_ETAG=$(etag_of "$SOURCE_ICS")
OCC=$(curl -s "$BASE/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
ICS_BYTES=$(wc -c <"$WORK/www/calendar.ics")
GZ_BYTES=$(wc -c <"$WORK/www/calendar.ics.gz")
for u in "$FILTERED_ICS" "$JSON_URL"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$u"); [ "$code" = 200 ] || { echo "$u gave $code" >&2; exit 1; }
done
log "ready: $OCC occurrences, calendar.ics $ICS_BYTES bytes ($GZ_BYTES gzip)"

cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { text/calendar ics; }
  gzip_static on;
  client_body_temp_path $WORK/nginx-tmp;
  proxy_temp_path $WORK/nginx-tmp;
  fastcgi_temp_path $WORK/nginx-tmp;
  uwsgi_temp_path $WORK/nginx-tmp;
  scgi_temp_path $WORK/nginx-tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
  }
}
EOF
mkdir -p "$WORK/nginx-tmp"
$PIN_SERVER "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.out" 2>&1 &
NGINX_PID=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "$NBASE/calendar.ics" && break; sleep 0.1; done
NETAG=$(curl -sD - -o /dev/null "$NBASE/calendar.ics" | awk -F': ' 'tolower($1)=="etag" {sub(/\r$/, "", $2); print $2}')
[ "$(curl -s -H 'Accept-Encoding: gzip' -D - -o /dev/null "$NBASE/calendar.ics" | grep -ci '^content-encoding: gzip')" = 1 ] \
  || { echo "nginx does not serve the gzip variant" >&2; exit 1; }

declare -A RPS P99
ROWS=()
run() { # name url [header...]
  local name=$1 url=$2; shift 2
  local out=$WORK/wrk-${name// /_}.txt args=()
  for h in "$@"; do args+=(-H "$h"); done
  log "wrk $name"
  $PIN_LOAD wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${args[@]}" "$url" >"$out"
  RPS[$name]=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  P99[$name]=$(awk '$1=="99%" {print $2}' "$out" | python3 -c '
import sys
v = sys.stdin.read().strip()
for unit, f in (("us", 0.001), ("ms", 1), ("s", 1000)):
    if v.endswith(unit):
        print(round(float(v[:-len(unit)]) * f, 2)); break')
  local bad; bad=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$out")
  # Bytes per answer (headers included): tells 304s from 200s with a body.
  local per; per=$(awk -v rps="${RPS[$name]}" '/^Transfer\/sec:/ {
    v = $2; f = 1
    if (v ~ /GB$/) f = 2^30; else if (v ~ /MB$/) f = 2^20; else if (v ~ /KB$/) f = 2^10
    sub(/[KMG]?B$/, "", v); printf "%d", v * f / rps }' "$out")
  ROWS+=("| $name | ${RPS[$name]} | ${P99[$name]} | ${per:-?} | ${bad:-0} |")
}

declare -A FP99 FBAD
FROWS=()
fixed() { # name url rate [header...]
  local name=$1 url=$2 rate=$3; shift 3
  local out=$WORK/oha-${name// /_}.json args=() p99 bad rps
  for h in "$@"; do args+=(-H "$h"); done
  log "oha $name ($rate req/s)"
  $PIN_LOAD oha -z "${DURATION}s" -q "$rate" -c 32 --latency-correction --no-tui \
    --output-format json "${args[@]}" "$url" >"$out" 2>/dev/null
  # The last field names the errors (oha counts requests still open at the deadline as
  # "aborted due to deadline").
  read -r p99 bad rps ok < <(python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution") or {}
errors = d.get("errorDistribution") or {}
bad = sum(n for c, n in codes.items() if not c.startswith(("2", "3"))) + sum(errors.values())
kinds = "; ".join(f"{n} {k}" for k, n in errors.items()).replace(" ", "_")
print(round(d["latencyPercentiles"]["p99"] * 1000, 2), f"{bad}" + (f"_({kinds})" if kinds else ""),
      round(d["summary"]["requestsPerSec"], 1), codes.get("200", 0))
PY
)
  bad=${bad//_/ }
  FP99[$name]=$p99; FBAD[$name]=$bad
  FROWS+=("| $name | $rate | $rps | $p99 | $ok | $bad |")
}

run "nginx ics" "$NBASE/calendar.ics"
run "nginx ics gzip" "$NBASE/calendar.ics" "Accept-Encoding: gzip"
run "nginx 304" "$NBASE/calendar.ics" "If-None-Match: $NETAG"
run "regiocal ics" "$ICS_URL"
run "regiocal ics gzip" "$ICS_URL" "Accept-Encoding: gzip"
run "regiocal 304" "$ICS_URL" "If-None-Match: $ETAG"
run "regiocal 304 one source" "$SOURCE_ICS" "If-None-Match: $SOURCE_ETAG"
run "regiocal filtered ics" "$FILTERED_ICS" "Accept-Encoding: gzip"
run "regiocal filtered json" "$JSON_URL"
if [ "$HAVE_OHA" = 1 ]; then
  fixed "idle: 304" "$SOURCE_ICS" "$RATE" "If-None-Match: $SOURCE_ETAG"
  fixed "idle: filtered json" "$JSON_URL" "$RATE"
  fixed "idle: ics gzip" "$ICS_URL" "$GZ_RATE" "Accept-Encoding: gzip"
fi

# Snapshots swapped in so far (ready renderings of the merged ICS, from /metrics).
swaps() {
  curl -s "$BASE/metrics" | awk '/^regiocal_feed_renders_total\{feed="calendar.ics",when="ready"\}/ {print $2}' | head -1
}
log "ingesting the two versions of $((SOURCES - 1)) feeds in turn, over and over, while measuring"
# Full ingests (updated fetches / sources), from /metrics.
updated() {
  curl -s "$BASE/metrics" | awk '/^regiocal_fetch_total\{.*outcome="updated"/ {n += $2} END {print n + 0}'
}
UPDATED_BEFORE=$(updated)
(
  v=2
  while true; do
    for f in "$WORK"/v$v/*.ics; do
      [ "$(basename "$f")" = "$FIRST" ] || cp "$f" "$WORK/feeds/"
    done
    if [ "$INGEST" = process ]; then
      RUST_LOG=regiocal=warn $PIN_SERVER "$RC" fetch --config "$WORK/regiocal.toml" >>"$WORK/ingest.log" 2>&1 || true
      echo "ingest done $(date -u +%T)" >>"$WORK/ingest.log"
    else
      sleep "$EVERY"
    fi
    v=$((3 - v))
  done
) &
INGEST_PID=$!
sleep 2
SWAPS_BEFORE=$(swaps)
if [ "$HAVE_OHA" = 1 ]; then
  fixed "during ingest: 304" "$SOURCE_ICS" "$RATE" "If-None-Match: $SOURCE_ETAG"
  fixed "during ingest: filtered json" "$JSON_URL" "$RATE"
  fixed "during ingest: ics gzip" "$ICS_URL" "$GZ_RATE" "Accept-Encoding: gzip"
  FSWAPS=$(( $(swaps) - SWAPS_BEFORE ))
if [ "$(etag_of "$SOURCE_ICS")" = "$SOURCE_ETAG" ]; then
  SOURCE_STABLE="its ETag was the same before and after the runs under ingest; bytes/answer and the 200s of the fixed-rate runs show whether any answer carried a body"
else
  SOURCE_STABLE="**its ETag changed during the runs under ingest: the 304 runs under ingest measured 200s, not 304s**"
fi
  FUPDATED=$(python3 -c "print(round(($(updated) - $UPDATED_BEFORE) / ($SOURCES - 1), 1))")
fi
run "during ingest: regiocal ics" "$ICS_URL"
run "during ingest: regiocal ics gzip" "$ICS_URL" "Accept-Encoding: gzip"
# Every swap changes the merged feed (its clients get one 200, then 304s again); the 304 runs
# ask for the feed of the one source the ingest leaves alone, whose ETag stays valid.
run "during ingest: regiocal 304" "$SOURCE_ICS" "If-None-Match: $SOURCE_ETAG"
run "during ingest: regiocal filtered ics" "$FILTERED_ICS" "Accept-Encoding: gzip"
run "during ingest: regiocal filtered json" "$JSON_URL"
SWAPS=$(( $(swaps) - SWAPS_BEFORE ))
kill "$INGEST_PID" 2>/dev/null || true; pkill -P "$INGEST_PID" 2>/dev/null || true; INGEST_PID=""
if [ "$INGEST" = process ]; then
  INGESTS=$(grep -c '^ingest done' "$WORK/ingest.log" || true)
  INGEST_TEXT="\`regiocal fetch\` of all $SOURCES sources in a loop in another process on the server's CPU"
else
  INGESTS=$(python3 -c "print(round(($(updated) - $UPDATED_BEFORE) / ($SOURCES - 1), 1))")
  INGEST_TEXT="the server's scheduler fetching all $SOURCES sources every $EVERY s"
fi

ratio() { python3 -c "print(round($1 / $2, 2))"; }
cat <<EOF

## regiocal beside nginx, $(date -u +%FT%TZ)

- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), load average before: $(cut -d' ' -f1-3 /proc/loadavg)
- $PINNED; wrk -t1 -c$CONNS -d${DURATION}s (closed loop); release build; nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///')
- data: $SOURCES sources x $EVENTS events (gen_feeds.py seed 42), $OCC occurrences, calendar.ics $ICS_BYTES bytes ($GZ_BYTES gzip)
- filtered ICS (theatre within 10 km of Cologne): $FILTERED_VEVENTS VEVENTs, $FILTERED_BYTES bytes uncompressed; filtered JSON page: $JSON_EVENTS events
- during ingest: $INGEST_TEXT, $((SOURCES - 1)) of them alternating between the seed 43 and seed 42 feeds (s000 stays, for the 304 runs; $SOURCE_STABLE); $INGESTS full ingests finished and $SWAPS snapshots were swapped in while measuring

| run | req/s | p99 ms | bytes/answer | non-2xx/3xx |
|---|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")

| target | measured |
|---|---|
| merged ICS, plain: regiocal / nginx req/s (>= 0.7) | $(ratio "${RPS[regiocal ics]}" "${RPS[nginx ics]}") |
| merged ICS, gzip: regiocal / nginx req/s (>= 0.7) | $(ratio "${RPS[regiocal ics gzip]}" "${RPS[nginx ics gzip]}") |
| 304: regiocal / nginx req/s (>= 0.5) | $(ratio "${RPS[regiocal 304]}" "${RPS[nginx 304]}") |
| filtered JSON p99 (< 20 ms) | ${P99[regiocal filtered json]} ms |
| p99 during ingest / idle, ICS plain (<= 2) | $(ratio "${P99[during ingest: regiocal ics]}" "${P99[regiocal ics]}") |
| p99 during ingest / idle, ICS gzip (<= 2) | $(ratio "${P99[during ingest: regiocal ics gzip]}" "${P99[regiocal ics gzip]}") |
| p99 during ingest / idle, 304 (<= 2) | $(ratio "${P99[during ingest: regiocal 304]}" "${P99[regiocal 304 one source]}") |
| p99 during ingest / idle, filtered ICS (<= 2) | $(ratio "${P99[during ingest: regiocal filtered ics]}" "${P99[regiocal filtered ics]}") |
| p99 during ingest / idle, filtered JSON (<= 2) | $(ratio "${P99[during ingest: regiocal filtered json]}" "${P99[regiocal filtered json]}") |
| req/s during ingest / idle, ICS gzip | $(ratio "${RPS[during ingest: regiocal ics gzip]}" "${RPS[regiocal ics gzip]}") |
| req/s during ingest / idle, filtered JSON | $(ratio "${RPS[during ingest: regiocal filtered json]}" "${RPS[regiocal filtered json]}") |
EOF
if [ "$HAVE_OHA" = 1 ]; then
  cat <<EOF

Fixed rate (oha -c32 --latency-correction, ${DURATION}s each, on CPU 1). During the three
runs under ingest $FUPDATED full ingests of the changing sources finished and $FSWAPS snapshots
were swapped in.

| run | target req/s | req/s | p99 ms | 200s | non-2xx/3xx or errors |
|---|---|---|---|---|---|
$(printf '%s\n' "${FROWS[@]}")

| target | measured |
|---|---|
| p99 during ingest / idle at a fixed rate, 304 (<= 2) | $(ratio "${FP99[during ingest: 304]}" "${FP99[idle: 304]}") |
| p99 during ingest / idle at a fixed rate, filtered JSON (<= 2) | $(ratio "${FP99[during ingest: filtered json]}" "${FP99[idle: filtered json]}") |
| p99 during ingest / idle at a fixed rate, ICS gzip (<= 2) | $(ratio "${FP99[during ingest: ics gzip]}" "${FP99[idle: ics gzip]}") |
EOF
fi

# Figures against the stored baseline (RELIABILITY.md section 4: fail on a regression of more
# than 20 %, not on absolutes). SAVE_BASELINE=1 makes this run the baseline.
FIGURES=${FIGURES:-$WORK/figures.tsv}
{
  printf 'ics_vs_nginx\t%s\n' "$(ratio "${RPS[regiocal ics]}" "${RPS[nginx ics]}")"
  printf 'gzip_vs_nginx\t%s\n' "$(ratio "${RPS[regiocal ics gzip]}" "${RPS[nginx ics gzip]}")"
  printf 'not_modified_vs_nginx\t%s\n' "$(ratio "${RPS[regiocal 304]}" "${RPS[nginx 304]}")"
  printf 'filtered_json_p99_ms\t%s\n' "${P99[regiocal filtered json]}"
  printf 'ingest_p99_ratio_ics\t%s\n' "$(ratio "${P99[during ingest: regiocal ics]}" "${P99[regiocal ics]}")"
  printf 'ingest_p99_ratio_gzip\t%s\n' "$(ratio "${P99[during ingest: regiocal ics gzip]}" "${P99[regiocal ics gzip]}")"
  printf 'ingest_p99_ratio_304\t%s\n' "$(ratio "${P99[during ingest: regiocal 304]}" "${P99[regiocal 304 one source]}")"
  printf 'ingest_p99_ratio_filtered_ics\t%s\n' "$(ratio "${P99[during ingest: regiocal filtered ics]}" "${P99[regiocal filtered ics]}")"
  printf 'ingest_p99_ratio_filtered_json\t%s\n' "$(ratio "${P99[during ingest: regiocal filtered json]}" "${P99[regiocal filtered json]}")"
  if [ "$HAVE_OHA" = 1 ]; then
    printf 'fixed_p99_ratio_304\t%s\n' "$(ratio "${FP99[during ingest: 304]}" "${FP99[idle: 304]}")"
    printf 'fixed_p99_ratio_filtered_json\t%s\n' "$(ratio "${FP99[during ingest: filtered json]}" "${FP99[idle: filtered json]}")"
    printf 'fixed_p99_ratio_gzip\t%s\n' "$(ratio "${FP99[during ingest: ics gzip]}" "${FP99[idle: ics gzip]}")"
  fi
} >"$FIGURES"
BASELINE=${BASELINE:-$ROOT/benches/results/load-vs-nginx-baseline.tsv}
if [ "${SAVE_BASELINE:-0}" = 1 ]; then
  python3 "$ROOT/scripts/load-baseline.py" save "$FIGURES" "$BASELINE"
elif [ -f "$BASELINE" ]; then
  python3 "$ROOT/scripts/load-baseline.py" check "$FIGURES" "$BASELINE"
else
  log "no baseline at $BASELINE (SAVE_BASELINE=1 stores this run as one)"
fi
