#!/bin/bash
# vaultenv exec: the shim preloaded (values NOT in /proc/PID/environ), an
# existing LD_PRELOAD kept (a tiny object built here, which must still load),
# --eager, and --env (values resolved up front and passed in the
# environment, without the shim: then they ARE in /proc/PID/environ, the
# documented trade-off); a required name failing stops --env before exec.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"
# meson sets these empty; here they must be absent
unset LD_PRELOAD VAULTENV_EAGER

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-exec-pw","user":"fake-exec-user"}'
ve_kv2_put secret/app/bulk '{"api-key":"fake-exec-bulk"}'
cat >"$VE_TMP/app.map" <<'MAP'
PGPASSWORD = secret/app/db#password required
DB_USER    = secret/app/db#user
OPTIONAL   = secret/app/none   default=fake-exec-default
ABSENT     = secret/app/none
BULK_*     = secret/app/bulk#*
MAP
out=$VE_TMP/out
err=$VE_TMP/err
no_values() { ! grep -qE 'fake-exec-' "$@"; }

# environ_of FILE -- COMMAND...: runs COMMAND, which saves the environment
# its process was started with (/proc/PID/environ) into FILE.
save_environ='tr "\0" "\n" <"/proc/$$/environ" >"$0"'

# ---- the shim ----
"$VE_CLI" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" PGPASSWORD DB_USER OPTIONAL BULK_API_KEY 2>"$err"
check "exec: the shim serves the values" ve_expect "$out" "PGPASSWORD=fake-exec-pw" "DB_USER=fake-exec-user" \
        "OPTIONAL=fake-exec-default" "BULK_API_KEY=fake-exec-bulk"
"$VE_CLI" exec -m "$VE_TMP/app.map" -- sh -c "$save_environ" "$VE_TMP/environ" 2>>"$err"
check "exec: the values are not in /proc/PID/environ" bash -c "! grep -q 'fake-exec-' '$VE_TMP/environ' && ! grep -q '^PGPASSWORD=' '$VE_TMP/environ'"
check "exec: the shim is preloaded" grep -q "^LD_PRELOAD=$VE_PRELOAD\$" "$VE_TMP/environ"

# An existing LD_PRELOAD: a tiny object that records which programs load it.
cat >"$VE_TMP/mark.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void mark(void) {
        const char *p = getenv("VE_TEST_MARKER");
        FILE *f;
        if (p && (f = fopen(p, "a"))) {
                fprintf(f, "%s\n", program_invocation_short_name);
                fclose(f);
        }
}
C
cc -shared -fPIC -o "$VE_TMP/libmark.so" "$VE_TMP/mark.c"
LD_PRELOAD=$VE_TMP/libmark.so VE_TEST_MARKER=$VE_TMP/marker \
        "$VE_CLI" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" LD_PRELOAD PGPASSWORD 2>>"$err"
check "exec keeps an existing LD_PRELOAD, the shim first" \
        ve_expect "$out" "LD_PRELOAD=$VE_PRELOAD:$VE_TMP/libmark.so" "PGPASSWORD=fake-exec-pw"
check "the other preloaded object is loaded in the program" grep -qx readenv "$VE_TMP/marker"
LD_PRELOAD="$VE_PRELOAD $VE_TMP/libmark.so" "$VE_CLI" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" LD_PRELOAD 2>>"$err"
check "exec does not add the shim twice" ve_expect "$out" "LD_PRELOAD=$VE_PRELOAD $VE_TMP/libmark.so"

# ---- --eager ----
"$VE_CLI" exec --eager -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" VAULTENV_EAGER PGPASSWORD 2>>"$err"
check "--eager: the program gets VAULTENV_EAGER=1" ve_expect "$out" "VAULTENV_EAGER=1" "PGPASSWORD=fake-exec-pw"
"$VE_CLI" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" VAULTENV_EAGER 2>>"$err"
check "without --eager: not set" ve_expect "$out" "VAULTENV_EAGER unset"

# ---- --env ----
"$VE_CLI" exec --env -m "$VE_TMP/app.map" -- sh -c "$save_environ" "$VE_TMP/environ" 2>"$VE_TMP/env-err"
check "--env: the values are in the child's environment (/proc/PID/environ)" bash -c "
        grep -qx 'PGPASSWORD=fake-exec-pw' '$VE_TMP/environ' && grep -qx 'DB_USER=fake-exec-user' '$VE_TMP/environ' &&
        grep -qx 'OPTIONAL=fake-exec-default' '$VE_TMP/environ' && grep -qx 'BULK_API_KEY=fake-exec-bulk' '$VE_TMP/environ'"
check "--env: a name without a value is not set" bash -c "! grep -q '^ABSENT=' '$VE_TMP/environ'"
check "--env: no shim preloaded" bash -c "! grep -q '^LD_PRELOAD=' '$VE_TMP/environ'"
check "--env: one status line saying how many and where they are visible" bash -c "
        [ \$(grep -c -- '--env' '$VE_TMP/env-err') = 1 ] &&
        grep -q '^vaultenv: --env: 4 names are passed in the environment of sh, without the shim: visible in its /proc/PID/environ' '$VE_TMP/env-err'"
cat "$VE_TMP/env-err" >>"$err"
VAULTENV_LOG=debug "$VE_CLI" exec --env -m "$VE_TMP/app.map" -- true 2>"$VE_TMP/env-err"
check "--env with VAULTENV_LOG=debug: no value on stderr" bash -c "[ -s '$VE_TMP/env-err' ] && ! grep -q 'fake-exec-' '$VE_TMP/env-err'"
"$VE_CLI" exec --env -q -m "$VE_TMP/app.map" -- true 2>"$VE_TMP/env-err"
check "--env --quiet: no status line" test ! -s "$VE_TMP/env-err"

LD_PRELOAD="$VE_PRELOAD:$VE_TMP/libmark.so" VE_TEST_MARKER=$VE_TMP/marker2 \
        "$VE_CLI" exec --env -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" LD_PRELOAD PGPASSWORD 2>>"$err"
check "--env: the shim taken out of LD_PRELOAD, the rest kept" \
        ve_expect "$out" "LD_PRELOAD=$VE_PRELOAD_PREFIX$VE_TMP/libmark.so" "PGPASSWORD=fake-exec-pw"
check "--env: the other object still loads" grep -qx readenv "$VE_TMP/marker2"

# vault: references already in the environment
REF_USER=vault:secret/app/db#user REF_BAD=vault:secret/app/none#x REF_LIT=vault::literal \
        "$VE_CLI" exec --env -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" REF_USER REF_BAD REF_LIT 2>>"$VE_TMP/ref-err"
check "--env: vault: references resolved; an unresolved one unset; an escape unescaped" \
        ve_expect "$out" "REF_USER=fake-exec-user" "REF_BAD unset" "REF_LIT=vault:literal"
cat "$VE_TMP/ref-err" >>"$err"

# a required name without a value: 78 before the program starts
printf 'MUST = secret/app/none required\nPGPASSWORD = secret/app/db#password\n' >"$VE_TMP/req.map"
rm -f "$VE_TMP/ran"
"$VE_CLI" exec --env -m "$VE_TMP/req.map" -- touch "$VE_TMP/ran" 2>"$VE_TMP/req-err" && r=0 || r=$?
check "--env: a required name failing exits 78" test "$r" = 78
check "--env: ... before exec" test ! -e "$VE_TMP/ran"
check "--env: ... with the message of the shim" grep -q 'MUST: required variable is missing: not found in Vault (no secret at secret/app/none)' "$VE_TMP/req-err"
cat "$VE_TMP/req-err" >>"$err"

"$VE_CLI" exec --env --eager -m "$VE_TMP/app.map" -- true 2>>"$err" && r=0 || r=$?
check "--env with --eager: usage error" test "$r" = 2
"$VE_CLI" exec --env -m "$VE_TMP/app.map" 2>>"$err" && r=0 || r=$?
check "--env without COMMAND: usage error" test "$r" = 2
"$VE_CLI" exec --env -m "$VE_TMP/app.map" -- /nonexistent/prog 2>>"$err" && r=0 || r=$?
check "--env: a missing program: 127" test "$r" = 127
printf '1BAD = x/y\n' >"$VE_TMP/bad.map"
"$VE_CLI" exec --env -m "$VE_TMP/bad.map" -- true 2>>"$err" && r=0 || r=$?
check "--env: bad mapping: 78" test "$r" = 78
check "--help describes --env and --eager" bash -c "'$VE_CLI' exec --help | grep -q -- '--env' && '$VE_CLI' exec --help | grep -q -- '--eager'"
check "no value on stderr of any exec" no_values "$err"
ve_done
