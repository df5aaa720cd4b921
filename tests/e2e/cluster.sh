#!/bin/bash
# heqet end-to-end harness: a real 3-node GlusterFS cluster on this one machine.
#
# Each storage node gnN is a network namespace (10.99.0.N on bridge gbr0, host side
# 10.99.0.254) plus a private mount namespace held open by an "anchor" process. Inside it:
# its own /etc (overlay: fstab, lvm.conf with a filter for its own disks only, ssh
# authorized_keys), /var/lib (overlay, so /var/lib/heketi/mounts is per node),
# /var/lib/glusterd and /var/log/glusterfs (bind mounts of per-node dirs), /run, /dev/mapper
# and /dev/disk (tmpfs), /usr/local/sbin (a systemctl shim); then glusterd and sshd run in it.
# Every node gets raw loop-backed disks. Nodes are NOT peer-probed: heqet does that.
#
# usage: cluster.sh up|down|status
#        cluster.sh glusterd-stop N | glusterd-start N | node-down N | node-up N | node-restart N
#        cluster.sh exec N CMD...
#        cluster.sh mount-volume HOST:/VOL MOUNTPOINT [MOUNT-OPTIONS] | umount-volume MOUNTPOINT
#        cluster.sh run CMD...   (the whole of up, CMD, down under the machine's suite lock)
# env:   HEQET_E2E_STATE (default tests/e2e/.state), HEQET_E2E_DISK_SIZE (default 4G),
#        HEQET_E2E_DISKS_PER_NODE (default 3)
#
# The namespaces, the bridge and the 10.99.0.0/24 addresses are machine-wide, so the locks
# and the record of who made the cluster are too: $LOCK_DIR/heqet-e2e-cluster.lock serializes
# up/down, $LOCK_DIR/heqet-e2e-suite.lock is held by whatever uses the cluster from up to
# down (the Rust suite, `run`), and $LOCK_DIR/heqet-e2e.owner names the state dir whose `up`
# made the nodes. `up` and `down` never remove nodes another state dir made: a second run on
# the machine waits for the first instead of destroying its cluster.
# See README.md next to this script.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${HEQET_E2E_STATE:-$HERE/.state}
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
LOCK_DIR=${HEQET_E2E_LOCK_DIR:-/run/lock}
OWNER_FILE=$LOCK_DIR/heqet-e2e.owner
NODES=3
DISKS_PER_NODE=${HEQET_E2E_DISKS_PER_NODE:-3}
DISK_SIZE=${HEQET_E2E_DISK_SIZE:-4G}
NET=10.99.0
BRIDGE=gbr0
HOST_ADDR=$NET.254
NODE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PACKAGES=(glusterfs-server glusterfs-client openssh-server lvm2 xfsprogs thin-provisioning-tools parted iproute2)
SSH_OPTS=()

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

node_dir() { echo "$STATE/gn$1"; }
node_addr() { echo "$NET.$1"; }
check_node() { [[ ${1:-} =~ ^[1-9][0-9]*$ && $1 -le $NODES ]] || die "node must be 1..$NODES, got '${1:-}'"; }

# pid from a pid file, only if that process is alive
pid_of() {
    local f=$1 pid
    [[ -s $f ]] || return 1
    pid=$(tr -dc '0-9' <"$f")
    [[ -n $pid && -d /proc/$pid ]] || return 1
    echo "$pid"
}

anchor_pid() { pid_of "$(node_dir "$1")/anchor.pid"; }

# run a command inside node N's network + mount namespaces, with a clean environment
in_node() {
    local n=$1 a
    shift
    a=$(anchor_pid "$n") || die "node $n is not running (no anchor process)"
    (cd / && nsenter -t "$a" -m -n -- env -i PATH="$NODE_PATH" HOME=/root LANG=C.UTF-8 "$@")
}

# all pids belonging to node N: members of its netns or of its mount namespace
node_pids() {
    local n=$1 d p ns_net="" ns_mnt=""
    d=$(node_dir "$n")
    [[ -s $d/ns.net ]] && ns_net=$(cat "$d/ns.net")
    [[ -s $d/ns.mnt ]] && ns_mnt=$(cat "$d/ns.mnt")
    {
        ip netns pids "gn$n" 2>/dev/null || true
        if [[ -n $ns_net || -n $ns_mnt ]]; then
            for p in /proc/[0-9]*; do
                p=${p#/proc/}
                [[ $p == "$$" || $p == "$BASHPID" ]] && continue
                if [[ -n $ns_net && $(readlink "/proc/$p/ns/net" 2>/dev/null) == "$ns_net" ]] ||
                    [[ -n $ns_mnt && $(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$ns_mnt" ]]; then
                    echo "$p"
                fi
            done
        fi
    } | sort -un
}

# TERM the given pids, wait, then KILL the survivors
kill_pids() {
    local pids=("$@") p i alive
    ((${#pids[@]})) || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for i in $(seq 50); do
        alive=()
        for p in "${pids[@]}"; do if [[ -d /proc/$p ]]; then alive+=("$p"); fi; done
        ((${#alive[@]})) || return 0
        if ((i == 30)); then kill -KILL "${alive[@]}" 2>/dev/null || true; fi
        sleep 0.1
    done
    for p in "${pids[@]}"; do if [[ -d /proc/$p ]]; then log "warning: pid $p survived SIGKILL"; fi; done
    return 0
}

# kill the process of a pid file if it is still the expected program
kill_pidfile() {
    local f=$1 expect=$2 pid
    pid=$(pid_of "$f") || { rm -f "$f"; return 0; }
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$expect"; then
        kill_pids "$pid"
    fi
    rm -f "$f"
}

# ---------------------------------------------------------------- packages
ensure_packages() {
    local missing=() bin
    for bin in glusterd gluster mount.glusterfs sshd ssh ssh-keygen lvm mkfs.xfs thin_check parted ip \
        wipefs losetup nsenter unshare flock truncate setsid; do
        command -v "$bin" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
    done
    ((${#missing[@]})) || return 0
    log "missing: ${missing[*]}; installing ${PACKAGES[*]}"
    [[ $(id -u) == 0 ]] || die "must run as root to install packages"
    local glusterd_before=""
    glusterd_before=$(host_glusterd_pid || true)
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q "${PACKAGES[@]}" >"$STATE/apt.log" 2>&1; then
        apt-get update -q >>"$STATE/apt.log" 2>&1 || die "apt-get update failed, see $STATE/apt.log"
        apt-get install -y -q "${PACKAGES[@]}" >>"$STATE/apt.log" 2>&1 || die "apt-get install failed, see $STATE/apt.log"
    fi
    # The package may have started a host glusterd (systemd, or an init script when no
    # policy-rc.d forbids it). Stop only that one: by systemd if PID 1 is systemd, else by
    # its pid file -- and only if it was not running before we installed.
    if [[ -z $glusterd_before ]]; then
        if [[ $(cat /proc/1/comm) == systemd ]] && command -v systemctl >/dev/null; then
            systemctl stop glusterd.service 2>/dev/null || true
            systemctl disable glusterd.service 2>/dev/null || true
        fi
        local pid
        if pid=$(host_glusterd_pid); then
            log "stopping the host glusterd (pid $pid) that the package started"
            kill_pids "$pid"
        fi
    fi
}

host_glusterd_pid() {
    local f pid
    for f in /run/glusterd.pid /var/run/glusterd.pid; do
        pid=$(pid_of "$f") || continue
        # only a glusterd in the root network namespace (not one of our nodes)
        if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == glusterd &&
            $(readlink "/proc/$pid/ns/net") == $(readlink /proc/1/ns/net) ]]; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------- teardown
unmount_fuse() {
    local src mnt fstype rest
    # every glusterfs FUSE mount of our address range is ours, plus the ones we recorded
    {
        while read -r src mnt fstype rest; do
            if [[ $fstype == fuse.glusterfs && $src == "$NET".* ]]; then printf '%b\n' "$mnt"; fi
        done </proc/self/mounts
        if [[ -f $STATE/fuse-mounts ]]; then cat "$STATE/fuse-mounts"; fi
    } | sort -u | while read -r mnt; do
        [[ -n $mnt ]] || continue
        if grep -q " $mnt fuse.glusterfs " /proc/self/mounts; then
            umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "warning: cannot unmount $mnt"
        fi
    done
    rm -f "$STATE/fuse-mounts"
}

our_loops() {
    losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v p="$STATE/" 'index($2, p) == 1 { print $1 }'
}

detach_loops() {
    local l i
    for i in 1 2 3 4 5; do
        mapfile -t loops < <(our_loops)
        ((${#loops[@]})) || return 0
        for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
        sleep 0.2
    done
    mapfile -t loops < <(our_loops)
    ((${#loops[@]} == 0)) || log "warning: loop devices still attached (autoclear set): ${loops[*]}"
}

node_teardown() {
    local n=$1 d pids
    d=$(node_dir "$n")
    mapfile -t pids < <(node_pids "$n")
    kill_pids "${pids[@]}"
    kill_pidfile "$d/glusterd.pid" glusterd
    kill_pidfile "$d/sshd.pid" sshd
    kill_pidfile "$d/anchor.pid" sleep
    ip netns del "gn$n" 2>/dev/null || true
    ip link del "v$n" 2>/dev/null || true
}

# The state dir whose `up` made the cluster now on this machine ("" = none recorded).
cluster_owner() { cat "$OWNER_FILE" 2>/dev/null || true; }

# Is any piece of a namespace cluster present on this machine?
cluster_present() {
    local n
    ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
    for n in $(seq "$NODES"); do
        ip netns list 2>/dev/null | grep -qw "gn$n" && return 0
    done
    return 1
}

# Refuse to touch a cluster another state dir made (and may be using).
check_ownership() {
    local owner
    owner=$(cluster_owner)
    if cluster_present && [[ -n $owner && $owner != "$STATE" ]]; then
        die "the namespace cluster on this machine belongs to $owner; run 'HEQET_E2E_STATE=$owner $0 down' once its user is done (or remove $OWNER_FILE if that run is gone)"
    fi
}

cmd_down() {
    local n l
    check_ownership
    log "tearing down (state $STATE)"
    unmount_fuse
    for n in $(seq "$NODES"); do node_teardown "$n"; done
    detach_loops
    ip link del "$BRIDGE" 2>/dev/null || true
    # /dev/<vg> symlinks made by lvm-standin point into a node's private /dev/mapper
    for l in /dev/*; do
        if [[ -L $l && $(readlink "$l") == mapper/.lvm-standin/* ]]; then rm -f "$l"; fi
    done
    for l in /dev/disk /dev/mapper; do
        if [[ -f $STATE/created$(echo "$l" | tr / _) ]] && rmdir "$l" 2>/dev/null; then
            rm -f "$STATE/created$(echo "$l" | tr / _)"
        fi
    done
    for n in $(seq "$NODES"); do
        # keep logs; drop disks, LV images, overlays
        rm -rf "$(node_dir "$n")"/{disks,disks.list,lvm,etc-upper,etc-work,varlib-upper,varlib-work}
    done
    rm -f "$STATE/env"
    rm -f "$OWNER_FILE"
    log "down"
}

# ---------------------------------------------------------------- bring-up
mkdir_marked() {   # create a host dir we need as a mount point; remember that we made it
    [[ -d $1 ]] && return 0
    mkdir -p "$1"
    touch "$STATE/created$(echo "$1" | tr / _)"
}

write_lvm_conf() {
    local n=$1 out=$2 disks=("${@:3}") filter="" d
    for d in "${disks[@]}"; do filter+="\"a|^$d\$|\", "; done
    filter+="\"a|^/dev/disk/by-id/lvm-pv-uuid-|\", \"r|.*|\""
    mkdir -p "$(dirname "$out")"
    awk -v f="$filter" -v node="gn$n" '
        !done && /^devices \{/ {
            print
            print "\t# heqet e2e node " node ": see only this node'"'"'s own disks"
            print "\tfilter = [ " f " ]"
            print "\tglobal_filter = [ " f " ]"
            print "\tuse_devicesfile = 0"
            print "\tobtain_device_list_from_udev = 0"
            done = 1; next
        }
        { print }' /etc/lvm/lvm.conf >"$out"
    grep -q 'heqet e2e node' "$out" || die "could not place the LVM filter into $out"
}

prepare_node_files() {
    local n=$1 d disks=() i loop img
    d=$(node_dir "$n")
    rm -rf "$d"
    mkdir -p "$d"/{disks,lvm,lib,log,etc-upper,etc-work,varlib-upper,varlib-work,sbin}
    # raw sparse disks on loop devices
    for i in $(seq "$DISKS_PER_NODE"); do
        img=$d/disks/disk$i.img
        truncate -s "$DISK_SIZE" "$img"
        loop=$(losetup -f --show "$img")
        disks+=("$loop")
    done
    echo "${disks[*]}" >"$d/disks.list"
    # glusterd state: packaged hooks/groups, no identity, peers or volumes
    cp -a /var/lib/glusterd/. "$d/lib/"
    rm -rf "$d/lib/glusterd.info" "$d/lib/peers" "$d/lib/vols" "$d/lib/snaps"
    mkdir -p "$d/lib/peers" "$d/lib/vols"
    # per-node /etc content (overlay upper layer)
    printf '# /etc/fstab of heqet e2e node gn%s (brick mounts are appended here)\n' "$n" >"$d/etc-upper/fstab"
    write_lvm_conf "$n" "$d/etc-upper/lvm/lvm.conf" "${disks[@]}"
    mkdir -p "$d/etc-upper/heqet-e2e"
    cat >"$d/etc-upper/heqet-e2e/node.conf" <<EOF
# written by tests/e2e/cluster.sh; read by tests/e2e/lvm-standin and the systemctl shim
HEQET_E2E_NODE=gn$n
HEQET_E2E_NODE_INDEX=$n
HEQET_E2E_NODE_ADDR=$(node_addr "$n")
HEQET_E2E_NODE_STATE=$d
LVM_STANDIN_DIR=$d/lvm
GLUSTERD_PIDFILE=$d/glusterd.pid
EOF
    install -m 600 "$STATE/id_ed25519.pub" "$d/etc-upper/heqet-e2e/authorized_keys"
    ssh-keygen -q -t ed25519 -N '' -C "heqet-e2e-gn$n" -f "$d/ssh_host_ed25519_key"
    # systemctl shim: heketi's glusterd check is `systemctl status glusterd`
    cat >"$d/sbin/systemctl" <<'EOF'
#!/bin/bash
# heqet e2e: no systemd on these test nodes. Answers `systemctl status|is-active glusterd`
# from glusterd's pid file; anything else fails loudly.
. /etc/heqet-e2e/node.conf
case "${1:-} ${2:-}" in
status\ glusterd | status\ glusterd.service | is-active\ glusterd | is-active\ glusterd.service)
    pid=$(cat "$GLUSTERD_PIDFILE" 2>/dev/null || true)
    if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == glusterd ]]; then
        [[ $1 == is-active ]] && echo active || echo "glusterd.service - GlusterFS (heqet e2e shim): active (running), pid $pid"
        exit 0
    fi
    [[ $1 == is-active ]] && echo inactive || echo "glusterd.service - GlusterFS (heqet e2e shim): inactive (dead)"
    exit 3 ;;
*) echo "systemctl (heqet e2e shim): unsupported: $*" >&2; exit 1 ;;
esac
EOF
    chmod 755 "$d/sbin/systemctl"
}

# the anchor holds node N's mount namespace; it runs inside the node's netns
start_anchor() {
    local n=$1 d i
    d=$(node_dir "$n")
    rm -f "$d/anchor.pid"
    # shellcheck disable=SC2016
    setsid ip netns exec "gn$n" unshare -m --propagation private -- bash -euc '
        d=$1
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/etc-upper,workdir=$d/etc-work" /etc
        mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$d/varlib-upper,workdir=$d/varlib-work" /var/lib
        mount --bind "$d/lib" /var/lib/glusterd
        mount --bind "$d/log" /var/log/glusterfs
        mount -t tmpfs -o mode=755 tmpfs /run
        mkdir -p /run/gluster /run/sshd /run/lock
        mount -t tmpfs -o mode=755 tmpfs /dev/mapper
        mount -t tmpfs -o mode=755 tmpfs /dev/disk
        mkdir -p /dev/disk/by-id
        mount --bind "$d/sbin" /usr/local/sbin
        echo $$ >"$d/anchor.pid"
        exec sleep infinity' anchor "$d" </dev/null >"$d/anchor.log" 2>&1 9>&- &
    for i in $(seq 100); do
        [[ -s $d/anchor.pid ]] && break
        sleep 0.1
    done
    anchor_pid "$n" >/dev/null || die "node $n: anchor failed to start: $(cat "$d/anchor.log")"
    readlink "/proc/$(anchor_pid "$n")/ns/mnt" >"$d/ns.mnt"
    readlink "/proc/$(anchor_pid "$n")/ns/net" >"$d/ns.net"
}

start_glusterd() {
    local n=$1 d i
    d=$(node_dir "$n")
    if pid_of "$d/glusterd.pid" >/dev/null; then return 0; fi
    rm -f "$d/glusterd.pid"
    in_node "$n" setsid glusterd --log-file=/var/log/glusterfs/glusterd.log -p "$d/glusterd.pid" </dev/null >/dev/null 2>&1 9>&- ||
        die "node $n: glusterd failed to start, see $d/log/glusterd.log"
    for i in $(seq 150); do
        in_node "$n" gluster --mode=script --timeout=10 peer status >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "node $n: glusterd does not answer, see $d/log/glusterd.log"
}

start_sshd() {
    local n=$1 d i
    d=$(node_dir "$n")
    if pid_of "$d/sshd.pid" >/dev/null; then return 0; fi
    rm -f "$d/sshd.pid"
    in_node "$n" setsid /usr/sbin/sshd -E "$d/sshd.log" \
        -o ListenAddress="$(node_addr "$n"):22" -o HostKey="$d/ssh_host_ed25519_key" -o PidFile="$d/sshd.pid" \
        -o AuthorizedKeysFile=/etc/heqet-e2e/authorized_keys -o PermitRootLogin=prohibit-password \
        -o PasswordAuthentication=no -o UseDNS=no -o MaxSessions=100 -o MaxStartups=100:30:200 \
        </dev/null >/dev/null 2>&1 9>&- || die "node $n: sshd failed to start, see $d/sshd.log"
    for i in $(seq 100); do
        ssh "${SSH_OPTS[@]}" "root@$(node_addr "$n")" true 2>/dev/null && return 0
        sleep 0.1
    done
    die "node $n: ssh to $(node_addr "$n") does not work, see $d/sshd.log"
}

setup_network() {
    ip link add "$BRIDGE" type bridge
    ip addr add "$HOST_ADDR/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    local n
    for n in $(seq "$NODES"); do
        ip netns add "gn$n"
        ip link add "v$n" type veth peer name eth0 netns "gn$n"
        ip link set "v$n" master "$BRIDGE" up
        ip -n "gn$n" addr add "$(node_addr "$n")/24" dev eth0
        ip -n "gn$n" link set lo up
        ip -n "gn$n" link set eth0 up
    done
}

set_ssh_opts() {
    SSH_OPTS=(-i "$STATE/id_ed25519" -o UserKnownHostsFile="$STATE/known_hosts" -o StrictHostKeyChecking=yes
        -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR)
}

write_env() {
    local n f=$STATE/env.tmp
    {
        echo "# heqet e2e cluster, written by tests/e2e/cluster.sh up ($(date -u +%FT%TZ))"
        echo "HEQET_E2E_STATE=\"$STATE\""
        echo "HEQET_E2E_CLUSTER_SH=\"$HERE/cluster.sh\""
        echo "HEQET_E2E_SSH_KEY=\"$STATE/id_ed25519\""
        echo "HEQET_E2E_SSH_USER=\"root\""
        echo "HEQET_E2E_SSH_PORT=\"22\""
        echo "HEQET_E2E_SSH_KNOWN_HOSTS=\"$STATE/known_hosts\""
        echo "HEQET_E2E_SSH_OPTS=\"${SSH_OPTS[*]}\""
        echo "HEQET_E2E_LVM_WRAPPER=\"$HERE/lvm-standin\""
        echo "HEQET_E2E_FSTAB=\"/etc/fstab\""
        echo "HEQET_E2E_HOST_ADDR=\"$HOST_ADDR\""
        echo "HEQET_E2E_NODE_COUNT=\"$NODES\""
        echo "HEQET_E2E_NODES=\"$(for n in $(seq "$NODES"); do printf '%s ' "$(node_addr "$n")"; done | sed 's/ $//')\""
        echo "HEQET_E2E_DISK_SIZE_BYTES=\"$(stat -c %s "$(node_dir 1)/disks/disk1.img")\""
        for n in $(seq "$NODES"); do
            echo "HEQET_E2E_NODE${n}_NAME=\"gn$n\""
            echo "HEQET_E2E_NODE${n}_ADDR=\"$(node_addr "$n")\""
            echo "HEQET_E2E_NODE${n}_DISKS=\"$(cat "$(node_dir "$n")/disks.list")\""
            echo "HEQET_E2E_NODE${n}_LOGDIR=\"$(node_dir "$n")/log\""
        done
    } >"$f"
    mv "$f" "$STATE/env"
}

up_failed() {
    local rc=$?
    trap - EXIT
    log "up failed (exit $rc); tearing down what was built"
    cmd_down || true
    exit "$rc"
}

cmd_up() {
    local n start=$SECONDS
    ensure_packages
    [[ -e /dev/fuse ]] || die "/dev/fuse missing: FUSE mounts will not work"
    # leftovers of a crashed or earlier run
    cmd_down
    trap up_failed EXIT
    mkdir -p "$STATE/logs"
    mkdir_marked /dev/mapper
    mkdir_marked /dev/disk
    rm -f "$STATE/id_ed25519" "$STATE/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C heqet-e2e-client -f "$STATE/id_ed25519"
    for n in $(seq "$NODES"); do prepare_node_files "$n"; done
    : >"$STATE/known_hosts"
    for n in $(seq "$NODES"); do
        echo "$(node_addr "$n") $(cut -d' ' -f1,2 "$(node_dir "$n")/ssh_host_ed25519_key.pub")" >>"$STATE/known_hosts"
    done
    set_ssh_opts
    setup_network
    for n in $(seq "$NODES"); do start_anchor "$n"; done
    for n in $(seq "$NODES"); do start_glusterd "$n"; done
    for n in $(seq "$NODES"); do start_sshd "$n"; done
    write_env
    trap - EXIT
    echo "$STATE" >"$OWNER_FILE"
    log "up in $((SECONDS - start))s; env file: $STATE/env"
    cat "$STATE/env"
}

cmd_status() {
    local n d ok=0 link
    set_ssh_opts
    for n in $(seq "$NODES"); do
        d=$(node_dir "$n")
        link=$(ip -o link show "v$n" 2>/dev/null | grep -q 'state UP' && echo up || echo down)
        printf 'gn%s %s anchor=%s glusterd=%s sshd=%s link=%s disks=%s\n' "$n" "$(node_addr "$n")" \
            "$(anchor_pid "$n" || echo -)" "$(pid_of "$d/glusterd.pid" || echo -)" \
            "$(pid_of "$d/sshd.pid" || echo -)" "$link" "$(tr ' ' , <"$d/disks.list" 2>/dev/null || echo -)"
        anchor_pid "$n" >/dev/null && pid_of "$d/glusterd.pid" >/dev/null && pid_of "$d/sshd.pid" >/dev/null &&
            [[ $link == up ]] || ok=1
    done
    [[ -f $STATE/env ]] || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- faults
cmd_glusterd_stop() {
    local d
    d=$(node_dir "$1")
    # like `systemctl stop glusterd`: brick processes keep running
    kill_pidfile "$d/glusterd.pid" glusterd
}

cmd_node_restart() {
    local n=$1 a d pids=() p mnts
    d=$(node_dir "$n")
    a=$(anchor_pid "$n") || die "node $n is not running"
    set_ssh_opts
    log "node $n: power cycle"
    for p in $(node_pids "$n"); do if [[ $p != "$a" ]]; then pids+=("$p"); fi; done
    kill_pids "${pids[@]}"
    rm -f "$d/glusterd.pid" "$d/sshd.pid"
    # unmount the brick filesystems (everything under /var/lib/heketi or listed in fstab)
    mnts=$(awk 'NR==FNR { if ($1 !~ /^#/ && NF >= 2) fs[$2] = 1; next }
                 ($2 ~ "^/var/lib/heketi/" || ($2 in fs)) { print $2 }' "$d/etc-upper/fstab" "/proc/$a/mounts" | sort -r)
    for p in $mnts; do in_node "$n" umount "$p" || in_node "$n" umount -l "$p"; done
    # fresh /run, as after a reboot
    in_node "$n" sh -c 'umount -l /run && mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/gluster /run/sshd /run/lock'
    # the boot-time `mount -a` of the node's fstab
    in_node "$n" mount -a || log "warning: node $n: mount -a reported errors"
    start_glusterd "$n"
    start_sshd "$n"
}

cmd_mount_volume() {
    local spec=$1 mnt=$2 opts=${3:-} logf
    [[ $spec == "$NET".*:/* ]] || die "volume spec must be $NET.N:/VOLUME, got '$spec'"
    mkdir -p "$mnt" "$STATE/logs"
    mnt=$(cd "$mnt" && pwd)
    logf=$STATE/logs/fuse$(echo "$mnt" | tr / _).log
    mount -t glusterfs -o "log-file=$logf${opts:+,$opts}" "$spec" "$mnt" || die "mount of $spec on $mnt failed, see $logf"
    echo "$mnt" >>"$STATE/fuse-mounts"
}

cmd_umount_volume() {
    umount "$1" 2>/dev/null || umount -l "$1"
}

with_lock() {
    mkdir -p "$LOCK_DIR"
    exec 9>"$LOCK_DIR/heqet-e2e-cluster.lock"
    flock -w 900 9 || die "another cluster.sh holds $LOCK_DIR/heqet-e2e-cluster.lock"
}

# up, CMD, down, holding the suite lock throughout; CMD's exit status is returned.
cmd_run() {
    mkdir -p "$LOCK_DIR"
    exec 8>"$LOCK_DIR/heqet-e2e-suite.lock"
    log "waiting for the machine's suite lock ($LOCK_DIR/heqet-e2e-suite.lock)"
    flock -w 3600 8 || die "another run holds $LOCK_DIR/heqet-e2e-suite.lock"
    (with_lock; cmd_up) || die "cluster up failed"
    local rc=0
    # CMD runs under this lock: suites it starts must not wait for it themselves.
    HEQET_E2E_SUITE_LOCK_HELD="$LOCK_DIR/heqet-e2e-suite.lock" "$@" || rc=$?
    if ! (with_lock; cmd_down); then
        ((rc)) || rc=1
    fi
    return "$rc"
}

main() {
    local cmd=${1:-}
    [[ -n $cmd ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; }
    shift
    [[ $(id -u) == 0 ]] || die "must run as root"
    case $cmd in
    up) with_lock; cmd_up ;;
    down) with_lock; cmd_down ;;
    status) cmd_status ;;
    glusterd-stop) check_node "${1:-}"; cmd_glusterd_stop "$1" ;;
    glusterd-start) check_node "${1:-}"; start_glusterd "$1" ;;
    node-down) check_node "${1:-}"; ip link set "v$1" down ;;
    node-up) check_node "${1:-}"; ip link set "v$1" up ;;
    node-restart) check_node "${1:-}"; with_lock; cmd_node_restart "$1" ;;
    exec) check_node "${1:-}"; local n=$1; shift; (($#)) || die "exec N CMD..."; in_node "$n" "$@" ;;
    mount-volume) (($# >= 2)) || die "mount-volume HOST:/VOL MOUNTPOINT [OPTS]"; cmd_mount_volume "$@" ;;
    umount-volume) (($# == 1)) || die "umount-volume MOUNTPOINT"; cmd_umount_volume "$1" ;;
    run) (($#)) || die "run CMD..."; cmd_run "$@" ;;
    *) die "unknown command '$cmd' (up|down|status|glusterd-stop|glusterd-start|node-down|node-up|node-restart|exec|mount-volume|umount-volume)" ;;
    esac
}

main "$@"
