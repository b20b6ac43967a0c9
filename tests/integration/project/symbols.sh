#!/bin/bash
# Symbol hygiene and the lazy core: the preloaded object exports getenv,
# secure_getenv and the exec family (exec hygiene, shim/preload/exec.c) only and
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
# lib/'s process-wide state (the log callback, the secure-memory arena)
# lives in one object only: a data object defined in both would be a
# second copy of it, and what one object allocates the other would free.
# The linker's and the C start files' own objects (crtbegin/crtend: the
# TM clone table end, the init/fini array entries, the "completed" flag of
# __do_global_dtors_aux) are in every shared object and are not lib/'s.
data_objects() {
        nm --defined-only "$1" |
                awk '$2 ~ /^[bBdD]$/ && $3 !~ /^(_DYNAMIC|_GLOBAL_OFFSET_TABLE_|__dso_handle|__TMC_END__|__do_global_dtors_aux_fini_array_entry|__frame_dummy_init_array_entry|completed\.[0-9]+)$/ { print $3 }' |
                sort -u
}
both=$(comm -12 <(data_objects "$VE_SHIM") <(data_objects "$VE_CORE") | tr '\n' ' ')
[ -z "$both" ] && ok "no data object is defined in both the shim and the core" ||
        fail "data objects defined in both the shim and the core: $both"
echo "# symbols: $fails failure(s)"
[ "$fails" = 0 ]
