# lab/apps/common.sh: sourced by every app script. $1 is prepare | run | cleanup.
# LAB_ROOT (payload), LAB_WORK (scratch on the environment's root file system, /var/tmp/lab-work)
# and the LAB_<APP>_* sizes come from the job script.
set -e
W="$LAB_WORK/$APP"
INPUTS="$LAB_ROOT/inputs"
case "$1" in
    prepare|run|cleanup) ;;
    *) echo "usage: $0 prepare|run|cleanup" >&2; exit 2 ;;
esac
