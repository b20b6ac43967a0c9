#!/bin/bash
# vaultenv check: every status produced for real against vault-dev (found,
# missing-key, denied, not-found, sealed, unreachable, fallback-env,
# fallback-file, fallback-secrets-dir, default), bulk rules and templates,
# the exit status a readiness probe relies on, --json, and never a value.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-chk-pw","user":"fake-chk-user"}'
ve_kv2_put secret/app/db '{"password":"fake-chk-pw2","user":"fake-chk-user"}'
ve_kv2_put secret/other/x '{"value":"fake-chk-other"}'
ve_kv2_put secret/app/bulk '{"api-key":"fake-chk-bulk1","token":"fake-chk-bulk2"}'
out=$VE_TMP/out
err=$VE_TMP/err
values='fake-chk-pw|fake-chk-user|fake-chk-other|fake-chk-bulk|fake-chk-file|fake-chk-dir|fake-chk-default|fake-chk-env'
# no_values FILE...: none of the known values appears
no_values() { ! grep -qE "$values" "$@"; }

mkdir -p "$VE_TMP/secrets"
printf 'fake-chk-file\n' >"$VE_TMP/file-secret"
printf 'fake-chk-dir\n' >"$VE_TMP/secrets/SECDIR"
cat >"$VE_TMP/app.map" <<'MAP'
FOUND    = secret/app/db#password  required
NOKEY    = secret/app/db#nokey
NOTFOUND = secret/app/nothere
DENIED   = secret/other/x
ENVFB    = secret/app/nothere#env
FILEFB   = secret/app/nothere#file
SECDIR   = secret/app/nothere#dir
DEFAULT  = secret/app/nothere#d  default=fake-chk-default
DB_URL   = "postgres://{{secret/app/db#user}}:{{secret/app/db#password | urlencode}}@db/app"
BROKEN   = "{{secret/app/db#user}}:{{secret/app/nothere#pw}}"
BULK_*   = secret/app/bulk#*
MAP

# A token that may read secret/app/* only (as shim-errors.sh).
ve_auth_policy app-read 'secret/data/app/*'
limited=$(ve_auth_get POST auth/token/create '{"policies":["app-read"]}' auth.client_token)

run_check() {
        VAULT_TOKEN=$limited ENVFB=fake-chk-env FILEFB_FILE="$VE_TMP/file-secret" \
                VAULTENV_SECRETS_DIR="$VE_TMP/secrets" "$VE_CLI" check -m "$VE_TMP/app.map" "$@" >"$out" 2>"$err"
}
# has_status NAME STATUS [DETAIL-REGEX]: the text line of NAME
has_status() { grep -qE "^$(printf '%s' "$1" | sed 's/\*/\\*/') +$2( +${3:-.*})?\$" "$out"; }

run_check && r=0 || r=$?
check "check: exit 0 when every required name has a value" test "$r" = 0
check "found: path, key and the version read" has_status FOUND found 'vault secret/app/db#password version 2'
check "missing-key names the key" has_status NOKEY missing-key 'no key "nokey" in secret/app/db'
check "not-found names the path" has_status NOTFOUND not-found 'no secret at secret/app/nothere'
check "denied (403 with a limited token)" has_status DENIED denied 'permission denied on secret/other/x.*'
check "fallback-env" has_status ENVFB fallback-env
check "fallback-file names NAME_FILE's file" has_status FILEFB fallback-file "file $VE_TMP/file-secret .*"
check "fallback-secrets-dir names the file" has_status SECDIR fallback-secrets-dir "file $VE_TMP/secrets/SECDIR .*"
check "default" has_status DEFAULT default 'default= \(vault: no secret at secret/app/nothere\)'
check "template: found, then each reference" bash -c "grep -A2 '^DB_URL ' '$out' | grep -qE '^  - secret/app/db#password +found +version 2'"
check "template with a missing reference: its status" has_status BROKEN not-found 'no secret at secret/app/nothere'
check "template: the failing reference is named" bash -c "grep -A2 '^BROKEN ' '$out' | grep -qE '^  - secret/app/nothere#pw +not-found'"
check "bulk rule: the path and its names" has_status 'BULK_*' found 'vault secret/app/bulk: 2 names'
check "bulk names listed" bash -c "grep -qE '^BULK_API_KEY +found' '$out' && grep -qE '^BULK_TOKEN +found' '$out'"
check "one line per name (and per reference)" test "$(wc -l <"$out")" = 17
check "a summary status line on stderr" grep -q 'every required name has a value' "$err"
check "check never shows a value" no_values "$out" "$err"

# Even at VAULTENV_LOG=debug, no value on stderr
VAULTENV_LOG=debug run_check && r=0 || r=$?
check "VAULTENV_LOG=debug: exit 0, lib's debug lines shown" bash -c "[ $r = 0 ] && grep -q 'debug: ' '$err'"
check "VAULTENV_LOG=debug: still no value anywhere" no_values "$out" "$err"

# --quiet: no status line, same result
run_check -q && r=0 || r=$?
check "--quiet: nothing on stderr" bash -c "[ $r = 0 ] && [ ! -s '$err' ]"

# --json: one document, parsed
run_check --json && r=0 || r=$?
check "--json: exit 0" test "$r" = 0
check "--json: no value" no_values "$out" "$err"
python3 - "$out" "$VE_TMP/file-secret" >"$VE_TMP/py" <<'PY' && r=0 || r=$?
import json, sys
d = json.load(open(sys.argv[1]))
st = {n["name"]: n for n in d["names"]}
assert d["ok"] is True, "ok"
for n in d["names"]:
    assert {"name", "status", "required", "source", "detail"} <= set(n), n["name"]
want = {"FOUND": "found", "NOKEY": "missing-key", "NOTFOUND": "not-found", "DENIED": "denied",
        "ENVFB": "fallback-env", "FILEFB": "fallback-file", "SECDIR": "fallback-secrets-dir",
        "DEFAULT": "default", "DB_URL": "found", "BROKEN": "not-found", "BULK_*": "found",
        "BULK_API_KEY": "found", "BULK_TOKEN": "found"}
for k, v in want.items():
    assert st[k]["status"] == v, k
assert st["FOUND"]["required"] is True and st["NOKEY"]["required"] is False
assert st["FOUND"]["source"] == "vault:secret/app/db#password"
assert st["FILEFB"]["source"] == sys.argv[2]
assert st["NOTFOUND"]["source"] is None
assert [x["status"] for x in st["BROKEN"]["references"]] == ["found", "not-found"]
assert len(d["names"]) == len(want)
PY
check "--json: statuses, sources and references as expected" test "$r" = 0

# A required name without a value: exit 1, in text and JSON
cat >"$VE_TMP/req.map" <<'MAP'
FOUND  = secret/app/db#password required
DENIED = secret/other/x required
OPT    = secret/app/nothere
MAP
VAULT_TOKEN=$limited "$VE_CLI" check -m "$VE_TMP/req.map" >"$out" 2>"$err" && r=0 || r=$?
check "a required name denied: exit 1" test "$r" = 1
check "... and the line says why" has_status DENIED denied 'permission denied on secret/other/x.*\(required: no value\)'
check "... and stderr says so" grep -q 'a required name has no value' "$err"
VAULT_TOKEN=$limited "$VE_CLI" check -m "$VE_TMP/req.map" --json >"$out" 2>"$err" && r=0 || r=$?
check "--json: exit 1 and ok false" bash -c "[ $r = 1 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d[\"ok\"] is False else 1)' '$out'"
printf 'OPT = secret/app/nothere\n' >"$VE_TMP/opt.map"
"$VE_CLI" check -m "$VE_TMP/opt.map" >"$out" 2>"$err" && r=0 || r=$?
check "an optional name without a value: exit 0" bash -c "[ $r = 0 ] && grep -qE '^OPT +not-found' '$out'"

# A bulk rule whose path cannot be read: nothing can be served, exit 1
printf 'X_* = secret/other/x#*\n' >"$VE_TMP/bulk.map"
VAULT_TOKEN=$limited "$VE_CLI" check -m "$VE_TMP/bulk.map" >"$out" 2>"$err" && r=0 || r=$?
check "unreadable bulk path: exit 1, denied" bash -c "[ $r = 1 ] && grep -qE '^X_\\* +denied +permission denied' '$out'"

# A bad mapping file: 78, FILE:LINE:COL, nothing on stdout
printf 'OK = secret/app/db\n1BAD = secret/app/db\n' >"$VE_TMP/bad.map"
"$VE_CLI" check -m "$VE_TMP/bad.map" >"$out" 2>"$err" && r=0 || r=$?
check "bad mapping: 78 and FILE:LINE:COL" bash -c "[ $r = 78 ] && grep -qF '$VE_TMP/bad.map:2:1: ' '$err' && [ ! -s '$out' ]"
"$VE_CLI" check -m "$VE_TMP/bad.map" --json >"$out" 2>"$err" && r=0 || r=$?
check "bad mapping with --json: 78" test "$r" = 78
"$VE_CLI" check -m "$VE_TMP/absent.map" >"$out" 2>"$err" && r=0 || r=$?
check "missing mapping file: 78, named" bash -c "[ $r = 78 ] && grep -qF '$VE_TMP/absent.map' '$err'"
"$VE_CLI" check --frob >"$out" 2>"$err" && r=0 || r=$?
check "bad option: 2" test "$r" = 2
"$VE_CLI" check no-such-program-here >"$out" 2>"$err" && r=0 || r=$?
check "an operand is PROGRAM (cli-diagnose.sh): not found, 127, one line" \
        bash -c "[ $r = 127 ] && [ \"\$(wc -l <'$err')\" = 1 ] && grep -q 'no-such-program-here: not found' '$err'"
check "--help" bash -c "'$VE_CLI' check --help | grep -q -- '--json'"

# Sealed: 503
ve_api PUT sys/seal
VAULT_MAX_RETRIES=0 "$VE_CLI" check -m "$VE_TMP/req.map" >"$out" 2>"$err" && r=0 || r=$?
check "sealed: status sealed, exit 1" bash -c "[ $r = 1 ] && grep -qE '^FOUND +sealed +Vault is sealed' '$out'"

# Unreachable: Vault stopped
ve_vault_stop
VAULT_MAX_RETRIES=0 "$VE_CLI" check -m "$VE_TMP/req.map" --json >"$out" 2>"$err" && r=0 || r=$?
check "unreachable: exit 1" test "$r" = 1
check "unreachable: status in JSON" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if all(n["status"] == "unreachable" for n in d["names"]) and "cannot reach Vault" in d["names"][0]["detail"] else 1)' "$out"
check "no value in any output" no_values "$out" "$err"
ve_done
