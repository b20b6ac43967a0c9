#!/bin/bash
# Secure mode (AT_SECURE): a setuid program, with the shim in the loader's
# /etc/ld.so.preload (LD_PRELOAD is not honoured for setuid programs). The
# shim must be a pure pass-through there (no mapping read, no Vault, no
# fallback) and secure_getenv must return NULL, as glibc's does. Done in a
# private mount namespace over a copy of /etc, so the host is untouched.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
        echo "# needs root and mount namespaces; skipped"
        exit 77
fi
if findmnt -no OPTIONS --target "$VE_TMP" 2>/dev/null | grep -qw nosuid; then
        echo "# $VE_TMP is mounted nosuid: no setuid program can run there; skipped"
        exit 77
fi
d=$VE_TMP/secure
mkdir -p "$d/out"
chmod 755 "$d"
chmod 777 "$d/out"
cp "$VE_SHIM" "$VE_CORE" "$d/"
cp "$VE_READENV" "$d/setuid-readenv"
cp "$VE_READENV" "$d/readenv"
chown nobody "$d/setuid-readenv"
chmod 4755 "$d/setuid-readenv"
cp -a /etc "$d/etc"
{ [ -z "${VE_ASAN_RUNTIME:-}" ] || echo "$VE_ASAN_RUNTIME"; echo "$d/libvaultenv.so"; } >"$d/etc/ld.so.preload"
echo 'X = secret/x#y default=from-default' >"$d/m.map"
chmod 644 "$d/m.map" "$d"/*.so

unshare -m bash -c '
        d=$1
        mount --bind "$d/etc" /etc || exit 1
        export VAULTENV_MAP=$d/m.map VAULTENV_LOG=debug VAULT_ADDR=http://127.0.0.1:1 PLAIN=plain
        X=env-x "$d/setuid-readenv" "$d/out/getenv" X PLAIN 2>"$d/out/getenv.err"
        X=env-x "$d/setuid-readenv" --secure "$d/out/secure" X PLAIN 2>"$d/out/secure.err"
        "$d/readenv" "$d/out/normal" X PLAIN 2>"$d/out/normal.err"
        "$d/readenv" --secure "$d/out/normal-secure" X PLAIN 2>/dev/null
' _ "$d"

check "secure mode: getenv is a pure pass-through (environment, not the mapping)" \
        ve_expect "$d/out/getenv" "X=env-x" "PLAIN=plain"
check "secure mode: secure_getenv returns NULL" ve_expect "$d/out/secure" "X unset" "PLAIN unset"
# (An ASan build: LeakSanitizer cannot stop a setuid process's threads and
# says so on stderr; lines of the sanitizer's runtime are not the shim's.)
[ -z "$VE_ASAN_RUNTIME" ] || sed -i '/^==[0-9]*==/d' "$d/out/getenv.err" "$d/out/secure.err"
check "secure mode: the shim did nothing at all (no log even at debug)" \
        test ! -s "$d/out/getenv.err" -a ! -s "$d/out/secure.err"
check "same preload, not setuid: the mapping applies (control)" \
        ve_expect "$d/out/normal" "X=from-default" "PLAIN=plain"
check "not setuid: secure_getenv resolves mapped names" \
        ve_expect "$d/out/normal-secure" "X=from-default" "PLAIN=plain"
check "not setuid: the shim worked (debug log)" grep -q "1 variable(s) mapped" "$d/out/normal.err"
ve_done
