#!/usr/bin/env bash
# End-to-end, side-by-side comparison of regiocal with the Python baseline, in ONE run.
#
#   bash benches/compare.sh                 # 10x1,000 and 100x1,000
#   WITH_100K=1 bash benches/compare.sh     # ... plus 1x100,000 (adds ~20 minutes)
#
# For every size it generates the feeds with shared/bench/gen_feeds.py (seed 42), writes a
# regiocal config pointing at them, then times with hyperfine (fallback: /usr/bin/time, 3 runs):
#   python   : py_merge.py --in DATA --out OUT            (parse + expand + naive dedupe + write
#                                                          merged.ics and events.json)
#   regiocal : rm store; regiocal fetch; regiocal export --format ics --format json --out OUT
#              (two processes, fresh SQLite store every run; one snapshot for both files)
#   sha1sum  : cat DATA/*.ics | sha1sum (reading and hashing the same bytes: the floor)
# and, separately, each regiocal step, plus a refetch of the unchanged feeds (the hourly poll).
# Peak RSS comes from /usr/bin/time -v around every timed process (max over runs; for regiocal
# the max over its two processes). The table (medians,
# python/regiocal ratio) is printed and written to benches/results/compare-<UTC date>.md.
#
# Environment:
#   REGIOCAL_BENCH_SHARED  shared/ folder (default: <repo>/../shared); holds bench/gen_feeds.py
#   VENV                   venv with the Python peer (default /tmp/bench-venv; created with
#                          `NO_APT=1 bash shared/bench/setup.sh` if it cannot import icalendar)
#   WITH_100K=1            also run 1x100,000
#   ONLY="10x1000 ..."     run only these sizes (names: 10x1000 100x1000 1x100000)
#   RUNS_SMALL (5) RUNS_LARGE (3) RC_RUNS (10)   hyperfine runs: 10x1,000 / larger sizes /
#                          per-step regiocal runs
#   WORK                   scratch folder (default: a new /tmp/regiocal-compare.XXXXXX)
#   KEEP_WORK=1            keep WORK afterwards
#   FLOOR=0                skip the parse floor (benches/floor.rs: calcard's parse of the same
#                          feeds beside sha1sum, in the same run; on by default)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${REGIOCAL_BENCH_SHARED:-$ROOT/../shared}
if [ -f "$SHARED/bench/gen_feeds.py" ]; then BENCH=$SHARED/bench
elif [ -f "$SHARED/gen_feeds.py" ]; then BENCH=$SHARED
else echo "compare.sh: gen_feeds.py not found under $SHARED (set REGIOCAL_BENCH_SHARED)" >&2; exit 2; fi
BENCH=$(cd "$BENCH" && pwd)
VENV=${VENV:-/tmp/bench-venv}
RUNS_SMALL=${RUNS_SMALL:-5}
RUNS_LARGE=${RUNS_LARGE:-3}
RC_RUNS=${RC_RUNS:-10}
WITH_100K=${WITH_100K:-0}
WORK=${WORK:-$(mktemp -d /tmp/regiocal-compare.XXXXXX)}
DATE=$(date -u +%F)
RESULTS=$ROOT/benches/results
REPORT=$RESULTS/compare-$DATE.md
# Never overwrite an earlier result of the same day.
[ -e "$REPORT" ] && REPORT=$RESULTS/compare-$DATE-$(date -u +%H%M%S).md
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
RC=$TARGET/release/regiocal
# "Now" and window: exactly the generator's [2026-01-01, 2027-01-01) in Europe/Berlin.
export REGIOCAL_NOW=2026-06-01T00:00:00Z
PAST_DAYS=151
FUTURE_DAYS=213
export RUST_LOG=${RUST_LOG:-regiocal=warn}
mkdir -p "$WORK" "$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup() { [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

log() { printf '[compare %s] %s\n' "$(date -u +%T)" "$*" >&2; }

# ---- tools ------------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  echo "compare.sh: /usr/bin/time is needed for peak RSS (apt-get install time)" >&2; exit 2
fi
if command -v hyperfine >/dev/null; then HAVE_HF=1; else HAVE_HF=0; log "hyperfine missing: falling back to /usr/bin/time, 3 runs"; fi
if ! "$VENV/bin/python" -c 'import icalendar, recurring_ical_events' 2>/dev/null; then
  log "Python peer missing in $VENV; installing it with NO_APT=1 $BENCH/setup.sh"
  VENV=$VENV NO_APT=1 bash "$BENCH/setup.sh" >/dev/null
fi
PY=$VENV/bin/python

log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet --bin regiocal)
FLOOR=${FLOOR:-1}
if [ "$FLOOR" = 1 ]; then
  log "building the parse floor benchmark (benches/floor.rs)"
  (cd "$ROOT" && cargo bench --quiet --bench floor --no-run)
fi

# ---- helpers ----------------------------------------------------------------------------------
write_config() { # dir data
  local dir=$1 data=$2
  mkdir -p "$dir"
  {
    printf '[calendar]\nname = "Bench"\npast_days = %d\nfuture_days = %d\n' "$PAST_DAYS" "$FUTURE_DAYS"
    printf 'max_occurrences_per_series = 1000\n'
    printf '[store]\npath = "store.sqlite"\n'
    printf '[fetch]\nmax_body_bytes = 1073741824\n'
    local f i=0
    for f in "$data"/*.ics; do
      printf '[[source]]\nid = "s%04d"\nname = "%s"\nurl = "%s"\n' "$i" "$(basename "$f" .ics)" "$f"
      i=$((i + 1))
    done
  } >"$dir/regiocal.toml"
}

# One regiocal pipeline run: fresh store, fetch, export ics + json; peak RSS of each
# process appended to $rss (time -v).
write_rc_pipeline() { # script cfgdir outdir rssfile
  cat >"$1" <<EOF
#!/usr/bin/env bash
set -euo pipefail
rm -f "$2/store.sqlite" "$2/store.sqlite-wal" "$2/store.sqlite-shm"
/usr/bin/time -v -a -o "$4.fetch" "$RC" fetch --config "$2/regiocal.toml" >"$3/fetch.txt"
/usr/bin/time -v -a -o "$4.export" "$RC" export --config "$2/regiocal.toml" --format ics --format json --out "$3" 2>/dev/null
EOF
  chmod +x "$1"
}

# Median wall seconds of a command over N runs with /usr/bin/time (the hyperfine fallback);
# writes a hyperfine-like JSON so the summary reads one format.
fallback_time() { # json name cmd [prepare]
  local json=$1 name=$2 cmd=$3 prep=${4:-} k
  local times=()
  for k in 1 2 3; do
    [ -n "$prep" ] && bash -c "$prep"
    /usr/bin/time -f '%e' -o "$WORK/t.txt" bash -c "$cmd" >/dev/null 2>&1
    times+=("$(tail -1 "$WORK/t.txt")")
  done
  python3 - "$json" "$name" "${times[@]}" <<'EOF'
import json, statistics, sys
out, name, ts = sys.argv[1], sys.argv[2], [float(t) for t in sys.argv[3:]]
try: doc = json.load(open(out))
except Exception: doc = {"results": []}
doc["results"].append({"command": name, "median": statistics.median(ts), "mean": statistics.mean(ts),
                       "stddev": statistics.pstdev(ts), "min": min(ts), "max": max(ts), "times": ts})
json.dump(doc, open(out, "w"))
EOF
}

timeit() { # json runs warmup prepare name1 cmd1 [name2 cmd2 ...]
  local json=$1 runs=$2 warm=$3 prep=$4; shift 4
  if [ "$HAVE_HF" = 1 ]; then
    local args=()
    while [ $# -gt 0 ]; do args+=(-n "$1" "$2"); shift 2; done
    local pargs=()
    [ -n "$prep" ] && pargs=(--prepare "$prep")
    hyperfine --style basic --runs "$runs" --warmup "$warm" "${pargs[@]}" \
      --export-json "$json" "${args[@]}" >&2
  else
    rm -f "$json"
    while [ $# -gt 0 ]; do fallback_time "$json" "$1" "$2" "$prep"; shift 2; done
  fi
}

# ---- sizes ------------------------------------------------------------------------------------
ALL_SIZES=("10x1000 10 1000 $RUNS_SMALL 1" "100x1000 100 1000 $RUNS_LARGE 0" "1x100000 1 100000 $RUNS_LARGE 0")
ONLY=${ONLY:-"10x1000 100x1000$([ "$WITH_100K" = 1 ] && echo ' 1x100000')"}
SIZES=()
for spec in "${ALL_SIZES[@]}"; do
  case " $ONLY " in *" ${spec%% *} "*) SIZES+=("$spec") ;; esac
done
[ ${#SIZES[@]} -gt 0 ] || { echo "compare.sh: ONLY=\"$ONLY\" names no size" >&2; exit 2; }

for spec in "${SIZES[@]}"; do
  read -r name feeds events runs warm <<<"$spec"
  data=$WORK/data/$name cfg=$WORK/cfg/$name outp=$WORK/out/$name/py outr=$WORK/out/$name/rc
  rss=$WORK/rss/$name
  mkdir -p "$outp" "$outr" "$rss"
  log "$name: generating feeds"
  python3 "$BENCH/gen_feeds.py" --feeds "$feeds" --events "$events" --seed 42 --alt-feeds 0 --out "$data" 2>"$WORK/gen-$name.txt"
  write_config "$cfg" "$data"
  write_rc_pipeline "$WORK/rc-$name.sh" "$cfg" "$outr" "$rss/rc"

  # Pre-flight: one regiocal run (also warms the page cache); a refused source is reported
  # instead of timed.
  rc_ok=1
  if ! "$WORK/rc-$name.sh" 2>"$WORK/rc-$name.err" || ! grep -q ' 0 failed$' "$outr/fetch.txt"; then
    rc_ok=0
    log "$name: regiocal run failed:"; cat "$outr/fetch.txt" "$WORK/rc-$name.err" >&2 || true
  fi
  rm -f "$rss"/rc.*   # keep RSS of timed runs only

  pycmd="/usr/bin/time -v -a -o $rss/py $PY $BENCH/py_merge.py --in $data --out $outp"
  log "$name: timing python ($runs runs) and regiocal pipeline"
  if [ "$rc_ok" = 1 ]; then
    timeit "$WORK/hf-$name.json" "$runs" "$warm" "" python "$pycmd" regiocal "$WORK/rc-$name.sh" \
      sha1sum "cat $data/*.ics | sha1sum"
    log "$name: timing regiocal steps ($RC_RUNS runs each)"
    store_rm="rm -f $cfg/store.sqlite $cfg/store.sqlite-wal $cfg/store.sqlite-shm"
    timeit "$WORK/hf-$name-fetch.json" "$RC_RUNS" 1 "$store_rm" \
      fetch "$RC fetch --config $cfg/regiocal.toml >/dev/null"
    timeit "$WORK/hf-$name-export.json" "$RC_RUNS" 1 "" \
      export "$RC export --config $cfg/regiocal.toml --format ics --format json --out $WORK/export-$name 2>/dev/null"
    # The hourly poll: every feed fetched again, unchanged (read, hashed, found equal, state
    # saved), with the store the steps above left behind; compared with sha1sum of the same bytes.
    timeit "$WORK/hf-$name-refetch.json" "$RC_RUNS" 1 "" \
      refetch "$RC fetch --config $cfg/regiocal.toml >/dev/null"
    if [ "$FLOOR" = 1 ]; then
      # What parsing alone costs on the same feeds, beside sha1sum in the same run.
      log "$name: the parse floor (benches/floor.rs)"
      (cd "$ROOT" && cargo bench --quiet --bench floor -- "$data") | grep '^|\|feeds,' >"$WORK/floor-$name.md"
    fi
  else
    timeit "$WORK/hf-$name.json" "$runs" "$warm" "" python "$pycmd"
  fi
  echo "$rc_ok" >"$WORK/ok-$name"
done

# ---- report -----------------------------------------------------------------------------------
log "writing $REPORT"
GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(cd "$ROOT" && git status --porcelain -- src 2>/dev/null | wc -l)
export WORK BENCH PY DATE GIT_REV GIT_DIRTY HAVE_HF REPORT PAST_DAYS FUTURE_DAYS RC_RUNS
export SIZES_LIST="${SIZES[*]}"
export RUSTC_V=$(rustc --version 2>/dev/null || echo '?')
export HF_V=$(hyperfine --version 2>/dev/null || echo 'none (/usr/bin/time, 3 runs)')
export PY_V=$("$PY" -c 'import sys; from importlib.metadata import version as v; print("Python %s, icalendar %s, recurring-ical-events %s" % (sys.version.split()[0], v("icalendar"), v("recurring-ical-events")))' 2>/dev/null || echo '?')
export LOAD_START LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
export CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
export NCPU=$(nproc)
python3 - <<'EOF'
import json, os, re, subprocess, sys
W = os.environ["WORK"]; bench = os.environ["BENCH"]
sizes = [s.split()[0] for s in os.environ["SIZES_LIST"].split(" ") if "x" in s]

def load(p):
    try: return {r["command"]: r for r in json.load(open(p))["results"]}
    except Exception: return {}

def rss_mb(path):
    """max 'Maximum resident set size' over all runs appended to a time -v file (MB)."""
    try: txt = open(path).read()
    except OSError: return None
    vals = [int(v) for v in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", txt)]
    return max(vals) / 1024 if vals else None

def f(x, fmt="%.2f"): return "n/a" if x is None else fmt % x

rows, steps, checks, notes = [], [], [], []
for name in sizes:
    m = json.load(open(os.path.join(W, "data", name, "manifest.json")))
    t, ex = m["totals"], m["expected"]
    ok = open(os.path.join(W, "ok-" + name)).read().strip() == "1"
    hf = load(os.path.join(W, "hf-%s.json" % name))
    py = hf.get("python", {}).get("median"); rc = hf.get("regiocal", {}).get("median")
    ratio = py / rc if py and rc else None
    rssd = os.path.join(W, "rss", name)
    py_rss = rss_mb(os.path.join(rssd, "py"))
    rc_steps = {k: rss_mb(os.path.join(rssd, "rc." + k)) for k in ("fetch", "export")}
    rc_rss = max([v for v in rc_steps.values() if v is not None], default=None)
    runs = len(hf.get("python", {}).get("times", [])) or "?"
    sha = hf.get("sha1sum", {}).get("median")
    vs_sha = rc / sha if rc and sha else None
    rows.append("| %s | %d | %.1f | %s | %s | %s | %s | **%s** | **%s** | %s | %s |" % (
        name, t["vevents"], t["bytes_ics"] / 1e6, runs, f(py), f(rc, "%.3f"), f(sha, "%.3f"),
        f(ratio, "%.1f×"), f(vs_sha, "%.1f×"), f(py_rss, "%.0f"), f(rc_rss, "%.0f")))
    st = load(os.path.join(W, "hf-%s-fetch.json" % name)); st.update(load(os.path.join(W, "hf-%s-export.json" % name)))
    st.update(load(os.path.join(W, "hf-%s-refetch.json" % name)))
    if st:
        refetch = st.get("refetch", {}).get("median")
        steps.append("| %s | %s | %s | %s | %s | %s / %s |" % (
            name, f(st.get("fetch", {}).get("median"), "%.3f"), f(st.get("export", {}).get("median"), "%.3f"),
            f(refetch, "%.3f"), f(refetch / sha if refetch and sha else None, "%.1f×"),
            f(rc_steps["fetch"], "%.0f"), f(rc_steps["export"], "%.0f")))
    if not ok:
        fetch = open(os.path.join(W, "out", name, "rc", "fetch.txt")).read().strip().splitlines()
        notes.append("* **%s: regiocal did not ingest the feed set**, so it was not timed. `regiocal fetch` said:\n\n  ```\n%s\n  ```" % (
            name, "\n".join("  " + l for l in fetch)))
    # output checks
    pyout = os.path.join(W, "out", name, "py")
    r = subprocess.run([sys.executable, os.path.join(bench, "check_output.py"), os.path.join(W, "data", name), pyout],
                       capture_output=True, text=True)
    checks.append("* %s python: `check_output.py --expect naive` -> `%s`" % (name, " | ".join(r.stdout.strip().splitlines())))
    if ok:
        rcout = os.path.join(W, "out", name, "rc")
        doc = json.load(open(os.path.join(rcout, "events.json"), encoding="utf-8"))
        n_ics = open(os.path.join(rcout, "calendar.ics"), "rb").read().count(b"BEGIN:VEVENT")
        items = doc if isinstance(doc, list) else doc.get("events", [])
        compatible = isinstance(doc, list) and len(doc) == n_ics
        if compatible:
            r = subprocess.run([sys.executable, os.path.join(bench, "check_output.py"), os.path.join(W, "data", name), rcout,
                                "--expect", "ideal"], capture_output=True, text=True)
            checks.append("* %s regiocal: `check_output.py --expect ideal` -> `%s`" % (name, " | ".join(r.stdout.strip().splitlines())))
        else:
            why = []
            if not isinstance(doc, list):
                why.append("its events.json is an object `{\"events\": [...], \"next\": null}` (the API page), "
                           "while check_output.py counts `len(json.load(...))` of a top-level list (it would count 2 keys)")
            if len(items) != n_ics:
                why.append("check_output.py also requires merged.ics (regiocal: calendar.ics) to hold one VEVENT per occurrence; regiocal's ICS "
                           "keeps series compact (master with RRULE/EXDATE + RECURRENCE-ID overrides): %d VEVENTs for %d occurrences"
                           % (n_ics, len(items)))
            n = len(items)
            if n == ex["after_ideal_dedupe"]:
                dedup = "the count equals the ideal de-duplication count"
                if ex["after_ideal_dedupe"] == ex["occurrences_in_window"]:
                    dedup += " (this size has no cross-feed copies, so ideal = no merging)"
            elif n == ex["occurrences_in_window"]:
                dedup = "no cross-source de-duplication (neither naive nor ideal): %d copies kept" % (n - ex["after_ideal_dedupe"])
            else:
                dedup = "some merging (%+d from ideal)" % (n - ex["after_ideal_dedupe"])
            # Every published occurrence lists the sources announcing it (more than one when
            # merged): their sum is the number of occurrences expanded before merging.
            announced = sum(len(e.get("sources") or [None]) for e in items)
            checks.append("* %s regiocal: check_output.py **not run, schema incompatible**: %s. Counted directly instead: "
                          "%d occurrences in events.json, announced %d times (the sum of their `sources`) vs manifest "
                          "occurrences_in_window=%d, naive=%d, ideal=%d -> expansion %s; %s." % (
                          name, "; ".join(why), len(items), announced, ex["occurrences_in_window"],
                          ex["after_naive_dedupe_summary_dtstart"], ex["after_ideal_dedupe"],
                          "matches the generator exactly" if announced == ex["occurrences_in_window"] else "DIFFERS from the generator",
                          dedup))

env = os.environ
md = ["# regiocal vs Python baseline, end to end (%s)" % env["DATE"], "",
      "Machine: %s, %s cores. %s; hyperfine: %s; %s. regiocal at commit %s%s." % (
          env["CPU"], env["NCPU"], env["RUSTC_V"], env["HF_V"], env["PY_V"], env["GIT_REV"],
          " (plus %s uncommitted file(s) in src/ of concurrent work)" % env["GIT_DIRTY"] if env["GIT_DIRTY"] != "0" else ""),
      "",
      "Load average (1/5/15 min) at start: %s, at end: %s. Anything above ~0.1 means other work (e.g. "
      "concurrent cargo builds) shared the 2 cores, which inflates wall-clock times of both sides." % (
          env["LOAD_START"], env["LOAD_END"]),
      "",
      "Feeds: `gen_feeds.py --seed 42 --alt-feeds 0`. Window [2026-01-01, 2027-01-01) Europe/Berlin for both "
      "(python: `--start/--end` defaults; regiocal: REGIOCAL_NOW=2026-06-01T00:00:00Z, past_days=%s, future_days=%s)." % (
          env["PAST_DAYS"], env["FUTURE_DAYS"]),
      "",
      "* **python** = one process `py_merge.py --in DATA --out OUT`: parse, expand, naive dedupe, write merged.ics + events.json.",
      "* **regiocal** = two processes with a fresh SQLite store every run: `fetch` (read, parse, normalise, store) + "
      "`export --format ics --format json --out OUT` (loads the store, builds one snapshot, writes calendar.ics and events.json).",
      "* **sha1sum** = `cat DATA/*.ics | sha1sum`: reading and hashing the same bytes, the floor (target: regiocal at most 3× it).",
      "* Times are hyperfine medians of wall-clock seconds, python and regiocal measured in the same invocation; "
      "ratio = python median / regiocal median. Peak RSS = max `Maximum resident set size` of `/usr/bin/time -v` over the "
      "timed runs (regiocal: the larger of its two processes).",
      "",
      "| size | VEVENTs | ICS MB | runs | python median s | regiocal median s | sha1sum median s | python/regiocal (≥ 100×) | regiocal/sha1sum (≤ 3×) | python peak RSS MB | regiocal peak RSS MB (< 300) |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"] + rows
if steps:
    md += ["", "regiocal steps (hyperfine medians, %s runs each; fetch with a fresh store; refetch = every feed "
           "fetched again unchanged, the hourly poll, against the store the other steps left; its ratio to the "
           "sha1sum median above) and peak RSS per process of the pipeline:" % env.get("RC_RUNS", "10"), "",
           "| size | fetch s | export (ics + json) s | refetch (unchanged) s | refetch / sha1sum | peak RSS MB fetch / export |",
           "|---|---:|---:|---:|---:|---:|"] + steps
floors = []
for name in sizes:
    try: floors.append((name, open(os.path.join(W, "floor-%s.md" % name)).read().strip()))
    except OSError: pass
if floors:
    md += ["", "## The parse floor (`benches/floor.rs`, same run)", "",
           "Parsing alone, on both cores, with the bodies already in memory, beside `cat | sha1sum` "
           "timed again by the benchmark itself (medians of 5 runs):"]
    for name, table in floors:
        md += ["", "%s: %s" % (name, table.splitlines()[0]), ""] + table.splitlines()[1:]
md += ["", "## Output checks", ""] + checks
if notes:
    md += ["", "## Not measured", ""] + notes
text = "\n".join(md) + "\n"
open(env["REPORT"], "w", encoding="utf-8").write(text)
print(text)
EOF
