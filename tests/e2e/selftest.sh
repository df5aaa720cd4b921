#!/bin/bash
# Self-test of the e2e harness: brings the cluster up and drives it over ssh exactly the way
# heqet will (docs/node-commands.md §4.1, §5.1, §5.2, §4.4, §3.2/3.3, §6), then checks that
# nothing is left and tears it down. Exits non-zero with a message on the first failure.
# usage: tests/e2e/selftest.sh      (HEQET_E2E_KEEP=1 keeps the cluster up after a failure)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER=$HERE/cluster.sh
GLUSTER="gluster --mode=script --timeout=600"
LVM=/usr/sbin/lvm
STEP="start"
LOG=${HEQET_E2E_STATE:-$HERE/.state}/selftest.log
T0=$SECONDS

step() { STEP=$*; printf '[selftest %3ds] %s\n' "$((SECONDS - T0))" "$*"; }
fail() { printf '[selftest] FAILED at step "%s": %s\n' "$STEP" "$*" >&2; exit 1; }

on_exit() {
    local rc=$?
    close_mux
    if ((rc != 0)); then
        printf '[selftest] FAILED (exit %s) at step "%s"\n' "$rc" "$STEP" >&2
        if [[ ${HEQET_E2E_KEEP:-0} == 1 ]]; then
            echo "[selftest] cluster kept up for inspection (HEQET_E2E_KEEP=1)" >&2
        else
            [[ -n ${MNT:-} ]] && umount -l "$MNT" 2>/dev/null
            "$CLUSTER" down >/dev/null 2>&1 || true
        fi
    fi
}
trap on_exit EXIT

# the selftest multiplexes its many ssh commands over one connection per node (speed only)
close_mux() {
    local n a
    for n in 1 2 3; do
        a=HEQET_E2E_NODE${n}_ADDR
        [[ -n ${!a:-} ]] || continue
        ssh -o "ControlPath=$HEQET_E2E_STATE/ssh-mux-${!a}" -O exit "${!a}" >/dev/null 2>&1 || true
    done
}

hexid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# run one command on node N the way the ssh executor does: `/bin/bash -c '<command>'`
on() {
    local n=$1
    shift
    local addr_var=HEQET_E2E_NODE${n}_ADDR
    # shellcheck disable=SC2086
    ssh $HEQET_E2E_SSH_OPTS -o ControlMaster=auto -o ControlPersist=120 -o "ControlPath=$HEQET_E2E_STATE/ssh-mux-%h" -p "$HEQET_E2E_SSH_PORT" "$HEQET_E2E_SSH_USER@${!addr_var}" "/bin/bash -c $(printf '%q' "$*")"
}
must() {   # output goes to the log, and is shown on failure
    local n=$1 out
    shift
    out=$(on "$n" "$@" 2>&1) || fail "node $n: '$*' failed: $out"
    printf '%s\n' "--- node $n: $*" "$out" >>"$LOG"
}
must_fail() { local n=$1; shift; if on "$n" "$@" >/dev/null 2>&1; then fail "node $n: '$*' unexpectedly succeeded"; fi; }

disk() { local v=HEQET_E2E_NODE${1}_DISKS dl; read -r -a dl <<<"${!v}"; echo "${dl[$2]}"; }

wait_for() {   # seconds description command...
    local t=$1 what=$2 i
    shift 2
    for ((i = 0; i < t * 5; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    fail "timed out after ${t}s waiting for: $what"
}

# ---------------------------------------------------------------- up
step "cluster up"
mkdir -p "$(dirname "$LOG")"
: >"$LOG"
t_up=$SECONDS
"$CLUSTER" up >/dev/null
t_up=$((SECONDS - t_up))
# shellcheck disable=SC1091
. "${HEQET_E2E_STATE:-$HERE/.state}/env"
W=$HEQET_E2E_LVM_WRAPPER
FSTAB=$HEQET_E2E_FSTAB
"$CLUSTER" status >/dev/null || fail "status reports a problem after up"
for n in 1 2 3; do
    must "$n" "systemctl status glusterd"
    [[ $(on "$n" "$GLUSTER peer status") == *"Number of Peers: 0"* ]] || fail "node $n is already in a pool"
done

# ---------------------------------------------------------------- devices (§4.1, §4.2)
step "raw disks are raw; a GPT label blocks pvcreate until wipefs --all"
for n in 1 2 3; do
    for i in 0 1 2; do
        [[ -z $(on "$n" "wipefs $(disk "$n" "$i")") ]] || fail "node $n disk $(disk "$n" "$i") is not raw"
    done
done
D1=$(disk 1 0)
must 1 "parted -s $D1 mklabel gpt"
out=$(on 1 "$LVM pvcreate -qq --metadatasize=128M --dataalignment=256K '$D1'" 2>&1) && fail "pvcreate accepted a GPT-labelled disk"
[[ $out == *gpt* ]] || fail "pvcreate refused for an unexpected reason: $out"
must 1 "wipefs --all $D1"
must 1 "$LVM pvcreate -qq --metadatasize=128M --dataalignment=256K '$D1'"

step "node isolation: node 1 cannot see node 2's disks"
must_fail 1 "$LVM pvs $(disk 2 0)"
must_fail 1 "$W $LVM pvcreate -qq --metadatasize=128M --dataalignment=256K '$(disk 2 1)'"

step "pvcreate + vgcreate + vgdisplay -c + pvs json + udevadm on every node"
declare -A VGID PVUUID
for n in 1 2 3; do
    d=$(disk "$n" 0)
    VGID[$n]=$(hexid)
    [[ $n == 1 ]] || must "$n" "$W $LVM pvcreate -qq --metadatasize=128M --dataalignment=256K '$d'"
    must "$n" "$W $LVM vgcreate -qq --physicalextentsize=4M --autobackup=n vg_${VGID[$n]} $d"
    json=$(on "$n" "$W $LVM pvs -o pv_name,pv_uuid,vg_name --reportformat=json $d") || fail "pvs json failed"
    PVUUID[$n]=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["report"][0]["pv"][0]["pv_uuid"])' <<<"$json") ||
        fail "cannot parse pvs json: $json"
    links=$(on "$n" "$W /usr/bin/udevadm info --query=symlink --name=$d") || fail "udevadm info failed"
    [[ $links == *"disk/by-id/lvm-pv-uuid-${PVUUID[$n]}"* ]] || fail "udevadm symlinks lack the PV uuid link: '$links'"
    must "$n" "$W $LVM pvs /dev/disk/by-id/lvm-pv-uuid-${PVUUID[$n]}"
    vgd=$(on "$n" "$W $LVM vgdisplay -c vg_${VGID[$n]}")
    IFS=: read -r -a f <<<"${vgd# *}"
    ((${#f[@]} >= 17)) || fail "vgdisplay -c has ${#f[@]} fields: $vgd"
    [[ ${f[12]} == 4096 && ${f[14]} == 0 && ${f[15]} == "${f[13]}" ]] || fail "unexpected fresh VG numbers: $vgd"
done
FREE0=${f[15]}

# ---------------------------------------------------------------- bricks (§5.1)
# 1 GiB brick: S = P = 1048576 KiB, M = 8192 KiB (docs/node-commands.md §12.2)
declare -A BID TPID MNTP
step "brick create (§5.1) through the lvm wrapper on all nodes"
for n in 1 2 3; do
    vg=vg_${VGID[$n]}
    BID[$n]=$(hexid)
    TPID[$n]=$(hexid)   # pool name differs from the brick id, as for a set's first brick
    b=brick_${BID[$n]}
    MNTP[$n]=/var/lib/heketi/mounts/$vg/$b
    line="/dev/mapper/$vg-$b ${MNTP[$n]} xfs rw,inode64,noatime,nouuid 1 2"
    must "$n" "mkdir -p ${MNTP[$n]}"
    must "$n" "$W $LVM lvcreate -qq --autobackup=n --poolmetadatasize 8192K --chunksize 256K --size 1048576K --thin $vg/tp_${TPID[$n]} --virtualsize 1048576K --name $b"
    must "$n" "mkfs.xfs -i size=512 -n size=8192 /dev/mapper/$vg-$b"
    must "$n" "awk \"BEGIN {print \\\"$line\\\" >> \\\"$FSTAB\\\"}\""
    must "$n" "mount -o rw,inode64,noatime,nouuid /dev/mapper/$vg-$b ${MNTP[$n]}"
    must "$n" "mkdir ${MNTP[$n]}/brick"
    must "$n" "chown :2000 ${MNTP[$n]}/brick"
    must "$n" "chmod 2775 ${MNTP[$n]}/brick"
    # bookkeeping as heqet will read it
    [[ $(on "$n" "$W $LVM lvs --noheadings --options=thin_count $vg/tp_${TPID[$n]}" | tr -d ' ') == 1 ]] || fail "thin_count != 1"
    vgd=$(on "$n" "$W $LVM vgdisplay -c $vg")
    IFS=: read -r -a f <<<"${vgd# *}"
    [[ ${f[15]} == $((FREE0 - (1048576 + 8192) / 4096)) ]] || fail "VG free extents ${f[15]} do not reflect the pool: $vgd"
    [[ $(on "$n" "grep -c brick_${BID[$n]} $FSTAB") == 1 ]] || fail "fstab line missing"
    [[ -L /dev/mapper/$vg-$b ]] && fail "node $n's /dev/mapper entry leaked to the host"
    for m in 1 2 3; do
        [[ $m == "$n" ]] && continue
        must_fail "$m" "test -e /dev/mapper/$vg-$b"
    done
    must "$n" "test -L /dev/$vg/$b && mountpoint -q ${MNTP[$n]}"
done
json=$(on 1 "$W $LVM lvs --reportformat=json -o lv_name,vg_name,lv_size,pool_lv,thin_count vg_${VGID[1]}") || fail "lvs json failed"
python3 -c '
import json, sys
lvs = {lv["lv_name"]: lv for lv in json.loads(sys.argv[1])["report"][0]["lv"]}
assert lvs["tp_" + sys.argv[2]]["thin_count"] == "1", lvs
assert lvs["brick_" + sys.argv[3]]["pool_lv"] == "tp_" + sys.argv[2], lvs
' "$json" "${TPID[1]}" "${BID[1]}" || fail "unexpected lvs json: $json"
must_fail 1 "$W $LVM lvcreate -qq --autobackup=n --poolmetadatasize 8192K --chunksize 256K --size 1048576K --thin vg_${VGID[1]}/tp_${TPID[1]} --virtualsize 1048576K --name brick_${BID[1]}"
out=$(on 1 "$W $LVM lvcreate -qq --autobackup=n --poolmetadatasize 8192K --chunksize 256K --size 104857600K --thin vg_${VGID[1]}/tp_$(hexid) --virtualsize 104857600K --name brick_$(hexid)" 2>&1) &&
    fail "a 100 GiB pool fit on a 4 GiB disk"
[[ ${out,,} == *"insufficient free space"* ]] || fail "unexpected error for a too-large pool: $out"

# ---------------------------------------------------------------- pool + volume (§3.2, §6)
step "peer probe from node 1"
must 1 "$GLUSTER peer probe $HEQET_E2E_NODE2_ADDR"
must 1 "$GLUSTER peer probe $HEQET_E2E_NODE3_ADDR"
peers_ok() { [[ $(on 1 "$GLUSTER peer status" | grep -c 'Peer in Cluster (Connected)') == 2 ]]; }
wait_for 60 "both peers 'Peer in Cluster (Connected)'" peers_ok

VOL=vol_$(hexid)
step "volume create replica 3 + start ($VOL)"
must 1 "$GLUSTER volume create $VOL replica 3 $HEQET_E2E_NODE1_ADDR:${MNTP[1]}/brick $HEQET_E2E_NODE2_ADDR:${MNTP[2]}/brick $HEQET_E2E_NODE3_ADDR:${MNTP[3]}/brick"
must 1 "$GLUSTER volume start $VOL"

step "FUSE mount from the host; a file shows up in all three bricks"
MNT=$HEQET_E2E_STATE/mnt/$VOL
"$CLUSTER" mount-volume "$HEQET_E2E_NODE1_ADDR:/$VOL" "$MNT"
echo "hello from the host" >"$MNT/hello.txt"
sync
for n in 1 2 3; do
    [[ $(on "$n" "cat ${MNTP[$n]}/brick/hello.txt") == "hello from the host" ]] || fail "file missing in node $n's brick"
done

# ---------------------------------------------------------------- faults
brick_online() {   # node-index
    on 1 "$GLUSTER volume status $VOL $1:${MNTP[$2]}/brick detail" | grep -q '^Online *: Y'
}
step "fault: node-restart 3 (bricks come back from fstab, glusterd restarts the brick)"
"$CLUSTER" node-restart 3 >/dev/null
must 3 "mountpoint -q ${MNTP[3]}"
wait_for 60 "node 3 brick online again" brick_online "$HEQET_E2E_NODE3_ADDR" 3
echo "after restart" >"$MNT/after.txt"
sync
wait_for 30 "after.txt on node 3's brick" on 3 "test -s ${MNTP[3]}/brick/after.txt"

step "fault: glusterd-stop / glusterd-start 2"
"$CLUSTER" glusterd-stop 2
must_fail 2 "systemctl status glusterd"
# bricks keep running, as with `systemctl stop glusterd` (pgrep would see every node's processes:
# there is no pid namespace, so look at this node's own brick pid files)
must 2 "for f in /run/gluster/vols/$VOL/*.pid; do kill -0 \$(cat \$f) || exit 1; done"
"$CLUSTER" glusterd-start 2
must 2 "systemctl status glusterd"

step "fault: node-down / node-up 2"
"$CLUSTER" node-down 2
if timeout 2 bash -c "</dev/tcp/$HEQET_E2E_NODE2_ADDR/22" 2>/dev/null; then fail "node 2 still reachable while down"; fi
"$CLUSTER" node-up 2
wait_for 20 "node 2 reachable again" timeout 2 bash -c "</dev/tcp/$HEQET_E2E_NODE2_ADDR/22"
wait_for 60 "peers connected again" peers_ok

# ---------------------------------------------------------------- reverse (§8, §5.2, §4.4, §3.3)
step "unmount, volume stop + delete"
"$CLUSTER" umount-volume "$MNT"
MNT=""
must 1 "$GLUSTER volume stop $VOL force"
must 1 "$GLUSTER volume delete $VOL"

step "brick destroy (§5.2) through the lvm wrapper"
for n in 1 2 3; do
    vg=vg_${VGID[$n]}
    must "$n" "umount ${MNTP[$n]}"
    must "$n" "sed -i.save \"/brick_${BID[$n]}/d\" $FSTAB"
    must "$n" "$W $LVM lvremove --autobackup=n -f $vg/brick_${BID[$n]}"
    out=$(on "$n" "$W $LVM lvremove --autobackup=n -f $vg/brick_${BID[$n]}" 2>&1) && fail "second lvremove succeeded"
    [[ ${out,,} == *"failed to find"* ]] || fail "lvremove of a missing LV says: $out"
    [[ $(on "$n" "$W $LVM lvs --noheadings --options=thin_count $vg/tp_${TPID[$n]}" | tr -d ' ') == 0 ]] || fail "thin_count != 0"
    must "$n" "$W $LVM lvremove --autobackup=n -f $vg/tp_${TPID[$n]}"
    out=$(on "$n" "$W $LVM lvs --noheadings --options=thin_count $vg/tp_${TPID[$n]}" 2>&1) && fail "lvs of a removed pool succeeded"
    [[ ${out,,} == *"failed to find"* ]] || fail "lvs of a missing pool says: $out"
    on "$n" "rmdir ${MNTP[$n]}" || true
done

step "device teardown (§4.4) and peer detach (§3.3)"
for n in 1 2 3; do
    must "$n" "$W $LVM vgremove -qq vg_${VGID[$n]}"
    must "$n" "$W $LVM pvremove -qq '/dev/disk/by-id/lvm-pv-uuid-${PVUUID[$n]}'"
    on "$n" "rmdir /var/lib/heketi/mounts/vg_${VGID[$n]}" || true
done
must 1 "$GLUSTER peer detach $HEQET_E2E_NODE2_ADDR"
must 1 "$GLUSTER peer detach $HEQET_E2E_NODE3_ADDR"

step "nothing is left on the nodes"
for n in 1 2 3; do
    left=$(on "$n" "$LVM pvs --noheadings")
    [[ -z $left ]] || fail "node $n still has PVs: $left"
    # (/dev/mapper/control is made by LVM itself when it probes for device-mapper)
    left=$(on "$n" "find /dev/mapper /dev/disk/by-id /dev/mapper/.lvm-standin -mindepth 1 ! -name control ! -name .lvm-standin")
    [[ -z $left ]] || fail "node $n has device links left: $left"
    [[ -z $(on "$n" "grep -v '^#' $FSTAB || true") ]] || fail "node $n fstab not clean"
    [[ -z $(on "$n" "grep ' /var/lib/heketi' /proc/mounts || true") ]] || fail "node $n has brick mounts left"
    [[ -z $(on "$n" "ls -A /var/lib/heketi/mounts") ]] || fail "node $n has mount dirs left"
    [[ -z $(on "$n" "$GLUSTER volume list 2>&1 | grep -v '^No volumes present' || true") ]] || fail "node $n lists volumes"
    [[ $(on "$n" "$GLUSTER peer status") == *"Number of Peers: 0"* ]] || fail "node $n still has peers"
    left=$(find "$HEQET_E2E_STATE/gn$n/lvm" -mindepth 1 ! -name .lock ! -name .used)
    [[ -z $left ]] || fail "lvm-standin state left on node $n: $left"
done
if losetup -l -n -O BACK-FILE | grep -q "$HEQET_E2E_STATE/gn./lvm/"; then fail "LV loop devices left attached"; fi
if compgen -G '/dev/vg_*' >/dev/null; then fail "/dev/vg_* links left on the host"; fi
if grep -q fuse.glusterfs /proc/mounts; then fail "FUSE mounts left on the host"; fi

step "cluster down"
close_mux
"$CLUSTER" down >/dev/null 2>&1
if ip netns list | grep -q '^gn[0-9]'; then fail "namespaces left"; fi
if ip link show gbr0 >/dev/null 2>&1; then fail "bridge left"; fi
if losetup -l -n -O BACK-FILE | grep -q "$HEQET_E2E_STATE/"; then fail "loop devices left"; fi
[[ ! -e $HEQET_E2E_STATE/env ]] || fail "env file left"

trap - EXIT
printf '[selftest] PASSED in %ss (cluster up took %ss)\n' "$((SECONDS - T0))" "$t_up"
