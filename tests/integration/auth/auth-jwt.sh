#!/bin/bash
# JWT role login through the preloaded shim: VAULT_AUTH_ROLE + VAULT_JWT_FILE
# (a JWT signed now with a key made now; the dev server verifies it against
# jwt_validation_pubkeys, bound_issuer and bound_audiences as Vault does),
# at the default mount and at another one (VAULT_AUTH_PATH); refusals named;
# a JWT file without a role is a configuration error.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_kv2_put secret/private/x '{"value":"fake-private"}'
ve_auth_policy app-read 'secret/data/app/*'
ve_auth_keypair "$VE_TMP/ci.key" "$VE_TMP/ci.pub"
for mount in jwt gitlab; do
        ve_api POST "sys/auth/$mount" '{"type":"jwt"}'
        ve_api POST "auth/$mount/config" "{\"jwt_validation_pubkeys\":[$(ve_auth_json_file "$VE_TMP/ci.pub")],\"bound_issuer\":\"https://issuer.example\"}"
        ve_api POST "auth/$mount/role/svc" '{"role_type":"jwt","user_claim":"sub","bound_audiences":["vault"],"token_policies":["app-read"],"token_ttl":"30m"}'
done

claims() {      # AUDIENCE
        local now
        now=$(date +%s)
        printf '{"iss":"https://issuer.example","sub":"ci-job","aud":"%s","iat":%d,"nbf":%d,"exp":%d}' \
                "$1" "$now" "$now" $((now + 600))
}
ve_auth_jwt "$VE_TMP/ci.key" "$(claims vault)" "$VE_TMP/ci.jwt"

printf 'A = secret/app/db#password\nPRIV = secret/private/x\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
unset VAULT_TOKEN
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out

# 1. detection: VAULT_JWT_FILE + VAULT_AUTH_ROLE
ve_reset_counts
VAULT_AUTH_ROLE=svc VAULT_JWT_FILE=$VE_TMP/ci.jwt ve_read "$out" A PRIV
check "jwt: read with the role's token, private denied" ve_expect "$out" "A=fake-pw-1" "PRIV unset"
check "jwt: one login at auth/jwt/login" test "$(ve_count 'POST /v1/auth/jwt/login')" = 1
check "jwt: JWT not shown" stderr_lacks "$(cut -d. -f3 "$VE_TMP/ci.jwt")"

# 2. another mount
ve_reset_counts
VAULT_AUTH_METHOD=jwt VAULT_AUTH_PATH=gitlab VAULT_AUTH_ROLE=svc VAULT_JWT_FILE=$VE_TMP/ci.jwt ve_read "$out" A
check "jwt at VAULT_AUTH_PATH=gitlab: read" ve_expect "$out" "A=fake-pw-1"
check "jwt: one login at auth/gitlab/login" test "$(ve_count 'POST /v1/auth/gitlab/login')" = 1

# 3. refusals: wrong audience; unknown role
printf 'REQ = secret/app/db#password required\n' >"$VE_TMP/req.map"
ve_auth_jwt "$VE_TMP/ci.key" "$(claims other)" "$VE_TMP/wrong-aud.jwt"
set +e
VAULTENV_MAP=$VE_TMP/req.map VAULT_AUTH_ROLE=svc VAULT_JWT_FILE=$VE_TMP/wrong-aud.jwt ve_read "$out" REQ
status=$?
set -e
check "wrong audience: exit 78" test "$status" = 78
check "wrong audience: Vault's reason, one line for the login and one for the required name" \
        bash -c "[ \$(grep -c '^vaultenv: error: jwt login at auth/jwt/login failed: error validating token: invalid audience' '$VE_TMP/stderr') = 1 ] && [ \$(wc -l <'$VE_TMP/stderr') = 2 ]"
set +e
VAULTENV_MAP=$VE_TMP/req.map VAULT_AUTH_ROLE=nope VAULT_JWT_FILE=$VE_TMP/ci.jwt ve_read "$out" REQ
set -e
check "unknown role: named" stderr_has "role \"nope\" could not be found"
# a mount where nothing is mounted: Vault 1.8 says "missing client token"
set +e
VAULTENV_MAP=$VE_TMP/req.map VAULT_AUTH_PATH=nothere VAULT_AUTH_ROLE=svc VAULT_JWT_FILE=$VE_TMP/ci.jwt ve_read "$out" REQ
set -e
check "unmounted path: hint at VAULT_AUTH_PATH" stderr_has "VAULT_AUTH_PATH names its path"

# 4. configuration errors
VAULT_JWT_FILE=$VE_TMP/ci.jwt ve_read "$out" A
check "JWT file without role: names VAULT_AUTH_ROLE" stderr_has "VAULT_JWT_FILE is set but VAULT_AUTH_ROLE is not"
VAULT_AUTH_METHOD=jwt VAULT_AUTH_ROLE=svc ve_read "$out" A
check "jwt method without file: names VAULT_JWT_FILE" stderr_has "jwt login needs VAULT_JWT_FILE"
ve_done
