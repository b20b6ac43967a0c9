#!/bin/bash
# Canary sweep ("Secrets stay secret"). Every test program (readenv
# plain, --threads, --secure, --fork and --wait; leaseprog; stormenv across
# a ttl refresh of a value rotated meanwhile; relprog fork, signal and
# dlopen of the relctor plugin; execprog's execve, vfork, posix_spawn,
# system and popen) and real programs (bash, sh, python3, perl, env), each
# starting a child, run under the preloaded shim in lazy and in eager mode
# (VAULTENV_EAGER=1), at the highest log level (VAULTENV_LOG=debug), with
# VAULTENV_AUDIT=FILE, and a fresh canary in every source: a Vault KV value,
# a NAME_FILE value, a secrets-dir file, a default=, a vault: reference, a
# template, and the token (from VAULT_TOKEN_FILE). VAULTENV_SCRUB=1 runs add
# the token in VAULT_TOKEN and an AppRole VAULT_SECRET_ID in the
# environment (and the token that login got, read back from
# VAULTENV_TOKEN_SINK). Searched: every stdout, stderr and audit log, and
# the /proc/PID/environ of each program and of its child, read while they
# run. Any canary or credential found fails. The files a program writes what
# it read to hold values by design: they (and nothing else) are kept apart
# in own/ (with ve_expect's NAME.expected and relprog's NAME.parent), exempt
# from the value search, not from the credential search. Controls show the
# search finds what it looks for. Only file names are reported, never what
# matched.
# shellcheck disable=SC2154 # the canaries' variables are set by canary() (printf -v)
. "$(dirname "$0")/../lib.sh"
: "${VE_LEASEPROG:?}" "${VE_EXECPROG:?}" "${VE_STORMENV:?}" "${VE_RELPROG:?}" "${VE_RELCTOR:?}"
unset VAULTENV_MAP VAULT_AGENT_ADDR VAULTENV_EAGER VAULTENV_SCRUB VAULTENV_TOKEN_SINK VAULT_ROLE_ID VAULT_SECRET_ID
mkdir -p "$VE_TMP/home"
export HOME=$VE_TMP/home
cap=$VE_TMP/cap                     # stdout, stderr, audit logs, /proc/PID/environ
own=$VE_TMP/own                     # what the programs read: values by design
ctl=$VE_TMP/ctl                     # controls (not searched)
mkdir -p "$cap" "$own" "$ctl"
needles=$VE_TMP/needles             # the canary values (never printed)
creds=$VE_TMP/creds                 # token, secret id, login token (never printed)
(umask 077 && : >"$needles" && : >"$creds")
canary() { ve_needle "$needles" "$1" fake-canary; }  # NAME: a fresh fake value in $NAME

ve_vault_start
printf '%s\n' "$VE_ROOT_TOKEN" >>"$creds"
(umask 077 && printf '%s\n' "$VE_ROOT_TOKEN" >"$VE_TMP/token")
unset VAULT_TOKEN
canary kv_pw; canary kv_user; canary file_val; canary dir_val; canary default_val; canary ref_val
canary tpl_user; canary tpl_pw; canary storm_val
ve_kv2_put secret/app/db "{\"password\":\"$kv_pw\",\"user\":\"$kv_user\"}"
ve_kv2_put secret/app/ref "{\"value\":\"$ref_val\"}"
ve_kv2_put secret/app/tpl "{\"user\":\"$tpl_user\",\"password\":\"$tpl_pw\"}"
ve_kv2_put secret/app/storm "{\"value\":\"$storm_val\"}"
(umask 077 && printf '%s\n' "$file_val" >"$VE_TMP/file-secret")
mkdir -p "$VE_TMP/secrets"
(umask 077 && printf '%s' "$dir_val" >"$VE_TMP/secrets/FROM_DIR")
map=$VE_TMP/app.map
(umask 077 && cat >"$map" <<EOF
KV_PW     = secret/app/db#password
KV_USER   = secret/app/db#user
FROM_FILE = secret/app/none#x
FROM_DIR  = secret/app/none#d
DEFAULTED = secret/app/none#y         default=$default_val
TPL_URL   = "postgresql://{{secret/app/tpl#user}}:{{ secret/app/tpl#password | urlencode }}@db.example:5432/app"
STORM     = secret/app/storm#value    ttl=1s
EOF
)
export VAULTENV_MAP=$map VAULTENV_LOG=debug VAULTENV_SECRETS_DIR=$VE_TMP/secrets
export FROM_FILE_FILE=$VE_TMP/file-secret REF_SECRET=vault:secret/app/ref VAULT_TOKEN_FILE=$VE_TMP/token
names=(KV_PW KV_USER FROM_FILE FROM_DIR DEFAULTED REF_SECRET TPL_URL)
expected=("KV_PW=$kv_pw" "KV_USER=$kv_user" "FROM_FILE=$file_val" "FROM_DIR=$dir_val"
          "DEFAULTED=$default_val" "REF_SECRET=$ref_val" "TPL_URL=postgresql://$tpl_user:$tpl_pw@db.example:5432/app")

pidf=$VE_TMP/pid
ready=$VE_TMP/ready
# wait_for TEST ARG: up to 10 s until test TEST ARG holds
wait_for() {
        local i
        for i in $(seq 1 1000); do
                test "$1" "$2" && return 0
                sleep 0.01
        done
        return 1
}
# wait_exe PID EXE: up to 10 s until process PID runs EXE
wait_exe() {
        local i
        for i in $(seq 1 1000); do
                [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$2" ] && return 0
                sleep 0.01
        done
        return 1
}
# snap PID FILE: PID's /proc/PID/environ, one entry a line, into FILE;
# fails unless it is the environment of a program run here (VAULTENV_MAP=)
snap() { tr '\0' '\n' <"/proc/$1/environ" >"$2" 2>/dev/null && grep -q '^VAULTENV_MAP=' "$2"; }
# run NAME CMD...: CMD under the shim; stdout, stderr to $cap/NAME.out/.err; status in rc
run() {
        local n=$1
        shift
        LD_PRELOAD="$VE_PRELOAD" "$@" >"$cap/$n.out" 2>"$cap/$n.err" && rc=0 || rc=$?
        check "$n: exit status 0" test "$rc" = 0
}
# bg NAME EXE CMD...: CMD under the shim in the background; once it runs
# EXE, its /proc/PID/environ goes to $cap/NAME.environ (then HOOK, if set);
# waits for its end.
bg() {
        local n=$1 exe pid
        exe=$(readlink -f "$2")
        shift 2
        LD_PRELOAD="$VE_PRELOAD" "$@" >"$cap/$n.out" 2>"$cap/$n.err" &
        pid=$!
        VE_PIDS+=("$pid")
        if wait_exe "$pid" "$exe" && snap "$pid" "$cap/$n.environ"; then
                ok "$n: /proc/PID/environ read while it runs"
        else
                fail "$n: /proc/PID/environ read while it runs"
        fi
        [ -z "${HOOK:-}" ] || $HOOK
        wait "$pid" && rc=0 || rc=$?
        check "$n: exit status 0" test "$rc" = 0
}
# launch NAME WHO CMD...: CMD under the shim in the background; it is or
# starts a child readenv --wait $ready $own/NAME.child.own NAME... (the
# child's pid: WHO=self, the process itself; WHO=pidfile, written to $pidf).
# Once the child has read, the /proc/PID/environ of the process and of
# the child go to $cap/NAME.environ and NAME.child-environ (WHO=self: only
# NAME.environ); then the child is stopped and the process waited for.
launch() {
        local n=$1 who=$2 lpid cpid=
        shift 2
        rm -f "$pidf" "$ready"
        LD_PRELOAD="$VE_PRELOAD" "$@" >"$cap/$n.out" 2>"$cap/$n.err" &
        lpid=$!
        VE_PIDS+=("$lpid")
        if [ "$who" = self ]; then
                wait_for -e "$ready" && cpid=$lpid
        else
                wait_for -e "$ready" && wait_for -s "$pidf" && cpid=$(cat "$pidf")
        fi
        if [ -n "$cpid" ] && if [ "$cpid" = "$lpid" ]; then snap "$cpid" "$cap/$n.environ"
                else snap "$cpid" "$cap/$n.child-environ" && snap "$lpid" "$cap/$n.environ"; fi; then
                ok "$n: the child started; /proc/PID/environ read while they run"
        else
                fail "$n: the child started; /proc/PID/environ read while they run"
        fi
        [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
        wait "$lpid" 2>/dev/null || true
}
# childcmd NAME [NAME...]: the child's command line, in the array child
childcmd() { local n=$1; shift; child=("$VE_READENV" --wait "$ready" "$own/$n.child.own" "$@"); }
q() { printf '%q' "$1"; }

# The parents: each writes what it sees of three names to OWN, starts the
# child, writes its pid to PIDFILE and waits for it.
shell_parent='own=$1 pf=$2; shift 2
printf "KV_PW=%s\nREF_SECRET=%s\nTPL_URL=%s\n" "${KV_PW-}" "${REF_SECRET-}" "${TPL_URL-}" >"$own"
"$@" & echo $! >"$pf"; wait'
cat >"$VE_TMP/parent.py" <<'PY'
import os, subprocess, sys
own, pidfile, *child = sys.argv[1:]
with open(own, "w") as f:
    f.write("".join(f"{n}={os.environ.get(n, '')}\n" for n in ("KV_PW", "REF_SECRET", "TPL_URL")))
p = subprocess.Popen(child)
with open(pidfile, "w") as f:
    f.write(f"{p.pid}\n")
p.wait()
PY
cat >"$VE_TMP/parent.pl" <<'PL'
use strict; use warnings;
my ($own, $pidfile, @child) = @ARGV;
open(my $f, ">", $own) or die "$own: $!";
print $f "$_=" . ($ENV{$_} // "") . "\n" for qw(KV_PW REF_SECRET TPL_URL);
close($f) or die;
my $pid = fork() // die "fork: $!";
if ($pid == 0) { exec { $child[0] } @child or die "exec: $!"; }
open(my $p, ">", $pidfile) or die "$pidfile: $!";
print $p "$pid\n";
close($p) or die;
waitpid($pid, 0);
PL
# parent_values OWN: the program saw the two mapped names' values
parent_values() { grep -qxF "${expected[0]}" "$1" && grep -qxF "${expected[6]}" "$1"; }

# stormenv's hook: once it has read the first value (it then sleeps past
# the ttl), a new value is written to Vault (a new canary), read by the
# storm that follows.
storm_rotate() {
        wait_for -s "$storm_own" || true
        canary storm_new
        ve_kv2_put secret/app/storm "{\"value\":\"$storm_new\"}"
}

# ---- lazy and eager: every program ----
for mode in lazy eager; do
        if [ "$mode" = eager ]; then export VAULTENV_EAGER=1; else unset VAULTENV_EAGER; fi
        export VAULTENV_AUDIT=$cap/$mode-audit.log
        p=$mode

        run "$p-readenv" "$VE_READENV" "$own/$p-readenv.own" "${names[@]}"
        check "$p-readenv: got every canary" ve_expect "$own/$p-readenv.own" "${expected[@]}"
        run "$p-readenv-threads" "$VE_READENV" --threads 8 "$own/$p-readenv-threads.own" TPL_URL KV_PW
        check "$p-readenv-threads: got the values" ve_expect "$own/$p-readenv-threads.own" \
                "${expected[6]}" "${expected[0]}" "threads same"
        run "$p-readenv-secure" "$VE_READENV" --secure "$own/$p-readenv-secure.own" "${names[@]}"
        check "$p-readenv-secure: got every canary" ve_expect "$own/$p-readenv-secure.own" "${expected[@]}"
        run "$p-readenv-fork" "$VE_READENV" --fork "$own/$p-readenv-fork.own" "${names[@]}"
        check "$p-readenv-fork: the child got every canary" ve_expect "$own/$p-readenv-fork.own" "${expected[@]}"
        childcmd "$p-readenv-wait" "${names[@]}"
        launch "$p-readenv-wait" self "${child[@]}"
        check "$p-readenv-wait: got every canary" ve_expect "$own/$p-readenv-wait.child.own" "${expected[@]}"

        bg "$p-leaseprog" "$VE_LEASEPROG" "$VE_LEASEPROG" "$own/$p-leaseprog.own" "${names[@]}" --sleep 300 "${names[@]}"
        check "$p-leaseprog: got every canary, twice" ve_expect "$own/$p-leaseprog.own" \
                "${expected[@]}" "${expected[@]}" "pointers stable"
        storm_own=$own/$p-stormenv.own
        HOOK=storm_rotate bg "$p-stormenv" "$VE_STORMENV" "$VE_STORMENV" "$storm_own" STORM 1100 8
        check "$p-stormenv: the storm got a value" grep -qx 'storm STORM ok' "$storm_own"

        bg "$p-relprog-fork" "$VE_RELPROG" "$VE_RELPROG" fork "$own/$p-relprog-fork.own" KV_PW TPL_URL
        check "$p-relprog-fork: the child got the values" ve_expect "$own/$p-relprog-fork.own" "${expected[0]}" "${expected[6]}"
        run "$p-relprog-signal" "$VE_RELPROG" signal "$own/$p-relprog-signal.own" REF_SECRET UNMAPPED_NAME KV_USER
        check "$p-relprog-signal: got the value" grep -qxF "${expected[5]}" "$own/$p-relprog-signal.own"
        REL_CTOR_NAMES="KV_PW FROM_FILE DEFAULTED" REL_CTOR_OUT=$own/$p-relprog-dlopen.ctor.own \
                run "$p-relprog-dlopen" "$VE_RELPROG" dlopen "$own/$p-relprog-dlopen.own" "$VE_RELCTOR" KV_USER TPL_URL
        check "$p-relprog-dlopen: the plugin's constructor got the values" ve_expect \
                "$own/$p-relprog-dlopen.ctor.own" "${expected[0]}" "${expected[2]}" "${expected[4]}"

        for how in execve vfork posix_spawn; do
                childcmd "$p-execprog-$how" "${names[@]}"
                launch "$p-execprog-$how" pidfile "$VE_EXECPROG" "$how" "$pidf" "${child[@]}"
                check "$p-execprog-$how: the child got every canary" ve_expect "$own/$p-execprog-$how.child.own" "${expected[@]}"
        done
        for how in system popen; do
                childcmd "$p-execprog-$how" "${names[@]}"
                launch "$p-execprog-$how" pidfile "$VE_EXECPROG" "$how" "$pidf" \
                        "echo \$\$ >$(q "$pidf"); exec $(printf '%q ' "${child[@]}")"
                check "$p-execprog-$how: the child got every canary" ve_expect "$own/$p-execprog-$how.child.own" "${expected[@]}"
        done

        for prog in bash sh python3 perl env; do
                n=$p-$prog
                childcmd "$n" "${names[@]}"
                case $prog in
                bash) launch "$n" pidfile /bin/bash -c "$shell_parent" bash "$own/$n.own" "$pidf" "${child[@]}" ;;
                sh) launch "$n" pidfile /bin/sh -c "$shell_parent" sh "$own/$n.own" "$pidf" "${child[@]}" ;;
                python3) launch "$n" pidfile /usr/bin/python3 "$VE_TMP/parent.py" "$own/$n.own" "$pidf" "${child[@]}" ;;
                perl) launch "$n" pidfile /usr/bin/perl "$VE_TMP/parent.pl" "$own/$n.own" "$pidf" "${child[@]}" ;;
                env) launch "$n" self /usr/bin/env "${child[@]}" ;;
                esac
                check "$n: the child got every canary" ve_expect "$own/$n.child.own" "${expected[@]}"
                if [ "$mode" = eager ] && [ "$prog" != env ]; then
                        check "$n: the program itself saw the values (eager)" parent_values "$own/$n.own"
                fi
        done
        check "$p: the audit trail was written" test -s "$VAULTENV_AUDIT"
        check "$p: debug logging was on" grep -q '^vaultenv: debug: ' "$cap/$p-readenv.err"
done

# ---- VAULTENV_SCRUB=1: the token in VAULT_TOKEN ----
# The process itself, and (eager: every shim reads the token at start)
# real programs and their children: the token is in no /proc/PID/environ.
# A child has no token then, and falls back.
export VAULT_TOKEN=$VE_ROOT_TOKEN VAULTENV_SCRUB=1
unset VAULT_TOKEN_FILE
for mode in lazy eager; do
        if [ "$mode" = eager ]; then export VAULTENV_EAGER=1; else unset VAULTENV_EAGER; fi
        export VAULTENV_AUDIT=$cap/scrub-$mode-audit.log
        p=scrub-$mode
        childcmd "$p-readenv-wait" "${names[@]}" VAULT_TOKEN
        launch "$p-readenv-wait" self "${child[@]}"
        check "$p-readenv-wait: got every canary, and VAULT_TOKEN is gone" ve_expect "$own/$p-readenv-wait.child.own" \
                "${expected[@]}" "VAULT_TOKEN unset"
        run "$p-readenv-fork" "$VE_READENV" --fork "$own/$p-readenv-fork.own" "${names[@]}" VAULT_TOKEN
        check "$p-readenv-fork: the child got every canary" ve_expect "$own/$p-readenv-fork.own" \
                "${expected[@]}" "VAULT_TOKEN unset"
        if [ "$mode" = eager ]; then
                for prog in bash python3; do
                        n=$p-$prog
                        childcmd "$n" KV_PW VAULT_TOKEN
                        case $prog in
                        bash) launch "$n" pidfile /bin/bash -c "$shell_parent" bash "$own/$n.own" "$pidf" "${child[@]}" ;;
                        python3) launch "$n" pidfile /usr/bin/python3 "$VE_TMP/parent.py" "$own/$n.own" "$pidf" "${child[@]}" ;;
                        esac
                        check "$n: the program itself saw the values" parent_values "$own/$n.own"
                done
                childcmd "$p-execprog-posix_spawn" KV_PW VAULT_TOKEN
                launch "$p-execprog-posix_spawn" pidfile "$VE_EXECPROG" posix_spawn "$pidf" "${child[@]}"
        fi
done

# ---- VAULTENV_SCRUB=1: AppRole, VAULT_SECRET_ID in the environment ----
# The token the login gets is written to VAULTENV_TOKEN_SINK (read back
# afterwards as a needle). The process itself (lazy and eager), and eager
# programs and their children: the secret id and that token are in no
# /proc/PID/environ. (A child, without VAULT_SECRET_ID, uses the sink's
# token: auth-approle.sh.)
unset VAULT_TOKEN
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/web '{"token_policies":["app-read"],"token_ttl":"1h","secret_id_num_uses":0}'
(umask 077
 ve_auth_get GET auth/approle/role/web/role-id '' data.role_id >"$VE_TMP/role-id"
 ve_auth_get POST auth/approle/role/web/secret-id '' data.secret_id >"$VE_TMP/secret-id")
cat "$VE_TMP/secret-id" >>"$creds"
printf '\n' >>"$creds"
mkdir -p "$VE_TMP/sink"
chmod 700 "$VE_TMP/sink"
VAULT_ROLE_ID=$(cat "$VE_TMP/role-id")
VAULT_SECRET_ID=$(cat "$VE_TMP/secret-id")
export VAULT_ROLE_ID VAULT_SECRET_ID VAULTENV_TOKEN_SINK=$VE_TMP/sink/app.token
for mode in lazy eager; do
        if [ "$mode" = eager ]; then export VAULTENV_EAGER=1; else unset VAULTENV_EAGER; fi
        export VAULTENV_AUDIT=$cap/approle-$mode-audit.log
        p=approle-$mode
        childcmd "$p-readenv-wait" "${names[@]}" VAULT_SECRET_ID
        launch "$p-readenv-wait" self "${child[@]}"
        check "$p-readenv-wait: got every canary, and VAULT_SECRET_ID is gone" ve_expect \
                "$own/$p-readenv-wait.child.own" "${expected[@]}" "VAULT_SECRET_ID unset"
done
p=approle-eager
childcmd "$p-execprog-posix_spawn" "${names[@]}" VAULT_SECRET_ID
launch "$p-execprog-posix_spawn" pidfile "$VE_EXECPROG" posix_spawn "$pidf" "${child[@]}"
n=$p-bash
childcmd "$n" "${names[@]}" VAULT_SECRET_ID
launch "$n" pidfile /bin/bash -c "$shell_parent" bash "$own/$n.own" "$pidf" "${child[@]}"
check "$n: the program itself saw the values" parent_values "$own/$n.own"
check "approle: the login's token was written to the sink" test -s "$VAULTENV_TOKEN_SINK"
{ cat "$VAULTENV_TOKEN_SINK"; printf '\n'; } >>"$creds"
unset VAULT_ROLE_ID VAULT_SECRET_ID VAULTENV_TOKEN_SINK VAULTENV_SCRUB VAULTENV_EAGER

# ---- control: without VAULTENV_SCRUB the token is in /proc/PID/environ ----
# (outside $cap: there it is by design)
rm -f "$ready"
VAULT_TOKEN=$VE_ROOT_TOKEN VAULTENV_AUDIT='' LD_PRELOAD="$VE_PRELOAD" \
        "$VE_READENV" --wait "$ready" "$ctl/readenv.own" KV_PW 2>"$ctl/readenv.err" &
cpid=$!
VE_PIDS+=("$cpid")
wait_for -e "$ready" && snap "$cpid" "$ctl/readenv.environ" || true
kill "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true

# ---- the search ----
grep -v '^$' "$needles" >"$needles.all"
grep -v '^$' "$creds" >"$creds.all"
nfiles=$(find "$cap" -type f | wc -l)
nown=$(find "$own" -type f | wc -l)
hits=$(cd "$cap" && grep -lF -f "$needles.all" -- * | tr '\n' ' ' || true)
check "no canary value in any stdout, stderr, audit log or /proc/PID/environ${hits:+ (found in: $hits)}" test -z "$hits"
hits=$(cd "$VE_TMP" && grep -rlF -f "$creds.all" -- cap own | tr '\n' ' ' || true)
check "no token, secret id or login token anywhere, the programs' own files included${hits:+ (found in: $hits)}" test -z "$hits"

# Controls: the search can find what it looks for.
check "control: the search finds the values in the programs' own files" \
        test "$(cd "$own" && grep -lF -f "$needles.all" -- *.own | wc -l)" -ge 40
i=0
while IFS= read -r v; do
        i=$((i + 1))
        check "control: canary $i is in some program's own file" grep -qrF -- "$v" "$own"
done <"$needles.all"
check "control: the search finds the token in a /proc/PID/environ where it is by design (no VAULTENV_SCRUB)" \
        grep -qF -f "$creds.all" "$ctl/readenv.environ"
check "control: credentials searched: 3 (token, secret id, login token)" test "$(wc -l <"$creds.all")" = 3
check "control: files searched: $nfiles, and $nown own files for credentials" test "$nfiles" -ge 150
check "control: /proc/PID/environ files searched: $(find "$cap" -name '*environ' | wc -l)" \
        test "$(find "$cap" -name '*environ' | wc -l)" -ge 50
ve_done
