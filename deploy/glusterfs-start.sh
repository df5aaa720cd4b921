#!/bin/sh
# glusterfs-start.sh: entrypoint of the glusterfs container when heqet runs with the
# Kubernetes executor ("executor": "kubernetes").
#
# Why it exists: heqet (like heketi) mounts each brick inside the glusterfs pod and records
# the mount in the fstab named by kubeexec.fstab, /var/lib/heketi/fstab by default: a host
# path mounted into the pod, so it survives the pod. The mounts themselves do not: a restarted
# pod gets a fresh mount namespace with no brick mounted, and glusterd would find its bricks
# missing (it refuses to start a brick whose directory lacks the volume-id xattr, so the
# volumes lose those bricks until someone remounts them by hand). This script replays that
# fstab (`mount -a --fstab`, creating missing mount points) before glusterd starts.
#
# Usage, as the container's command:
#   glusterfs-start.sh                  # then: glusterd in the foreground
#   glusterfs-start.sh /usr/sbin/init   # images that run glusterd under systemd
#   glusterfs-start.sh CMD ARGS...      # anything else: exec'd after the mounts
# Environment:
#   HEQET_FSTAB          fstab to replay (default /var/lib/heketi/fstab; keep it equal to
#                        kubeexec.fstab)
#   HEQET_MOUNT_RETRIES  attempts, 2 s apart, while some entry fails to mount (default 15):
#                        after a node boot the LVs may show up late
# Needs util-linux mount (for --fstab), awk, and lvm for the activation step.
set -u

fstab=${HEQET_FSTAB:-/var/lib/heketi/fstab}
retries=${HEQET_MOUNT_RETRIES:-15}

log() { echo "glusterfs-start: $*" >&2; }

if [ -s "$fstab" ]; then
    # After a node reboot the thin pools and brick LVs are inactive: activate them so their
    # /dev/mapper nodes exist. Harmless when they already are.
    if command -v lvm >/dev/null 2>&1; then
        lvm vgchange -ay >/dev/null 2>&1 || log "lvm vgchange -ay failed; mounting anyway"
    fi
    # Mount points (field 2) of every entry; heqet creates them when it makes a brick, but a
    # node's /var/lib/heketi/mounts may have been lost (e.g. not on a host path).
    awk '!/^[[:space:]]*(#|$)/ { print $2 }' "$fstab" | while read -r dir; do
        case "$dir" in
        /*) mkdir -p "$dir" || log "cannot create mount point $dir" ;;
        esac
    done
    n=1
    # mount -a skips what is already mounted, so retrying only retries the failures.
    until mount -a --fstab "$fstab"; do
        if [ "$n" -ge "$retries" ]; then
            # Start glusterd anyway: the bricks that did mount (and every other volume) must
            # not stay offline because of one bad disk. glusterd refuses the unmounted ones.
            log "some entries of $fstab are still not mounted after $n attempts; starting anyway"
            break
        fi
        n=$((n + 1))
        sleep 2
    done
    log "replayed $fstab"
else
    log "$fstab is empty or missing: no bricks to mount"
fi

if [ "$#" -eq 0 ]; then
    set -- glusterd -N -p /run/glusterd.pid --log-level INFO
fi
exec "$@"
