#!/bin/bash
# Token authentication through the preloaded shim: VAULT_TOKEN, a token file
# (VAULT_TOKEN_FILE, as a Vault Agent sink writes it) that wins over
# ~/.vault-token, a token file rotated while the program runs (re-read when
# Vault refuses the old token), VAULT_TOKEN over the file, and the mode
# warning.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_kv2_put secret/app/other '{"value":"fake-other"}'
ve_auth_policy app-read 'secret/data/app/*'
printf 'A = secret/app/db#password\nB = secret/app/other\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out
child_token() {
        ve_auth_get POST auth/token/create '{"policies":["app-read"],"ttl":"1h"}' auth.client_token
}
(umask 077 && child_token >"$VE_TMP/t1" && child_token >"$VE_TMP/t2" && echo fake-not-a-token >"$HOME/.vault-token")

# 1. VAULT_TOKEN
VAULT_TOKEN=$(cat "$VE_TMP/t1") ve_read "$out" A
check "VAULT_TOKEN: read" ve_expect "$out" "A=fake-pw-1"
unset VAULT_TOKEN

# 2. VAULT_TOKEN_FILE wins over ~/.vault-token (which holds a bad token)
cp "$VE_TMP/t1" "$VE_TMP/agent-sink"
VAULT_TOKEN_FILE=$VE_TMP/agent-sink ve_read "$out" A
check "VAULT_TOKEN_FILE: read" ve_expect "$out" "A=fake-pw-1"
ve_read "$out" A
check "HOME/.vault-token used without VAULT_TOKEN_FILE (bad token there: unset)" ve_expect "$out" "A unset"

# 3. VAULT_TOKEN wins over the token file
VAULT_TOKEN=$(cat "$VE_TMP/t1") VAULT_TOKEN_FILE=$VE_TMP/nonexistent ve_read "$out" A
check "VAULT_TOKEN over VAULT_TOKEN_FILE" ve_expect "$out" "A=fake-pw-1"

# 4. the agent rotates the token while the program runs: the old one is
# revoked and the file holds a new one; the next read retries once with it
ve_reset_counts
rm -f "$out"
VAULT_TOKEN_FILE=$VE_TMP/agent-sink LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_READENV" "$out" A --sleep 3000 B \
        2>"$VE_TMP/stderr" &
reader=$!
for _ in $(seq 1 300); do grep -q "^A" "$out" 2>/dev/null && break; sleep 0.05; done
curl -sS -o /dev/null -X POST -H "X-Vault-Token: $(cat "$VE_TMP/t1")" "$VAULT_ADDR/v1/auth/token/revoke-self"
cp "$VE_TMP/t2" "$VE_TMP/agent-sink.new" && mv "$VE_TMP/agent-sink.new" "$VE_TMP/agent-sink"
wait "$reader" || true
check "rotated token file: both reads succeed" ve_expect "$out" "A=fake-pw-1" "B=fake-other"
check "rotated token file: B was refused once, then read" \
        test "$(ve_count 'GET /v1/secret/data/app/other')" = 2
check "rotated token file: no login attempted" test "$(ve_count 'POST /v1/auth/approle/login')" = 0

# 5. a refused token with an unchanged file: no retry
VAULT_TOKEN_FILE=$VE_TMP/agent-sink ve_read "$out" A
ve_reset_counts
curl -sS -o /dev/null -X POST -H "X-Vault-Token: $(cat "$VE_TMP/t2")" "$VAULT_ADDR/v1/auth/token/revoke-self"
VAULT_TOKEN_FILE=$VE_TMP/agent-sink ve_read "$out" A
check "revoked token, same file: unset" ve_expect "$out" "A unset"
check "revoked token, same file: one request (no retry)" test "$(ve_count 'GET /v1/secret/data/app/db')" = 1

# 6. a token file readable by others: warned, naming it
(umask 077 && child_token >"$VE_TMP/agent-sink")
chmod 644 "$VE_TMP/agent-sink"
VAULTENV_LOG=warn VAULT_TOKEN_FILE=$VE_TMP/agent-sink ve_read "$out" A
check "0644 token file: still read" ve_expect "$out" "A=fake-pw-1"
check "0644 token file: warned" \
        stderr_has "$VE_TMP/agent-sink (VAULT_TOKEN_FILE) is readable by group or others (mode 0644)"
check "0644 token file: token not shown" stderr_lacks "$(cat "$VE_TMP/agent-sink")"

# 7. an explicit token file that is missing is named
VAULTENV_LOG=warn VAULT_TOKEN_FILE=$VE_TMP/missing ve_read "$out" A
check "missing VAULT_TOKEN_FILE: named" stderr_has "cannot read $VE_TMP/missing (VAULT_TOKEN_FILE)"
ve_done
