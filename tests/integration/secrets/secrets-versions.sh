#!/bin/bash
# KV v2 versions: NAME = secret/app/db#password@N reads version N
# (?version=N); names on one path and version share one read, each version
# is its own read; a deleted or destroyed version is an error naming it,
# never an empty string; a version on a KV v1 mount is an error naming the
# reference. `vaultenv get` and `check` take versioned references too.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"user":"fake-user-1","password":"fake-pw-1"}'
ve_kv2_put secret/app/db '{"user":"fake-user-2","password":"fake-pw-2"}'
ve_kv2_put secret/app/db '{"user":"fake-user-3","password":"fake-pw-3"}'
ve_api POST sys/mounts/kv1 '{"type":"kv","options":{"version":"1"}}'
ve_api POST kv1/app/db '{"password":"fake-kv1-pw"}'
out=$VE_TMP/out

cat >"$VE_TMP/app.map" <<'MAP'
PW_V1      = secret/app/db#password@1
USER_V1    = secret/app/db#user@1
PW_V2      = secret/app/db#password@2
PW_LATEST  = secret/app/db#password
FORCED_V2  = kv2:secret/app/db#user@2
KV1_V1     = kv1/app/db#password@1
MAP
export VAULTENV_MAP=$VE_TMP/app.map

# 1. versions 1 and 2 and the latest in one program: one read per version,
# the two names of version 1 share a read
ve_reset_counts
ve_read "$out" PW_V1 USER_V1 PW_V2 PW_LATEST
check "versions 1, 2 and latest: their own values" \
        ve_expect "$out" "PW_V1=fake-pw-1" "USER_V1=fake-user-1" "PW_V2=fake-pw-2" "PW_LATEST=fake-pw-3"
check "2 versioned reads + 1 latest read (names of one version share one)" \
        test "$(ve_count 'GET /v1/secret/data/app/db')" = 3

# 2. kv2: forced, with a version
ve_read "$out" FORCED_V2
check "kv2: forced reference with a version" ve_expect "$out" "FORCED_V2=fake-user-2"

# 3. a deleted version: an error naming the version, not an empty string
ve_api POST secret/delete/app/db '{"versions":[2]}'
set +e
VAULTENV_LOG=warn ve_read "$out" PW_V2 PW_V1
set -e
check "deleted version: unset (not empty), other versions still served" \
        ve_expect "$out" "PW_V2 unset" "PW_V1=fake-pw-1"
check "deleted version: the message names the version" stderr_has "secret/app/db: version 2 is deleted"
printf 'PW_V2 = secret/app/db#password@2 required\n' >"$VE_TMP/req.map"
set +e
VAULTENV_MAP=$VE_TMP/req.map ve_read "$out" PW_V2
status=$?
set -e
check "deleted version, required: exit 78" test "$status" = 78
check "deleted version, required: one line naming the version" \
        stderr_has "PW_V2: required variable is missing: not found in Vault (secret/app/db: version 2 is deleted)"

# 4. a destroyed version
ve_api POST secret/destroy/app/db '{"versions":[1]}'
set +e
VAULTENV_LOG=warn ve_read "$out" PW_V1
set -e
check "destroyed version: unset" ve_expect "$out" "PW_V1 unset"
check "destroyed version: the message names the version" stderr_has "secret/app/db: version 1 is destroyed"

# 5. a version that never was
printf 'PW_V9 = secret/app/db#password@9\n' >"$VE_TMP/v9.map"
VAULTENV_MAP=$VE_TMP/v9.map VAULTENV_LOG=warn ve_read "$out" PW_V9
check "missing version: unset, named" bash -c "grep -qx 'PW_V9 unset' '$out' && grep -qF 'secret/app/db: no version 9' '$VE_TMP/stderr'"

# 6. a version on a KV v1 mount: an error naming the reference
VAULTENV_LOG=warn ve_read "$out" KV1_V1
check "version on a KV v1 mount: unset" ve_expect "$out" "KV1_V1 unset"
check "version on a KV v1 mount: names the reference" \
        stderr_has "kv1/app/db@1: a version needs a KV v2 mount, and kv1/ is not one"
printf 'BAD = kv1:kv1/app/db#password@1\n' >"$VE_TMP/bad.map"
VAULTENV_MAP=$VE_TMP/bad.map ve_read "$out" BAD
check "kv1: with a version: the mapping is rejected at its position" \
        stderr_has "bad.map:1:7: a version needs KV v2; kv1: reference cannot have one: \"kv1:kv1/app/db#password@1\""

# 7. the CLI: get and check
ve_kv2_put secret/cli/x '{"k":"fake-cli-1"}'
ve_kv2_put secret/cli/x '{"k":"fake-cli-2"}'
printf 'CLI_V1 = secret/cli/x#k@1\nCLI_LATEST = secret/cli/x#k\n' >"$VE_TMP/cli.map"
"$VE_CLI" get -m "$VE_TMP/cli.map" CLI_V1 >"$out" 2>"$VE_TMP/stderr"
check "vaultenv get: a versioned reference" ve_expect "$out" "fake-cli-1"
"$VE_CLI" check -m "$VE_TMP/cli.map" >"$out" 2>"$VE_TMP/stderr"
check "vaultenv check: shows the version" grep -q '^CLI_V1 .* found .*vault secret/cli/x#k@1$' "$out"
check "vaultenv check: no value shown" bash -c "! grep -q fake-cli '$out'"
ve_done
