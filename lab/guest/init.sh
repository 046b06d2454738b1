#!/bin/sh
# lab/guest/init.sh: PID 1 of the lab guests (QEMU TCG and UML), booted with
#   init=/lab/init.sh lab_env=<env>
# Mounts the pseudo file systems, sets the hostname to the environment name, brings lo up, runs the
# job that lab/lab wrote into the image (/lab/jobs/job.sh), syncs and powers the guest off.
# The job's output goes to the console (the host keeps it as console.log) and to job.log.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
HOME=/root
export HOME
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
mount -t tmpfs tmpfs /run 2>/dev/null
mount -o remount,rw / 2>/dev/null

LAB_ENV=guest
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        lab_env=*) LAB_ENV=${arg#lab_env=} ;;
    esac
done
hostname "$LAB_ENV"
ip link set lo up
echo "[lab $LAB_ENV init] $(date -u +%Y-%m-%dT%H:%M:%SZ) kernel $(uname -r), $(nproc) CPU(s), $(grep MemTotal /proc/meminfo)"
mkdir -p "/lab/results/$LAB_ENV"
/bin/bash /lab/jobs/job.sh 2>&1 | tee "/lab/results/$LAB_ENV/job.log"
echo "[lab $LAB_ENV init] job finished; powering off"
sync
/lab/bin/lab-poweroff
echo o > /proc/sysrq-trigger
sleep 60
