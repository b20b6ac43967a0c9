#!/bin/bash
# vaultenv rotate against vault-dev: prints only the new version, the value
# changes, other keys (and their JSON types) are kept, check-and-set
# conflicts are caught (vault-dev's "bump" fault writes a version between
# rotate's read and its write), KV v1 is refused, a denied token is named.
# Every output is grepped for the values at the end.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
R=$(ve_random)
OLD="fake-rot-old-$R"
USER_V="fake-rot-user-$R"
NEWV="fake-rot-new-$R"
LOGS=$VE_TMP/logs
mkdir -p "$LOGS"
run() {
        local name=$1
        shift
        "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" && rc=0 || rc=$?
}
# kv_field API KEY: the KEY of data.data into a file (never shown)
kv_field() {
        curl -sS -H "X-Vault-Token: $VE_ROOT_TOKEN" "$VAULT_ADDR/v1/$1" |
                python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(json.dumps(d["data"].get(sys.argv[1])))' "$2"
}
kv_version() {
        curl -sS -H "X-Vault-Token: $VE_ROOT_TOKEN" "$VAULT_ADDR/v1/$1" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["metadata"]["version"])'
}

ve_kv2_put secret/app/db "{\"password\":\"$OLD\",\"user\":\"$USER_V\",\"port\":5432}"

# ---- a random value
kv_field secret/data/app/db password >"$VE_TMP/before"
run r1 "$VE_CLI" rotate secret/app/db password
check "rotate: exit 0" test "$rc" = 0
check "rotate: prints only the new version number" ve_expect "$LOGS/r1.out" 2
check "rotate: Vault's current version is 2" test "$(kv_version secret/data/app/db)" = 2
kv_field secret/data/app/db password >"$VE_TMP/after"
check "rotate: the value changed" bash -c "! cmp -s '$VE_TMP/before' '$VE_TMP/after'"
check "rotate: 32 characters of A-Za-z0-9 by default" grep -qxE '"[A-Za-z0-9]{32}"' "$VE_TMP/after"
kv_field secret/data/app/db user >"$VE_TMP/user"
check "rotate: other keys kept" ve_expect "$VE_TMP/user" "\"$USER_V\""
kv_field secret/data/app/db port >"$VE_TMP/port"
check "rotate: a number stays a number" ve_expect "$VE_TMP/port" 5432
tr -d '"' <"$VE_TMP/after" >"$VE_TMP/after.raw"
check "rotate: the value is on no output (raw)" bash -c "! grep -qFf '$VE_TMP/after.raw' '$LOGS/r1.out' '$LOGS/r1.err'"
cp "$VE_TMP/after.raw" "$VE_TMP/rand1"

# the shim serves the new value
printf 'DB_PASSWORD = secret/app/db#password\n' >"$VE_TMP/app.map"
VAULTENV_MAP="$VE_TMP/app.map" ve_read "$VE_TMP/read" DB_PASSWORD || true
check "the shim reads the rotated value" ve_expect "$VE_TMP/read" "DB_PASSWORD=$(cat "$VE_TMP/after.raw")"
cp "$VE_TMP/stderr" "$LOGS/shim.err"

run r2 "$VE_CLI" rotate --length 64 secret/app/db password
kv_field secret/data/app/db password >"$VE_TMP/after"
check "--length 64" bash -c "[ $rc = 0 ] && grep -qxE '\"[A-Za-z0-9]{64}\"' '$VE_TMP/after'"
check "--length 64: prints 3" ve_expect "$LOGS/r2.out" 3
tr -d '"' <"$VE_TMP/after" >"$VE_TMP/rand2"

# ---- --value-file, and - for stdin
printf '%s\n' "$NEWV" >"$VE_TMP/newvalue"
run r3 "$VE_CLI" rotate --value-file "$VE_TMP/newvalue" secret/app/db password
kv_field secret/data/app/db password >"$VE_TMP/after"
check "--value-file: the file's value, trailing newline removed" \
        bash -c "[ $rc = 0 ] && [ \"\$(cat '$VE_TMP/after')\" = '\"$NEWV\"' ]"
check "--value-file: prints 4" ve_expect "$LOGS/r3.out" 4
printf '%s-stdin' "$NEWV" | run r4 "$VE_CLI" rotate --value-file - secret/app/db password
kv_field secret/data/app/db password >"$VE_TMP/after"
check "--value-file -: standard input" bash -c "[ $rc = 0 ] && [ \"\$(cat '$VE_TMP/after')\" = '\"$NEWV-stdin\"' ]"

# ---- check-and-set conflict: another writer between rotate's read and write
v_before=$(kv_version secret/data/app/db)
ve_transport_fault '{"mode":"bump","method":"POST","prefix":"/v1/secret/data/app/db","count":1}'
kv_field secret/data/app/db password >"$VE_TMP/before"
run cas "$VE_CLI" rotate secret/app/db password
check "CAS conflict: exit 1" test "$rc" = 1
check "CAS conflict: says so, nothing written" \
        grep -qF 'secret/app/db changed after it was read (check-and-set against version '"$v_before"' failed); nothing was written' "$LOGS/cas.err"
check "CAS conflict: nothing on stdout" test ! -s "$LOGS/cas.out"
check "CAS conflict: only the other writer's version was added" test "$(kv_version secret/data/app/db)" = $((v_before + 1))
kv_field secret/data/app/db password >"$VE_TMP/after"
check "CAS conflict: the value is the other writer's" cmp -s "$VE_TMP/before" "$VE_TMP/after"
run cas2 "$VE_CLI" rotate secret/app/db password
check "after the conflict, running again works" bash -c "[ $rc = 0 ] && [ \"\$(cat '$LOGS/cas2.out')\" = $((v_before + 2)) ]"

# ---- refusals
ve_reset_counts
run nokey "$VE_CLI" rotate secret/app/db passwrod
check "unknown KEY: exit 1, named, nothing written" bash -c "[ $rc = 1 ] &&
        grep -qF 'secret/app/db has no key passwrod' '$LOGS/nokey.err'"
check "unknown KEY: no write request" test "$(ve_count 'POST /v1/secret/data/app/db')" = 0
run nopath "$VE_CLI" rotate secret/app/none password
check "missing PATH: exit 1" bash -c "[ $rc = 1 ] && grep -qF 'no secret at secret/app/none' '$LOGS/nopath.err'"

ve_api POST sys/mounts/kv1 '{"type":"kv","options":{"version":"1"}}'
ve_api POST kv1/app '{"password":"fake-v1"}'
ve_reset_counts
run v1 "$VE_CLI" rotate kv1/app password
check "KV v1: refused with exit 1" bash -c "[ $rc = 1 ] && grep -qF 'mount kv1/ is KV v1' '$LOGS/v1.err'"
check "KV v1: no write request" test "$(ve_count 'POST /v1/kv1/app')" = 0

ve_auth_policy rot-read 'secret/data/app/*'
RO="fake-ro-$(ve_random)"
ve_api POST auth/token/create "{\"id\":\"$RO\",\"policies\":[\"rot-read\"]}"
VAULT_TOKEN=$RO run denied "$VE_CLI" rotate secret/app/db password
check "denied token: exit 1, permission denied on the path" \
        bash -c "[ $rc = 1 ] && grep -qF 'permission denied on secret/app/db' '$LOGS/denied.err'"
VAULT_TOKEN="fake-bad-$(ve_random)" run badtok "$VE_CLI" rotate secret/app/db password
check "invalid token: exit 1" test "$rc" = 1

run both "$VE_CLI" rotate --length 40 --value-file "$VE_TMP/newvalue" secret/app/db password
check "--length with --value-file: usage error 2" test "$rc" = 2
run short "$VE_CLI" rotate --length 4 secret/app/db password
check "--length below 8: usage error 2" bash -c "[ $rc = 2 ] && grep -qF 'expected a number from 8 to 4096' '$LOGS/short.err'"
run args "$VE_CLI" rotate secret/app/db
check "missing KEY: usage error 2" test "$rc" = 2
run ver "$VE_CLI" rotate secret/app/db@2 password
check "PATH with @VERSION: usage error 2" test "$rc" = 2
: >"$VE_TMP/empty"
run empty "$VE_CLI" rotate --value-file "$VE_TMP/empty" secret/app/db password
check "empty --value-file: exit 1" bash -c "[ $rc = 1 ] && grep -qF 'the value is empty' '$LOGS/empty.err'"
run help "$VE_CLI" rotate --help
check "--help: exit 0" bash -c "[ $rc = 0 ] && grep -q '^Usage: vaultenv rotate' '$LOGS/help.out'"
run quiet "$VE_CLI" rotate -q secret/app/db password
check "--quiet: the version only, no status line" bash -c "[ $rc = 0 ] && [ ! -s '$LOGS/quiet.err' ] && grep -qxE '[0-9]+' '$LOGS/quiet.out'"

# ---- masking
cp "$VE_TMP/vault-dev.log" "$LOGS/vault-dev.log"
hits=$(grep -rlF -e "$OLD" -e "$USER_V" -e "$NEWV" -e "fake-v1" -f "$VE_TMP/rand1" -f "$VE_TMP/rand2" "$LOGS" || true)
check "no value in any output or log" test -z "$hits"
[ -z "$hits" ] || echo "# values leaked in: $(basename -a $hits | tr '\n' ' ')"
ve_done
