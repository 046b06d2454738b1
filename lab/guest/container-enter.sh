#!/bin/sh
# lab/guest/container-enter.sh ROOT JOB
# Runs as PID 1 of new PID/net/mount/UTS/IPC namespaces (unshare --fork), already inside the
# lab-container cgroups. Mirrors the lmbench-lab recipe: rbind /dev into the root, chroot, mount
# proc and sysfs, set the hostname, bring lo up. The job writes its results into the container
# root (/lab/results/container); lab/lab copies them out afterwards (no extra mount, so lmbench's
# [mount:] header lines show only what the recipe mounts).
set -e
ROOT=$1
JOB=$2
mount --rbind /dev "$ROOT/dev"
mkdir -p "$ROOT/lab/results/container"
exec chroot "$ROOT" /bin/sh -c '
mount -t proc proc /proc
mount -t sysfs sysfs /sys
hostname container
ip link set lo up
PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root exec /bin/bash "$1"' container-init "$JOB"
