#!/bin/bash
# vaultenv check -- PROGRAM: the one line "PROGRAM: MODE: REASON" for a
# dynamic C program (lazy), an interpreter found on PATH, through a #! line
# (/usr/bin/env, env -S), without one (/bin/sh), through env(1) as the
# command (--eager), a static or Go program (--env); the exit status left to
# the names, 127/126 for a PROGRAM that cannot run, the "diagnosis" object
# of --json. vaultenv exec says the same line when its mode is weaker than
# that one, and only then (not with -q). runtimes.sh checks each mode
# against what each runtime really does.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"
unset LD_PRELOAD VAULTENV_EAGER VAULTENV_INHERIT

ve_vault_start
val="fake-diag-$(ve_random)"
ve_kv2_put secret/app/diag "{\"value\":\"$val\"}"
printf '%s\n' 'DIAG = secret/app/diag required' >"$VE_TMP/app.map"
printf '%s\n' 'DIAG = secret/app/diag required' 'NONE = secret/app/none required' >"$VE_TMP/missing.map"
printf '%s\n' 'DIAG = secret/app/diag eager' >"$VE_TMP/eager.map"
printf '%s\n' 'DIAG = secret/app/diag inherit' >"$VE_TMP/inherit.map"
out=$VE_TMP/out
err=$VE_TMP/err
bin=$VE_TMP/bin
mkdir -p "$bin"

# ---- the programs ----
printf '#!/usr/bin/env python3\nprint()\n' >"$bin/env.py"
printf '#!/usr/bin/env -S python3 -u\nprint()\n' >"$bin/split.py"
printf '#!/usr/bin/perl -w\n' >"$bin/app.pl"
printf 'echo no shebang\n' >"$bin/plain"
printf '#!/no/such/interpreter\n' >"$bin/orphan"
printf '#!/bin/sh\n' >"$bin/noexec"
chmod 755 "$bin/env.py" "$bin/split.py" "$bin/app.pl" "$bin/plain" "$bin/orphan"
printf 'int main(void) { return 0; }\n' >"$VE_TMP/s.c"
gcc -static -O1 -o "$bin/c-static" "$VE_TMP/s.c"
have_go=false
command -v go >/dev/null && ve_go_build 1 "$bin/go-cgo" && have_go=true

# line ARGS...: `vaultenv check -m app.map -- ARGS`, its first stdout line
# in $out; the status in $r
line() {
        "$VE_CLI" check -m "$VE_TMP/app.map" -- "$@" >"$out.all" 2>"$err" && r=0 || r=$?
        head -n1 "$out.all" >"$out"
}
# says PATTERN: the line matches it (grep -E)
says() { grep -qE -- "$1" "$out"; }

# ---- check: the line ----
line "$VE_READENV"
check "dynamic C program: lazy" says "^$VE_READENV: lazy: dynamically linked: the shim answers its getenv calls\$"
check "dynamic C program: the names follow, exit 0" bash -c "[ $r = 0 ] && grep -qE '^DIAG +found ' '$out.all'"
line python3
check "python3 on PATH: --eager, the file that runs named" says '^python3: --eager: .*: .*(Python copies the environment into os.environ|a shell copies)'
line /usr/bin/python3
check "/usr/bin/python3: --eager, its real name" says '^/usr/bin/python3: --eager: /usr/[a-z/]*python3[.0-9]*: Python copies the environment into os.environ at start'
line "$bin/env.py"
check "#!/usr/bin/env python3: --eager, through env" says "^$bin/env.py: --eager: #!/usr/bin/env python3 -> .*: (Python|a shell)"
line "$bin/split.py"
check "#!/usr/bin/env -S python3 -u: --eager" says "^$bin/split.py: --eager: #!/usr/bin/env -S python3 -u -> "
line "$bin/app.pl"
check "#!/usr/bin/perl -w: --eager, Perl" says "^$bin/app.pl: --eager: #!/usr/bin/perl -w -> /usr/bin/perl: Perl copies the environment into %ENV at start\$"
line "$bin/plain"
check "no #! line: /bin/sh, resolved" says "^$bin/plain: --eager: no #! line, so /bin/sh runs it -> /usr/bin/[a-z]*sh: a shell copies"
line /bin/sh
check "/bin/sh: the shell it is" says '^/bin/sh: --eager: /usr/bin/(dash|bash): a shell copies the environment into its variables at start$'
line env A=1 -u HOME /usr/bin/perl -e 1
check "env(1) as the command: the program it runs" says '^env: --eager: env /usr/bin/perl -> /usr/bin/perl: Perl'
line ruby -e 1
check "ruby: lazy" says '^ruby: lazy: .*: Ruby'"'"'s ENV asks getenv on each read$'
line "$bin/c-static"
check "static C program: --env" says "^$bin/c-static: --env: statically linked: .*or mark the names inherit"
if $have_go; then
        line "$bin/go-cgo"
        check "Go program with cgo: --env" says "^$bin/go-cgo: --env: a Go program reads the environment it started with"
fi

# ---- check: the exit status is the names' ----
"$VE_CLI" check -m "$VE_TMP/missing.map" -- "$bin/c-static" >"$out" 2>"$err" && r=0 || r=$?
check "a required name missing: 1, the line still first" bash -c "[ $r = 1 ] && head -n1 '$out' | grep -q -- ': --env: '"
"$VE_CLI" check -q -m "$VE_TMP/app.map" -- python3 >"$out" 2>"$err" && r=0 || r=$?
check "-q: the line is a result: on stdout, exit 0" bash -c "[ $r = 0 ] && grep -q '^python3: --eager: ' '$out' && [ ! -s '$err' ]"
for p in no-such-program "$bin/no-such-program" "$bin/orphan"; do
        "$VE_CLI" check -m "$VE_TMP/app.map" -- "$p" >"$out" 2>"$err" && r=0 || r=$?
        check "$p: 127, one line, nothing on stdout" bash -c "[ $r = 127 ] && [ \"\$(wc -l <'$err')\" = 1 ] && [ ! -s '$out' ]"
done
check "a missing #! interpreter is said so" grep -q "orphan: its #! interpreter (or the program env runs) is not found" "$err"
for p in "$bin/noexec" "$bin" "$VE_TMP/s.c"; do
        "$VE_CLI" check -m "$VE_TMP/app.map" -- "$p" >"$out" 2>"$err" && r=0 || r=$?
        check "$p: 126, not an executable file" bash -c "[ $r = 126 ] && grep -q ': not an executable file (or not readable)\$' '$err'"
done
printf '1BAD = x\n' >"$VE_TMP/bad.map"
"$VE_CLI" check -m "$VE_TMP/bad.map" -- python3 >"$out" 2>"$err" && r=0 || r=$?
check "a bad mapping: still 78" test "$r" = 78

# ---- check --json: the diagnosis object ----
"$VE_CLI" check --json -m "$VE_TMP/app.map" -- "$bin/env.py" >"$out" 2>"$err" && r=0 || r=$?
check "--json: diagnosis {program, path, mode, reason}, with the names" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
g = d["diagnosis"]
ok = (d["ok"] and d["names"][0]["name"] == "DIAG" and g["program"] == sys.argv[2] and g["mode"] == "--eager"
      and g["reason"].startswith("#!/usr/bin/env python3 -> ") and g["path"].startswith("/"))
sys.exit(0 if ok else 1)' "$out" "$bin/env.py"
"$VE_CLI" check --json -m "$VE_TMP/app.map" >"$out" 2>"$err"
check "--json without PROGRAM: no diagnosis" python3 -c '
import json, sys
sys.exit(0 if "diagnosis" not in json.load(open(sys.argv[1])) else 1)' "$out"

# ---- exec: the same line, when the mode cannot serve COMMAND ----
# exec_says ARGS...: `vaultenv exec ARGS`; stderr in $err
exec_says() { "$VE_CLI" exec "$@" 2>"$err" >/dev/null || true; }
# one PATTERN: stderr is exactly one line, matching
one() { [ "$(wc -l <"$err")" = 1 ] && grep -qE -- "$1" "$err"; }
exec_says -m "$VE_TMP/app.map" -- /usr/bin/perl -e 1
check "exec lazily, perl: the check line" one '^vaultenv: /usr/bin/perl: --eager: Perl copies the environment into %ENV at start$'
"$VE_CLI" check -m "$VE_TMP/app.map" -- /usr/bin/perl >"$out" 2>/dev/null
check "exec's line is check's line" bash -c "[ \"\$(head -n1 '$out')\" = \"\$(sed 's/^vaultenv: //' '$err')\" ]"
exec_says -q -m "$VE_TMP/app.map" -- /usr/bin/perl -e 1
check "exec -q: nothing" test ! -s "$err"
exec_says --eager -m "$VE_TMP/app.map" -- /usr/bin/perl -e 1
check "exec --eager, perl: nothing" test ! -s "$err"
VAULTENV_EAGER=1 exec_says -m "$VE_TMP/app.map" -- /usr/bin/perl -e 1
check "VAULTENV_EAGER=1, perl: nothing" test ! -s "$err"
exec_says -m "$VE_TMP/eager.map" -- /usr/bin/perl -e 1
check "every name eager by its option, perl: nothing" test ! -s "$err"
exec_says -m "$VE_TMP/app.map" -- env A=1 perl -e 1
check "exec lazily, env A=1 perl: the line" one '^vaultenv: env: --eager: env perl -> /usr/bin/perl: Perl'
exec_says -m "$VE_TMP/app.map" -- "$bin/plain"
check "exec lazily, a script without #!: its shell's line" one "^vaultenv: $bin/plain: --eager: no #! line"
exec_says -m "$VE_TMP/app.map" -- ruby -e 1
check "exec lazily, ruby: nothing" test ! -s "$err"
exec_says -m "$VE_TMP/app.map" -- "$VE_READENV" "$VE_TMP/r" DIAG
check "exec lazily, a dynamic C program: nothing" test ! -s "$err"
exec_says --eager -m "$VE_TMP/app.map" -- "$bin/c-static"
check "exec --eager, static: --env" one "^vaultenv: $bin/c-static: --env: statically linked"
exec_says --env -m "$VE_TMP/app.map" -- "$bin/c-static"
check "exec --env, static: no such line" eval '! grep -q "statically linked" "$err"'
exec_says -m "$VE_TMP/inherit.map" -- "$bin/c-static"
check "every name inherited, static: nothing" test ! -s "$err"
exec_says -m "$VE_TMP/app.map" -- "$bin/no-such-program"
check "exec, a missing COMMAND: only execvp's error" one "no-such-program: No such file or directory"
check "no value in any output" eval '! grep -rqF -- "$val" "$out" "$out.all" "$err"'
ve_done
