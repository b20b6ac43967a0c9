#!/bin/bash
# Issue 7, secrets in the process, over real TLS: a value read from Vault
# over https is not in a core dump. Besides the shim's own copies (memory
# marked MADV_DONTDUMP), the decrypted answer passes through OpenSSL's
# record buffer and libcurl's receive buffer, which their libraries keep
# or free without clearing: the shim clears libcurl's buffer once the body
# is delivered and asks OpenSSL to clear its plaintext
# (SSL_OP_CLEANSE_PLAINTEXT). Run without MALLOC_PERTURB_ (meson sets it),
# which would have glibc overwrite freed memory and hide such copies.
. "$(dirname "$0")/lib.sh"

pki=$VE_TMP/pki
ve_pki "$pki" localhost
export VE_CURL_OPTS="--cacert $pki/ca.pem"
ve_vault_start --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
export VAULT_ADDR=https://localhost:$VE_DEV_PORT VAULT_CACERT=$pki/ca.pem
canary="fake-canary-tls-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$canary\"}"
printf 'A = secret/app/db#password\n' >"$VE_TMP/app.map"
chmod 600 "$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"

# The program reads A through getenv, keeping only the pointer (no copy of
# the value in its own memory), then crashes.
cat >"$VE_TMP/crash.py" <<'PY'
import ctypes, os, signal, sys
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_void_p
with open(sys.argv[1], "w") as f:
    f.write("A set\n" if libc.getenv(b"A") else "A unset\n")
os.kill(os.getpid(), signal.SIGSEGV)
PY
d=$VE_TMP/c
mkdir -p "$d"
asan=()
[ -z "$VE_ASAN_RUNTIME" ] || asan=("ASAN_OPTIONS=${ASAN_OPTIONS:-}:handle_segv=0:disable_coredump=0")
(cd "$d" && ulimit -c unlimited && env -u MALLOC_PERTURB_ "${asan[@]}" LD_PRELOAD="$VE_PRELOAD" \
        python3 "$VE_TMP/crash.py" "$d/out" 2>"$d/stderr") || true
check "A read from Vault over https" grep -qx "A set" "$d/out"
core=$({ ls "$d"/core* 2>/dev/null || true; } | head -n 1)
if [ -n "$core" ]; then
        check "core dump: written (control)" test -s "$core"
        check "core dump: the value read over TLS is not in it" bash -c "! grep -qaF -- '$canary' '$core'"
else
        echo "ok - # SKIP no core dump is written here (core_pattern $(cat /proc/sys/kernel/core_pattern 2>/dev/null))"
fi
ve_done
