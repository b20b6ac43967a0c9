#!/bin/bash
# A required eager name that nothing resolves stops the process before
# main, with the foundation's message and exit status 78; the program's own
# code never runs.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-req-pw"}'
printf '%s\n' 'PGPASSWORD = secret/app/db#password required' 'MISSING = secret/app/db#nokey required' \
        >"$VE_TMP/app.map"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' 'MISSING = secret/app/db#nokey required eager' \
        >"$VE_TMP/opt.map"
export VAULTENV_MAP="$VE_TMP/app.map"
marker=$VE_TMP/main-ran
prog=(/usr/bin/python3 -c 'import sys; open(sys.argv[1], "w").close()' "$marker")

# 1. VAULTENV_EAGER=1: stopped before main
rm -f "$marker"
set +e
VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" "${prog[@]}" 2>"$VE_TMP/stderr"
status=$?
set -e
check "eager, required missing: exit 78" test "$status" = 78
check "eager, required missing: main never ran" test ! -e "$marker"
check "eager, required missing: the foundation's message" \
        stderr_has 'vaultenv: MISSING: required variable is missing: not found in Vault (no key "nokey" in secret/app/db)'
check "eager, required missing: one line" test "$(wc -l <"$VE_TMP/stderr")" = 1

# 2. the same mapping, lazily: the program runs (it never reads MISSING)
rm -f "$marker"
LD_PRELOAD="$VE_PRELOAD" "${prog[@]}" 2>"$VE_TMP/stderr"
check "lazy: the program runs" test -e "$marker"

# 3. the per-name option, in a shell
rm -f "$marker"
set +e
VAULTENV_MAP="$VE_TMP/opt.map" LD_PRELOAD="$VE_PRELOAD" /bin/sh -c ': >"$1"' sh "$marker" 2>"$VE_TMP/stderr"
status=$?
set -e
check "option eager, required missing: sh stops with 78 before running" \
        bash -c "[ $status = 78 ] && [ ! -e '$marker' ]"
check "option eager: names the variable" stderr_has "MISSING: required variable is missing"

# 4. VAULTENV_ON_MISSING=null: the program runs without the name
rm -f "$marker"
VAULTENV_ON_MISSING=null VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" "${prog[@]}" 2>"$VE_TMP/stderr"
check "VAULTENV_ON_MISSING=null: the program runs" test -e "$marker"

# 5. Vault down: a required eager name stops the program, naming the reason
ve_vault_stop
rm -f "$marker"
set +e
VAULT_MAX_RETRIES=0 VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" "${prog[@]}" 2>"$VE_TMP/stderr"
status=$?
set -e
check "Vault down, eager required: exit 78, main never ran" bash -c "[ $status = 78 ] && [ ! -e '$marker' ]"
check "Vault down: the message says Vault cannot be reached" stderr_has "PGPASSWORD: required variable is missing: not found in Vault (cannot reach Vault at $VAULT_ADDR"
# ... and a value the environment has is enough
printf '%s\n' 'PGPASSWORD = secret/app/db#password required eager' >"$VE_TMP/env.map"
rm -f "$marker"
PGPASSWORD=fake-env-pw VAULTENV_MAP="$VE_TMP/env.map" VAULT_MAX_RETRIES=0 LD_PRELOAD="$VE_PRELOAD" \
        "${prog[@]}" 2>"$VE_TMP/stderr" || true
check "Vault down, the environment has the required name: the program runs" test -e "$marker"
ve_done
