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
# `run` holds the machine's suite lock from up to down, so another run on this machine waits.
# --workspace: the same build as the step above (`-p` would resolve other features and compile
# much of the tree again).
tests/e2e/cluster.sh run cargo test --workspace --test e2e_cluster --test kube_e2e -- --ignored --test-threads=1
