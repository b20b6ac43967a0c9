#!/bin/bash
# The preloaded object built alone (-Dcore=false), in programs of the C
# library it was built for (scripts/test: musl): what it exports; unmapped
# names pass through; learning mode; a mapped name's lookup says once, in one line, that
# the core cannot be loaded and why, and the program goes on with the
# documented fallback (default=) or NULL; exec hygiene: a value eager mode
# placed in the environment (the default, here) reaches no child's
# /proc/PID/environ through the exec family, posix_spawn, system or popen,
# unless marked inherit.
. "$(dirname "$0")/../integration/lib.sh"
: "${VE_EXECPROG:?}"

# The programs are of the same libc as the shim (musl's libc.so, or
# glibc's libc.so.6), else this tests the other one.
libc_of() { readelf -d "$1" | sed -n 's/.*NEEDED.*\[\(libc\.so[^]]*\)\].*/\1/p'; }
shim_libc=$(libc_of "$VE_SHIM")
check "readenv and execprog link the shim's C library ($shim_libc)" eval \
        '[ -n "$shim_libc" ] && [ "$(libc_of "$VE_READENV")" = "$shim_libc" ] && [ "$(libc_of "$VE_EXECPROG")" = "$shim_libc" ]'

# Only the interposed functions, and execveat only where libc has it.
want="execl execle execlp execv execve execveat execvp execvpe fexecve getenv pclose popen posix_spawn posix_spawnp secure_getenv system"
[ "$VE_HAVE_EXECVEAT" = 1 ] || want=${want/execveat /}
syms=$(nm -D --defined-only "$VE_SHIM" | awk '{print $3}' | sort | tr '\n' ' ')
check "the shim exports only the interposed functions" test "$syms" = "$want "
needed=$(readelf -d "$VE_SHIM" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
check "the shim needs the C library only ($needed)" eval '! [[ "$needed" =~ curl|ssl|crypto|cjson ]]'
check "no core was built" test ! -e "$(dirname "$VE_SHIM")/libvaultenv-core.so"

out=$VE_TMP/out
err=$VE_TMP/stderr
export PLAIN=fake-plain
# pre PROGRAM...: with the shim preloaded. Only into the programs built
# with the shim's libc: the host's tools (cmp, awk) may be of another.
pre() { LD_PRELOAD=$VE_SHIM "$@"; }

# Pass-through: no mapping file, and a mapping whose names are not read.
printf '%s\n' 'PGPASSWORD = secret/app/db#password' 'PGUSER = secret/app/db#user' >"$VE_TMP/app.map"
check "pass-through without a mapping" eval \
        'pre "$VE_READENV" "$out" PLAIN NOT_SET 2>"$err" && ve_expect "$out" "PLAIN=fake-plain" "NOT_SET unset"'
check "pass-through without a mapping: nothing on stderr" test ! -s "$err"
check "pass-through of unmapped names beside a mapping" eval \
        'VAULTENV_MAP=$VE_TMP/app.map pre "$VE_READENV" "$out" PLAIN NOT_SET 2>"$err" && ve_expect "$out" "PLAIN=fake-plain" "NOT_SET unset"'
check "no mapped name read: the core is not loaded, nothing on stderr" test ! -s "$err"
check "secure_getenv passes through" eval \
        'pre "$VE_READENV" --secure "$out" PLAIN 2>"$err" && ve_expect "$out" "PLAIN=fake-plain"'

# Learning mode records each name with the program's short name (musl has
# program_invocation_short_name, as glibc): the file must exist already.
: >"$VE_TMP/learn"
check "learning mode: the program runs, values pass through" eval \
        'VAULTENV_LEARN=$VE_TMP/learn pre "$VE_READENV" "$out" PLAIN NOT_SET 2>"$err" && ve_expect "$out" "PLAIN=fake-plain" "NOT_SET unset"'
check "learning mode: each name with the program's name" \
        test "$(cat "$VE_TMP/learn")" = "$(printf 'PLAIN\treadenv\nNOT_SET\treadenv')"

# The core cannot be loaded: one line naming it and why, once per process
# however many names are read; the program goes on.
core_lines() { grep -c 'cannot load .*libvaultenv-core\.so: .*No such file' "$err" || true; }
check "mapped names, no core: the program goes on" eval \
        'VAULTENV_MAP=$VE_TMP/app.map pre "$VE_READENV" "$out" PGPASSWORD PGUSER PLAIN 2>"$err"'
check "mapped names, no core: NULL, the others pass through" ve_expect "$out" "PGPASSWORD unset" "PGUSER unset" "PLAIN=fake-plain"
check "mapped names, no core: one line names the core and the reason" test "$(core_lines)" = 1
check "mapped names, no core: then one line per name (resolution.md)" \
        test "$(grep -c 'not found in Vault (secret/app/db: the Vault client could not be loaded) nor any fallback' "$err")" = 2
check "mapped names, no core: nothing else on stderr" test "$(wc -l <"$err")" = 3
printf '%s\n' 'PGPASSWORD = secret/app/db#password default=fake-default' >"$VE_TMP/default.map"
check "a default=: the program goes on" eval \
        'VAULTENV_MAP=$VE_TMP/default.map pre "$VE_READENV" "$out" PGPASSWORD 2>"$err"'
check "a default=: the fallback's value" ve_expect "$out" "PGPASSWORD=fake-default"
check "a default=: exactly one line on stderr, naming the core and the reason" \
        eval '[ "$(wc -l <"$err")" = 1 ] && [ "$(core_lines)" = 1 ]'

# Exec hygiene. Eager mode places the default in the environment before
# main (the core's absence is said once per process); no child started by
# this program has it in the environment block it was given.
printf '%s\n' 'PGPASSWORD = secret/app/db#password default=fake-eager-pw eager' >"$VE_TMP/eager.map"
export VAULTENV_MAP=$VE_TMP/eager.map
pidf=$VE_TMP/pid
ready=$VE_TMP/ready
cout=$VE_TMP/child.out
launch() {
        rm -f "$pidf" "$ready" "$cout"
        cpid=
        "$@" 2>"$err" &
        lpid=$!
        VE_PIDS+=("$lpid")
        ve_eager_wait "$ready" && ve_eager_wait "$pidf" && sleep 0.1 && cpid=$(cat "$pidf")
        [ -n "$cpid" ]
}
finish() {
        [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
        wait "$lpid" 2>/dev/null || true
}
modes="execve execv execvp execvpe execl execle execlp fexecve vfork posix_spawn posix_spawnp"
[ "$VE_HAVE_EXECVEAT" = 1 ] && modes+=" execveat"
for mode in $modes; do
        if launch pre "$VE_EXECPROG" "$mode" "$pidf" "$VE_READENV" --wait "$ready" "$cout" PGPASSWORD PLAIN; then
                check "$mode: the value is not in the child's /proc/PID/environ" \
                        ve_eager_environ_lacks "$cpid" fake-eager-pw
                check "$mode: the child keeps LD_PRELOAD and the mapping" eval \
                        've_eager_environ_has "$cpid" "LD_PRELOAD=$VE_SHIM" && ve_eager_environ_has "$cpid" "VAULTENV_MAP="'
                check "$mode: the child resolved for itself" ve_expect "$cout" "PGPASSWORD=fake-eager-pw" "PLAIN=fake-plain"
        else
                fail "$mode: child started"
        fi
        finish
done

# system() and popen(): the shell is the child looked at; with
# VAULTENV_INHERIT the value is passed on, which shows that it was placed
# and that this check sees it. /bin/sh may be of another libc (Debian's
# glibc dash, which cannot load this shim): the program's own loader
# preloads the shim (ld.so --preload, glibc and musl), not LD_PRELOAD,
# which the shell would inherit.
interp=$(readelf -l "$VE_EXECPROG" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
ldso_pre() { "$interp" --preload "$VE_SHIM" "$@"; }
q() { printf '%q' "$1"; }
shcmd="echo \$\$ >$(q "$pidf"); : >$(q "$ready"); while :; do sleep 0.2; done"
for inherit in "" PGPASSWORD; do
        for mode in system popen; do
                what="$mode${inherit:+, VAULTENV_INHERIT}"
                if VAULTENV_INHERIT=$inherit launch ldso_pre "$VE_EXECPROG" "$mode" "$pidf" "$shcmd"; then
                        if [ -z "$inherit" ]; then
                                check "$what: the value is not in the shell's /proc/PID/environ" \
                                        ve_eager_environ_lacks "$cpid" fake-eager-pw
                        else
                                check "$what: the value is in the shell's /proc/PID/environ" \
                                        ve_eager_environ_has "$cpid" PGPASSWORD=fake-eager-pw
                        fi
                else
                        fail "$what: shell started"
                fi
                finish
        done
done

# ... and they still behave as libc's (the values injected): status,
# output.
set +e
ldso_pre "$VE_EXECPROG" system "$pidf" 'exit 3' 2>"$err"
st=$?
got=$(ldso_pre "$VE_EXECPROG" popen "$pidf" 'echo fake-hello; exit 4' 2>"$err")
pst=$?
set -e
check "system: the shell's exit status" test "$st" = 3
check "popen: the command's output and pclose's status" test "$got:$pst" = "fake-hello:4"
ve_done
