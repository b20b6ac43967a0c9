#!/bin/bash
# fork() while another thread is inside a locked section of the shim or the
# core: the child's next getenv() of a mapped name, popen() and system()
# work (no lock left held by a thread the child does not have, no state
# half-updated). libforkhold.so holds a call made inside the section for
# 500 ms (forkprog.c, forkhold.c); every run is under a timeout and each
# child under an alarm, so that a hang fails instead of blocking.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
: "${VE_FORKPROG:?}" "${VE_FORKHOLD:?}"

ve_vault_start
# BIG (100 kB) does not fit the secure-memory arena's first 64 kB chunk:
# storing it grows the arena, under its lock (mlock()).
big="fake-big-$(ve_random)-$(head -c 100000 /dev/zero | tr '\0' x)"
ve_kv2_put secret/app/big "{\"value\":\"$big\"}"
ve_kv2_put secret/app/small '{"value":"fake-small"}'
# FROM_FILE: nothing in Vault; its NAME_FILE fallback is read under the
# entry's fallback lock.
cat >"$VE_TMP/app.map" <<'MAP'
SMALL     = secret/app/small#value eager
BIG       = secret/app/big#value
FROM_FILE = secret/app/none#value
MAP
export VAULTENV_MAP="$VE_TMP/app.map"
printf 'fake-from-file\n' >"$VE_TMP/forkhold-value"
export FROM_FILE_FILE="$VE_TMP/forkhold-value"

# fork_in WHAT FUNC N NAME ACTION [FIRST]: forkprog reads FIRST (default
# SMALL), then forks once N calls of FUNC (held) were entered by a thread
# doing ACTION.
fork_in() {
        local what=$1 out="$VE_TMP/out.$2.$3.$4"
        timeout 120 env LD_PRELOAD="$VE_PRELOAD:$VE_FORKHOLD" "$VE_FORKPROG" "$out" "$2" "$3" "${6:-SMALL}" "$4" "$5" \
                2>"$VE_TMP/stderr" || true
        check "$what: the fork happened inside" grep -qx entered "$out"
        check "$what: the child did not hang" grep -qx "child exited 0" "$out"
        check "$what: the child's getenv($4) has a value" grep -qx "getenv set" "$out"
        check "$what: the child's popen() works" grep -qx "popen ok" "$out"
        check "$what: the child's system() works" grep -qx "system ok" "$out"
}

# popen() holds its lock while the shell starts (posix_spawn())
fork_in "popen" posix_spawn 1 SMALL popen
# In an ASan build only that case runs: ASan's allocator is not fork-safe
# (a child forked while another thread is inside malloc() waits for ever on
# the sanitizer's lock), and in the other cases the thread goes on
# allocating once the section it was held in ends. Its runtime also takes
# mlock() before libforkhold.
if [ -n "$VE_ASAN_RUNTIME" ]; then
        echo "# ASan build: the popen case only; the plain build forks inside every section"
        ve_done
        exit
fi
# the arena grows for the value the core read (held in mlock())
fork_in "arena (value read)" mlock 1 BIG getenv
# ... then for the resolver's copy, under the path's lock and the arena's
fork_in "path and arena (value stored)" mlock 2 BIG getenv
# system() holds its lock while it sets SIGINT and SIGQUIT aside
fork_in "system" sigaction 1 SMALL system
# the fallback lock, held while FROM_FILE_FILE is read
fork_in "fallback file" open64 1 FROM_FILE getenv
# the auth layer's lock, held while the token file is read: at the first
# request (a mapping without eager names; nothing read before but an
# unmapped name)
printf '%s\n' "$VAULT_TOKEN" >"$VE_TMP/forkhold-token"
chmod 600 "$VE_TMP/forkhold-token"
printf 'BIG = secret/app/big#value\n' >"$VE_TMP/lazy.map"
VAULTENV_MAP="$VE_TMP/lazy.map" VAULT_TOKEN= VAULT_TOKEN_FILE="$VE_TMP/forkhold-token" \
        fork_in "auth (token file)" open64 1 BIG getenv HOME
ve_done
