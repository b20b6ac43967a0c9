#!/bin/bash
# vaultenv exec --on-change: the command stays as the program's parent and
# watches the mapping's KV paths. With a signal, the program (a Python
# program that reads through libc's getenv on SIGHUP) gets the new value
# of a changed name at its next lookup, one signal per burst of writes, and
# unchanged names keep theirs; with restart, a server is stopped (SIGTERM,
# then SIGKILL after --grace) and started again with the new values.
# Signals are forwarded, exit statuses passed on (128+N after signal N),
# orphans reaped as PID 1; a dynamic secret is never read by the watcher;
# Vault going away is said once and the program keeps running.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-oc-pass-1","user":"fake-oc-user"}'
ve_kv2_put secret/app/other '{"token":"fake-oc-other"}'
ve_api POST sys/mounts/database '{"type":"database"}'
ve_api POST database/roles/ro '{"db_name":"pg","default_ttl":"1h","max_ttl":"2h"}'
cat >"$VE_TMP/app.map" <<'MAP'
DB_PASS = secret/app/db#password
DB_USER = secret/app/db#user
OTHER = secret/app/other#token
DYN_USER = database/creds/ro#username
MAP
out=$VE_TMP/out
err=$VE_TMP/err

# Reads DB_PASS, DB_USER and DYN_USER through libc's getenv (the shim's)
# at start and after each SIGHUP: one line per reading in $1.
cat >"$VE_TMP/reloader.py" <<'PY'
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
hup = [True]
signal.signal(signal.SIGHUP, lambda *a: hup.__setitem__(0, True))
def get(n):
    v = libc.getenv(n.encode())
    return v.decode() if v is not None else "unset"
with open(sys.argv[1], "a", buffering=1) as f:
    while True:
        if hup[0]:
            hup[0] = False
            f.write("%s %s %s\n" % (get("DB_PASS"), get("DB_USER"), "dyn" if get("DYN_USER").startswith("v-") else "no-dyn"))
        time.sleep(0.02)
PY
# A server for restart mode: its pid and DB_PASS, then it waits; $2=ignore:
# it ignores SIGTERM (the grace period ends in SIGKILL).
cat >"$VE_TMP/server.py" <<'PY'
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
if len(sys.argv) > 2 and sys.argv[2] == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1], "a", buffering=1) as f:
    f.write("%d %s\n" % (os.getpid(), libc.getenv(b"DB_PASS").decode()))
while True:
    time.sleep(0.05)
PY
# wait_lines FILE N: until FILE has N lines (10 s at most)
wait_lines() {
        local i
        for i in $(seq 1 200); do
                [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
                sleep 0.05
        done
        return 1
}
alive() { kill -0 "$1" 2>/dev/null; }

# ---- SIGNAL: the next getenv after SIGHUP has the new value ----
rm -f "$out"
# through a wrapper that execs the program, as entrypoint scripts do
"$VE_CLI" exec --on-change=HUP --watch-interval=300ms -m "$VE_TMP/app.map" -- \
        sh -c 'exec python3 "$0" "$1"' "$VE_TMP/reloader.py" "$out" 2>"$err" &
sv=$!
VE_PIDS+=("$sv")
check "HUP: the program read its values at start" wait_lines "$out" 1
check "HUP: the start values" test "$(sed -n 1p "$out")" = "fake-oc-pass-1 fake-oc-user dyn"
ve_kv2_put secret/app/db '{"password":"fake-oc-pass-2","user":"fake-oc-user"}'
check "HUP: a change is signalled" wait_lines "$out" 2
check "HUP: the changed name has its new value, the others theirs" \
        test "$(sed -n 2p "$out")" = "fake-oc-pass-2 fake-oc-user dyn"
check "HUP: one status line names the signal" grep -q 'a secret changed in Vault: sending HUP to sh' "$err"

# A burst of writes: one signal.
for i in 3 4 5; do
        ve_kv2_put secret/app/db "{\"password\":\"fake-oc-pass-$i\",\"user\":\"fake-oc-user\"}"
done
check "burst: signalled" wait_lines "$out" 3
sleep 1.5
check "burst: one signal for three writes" test "$(wc -l <"$out")" = 3
check "burst: the last value" test "$(sed -n 3p "$out")" = "fake-oc-pass-5 fake-oc-user dyn"
check "the watcher never read the dynamic secret (the program's one read only)" \
        test "$(ve_count 'GET /v1/database/creds/ro')" = 1

# Vault unreachable while watching: said once, the program keeps running,
# and said again when it answers.
# wait_grep TEXT FILE: until FILE has TEXT (20 s at most: the client's
# retries come first)
wait_grep() {
        local i
        for i in $(seq 1 200); do
                grep -qF -- "$1" "$2" && return 0
                sleep 0.1
        done
        return 1
}
ve_transport_fault '{"mode":"drop"}'
check "unreachable: said" wait_grep 'watching for changes: ' "$err"
sleep 2
check "unreachable: the program keeps running" alive "$sv"
check "unreachable: said once" test "$(grep -c 'watching for changes: ' "$err")" = 1
ve_transport_fault '{"mode":"none"}'
check "unreachable: the recovery is said" wait_grep 'watching for changes again' "$err"
check "unreachable: no value in the messages" sh -c "! grep -q 'fake-oc' '$err'"

# Signals are forwarded; the status is 128+N.
kill -TERM "$sv"
wait "$sv" && r=0 || r=$?
check "SIGTERM forwarded: vaultenv exits 143 as the program did ($r)" test "$r" = 143

# ---- restart ----
ve_kv2_put secret/app/db '{"password":"fake-oc-pass-6","user":"fake-oc-user"}'
rm -f "$out"
"$VE_CLI" exec --on-change=restart --watch-interval=300ms -m "$VE_TMP/app.map" -- python3 "$VE_TMP/server.py" "$out" \
        2>"$err" &
sv=$!
VE_PIDS+=("$sv")
check "restart: started" wait_lines "$out" 1
ve_kv2_put secret/app/db '{"password":"fake-oc-pass-7","user":"fake-oc-user"}'
check "restart: started again" wait_lines "$out" 2
check "restart: a new process with the new value" bash -c "
        [ \"\$(sed -n 1p '$out' | cut -d' ' -f2)\" = fake-oc-pass-6 ] &&
        [ \"\$(sed -n 2p '$out' | cut -d' ' -f2)\" = fake-oc-pass-7 ] &&
        [ \"\$(sed -n 1p '$out' | cut -d' ' -f1)\" != \"\$(sed -n 2p '$out' | cut -d' ' -f1)\" ]"
check "restart: the first process is gone" sh -c "! kill -0 $(sed -n 1p "$out" | cut -d' ' -f1) 2>/dev/null"
kill -USR1 "$sv"
wait "$sv" && r=0 || r=$?
check "SIGUSR1 forwarded (default action: terminate): status 138 ($r)" test "$r" = 138

# A program that ignores SIGTERM: SIGKILL after --grace, then started again.
rm -f "$out"
"$VE_CLI" exec --on-change=restart --watch-interval=300ms --grace=500ms -m "$VE_TMP/app.map" -- \
        python3 "$VE_TMP/server.py" "$out" ignore 2>"$err" &
sv=$!
VE_PIDS+=("$sv")
check "grace: started" wait_lines "$out" 1
ve_kv2_put secret/app/db '{"password":"fake-oc-pass-8","user":"fake-oc-user"}'
check "grace: started again after SIGKILL" wait_lines "$out" 2
check "grace: said" grep -q 'did not stop within 500 ms of SIGTERM: killing it' "$err"
kill -KILL "$(sed -n 2p "$out" | cut -d' ' -f1)"
wait "$sv" && r=0 || r=$?
check "the program killed from outside: status 137 ($r)" test "$r" = 137

# ---- exit status, orphans, usage ----
"$VE_CLI" exec --on-change=HUP -m "$VE_TMP/app.map" -- sh -c 'exit 7' 2>"$err" && r=0 || r=$?
check "the program's exit status is passed on (7)" test "$r" = 7
if unshare --pid --fork --mount-proc true 2>/dev/null; then
        # As PID 1 (a container's entrypoint), an orphan that exits is
        # reaped, not left a zombie.
        unshare --pid --fork --mount-proc "$VE_CLI" exec --on-change=HUP -m "$VE_TMP/app.map" -- sh -c '
                pid=$(sh -c "sleep 0.3 >/dev/null 2>&1 & echo \$!")
                sleep 1
                if [ -e /proc/$pid ]; then cut -d" " -f3 /proc/$pid/stat; else echo gone; fi >"$1"
                exit 3' sh "$out" 2>"$err" && r=0 || r=$?
        check "PID 1: the program's status (3)" test "$r" = 3
        check "PID 1: the orphan was reaped (no zombie)" test "$(cat "$out")" = gone
else
        echo "# unshare --pid is not permitted here: the PID 1 check is skipped"
fi
"$VE_CLI" exec --on-change=HUP --env -m "$VE_TMP/app.map" -- true 2>"$err" && r=0 || r=$?
check "--on-change with --env: a usage error (2)" bash -c "[ $r = 2 ] && grep -q 'exclude each other' '$err'"
"$VE_CLI" exec --on-change=NOSUCH -m "$VE_TMP/app.map" -- true 2>"$err" && r=0 || r=$?
check "--on-change=NOSUCH: a usage error naming it" bash -c "[ $r = 2 ] && grep -q 'NOSUCH' '$err'"
"$VE_CLI" exec --watch-interval=1s -m "$VE_TMP/app.map" -- true 2>"$err" && r=0 || r=$?
check "--watch-interval without --on-change: a usage error" test "$r" = 2
ve_done
