#!/bin/bash
# Templates in the mapping file: composition, percent-encoding of a
# password holding @:/% a space and non-ASCII bytes, one read per path,
# the fallback chain of a template, and parser errors with FILE:LINE:COL.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"user":"fake-user","password":"fake p@s:s/w%rd \u00e9"}'
ve_kv2_put secret/app/host '{"name":"db.example"}'
out=$VE_TMP/out
cat >"$VE_TMP/app.map" <<'MAP'
DATABASE_URL = "postgresql://{{secret/app/db#user}}:{{ secret/app/db#password | urlencode }}@{{secret/app/host#name}}:5432/app"
RAW = "{{secret/app/db#user}}/{{secret/app/db#password}}"
FALLBACK = "{{secret/app/db#user}}:{{secret/app/db#nokey}}" default=fake-default
MUST = "{{secret/app/nothere#x}}" required
MAP
export VAULTENV_MAP="$VE_TMP/app.map"

ve_reset_counts
ve_read "$out" DATABASE_URL RAW FALLBACK
check "template rendered, password percent-encoded" ve_expect "$out" \
        "DATABASE_URL=postgresql://fake-user:fake%20p%40s%3As%2Fw%25rd%20%C3%A9@db.example:5432/app" \
        "RAW=fake-user/fake p@s:s/w%rd é" \
        "FALLBACK=fake-default"
check "one read per path for every template" test "$(ve_count "GET /v1/secret/data/app/db")" = 1
check "host path read once" test "$(ve_count "GET /v1/secret/data/app/host")" = 1

set +e
ve_read "$out" MUST
status=$?
set -e
check "required template with an unresolvable reference: exit 78" test "$status" = 78
check "required template: message names the variable" stderr_has "MUST: required variable is missing"

# the environment is a fallback for a template as for any name
FALLBACK=from-env ve_read "$out" FALLBACK
check "template falls back to the environment" ve_expect "$out" "FALLBACK=from-env"

# parser errors: FILE:LINE:COL, the file rejected whole
printf 'OK = secret/app/db#user\nBAD = "x{{secret/app/db#user | base64}}"\n' >"$VE_TMP/bad.map"
VAULTENV_MAP="$VE_TMP/bad.map" ve_read "$out" OK
check "bad filter: mapping rejected" ve_expect "$out" "OK unset"
check "bad filter: FILE:LINE:COL and the filter" stderr_has "$VE_TMP/bad.map:2:32: BAD: unknown filter \"base64\""
printf 'BAD = "x{{secret/app/db#user"\n' >"$VE_TMP/bad.map"
VAULTENV_MAP="$VE_TMP/bad.map" ve_read "$out" BAD
check "unterminated {{: FILE:LINE:COL" stderr_has "$VE_TMP/bad.map:1:9: BAD: unterminated \"{{\""

ve_done
