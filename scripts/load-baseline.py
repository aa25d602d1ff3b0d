#!/usr/bin/env python3
"""Compares the figures of one `scripts/load-vs-nginx.sh` run with a stored baseline.

    python3 scripts/load-baseline.py check FIGURES BASELINE   # Markdown table; exit 1 on a regression
    python3 scripts/load-baseline.py save FIGURES BASELINE    # the run becomes the baseline

FIGURES and BASELINE are `name<TAB>value` lines as the load script writes them. Absolute
figures move with the machine's other work, so the gate is on figures measured against
nginx in the same run (RELIABILITY.md section 4: fail on a regression of more than 20 %
against a stored baseline, not on absolutes). The p99 figures are shown beside their
baseline but not gated: a closed-loop p99 and a p99 ratio during ingest move by more than
20 % between two runs of the same build on this kind of machine.
"""

import shutil
import sys

# name -> (description, better, gated, target from issue #7); a figure past its target is
# flagged whether gated or not.
METRICS = {
    "ics_vs_nginx": ("merged ICS plain, regiocal / nginx req/s", "higher", True, 0.7),
    "gzip_vs_nginx": ("merged ICS gzip, regiocal / nginx req/s", "higher", True, 0.7),
    "not_modified_vs_nginx": ("304, regiocal / nginx req/s", "higher", True, 0.5),
    "filtered_json_p99_ms": ("filtered JSON p99 ms", "lower", False, 20),
    "ingest_p99_ratio_ics": ("p99 during ingest / idle, ICS plain", "lower", False, 2),
    "ingest_p99_ratio_gzip": ("p99 during ingest / idle, ICS gzip", "lower", False, 2),
    "ingest_p99_ratio_304": ("p99 during ingest / idle, 304", "lower", False, 2),
    "ingest_p99_ratio_filtered_ics": ("p99 during ingest / idle, filtered ICS", "lower", False, 2),
    "ingest_p99_ratio_filtered_json": ("p99 during ingest / idle, filtered JSON", "lower", False, 2),
    "fixed_p99_ratio_304": ("fixed rate: p99 during ingest / idle, 304", "lower", False, 2),
    "fixed_p99_ratio_filtered_json": ("fixed rate: p99 during ingest / idle, filtered JSON", "lower", False, 2),
    "fixed_p99_ratio_gzip": ("fixed rate: p99 during ingest / idle, ICS gzip", "lower", False, 2),
}
TOLERANCE = 0.20


def read(path):
    figures = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                sys.exit(f"{path}:{n}: expected 'name<TAB>value', got {line!r}")
            try:
                figures[parts[0]] = float(parts[1])
            except ValueError:
                sys.exit(f"{path}:{n}: {parts[0]}: not a number: {parts[1]!r}")
    return figures


def check(figures_path, baseline_path):
    now, base = read(figures_path), read(baseline_path)
    print(f"\nAgainst the baseline `{baseline_path}` (gate: a gated figure more than "
          f"{TOLERANCE:.0%} worse fails the run):\n")
    print("| figure | target | baseline | this run | change | verdict |")
    print("|---|---|---:|---:|---:|---|")
    failed = []
    for name, (text, better, gated, target) in METRICS.items():
        bound = f"{'>=' if better == 'higher' else '<='} {target:g}"
        if name not in now or name not in base:
            print(f"| {text} | {bound} | {base.get(name, '-')} | {now.get(name, '-')} | | not measured |")
            if gated:
                failed.append(f"{text}: not measured")
            continue
        b, m = base[name], now[name]
        change = (m - b) / b if b else 0.0
        worse = -change if better == "higher" else change
        if not gated:
            verdict = "reported"
        elif worse > TOLERANCE:
            verdict = "**REGRESSION**"
            failed.append(f"{text}: {b} -> {m} ({change:+.0%})")
        else:
            verdict = "ok"
        missed = m < target if better == "higher" else m > target
        if missed:
            verdict += ", past the target"
        print(f"| {text} | {bound} | {b:g} | {m:g} | {change:+.0%} | {verdict} |")
    if failed:
        print("\nRegressed by more than 20 %: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def main(argv):
    if len(argv) != 4 or argv[1] not in ("check", "save"):
        sys.exit(__doc__)
    if argv[1] == "save":
        read(argv[2])
        shutil.copyfile(argv[2], argv[3])
        print(f"baseline written: {argv[3]}", file=sys.stderr)
        return 0
    return check(argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
