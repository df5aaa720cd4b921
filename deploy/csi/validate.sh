#!/usr/bin/env bash
# validate.sh: offline validation of every heqet-csi deployment manifest. No cluster, no
# network beyond the package registries (only to install a missing tool).
#
# 1. installs what it needs when missing: kubernetes-validate (PyPI, pinned) and shellcheck
#    (Debian); a tool that cannot be had is a failure, never a skip;
# 2. shellchecks render.sh and this script;
# 3. renders the templates with the default kubelet dir, with /data/kubelet, and with
#    /data/kubelet plus another namespace and an image mirror;
# 4. validates every rendered object with `kubernetes-validate --strict` against every
#    Kubernetes version from 1.26 (the oldest heqet-csi supports) to the newest the pinned
#    kubernetes-validate bundles (1.37): an error, an unknown field, or an object whose
#    apiVersion/kind a version does not serve (which the tool only warns about) fails;
# 5. checks the kubelet-dir rule: rendered with /data/kubelet, no manifest contains the
#    default kubelet dir anywhere, and every kubelet path followed the flag;
# 6. lints the objects against each other and against the driver's contract
#    (lint_manifests.py);
# 7. proves the checks bite: deliberately broken input (a misspelled field, a wrong type, a
#    removed API version, a stray default kubelet path, a wrong registration path, an
#    unknown placeholder, bad render.sh arguments) must each be rejected.
#
# Usage: deploy/csi/validate.sh        (as root where a tool still has to be installed)
# Ends with "validate-csi: N passed, M failed"; exits 1 if any check failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
render=$here/render.sh

KUBERNETES_VALIDATE_VERSION=1.37.0
OLDEST_KUBERNETES=1.26.0
NEWEST_KUBERNETES=1.37.0
ALT_KUBELET_DIR=/data/kubelet
# Spelled in two pieces so that this file never contains the path it looks for.
DEFAULT_KUBELET_DIR=/var/lib/kube
DEFAULT_KUBELET_DIR+=let

die() {
    printf 'validate.sh: FATAL: %s\n' "$*" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/heqet-csi-validate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
# check DESCRIPTION COMMAND...: runs COMMAND, which must succeed.
check() {
    local what=$1 log=$tmp/check.log
    shift
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        printf 'ok   %s\n' "$what"
    else
        failed=$((failed + 1))
        printf 'FAIL %s\n' "$what"
        sed 's/^/     | /' "$log"
    fi
}
# reject DESCRIPTION COMMAND...: runs COMMAND, which must fail (the self-checks).
reject() {
    local what=$1 log=$tmp/check.log
    shift
    if "$@" >"$log" 2>&1; then
        failed=$((failed + 1))
        printf 'FAIL %s (was accepted)\n' "$what"
        sed 's/^/     | /' "$log"
    else
        passed=$((passed + 1))
        printf 'ok   %s (rejected)\n' "$what"
    fi
}

# --- tools ------------------------------------------------------------------------------

command -v python3 >/dev/null || die "python3 is missing (kubernetes-validate and lint_manifests.py need it)"

kv() { python3 -m kubernetes_validate "$@"; }
kv_version() { kv --version 2>/dev/null || true; }
if [[ $(kv_version) != "$KUBERNETES_VALIDATE_VERSION" ]]; then
    echo "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (PyPI)"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" ||
        die "pip could not install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    [[ $(kv_version) == "$KUBERNETES_VALIDATE_VERSION" ]] ||
        die "kubernetes-validate $KUBERNETES_VALIDATE_VERSION still not runnable as python3 -m kubernetes_validate (found: '$(kv_version)')"
fi
python3 -c 'import yaml' 2>/dev/null || die "PyYAML is missing (it comes with kubernetes-validate)"

if ! command -v shellcheck >/dev/null; then
    [[ $(id -u) -eq 0 ]] || die "shellcheck is missing; install it (apt-get install shellcheck) or run as root"
    echo "installing shellcheck (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq shellcheck >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; } ||
        die "apt-get could not install shellcheck"
    command -v shellcheck >/dev/null || die "shellcheck still missing after apt-get install"
fi

# The Kubernetes versions to validate against: every bundled one from the oldest supported
# on. Both ends must be bundled: a pinned tool without them is a broken install.
mapfile -t kube_versions < <(python3 - "$OLDEST_KUBERNETES" <<'EOF'
import os, re, sys
import kubernetes_validate
oldest = tuple(int(x) for x in sys.argv[1].split("."))
d = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
found = set()
for name in os.listdir(d):
    m = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)-local-strict", name)
    if m and tuple(map(int, m.groups())) >= oldest:
        found.add(tuple(map(int, m.groups())))
for v in sorted(found):
    print(".".join(map(str, v)))
EOF
)
((${#kube_versions[@]})) || die "kubernetes-validate bundles no strict schemas from $OLDEST_KUBERNETES on"
[[ ${kube_versions[0]} == "$OLDEST_KUBERNETES" ]] ||
    die "kubernetes-validate $KUBERNETES_VALIDATE_VERSION does not bundle Kubernetes $OLDEST_KUBERNETES schemas"
[[ ${kube_versions[-1]} == "$NEWEST_KUBERNETES" ]] ||
    die "kubernetes-validate $KUBERNETES_VALIDATE_VERSION does not bundle Kubernetes $NEWEST_KUBERNETES as its newest schemas (has ${kube_versions[-1]})"
echo "kubernetes-validate $KUBERNETES_VALIDATE_VERSION; Kubernetes ${kube_versions[*]}"

# --- helpers ----------------------------------------------------------------------------

# The number of non-empty YAML documents in the given files.
count_docs() {
    python3 - "$@" <<'EOF'
import sys, yaml
print(sum(1 for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d is not None))
EOF
}

# validate_k8s VERSION FILE...: every object passes --strict against VERSION, and the tool
# said "passed" for each one (it only warns, and exits 0, for an apiVersion/kind it has no
# schema for, i.e. one that Kubernetes version does not serve).
validate_k8s() {
    local version=$1 out want got rc=0
    shift
    want=$(count_docs "$@")
    out=$(kv --strict -k "$version" "$@" 2>&1) || rc=$?
    printf '%s\n' "$out"
    ((rc == 0)) || return 1
    if grep -qv '^INFO .* passed for resource ' <<<"$out"; then
        echo ">> kubernetes-validate said something other than 'passed'"
        return 1
    fi
    got=$(grep -c '^INFO .* passed for resource ' <<<"$out" || true)
    if ((got != want)); then
        echo ">> $got objects passed, but the files hold $want"
        return 1
    fi
}

# kubelet_dir_followed DIR KUBELET_DIR: nothing in DIR names the default kubelet dir unless
# that is KUBELET_DIR, and KUBELET_DIR appears once per placeholder of the templates.
kubelet_dir_followed() {
    local dir=$1 kdir=$2 want got
    if [[ $kdir != "$DEFAULT_KUBELET_DIR" ]] && grep -rnF -- "$DEFAULT_KUBELET_DIR" "$dir"; then
        echo ">> the default kubelet dir survived rendering with --kubelet-dir $kdir"
        return 1
    fi
    want=$(cat "$here"/manifests/*.yaml "$here"/examples/*.yaml | grep -oF __KUBELET_DIR__ | wc -l)
    got=$(cat "$dir"/manifests/*.yaml "$dir"/examples/*.yaml | grep -oF -- "$kdir" | wc -l)
    echo "templates: $want kubelet-dir placeholders; rendered: $got occurrences of $kdir"
    ((want > 0 && got == want))
}

lint() { python3 "$here/lint_manifests.py" "$@"; }

# --- scripts ----------------------------------------------------------------------------

check "shellcheck render.sh validate.sh" shellcheck "$render" "$here/validate.sh"

# --- render -----------------------------------------------------------------------------

default_out=$tmp/default
alt_out=$tmp/alt
mirror_out=$tmp/mirror
mirror=mirror.example.com:5000/k8s
check "render with the default kubelet dir" "$render" --out "$default_out"
check "render with --kubelet-dir $ALT_KUBELET_DIR" "$render" --kubelet-dir "$ALT_KUBELET_DIR" --out "$alt_out"
check "render with --kubelet-dir $ALT_KUBELET_DIR --namespace storage --image-registry $mirror" \
    "$render" --kubelet-dir="$ALT_KUBELET_DIR" --namespace=storage --image-registry="$mirror/" --out "$mirror_out"
[[ -d $default_out/manifests && -d $alt_out/manifests && -d $mirror_out/manifests ]] ||
    die "rendering failed; nothing to validate"

# The stdout form holds the same objects as --out (the driver alone, or with --examples).
stdout_matches() {
    local expect_files=("$@") a b
    a=$(count_docs "$tmp/stdout.yaml")
    b=$(count_docs "${expect_files[@]}")
    echo "stdout: $a objects, files: $b"
    ((a == b && a > 0))
}
render_to() {
    local out=$1
    shift
    "$render" "$@" >"$out"
}
check "render to stdout: the driver" render_to "$tmp/stdout.yaml" --kubelet-dir "$ALT_KUBELET_DIR"
check "stdout holds the driver's objects" stdout_matches "$alt_out"/manifests/*.yaml
check "render to stdout with --examples" render_to "$tmp/stdout.yaml" --kubelet-dir "$ALT_KUBELET_DIR" --examples
check "stdout holds the driver's and the examples' objects" stdout_matches "$alt_out"/manifests/*.yaml "$alt_out"/examples/*.yaml
check "the stdout render validates (Kubernetes $NEWEST_KUBERNETES)" validate_k8s "$NEWEST_KUBERNETES" "$tmp/stdout.yaml"

# --- schemas ----------------------------------------------------------------------------

for out in "$default_out" "$alt_out" "$mirror_out"; do
    files=("$out"/manifests/*.yaml "$out"/examples/*.yaml)
    for v in "${kube_versions[@]}"; do
        check "kubernetes-validate --strict, Kubernetes $v: ${out##*/} render (${#files[@]} files)" \
            validate_k8s "$v" "${files[@]}"
    done
done

# --- the kubelet-dir rule -----------------------------------------------------------------

check "kubelet dir $ALT_KUBELET_DIR: no trace of the default, every path follows" \
    kubelet_dir_followed "$alt_out" "$ALT_KUBELET_DIR"
check "kubelet dir $ALT_KUBELET_DIR (mirror render): no trace of the default, every path follows" \
    kubelet_dir_followed "$mirror_out" "$ALT_KUBELET_DIR"
check "default kubelet dir: every path follows" kubelet_dir_followed "$default_out" "$DEFAULT_KUBELET_DIR"
templates_name_no_kubelet_path() { ! grep -rnF -- "$DEFAULT_KUBELET_DIR" "$here/manifests" "$here/examples"; }
check "the templates name no kubelet path themselves" templates_name_no_kubelet_path

# --- consistency ----------------------------------------------------------------------------

check "lint: default render" lint --kubelet-dir "$DEFAULT_KUBELET_DIR" --namespace heqet-csi "$default_out"
check "lint: $ALT_KUBELET_DIR render" lint --kubelet-dir "$ALT_KUBELET_DIR" --namespace heqet-csi "$alt_out"
check "lint: mirror render (namespace, registry)" \
    lint --kubelet-dir "$ALT_KUBELET_DIR" --namespace storage --image-prefix "$mirror" "$mirror_out"

# --- self-checks: broken input must be rejected -------------------------------------------

broken=$tmp/broken
mkdir -p "$broken"
sed 's/mountPropagation:/mountPropogation:/' "$alt_out/manifests/40-node.yaml" >"$broken/misspelled.yaml"
cmp -s "$alt_out/manifests/40-node.yaml" "$broken/misspelled.yaml" && die "self-check setup: nothing misspelled"
reject "kubernetes-validate: a misspelled field (mountPropogation)" validate_k8s "$NEWEST_KUBERNETES" "$broken/misspelled.yaml"
reject "kubernetes-validate: a misspelled field, Kubernetes $OLDEST_KUBERNETES" validate_k8s "$OLDEST_KUBERNETES" "$broken/misspelled.yaml"

sed 's/^  replicas: 1$/  replicas: one/' "$alt_out/manifests/30-controller.yaml" >"$broken/type.yaml"
cmp -s "$alt_out/manifests/30-controller.yaml" "$broken/type.yaml" && die "self-check setup: replicas not found"
reject "kubernetes-validate: a wrong type (replicas: one)" validate_k8s "$NEWEST_KUBERNETES" "$broken/type.yaml"

sed 's#^apiVersion: storage.k8s.io/v1$#apiVersion: storage.k8s.io/v1beta1#' "$alt_out/manifests/10-csidriver.yaml" >"$broken/removed-api.yaml"
cmp -s "$alt_out/manifests/10-csidriver.yaml" "$broken/removed-api.yaml" && die "self-check setup: apiVersion not found"
reject "a removed API version (storage.k8s.io/v1beta1 CSIDriver)" validate_k8s "$NEWEST_KUBERNETES" "$broken/removed-api.yaml"

cp -r "$alt_out" "$broken/stray"
printf '# hostPath: %s/pods\n' "$DEFAULT_KUBELET_DIR" >>"$broken/stray/manifests/40-node.yaml"
reject "kubelet-dir rule: a stray default kubelet path (in a comment)" \
    kubelet_dir_followed "$broken/stray" "$ALT_KUBELET_DIR"

cp -r "$alt_out" "$broken/regpath"
sed -i "s#--kubelet-registration-path=$ALT_KUBELET_DIR/#--kubelet-registration-path=/srv/kubelet/#" \
    "$broken/regpath/manifests/40-node.yaml"
reject "lint: a registration path outside the kubelet dir" \
    lint --kubelet-dir "$ALT_KUBELET_DIR" --namespace heqet-csi "$broken/regpath"
reject "lint: manifests rendered for another kubelet dir" \
    lint --kubelet-dir "$ALT_KUBELET_DIR" --namespace heqet-csi "$default_out"

# A copy of deploy/csi with one bad template or a bad defaults.env: render.sh must refuse it
# and print nothing (so `render.sh | kubectl apply -f -` applies nothing).
copy_deploy() {
    rm -rf "$1"
    mkdir -p "$1"
    cp -r "$render" "$here/defaults.env" "$here/manifests" "$here/examples" "$1/"
}
# renders_anything COMMAND...: succeeds unless COMMAND failed and printed nothing on stdout.
renders_anything() {
    local out rc=0
    out=$("$@") || rc=$?
    if ((rc != 0)) && [[ -z $out ]]; then
        return 1
    fi
    echo ">> exit status $rc, $(wc -c <<<"$out") bytes on stdout"
}
copy_deploy "$broken/deploy"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: __BOGUS__\n' >"$broken/deploy/manifests/99-bogus.yaml"
reject "render.sh: an unknown placeholder in a template" renders_anything "$broken/deploy/render.sh"
copy_deploy "$broken/deploy"
printf 'KUBELET_DIRR=/x\n' >>"$broken/deploy/defaults.env"
reject "render.sh: an unknown key in defaults.env" renders_anything "$broken/deploy/render.sh"
copy_deploy "$broken/deploy"
printf 'touch %s/ran\n' "$tmp" >>"$broken/deploy/defaults.env"
reject "render.sh: a command in defaults.env" renders_anything "$broken/deploy/render.sh"
check "render.sh: ... and the command did not run" test ! -e "$tmp/ran"

for bad in relative/kubelet /data/kubelet/ /data/../kubelet / "/data/kube let" "/data/\$(id)"; do
    reject "render.sh --kubelet-dir '$bad'" renders_anything "$render" --kubelet-dir "$bad"
done
reject "render.sh --namespace Not_A_Label" renders_anything "$render" --namespace Not_A_Label
reject "render.sh --no-such-flag" renders_anything "$render" --no-such-flag
mkdir -p "$tmp/nonempty" && touch "$tmp/nonempty/keep"
reject "render.sh --out into a non-empty directory" "$render" --out "$tmp/nonempty"

echo
echo "validate-csi: $passed passed, $failed failed"
((failed == 0))
