#!/bin/bash
# At the default log level nothing fails silently: a mapped name that Vault
# refuses (403 on its path, a bad token, a refused login) and that no
# fallback fills gets exactly one line naming the variable, the path and
# the reason; a refused login one line of its own; a name a fallback filled
# none. At info, the token source in use is named once, and a
# ~/.vault-token sent to a Vault Agent is said at the default level.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_kv2_put secret/private/x '{"value":"fake-private"}'
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/web '{"token_policies":["app-read"],"token_ttl":"1h"}'
limited=$(ve_auth_get POST auth/token/create '{"policies":["app-read"]}' auth.client_token)
printf 'A = secret/app/db#password\nPRIV = secret/private/x\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out
lines() { grep -cF -- "$1" "$VE_TMP/stderr" || true; }

# 1. a path the token's policy denies: one line, naming name, path, reason
VAULT_TOKEN=$limited ve_read "$out" A PRIV PRIV
check "403: the allowed name reads, the denied one is unset" ve_expect "$out" "A=fake-pw-1" "PRIV unset" "PRIV unset"
check "403: one line for the denied name" test "$(lines "PRIV: ")" = 1
check "403: it names the path and the reason" stderr_has "PRIV: not found in Vault (permission denied on secret/private/x"
check "403: nothing else on stderr" test "$(wc -l <"$VE_TMP/stderr")" = 1
check "403: no token in it" stderr_lacks "$limited"

# 2. a token Vault does not know: one line per name
bad=fake-bad-token-$(ve_random)
VAULT_TOKEN=$bad ve_read "$out" A PRIV
check "bad token: both unset" ve_expect "$out" "A unset" "PRIV unset"
check "bad token: one line for A" test "$(lines "A: not found in Vault (permission denied on secret/app/db")" = 1
check "bad token: one line for PRIV" test "$(lines "PRIV: not found in Vault (permission denied on secret/private/x")" = 1
check "bad token: two lines in all" test "$(wc -l <"$VE_TMP/stderr")" = 2
check "bad token: the token is not shown" stderr_lacks "$bad"

# 3. a refused login: one line for the login, one per name (naming path)
rid=$(ve_auth_get GET auth/approle/role/web/role-id '' data.role_id)
badsid=fake-wrong-secret-id-$(ve_random)
VAULT_TOKEN='' VAULT_ROLE_ID=$rid VAULT_SECRET_ID=$badsid ve_read "$out" A PRIV
check "refused login: both unset" ve_expect "$out" "A unset" "PRIV unset"
check "refused login: one line for the login" \
        test "$(lines "error: approle login at auth/approle/login failed: invalid secret id")" = 1
check "refused login: one line for A, naming its path" \
        test "$(lines "A: not found in Vault (secret/app/db: approle login at auth/approle/login failed")" = 1
check "refused login: one line for PRIV" test "$(lines "PRIV: not found in Vault (secret/private/x: ")" = 1
check "refused login: three lines in all" test "$(wc -l <"$VE_TMP/stderr")" = 3
check "refused login: the single-use hint is there" stderr_has "set VAULTENV_TOKEN_SINK"
check "refused login: the secret id is not shown" stderr_lacks "$badsid"
check "refused login: the role id is not shown" stderr_lacks "$rid"

# 4. names a fallback fills: nothing at the default level (a warning at warn)
printf 'fake-file-priv\n' >"$VE_TMP/priv"
VAULT_TOKEN=$bad A=fake-env-a PRIV_FILE=$VE_TMP/priv ve_read "$out" A PRIV
check "fallbacks: the values" ve_expect "$out" "A=fake-env-a" "PRIV=fake-file-priv"
check "fallbacks: nothing on stderr" test ! -s "$VE_TMP/stderr"
VAULTENV_LOG=warn VAULT_TOKEN=$bad A=fake-env-a PRIV_FILE=$VE_TMP/priv ve_read "$out" A PRIV
check "fallbacks: a warning at warn" stderr_has "warning: A: Vault gave no value (permission denied on secret/app/db); using the environment"

# 5. `vaultenv check`, `export` and `get` report each name themselves: the
# resolver's line is not added to theirs
VAULT_TOKEN=$bad "$VE_CLI" check >"$VE_TMP/stderr" 2>&1 || true
check "check: PRIV named on one line" test "$(lines "PRIV")" = 1
VAULT_TOKEN=$bad "$VE_CLI" export >/dev/null 2>"$VE_TMP/stderr" || true
check "export: PRIV named on one line" test "$(lines "PRIV")" = 1
VAULT_TOKEN=$bad "$VE_CLI" get PRIV >/dev/null 2>"$VE_TMP/stderr" || true
check "get: PRIV named on one line" test "$(lines "PRIV")" = 1

# 6. the token source, once, at info; never the token
VAULTENV_LOG=info VAULT_TOKEN=$limited ve_read "$out" A
check "info: VAULT_TOKEN named as the source" test "$(lines "using the Vault token from VAULT_TOKEN")" = 1
(umask 077 && printf '%s\n' "$limited" >"$HOME/.vault-token")
VAULT_TOKEN='' VAULTENV_LOG=info ve_read "$out" A PRIV
check "info: ~/.vault-token: read" ve_expect "$out" "A=fake-pw-1" "PRIV unset"
check "info: ~/.vault-token named as the source, once" \
        test "$(lines "using the Vault token from ~/.vault-token ($HOME/.vault-token)")" = 1
check "info: the token is not shown" stderr_lacks "$limited"
VAULT_TOKEN='' ve_read "$out" A
check "default level: the source is not said" test ! -s "$VE_TMP/stderr"
rm "$HOME/.vault-token"
VAULT_TOKEN='' VAULTENV_LOG=info ve_read "$out" A
check "info: no token at all is said" stderr_has "no Vault token (no VAULT_TOKEN, no ~/.vault-token ($HOME/.vault-token)): sending none"

# 7. ~/.vault-token and VAULT_AGENT_ADDR: the file's token goes to the agent
# (as with the vault CLI), which then uses it instead of its auto-auth
# token: said at the default level
(umask 077 && printf '%s\n' "$limited" >"$HOME/.vault-token")
VAULT_TOKEN='' VAULT_AGENT_ADDR=$VAULT_ADDR ve_read "$out" A
check "agent + ~/.vault-token: still read" ve_expect "$out" "A=fake-pw-1"
# shellcheck disable=SC2088 # the message names it so, literally
check "agent + ~/.vault-token: said at the default level" \
        stderr_has "~/.vault-token ($HOME/.vault-token) is sent to the Vault Agent at VAULT_AGENT_ADDR"
check "agent + ~/.vault-token: one line" test "$(wc -l <"$VE_TMP/stderr")" = 1
VAULT_TOKEN='' VAULT_AGENT_ADDR=$VAULT_ADDR VAULT_TOKEN_FILE=$HOME/.vault-token ve_read "$out" A
check "agent + explicit VAULT_TOKEN_FILE: nothing said" test ! -s "$VE_TMP/stderr"
rm "$HOME/.vault-token"

ve_done
