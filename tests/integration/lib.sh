# SPDX-License-Identifier: MIT
# Shared by the integration tests (sourced). Meson passes, via env:
#   VE_SHIM VE_CLI VE_READENV VE_VAULT_DEV VE_SOURCE_ROOT
# Rules: servers only on 127.0.0.1; values are fake and are never printed:
# programs write what they read to files, which are compared, not shown.
set -euo pipefail

: "${VE_SHIM:?}" "${VE_READENV:?}" "${VE_VAULT_DEV:?}"

# What to put in LD_PRELOAD to run a program under the shim. In an ASan
# build (meson sets VE_ASAN) the sanitizer's runtime must come first in the
# list, before the shim that needs it: the path the loader finds for the
# shim's libasan, which is also what an ASan build of `vaultenv exec` puts
# first (shim/cli/cli.c). VE_PRELOAD_PREFIX is that part, empty otherwise, for
# tests that compare an LD_PRELOAD value.
VE_ASAN_RUNTIME=
[ -z "${VE_ASAN:-}" ] || VE_ASAN_RUNTIME=$(ldd "$VE_SHIM" | awk '$1 ~ /^libasan/ && !found { print $3; found = 1 }')
VE_PRELOAD_PREFIX=${VE_ASAN_RUNTIME:+$VE_ASAN_RUNTIME:}
VE_PRELOAD=$VE_PRELOAD_PREFIX$VE_SHIM
# ve_asan_skip WHY: in an ASan build, skips the test (77), saying WHY it
# cannot run beside the sanitizer; the plain build runs it.
ve_asan_skip() {
        [ -n "$VE_ASAN_RUNTIME" ] || return 0
        echo "# ASan build: $1; the plain build runs this test"
        exit 77
}

VE_TMP=$(mktemp -d /tmp/vaultenv-test.XXXXXX)
chmod 755 "$VE_TMP"
VE_PIDS=()
ve_failures=0

ve_cleanup() {
        local p
        for p in "${VE_PIDS[@]:-}"; do
                [ -n "$p" ] && kill "$p" 2>/dev/null || true
        done
        for p in "${VE_PIDS[@]:-}"; do
                [ -n "$p" ] && wait "$p" 2>/dev/null || true
        done
        [ -n "${VE_PG_DATA:-}" ] && ve_pg_stop || true
        rm -rf "$VE_TMP"
}
trap ve_cleanup EXIT

# Each check prints "ok - what" or "not ok - what"; the script's status is
# the number of failures (TAP-like, for people reading the log).
ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; ve_failures=$((ve_failures + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
ve_done() {
        echo "# $(basename "$0"): $ve_failures failure(s)"
        [ "$ve_failures" -eq 0 ]
}

# A fresh fake token per run, so no test depends on a known one.
ve_random() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ve_needle FILE NAME PREFIX: a fresh fake value, PREFIX-NAME-random, in
# the variable NAME and appended to FILE, the list of values a secret
# search looks for (cli-masking.sh, canary.sh). Never printed.
ve_needle() {
        local v
        v="$3-$2-$(ve_random)"
        printf '%s\n' "$v" >>"$1"
        printf -v "$2" '%s' "$v"
}

# Starts scripts/vault-dev on a free port; sets VAULT_ADDR, VAULT_TOKEN,
# VE_DEV_PID. Extra arguments go to the server.
ve_vault_start() {
        local portfile="$VE_TMP/vault.port.$RANDOM" i
        VE_ROOT_TOKEN="fake-root-$(ve_random)"
        "$VE_VAULT_DEV" -dev-root-token-id="$VE_ROOT_TOKEN" -dev-listen-address=127.0.0.1:0 \
                --port-file "$portfile" --quiet "$@" 2>"$VE_TMP/vault-dev.log" &
        VE_DEV_PID=$!
        VE_PIDS+=("$VE_DEV_PID")
        for i in $(seq 1 100); do
                [ -s "$portfile" ] && break
                sleep 0.1
        done
        [ -s "$portfile" ] || { echo "vault-dev did not start:"; cat "$VE_TMP/vault-dev.log"; return 1; }
        VE_DEV_PORT=$(cat "$portfile")
        local scheme=http
        case " $* " in *" --tls-cert "*) scheme=https ;; esac
        export VAULT_ADDR="$scheme://127.0.0.1:$VE_DEV_PORT"
        export VAULT_TOKEN="$VE_ROOT_TOKEN"
}

ve_vault_stop() {
        kill "$VE_DEV_PID" 2>/dev/null || true
        wait "$VE_DEV_PID" 2>/dev/null || true
}

# ve_api METHOD PATH [JSON]: a request with the root token; fails on >= 400.
ve_api() {
        local method=$1 path=$2 body=${3:-}
        local args=(-sS --fail -o /dev/null -X "$method" -H "X-Vault-Token: $VE_ROOT_TOKEN")
        # shellcheck disable=SC2206
        [ -n "${VE_CURL_OPTS:-}" ] && args+=($VE_CURL_OPTS)
        [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
        curl "${args[@]}" "$VAULT_ADDR/v1/$path"
}

# ve_kv2_put MOUNT/PATH JSON-object  (KV v2 write)
ve_kv2_put() {
        local mount=${1%%/*} rest=${1#*/}
        ve_api POST "$mount/data/$rest" "{\"data\":$2}"
}

# Request counters of the dev server: ve_count "GET /v1/secret/data/app/db"
ve_count() {
        curl -sS "$VAULT_ADDR/_dev/requests" ${VE_CURL_OPTS:-} |
                python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["requests"].get(sys.argv[1], 0) if len(sys.argv[1]) else d["total"])' "$1"
}
ve_connections() {
        curl -sS "$VAULT_ADDR/_dev/requests" ${VE_CURL_OPTS:-} |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"])'
}
ve_reset_counts() { curl -sS -X POST -o /dev/null "$VAULT_ADDR/_dev/reset" ${VE_CURL_OPTS:-}; }

# ve_read OUT NAME... : runs the test program under the shim (readenv
# options in VE_READ_OPTS); its stderr is kept in $VE_TMP/stderr.
ve_read() {
        local out=$1; shift
        # shellcheck disable=SC2086
        LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" ${VE_READ_OPTS:-} "$out" "$@" 2>"$VE_TMP/stderr"
}

# ve_expect OUT 'NAME=value' 'OTHER unset' ...: compares without printing
# values: on mismatch, only the names that differ are shown.
ve_expect() {
        local out=$1; shift
        printf '%s\n' "$@" >"$out.expected"
        if cmp -s "$out" "$out.expected"; then
                return 0
        fi
        echo "# mismatch in: $(paste -d'|' "$out" "$out.expected" | awk -F'|' '$1 != $2 { split($2, a, /[= ]/); printf "%s ", a[1] }')"
        return 1
}

# stderr of the last ve_read contains / lacks a fixed string
stderr_has() { grep -qF -- "$1" "$VE_TMP/stderr"; }
stderr_lacks() { ! grep -qF -- "$1" "$VE_TMP/stderr"; }

# ---- authentication (auth-*.sh) ----
# ve_auth_get METHOD PATH JSON FIELD [HEADER...]: one root-token request;
# the answer's FIELD (dotted: data.role_id) on stdout, to be captured into
# a file or variable, never shown.
ve_auth_get() {
        local method=$1 path=$2 body=$3 field=$4 h
        shift 4
        local args=(-sS --fail -X "$method" -H "X-Vault-Token: $VE_ROOT_TOKEN")
        # shellcheck disable=SC2206
        [ -n "${VE_CURL_OPTS:-}" ] && args+=($VE_CURL_OPTS)
        [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
        for h in "$@"; do args+=(-H "$h"); done
        curl "${args[@]}" "$VAULT_ADDR/v1/$path" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[k]
sys.stdout.write(str(d))' "$field"
}

# ve_auth_policy NAME PATH-GLOB: a policy that may read only PATH-GLOB.
ve_auth_policy() {
        ve_api PUT "sys/policy/$1" "{\"policy\":\"path \\\"$2\\\" { capabilities = [\\\"read\\\"] }\"}"
}

# ve_auth_keypair KEY PUB: a fresh RSA key and its public key (PEM).
ve_auth_keypair() {
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
        chmod 600 "$1"
        openssl pkey -in "$1" -pubout -out "$2"
}

# ve_auth_jwt KEY CLAIMS-JSON OUT: an RS256 JWT of CLAIMS signed with KEY,
# written to OUT (0600).
ve_auth_jwt() {
        local h p s
        h=$(printf '{"alg":"RS256","typ":"JWT"}' | basenc --base64url -w0 | tr -d '=')
        p=$(printf '%s' "$2" | basenc --base64url -w0 | tr -d '=')
        s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$1" -binary | basenc --base64url -w0 | tr -d '=')
        (umask 077 && printf '%s.%s.%s' "$h" "$p" "$s" >"$3")
}

# ve_auth_json_file FILE: the file's text as a JSON string.
ve_auth_json_file() { python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"; }

# ve_transport_fault JSON [BASE-URL]: sets the dev server's fault (default
# server: $VAULT_ADDR); '{"mode":"none"}' clears it.
ve_transport_fault() {
        curl -sS --fail -o /dev/null -X POST --data "$1" "${2:-$VAULT_ADDR}/_dev/fault" ${VE_CURL_OPTS:-}
}

# ve_transport_stat FIELD [BASE-URL]: total, connections or with_token of
# the dev server's /_dev/requests.
ve_transport_stat() {
        curl -sS "${2:-$VAULT_ADDR}/_dev/requests" ${VE_CURL_OPTS:-} |
                python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# ve_pki DIR DNS-NAME...: a throwaway PKI made with openssl now: ca.pem/.key,
# other-ca.pem (an unrelated CA), server.pem/.key for the DNS names (the
# first is the CN; no IP address), client.pem/.key (CN app-client), all
# signed by ca.pem; capath/ holds ca.pem hashed for VAULT_CAPATH.
ve_pki() {
        local pki=$1 san="" n
        shift
        for n in "$@"; do san="$san${san:+,}DNS:$n"; done
        mkdir -p "$pki/capath"
        (
                set -e
                ossl() { openssl "$@" >/dev/null 2>&1; }
                cd "$pki"
                ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=vaultenv test CA"
                ossl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj "/CN=other CA"
                ossl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=$1"
                printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >server.ext
                ossl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
                ossl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=app-client"
                printf 'extendedKeyUsage=clientAuth\n' >client.ext
                ossl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext
                chmod 600 ./*.key
                cp ca.pem capath/
                ossl rehash capath
        )
}

# ---- eager mode and exec hygiene (eager-*.sh, exec-hygiene.sh) ----
# ve_eager_wait FILE [SECONDS]: waits (up to SECONDS, default 10) until
# FILE exists.
ve_eager_wait() {
        local i
        for i in $(seq 1 $((${2:-10} * 10))); do
                [ -e "$1" ] && return 0
                sleep 0.1
        done
        return 1
}
# ve_eager_environ_has PID TEXT: /proc/PID/environ (the environment the
# process was started with) holds the fixed string TEXT. Prints nothing.
ve_eager_environ_has() {
        tr '\0' '\n' <"/proc/$1/environ" | grep -F -- "$2" >/dev/null
}
ve_eager_environ_lacks() { ! ve_eager_environ_has "$@"; }

# ---- relprog tests (rel-concurrency.sh, rel-plugin.sh) ----
# ve_rel_fixture: a dev server with secret/app/{db,slow,other} and a
# mapping of PGPASSWORD, DB_USER (db), SLOW_KEY and OTHER_KEY, in
# VAULTENV_MAP; PLAIN_VAR=plain-value is unmapped.
ve_rel_fixture() {
        ve_vault_start
        ve_kv2_put secret/app/db '{"password":"fake-pw-1","user":"fake-user"}'
        ve_kv2_put secret/app/slow '{"value":"fake-slow-1"}'
        ve_kv2_put secret/app/other '{"value":"fake-other-1"}'
        cat >"$VE_TMP/app.map" <<'MAP'
PGPASSWORD = secret/app/db#password
DB_USER    = secret/app/db#user
SLOW_KEY   = secret/app/slow
OTHER_KEY  = secret/app/other
MAP
        export VAULTENV_MAP="$VE_TMP/app.map"
        export PLAIN_VAR=plain-value
}

# ---- core dumps (rel-secrets-shim.sh, rel-secrets-tls.sh) ----
# ve_crash DIR [VAR=VALUE...]: under the shim, in DIR (a core_pattern of
# "core" writes the core there), with core dumps allowed, a program that
# reads A through getenv (keeping only the pointer: no copy of the value in
# its own memory), writes "A set"/"A unset" and "dumpable N"
# (PR_GET_DUMPABLE) to DIR/out, then crashes. Without MALLOC_PERTURB_
# (meson sets it for every test): it has glibc overwrite freed memory,
# which would hide copies left there. In an ASan build the sanitizer lets
# the signal through and leaves core dumps on.
ve_crash() {
        local dir=$1
        shift
        mkdir -p "$dir"
        [ -z "$VE_ASAN_RUNTIME" ] || set -- "$@" "ASAN_OPTIONS=${ASAN_OPTIONS:-}:handle_segv=0:disable_coredump=0"
        (cd "$dir" && ulimit -c unlimited && env -u MALLOC_PERTURB_ "$@" LD_PRELOAD="$VE_PRELOAD" python3 -c '
import ctypes, os, signal, sys
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_void_p
p = libc.getenv(b"A")
with open(sys.argv[1], "w") as f:
    f.write("A set\n" if p else "A unset\n")
    f.write("dumpable %d\n" % libc.prctl(3, 0, 0, 0, 0))     # PR_GET_DUMPABLE
os.kill(os.getpid(), signal.SIGSEGV)' "$dir/out" 2>"$dir/stderr") || true
}
# ve_core_in DIR: the core file ve_crash left in DIR, "" if none.
ve_core_in() { { ls "$1"/core* 2>/dev/null || true; } | head -n 1; }

# ---- Go programs (exec-static.sh, runtimes.sh) ----
# ve_go_build CGO OUT: builds tests/integration/helpers/goreader (standard
# library only) with CGO_ENABLED=CGO (0: static; 1: cgo, dynamic) into OUT,
# with its caches in VE_TMP and no network. Needs Debian's golang-go.
ve_go_build() {
        (cd "$VE_SOURCE_ROOT/tests/integration/helpers/goreader" &&
                env GOCACHE="$VE_TMP/go/cache" GOPATH="$VE_TMP/go/path" HOME="$VE_TMP/go" GOPROXY=off \
                GOFLAGS=-buildvcs=false CGO_ENABLED="$1" go build -o "$2" .)
}
