#!/bin/bash
# vaultenv policy against vault-dev's ACL engine: a token holding only the
# generated policy (plus Vault's default policy, which real Vault attaches)
# resolves every mapped name through `check` and the shim, is refused a
# sibling path and a write of what it reads; --json loads as well; --learned
# narrows it to the names learn saw; --detect narrows undecided mounts to
# one form; a bad mapping exits 78 with FILE:LINE:COL. No value or token is
# ever printed.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
VALUES=$VE_TMP/values
: >"$VALUES"
ve_needle "$VALUES" PW fake-pol-pw
ve_needle "$VALUES" USR fake-pol-user
ve_needle "$VALUES" OLD fake-pol-old
ve_needle "$VALUES" API fake-pol-api
ve_needle "$VALUES" LEG fake-pol-legacy
ve_needle "$VALUES" SIB fake-pol-sibling
LOGS=$VE_TMP/logs
mkdir -p "$LOGS"
run() {
        local name=$1
        shift
        "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" && rc=0 || rc=$?
}

ve_api POST sys/mounts/kv1 '{"type":"kv","options":{"version":"1"}}'
ve_api POST sys/mounts/database '{"type":"database"}'
ve_api POST database/roles/ro '{"db_name":"pg","default_ttl":"60s","max_ttl":"120s"}'
ve_kv2_put secret/app/db "{\"password\":\"$OLD\",\"user\":\"$USR\"}"
ve_kv2_put secret/app/db "{\"password\":\"$PW\",\"user\":\"$USR\"}"
ve_kv2_put secret/app/api "{\"key\":\"$API\"}"
ve_kv2_put secret/app/other "{\"password\":\"$SIB\"}"
ve_api POST kv1/legacy "{\"token\":\"$LEG\"}"

cat >"$VE_TMP/app.map" <<'MAP'
DB_PASSWORD = kv2:secret/app/db#password required
DB_OLD      = secret/app/db#password@1
LEGACY      = kv1:kv1/legacy#token
DSN         = "pg://{{secret/app/db#user}}:{{secret/app/db#password | urlencode}}@db/app"
PGUSER      = database/creds/ro#username
API_*       = secret/app/api#*
MAP

# write_policy NAME FILE: the file's text as policy NAME
write_policy() {
        ve_api PUT "sys/policy/$1" "{\"policy\":$(ve_auth_json_file "$2")}"
}
# token_for POLICY: a token with POLICY and Vault's default policy
token_for() {
        ve_auth_get POST auth/token/create "{\"policies\":[\"$1\"],\"ttl\":\"1h\"}" auth.client_token
}
# as_token TOKEN METHOD PATH [BODY]: the HTTP status of one request
as_token() {
        local args=(-sS -o /dev/null -w '%{http_code}' -X "$2" -H "X-Vault-Token: $1")
        [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data "$4")
        curl "${args[@]}" "$VAULT_ADDR/v1/$3"
}

# ---- HCL, detected mounts
run hcl "$VE_CLI" policy -m "$VE_TMP/app.map" --name app-ro --detect
check "policy --detect: exit 0" test "$rc" = 0
check "header names the policy" grep -qF 'vault policy write app-ro -' "$LOGS/hcl.out"
check "KV v2 path granted" grep -qxF 'path "secret/data/app/db" {' "$LOGS/hcl.out"
check "KV v1 path granted" grep -qxF 'path "kv1/legacy" {' "$LOGS/hcl.out"
check "dynamic path granted as is" grep -qxF 'path "database/creds/ro" {' "$LOGS/hcl.out"
check "bulk path granted exactly" grep -qxF 'path "secret/data/app/api" {' "$LOGS/hcl.out"
check "detected: no KV v1 form of a KV v2 path" bash -c "! grep -qxF 'path \"secret/app/db\" {' '$LOGS/hcl.out'"
check "no glob anywhere" bash -c "! grep -E '^path \".*[*+]' '$LOGS/hcl.out'"
check "no metadata path" bash -c "! grep -qF '/metadata/' '$LOGS/hcl.out'"
check "lease renewal granted for the dynamic path" grep -qxF 'path "sys/leases/renew" {' "$LOGS/hcl.out"
check "no revoke without VAULTENV_REVOKE_ON_EXIT" bash -c "! grep -qF 'path \"sys/leases/revoke\"' '$LOGS/hcl.out'"
check "comment: no glob for a pinned version" grep -qF 'covers every version' "$LOGS/hcl.out"
check "comment: the default policy" grep -qF "Vault's default policy" "$LOGS/hcl.out"
write_policy app-ro "$LOGS/hcl.out"
check "vault-dev accepts the HCL policy" test $? = 0
TOK=$(token_for app-ro)

run check env VAULT_TOKEN="$TOK" "$VE_CLI" check -m "$VE_TMP/app.map"
check "check with only the policy: exit 0" test "$rc" = 0
check "check: no name denied or missing" bash -c "! grep -E ' (denied|not-found|error|unset) ' '$LOGS/check.out'"
check "check: DB_OLD found" grep -qE '^DB_OLD +found' "$LOGS/check.out"
check "check: PGUSER found" grep -qE '^PGUSER +found' "$LOGS/check.out"
check "check: API_KEY found" grep -qE '^API_KEY +found' "$LOGS/check.out"

VAULT_TOKEN=$TOK VAULTENV_MAP="$VE_TMP/app.map" ve_read "$VE_TMP/read" DB_PASSWORD DB_OLD LEGACY DSN API_KEY || true
cp "$VE_TMP/stderr" "$LOGS/shim.err"
check "the shim resolves every name with only the policy" ve_expect "$VE_TMP/read" \
        "DB_PASSWORD=$PW" "DB_OLD=$OLD" "LEGACY=$LEG" "DSN=pg://$USR:$PW@db/app" "API_KEY=$API"
VAULT_TOKEN=$TOK VAULTENV_MAP="$VE_TMP/app.map" ve_read "$VE_TMP/read2" PGUSER || true
check "the shim reads the dynamic secret" grep -q '^PGUSER=v-' "$VE_TMP/read2"

# Without Vault's default policy too: the generated policy alone serves
# every name (the dynamic secret's renewal is its own rule).
TOKN=$(ve_auth_get POST auth/token/create '{"policies":["app-ro"],"no_default_policy":true,"ttl":"1h"}' auth.client_token)
run checkn env VAULT_TOKEN="$TOKN" "$VE_CLI" check -m "$VE_TMP/app.map"
check "no_default_policy: check exit 0, nothing denied" \
        bash -c "[ $rc = 0 ] && ! grep -E ' (denied|not-found|error|unset) ' '$LOGS/checkn.out'"
check "no_default_policy: lease renewal allowed by the policy" \
        test "$(as_token "$TOKN" PUT sys/leases/renew '{"lease_id":"database/creds/ro/fake-pol-lease"}')" != 403
check "lease revocation refused without VAULTENV_REVOKE_ON_EXIT" \
        test "$(as_token "$TOKN" PUT sys/leases/revoke '{"lease_id":"database/creds/ro/fake-pol-lease"}')" = 403

check "a sibling path is refused" test "$(as_token "$TOK" GET secret/data/app/other)" = 403
check "another mount is refused" test "$(as_token "$TOK" GET kv1/other)" = 403
check "a write of a read path is refused (KV v2)" \
        test "$(as_token "$TOK" POST secret/data/app/db '{"data":{"password":"fake-pol-w"}}')" = 403
check "a write of a read path is refused (KV v1)" \
        test "$(as_token "$TOK" POST kv1/legacy '{"token":"fake-pol-w"}')" = 403
check "metadata is refused" test "$(as_token "$TOK" GET secret/metadata/app/db)" = 403
check "listing is refused" test "$(as_token "$TOK" LIST secret/metadata/app)" = 403

# ---- JSON form, loaded into the dev server as well
run json "$VE_CLI" policy -m "$VE_TMP/app.map" --json --detect
check "--json: exit 0" test "$rc" = 0
check "--json: one JSON document with the paths" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = d["path"]
assert p["secret/data/app/db"] == {"capabilities": ["read"]}, p
assert p["sys/leases/renew"] == {"capabilities": ["update"]}, p
assert "kv1/legacy" in p and "database/creds/ro" in p and "secret/data/app/api" in p
' "$LOGS/json.out"
write_policy app-json "$LOGS/json.out"
check "vault-dev accepts the JSON policy" test $? = 0
TOKJ=$(token_for app-json)
run checkj env VAULT_TOKEN="$TOKJ" "$VE_CLI" check -m "$VE_TMP/app.map"
check "check with only the JSON policy: exit 0, nothing denied" \
        bash -c "[ $rc = 0 ] && ! grep -E ' (denied|not-found|error) ' '$LOGS/checkj.out'"
check "JSON policy: a sibling is refused" test "$(as_token "$TOKJ" GET secret/data/app/other)" = 403

# ---- offline: both forms for undecided mounts, with a comment saying so
ve_reset_counts
run off "$VE_CLI" policy -m "$VE_TMP/app.map"
check "offline: exit 0" test "$rc" = 0
check "offline: both forms of an undecided path" \
        bash -c "grep -qxF 'path \"database/creds/ro\" {' '$LOGS/off.out' && grep -qxF 'path \"database/data/creds/ro\" {' '$LOGS/off.out'"
check "offline: the comment says why" grep -qF 'granted in both forms' "$LOGS/off.out"
check "offline: kv1:/kv2: paths in one form" bash -c "! grep -qxF 'path \"kv1/data/legacy\" {' '$LOGS/off.out'"
check "offline: no request to Vault" test "$(ve_count '')" = 0

# ---- --detect that Vault refuses: both forms, one warning per mount
TOKD=$(ve_auth_get POST auth/token/create '{"policies":["default"],"ttl":"1h"}' auth.client_token)
ve_reset_counts
run denied env VAULT_TOKEN="$TOKD" "$VE_CLI" policy -m "$VE_TMP/app.map" --detect
check "--detect denied: exit 0" test "$rc" = 0
check "--detect denied: both forms" \
        bash -c "grep -qxF 'path \"secret/app/db\" {' '$LOGS/denied.out' && grep -qxF 'path \"secret/data/app/db\" {' '$LOGS/denied.out'"
check "--detect denied: one warning for secret/" test "$(grep -c 'under secret/' "$LOGS/denied.err")" = 1
check "--detect denied: one warning for database/" test "$(grep -c 'under database/' "$LOGS/denied.err")" = 1
check "--detect: asks each mount once" test "$(ve_count '')" = 2

# ---- revoke on exit
run rev env VAULTENV_REVOKE_ON_EXIT=1 "$VE_CLI" policy -m "$VE_TMP/app.map" --detect
check "VAULTENV_REVOKE_ON_EXIT: sys/leases/revoke granted" grep -qxF 'path "sys/leases/revoke" {' "$LOGS/rev.out"
write_policy app-rev "$LOGS/rev.out"
TOKR=$(token_for app-rev)
check "VAULTENV_REVOKE_ON_EXIT policy: lease revocation allowed" \
        test "$(as_token "$TOKR" PUT sys/leases/revoke '{"lease_id":"database/creds/ro/fake-pol-lease"}')" != 403
run revexit env VAULT_TOKEN="$TOKR" VAULTENV_REVOKE_ON_EXIT=1 VAULTENV_LOG=warn "$VE_CLI" get -m "$VE_TMP/app.map" PGUSER
check "VAULTENV_REVOKE_ON_EXIT: get revokes its lease without a warning" \
        bash -c "[ $rc = 0 ] && ! grep -q 'revoking a lease' '$LOGS/revexit.err'"
run revexit0 env VAULT_TOKEN="$TOK" VAULTENV_REVOKE_ON_EXIT=1 VAULTENV_LOG=warn "$VE_CLI" get -m "$VE_TMP/app.map" PGUSER
check "(the policy without the revoke rule: get warns)" grep -q 'revoking a lease' "$LOGS/revexit0.err"

# ---- --learned: only the names the program was seen to read
cat >"$VE_TMP/learned.map" <<'MAP'
# vaultenv mapping file drafted by `vaultenv learn`
DB_PASSWORD = TODO#db_password    # read by: app
# API_KEY = TODO#api_key    # read by: app

# Also read, left out: well-known names of the system, the C library,
# TLS/HTTP libraries and Vault/vaultenv themselves (not secrets):
#   HOME PATH
MAP
run learned "$VE_CLI" policy -m "$VE_TMP/app.map" --learned "$VE_TMP/learned.map" --detect
check "--learned: exit 0" test "$rc" = 0
check "--learned: the names read are granted" \
        bash -c "grep -qxF 'path \"secret/data/app/db\" {' '$LOGS/learned.out' && grep -qxF 'path \"secret/data/app/api\" {' '$LOGS/learned.out'"
check "--learned: names not read are left out" \
        bash -c "! grep -qE 'path \"(kv1/legacy|database/creds/ro|sys/leases/renew)\"' '$LOGS/learned.out'"
write_policy app-learned "$LOGS/learned.out"
TOKL=$(token_for app-learned)
check "--learned policy: the legacy path is refused" test "$(as_token "$TOKL" GET kv1/legacy)" = 403
check "--learned policy: DB_PASSWORD's path is allowed" test "$(as_token "$TOKL" GET secret/data/app/db)" = 200

# ---- a namespace is noted
run ns env VAULT_NAMESPACE=team1 "$VE_CLI" policy -m "$VE_TMP/app.map"
check "namespace noted in a comment" grep -qF '# Namespace team1: the paths are relative to it' "$LOGS/ns.out"

# ---- bad input
printf 'A = secret/app/db#x\nB = secret\n' >"$VE_TMP/bad.map"
run bad "$VE_CLI" policy -m "$VE_TMP/bad.map"
check "bad mapping: exit 78" test "$rc" = 78
check "bad mapping: FILE:LINE:COL" grep -qF "$VE_TMP/bad.map:2:5:" "$LOGS/bad.err"
check "bad mapping: nothing on stdout" test ! -s "$LOGS/bad.out"
run nolearn "$VE_CLI" policy -m "$VE_TMP/app.map" --learned "$VE_TMP/none"
check "missing --learned file: exit 78" test "$rc" = 78
run usage "$VE_CLI" policy -m "$VE_TMP/app.map" extra
check "an operand: usage error" test "$rc" = 2

# ---- never a value or a token on any output
cat "$LOGS"/*.out "$LOGS"/*.err >"$VE_TMP/all"
check "no value on any output" bash -c "! grep -qFf '$VALUES' '$VE_TMP/all'"
printf '%s\n' "$TOK" "$TOKJ" "$TOKL" "$TOKN" "$TOKR" "$TOKD" "$VE_ROOT_TOKEN" >"$VE_TMP/tokens"
check "no token on any output" bash -c "! grep -qFf '$VE_TMP/tokens' '$VE_TMP/all'"
ve_done
