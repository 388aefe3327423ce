#!/bin/bash
# 20 full audits (with --restart) of a fresh paxos-acceptor each; counts passes (docs/performance.md).
# Run from the repository root: bench/audit_soak.sh
cd "$(dirname "$0")/.."
pass=0
for i in $(seq 20); do
  D=$(mktemp -d); P=$(.venv/bin/python -c "from tests.helpers import free_port; print(free_port())")
  CMD="$PWD/.venv/bin/python $PWD/tests/helpers/restarter.py $D/pid $P -- $PWD/.venv/bin/python -m paxos_shell.acceptor --id 1 --port $P --data-dir $D/data --quiet"
  $CMD
  for k in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$P/health && break; sleep 0.05; done
  start=$(date +%s.%N)
  .venv/bin/paxos-audit http://127.0.0.1:$P --restart "$CMD" --seed $i > $D/out 2>&1; rc=$?
  end=$(date +%s.%N)
  [ $rc = 0 ] && pass=$((pass+1)) || { echo "run $i rc=$rc"; cat $D/out; }
  echo "run $i rc=$rc $(echo "$end - $start" | bc) s"
  kill -9 $(cat $D/pid)
  rm -rf $D
done
echo "passed $pass/20"
