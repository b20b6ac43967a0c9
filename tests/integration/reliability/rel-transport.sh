#!/bin/bash
# Transport hygiene of the shim's own HTTP requests: proxy
# variables are ignored unless VAULT_PROXY_ADDR says otherwise, no TLS key
# log is written (SSLKEYLOGFILE), TLS 1.2 is the minimum even under a
# permissive OPENSSL_CONF, a bad certificate fails without a retry, and
# server faults end cleanly: connection refused, an answer trickling at one
# byte per second (bounded by VAULT_CLIENT_TIMEOUT). Oversize bodies
# (chunked too) are in transport-faults.sh, the 307 trap in
# transport-redirect.sh.
# Traps are python3 listeners on 127.0.0.1 that count connections (and
# X-Vault-Token headers, never their values) into a stats file.
. "$(dirname "$0")/../lib.sh"
unset VAULT_AGENT_ADDR VAULT_MAX_RETRIES VAULT_CLIENT_TIMEOUT VAULT_PROXY_ADDR VAULT_HTTP_PROXY
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY SSLKEYLOGFILE OPENSSL_CONF

out=$VE_TMP/out

# ---- traps ----
# trap.py PORTFILE STATFILE [tls CERT KEY MAXVERSION]: counts accepted
# connections, X-Vault-Token headers and (tls) completed handshakes in
# STATFILE ("connections tokens handshakes"); answers nothing useful.
cat >"$VE_TMP/trap.py" <<'EOF'
import os, socket, ssl, sys, threading
portfile, statfile = sys.argv[1], sys.argv[2]
ctx = None
if len(sys.argv) > 3 and sys.argv[3] == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")
    import warnings
    warnings.simplefilter("ignore")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion[sys.argv[6]]
lock = threading.Lock()
stats = [0, 0, 0]
def save():
    with open(statfile + ".tmp", "w") as f:
        f.write("%d %d %d\n" % tuple(stats))
    os.replace(statfile + ".tmp", statfile)
def serve(c):
    c.settimeout(10)
    data = b""
    try:
        if ctx is not None:
            c = ctx.wrap_socket(c, server_side=True)
            with lock:
                stats[2] += 1
                save()
        while b"\r\n\r\n" not in data and len(data) < 65536:
            d = c.recv(4096)
            if not d:
                break
            data += d
    except (OSError, ssl.SSLError):
        pass
    with lock:
        stats[1] += data.lower().count(b"\nx-vault-token:")
        save()
    try:
        c.close()
    except OSError:
        pass
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
save()
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.replace(portfile + ".tmp", portfile)
while True:
    c, _ = s.accept()
    with lock:
        stats[0] += 1
        save()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

# trap_start NAME [tls CERT KEY MAXVERSION]: sets TRAP_PORT; stats in
# $VE_TMP/NAME.stats
trap_start() {
        local name=$1 _
        shift
        python3 "$VE_TMP/trap.py" "$VE_TMP/$name.port" "$VE_TMP/$name.stats" "$@" 2>"$VE_TMP/$name.log" &
        VE_PIDS+=("$!")
        for _ in $(seq 1 100); do
                [ -s "$VE_TMP/$name.port" ] && break
                sleep 0.1
        done
        TRAP_PORT=$(cat "$VE_TMP/$name.port")
}
# trap_stat NAME FIELD(1 connections, 2 tokens, 3 handshakes)
trap_stat() { cut -d' ' -f"$2" "$VE_TMP/$1.stats"; }

# ---- 1. proxy variables are ignored (plain HTTP Vault) ----
ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-transport"}'
printf 'PW = kv2:secret/app/db#password default=fake-default\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map" VAULTENV_LOG=info
http_addr=$VAULT_ADDR
http_token=$VAULT_TOKEN
trap_start proxy
proxy_url=http://127.0.0.1:$TRAP_PORT
proxy_env=(http_proxy="$proxy_url" HTTP_PROXY="$proxy_url" https_proxy="$proxy_url" HTTPS_PROXY="$proxy_url"
           all_proxy="$proxy_url" ALL_PROXY="$proxy_url" no_proxy= NO_PROXY=)
env "${proxy_env[@]}" LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" PW 2>"$VE_TMP/stderr"
check "proxy variables set: value read directly from Vault" ve_expect "$out" "PW=fake-pw-transport"
check "proxy variables set: the proxy trap saw no connection" test "$(trap_stat proxy 1)" = 0
check "proxy variables set: the proxy trap saw no token" test "$(trap_stat proxy 2)" = 0

# the trap works: told to use it (VAULT_PROXY_ADDR), the shim goes there
# (a trap that answers nothing: the default is used)
VAULT_PROXY_ADDR=$proxy_url VAULT_MAX_RETRIES=0 ve_read "$out" PW
check "VAULT_PROXY_ADDR: the shim uses the proxy (trap saw it)" test "$(trap_stat proxy 1)" -ge 1
check "VAULT_PROXY_ADDR: trap answered nothing, default used" ve_expect "$out" "PW=fake-default"
check "no token in the messages" stderr_lacks "$http_token"

# ---- 2. connection refused ----
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VAULT_ADDR=http://127.0.0.1:$closed_port VAULT_MAX_RETRIES=1 ve_read "$out" PW && s=0 || s=$?
check "connection refused: exit status 0 (no crash)" test "$s" = 0
check "connection refused: default used" ve_expect "$out" "PW=fake-default"
check "connection refused: one line naming the address, retried once" \
        bash -c "grep -F 'PW: Vault gave no value (cannot reach Vault at http://127.0.0.1:$closed_port: ' '$VE_TMP/stderr' | grep -qF '(2 attempts)'"

# ---- 3. one byte per second: VAULT_CLIENT_TIMEOUT ends it ----
# The answer is some 300 bytes: without the deadline the read would take
# minutes; the watchdog (timeout 60) only turns that into a failure.
path='GET /v1/secret/data/app/db'
ve_reset_counts
ve_transport_fault '{"mode":"trickle","delay":1,"prefix":"/v1/secret/"}'
s=0
VAULT_CLIENT_TIMEOUT=2s timeout -k 5 60 env LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" PW \
        2>"$VE_TMP/stderr" || s=$?
check "trickle: the read ends within the deadline (not the watchdog; status $s)" test "$s" = 0
check "trickle: default used" ve_expect "$out" "PW=fake-default"
check "trickle: the timeout is named" \
        stderr_has "PW: Vault gave no value (no answer from Vault at $http_addr within 2s (VAULT_CLIENT_TIMEOUT)"
check "trickle: no retry past the deadline (1 request)" test "$(ve_count "$path")" = 1
ve_transport_fault '{"mode":"none"}'

# ---- 4. TLS: key log, bad certificates, minimum version ----
pki=$VE_TMP/pki
ve_pki "$pki" localhost
ve_vault_start --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
export VE_CURL_OPTS="--cacert $pki/ca.pem"
export VAULT_ADDR="https://localhost:$VE_DEV_PORT"
tls_addr=$VAULT_ADDR
ve_kv2_put secret/app/db '{"password":"fake-pw-tls"}'

# SSLKEYLOGFILE: libcurl (Debian's, OpenSSL) honours it; the shim must not
# let it: no file appears, and the read works.
rm -f "$VE_TMP/keylog"
SSLKEYLOGFILE=$VE_TMP/keylog VAULT_CACERT=$pki/ca.pem ve_read "$out" PW SSLKEYLOGFILE
check "SSLKEYLOGFILE: value read over TLS; the program itself still sees the variable" \
        ve_expect "$out" "PW=fake-pw-tls" "SSLKEYLOGFILE=$VE_TMP/keylog"
check "SSLKEYLOGFILE: no key material written" test ! -s "$VE_TMP/keylog"
check "SSLKEYLOGFILE: no key log file written" test ! -e "$VE_TMP/keylog"
# The CLI has no guard: libcurl opens the file at start-up, but the TLS
# contexts of lib/transport/http_handle.c lose libcurl's key-log callback, so nothing is
# written (what a program that set up libcurl with a key log gets too).
rm -f "$VE_TMP/keylog"
s=0
SSLKEYLOGFILE=$VE_TMP/keylog VAULT_CACERT=$pki/ca.pem "$VE_CLI" get PW >"$VE_TMP/cli.out" 2>"$VE_TMP/stderr" || s=$?
check "SSLKEYLOGFILE (vaultenv get): the value is read" test "$s" = 0 -a -s "$VE_TMP/cli.out"
check "SSLKEYLOGFILE (vaultenv get): no key material written" test ! -s "$VE_TMP/keylog"

# https_proxy with an https Vault: no CONNECT to the trap either
before=$(trap_stat proxy 1)
env "${proxy_env[@]}" VAULT_CACERT="$pki/ca.pem" LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" PW 2>"$VE_TMP/stderr"
check "https_proxy set (TLS Vault): value read directly" ve_expect "$out" "PW=fake-pw-tls"
check "https_proxy set (TLS Vault): the proxy trap saw no connection" test "$(trap_stat proxy 1)" = "$before"

# A bad certificate is refused and never retried (default VAULT_MAX_RETRIES
# is 2): one connection from the shim, plus the one asking for the count.
for bad in "unknown CA|$tls_addr|VAULT_CACERT=$pki/other-ca.pem" \
           "wrong host name|https://127.0.0.1:$VE_DEV_PORT|VAULT_CACERT=$pki/ca.pem" \
           "no CA given (system roots)|$tls_addr|VAULT_SKIP_VERIFY="; do
        IFS='|' read -r what addr setting <<<"$bad"
        ve_reset_counts
        env "$setting" VAULT_ADDR="$addr" LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" PW 2>"$VE_TMP/stderr"
        check "$what: refused, default used" ve_expect "$out" "PW=fake-default"
        check "$what: a TLS error naming the address" stderr_has "PW: Vault gave no value (TLS error talking to $addr: "
        check "$what: not retried (1 connection + 1 for the count)" test "$(ve_connections)" = 2
        check "$what: no retry logged" stderr_lacks "retry"
done

# TLS 1.2 minimum: a server that speaks TLS 1.1 at most, and an
# OPENSSL_CONF in the program's environment that allows TLS 1.0 and weak
# keys (libcurl honours it unless told otherwise: CURLOPT_SSLVERSION).
printf '%s\n' 'openssl_conf = oc' '[oc]' 'ssl_conf = sc' '[sc]' 'system_default = sd' '[sd]' \
        'MinProtocol = TLSv1' 'CipherString = DEFAULT@SECLEVEL=0' >"$VE_TMP/weak-openssl.cnf"
trap_start tls11 tls "$pki/server.pem" "$pki/server.key" TLSv1_1
OPENSSL_CONF=$VE_TMP/weak-openssl.cnf VAULT_CACERT=$pki/ca.pem VAULT_ADDR=https://localhost:$TRAP_PORT \
        ve_read "$out" PW
check "TLS 1.1 server: refused, default used" ve_expect "$out" "PW=fake-default"
check "TLS 1.1 server: a TLS error" stderr_has "PW: Vault gave no value (TLS error talking to https://localhost:$TRAP_PORT: "
check "TLS 1.1 server: no handshake completed" test "$(trap_stat tls11 3)" = 0
check "TLS 1.1 server: no token reached it" test "$(trap_stat tls11 2)" = 0
check "TLS 1.1 server: not retried (1 connection)" test "$(trap_stat tls11 1)" = 1
# the same server at TLS 1.2 is accepted (the trap itself is sound)
trap_start tls12 tls "$pki/server.pem" "$pki/server.key" TLSv1_2
OPENSSL_CONF=$VE_TMP/weak-openssl.cnf VAULT_CACERT=$pki/ca.pem VAULT_ADDR=https://localhost:$TRAP_PORT \
        VAULT_MAX_RETRIES=0 ve_read "$out" PW
check "TLS 1.2 trap: the handshake completes" test "$(trap_stat tls12 3)" = 1
ve_done
