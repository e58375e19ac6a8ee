#!/usr/bin/env bash
# Times `amlc build` against `kubectl kustomize` producing the same objects, pair by pair
# in one run, and prints three ratios (README, "Performance"):
#   1. one build:  amlc build of one config / kubectl kustomize of an overlay that adds the
#      same nodeSelector, tolerations and labels to a base holding that config's objects;
#   2. fleet:      amlc build of 200 configs (-c 'fleet/*.yaml' -o out) / ONE kustomize run;
#   3. memory:     peak RSS of one amlc build, in MiB (target: at most 20).
# Runs on a clean checkout: builds amlc in release and installs /usr/bin/time and kubectl
# with apt-get when they are missing. Usage: bench/compare.sh [PAIRS] (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${1:-20}"
FLEET=200

need_apt() {
  command -v apt-get >/dev/null 2>&1 || { echo "error: $1 is missing and apt-get is not available" >&2; exit 2; }
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
[ -x /usr/bin/time ] || need_apt /usr/bin/time time
command -v kubectl >/dev/null 2>&1 || need_apt kubectl kubernetes-client

cargo build --release --locked --quiet
AMLC="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/amlc"
[ -x "$AMLC" ] || { echo "error: no release binary at $AMLC" >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# The representative config: training and inference on AKS, 3 nodes, a nodeSelector and
# the overall/system taints (so extension pods get tolerations).
cat > amlc.yaml <<'YAML'
apiVersion: amlc/v1
kind: ExtensionConfig
cluster:
  type: aks
  nodeCount: 3
training:
  enabled: true
inference:
  enabled: true
  allowInsecureConnections: true
nodeSelector:
  agentpool: mlpool
taints:
  keys: [overall, system]
YAML

# The kustomize side: a base holding the objects of the same config without the
# cross-cutting settings, and an overlay applying them the kustomize way (labels,
# nodeSelector and tolerations patched into every workload's pod template).
sed '/^nodeSelector:/,$d' amlc.yaml > plain.yaml
"$AMLC" build -c plain.yaml --target dir -o base >/dev/null 2>&1
mkdir overlay
{
  cat <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../base]
labels:
- pairs: {amlc/instance: azureml, app.kubernetes.io/part-of: azureml}
patches:
YAML
  for kind in Deployment DaemonSet StatefulSet Job; do
    cat <<YAML
- target: {kind: $kind}
  patch: |-
    - op: add
      path: /spec/template/spec/nodeSelector
      value: {agentpool: mlpool}
    - op: add
      path: /spec/template/spec/tolerations
      value:
      - {key: ml.azure.com/amlarc, operator: Equal, value: "true", effect: NoSchedule}
      - {key: ml.azure.com/amlarc-system, operator: Equal, value: "true", effect: NoSchedule}
YAML
  done
} > overlay/kustomization.yaml
kubectl kustomize overlay >/dev/null

# The fleet: 200 configs over the cluster types, sizes, selectors and taints. Each cluster
# has its own name; the extension is named azureml on every one of them, as fleets install
# it (`az k8s-extension create --name azureml`). FLEET_NAMES=distinct gives every cluster's
# extension its own name too, the worst case for amlc's parse cache.
mkdir fleet
types=(aks arc aro ocp)
for i in $(seq -w 0 $((FLEET - 1))); do
  n=$((10#$i))
  t=${types[$((n % 4))]}
  cat > "fleet/cluster-$i.yaml" <<YAML
apiVersion: amlc/v1
kind: ExtensionConfig
metadata:
  name: $([ "${FLEET_NAMES:-}" = distinct ] && echo "ml$n" || echo azureml)
cluster:
  type: $t
  name: cluster-$i
  nodeCount: $((n % 5 + 1))
training:
  enabled: true
inference:
  enabled: $([ $((n % 3)) -eq 0 ] && echo false || echo true)
  routerServiceType: NodePort
  allowInsecureConnections: true
nodeSelector:
  pool: pool-$((n % 7))
taints:
  keys: [overall, system]
YAML
done
"$AMLC" build -c 'fleet/*.yaml' -o out >/dev/null 2>&1

now() { echo "${EPOCHREALTIME/./}"; }  # microseconds, no subprocess
time_cmd() {  # prints the wall time of "$@" in microseconds
  local t0 t1
  t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
  echo $((t1 - t0))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

: > one.amlc; : > one.kust; : > fleet.amlc; : > fleet.kust
for _ in $(seq "$PAIRS"); do
  time_cmd "$AMLC" build -c amlc.yaml >> one.amlc
  time_cmd kubectl kustomize overlay >> one.kust
  rm -rf out
  time_cmd "$AMLC" build -c 'fleet/*.yaml' -o out >> fleet.amlc
  time_cmd kubectl kustomize overlay >> fleet.kust
done
rss=()
for _ in 1 2 3 4 5; do
  rss+=("$(/usr/bin/time -f %M "$AMLC" build -c amlc.yaml 2>&1 >/dev/null | tail -1)")
done

one_amlc=$(median < one.amlc); one_kust=$(median < one.kust)
fleet_amlc=$(median < fleet.amlc); fleet_kust=$(median < fleet.kust)
rss_kib=$(printf '%s\n' "${rss[@]}" | median)
objects=$("$AMLC" build -c amlc.yaml | grep -c '^kind:')

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m); kubectl $(kubectl version --client 2>/dev/null | sed -n 's/Kustomize Version: //p' | sed 's/^/kustomize /')"
echo "pairs: $PAIRS (medians); one build renders $objects objects; fleet: $FLEET configs"
echo "one build:    amlc ${one_amlc} us, kubectl kustomize ${one_kust} us"
echo "fleet:        amlc ${fleet_amlc} us for $FLEET configs, kubectl kustomize ${fleet_kust} us for one"
awk -v a="$one_amlc" -v k="$one_kust" 'BEGIN {printf "ratio 1 (one build / one kustomize):            1/%.0f  (target: at most 1/20)\n", k/a}'
awk -v a="$fleet_amlc" -v k="$fleet_kust" 'BEGIN {printf "ratio 2 (200-config fleet / one kustomize):     %.2f  (target: below 1)\n", a/k}'
awk -v r="$rss_kib" 'BEGIN {printf "ratio 3 (peak RSS of one build / 20 MiB):       %.2f  (%.1f MiB)\n", r/1024/20, r/1024}'
