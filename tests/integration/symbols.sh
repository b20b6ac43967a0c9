#!/bin/bash
# Symbol hygiene and the lazy core: the preloaded object exports getenv,
# secure_getenv and the exec family (exec hygiene, shim/exec.c) only and
# does not link libcurl, TLS or cJSON; the core exports its one entry point.
set -euo pipefail
: "${VE_SHIM:?}" "${VE_CORE:?}"
fails=0
ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; fails=$((fails + 1)); }

syms=$(nm -D --defined-only "$VE_SHIM" | awk '{print $3}' | grep -v '^VAULTENV' | sort | tr '\n' ' ')
want="execl execle execlp execv execve execveat execvp execvpe fexecve getenv pclose popen posix_spawn posix_spawnp secure_getenv system "
[ "$syms" = "$want" ] && ok "shim exports only getenv, secure_getenv and the exec family" ||
        fail "shim exports: $syms"
syms=$(nm -D --defined-only "$VE_CORE" | awk '{print $3}' | sort | tr '\n' ' ')
[ "$syms" = "vaultenv_core_v1 " ] && ok "core exports only vaultenv_core_v1" || fail "core exports: $syms"
needed=$(readelf -d "$VE_SHIM" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case "$needed" in
*curl* | *ssl* | *crypto* | *cjson* | *gnutls*) fail "shim links heavy libraries: $needed" ;;
*) ok "shim needs only: $needed" ;;
esac
readelf -d "$VE_CORE" | grep -q 'NEEDED.*libcurl' && ok "core links libcurl" || fail "core does not link libcurl"
echo "# symbols: $fails failure(s)"
[ "$fails" = 0 ]
