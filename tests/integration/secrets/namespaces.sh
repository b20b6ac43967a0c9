#!/bin/bash
# Namespaces (Vault Enterprise) through the shim: VAULT_NAMESPACE sends
# X-Vault-Namespace, and the same mapped path then names a different secret
# than in the root namespace. The dev server runs with --namespaces; the
# secrets are written with the path-prefix form (/v1/team1/...), read by the
# shim with the header form, so both routes of the server are exercised.
. "$(dirname "$0")/../lib.sh"

ve_vault_start --namespaces
ve_api POST sys/namespaces/team1
ve_api POST team1/sys/mounts/secret '{"type":"kv","options":{"version":"2"}}'
ve_api POST team1/secret/data/app/db '{"data":{"password":"fake-team1-pw"}}'
ve_api POST team1/secret/data/only/team1 '{"data":{"value":"fake-team1-only"}}'
ve_kv2_put secret/app/db '{"password":"fake-root-pw"}'
out=$VE_TMP/out

printf 'PW = secret/app/db#password\nONLY = secret/only/team1\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"

VAULT_NAMESPACE=team1 ve_read "$out" PW ONLY
check "VAULT_NAMESPACE=team1: the namespace's secrets" ve_expect "$out" "PW=fake-team1-pw" "ONLY=fake-team1-only"
check "VAULT_NAMESPACE=team1: nothing on stderr" test ! -s "$VE_TMP/stderr"

ve_read "$out" PW ONLY
check "no namespace: the root namespace's secret, the team1-only path is not found" \
        ve_expect "$out" "PW=fake-root-pw" "ONLY unset"

VAULT_NAMESPACE=team1/ ve_read "$out" PW
check "VAULT_NAMESPACE with a trailing slash is the same namespace" ve_expect "$out" "PW=fake-team1-pw"

# A namespace that does not exist serves nothing (and no other namespace's value).
VAULT_NAMESPACE=nope ve_read "$out" PW ONLY
check "unknown namespace: nothing is served" ve_expect "$out" "PW unset" "ONLY unset"
check "unknown namespace: no value in the messages" stderr_lacks "fake-"

# A token of namespace team1 with a team1 policy: its policy paths are
# relative to team1, and it has no access to the root namespace.
VE_CURL_OPTS="-H X-Vault-Namespace:team1" ve_api PUT sys/policy/app-read \
        '{"policy":"path \"secret/data/app/*\" { capabilities = [\"read\"] }"}'
team_token=$(curl -sS -X POST -H "X-Vault-Token: $VE_ROOT_TOKEN" -H "X-Vault-Namespace: team1" \
        --data '{"policies":["app-read"]}' "$VAULT_ADDR/v1/auth/token/create" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["auth"]["client_token"])')
VAULT_TOKEN=$team_token VAULT_NAMESPACE=team1 ve_read "$out" PW ONLY
check "team1 token: its namespace's allowed path only" ve_expect "$out" "PW=fake-team1-pw" "ONLY unset"
VAULT_TOKEN=$team_token ve_read "$out" PW
check "team1 token without VAULT_NAMESPACE: root namespace denied" ve_expect "$out" "PW unset"
check "team1 token: not shown" stderr_lacks "$team_token"

# Without --namespaces the server is OSS: the header is ignored (as Vault
# OSS does), so the root secret is served.
ve_vault_stop
ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-oss-pw"}'
VAULT_NAMESPACE=team1 ve_read "$out" PW
check "OSS server ignores the namespace header" ve_expect "$out" "PW=fake-oss-pw"

ve_done
