#!/bin/bash
# AppRole login through the preloaded shim: role id and secret id from
# files and from variables, a custom mount (VAULT_AUTH_PATH), a
# response-wrapped secret id, a refused secret id, a missing input, file
# mode warnings, and a single-use secret id shared with a forked child, and
# with a later process through VAULTENV_TOKEN_SINK; with VAULTENV_SCRUB, a
# child without VAULT_SECRET_ID authenticates through the sink.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_kv2_put secret/app/other '{"value":"fake-other"}'
ve_kv2_put secret/private/x '{"value":"fake-private"}'
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/web '{"token_policies":["app-read"],"token_ttl":"1h","secret_id_num_uses":0}'
ve_api POST auth/approle/role/once '{"token_policies":["app-read"],"token_ttl":"1h","secret_id_num_uses":1}'

printf 'A = secret/app/db#password\nB = secret/app/other\nPRIV = secret/private/x\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
unset VAULT_TOKEN
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out
(umask 077
 ve_auth_get GET auth/approle/role/web/role-id '' data.role_id >"$VE_TMP/role-id"
 ve_auth_get POST auth/approle/role/web/secret-id '' data.secret_id >"$VE_TMP/secret-id")

# 1. files; one login for two paths; the token is the role's (not root):
# the private path is denied
ve_reset_counts
VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/secret-id ve_read "$out" A B PRIV
check "approle (files): both app paths read, private denied" \
        ve_expect "$out" "A=fake-pw-1" "B=fake-other" "PRIV unset"
check "approle: exactly one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
check "approle: secret reads carried a token" test "$(ve_count 'GET /v1/secret/data/app/other')" = 1
check "approle: no secret id on stderr" stderr_lacks "$(cat "$VE_TMP/secret-id")"

# 2. variables, and a mount at another path
ve_api POST sys/auth/ci-approle '{"type":"approle"}'
ve_api POST auth/ci-approle/role/ci '{"token_policies":["app-read"]}'
rid=$(ve_auth_get GET auth/ci-approle/role/ci/role-id '' data.role_id)
sid=$(ve_auth_get POST auth/ci-approle/role/ci/secret-id '' data.secret_id)
ve_reset_counts
VAULT_ROLE_ID=$rid VAULT_SECRET_ID=$sid VAULT_AUTH_PATH=ci-approle ve_read "$out" A
check "approle (variables, VAULT_AUTH_PATH): read" ve_expect "$out" "A=fake-pw-1"
check "approle: logged in at auth/ci-approle/login" test "$(ve_count 'POST /v1/auth/ci-approle/login')" = 1

# 3. a response-wrapped secret id: unwrapped once, then used
(umask 077
 ve_auth_get POST auth/approle/role/web/secret-id '' wrap_info.token 'X-Vault-Wrap-TTL: 60s' >"$VE_TMP/wrapped")
ve_reset_counts
VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/wrapped VAULT_SECRET_ID_WRAPPED=true ve_read "$out" A
check "wrapped secret id: read" ve_expect "$out" "A=fake-pw-1"
check "wrapped secret id: one unwrap" test "$(ve_count 'POST /v1/sys/wrapping/unwrap')" = 1
VAULTENV_LOG=warn VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/wrapped VAULT_SECRET_ID_WRAPPED=true \
        ve_read "$out" A
check "wrapped secret id used twice: falls back, says why" \
        bash -c "[ \"\$(cat '$out')\" = 'A unset' ] && grep -qF 'unwrapping the secret id (VAULT_SECRET_ID_WRAPPED) failed: wrapping token is not valid or does not exist' '$VE_TMP/stderr'"
# without VAULT_SECRET_ID_WRAPPED the wrapping token is not a secret id
(umask 077
 ve_auth_get POST auth/approle/role/web/secret-id '' wrap_info.token 'X-Vault-Wrap-TTL: 60s' >"$VE_TMP/wrapped2")
VAULTENV_LOG=warn VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/wrapped2 ve_read "$out" A
check "wrapping token taken as the secret id: refused" stderr_has "invalid secret id"

# 4. a wrong secret id: one line naming the login and Vault's reason
echo fake-wrong-secret-id >"$VE_TMP/bad-sid"
chmod 600 "$VE_TMP/bad-sid"
printf 'REQ = secret/app/db#password required\n' >"$VE_TMP/req.map"
set +e
VAULTENV_MAP=$VE_TMP/req.map VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/bad-sid ve_read "$out" REQ
status=$?
set -e
check "bad secret id: exit 78" test "$status" = 78
check "bad secret id: names login and reason" \
        stderr_has "approle login at auth/approle/login failed: invalid secret id"
check "bad secret id: one line for the login, one for the required name" \
        bash -c "[ \$(grep -c '^vaultenv: error: approle login at auth/approle/login failed' '$VE_TMP/stderr') = 1 ] && [ \$(wc -l <'$VE_TMP/stderr') = 2 ]"
check "bad secret id: not shown" stderr_lacks "fake-wrong-secret-id"

# 5. a method without its inputs: one line naming the missing variable
VAULT_AUTH_METHOD=approle VAULT_ROLE_ID_FILE=$VE_TMP/role-id ve_read "$out" A
check "approle without secret id: names the variables" \
        stderr_has "approle login needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE"
check "approle without secret id: falls back" ve_expect "$out" "A unset"

# 6. credential files readable by others: a warning naming the file
chmod 644 "$VE_TMP/secret-id"
VAULTENV_LOG=warn VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/secret-id ve_read "$out" A
check "0644 secret id file: still works" ve_expect "$out" "A=fake-pw-1"
check "0644 secret id file: warned" \
        stderr_has "$VE_TMP/secret-id (VAULT_SECRET_ID_FILE) is readable by group or others (mode 0644)"
check "0600 role id file: no warning" stderr_lacks "$VE_TMP/role-id (VAULT_ROLE_ID_FILE)"
chmod 600 "$VE_TMP/secret-id"

# 7. a single-use secret id and child processes
once_sid() {
        (umask 077 && ve_auth_get POST auth/approle/role/once/secret-id '' data.secret_id >"$VE_TMP/once-sid")
}
ve_auth_get GET auth/approle/role/once/role-id '' data.role_id >"$VE_TMP/once-rid"
export VAULT_ROLE_ID_FILE=$VE_TMP/once-rid VAULT_SECRET_ID_FILE=$VE_TMP/once-sid

# 7a. fork: the child inherits the parent's token, no second login
once_sid
ve_reset_counts
VE_READ_OPTS=--fork ve_read "$out" A B
check "fork: the child reads another path" ve_expect "$out" "A=fake-pw-1" "B=fake-other"
check "fork: one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1

# 7b. two processes one after the other, no sink: the second cannot log in
# and says what solves it
once_sid
VAULTENV_LOG=warn LD_PRELOAD="$VE_PRELOAD" bash -c '"$0" "$1.1" A && "$0" "$1.2" B' "$VE_READENV" "$out" 2>"$VE_TMP/stderr"
check "no sink: first process reads" ve_expect "$out.1" "A=fake-pw-1"
check "no sink: second process cannot log in" ve_expect "$out.2" "B unset"
check "no sink: the hint names VAULTENV_TOKEN_SINK" stderr_has "set VAULTENV_TOKEN_SINK"

# 7c. with VAULTENV_TOKEN_SINK: the second process uses the first one's token
once_sid
ve_reset_counts
mkdir -m 700 "$VE_TMP/run"
export VAULTENV_TOKEN_SINK=$VE_TMP/run/token
LD_PRELOAD="$VE_PRELOAD" bash -c '"$0" "$1.1" A && "$0" "$1.2" B' "$VE_READENV" "$out" 2>"$VE_TMP/stderr"
check "sink: first process reads" ve_expect "$out.1" "A=fake-pw-1"
check "sink: second process reads another path" ve_expect "$out.2" "B=fake-other"
check "sink: one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
check "sink: the token was checked (lookup-self)" test "$(ve_count 'GET /v1/auth/token/lookup-self')" = 1
check "sink: a 0600 regular file" test "$(stat -c '%a %F' "$VAULTENV_TOKEN_SINK")" = "600 regular file"
check "sink: no temporary file left, only the sink and its lock" \
        test "$(ls -A "$VE_TMP/run" | tr '\n' ' ')" = "token token.lock "
check "sink: the token is not in the environment of the child" \
        bash -c "! LD_PRELOAD='$VE_PRELOAD' bash -c 'env' | grep -qF -- \"\$(cat '$VAULTENV_TOKEN_SINK')\""
check "sink: nothing on stderr" test ! -s "$VE_TMP/stderr"

# 7d. a sink token that Vault no longer accepts is not used: a login follows
tok=$(cat "$VAULTENV_TOKEN_SINK")
curl -sS -o /dev/null -X POST -H "X-Vault-Token: $tok" "$VAULT_ADDR/v1/auth/token/revoke-self"
unset tok
once_sid
ve_reset_counts
ve_read "$out" A
check "dead sink token: logged in instead" ve_expect "$out" "A=fake-pw-1"
check "dead sink token: one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
unset VAULTENV_TOKEN_SINK VAULT_ROLE_ID_FILE VAULT_SECRET_ID_FILE

# 8. VAULTENV_SCRUB=1 with the secret id in VAULT_SECRET_ID: the parent (an
# eager bash) logs in, writes the sink and takes the secret id out of its
# environment; its child (lazy readenv) has no secret id and uses the
# sink's token: no login of its own (the single-use secret id is spent).
once_sid
rid=$(cat "$VE_TMP/once-rid")
sid=$(cat "$VE_TMP/once-sid")
sink=$VE_TMP/run/scrub.token
printf 'A = secret/app/db#password\nB = secret/app/other\n' >"$VE_TMP/ab.map"
ready=$VE_TMP/ready8
pidf=$VE_TMP/pid8
rm -f "$sink" "$ready" "$pidf"
# shellcheck disable=SC2016 # expanded by the parent bash
parent='own=$1 rd=$2 co=$3 pf=$4 prog=$5
printf "A=%s\n" "${A-}" >"$own"
unset VAULTENV_EAGER
"$prog" --wait "$rd" "$co" A B VAULT_SECRET_ID & echo $! >"$pf"; wait'
ve_reset_counts
VAULTENV_MAP=$VE_TMP/ab.map VAULTENV_EAGER=1 VAULTENV_SCRUB=1 VAULT_ROLE_ID=$rid VAULT_SECRET_ID=$sid \
        VAULTENV_TOKEN_SINK=$sink LD_PRELOAD="$VE_PRELOAD" \
        bash -c "$parent" bash "$out.parent" "$ready" "$out.child" "$pidf" "$VE_READENV" 2>"$VE_TMP/stderr" &
ppid8=$!
VE_PIDS+=("$ppid8")
cpid=
ve_eager_wait "$ready" && cpid=$(cat "$pidf")
# environ_lacks PID TEXT: PID is running and its /proc/PID/environ lacks TEXT
environ_lacks() { [ -n "$1" ] && [ -r "/proc/$1/environ" ] && ! tr '\0' '\n' <"/proc/$1/environ" | grep -qF -- "$2"; }
check "scrub + sink: the child runs" test -n "$cpid"
check "scrub + sink: the child's /proc/PID/environ has no secret id" environ_lacks "$cpid" "$sid"
check "scrub + sink: nor the name VAULT_SECRET_ID" environ_lacks "$cpid" "VAULT_SECRET_ID="
check "scrub + sink: nor the sink's token" environ_lacks "$cpid" "$(cat "$sink" 2>/dev/null || echo unreadable-sink)"
check "scrub + sink: the parent's /proc/PID/environ has no secret id" environ_lacks "$ppid8" "$sid"
[ -z "$cpid" ] || kill "$cpid" 2>/dev/null || true
wait "$ppid8" 2>/dev/null || true
check "scrub + sink: the parent read A (its login)" ve_expect "$out.parent" "A=fake-pw-1"
check "scrub + sink: the child got the Vault values, and no VAULT_SECRET_ID" \
        ve_expect "$out.child" "A=fake-pw-1" "B=fake-other" "VAULT_SECRET_ID unset"
check "scrub + sink: one login (the parent's)" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
check "scrub + sink: the child checked the sink's token (lookup-self)" \
        test "$(ve_count 'GET /v1/auth/token/lookup-self')" = 1
check "scrub + sink: nothing on stderr" test ! -s "$VE_TMP/stderr"

# 8b. the sink's token revoked, no secret id: one line naming the sink and
# why, no login; the names fall back
tok=$(cat "$sink")
curl -sS -o /dev/null -X POST -H "X-Vault-Token: $tok" "$VAULT_ADDR/v1/auth/token/revoke-self"
unset tok
ve_reset_counts
VAULTENV_SCRUB=1 VAULT_ROLE_ID=$rid VAULTENV_TOKEN_SINK=$sink ve_read "$out" A
check "dead sink token, no secret id: falls back" ve_expect "$out" "A unset"
check "dead sink token, no secret id: names the sink and why" \
        stderr_has "VAULTENV_TOKEN_SINK $sink holds a token Vault refuses (expired or revoked), and approle login needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE"
check "dead sink token, no secret id: one line for the sink, one for the name" \
        bash -c "[ \$(grep -c '^vaultenv: error: VAULTENV_TOKEN_SINK' '$VE_TMP/stderr') = 1 ] && [ \$(wc -l <'$VE_TMP/stderr') = 2 ]"
check "dead sink token, no secret id: no login" test "$(ve_count 'POST /v1/auth/approle/login')" = 0

# 8c. a sink others may write: refused without a request
chmod 620 "$sink"
ve_reset_counts
VAULT_ROLE_ID=$rid VAULTENV_TOKEN_SINK=$sink ve_read "$out" A
check "group-writable sink: refused, named with its mode" \
        stderr_has "VAULTENV_TOKEN_SINK $sink is writable by group or others (mode 0620), and approle login needs"
check "group-writable sink: its token was not even checked" test "$(ve_count 'GET /v1/auth/token/lookup-self')" = 0

# 8d. no sink file: said so
rm -f "$sink"
VAULT_ROLE_ID=$rid VAULTENV_TOKEN_SINK=$sink ve_read "$out" A
check "missing sink, no secret id: says so" stderr_has "VAULTENV_TOKEN_SINK $sink does not exist, and approle login needs"
check "missing sink, no secret id: falls back" ve_expect "$out" "A unset"
check "secret id and sink token not on stderr" stderr_lacks "$sid"
unset sid
ve_done
