#!/bin/bash
# Which runtimes ask libc's getenv for a variable when the program reads it
# (served lazily by the shim) and which read the environment they started
# with: each row of the table in doc/runtimes.md ("Which runtimes the shim
# serves lazily") is asserted here. Each runtime runs under `vaultenv exec` with one mapped
# name that is not in the environment and writes what it saw to a file:
# lazily (the row's claim: seen or not), with --eager (seen, but by Go),
# and, for Go, with the name marked inherit and with --env (seen).
# Every row is also checked against doc/runtimes.md, so the table says what was
# found here. A runtime that is not installed fails its rows (scripts/deps
# installs them all).
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

# KEY|doc/runtimes.md label|lazy (yes: served on the first getenv)|eager
rows=(
        'c|C (`getenv`)|yes|yes'
        'cxx|C++ (`std::getenv`)|yes|yes'
        'ruby|Ruby `ENV`|yes|yes'
        'node|Node.js `process.env`|yes|yes'
        'php_getenv|PHP `getenv()`|yes|yes'
        'python_environ|Python `os.environ`|no|yes'
        'python_getenv|Python `os.getenv`|no|yes'
        'perl|Perl `%ENV`|no|yes'
        'sh|sh (dash) `$VAR`|no|yes'
        'bash|bash `$VAR`|no|yes'
        'gawk|awk (gawk) `ENVIRON`|no|yes'
        'make|make `$(VAR)`|no|yes'
        'php_env|PHP `$_ENV`|no|yes'
        'java|Java `System.getenv`|no|yes'
        'go|Go `os.Getenv` (cgo)|no|no'
        'go_static|Go `os.Getenv` (static)|no|no'
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
# The doc/runtimes.md row of LABEL: its cells after the label, "|"-joined
doc_row() {
        awk -v label="$1" -F' *[|] *' '$2 == label { print $3 "|" $4; exit }' "$VE_SOURCE_ROOT/doc/runtimes.md"
}

for row in "${rows[@]}"; do
        IFS='|' read -r key label lazy eager <<<"$row"
        got=$(run "$key" -m "$VE_TMP/app.map")
        check "$label: lazily, seen=$lazy (was $got)" test "$got" = "$lazy"
        got=$(run "$key" --eager -m "$VE_TMP/app.map")
        check "$label: with --eager, seen=$eager (was $got)" test "$got" = "$eager"
        check "$label: doc/runtimes.md's table row says lazy=$lazy, eager=$eager" test "$(doc_row "$label")" = "$lazy|$eager"
done

# Go sees the value only in its starting environment: inherit, --env
for key in go go_static; do
        got=$(run "$key" -m "$VE_TMP/inherit.map")
        check "$key: with the name marked inherit, seen (was $got)" test "$got" = yes
        got=$(run "$key" --env -m "$VE_TMP/app.map")
        check "$key: with --env, seen (was $got)" test "$got" = yes
done
check "no value reached stderr" eval '! grep -qF -- "$val" "$err"'
ve_done
