#!/bin/bash
# Exec hygiene on a small stack: from a thread with a 64 KiB stack, in a
# process with 20,000 environment variables and an eager name, execve,
# execl, execlp, posix_spawn, system and popen start their child, whose
# environment has all 20,000 variables and not the injected value (the
# stripped copy, 160 KiB of pointers, cannot live on that stack). And a
# vfork() child's successful exec, which cannot free that copy, does not
# leave the parent one copy per child.
. "$(dirname "$0")/../lib.sh"
: "${VE_EXECPROG:?}"

ve_vault_start
pw="fake-stack-pw-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$pw\"}"
printf '%s\n' 'PGPASSWORD = secret/app/db#password eager' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map" LD_PRELOAD="$VE_PRELOAD"

pad=()
for i in $(seq 1 20000); do pad+=("VE_PAD_$i=x"); done
pidf=$VE_TMP/pid
ready=$VE_TMP/ready
cout=$VE_TMP/child.out
child=("$VE_READENV" --wait "$ready" "$cout" PGPASSWORD)
q() { printf '%q' "$1"; }
# A watchdog of 60 s: a child with 20,000 variables starts slowly under a
# sanitizer on a loaded machine.
wait_for() { ve_eager_wait "$1" 60; }
shcmd="echo \$\$ >$(q "$pidf"); $(q "$VE_READENV") $(q "$cout") PGPASSWORD; : >$(q "$ready"); while :; do sleep 1; done"

for mode in execve execl execlp posix_spawn system popen; do
        what="64 KiB stack, 20,000 variables, $mode"
        cmd=("${child[@]}")
        case $mode in system | popen) cmd=("$shcmd") ;; esac
        rm -f "$pidf" "$ready" "$cout"
        cpid=
        env "${pad[@]}" "$VE_EXECPROG" --stack 64 "$mode" "$pidf" "${cmd[@]}" 2>"$VE_TMP/stderr" &
        lpid=$!
        VE_PIDS+=("$lpid")
        wait_for "$ready" && wait_for "$pidf" && sleep 0.1 && cpid=$(cat "$pidf")
        if [ -n "$cpid" ]; then
                ok "$what: child started"
                check "$what: the password is not in the child's /proc/PID/environ" \
                        ve_eager_environ_lacks "$cpid" "$pw"
                check "$what: the child has the 20,000 variables and LD_PRELOAD" eval \
                        've_eager_environ_has "$cpid" "VE_PAD_1=x" && ve_eager_environ_has "$cpid" "VE_PAD_20000=x" &&
                         ve_eager_environ_has "$cpid" "LD_PRELOAD=$VE_PRELOAD"'
                check "$what: the child resolved for itself" ve_expect "$cout" "PGPASSWORD=$pw"
                kill "$cpid" 2>/dev/null || true
        else
                fail "$what: child started"
                kill "$lpid" 2>/dev/null || true
        fi
        wait "$lpid" 2>/dev/null || true
done

env "${pad[@]}" "$VE_EXECPROG" vfork-loop "$VE_TMP/vm" /bin/true 2>"$VE_TMP/stderr" && r=0 || r=$?
check "20,000 variables, vfork + execve 8 times: all ran" test "$r" = 0
check "20,000 variables, vfork + execve 8 times: the parent's VmSize does not grow" \
        grep -qx 'VmSize same' "$VE_TMP/vm"

ve_done
