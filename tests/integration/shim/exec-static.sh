#!/bin/bash
# vaultenv exec and programs the shim cannot serve: Go programs (they read
# their initial environment block even with cgo, never libc's getenv) and
# statically linked ones (no dynamic loader, so nothing is preloaded).
# exec names such a program in one line (the line of `vaultenv check --
# PROGRAM`, naming --env), not a dynamic one; a script, for its shell;
# names marked inherit (the option, VAULTENV_INHERIT) reach it through its
# environment, and --env gives it every name. The Go programs are built
# here (ve_go_build), the static C one with gcc -static.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"
unset LD_PRELOAD VAULTENV_EAGER VAULTENV_INHERIT

if ! command -v go >/dev/null; then
        echo "# no go (Debian: golang-go): skipped"
        exit 77
fi

# ---- the programs: each writes "NAME=value" or "NAME unset" to OUT ----
mkdir -p "$VE_TMP/bin"
ve_go_build 0 "$VE_TMP/bin/go-static"
ve_go_build 1 "$VE_TMP/bin/go-cgo"
cat >"$VE_TMP/reader.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
        FILE *f = fopen(argv[1], "w");
        for (int i = 2; f && i < argc; i++) {
                const char *v = getenv(argv[i]);
                if (v)
                        fprintf(f, "%s=%s\n", argv[i], v);
                else
                        fprintf(f, "%s unset\n", argv[i]);
        }
        return !f || fclose(f) != 0;
}
C
gcc -static -O1 -o "$VE_TMP/bin/c-static" "$VE_TMP/reader.c"
printf '#!/bin/sh\nexec "$@"\n' >"$VE_TMP/bin/script"
chmod 755 "$VE_TMP/bin/script"
check "built: the Go programs (static and cgo) and the static C program" \
        test -x "$VE_TMP/bin/go-static" -a -x "$VE_TMP/bin/go-cgo" -a -x "$VE_TMP/bin/c-static"
check "the cgo program is dynamically linked" eval 'readelf -l "$VE_TMP/bin/go-cgo" | grep -q "program interpreter"'

ve_vault_start
pw="fake-static-pw-$(ve_random)"
tok="fake-static-go-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$pw\"}"
ve_kv2_put secret/app/go "{\"value\":\"$tok\"}"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' >"$VE_TMP/lazy.map"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' 'GO_TOKEN = secret/app/go inherit' >"$VE_TMP/inherit.map"
printf '%s\n' 'GO_TOKEN = secret/app/go inherit' 'MISSING = secret/app/none required inherit' >"$VE_TMP/required.map"
out=$VE_TMP/out
err=$VE_TMP/err
bin=$VE_TMP/bin

# said WHAT PATTERN: stderr is exactly one line, and it matches PATTERN
said() { [ "$(wc -l <"$err")" = 1 ] && grep -qE -- "$2" "$err"; }
silent() { ! grep -qE 'Go program|statically linked' "$err"; }
go_line='^vaultenv: .*: --env: a Go program reads the environment it started with, never getenv, also with cgo [(]or mark the names inherit[)]$'
static_line='^vaultenv: .*: --env: statically linked: no dynamic loader, so the shim is never loaded [(]or mark the names inherit[)]$'

# 1. lazy: the program gets nothing, and exec says so once, naming the fix
for p in go-static go-cgo c-static; do
        line=$go_line
        [ "$p" != c-static ] || line=$static_line
        rm -f "$out"
        "$VE_CLI" exec -m "$VE_TMP/lazy.map" -- "$bin/$p" "$out" PGPASSWORD 2>"$err"
        check "lazy, $p: one line says so and names the fix" said "$p" "${line/.\*/$bin/$p}"
        check "lazy, $p: the program gets nothing" ve_expect "$out" "PGPASSWORD unset"
        "$VE_CLI" exec --eager -m "$VE_TMP/lazy.map" -- "$bin/$p" "$out" PGPASSWORD 2>"$err"
        check "eager, $p: the line too" said "$p" "${line/.\*/$bin/$p}"
        "$VE_CLI" exec -q -m "$VE_TMP/lazy.map" -- "$bin/$p" "$out" PGPASSWORD 2>"$err"
        check "--quiet, $p: no line" test ! -s "$err"
done

# found on PATH, as exec finds it: the line names it as it was given
PATH="$bin:$PATH" "$VE_CLI" exec -m "$VE_TMP/lazy.map" -- go-static "$out" PGPASSWORD 2>"$err"
check "lazy, on PATH: the line names go-static, and the file found" said go-static "^vaultenv: go-static: --env: $bin/go-static: a Go program"

# not for a dynamic program; for a script, its shell's line (--eager)
"$VE_CLI" exec -m "$VE_TMP/lazy.map" -- "$VE_READENV" "$out" PGPASSWORD 2>"$err"
check "lazy, dynamic C program: no line" silent
check "lazy, dynamic C program: the shim serves it" ve_expect "$out" "PGPASSWORD=$pw"
"$VE_CLI" exec -m "$VE_TMP/lazy.map" -- /usr/bin/true 2>"$err"
check "lazy, /usr/bin/true: nothing said" test ! -s "$err"
"$VE_CLI" exec -m "$VE_TMP/lazy.map" -- "$bin/script" "$VE_READENV" "$out" PGPASSWORD 2>"$err"
check "lazy, a script: its shell's line, --eager" said script "^vaultenv: $bin/script: --eager: #!/bin/sh -> .*: a shell copies the environment"
check "lazy, a script: not called Go or static" silent
check "lazy, a script: its program is served" ve_expect "$out" "PGPASSWORD=$pw"

# 2. inherit: the marked name reaches each program; the other does not,
#    and the line is still said for it
for p in go-static go-cgo c-static; do
        rm -f "$out"
        "$VE_CLI" exec -m "$VE_TMP/inherit.map" -- "$bin/$p" "$out" GO_TOKEN PGPASSWORD 2>"$err"
        check "inherit, $p: the program sees the inherited value" ve_expect "$out" "GO_TOKEN=$tok" "PGPASSWORD unset"
        check "inherit, $p: the line for the name that is not inherited" said "$p" "$p: --env: "
done
"$VE_CLI" exec -m "$VE_TMP/inherit.map" -- "$VE_READENV" "$out" GO_TOKEN PGPASSWORD 2>"$err"
check "inherit, dynamic C program: both (inherited, served)" ve_expect "$out" "GO_TOKEN=$tok" "PGPASSWORD=$pw"

# VAULTENV_INHERIT: every mapped name inherited, so nothing left to say
for p in go-static go-cgo; do
        rm -f "$out"
        VAULTENV_INHERIT=PGPASSWORD "$VE_CLI" exec -m "$VE_TMP/lazy.map" -- "$bin/$p" "$out" PGPASSWORD 2>"$err"
        check "VAULTENV_INHERIT, $p: the program sees the value" ve_expect "$out" "PGPASSWORD=$pw"
        check "VAULTENV_INHERIT, $p: nothing said" test ! -s "$err"
done

# a required inherited name without a value stops exec before COMMAND
rm -f "$out"
set +e
"$VE_CLI" exec -m "$VE_TMP/required.map" -- "$bin/go-static" "$out" GO_TOKEN 2>"$err"
st=$?
set -e
check "inherit, required name missing: status 78" test "$st" = 78
check "inherit, required name missing: COMMAND did not run" test ! -e "$out"
check "inherit, required name missing: the message names it" grep -q "MISSING: required variable is missing" "$err"

# 3. --env: every name, and no line
for p in go-static go-cgo c-static; do
        rm -f "$out"
        "$VE_CLI" exec --env -m "$VE_TMP/inherit.map" -- "$bin/$p" "$out" GO_TOKEN PGPASSWORD 2>"$err"
        check "--env, $p: the program sees both values" ve_expect "$out" "GO_TOKEN=$tok" "PGPASSWORD=$pw"
        check "--env, $p: no line about the shim" silent
done
# 4. exec logs in for the inherited names; with a single-use AppRole secret
#    id the program's shim can only reuse that token through the sink
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/once '{"token_policies":["app-read"],"token_ttl":"1h","secret_id_num_uses":1}'
ve_auth_get GET auth/approle/role/once/role-id '' data.role_id >"$VE_TMP/rid"
(umask 077 && ve_auth_get POST auth/approle/role/once/secret-id '' data.secret_id >"$VE_TMP/sid")
mkdir -m 700 "$VE_TMP/run"
ve_reset_counts
rm -f "$out"
env -u VAULT_TOKEN VAULT_ROLE_ID_FILE="$VE_TMP/rid" VAULT_SECRET_ID_FILE="$VE_TMP/sid" \
        VAULTENV_TOKEN_SINK="$VE_TMP/run/token" \
        "$VE_CLI" exec -m "$VE_TMP/inherit.map" -- "$VE_READENV" "$out" GO_TOKEN PGPASSWORD 2>"$err"
check "single-use secret id, sink: the program has both names" ve_expect "$out" "GO_TOKEN=$tok" "PGPASSWORD=$pw"
check "single-use secret id, sink: one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
(umask 077 && ve_auth_get POST auth/approle/role/once/secret-id '' data.secret_id >"$VE_TMP/sid")
env -u VAULT_TOKEN VAULT_ROLE_ID_FILE="$VE_TMP/rid" VAULT_SECRET_ID_FILE="$VE_TMP/sid" \
        "$VE_CLI" exec -m "$VE_TMP/inherit.map" -- "$VE_READENV" "$out" GO_TOKEN PGPASSWORD 2>"$err"
check "single-use secret id, no sink: the inherited name only (the program's login is refused)" \
        ve_expect "$out" "GO_TOKEN=$tok" "PGPASSWORD unset"

check "no value reached stderr" eval '! grep -rqF -e "$pw" -e "$tok" "$err"'
ve_done
