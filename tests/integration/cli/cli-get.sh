#!/bin/bash
# vaultenv get NAME...: a mapped name, a bulk name, a fallback, a vault:
# reference in the environment (not mapped), several names; exit statuses;
# the value on stdout only, never on stderr.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-get-pw","user":"fake-get-user"}'
ve_kv2_put secret/app/bulk '{"api-key":"fake-get-bulk"}'
cat >"$VE_TMP/app.map" <<'MAP'
PGPASSWORD = secret/app/db#password required
OPTIONAL   = secret/app/none   default=fake-get-default
ABSENT     = secret/app/none
MUST       = secret/app/none   required
BULK_*     = secret/app/bulk#*
MAP
out=$VE_TMP/out
err=$VE_TMP/err
: >"$VE_TMP/all-err"
get() { "$VE_CLI" get -m "$VE_TMP/app.map" "$@" >"$out" 2>"$err"; local r=$?; cat "$err" >>"$VE_TMP/all-err"; return $r; }

get PGPASSWORD && r=0 || r=$?
check "get: the value from Vault, exit 0" bash -c "[ $r = 0 ] && [ ! -s '$err' ]"
check "get: the value, one line" ve_expect "$out" "fake-get-pw"
get OPTIONAL
check "get follows the fallback chain" ve_expect "$out" "fake-get-default"
get BULK_API_KEY
check "get of a bulk name" ve_expect "$out" "fake-get-bulk"

DB_USER=vault:secret/app/db#user get DB_USER && r=0 || r=$?
check "get of a vault: reference in the environment (not mapped): exit 0" test "$r" = 0
check "... prints the secret" ve_expect "$out" "fake-get-user"
X=vault::literal get X
check "get of an escaped reference: the literal" ve_expect "$out" "vault:literal"
BAD=vault:secret/app/none#x get BAD && r=0 || r=$?
check "a reference without a value: exit 1, named" bash -c "[ $r = 1 ] && [ ! -s '$out' ] && grep -q 'BAD: the vault: reference in the environment gives no value' '$err'"
PLAIN=fake-get-plain get PLAIN && r=0 || r=$?
check "an unmapped plain variable is not a mapped name: exit 1" bash -c "[ $r = 1 ] && grep -q 'PLAIN is not mapped' '$err'"

VAULTENV_LOG=debug get PGPASSWORD
check "VAULTENV_LOG=debug: the value on stdout only" bash -c "[ -s '$err' ] && ! grep -q 'fake-get-' '$err'"
get ABSENT && r=0 || r=$?
check "a name without a value: exit 1" bash -c "[ $r = 1 ] && [ ! -s '$out' ] && grep -q 'ABSENT: no value' '$err'"
get MUST && r=0 || r=$?
check "a required name without a value: exit 78, with the reason" \
        bash -c "[ $r = 78 ] && grep -q 'MUST: required variable is missing: not found in Vault (no secret at secret/app/none)' '$err'"
get && r=0 || r=$?
check "no NAME: usage error" test "$r" = 2
get PGPASSWORD BULK_API_KEY OPTIONAL && r=0 || r=$?
check "several NAMEs: exit 0, the values one a line in the order given" \
        bash -c "[ $r = 0 ] && [ \"\$(cat '$out')\" = \"\$(printf 'fake-get-pw\nfake-get-bulk\nfake-get-default')\" ]"
get PGPASSWORD ABSENT && r=0 || r=$?
check "several NAMEs, one without a value: exit 1, nothing printed" \
        bash -c "[ $r = 1 ] && [ ! -s '$out' ] && grep -q 'ABSENT: no value' '$err'"
get ABSENT MUST PGPASSWORD && r=0 || r=$?
check "several NAMEs, a required one without a value: exit 78" test "$r" = 78
printf '1BAD = x/y\n' >"$VE_TMP/bad.map"
"$VE_CLI" get -m "$VE_TMP/bad.map" X >"$out" 2>"$err" && r=0 || r=$?
check "bad mapping: 78" test "$r" = 78
check "--help" bash -c "'$VE_CLI' get --help | grep -q 'vault: reference'"
check "no value on stderr of any get" bash -c "! grep -q 'fake-get-' '$VE_TMP/all-err'"
ve_done
