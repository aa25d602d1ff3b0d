#!/usr/bin/env python3
"""Independent reader of regiocal's ICS output (used by tests/ics_output.rs).

Reads an iCalendar file with python `icalendar` + `recurring-ical-events` and prints every
occurrence between two RFC 3339 instants as JSON lines: {"uid", "summary", "start", "end",
"status"} with times in Europe/Berlin (dates for all-day events).

    python3 ics_occurrences.py FILE FROM TO
Exit code 3 when the libraries are missing.
"""
import json
import sys

try:
    import icalendar
    import recurring_ical_events
    from zoneinfo import ZoneInfo
except ImportError as e:  # pragma: no cover
    print(f"missing python library: {e}", file=sys.stderr)
    sys.exit(3)
import datetime as dt

path, start, end = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path, "rb") as f:
    cal = icalendar.Calendar.from_ical(f.read())
berlin = ZoneInfo("Europe/Berlin")


def fmt(v):
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=berlin)
        return v.astimezone(berlin).isoformat()
    return v.isoformat()


for ev in recurring_ical_events.of(cal).between(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)):
    s = ev["DTSTART"].dt
    e = ev["DTEND"].dt if "DTEND" in ev else s
    print(json.dumps({"uid": str(ev["UID"]), "summary": str(ev.get("SUMMARY", "")), "start": fmt(s), "end": fmt(e), "status": str(ev.get("STATUS", ""))}, ensure_ascii=False))
