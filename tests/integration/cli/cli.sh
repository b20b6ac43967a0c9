#!/bin/bash
# The vaultenv launcher: exec (keeps an existing LD_PRELOAD, refuses a bad
# mapping before the program starts), get, check (never shows a value).
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-cli-pw","user":"fake-user"}'
cat >"$VE_TMP/app.map" <<'MAP'
PGPASSWORD = secret/app/db#password required
DB_USER    = secret/app/db#user
OPTIONAL   = secret/app/none        default=fallback-default
MAP
out=$VE_TMP/out

check "exec -m MAPFILE runs the program with the shim" \
        "$VE_CLI" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" PGPASSWORD DB_USER
check "exec: values from Vault" ve_expect "$out" "PGPASSWORD=fake-cli-pw" "DB_USER=fake-user"

# an existing preload list is kept, the shim first
LD_PRELOAD=libm.so.6 "$VE_CLI" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" LD_PRELOAD PGPASSWORD
check "exec keeps an existing LD_PRELOAD" ve_expect "$out" "LD_PRELOAD=$VE_PRELOAD:libm.so.6" "PGPASSWORD=fake-cli-pw"

# a relative -m survives the program's chdir
(cd "$VE_TMP" && "$VE_CLI" exec -m app.map -- sh -c 'cd / && exec "$0" "$1" PGPASSWORD' "$VE_READENV" "$out")
check "exec makes a relative mapping path absolute" ve_expect "$out" "PGPASSWORD=fake-cli-pw"

printf 'X = nomount\n' >"$VE_TMP/bad.map"
"$VE_CLI" exec -m "$VE_TMP/bad.map" -- true 2>"$VE_TMP/err" && r=0 || r=$?
check "exec refuses a bad mapping with 78" test "$r" = 78
check "exec names FILE:LINE:COL" grep -qF "$VE_TMP/bad.map:1:5: " "$VE_TMP/err"

"$VE_CLI" exec -m "$VE_TMP/app.map" -- /nonexistent/prog 2>"$VE_TMP/err" && r=0 || r=$?
check "exec of a missing program: 127 and a message" bash -c "[ $r = 127 ] && grep -q '/nonexistent/prog' '$VE_TMP/err'"

"$VE_CLI" get -m "$VE_TMP/app.map" PGPASSWORD >"$out" 2>"$VE_TMP/err"
check "get prints the value" ve_expect "$out" "fake-cli-pw"
"$VE_CLI" get -m "$VE_TMP/app.map" OPTIONAL >"$out"
check "get follows the fallback chain" ve_expect "$out" "fallback-default"
"$VE_CLI" get -m "$VE_TMP/app.map" NOT_MAPPED >"$out" 2>"$VE_TMP/err" && r=0 || r=$?
check "get of an unmapped name fails and says so" bash -c "[ $r = 1 ] && grep -q 'NOT_MAPPED is not mapped' '$VE_TMP/err'"

"$VE_CLI" check -m "$VE_TMP/app.map" >"$out" 2>"$VE_TMP/err" && r=0 || r=$?
check "check passes" test "$r" = 0
check "check lists every name" test "$(grep -cE '^(PGPASSWORD|DB_USER|OPTIONAL) ' "$out")" = 3
check "check shows the fallback" grep -qE '^OPTIONAL +default ' "$out"
check "check never shows a value" bash -c "! grep -qE 'fake-cli-pw|fake-user|fallback-default' '$out' '$VE_TMP/err'"
VAULT_TOKEN=fake-bad-token "$VE_CLI" check -m "$VE_TMP/app.map" >"$out" 2>"$VE_TMP/err" && r=0 || r=$?
check "check fails when a required name fails" bash -c "[ $r != 0 ] && grep -qE '^PGPASSWORD +denied +permission denied' '$out'"

check "the shipped example mapping is valid" "$VE_CLI" exec -m "$VE_SOURCE_ROOT/doc/examples/app.map" -- true
check "version" bash -c "'$VE_CLI' version | grep -q '^vaultenv '"
check "help lists the commands" bash -c "'$VE_CLI' --help | grep -q '^  exec ' && '$VE_CLI' exec --help | grep -q 'Usage: vaultenv exec'"
"$VE_CLI" frobnicate 2>/dev/null && r=0 || r=$?
check "unknown command: exit 2" test "$r" = 2
# colour: only on a terminal (script(1) gives one), never with NO_COLOR or
# TERM=dumb, never in a pipe
esc=$(printf '\033[')
TERM=xterm script -qec "'$VE_CLI' get -m '$VE_TMP/app.map' NOT_MAPPED" /dev/null >"$VE_TMP/tty" 2>&1 || true
check "a terminal: the error label is coloured" grep -qF "${esc}1;31merror: " "$VE_TMP/tty"
NO_COLOR=1 TERM=xterm script -qec "'$VE_CLI' get -m '$VE_TMP/app.map' NOT_MAPPED" /dev/null >"$VE_TMP/tty" 2>&1 || true
check "a terminal with NO_COLOR: no colour" eval 'grep -qF "error: NOT_MAPPED" "$VE_TMP/tty" && ! grep -qF "$esc" "$VE_TMP/tty"'
TERM=dumb script -qec "'$VE_CLI' get -m '$VE_TMP/app.map' NOT_MAPPED" /dev/null >"$VE_TMP/tty" 2>&1 || true
check "TERM=dumb: no colour" eval 'grep -qF "error: NOT_MAPPED" "$VE_TMP/tty" && ! grep -qF "$esc" "$VE_TMP/tty"'
TERM=xterm "$VE_CLI" get -m "$VE_TMP/app.map" NOT_MAPPED 2>"$VE_TMP/err" >/dev/null || true
check "not a terminal: no colour" eval 'grep -qF "error: NOT_MAPPED" "$VE_TMP/err" && ! grep -qF "$esc" "$VE_TMP/err"'
ve_done
