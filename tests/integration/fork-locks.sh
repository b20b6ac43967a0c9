#!/bin/bash
# fork() while another thread is inside a locked section of the shim or the
# core: the child's next getenv() of a mapped name, popen() and system()
# work (no lock left held by a thread the child does not have, no state
# half-updated). libforkhold.so holds a call made inside the section for
# 500 ms (forkprog.c, forkhold.c); every run is under a timeout and each
# child under an alarm, so that a hang fails instead of blocking.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${VE_FORKPROG:?}" "${VE_FORKHOLD:?}"

ve_vault_start
# BIG (100 kB) does not fit the secure-memory arena's first 64 kB chunk:
# storing it grows the arena, under its lock (mlock()).
big="fake-big-$(ve_random)-$(head -c 100000 /dev/zero | tr '\0' x)"
ve_kv2_put secret/app/big "{\"value\":\"$big\"}"
ve_kv2_put secret/app/small '{"value":"fake-small"}'
cat >"$VE_TMP/app.map" <<'MAP'
SMALL = secret/app/small#value eager
BIG   = secret/app/big#value
MAP
export VAULTENV_MAP="$VE_TMP/app.map"

# fork_in WHAT FUNC N NAME ACTION: forkprog forks once N calls of FUNC
# (held) were entered by a thread doing ACTION.
fork_in() {
        local what=$1 out="$VE_TMP/out.$2.$3"
        timeout 120 env LD_PRELOAD="$VE_PRELOAD:$VE_FORKHOLD" "$VE_FORKPROG" "$out" "$2" "$3" SMALL "$4" "$5" \
                2>"$VE_TMP/stderr" || true
        check "$what: the fork happened inside" grep -qx entered "$out"
        check "$what: the child did not hang" grep -qx "child exited 0" "$out"
        check "$what: the child's getenv($4) has a value" grep -qx "getenv set" "$out"
        check "$what: the child's popen() works" grep -qx "popen ok" "$out"
        check "$what: the child's system() works" grep -qx "system ok" "$out"
}

if [ -z "$VE_ASAN_RUNTIME" ]; then
        # the arena grows for the value the core read (held in mlock())
        fork_in "arena (value read)" mlock 1 BIG getenv
        # ... then for the resolver's copy, under the path's lock and the arena's
        fork_in "path and arena (value stored)" mlock 2 BIG getenv
else
        echo "# ASan build: its runtime takes mlock() before libforkhold; the plain build forks inside the arena"
fi
# popen() holds its lock while the shell starts (posix_spawn())
fork_in "popen" posix_spawn 1 SMALL popen
# system() holds its lock while it sets SIGINT and SIGQUIT aside
fork_in "system" sigaction 1 SMALL system
ve_done
