#!/usr/bin/env bash
# Flakiness made measurable: run the whole suite N times in a row (default 5) while a
# CPU-bound process competes for the cores, and report every failure by name.
#   tests/soak.sh [RUNS] [BURNERS]
# Exit status 0 only if every run passed. The burners are bounded in time and stopped
# by their process ids when the script ends.
set -u
runs=${1:-5}
burners=${2:-1}
cd "$(dirname "$0")/.." || exit 2
python=.venv/bin/python
logs=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
pids=()
for _ in $(seq 1 "$burners"); do
  "$python" -c 'import time
end = time.monotonic() + 3600  # never outlive an hour, even if nobody stops it
while time.monotonic() < end:
    sum(i * i for i in range(10000))' &
  pids+=("$!")
done
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap stop EXIT
failed=0
for i in $(seq 1 "$runs"); do
  start=$SECONDS
  if "$python" -m pytest -q -p no:cacheprovider >"$logs/run-$i.log" 2>&1; then
    verdict=passed
  else
    verdict=FAILED
    failed=$((failed + 1))
  fi
  echo "run $i/$runs: $verdict in $((SECONDS - start)) s ($(tail -n 1 "$logs/run-$i.log"))"
  grep -E '^(FAILED|ERROR) ' "$logs/run-$i.log" | sed 's/^/    /'
done
echo "$((runs - failed)) of $runs runs passed with $burners CPU burner(s) beside them; logs in $logs"
[ "$failed" -eq 0 ]
