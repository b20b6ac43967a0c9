#!/bin/bash
# vaultenv learn: records the names a program (and its children) asks
# getenv() for, never a value, with no mapping loaded and no Vault request;
# pass-through stays right (threads, fork, exec); the skeleton lists secrets
# first, others commented out, well-known names apart; once its placeholder
# is filled in it passes `vaultenv check`, before it does not; -o refuses to
# overwrite; the records file is private and removed; the exit status is
# the command's.
. "$(dirname "$0")/../lib.sh"

out=$VE_TMP/out
draft=$VE_TMP/draft.map
no_values() { ! grep -qF 'fake-' "$@"; }
# what readenv writes for a variable of this environment
envline() { if [ -n "${!1+x}" ]; then echo "$1=${!1}"; else echo "$1 unset"; fi; }
# an active (mapped) entry of NAME / a commented one
entry() { grep -qE "^$1 += TODO#$2 +# read by: $3\$" "$draft"; }
commented() { grep -qE "^# $1 = TODO#$2 +# read by: $3\$" "$draft"; }

# A mapping and a Vault that learning mode must not touch.
ve_vault_start
ve_kv2_put secret/app/db '{"db_password":"fake-vault-pw"}'
printf 'DB_PASSWORD = secret/app/db#db_password eager\n' >"$VE_TMP/existing.map"
export VAULTENV_MAP=$VE_TMP/existing.map
mkdir -p "$VE_TMP/tmpd"
ve_reset_counts

rc=0
# 1. one program: names recorded, values passed through untouched
DB_PASSWORD=fake-env-pw APP_MODE=fake-mode TMPDIR=$VE_TMP/tmpd \
        "$VE_CLI" learn -o "$draft" -- "$VE_READENV" "$out" DB_PASSWORD API_TOKEN DATABASE_URL APP_MODE HOME LANG \
        LC_ALL VAULT_ADDR DB_PASSWORD not-a-name >"$VE_TMP/stdout" 2>"$VE_TMP/stderr" || rc=$?
check "exit status 0 (the command's)" test "$rc" = 0
check "pass-through: the program got the environment's values, not Vault's" ve_expect "$out" \
        DB_PASSWORD=fake-env-pw "API_TOKEN unset" "DATABASE_URL unset" APP_MODE=fake-mode "$(envline HOME)" \
        "$(envline LANG)" "$(envline LC_ALL)" "VAULT_ADDR=$VAULT_ADDR" \
        DB_PASSWORD=fake-env-pw "not-a-name unset"
check "no Vault request (nothing resolved, no eager)" test "$(ve_count "")" = 0
check "secrets are entries, sorted, with the program" \
        eval 'entry API_TOKEN api_token readenv && entry DATABASE_URL database_url readenv && entry DB_PASSWORD db_password readenv'
check "secret entries come first, in name order" \
        test "$(grep -E '^[A-Z_]+ += TODO#' "$draft" | cut -d' ' -f1 | tr '\n' ' ')" = "API_TOKEN DATABASE_URL DB_PASSWORD "
check "other names are commented-out entries" commented APP_MODE app_mode readenv
check "well-known names are listed apart, not as entries" \
        eval 'grep -qE "^#   HOME LANG LC_ALL VAULT_ADDR\$" "$draft" && ! grep -qE "^#? ?(HOME|LANG|VAULT_ADDR) += " "$draft"'
# (the header quotes the command line: left out of these two)
check "each name once" test "$(grep -vF "$VE_READENV" "$draft" | grep -c 'DB_PASSWORD')" = 1
check "invalid names are left out" eval '! grep -vF "$VE_READENV" "$draft" | grep -qF "not-a-name"'
check "skeleton went to -o, nothing on stdout" test ! -s "$VE_TMP/stdout"
check "a status line on stderr" grep -qF "vaultenv: learn: 4 name(s) to consider, 3 looking like secrets; skeleton written to $draft" "$VE_TMP/stderr"
check "the records file was removed" test -z "$(ls -A "$VE_TMP/tmpd")"
check "no value in the skeleton or the messages" no_values "$draft" "$VE_TMP/stderr" "$VE_TMP/stdout"

# 2. the skeleton as drafted is refused; filled in, vaultenv check passes
rc=0
"$VE_CLI" check -m "$draft" >"$VE_TMP/check.out" 2>"$VE_TMP/check.err" || rc=$?
check "unfinished skeleton: check refuses it (78)" test "$rc" = 78
check "unfinished skeleton: the message names file, line and reason" \
        grep -qE "draft\.map:[0-9]+:[0-9]+: reference needs MOUNT/PATH" "$VE_TMP/check.err"
sed 's|= TODO#|= secret/app/db#|' "$draft" >"$VE_TMP/filled.map"
ve_kv2_put secret/app/db '{"db_password":"fake-vault-pw","api_token":"fake-token","database_url":"fake-url"}'
rc=0
"$VE_CLI" check -m "$VE_TMP/filled.map" >"$VE_TMP/check.out" 2>"$VE_TMP/check.err" || rc=$?
check "filled in with sed: vaultenv check passes (0)" test "$rc" = 0
check "filled in: the three secrets are mapped and found" \
        test "$(grep -cE '^(API_TOKEN|DATABASE_URL|DB_PASSWORD) +found' "$VE_TMP/check.out")" = 3
check "filled in: the commented names stay unmapped" eval '! grep -q "^APP_MODE" "$VE_TMP/check.out"'
check "check printed no value" no_values "$VE_TMP/check.out" "$VE_TMP/check.err"

# 3. children inherit the mode (exec through a shell, fork); two programs
#    reading the same name are both named; threads and fork pass through
cp "$VE_READENV" "$VE_TMP/worker"
rc=0
SHARED_SECRET=fake-shared "$VE_CLI" learn -q -o "$draft" --force -- sh -c '
        "$1" "$2.1" SHARED_SECRET ONLY_APP_KEY &&
        "$3" --threads 8 "$2.2" SHARED_SECRET ONLY_WORKER_TOKEN &&
        "$3" --fork "$2.3" FORK_PARENT_TOKEN FORK_CHILD_TOKEN
' sh "$VE_READENV" "$out" "$VE_TMP/worker" 2>"$VE_TMP/stderr" || rc=$?
check "children: exit status 0" test "$rc" = 0
check "children: --quiet prints no status line" test ! -s "$VE_TMP/stderr"
check "children: a name read by two programs lists both" entry SHARED_SECRET shared_secret "readenv, worker"
check "children: each program's own names" \
        eval 'entry ONLY_APP_KEY only_app_key readenv && entry ONLY_WORKER_TOKEN only_worker_token worker'
check "fork: the parent's and the forked child's names" \
        eval 'entry FORK_PARENT_TOKEN fork_parent_token worker && entry FORK_CHILD_TOKEN fork_child_token worker'
check "threads: pass-through, one pointer for all threads" ve_expect "$out.2" "SHARED_SECRET=fake-shared" \
        "ONLY_WORKER_TOKEN unset" "threads same"

# 4. exit status and signals are the command's; the skeleton is still written
rc=0
"$VE_CLI" learn -q -o "$VE_TMP/s7.map" -- sh -c 'exit 7' 2>/dev/null || rc=$?
check "exit status passed on (7)" test "$rc" = 7
check "a skeleton even so" grep -qF "asked for no variable" "$VE_TMP/s7.map"
rc=0
"$VE_CLI" learn -q -o "$VE_TMP/s9.map" -- sh -c 'kill -TERM $$' 2>/dev/null || rc=$?
check "killed by a signal: 128 + 15" test "$rc" = 143
rc=0
"$VE_CLI" learn -q -o "$VE_TMP/s127.map" -- "$VE_TMP/no-such-program" 2>"$VE_TMP/stderr" || rc=$?
check "command not found: 127 and a message" eval 'test $rc = 127 && grep -qF "no-such-program: No such file or directory" "$VE_TMP/stderr"'

# 5. -o does not overwrite without --force (and says so before running)
echo "keep me" >"$VE_TMP/exists.map"
rc=0
"$VE_CLI" learn -o "$VE_TMP/exists.map" -- sh -c 'touch "$0"' "$VE_TMP/ran" 2>"$VE_TMP/stderr" || rc=$?
check "existing -o file: exit 1, untouched, command not run" \
        eval 'test $rc = 1 && test "$(cat "$VE_TMP/exists.map")" = "keep me" && test ! -e "$VE_TMP/ran"'
check "existing -o file: one message naming it" \
        grep -qF "vaultenv: error: learn: $VE_TMP/exists.map exists; not overwritten (use --force)" "$VE_TMP/stderr"

# 6. without -o: the skeleton on stdout; the records file is 0600 while it runs
TMPDIR=$VE_TMP/tmpd "$VE_CLI" learn -q -- sh -c 'stat -c %a "$VAULTENV_LEARN" >"$0"; "$1" "$2" X_PASSWORD' \
        "$VE_TMP/mode" "$VE_READENV" "$out" >"$VE_TMP/stdout" 2>"$VE_TMP/stderr"
check "records file: mode 600 while recording" test "$(cat "$VE_TMP/mode")" = 600
check "records file: inside \$TMPDIR, removed afterwards" test -z "$(ls -A "$VE_TMP/tmpd")"
check "stdout: the skeleton" grep -qE '^X_PASSWORD += TODO#x_password +# read by: readenv$' "$VE_TMP/stdout"

# 7. an existing LD_PRELOAD is kept (the shim first)
LD_PRELOAD=/nonexistent/libnothing.so "$VE_CLI" learn -q -- sh -c 'printf %s "$LD_PRELOAD" >"$0"' "$VE_TMP/preload" \
        >/dev/null 2>&1
check "LD_PRELOAD: shim first, the old list kept" test "$(cat "$VE_TMP/preload")" = "$VE_PRELOAD:/nonexistent/libnothing.so" \
        -o "$(cat "$VE_TMP/preload")" = "$VE_PRELOAD_PREFIX$(readlink -f "$VE_SHIM"):/nonexistent/libnothing.so"

# 8. a records file that cannot be opened: said once, pass-through goes on
APP_MODE=fake-mode VAULTENV_LEARN=$VE_TMP/no-such-dir/records LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" APP_MODE \
        B_TOKEN C_TOKEN 2>"$VE_TMP/stderr"
check "unopenable records file: values pass through" ve_expect "$out" APP_MODE=fake-mode "B_TOKEN unset" "C_TOKEN unset"
check "unopenable records file: exactly one message naming it" test "$(grep -cF \
        "vaultenv: error: VAULTENV_LEARN: cannot open $VE_TMP/no-such-dir/records: No such file or directory" \
        "$VE_TMP/stderr")" = 1
check "unopenable records file: no other message" test "$(wc -l <"$VE_TMP/stderr")" = 1

# 9. usage
rc=0
"$VE_CLI" learn --help >"$VE_TMP/help" 2>&1 || rc=$?
check "--help: exit 0 and usage" eval 'test $rc = 0 && grep -qF "Usage: vaultenv learn" "$VE_TMP/help"'
rc=0
"$VE_CLI" learn 2>"$VE_TMP/stderr" || rc=$?
check "no COMMAND: exit 2 and a message" eval 'test $rc = 2 && grep -qF "missing COMMAND" "$VE_TMP/stderr"'
rc=0
"$VE_CLI" learn --bogus true 2>/dev/null || rc=$?
check "bad option: exit 2" test "$rc" = 2

ve_done
