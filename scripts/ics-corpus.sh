#!/usr/bin/env bash
# The iCalendar corpus sweep, for local runs: installs the oracle (python icalendar,
# recurring-ical-events, x-wr-timezone; the versions .ci/run pins) into a venv, then runs
# tests/ics_corpus.rs, which expands every test calendar shipped in those wheels with the
# oracle and with regiocal and compares them file by file. The report (files, matches,
# deliberate differences, files the oracle cannot read) is printed at the end.
#
#   bash scripts/ics-corpus.sh            # VENV=/tmp/regiocal-oracle-venv by default
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-/tmp/regiocal-oracle-venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q icalendar==7.3.0 recurring-ical-events==3.8.2 x-wr-timezone==2.0.1 python-dateutil==2.9.0.post0
REGIOCAL_TEST_PYTHON="$VENV/bin/python" cargo test --test ics_corpus --test ics_interop -- --nocapture
