# lab/guest/labfuncs.sh: the functions a generated job script calls inside an environment
# (host, container chroot, QEMU TCG guest, UML guest). Sourced by bash; needs only coreutils,
# GNU time, strace (host only) and the lab payload under $LAB_ROOT.
#
# The job script (written by lab/lab, see lablib.job_script) sets:
#   LAB_ENV LAB_ROOT LAB_OUT LAB_SIG LAB_WORK LAB_OS LAB_CONFIG_TEMPLATE
# and exports the application sizes (LAB_*). Every result is written as NAME.partial and renamed
# when complete, so an interrupted job leaves no half result under a final name. A rerun in the
# same boot (host, container) skips what is complete; a rerun after a reboot or with another plan
# moves the old results aside (they would not come from the same boot).

lab_now() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }
lab_epoch() { date +%s.%N; }
lab_log() { echo "[lab $LAB_ENV $(date -u +%H:%M:%S)] $*"; }

lab_timeline() {  # kind name index start_iso end_iso seconds status
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$LAB_OUT/timeline.tsv"
}

lab_begin() {
    local boot
    boot=$(cat /proc/sys/kernel/random/boot_id)
    if [ -f "$LAB_OUT/boot_id" ]; then
        if [ "$(cat "$LAB_OUT/boot_id")" != "$boot" ] || [ "$(cat "$LAB_OUT/plan.sig" 2>/dev/null)" != "$LAB_SIG" ]; then
            local aside
            aside="$LAB_OUT.stale.$(date +%Y%m%dT%H%M%S)"
            lab_log "results in $LAB_OUT come from another boot or plan: moved to $aside"
            mv "$LAB_OUT" "$aside"
        fi
    fi
    mkdir -p "$LAB_OUT/lmbench" "$LAB_OUT/apps" "$LAB_WORK"
    if [ ! -f "$LAB_OUT/boot_id" ]; then
        echo "$LAB_SIG" > "$LAB_OUT/plan.sig"
        printf 'kind\tname\tindex\tstart\tend\tseconds\tstatus\n' > "$LAB_OUT/timeline.tsv"
        lab_meta > "$LAB_OUT/meta.txt.partial" 2>&1 && mv "$LAB_OUT/meta.txt.partial" "$LAB_OUT/meta.txt"
        echo "$boot" > "$LAB_OUT/boot_id"
        lab_log "begin: boot $boot"
    else
        lab_log "resuming in the same boot $boot"
    fi
    echo "$(lab_now) job start (pid $$)" >> "$LAB_OUT/sessions.txt"
}

# One "key: value" per line; values are whatever the environment reports.
lab_meta() {
    echo "env: $LAB_ENV"
    echo "date_utc: $(lab_now)"
    echo "boot_id: $(cat /proc/sys/kernel/random/boot_id)"
    echo "hostname: $(uname -n)"
    echo "uname: $(uname -a)"
    echo "kernel_release: $(uname -r)"
    echo "cpu_model: $(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')"
    echo "cpu_family_model_stepping: $(grep -m1 '^cpu family' /proc/cpuinfo | sed 's/^[^:]*: *//')/$(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | sed 's/^[^:]*: *//')/$(grep -m1 '^stepping' /proc/cpuinfo | sed 's/^[^:]*: *//')"
    echo "cpuinfo_processors: $(grep -c '^processor' /proc/cpuinfo)"
    echo "cpus_usable_nproc: $(nproc)"
    echo "cpus_allowed_list: $(grep '^Cpus_allowed_list' /proc/self/status | sed 's/^[^:]*:[[:space:]]*//')"
    echo "memtotal: $(grep '^MemTotal' /proc/meminfo | sed 's/^[^:]*: *//')"
    echo "cgroup: $(tr '\n' ' ' < /proc/self/cgroup)"
    echo "root_mount: $(awk '$2 == "/" {print $1, $3, $4}' /proc/mounts | tail -1)"
    echo "var_tmp_fs: $(df -PT /var/tmp | awk 'NR==2 {print $1, $2}')"
    echo "gcc: $(gcc --version 2>/dev/null | head -1)"
    echo "glibc: $(ldd --version 2>/dev/null | head -1)"
    echo "lmbench_version: $(cd "$LAB_ROOT/lmbench/scripts" && ./version 2>/dev/null)"
    echo "lmbench_commit: $(cat "$LAB_ROOT/LMBENCH_COMMIT" 2>/dev/null)"
    echo "xz: $(xz --version 2>/dev/null | head -1)"
    echo "sqlite3: $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
    echo "python3: $(python3 --version 2>&1)"
    echo "curl: $(curl --version 2>/dev/null | head -1 | cut -d' ' -f1-2)"
    echo "time: $(/usr/bin/time --version 2>&1 | head -1)"
    echo "make: $(make --version 2>/dev/null | head -1)"
    echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
}

# CONFIG as scripts/config-run writes it: TIMING_O and LOOP_O measured now (once per boot, like
# config-run does before its questions), PROCESSORS = CPUs this environment may use (nproc honours taskset and cpusets),
# everything else from the template lab/lab rendered (lablib.render_config).
lab_config() {
    local bindir="$LAB_ROOT/lmbench/bin/$LAB_OS" name
    name="CONFIG.$(uname -n)"
    if [ -f "$LAB_OUT/CONFIG" ] && [ -f "$bindir/$name" ] && cmp -s "$LAB_OUT/CONFIG" "$bindir/$name"; then
        lab_log "config: $name already measured in this boot"
        return 0
    fi
    local start timing_o loop_o procs
    start=$(lab_now)
    (
        cd "$bindir" || exit 1
        # as config-run: timing_o/loop_o decide from the timing granularity themselves (ENOUGH unset;
        # config-run exports what `enough` prints, the helpers compute the same thing internally).
        # The CONFIG itself fixes ENOUGH=5000 for the runs.
        unset ENOUGH TIMING_O LOOP_O
        ./msleep 250
        timing_o=$(./timing_o)
        ./msleep 250
        loop_o=$(./loop_o)
        procs=$(nproc)
        sed -e "s/@TIMING_O@/$timing_o/" -e "s/@LOOP_O@/$loop_o/" -e "s/@PROCESSORS@/$procs/" \
            "$LAB_CONFIG_TEMPLATE" > "$name.partial" && mv "$name.partial" "$name"
    ) || { lab_log "config: FAILED"; return 1; }
    cp "$bindir/$name" "$LAB_OUT/CONFIG"
    echo "$name" > "$LAB_OUT/CONFIG.name"
    lab_timeline config "$name" 0 "$start" "$(lab_now)" - ok
    lab_log "config: $(grep -E '^(TIMING_O|LOOP_O|PROCESSORS)=' "$LAB_OUT/CONFIG" | tr '\n' ' ')"
}

# One lmbench run, the way scripts/results runs it: cd bin/<OS>; lmbench CONFIG 2>resultfile.
lab_lmbench() {
    local n=$1 f="$LAB_OUT/lmbench/$LAB_ENV.$1" name start t0 t1 rc
    if [ -f "$f" ]; then lab_log "lmbench $n: done already, skipped"; return 0; fi
    name=$(cat "$LAB_OUT/CONFIG.name")
    rm -f "$f.partial"
    lab_log "lmbench $n: start"
    start=$(lab_now); t0=$(lab_epoch)
    (
        cd "$LAB_ROOT/lmbench/bin/$LAB_OS" || exit 1
        . "./$name"
        PATH=.:${PATH}; export PATH
        export SYNC_MAX
        export OUTPUT
        lmbench "$name" 2>"$f.partial"
    )
    rc=$?
    sync
    t1=$(lab_epoch)
    local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
    if [ $rc -eq 0 ] && [ -s "$f.partial" ]; then
        mv "$f.partial" "$f"
        lab_timeline lmbench "$LAB_ENV.$n" "$n" "$start" "$(lab_now)" "$secs" ok
        lab_log "lmbench $n: done in ${secs}s"
    else
        mv "$f.partial" "$f.failed" 2>/dev/null
        lab_timeline lmbench "$LAB_ENV.$n" "$n" "$start" "$(lab_now)" "$secs" "failed rc=$rc"
        lab_log "lmbench $n: FAILED rc=$rc after ${secs}s"
    fi
}

# One timed repetition of an application: prepare (untimed), run under GNU time -v, clean up.
lab_app() {
    local app=$1 rep=$2 d="$LAB_OUT/apps/$1" out start t0 t1 rc secs
    out="$d/$rep.time-v.txt"
    mkdir -p "$d"
    if [ -f "$out" ]; then lab_log "app $app rep $rep: done already, skipped"; return 0; fi
    rm -f "$out.partial"
    sh "$LAB_ROOT/apps/$app.sh" prepare > "$d/$rep.prepare.log" 2>&1 || { lab_log "app $app rep $rep: prepare FAILED"; lab_timeline app "$app" "$rep" "$(lab_now)" "$(lab_now)" - "prepare failed"; return 1; }
    sync
    start=$(lab_now); t0=$(lab_epoch)
    /usr/bin/time -v -o "$out.partial" sh "$LAB_ROOT/apps/$app.sh" run > "$d/$rep.stdout.txt" 2>&1
    rc=$?
    t1=$(lab_epoch)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    sh "$LAB_ROOT/apps/$app.sh" cleanup >> "$d/$rep.prepare.log" 2>&1
    if [ $rc -eq 0 ] && grep -q 'Elapsed (wall clock) time' "$out.partial"; then
        mv "$out.partial" "$out"
        lab_timeline app "$app" "$rep" "$start" "$(lab_now)" "$secs" ok
        lab_log "app $app rep $rep: ${secs}s"
    else
        mv "$out.partial" "$d/$rep.time-v.failed" 2>/dev/null
        lab_timeline app "$app" "$rep" "$start" "$(lab_now)" "$secs" "failed rc=$rc"
        lab_log "app $app rep $rep: FAILED rc=$rc after ${secs}s (see $d/$rep.stdout.txt)"
    fi
}

# The baseline's extra, untimed run under strace -c -f (a separate run, not one of the reps).
lab_strace() {
    local app=$1 d="$LAB_OUT/apps/$1" start t0 t1 rc secs
    mkdir -p "$d"
    if [ -f "$d/strace.txt" ]; then lab_log "strace $app: done already, skipped"; return 0; fi
    rm -f "$d/strace.txt.partial"
    sh "$LAB_ROOT/apps/$app.sh" prepare > "$d/strace.prepare.log" 2>&1 || { lab_log "strace $app: prepare FAILED"; return 1; }
    start=$(lab_now); t0=$(lab_epoch)
    strace -c -f -o "$d/strace.txt.partial" sh "$LAB_ROOT/apps/$app.sh" run > "$d/strace.stdout.txt" 2>&1
    rc=$?
    t1=$(lab_epoch)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    sh "$LAB_ROOT/apps/$app.sh" cleanup >> "$d/strace.prepare.log" 2>&1
    if [ $rc -eq 0 ] && [ -s "$d/strace.txt.partial" ]; then
        mv "$d/strace.txt.partial" "$d/strace.txt"
        lab_timeline strace "$app" - "$start" "$(lab_now)" "$secs" ok
        lab_log "strace $app: ${secs}s"
    else
        lab_timeline strace "$app" - "$start" "$(lab_now)" "$secs" "failed rc=$rc"
        lab_log "strace $app: FAILED rc=$rc"
    fi
}

# Every expected result file (the job lists them, relative to $LAB_OUT) must exist for DONE.
lab_end() {
    local missing=0 f
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        if [ ! -f "$LAB_OUT/$f" ]; then missing=$((missing + 1)); lab_log "missing: $f"; fi
    done <<< "$LAB_EXPECT"
    rm -rf "$LAB_WORK"
    lab_now > "$LAB_OUT/end_utc"
    if [ "$missing" -eq 0 ]; then
        echo "$LAB_SIG" > "$LAB_OUT/DONE"
        lab_log "end: all items complete"
    else
        lab_log "end: $missing item(s) missing, see $LAB_OUT/timeline.tsv"
        return 1
    fi
}
