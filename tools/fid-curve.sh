#!/usr/bin/env bash
# FID curve of a training run: `stylegan metric fid-fmnist` on every network-snapshot-*.safetensors of RUN_DIR
# (5,000 generated images against the 10,000 Fashion-MNIST test images), appended as JSON lines to OUT.
# Snapshots already in OUT are skipped, so it can be re-run while training goes on.
# Usage: tools/fid-curve.sh RUN_DIR OUT.jsonl [NUM]
set -euo pipefail
run=$1 out=$2 num=${3:-5000}
cli="$(dirname "$0")/../dist/src/cli/main.js"
for snap in "$run"/network-snapshot-*.safetensors; do
  k=$(basename "$snap" .safetensors); k=${k#network-snapshot-}
  if [[ -f $out ]] && grep -q "\"snapshot\":\"$k\"" "$out"; then continue; fi
  fid=$(node "$cli" --threads 1 metric fid-fmnist --network "$snap" --num "$num" --json \
    | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).fid))')
  echo "{\"snapshot\":\"$k\",\"kimg\":$(awk "BEGIN { print $k + 0 }"),\"num\":$num,\"fid\":$fid}" >> "$out"
done
