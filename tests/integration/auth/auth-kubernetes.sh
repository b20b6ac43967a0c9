#!/bin/bash
# Kubernetes login through the preloaded shim: a service-account JWT (RS256,
# signed now with a key made now; the dev server verifies it against
# pem_keys as Vault does with a configured key), found by detection
# (VAULT_AUTH_ROLE + the token file) at VAULT_K8S_TOKEN_FILE; refusals
# named; the 0644 mode of a secret volume only warns.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_kv2_put secret/private/x '{"value":"fake-private"}'
ve_auth_policy app-read 'secret/data/app/*'
ve_auth_keypair "$VE_TMP/sa.key" "$VE_TMP/sa.pub"
ve_auth_keypair "$VE_TMP/other.key" "$VE_TMP/other.pub"
ve_api POST sys/auth/kubernetes '{"type":"kubernetes"}'
ve_api POST auth/kubernetes/config "{\"kubernetes_host\":\"https://127.0.0.1:6443\",\"pem_keys\":[$(ve_auth_json_file "$VE_TMP/sa.pub")]}"
ve_api POST auth/kubernetes/role/app '{"bound_service_account_names":["app"],"bound_service_account_namespaces":["default"],"token_policies":["app-read"],"token_ttl":"20m"}'

sa_claims() {   # NAMESPACE NAME
        local now
        now=$(date +%s)
        printf '{"iss":"kubernetes/serviceaccount","sub":"system:serviceaccount:%s:%s","iat":%d,"exp":%d,"kubernetes.io/serviceaccount/namespace":"%s","kubernetes.io/serviceaccount/service-account.name":"%s","kubernetes.io/serviceaccount/service-account.uid":"11111111-2222-3333-4444-555555555555"}' \
                "$1" "$2" "$now" $((now + 3600)) "$1" "$2"
}
mkdir -p "$VE_TMP/sa"
ve_auth_jwt "$VE_TMP/sa.key" "$(sa_claims default app)" "$VE_TMP/sa/token"

printf 'A = secret/app/db#password\nPRIV = secret/private/x\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
unset VAULT_TOKEN
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out

# 1. detection: VAULT_AUTH_ROLE and the token file present
ve_reset_counts
VAULT_AUTH_ROLE=app VAULT_K8S_TOKEN_FILE=$VE_TMP/sa/token ve_read "$out" A PRIV
check "kubernetes: read with the role's token, private denied" ve_expect "$out" "A=fake-pw-1" "PRIV unset"
check "kubernetes: one login" test "$(ve_count 'POST /v1/auth/kubernetes/login')" = 1
check "kubernetes: JWT not shown" stderr_lacks "$(cut -d. -f3 "$VE_TMP/sa/token")"

# 2. the secret volume's 0644: a warning naming the file, not a refusal
chmod 644 "$VE_TMP/sa/token"
VAULTENV_LOG=warn VAULT_AUTH_ROLE=app VAULT_K8S_TOKEN_FILE=$VE_TMP/sa/token ve_read "$out" A
check "0644 token: still works" ve_expect "$out" "A=fake-pw-1"
check "0644 token: warned" stderr_has "$VE_TMP/sa/token (VAULT_K8S_TOKEN_FILE) is readable by group or others"

# 3. refusals are named: a service account the role does not bind, a JWT
# signed by another key
printf 'REQ = secret/app/db#password required\n' >"$VE_TMP/req.map"
ve_auth_jwt "$VE_TMP/sa.key" "$(sa_claims default intruder)" "$VE_TMP/sa/other-sa"
set +e
VAULTENV_MAP=$VE_TMP/req.map VAULT_AUTH_METHOD=kubernetes VAULT_AUTH_ROLE=app VAULT_K8S_TOKEN_FILE=$VE_TMP/sa/other-sa \
        ve_read "$out" REQ
status=$?
set -e
check "unbound service account: exit 78" test "$status" = 78
check "unbound service account: Vault's reason" \
        stderr_has "kubernetes login at auth/kubernetes/login failed: service account name not authorized"
ve_auth_jwt "$VE_TMP/other.key" "$(sa_claims default app)" "$VE_TMP/sa/forged"
set +e
VAULTENV_MAP=$VE_TMP/req.map VAULT_AUTH_ROLE=app VAULT_K8S_TOKEN_FILE=$VE_TMP/sa/forged ve_read "$out" REQ
set -e
check "JWT of another key: refused" stderr_has "kubernetes login at auth/kubernetes/login failed: permission denied"

# 4. an explicit method whose token file is missing: named
set +e
VAULTENV_MAP=$VE_TMP/req.map VAULT_AUTH_METHOD=kubernetes VAULT_AUTH_ROLE=app VAULT_K8S_TOKEN_FILE=$VE_TMP/sa/none \
        ve_read "$out" REQ
set -e
check "missing token file: named" stderr_has "cannot read $VE_TMP/sa/none (VAULT_K8S_TOKEN_FILE)"

# 5. the role alone, without a token file, is not a configuration
VAULT_AUTH_ROLE=app VAULT_K8S_TOKEN_FILE=$VE_TMP/sa/none ve_read "$out" A
check "role without token file: one line naming what is missing" \
        stderr_has "VAULT_AUTH_ROLE is set but no login method fits: no VAULT_JWT_FILE and no Kubernetes token at $VE_TMP/sa/none"
ve_done
