#!/bin/bash
# Exec hygiene: values the eager shim placed in a process's environment do
# not reach a child's environment block (its /proc/PID/environ) through any
# member of the exec family, posix_spawn, Python's subprocess or a shell;
# the child still has LD_PRELOAD and the mapping and resolves for itself.
# VAULTENV_INHERIT and the inherit option pass named values on; a value the
# program set itself is its own and passes on unchanged.
. "$(dirname "$0")/../lib.sh"

# The exec-family driver: built by meson (VE_EXECPROG), else here.
execprog=${VE_EXECPROG:-}
if [ -z "$execprog" ]; then
        execprog=$VE_TMP/execprog
        cc -D_GNU_SOURCE -pthread -o "$execprog" "$(dirname "$0")/../helpers/execprog.c"
fi

ve_vault_start
pw="fake-hyg-pw-$(ve_random)"
user="fake-hyg-user-$(ve_random)"
tok="fake-hyg-go-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$pw\",\"user\":\"$user\"}"
ve_kv2_put secret/app/go "{\"value\":\"$tok\"}"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' 'PGUSER = secret/app/db#user' >"$VE_TMP/app.map"
printf '%s\n' 'PGPASSWORD = secret/app/db#password eager' 'GO_TOKEN = secret/app/go inherit' >"$VE_TMP/inherit.map"
export VAULTENV_MAP="$VE_TMP/app.map" VAULTENV_EAGER=1 PLAIN=fake-plain
export LD_PRELOAD="$VE_PRELOAD"

pidf=$VE_TMP/pid
ready=$VE_TMP/ready
cout=$VE_TMP/child.out
pout=$VE_TMP/parent.out
child=("$VE_READENV" --wait "$ready" "$cout" PGPASSWORD PGUSER)

# launch CMD...: runs CMD in the background; it starts the child (readenv,
# which reads, then waits) and writes the child's pid to $pidf. Sets cpid.
launch() {
        rm -f "$pidf" "$ready" "$cout" "$pout"
        cpid=
        "$@" 2>"$VE_TMP/stderr" &
        lpid=$!
        VE_PIDS+=("$lpid")
        ve_eager_wait "$ready" && ve_eager_wait "$pidf" && sleep 0.1 && cpid=$(cat "$pidf")
        [ -n "$cpid" ]
}
finish() {
        [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
        wait "$lpid" 2>/dev/null || true
}
# clean WHAT: the child holds no injected value, has what it needs to
# resolve, and resolved for itself
clean() {
        check "$1: the password is not in the child's /proc/PID/environ" ve_eager_environ_lacks "$cpid" "$pw"
        check "$1: the user is not in the child's /proc/PID/environ" ve_eager_environ_lacks "$cpid" "$user"
        check "$1: the child has LD_PRELOAD, the mapping and the rest" eval \
                've_eager_environ_has "$cpid" "LD_PRELOAD=$VE_PRELOAD" && ve_eager_environ_has "$cpid" "VAULTENV_MAP=" && ve_eager_environ_has "$cpid" "PLAIN=fake-plain"'
        check "$1: the child resolved for itself" ve_expect "$cout" "PGPASSWORD=$pw" "PGUSER=$user"
}

# 1. every exec-family function of a C program
for mode in execve execv execvp execvpe execl execle execlp fexecve execveat vfork posix_spawn posix_spawnp; do
        if launch "$execprog" "$mode" "$pidf" "${child[@]}"; then
                ok "$mode: child started"
                clean "$mode"
        else
                fail "$mode: child started"
        fi
        finish
done

# 1b. system() and popen() (libc starts their shell through an internal
#     posix_spawn): the shell itself is the child looked at
q() { printf '%q' "$1"; }
shcmd="echo \$\$ >$(q "$pidf"); $(q "$VE_READENV") $(q "$cout") PGPASSWORD PGUSER; : >$(q "$ready"); while :; do sleep 0.2; done"
for mode in system popen; do
        if launch "$execprog" "$mode" "$pidf" "$shcmd"; then
                ok "$mode: child started"
                clean "$mode"
        else
                fail "$mode: child started"
        fi
        finish
done

# ... and they still behave as libc's: status, output
set +e
"$execprog" system "$pidf" 'exit 3'
st=$?
got=$("$execprog" popen "$pidf" 'echo fake-hello; exit 4')
pst=$?
set -e
check "system: the shell's exit status" test "$st" = 3
check "popen: the command's output and pclose's status" test "$got:$pst" = "fake-hello:4"

# 2. a Python parent: subprocess (fork/vfork + exec), an explicit copy of
#    os.environ, os.posix_spawn. The parent itself has the values.
cat >"$VE_TMP/parent.py" <<'PY'
import os, subprocess, sys
mode, pidfile, out, *child = sys.argv[1:]
with open(out, "w") as f:
    f.write("".join(f"{n}={os.environ[n]}\n" if n in os.environ else f"{n} unset\n" for n in ("PGPASSWORD", "PGUSER")))
if mode == "os.system":
    sys.exit(os.system(child[0]) != 0)
elif mode == "subprocess":
    pid = subprocess.Popen(child).pid
elif mode == "subprocess-env":
    pid = subprocess.Popen(child, env=dict(os.environ)).pid
else:
    pid = os.posix_spawn(child[0], child, os.environ)
with open(pidfile, "w") as f:
    f.write(f"{pid}\n")
os.waitpid(pid, 0)
PY
for mode in subprocess subprocess-env posix_spawn; do
        if launch /usr/bin/python3 "$VE_TMP/parent.py" "$mode" "$pidf" "$pout" "${child[@]}"; then
                ok "python $mode: child started"
                check "python $mode: the parent has the values in os.environ" \
                        ve_expect "$pout" "PGPASSWORD=$pw" "PGUSER=$user"
                clean "python $mode"
        else
                fail "python $mode: child started"
        fi
        finish
done

if launch /usr/bin/python3 "$VE_TMP/parent.py" os.system "$pidf" "$pout" "$shcmd"; then
        ok "python os.system: child started"
        clean "python os.system"
else
        fail "python os.system: child started"
fi
finish

# 3. a bash parent running a child in the background, and sh running one
#    in the foreground (a shell's last command is exec'ed directly)
script='pf=$1 po=$2; shift 2; echo "PGPASSWORD=$PGPASSWORD" >"$po"; "$@" & echo $! >"$pf"; wait'
if launch /bin/bash -c "$script" bash "$pidf" "$pout" "${child[@]}"; then
        ok "bash: child started"
        check "bash: the parent has \$PGPASSWORD" ve_expect "$pout" "PGPASSWORD=$pw"
        clean "bash"
else
        fail "bash: child started"
fi
finish
if launch /bin/sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$pidf" "${child[@]}"; then
        ok "sh exec: child started"
        clean "sh exec"
else
        fail "sh exec: child started"
fi
finish

# 4. a value the program changed itself passes on unchanged
script='pf=$1; shift; export PGPASSWORD=fake-mine; "$@" & echo $! >"$pf"; wait'
if launch /bin/bash -c "$script" bash "$pidf" "${child[@]}"; then
        check "changed by the program: the child gets the program's value" ve_eager_environ_has "$cpid" "PGPASSWORD=fake-mine"
        check "changed by the program: the user is still stripped" ve_eager_environ_lacks "$cpid" "$user"
else
        fail "changed by the program: child started"
fi
finish

# 5. a value the process started with, replaced by Vault's: the child gets
#    the original entry back
if PGPASSWORD=fake-from-env launch "$execprog" posix_spawn "$pidf" "${child[@]}"; then
        check "original value: the child gets the entry its parent started with" \
                ve_eager_environ_has "$cpid" "PGPASSWORD=fake-from-env"
        check "original value: not Vault's" ve_eager_environ_lacks "$cpid" "$pw"
        check "original value: the child still resolved Vault's value" ve_expect "$cout" "PGPASSWORD=$pw" "PGUSER=$user"
else
        fail "original value: child started"
fi
finish

# 6. VAULTENV_INHERIT passes the named value, and only it
if VAULTENV_INHERIT=PGUSER launch "$execprog" execve "$pidf" "${child[@]}"; then
        check "VAULTENV_INHERIT=PGUSER: the child's environment has PGUSER" ve_eager_environ_has "$cpid" "PGUSER=$user"
        check "VAULTENV_INHERIT=PGUSER: not the password" ve_eager_environ_lacks "$cpid" "$pw"
else
        fail "VAULTENV_INHERIT: child started"
fi
finish

# 7. the inherit option (implies eager), without VAULTENV_EAGER
if VAULTENV_EAGER= VAULTENV_MAP="$VE_TMP/inherit.map" launch "$execprog" execvp "$pidf" "${child[@]}"; then
        check "option inherit: the child's environment has GO_TOKEN" ve_eager_environ_has "$cpid" "GO_TOKEN=$tok"
        check "option inherit: not the eager password" ve_eager_environ_lacks "$cpid" "$pw"
else
        fail "option inherit: child started"
fi
finish

# 7b. a reference in the environment, resolved eagerly: the child gets the
#     reference back, and resolves it itself
refchild=("$VE_READENV" --wait "$ready" "$cout" DB_PW)
if VAULTENV_MAP= DB_PW=vault:secret/app/db#password launch "$execprog" execv "$pidf" "${refchild[@]}"; then
        check "reference: the child's environment has the reference, not the secret" eval \
                've_eager_environ_has "$cpid" "DB_PW=vault:secret/app/db#password" && ve_eager_environ_lacks "$cpid" "$pw"'
        check "reference: the child resolved it" ve_expect "$cout" "DB_PW=$pw"
else
        fail "reference: child started"
fi
finish

# 8. a misspelt VAULTENV_INHERIT name is reported (at the default level)
VAULTENV_INHERIT=PGUSR "$VE_READENV" "$cout" PLAIN 2>"$VE_TMP/stderr"
check "VAULTENV_INHERIT with an unmapped name: one line names it" eval \
        'stderr_has "vaultenv: error: VAULTENV_INHERIT: PGUSR is not mapped" && [ "$(wc -l <"$VE_TMP/stderr")" = 1 ]'
ve_done
