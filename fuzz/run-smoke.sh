#!/usr/bin/env bash
# A short, time-boxed fuzz run of every target, seeded with the matching fixtures.
#   SECONDS_PER_TARGET=20 [FUZZ_SEED=1] bash fuzz/run-smoke.sh
# Needs cargo-fuzz (`cargo install cargo-fuzz`); uses RUSTC_BOOTSTRAP=1 on a stable toolchain.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
secs=${SECONDS_PER_TARGET:-20}
# FUZZ_SEED makes a run repeatable (CI sets it); without it libFuzzer picks a random seed.
seed_arg=${FUZZ_SEED:+-seed=$FUZZ_SEED}
declare -A seeds=(
  [ics]="ics" [rss]="rss" [atom]="atom" [xcal]="xcal" [jcal]="jcal"
  [jsonld]="jsonld" [html]="html" [mapped]="json" [oparl]="oparl"
  [places]="places" [transit]="gbfs" [json_string]="json"
)
cargo fuzz build -O
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target"
  cp ../fixtures/"${seeds[$target]:-$target}"/* "corpus/$target/" 2>/dev/null || true
  echo "== fuzz $target for ${secs}s"
  cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 $seed_arg 2>&1 \
    | grep -E "^(#[0-9]+ *DONE|Done|==[0-9]+==|SUMMARY|thread|INFO: Seed)" || true
  if ls "artifacts/$target"/crash-* >/dev/null 2>&1; then
    echo "fuzz target $target crashed: see fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz smoke run: every target ran ${secs}s without a crash"
