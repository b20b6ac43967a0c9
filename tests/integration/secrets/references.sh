#!/bin/bash
# References in the environment: NAME=vault:PATH#KEY is resolved with no
# mapping file; the KV v2 API form (MOUNT/data/PATH) and @VERSION; the
# "vault::" escape; a malformed or unresolvable reference reads as unset,
# never as its text; one read per path shared with mapped names.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1","user":"fake-user"}'
ve_kv2_put secret/app/db '{"password":"fake-pw-2","user":"fake-user"}'
out=$VE_TMP/out
unset VAULTENV_MAP      # no mapping file at all

ve_reset_counts
DB_PASSWORD=vault:secret/app/db#password DB_USER=vault:secret/app/db#user PLAIN=plain \
        ve_read "$out" DB_PASSWORD DB_USER PLAIN
check "references resolved without a mapping file" ve_expect "$out" \
        "DB_PASSWORD=fake-pw-2" "DB_USER=fake-user" "PLAIN=plain"
check "two keys of one path: one read" test "$(ve_count "GET /v1/secret/data/app/db")" = 1

V2=vault:secret/data/app/db#user OLD=vault:secret/data/app/db#password@1 \
        ve_read "$out" V2 OLD
check "KV v2 API form and @VERSION" ve_expect "$out" "V2=fake-user" "OLD=fake-pw-1"

LIT=vault::not-a-reference LIT2=vault:::x ve_read "$out" LIT LIT2
check "vault:: escapes a literal" ve_expect "$out" "LIT=vault:not-a-reference" "LIT2=vault::x"

BAD=vault:nonsense MISSING=vault:secret/app/db#nokey VAULTENV_LOG=warn ve_read "$out" BAD MISSING
check "malformed and unresolvable references read as unset" ve_expect "$out" "BAD unset" "MISSING unset"
check "malformed reference: a warning names the variable" stderr_has "BAD: invalid reference after \"vault:\""
check "no value in the messages" stderr_lacks "fake-"

# with a mapping file: a reference and a mapped name share one read
printf 'DB_USER = secret/app/db#user\n' >"$VE_TMP/app.map"
ve_reset_counts
VAULTENV_MAP="$VE_TMP/app.map" DB_PASSWORD=vault:secret/app/db#password ve_read "$out" DB_USER DB_PASSWORD
check "reference next to a mapping" ve_expect "$out" "DB_USER=fake-user" "DB_PASSWORD=fake-pw-2"
check "reference and mapped name: one read" test "$(ve_count "GET /v1/secret/data/app/db")" = 1

# Vault down: unset, never the reference text
ve_vault_stop
DB_PASSWORD=vault:secret/app/db#password ve_read "$out" DB_PASSWORD
check "Vault down: the reference reads as unset" ve_expect "$out" "DB_PASSWORD unset"

ve_done
