#!/usr/bin/env bash
# The test command of the README and of CI: installs what the suites need (as root), then
# runs every suite: unit and API tests of all crates, then the real-cluster end-to-end suite
# (3 GlusterFS nodes in network namespaces, real sshd, loop-device disks).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n=== %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then
    echo "tests/run-all.sh needs root: the end-to-end suite builds network namespaces, loop devices and mounts" >&2
    exit 1
fi

step "installing packages the suites need"
packages=(glusterfs-server glusterfs-client openssh-server lvm2 xfsprogs thin-provisioning-tools parted iproute2 util-linux openssl)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "deploy/csi: every manifest rendered (default and a moved kubelet dir) and validated against the Kubernetes API schemas"
deploy/csi/validate.sh

step "unit, API, CLI and end-to-end tests (heqet-e2e: heqet serve + ssh executor on a real 3-node GlusterFS cluster)"
# Test binaries run one after another; the e2e suite brings the cluster up and down itself.
cargo test --workspace

step "end-to-end: the node command layer over ssh and over the Kubernetes exec API (fake API server) on the real cluster"
# The test binaries the step above built (asking cargo for them again with other target
# selections would resolve other features and compile much of the tree a second time).
mapfile -t e2e_bins < <(cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("e2e_cluster", "kube_e2e"):
        print(m["executable"])
')
((${#e2e_bins[@]} == 2)) || { echo "expected the e2e_cluster and kube_e2e test binaries, found: ${e2e_bins[*]:-none}" >&2; exit 1; }
run_e2e_bins() { local b; for b in "${e2e_bins[@]}"; do "$b" --ignored --test-threads=1 || return 1; done; }
# `run` holds the machine's suite lock from up to down, so another run on this machine waits.
tests/e2e/cluster.sh run bash -c "$(declare -p e2e_bins); $(declare -f run_e2e_bins); run_e2e_bins"
