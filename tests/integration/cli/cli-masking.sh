#!/bin/bash
# Masking: every subcommand (exec, exec --eager, exec --env, check,
# check --json, get, export in each format, migrate --dry-run and for real,
# rotate with a random and a given value, learn), and the error paths (a .env
# that does not parse, a required name nothing resolves, a token that is
# denied), run against scripts/vault-dev with known fake secrets (from Vault,
# a _FILE, a default=, the environment, a vault: reference),
# VAULTENV_LOG=debug and VAULTENV_AUDIT=FILE. Every
# stdout, stderr, audit record and file they write is searched for every
# secret value and for the Vault token; a hit anywhere fails, except the
# values on the stdout of `get` and `export`, whose job is to print them (the
# token never). A subcommand that is not implemented fails the test.
# Only file names are reported, never what matched.
# shellcheck disable=SC2154 # the secrets' variables are set by secret() (printf -v)
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"
unset VAULTENV_MAP VAULT_AGENT_ADDR
mkdir -p "$VE_TMP/home"
export HOME=$VE_TMP/home
cap=$VE_TMP/cap                     # everything the commands print or write
mkdir -p "$cap"
needles=$VE_TMP/needles             # the secret values (never printed)
(umask 077 && : >"$needles")
secret() { ve_needle "$needles" "$1" fake-mask; }  # NAME: a fresh fake value in $NAME

ve_vault_start
printf '%s\n' "$VE_ROOT_TOKEN" >"$VE_TMP/token.needle"
secret db_pw; secret db_user; secret api_tok; secret file_val; secret default_val; secret ref_val
secret env_pw; secret env_tok; secret env_urlpw; secret rot_val; secret learn_env; secret env_only
secret broken_val
ve_kv2_put secret/app/db "{\"password\":\"$db_pw\",\"user\":\"$db_user\"}"
ve_kv2_put secret/app/api "{\"token\":\"$api_tok\"}"
ve_kv2_put secret/app/ref "{\"value\":\"$ref_val\"}"
(umask 077 && printf '%s\n' "$file_val" >"$VE_TMP/file-secret")
map=$VE_TMP/app.map
cat >"$map" <<EOF
PGPASSWORD = secret/app/db#password   required
PGUSER     = secret/app/db#user
API_TOKEN  = secret/app/api#token
FROM_FILE  = secret/app/none#x
DEFAULTED  = secret/app/none#y        default=$default_val
ENV_ONLY   = secret/app/none#z
EOF
export VAULTENV_MAP=$map FROM_FILE_FILE=$VE_TMP/file-secret REF_SECRET=vault:secret/app/ref ENV_ONLY=$env_only
export VAULTENV_LOG=debug VAULTENV_AUDIT=$cap/audit.log
names=(PGPASSWORD PGUSER API_TOKEN FROM_FILE DEFAULTED REF_SECRET ENV_ONLY)

# run NAME [vaultenv args...]: stdout to $cap/NAME.out, stderr to
# $cap/NAME.err; the exit status in $rc. Fails when the subcommand says it
# is not implemented.
run() {
        local name=$1
        shift
        "$VE_CLI" "$@" >"$cap/$name.out" 2>"$cap/$name.err" && rc=0 || rc=$?
        if grep -qi 'not implemented' "$cap/$name.err"; then
                fail "$name: 'vaultenv $1' is not implemented"
                rc=-1
        fi
}
# status NAME WANT: the last run's exit status was WANT.
status() { check "$1: exit status $2" test "$rc" = "$2"; }
child=$VE_TMP/child.out             # the program's own output file: holds values by design

run exec exec -- "$VE_READENV" "$child" "${names[@]}"
status exec 0
check "exec: the program got the values" ve_expect "$child" "PGPASSWORD=$db_pw" "PGUSER=$db_user" \
        "API_TOKEN=$api_tok" "FROM_FILE=$file_val" "DEFAULTED=$default_val" "REF_SECRET=$ref_val" \
        "ENV_ONLY=$env_only"
run exec-eager exec --eager -- "$VE_READENV" "$child" "${names[@]}"
status exec-eager 0
run exec-env exec --env -- "$VE_READENV" "$child" PGPASSWORD API_TOKEN
status exec-env 0
check "exec --env: the program got the values" ve_expect "$child" "PGPASSWORD=$db_pw" "API_TOKEN=$api_tok"
run check check
status check 0
run check-json check --json
status check-json 0
check "check --json: valid JSON" python3 -c '
import json, sys
try:
    json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(1)' "$cap/check-json.out"
run get get PGPASSWORD
status get 0
check "get: stdout is the value" cmp -s "$cap/get.out" <(printf '%s\n' "$db_pw")
run get-file get FROM_FILE
status get-file 0
for f in sh dotenv json; do
        run "export-$f" export --format "$f"
        status "export-$f" 0
done
check "export: stdout holds the values (it is its job)" grep -qF -- "$api_tok" "$cap/export-sh.out"

# migrate: a .env with its own fake secrets.
m=$VE_TMP/migrate
mkdir -p "$m"
cat >"$m/.env" <<EOF
# settings of the app
export DB_PASSWORD=$env_pw
API_TOKEN="$env_tok"
DATABASE_URL=postgres://app:$env_urlpw@db.example.com:5432/app
LOG_LEVEL=info
EOF
cp "$m/.env" "$VE_TMP/env.orig"
run migrate-dry migrate --prefix masking --dry-run "$m/.env"
status migrate-dry 0
check "migrate --dry-run: the .env is unchanged" cmp -s "$m/.env" "$VE_TMP/env.orig"
run migrate migrate --prefix masking -o "$m/migrated.map" "$m/.env"
status migrate 0
cp "$m/.env" "$cap/migrate-scrubbed.env" 2>/dev/null || true
cp "$m/migrated.map" "$cap/migrate-written.map" 2>/dev/null || true
check "migrate: wrote the mapping file" test -s "$cap/migrate-written.map"
check "migrate: the scrubbed .env keeps the non-secret entry" grep -q '^LOG_LEVEL=info' "$cap/migrate-scrubbed.env"

# Error paths: a .env that does not parse (an unterminated quote around a
# secret), and a required name nothing resolves.
printf 'OK_SETTING=1\nBROKEN_SECRET="%s\n' "$broken_val" >"$m/broken.env"
run migrate-broken migrate --prefix masking-broken --dry-run "$m/broken.env"
check "migrate: a .env that does not parse is refused (exit 1 or 78)" test "$rc" = 1 -o "$rc" = 78
check "migrate: the parse error names the file and line" grep -qF "broken.env:2" "$cap/migrate-broken.err"
printf 'NOWHERE = secret/app/none#w required\n' >"$VE_TMP/missing.map"
run exec-missing exec -m "$VE_TMP/missing.map" -- "$VE_READENV" "$child" NOWHERE
check "exec: a required name nothing resolves stops the program (78)" test "$rc" = 78
run get-missing get -m "$VE_TMP/missing.map" NOWHERE
check "get: a name nothing resolves fails" test "$rc" != 0

# A token whose policy may read nothing mapped: every read is denied, and
# the messages about it must name neither the token nor a value.
denied_token="fake-mask-denied-$(ve_random)"
printf '%s\n' "$denied_token" >>"$VE_TMP/token.needle"
ve_auth_policy other-only 'secret/data/other/*'
ve_api POST auth/token/create "{\"id\":\"$denied_token\",\"policies\":[\"other-only\"]}"
VAULT_TOKEN=$denied_token run check-denied check
check "check with a denied token: a required name fails (exit 1)" test "$rc" = 1
check "check with a denied token: says so" grep -qi 'denied' "$cap/check-denied.out"
VAULT_TOKEN=$denied_token run get-denied get PGPASSWORD
check "get with a denied token fails" test "$rc" != 0

# rotate: a random value (read back from Vault, never shown), then a given one.
run rotate rotate secret/app/api token
status rotate 0
check "rotate: stdout is only the new version number" grep -qx '[0-9]\+' "$cap/rotate.out"
ve_auth_get GET secret/data/app/api '' data.data.token >>"$needles"
printf '\n' >>"$needles"
check "rotate: the value changed" bash -c "! grep -qxF -- '$api_tok' <(tail -n 1 '$needles')"
(umask 077 && printf '%s\n' "$rot_val" >"$VE_TMP/rot-value")
run rotate-file rotate --value-file "$VE_TMP/rot-value" secret/app/api token
status rotate-file 0

# learn: the program has a secret in its own environment; names only.
PGPASSWORD=$learn_env run learn learn -o "$cap/learn-written.map" -- "$VE_READENV" "$child" PGPASSWORD API_TOKEN HOME
status learn 0
check "learn: wrote the skeleton" test -s "$cap/learn-written.map"
check "learn: the skeleton names PGPASSWORD" grep -q PGPASSWORD "$cap/learn-written.map"

check "the audit trail was written" test -s "$cap/audit.log"
check "debug logging was on (lines on stderr)" grep -q . "$cap/exec.err"

# The search. Allowed: values on get's and export's stdout. The token: nowhere.
grep -v '^$' "$needles" >"$needles.all"
hits=$(cd "$cap" && grep -lF -f "$needles.all" -- * | grep -vxE 'get(-file)?\.out|export-(sh|dotenv|json)\.out' | tr '\n' ' ' || true)
check "no secret value in any output, log, audit record or written file${hits:+ (found in: $hits)}" test -z "$hits"
hits=$(cd "$cap" && grep -lF -f "$VE_TMP/token.needle" -- * | tr '\n' ' ' || true)
check "the Vault token appears nowhere${hits:+ (found in: $hits)}" test -z "$hits"
# Controls: the search does find a value where one is expected.
check "control: the search finds the value on get's stdout" grep -qF -f "$needles.all" "$cap/get.out"
check "control: files searched: $(ls "$cap" | wc -l)" test "$(ls "$cap" | wc -l)" -ge 30
ve_done
