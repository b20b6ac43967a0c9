#!/bin/bash
# Vault unreachable: NAME from the environment, NAME_FILE (CRLF stripped),
# SECRETS_DIR/NAME and /name, default=; a required name that nothing
# resolves stops the program with exit status 78 and a one-line message.
. "$(dirname "$0")/../lib.sh"

# A port that nothing listens on: start the server, note its port, stop it.
ve_vault_start
ve_vault_stop

mkdir -p "$VE_TMP/secrets"
printf 'fake-file-pw\r\n' >"$VE_TMP/pw.txt"
printf 'fake-run-secret\n' >"$VE_TMP/secrets/API_KEY"
printf 'fake-lower-secret\n' >"$VE_TMP/secrets/lower_name"
cat >"$VE_TMP/app.map" <<'MAP'
PGPASSWORD  = secret/app/db#password   required
API_KEY     = secret/app/api
LOWER_NAME  = secret/app/other
FROM_ENV    = secret/app/env
DEBUG       = secret/app/flags#debug   default=off
NOTHING     = secret/app/none
MUST        = secret/app/must          required
MAP
export VAULTENV_MAP="$VE_TMP/app.map" VAULTENV_SECRETS_DIR="$VE_TMP/secrets"
export PGPASSWORD_FILE="$VE_TMP/pw.txt" FROM_ENV=fake-env-value

out=$VE_TMP/out
check "program runs with Vault down" ve_read "$out" PGPASSWORD API_KEY LOWER_NAME FROM_ENV DEBUG NOTHING
check "fallbacks in order: _FILE (CRLF stripped), secrets dir, lower-cased, environment, default" \
        ve_expect "$out" "PGPASSWORD=fake-file-pw" "API_KEY=fake-run-secret" "LOWER_NAME=fake-lower-secret" \
        "FROM_ENV=fake-env-value" "DEBUG=off" "NOTHING unset"
check "at the default log level, one line: the name nothing filled" \
        bash -c "[ \"\$(wc -l <'$VE_TMP/stderr')\" = 1 ] && grep -q 'error: NOTHING: not found in Vault (secret/app/none: .*Vault at $VAULT_ADDR' '$VE_TMP/stderr'"

VAULTENV_LOG=warn ve_read "$out" PGPASSWORD
check "warn level says Vault cannot be reached and which fallback was used" \
        bash -c "grep -q 'PGPASSWORD: Vault gave no value (cannot reach Vault at $VAULT_ADDR.*); using the file' '$VE_TMP/stderr'"
check "the file's value is not logged" stderr_lacks "fake-file-pw"

# required and missing: exit 78, one line naming the variable and the reason
set +e
ve_read "$out" MUST
status=$?
set -e
check "required missing: exit status 78" test "$status" = 78
check "required missing: one line on stderr" test "$(wc -l <"$VE_TMP/stderr")" = 1
check "required missing: names the variable and the reason" \
        stderr_has "vaultenv: MUST: required variable is missing: not found in Vault (cannot reach Vault at $VAULT_ADDR"

VAULTENV_ON_MISSING=null check "VAULTENV_ON_MISSING=null: program continues" ve_read "$out" MUST PGPASSWORD
check "VAULTENV_ON_MISSING=null: NULL" ve_expect "$out" "MUST unset" "PGPASSWORD=fake-file-pw"
check "VAULTENV_ON_MISSING=null: the miss is still reported" stderr_has "MUST: not found in Vault"

# ---- case mapping in ASCII, whatever the program's locale ----
# A program that called setlocale(LC_ALL, "") under a Turkish locale: there
# libc's tolower('I') is not 'i' (the UTF-8 locale leaves 'I' as it is), so
# SECRETS_DIR/name and case-insensitive settings must not use it. The
# locale is compiled into this test's directory (LOCPATH), not installed.
printf 'fake-id-secret\n' >"$VE_TMP/secrets/api_id"
printf 'API_ID = secret/app/id\n' >"$VE_TMP/tr.map"
mkdir -p "$VE_TMP/locale"
localedef -i tr_TR -f UTF-8 "$VE_TMP/locale/tr_TR.UTF-8" >/dev/null 2>&1 || true
check "tr_TR.UTF-8 compiled (localedef, Debian's locales package)" test -d "$VE_TMP/locale/tr_TR.UTF-8"
lower_i=$(LOCPATH=$VE_TMP/locale LC_ALL=tr_TR.UTF-8 python3 -c '
import ctypes, locale
locale.setlocale(locale.LC_ALL, "")
print(ctypes.CDLL(None).tolower(ord("I")))') || lower_i=
check "tr_TR.UTF-8: libc's tolower('I') is not 'i' there (the case this test is about)" \
        test -n "$lower_i" -a "$lower_i" != 105
LOCPATH=$VE_TMP/locale LC_ALL=tr_TR.UTF-8 VAULTENV_MAP=$VE_TMP/tr.map VAULTENV_LOG=INFO VE_READ_OPTS=--setlocale \
        ve_read "$out" API_ID
check "setlocale() under tr_TR.UTF-8: API_ID read from SECRETS_DIR/api_id" ve_expect "$out" "API_ID=fake-id-secret"
check "setlocale() under tr_TR.UTF-8: VAULTENV_LOG=INFO is a known level" stderr_lacks "VAULTENV_LOG"
ve_done
