#!/bin/bash
# Which runtimes ask libc's getenv for a variable when the program reads it
# (served lazily by the shim) and which read the environment they started
# with: the table in doc/runtimes.md ("Which runtimes the shim serves
# lazily") is written here. Each runtime runs under `vaultenv exec` with one
# mapped name that is not in the environment, lazily, with --eager and with
# --env, and writes what it saw to a file; `vaultenv check -- PROGRAM` must
# name the weakest mode that served every row of that program. The table
# of what was seen must be doc/runtimes.md's, between its markers:
# VE_REGEN_DOC=1 rewrites it there. Go also with the name marked inherit.
# A runtime that is not installed fails (scripts/deps installs them all).
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"
unset LD_PRELOAD VAULTENV_EAGER VAULTENV_INHERIT RT_SECRET

ve_vault_start
val="fake-rt-$(ve_random)"
ve_kv2_put secret/app/rt "{\"value\":\"$val\"}"
printf '%s\n' 'RT_SECRET = secret/app/rt' >"$VE_TMP/app.map"
printf '%s\n' 'RT_SECRET = secret/app/rt inherit' >"$VE_TMP/inherit.map"
out=$VE_TMP/out
err=$VE_TMP/err

# ---- the readers: each writes "RT_SECRET=value" or "RT_SECRET unset" to
# $out, run after the words given (the `vaultenv exec ... --` prefix) ----
cat >"$VE_TMP/reader.cc" <<'CXX'
#include <cstdlib>
#include <fstream>
int main(int argc, char **argv) {
        std::ofstream f(argv[1]);
        const char *v = std::getenv("RT_SECRET");
        f << (v ? std::string("RT_SECRET=") + v : std::string("RT_SECRET unset")) << "\n";
        return f.good() ? 0 : 1;
}
CXX
cat >"$VE_TMP/Reader.java" <<'JAVA'
import java.io.PrintWriter;
public class Reader {
    public static void main(String[] args) throws Exception {
        try (PrintWriter w = new PrintWriter(args[0])) {
            String v = System.getenv("RT_SECRET");
            w.println(v != null ? "RT_SECRET=" + v : "RT_SECRET unset");
        }
    }
}
JAVA
cat >"$VE_TMP/Makefile" <<'MAKE'
# make's variables from the environment: $(RT_SECRET), no shell involved
all: ; $(file >$(OUT),$(if $(filter undefined,$(origin RT_SECRET)),RT_SECRET unset,RT_SECRET=$(RT_SECRET)))
MAKE
command -v g++ >/dev/null && g++ -O1 -o "$VE_TMP/cxx-reader" "$VE_TMP/reader.cc"
command -v go >/dev/null && ve_go_build 1 "$VE_TMP/go-reader" && ve_go_build 0 "$VE_TMP/go-static-reader"

rt_c() { "$@" "$VE_READENV" "$out" RT_SECRET; }
rt_cxx() { "$@" "$VE_TMP/cxx-reader" "$out"; }
rt_ruby() { "$@" ruby -e 'v = ENV["RT_SECRET"]; File.write(ARGV[0], v ? "RT_SECRET=#{v}\n" : "RT_SECRET unset\n")' "$out"; }
rt_node() {
        "$@" node -e 'const v = process.env.RT_SECRET;
require("fs").writeFileSync(process.argv[1], v !== undefined ? "RT_SECRET=" + v + "\n" : "RT_SECRET unset\n")' "$out"
}
rt_php_getenv() { "$@" php -n -r '$v = getenv("RT_SECRET"); file_put_contents($argv[1], $v !== false ? "RT_SECRET=$v\n" : "RT_SECRET unset\n");' "$out"; }
rt_php_env() {
        "$@" php -n -d variables_order=EGPCS -r \
                'file_put_contents($argv[1], isset($_ENV["RT_SECRET"]) ? "RT_SECRET={$_ENV["RT_SECRET"]}\n" : "RT_SECRET unset\n");' "$out"
}
rt_python_environ() {
        "$@" python3 -c 'import os, sys
v = os.environ.get("RT_SECRET")
open(sys.argv[1], "w").write(f"RT_SECRET={v}\n" if v is not None else "RT_SECRET unset\n")' "$out"
}
rt_python_getenv() {
        "$@" python3 -c 'import os, sys
v = os.getenv("RT_SECRET")
open(sys.argv[1], "w").write(f"RT_SECRET={v}\n" if v is not None else "RT_SECRET unset\n")' "$out"
}
rt_perl() { "$@" perl -e 'open my $f, ">", $ARGV[0] or die; print $f (exists $ENV{RT_SECRET} ? "RT_SECRET=$ENV{RT_SECRET}\n" : "RT_SECRET unset\n")' "$out"; }
shell_reader='if [ -n "${RT_SECRET+x}" ]; then printf "RT_SECRET=%s\n" "$RT_SECRET"; else echo "RT_SECRET unset"; fi >"$0"'
rt_sh() { "$@" /bin/sh -c "$shell_reader" "$out"; }
rt_bash() { "$@" /bin/bash -c "$shell_reader" "$out"; }
rt_gawk() { "$@" gawk -v out="$out" 'BEGIN { if ("RT_SECRET" in ENVIRON) print "RT_SECRET=" ENVIRON["RT_SECRET"] >out; else print "RT_SECRET unset" >out }'; }
rt_make() { "$@" make -s -f "$VE_TMP/Makefile" OUT="$out"; }
rt_java() { "$@" java "$VE_TMP/Reader.java" "$out"; }
rt_go() { "$@" "$VE_TMP/go-reader" "$out" RT_SECRET; }
rt_go_static() { "$@" "$VE_TMP/go-static-reader" "$out" RT_SECRET; }

# KEY|doc/runtimes.md label: the rows, in the table's order
rows=(
        'c|C (`getenv`)'
        'cxx|C++ (`std::getenv`)'
        'ruby|Ruby `ENV`'
        'node|Node.js `process.env`'
        'php_getenv|PHP `getenv()`'
        'python_environ|Python `os.environ`'
        'python_getenv|Python `os.getenv`'
        'perl|Perl `%ENV`'
        'sh|sh (dash) `$VAR`'
        'bash|bash `$VAR`'
        'gawk|awk (gawk) `ENVIRON`'
        'make|make `$(VAR)`'
        'php_env|PHP `$_ENV`'
        'java|Java `System.getenv`'
        'go|Go `os.Getenv` (cgo)'
        'go_static|Go `os.Getenv` (static)'
)
# the program each row runs, as `vaultenv check -- PROGRAM` is given it
declare -A program=(
        [c]=$VE_READENV [cxx]=$VE_TMP/cxx-reader [ruby]=ruby [node]=node [php_getenv]=php [php_env]=php
        [python_environ]=python3 [python_getenv]=python3 [perl]=perl [sh]=/bin/sh [bash]=/bin/bash
        [gawk]=gawk [make]=make [java]=java [go]=$VE_TMP/go-reader [go_static]=$VE_TMP/go-static-reader
)

# seen OUT: "yes" when the reader saw Vault's value, "no" when it saw
# nothing, anything else (the reader failed) is left as is
seen() {
        if [ ! -s "$out" ]; then echo "failed"
        elif cmp -s "$out" <(printf 'RT_SECRET=%s\n' "$val"); then echo yes
        elif cmp -s "$out" <(printf 'RT_SECRET unset\n'); then echo no
        else echo "other"
        fi
}
# run KEY ARGS...: runs the reader under `vaultenv exec ARGS... --`
run() {
        local key=$1
        shift
        rm -f "$out"
        "rt_$key" "$VE_CLI" exec "$@" -- 2>"$err" || true
        seen
}
# rank MODE: lazy 0, --eager 1, --env 2, anything else 3 (none works)
rank() { case $1 in lazy) echo 0 ;; --eager) echo 1 ;; --env) echo 2 ;; *) echo 3 ;; esac; }
words=(lazy --eager --env none)

# Each row in each mode; the table as observed, with the mode check gives
# the row's program.
table=$VE_TMP/table.md
printf '%s\n' '| runtime, how the program reads | served lazily | with `--eager` | with `--env` | `vaultenv check -- PROGRAM` says |' \
        '|---|---|---|---|---|' >"$table"
declare -A needs        # program: the weakest mode that served all its rows
declare -A says         # program: check's word
for row in "${rows[@]}"; do
        IFS='|' read -r key label <<<"$row"
        lazy=$(run "$key" -m "$VE_TMP/app.map")
        eager=$(run "$key" --eager -m "$VE_TMP/app.map")
        env=$(run "$key" --env -m "$VE_TMP/app.map")
        p=${program[$key]}
        if [ -z "${says[$p]+x}" ]; then
                says[$p]=$("$VE_CLI" check -m "$VE_TMP/app.map" -- "$p" 2>/dev/null | head -n1 | awk -F': ' '{ print $2 }')
                needs[$p]=0
        fi
        if [ "$lazy" = yes ]; then r=0; elif [ "$eager" = yes ]; then r=1; elif [ "$env" = yes ]; then r=2; else r=3; fi
        [ "$r" -le "${needs[$p]}" ] || needs[$p]=$r
        printf '| %s | %s | %s | %s | `%s` |\n' "$label" "$lazy" "$eager" "$env" "${says[$p]:-nothing}" >>"$table"
done
for p in "${!needs[@]}"; do
        want=${words[${needs[$p]}]}
        check "vaultenv check -- $p says $want, the weakest mode that served each of its rows (said ${says[$p]:-nothing})" \
                test "${says[$p]}" = "$want"
done

# doc/runtimes.md's table is the one written here, between its markers;
# VE_REGEN_DOC=1 writes it there instead of comparing.
doc=$VE_SOURCE_ROOT/doc/runtimes.md
begin='<!-- runtimes table: written by tests/integration/shim/runtimes.sh (VE_REGEN_DOC=1); do not edit -->'
end='<!-- end of the runtimes table -->'
doc_block() { awk -v b="$begin" -v e="$end" '$0 == e { on = 0 } on { print } $0 == b { on = 1 }' "$doc"; }
check "doc/runtimes.md has the table's markers" eval 'grep -qxF -- "$begin" "$doc" && grep -qxF -- "$end" "$doc"'
if [ "${VE_REGEN_DOC:-}" = 1 ]; then
        awk -v b="$begin" -v e="$end" -v t="$table" '
                $0 == e { while ((getline l < t) > 0) print l; on = 0 }
                !on { print }
                $0 == b { on = 1 }' "$doc" >"$VE_TMP/runtimes.md"
        cat "$VE_TMP/runtimes.md" >"$doc"
        echo "# VE_REGEN_DOC=1: $doc's table rewritten"
fi
if doc_block | cmp -s - "$table"; then
        ok "doc/runtimes.md's table is the one observed"
else
        fail "doc/runtimes.md's table is the one observed (VE_REGEN_DOC=1 rewrites it); the difference:"
        doc_block | diff -u --label doc/runtimes.md --label observed - "$table" | sed 's/^/# /'
fi

# Go sees the value only in its starting environment: inherit, --env
for key in go go_static; do
        got=$(run "$key" -m "$VE_TMP/inherit.map")
        check "$key: with the name marked inherit, seen (was $got)" test "$got" = yes
done
check "no value reached stderr" eval '! grep -qF -- "$val" "$err"'
ve_done
