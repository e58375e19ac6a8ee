#!/usr/bin/env bash
# Seeds fuzz/corpus/config with every golden config and validation corpus file.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/config
for f in golden/*/amlc.yaml golden-arm/*/amlc.yaml tests/valid/*.yaml tests/invalid/*.yaml tests/fuzz-regressions/*; do
  [ -f "$f" ] && cp "$f" "fuzz/corpus/config/seed-$(echo "$f" | tr '/' '-')"
done
echo "seeded $(ls fuzz/corpus/config | wc -l) inputs"
