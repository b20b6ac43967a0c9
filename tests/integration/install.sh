#!/bin/bash
# meson install into a scratch DESTDIR (a moved prefix): the installed
# vaultenv finds its libvaultenv.so, which finds its core beside it, and a
# program gets its secret; the man pages are installed.
. "$(dirname "$0")/lib.sh"
: "${VE_BUILD_ROOT:?}"

dest=$VE_TMP/dest
meson install -C "$VE_BUILD_ROOT" --no-rebuild --quiet --destdir "$dest" >"$VE_TMP/install.log" 2>&1 ||
        { cat "$VE_TMP/install.log"; fail "meson install"; ve_done; exit 1; }
cli=$(find "$dest" -path '*/bin/vaultenv' -type f)
shim=$(find "$dest" -name libvaultenv.so -type f)
check "installed: the launcher" test -x "$cli"
check "installed: shim and core in a private directory" \
        bash -c "[ -n '$shim' ] && [ -f '$(dirname "$shim")/libvaultenv-core.so' ] && [ \"\$(basename '$(dirname "$shim")')\" = vaultenv ]"
check "installed: man pages" bash -c "find '$dest' -name vaultenv.1 | grep -q . && find '$dest' -name vaultenv.map.5 | grep -q ."

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-installed-pw"}'
printf 'PGPASSWORD = secret/app/db#password\n' >"$VE_TMP/app.map"
out=$VE_TMP/out
check "installed launcher runs a program" "$cli" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" PGPASSWORD LD_PRELOAD
check "installed shim (not the build tree's) served the secret" \
        ve_expect "$out" "PGPASSWORD=fake-installed-pw" "LD_PRELOAD=$shim"
ve_done
