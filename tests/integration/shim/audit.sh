#!/bin/bash
# The audit trail (VAULTENV_AUDIT): records for the vault, file, secrets-dir,
# default and none sources, with the right pid and program name, from the
# shim (readenv preloaded) and from the CLI (vaultenv get); once per name
# and source, again after a ttl refresh that read a new version; the file
# is created 0600; an unwritable file is said once; no record ever holds a
# value. Then syslog: in a private mount namespace a listener bound to
# /dev/log receives RFC 3164 datagrams (authpriv.info, ident vaultenv).
. "$(dirname "$0")/../lib.sh"

out=$VE_TMP/out
log=$VE_TMP/audit.log
mkdir -p "$VE_TMP/secrets"
printf 'fake-dir-value' >"$VE_TMP/secrets/FROM_DIR"
printf 'fake-file-value\n' >"$VE_TMP/from-file"
cat >"$VE_TMP/app.map" <<'EOF'
DB_PASSWORD  = secret/app/db#password ttl=1s
FROM_FILE    = secret/app/nothing#x
FROM_DIR     = secret/app/nothing#x
FROM_DEFAULT = secret/app/nothing#x default=fake-default-value
NOTHING      = secret/app/nothing#x
EOF
export VAULTENV_MAP=$VE_TMP/app.map VAULTENV_SECRETS_DIR=$VE_TMP/secrets FROM_FILE_FILE=$VE_TMP/from-file
ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'

# the record of NAME (the last one) in FILE
record() { grep -F " name=$2 " "$1" | tail -n 1; }
n_records() { grep -cF " name=$2 " "$1" || true; }
no_values() { ! grep -qF 'fake-' "$@"; }

# 1. the shim: every source once, even when asked twice
umask 022
VAULTENV_AUDIT=$log LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" DB_PASSWORD FROM_FILE FROM_DIR FROM_DEFAULT NOTHING \
        DB_PASSWORD FROM_FILE FROM_DIR FROM_DEFAULT NOTHING 2>"$VE_TMP/stderr" &
pid=$!
wait "$pid"
check "shim: the program got its values (audit changes nothing)" ve_expect "$out" \
        DB_PASSWORD=fake-pw-1 FROM_FILE=fake-file-value FROM_DIR=fake-dir-value FROM_DEFAULT=fake-default-value \
        "NOTHING unset" DB_PASSWORD=fake-pw-1 FROM_FILE=fake-file-value FROM_DIR=fake-dir-value \
        FROM_DEFAULT=fake-default-value "NOTHING unset"
check "shim: the audit file is created 0600 (umask 022)" test "$(stat -c %a "$log")" = 600
check "shim: one record per name" test "$(wc -l <"$log")" = 5
r=$(record "$log" DB_PASSWORD)
check "shim: vault record with path, key, version, pid and program" \
        grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z vaultenv pid=$pid program=readenv name=DB_PASSWORD source=vault path=secret/app/db key=password version=1\$" <<<"$r"
check "shim: NAME_FILE record names the file" \
        grep -qF "pid=$pid program=readenv name=FROM_FILE source=file file=$VE_TMP/from-file" "$log"
check "shim: secrets-dir record names the file" \
        grep -qF "pid=$pid program=readenv name=FROM_DIR source=secrets-dir file=$VE_TMP/secrets/FROM_DIR" "$log"
check "shim: default record" grep -qE "pid=$pid program=readenv name=FROM_DEFAULT source=default\$" "$log"
check "shim: none record" grep -qE "pid=$pid program=readenv name=NOTHING source=none\$" "$log"
check "shim: no value in any record" no_values "$log"
check "shim: nothing said on stderr" test ! -s "$VE_TMP/stderr"

# 1b. fork: the child records what it resolves under its own pid
: >"$log"
VAULTENV_AUDIT=$log LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" --fork "$out" DB_PASSWORD FROM_DEFAULT 2>"$VE_TMP/stderr" &
pid=$!
wait "$pid"
check "fork: the parent's record, then the child's under another pid" \
        test "$(grep -oE 'pid=[0-9]+ program=readenv name=DB_PASSWORD ' "$log" | sort -u | wc -l)" = 2
check "fork: the parent's pid in one of them" grep -qF "pid=$pid program=readenv name=DB_PASSWORD source=vault" "$log"
check "fork: the child's other name once" test "$(grep -c ' name=FROM_DEFAULT ' "$log")" = 1

# 2. the CLI: vaultenv get audits with no extra code, as program vaultenv
: >"$log"
VAULTENV_AUDIT=$log "$VE_CLI" get DB_PASSWORD >"$out" 2>"$VE_TMP/stderr" &
pid=$!
wait "$pid"
check "get: prints the value" ve_expect "$out" fake-pw-1
check "get: one vault record, pid and program right" \
        grep -qE "vaultenv pid=$pid program=vaultenv name=DB_PASSWORD source=vault path=secret/app/db key=password version=1\$" "$log"
check "get: one record only" test "$(wc -l <"$log")" = 1
check "get: no value in the record" no_values "$log"

# 3. rotation: a ttl refresh that reads a new version records again, with
#    that version; the refresh of the same version does not
: >"$log"
VAULTENV_AUDIT=$log LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_READENV" "$out" DB_PASSWORD --sleep 1200 DB_PASSWORD \
        --sleep 2500 DB_PASSWORD DB_PASSWORD 2>"$VE_TMP/stderr" &
reader=$!
for _ in $(seq 1 100); do
        [ -s "$out" ] && break
        sleep 0.05
done
# rotated once the second read (same version, after the ttl) is done
for _ in $(seq 1 200); do
        [ "$(wc -l <"$out")" -ge 2 ] && break
        sleep 0.05
done
ve_kv2_put secret/app/db '{"password":"fake-pw-2"}'
wait "$reader"
check "rotation: the program saw the new value" ve_expect "$out" DB_PASSWORD=fake-pw-1 DB_PASSWORD=fake-pw-1 \
        DB_PASSWORD=fake-pw-2 DB_PASSWORD=fake-pw-2
check "rotation: two records, version 1 then version 2" \
        test "$(grep -oE 'name=DB_PASSWORD source=vault path=secret/app/db key=password version=[0-9]+$' "$log" |
                sed 's/.*version=//' | tr '\n' ' ')" = "1 2 "
check "rotation: no value in any record" no_values "$log"

# 4. unwritable: one message naming the file, the program runs as before
VAULTENV_AUDIT=$VE_TMP/no-such-dir/audit.log LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" DB_PASSWORD FROM_DEFAULT \
        2>"$VE_TMP/stderr"
check "unwritable: the program still gets its values" ve_expect "$out" DB_PASSWORD=fake-pw-2 \
        FROM_DEFAULT=fake-default-value
check "unwritable: exactly one message, naming the file and the reason" \
        test "$(grep -cF "VAULTENV_AUDIT: cannot write to $VE_TMP/no-such-dir/audit.log: No such file or directory" \
                "$VE_TMP/stderr")" = 1
check "unwritable: no other message" test "$(wc -l <"$VE_TMP/stderr")" = 1

# 5. a bad value: said, no trail, values still served
(cd "$VE_TMP" && VAULTENV_AUDIT=relative.log LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" DB_PASSWORD 2>"$VE_TMP/stderr")
check "relative path: refused with a message" \
        stderr_has 'VAULTENV_AUDIT: "relative.log" is neither syslog nor an absolute file path; no audit trail'
check "relative path: no file written" test ! -e "$VE_TMP/relative.log"
check "relative path: the value is served" ve_expect "$out" DB_PASSWORD=fake-pw-2

# 6. no VAULTENV_AUDIT: no file appears
rm -f "$log"
LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" DB_PASSWORD 2>"$VE_TMP/stderr"
check "no VAULTENV_AUDIT: nothing written" test ! -e "$log"

# 7. syslog, without a system syslog daemon: a private mount namespace
#    where /dev is a fresh tmpfs (the usual device nodes bound back) and a
#    python3 listener is bound to /dev/log.
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null || ! command -v python3 >/dev/null; then
        echo "# syslog: needs root, mount namespaces and python3; skipped"
else
        cat >"$VE_TMP/listener.py" <<'EOF'
import os, socket, sys
path, out, ready = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(ready, "w").close()
with open(out, "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
EOF
        : >"$VE_TMP/syslog.out"
        unshare -m bash -c '
                set -e
                d=$1 shim=$2 readenv=$3 cli=$4 pre=$5
                mount --make-rprivate /
                mkdir -p "$d/realdev"
                mount --rbind /dev "$d/realdev"
                mount -t tmpfs -o mode=755 tmpfs /dev
                for n in null zero random urandom; do
                        touch "/dev/$n"
                        mount --bind "$d/realdev/$n" "/dev/$n"
                done
                ln -s /proc/self/fd /dev/fd
                python3 "$d/listener.py" /dev/log "$d/syslog.out" "$d/ready" &
                listener=$!
                for _ in $(seq 1 100); do [ -e "$d/ready" ] && break; sleep 0.05; done
                VAULTENV_AUDIT=syslog LD_PRELOAD="$pre$shim" "$readenv" "$d/sys.out" DB_PASSWORD FROM_DEFAULT \
                        DB_PASSWORD 2>"$d/sys.err" &
                echo $! >"$d/sys.pid"
                wait $!
                VAULTENV_AUDIT=syslog "$cli" get DB_PASSWORD >"$d/get.out" 2>>"$d/sys.err" &
                echo $! >"$d/get.pid"
                wait $!
                # datagrams are delivered on send; give the listener a moment to write
                for _ in $(seq 1 100); do [ "$(wc -l <"$d/syslog.out")" -ge 3 ] && break; sleep 0.05; done
                kill $listener
                # and without a listener: one message, values still served
                rm -f /dev/log
                VAULTENV_AUDIT=syslog LD_PRELOAD="$pre$shim" "$readenv" "$d/nolog.out" DB_PASSWORD FROM_DEFAULT \
                        2>"$d/nolog.err"
        ' _ "$VE_TMP" "$VE_SHIM" "$VE_READENV" "$VE_CLI" "$VE_PRELOAD_PREFIX" || fail "syslog: the namespace set-up failed"
        spid=$(cat "$VE_TMP/sys.pid" 2>/dev/null || echo none)
        gpid=$(cat "$VE_TMP/get.pid" 2>/dev/null || echo none)
        sl=$VE_TMP/syslog.out
        check "syslog: the program got its values" ve_expect "$VE_TMP/sys.out" DB_PASSWORD=fake-pw-2 \
                FROM_DEFAULT=fake-default-value DB_PASSWORD=fake-pw-2
        check "syslog: three datagrams (two from the shim, one from get)" test "$(wc -l <"$sl")" = 3
        check "syslog: RFC 3164 header, authpriv.info, ident vaultenv[pid], vault record" \
                grep -qE "^<86>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} vaultenv\[$spid\]: pid=$spid program=readenv name=DB_PASSWORD source=vault path=secret/app/db key=password version=2\$" "$sl"
        check "syslog: default record" grep -qE "vaultenv\[$spid\]: pid=$spid program=readenv name=FROM_DEFAULT source=default\$" "$sl"
        check "syslog: the CLI's record" \
                grep -qE "vaultenv\[$gpid\]: pid=$gpid program=vaultenv name=DB_PASSWORD source=vault path=secret/app/db key=password version=2\$" "$sl"
        check "syslog: no value in any datagram" no_values "$sl"
        check "syslog: nothing on stderr" test ! -s "$VE_TMP/sys.err"
        check "syslog unreachable: the program still gets its values" ve_expect "$VE_TMP/nolog.out" \
                DB_PASSWORD=fake-pw-2 FROM_DEFAULT=fake-default-value
        check "syslog unreachable: one message naming /dev/log" \
                test "$(grep -cF 'VAULTENV_AUDIT: cannot write to /dev/log: No such file or directory' "$VE_TMP/nolog.err")" = 1
        check "syslog unreachable: no other message" test "$(wc -l <"$VE_TMP/nolog.err")" = 1
fi

check "no value in any message" no_values "$VE_TMP/stderr" "$VE_TMP"/*.err
ve_done
