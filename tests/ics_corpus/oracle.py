#!/usr/bin/env python3
"""The oracle of the iCalendar corpus sweep (tests/ics_corpus.rs).

Reads every `.ics` file that ships inside the `icalendar` and `recurring-ical-events`
wheels (their own test calendars: RFC examples, Google, Outlook, Apple, Thunderbird, Lotus,
broken and fuzzed files) and prints, as one JSON document on stdout, the occurrences that
python `icalendar` + `recurring-ical-events` (+ `x-wr-timezone`) compute for each file in a
fixed window:

    {"window": [start, end], "files": [
        {"file": "icalendar/tests/calendars/x.ics", "status": "ok",
         "occurrences": [["2027-02-06T14:00:00Z", "Summary"], ["2027-02-07", "All day"], ...]},
        {"file": "...", "status": "unreadable", "error": "..."}]}

A timed start is given in UTC (`...Z`); a floating time is read in Europe/Berlin (the zone
the Rust side is configured with); an all-day start is the date alone. `summary` is the
SUMMARY text or "" when there is none. VEVENTs without DTSTART are left out before the
expansion (recurring-ical-events cannot expand them; regiocal skips them). A file the oracle cannot read (the parser raises, the
expansion raises, or it takes longer than TIMEOUT seconds) is reported as "unreadable" and is
not counted by the sweep.

Usage: oracle.py [--list] [FILE ...]
    --list   prints the corpus files only
    FILE     expands these files instead of the corpus (tests/ics_interop.rs checks its own
             fixtures so)
"""
import json
import multiprocessing
import os
import sys
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone

WIN_START = datetime(1990, 1, 1, tzinfo=timezone.utc)
WIN_END = datetime(2040, 1, 1, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")
TIMEOUT = 20
# More occurrences than this in one file: the file is a stress test, not a calendar; only the
# first ones are compared (both sides sort by start, so the prefix is the same).
MAX_OCCURRENCES = 20_000


def corpus_files():
    roots = []
    for module, sub in ((icalendar, "tests"), (recurring_ical_events, "test")):
        base = os.path.dirname(os.path.abspath(module.__file__))
        roots.append((os.path.dirname(base), os.path.join(base, sub)))
    files = []
    for top, root in roots:
        for dirpath, _, names in os.walk(root):
            for n in names:
                if n.endswith(".ics"):
                    full = os.path.join(dirpath, n)
                    files.append((os.path.relpath(full, top), full))
    return sorted(files)


def start_key(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=BERLIN)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    raise ValueError(f"DTSTART of type {type(value).__name__}")


def expand(path):
    with open(path, "rb") as f:
        data = f.read()
    calendars = icalendar.Calendar.from_ical(data, multiple=True)
    out = []
    for cal in calendars:
        if cal.name != "VCALENDAR":
            # A bare component without a VCALENDAR around it (regiocal reads those too).
            wrapper = icalendar.Calendar()
            wrapper.add_component(cal)
            cal = wrapper
        # RFC 5545 3.6.1: DTSTART is required in a VEVENT of a calendar without METHOD, and
        # recurring-ical-events cannot expand one without it: such VEVENTs are left out
        # (regiocal skips them with a warning).
        for parent in cal.walk():
            parent.subcomponents = [
                c for c in parent.subcomponents if c.name != "VEVENT" or "DTSTART" in c
            ]
        cal = x_wr_timezone.to_standard(cal)
        query = recurring_ical_events.of(cal, components=["VEVENT"])
        for ev in query.between(WIN_START, WIN_END):
            summary = ev.get("SUMMARY")
            out.append([start_key(ev["DTSTART"].dt), "" if summary is None else str(summary)])
            if len(out) > MAX_OCCURRENCES:
                raise RuntimeError(f"more than {MAX_OCCURRENCES} occurrences")
    out.sort()
    return out


def worker(path, conn):
    try:
        conn.send(("ok", expand(path)))
    except BaseException as e:  # the oracle's own failures are data here
        conn.send(("unreadable", f"{type(e).__name__}: {e}"[:300]))


def run(path):
    parent, child = multiprocessing.Pipe(duplex=False)
    p = multiprocessing.Process(target=worker, args=(path, child))
    p.start()
    child.close()
    if parent.poll(TIMEOUT):
        status, value = parent.recv()
    else:
        status, value = "unreadable", f"timeout after {TIMEOUT} s"
    p.kill()
    p.join()
    return status, value


def main():
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    files = [(p, os.path.abspath(p)) for p in paths] if paths else corpus_files()
    if "--list" in sys.argv:
        for rel, _ in files:
            print(rel)
        return
    result = []
    for rel, full in files:
        status, value = run(full)
        entry = {"file": rel, "path": full, "status": status}
        entry["occurrences" if status == "ok" else "error"] = value
        result.append(entry)
    json.dump({"window": [WIN_START.isoformat(), WIN_END.isoformat()], "files": result},
              sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
