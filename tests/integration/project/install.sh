#!/bin/bash
# meson install into a scratch DESTDIR (a moved prefix): the installed
# vaultenv finds its libvaultenv.so, which finds its core beside it, and a
# program gets its secret; so it does after the whole tree is moved again and
# when called through a symbolic link; nothing installed points into the
# build tree; the man pages (with the version) and the bash completion are
# installed.
. "$(dirname "$0")/../lib.sh"
: "${VE_BUILD_ROOT:?}" "${VE_SOURCE_ROOT:?}"

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
        ve_expect "$out" "PGPASSWORD=fake-installed-pw" "LD_PRELOAD=$VE_PRELOAD_PREFIX$shim"

# The whole installed tree moved elsewhere (an unpacked package, a container
# layer): the launcher still finds the shim relative to itself.
moved=$VE_TMP/elsewhere/opt
mkdir -p "$(dirname "$moved")"
mv "$dest" "$moved"
mcli=${cli/#$dest/$moved}
mshim=${shim/#$dest/$moved}
check "moved tree: the launcher runs a program" "$mcli" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" PGPASSWORD LD_PRELOAD
check "moved tree: its own shim served the secret" ve_expect "$out" "PGPASSWORD=fake-installed-pw" "LD_PRELOAD=$VE_PRELOAD_PREFIX$mshim"
mkdir -p "$VE_TMP/linkbin"
ln -s "$mcli" "$VE_TMP/linkbin/vaultenv"
check "through a symbolic link (/usr/bin/vaultenv -> ...): the shim is found" \
        "$VE_TMP/linkbin/vaultenv" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" PGPASSWORD LD_PRELOAD
check "through a symbolic link: the moved tree's shim" ve_expect "$out" "PGPASSWORD=fake-installed-pw" "LD_PRELOAD=$VE_PRELOAD_PREFIX$mshim"
check "installed vaultenv version runs" bash -c "'$mcli' version | grep -q '^vaultenv '"

# Nothing installed refers to the build tree (no RPATH/RUNPATH into it).
refs=""
for f in "$mcli" "$mshim" "$(dirname "$mshim")/libvaultenv-core.so"; do
        readelf -d "$f" 2>/dev/null | grep -E 'R(UN)?PATH' | grep -qF "$VE_BUILD_ROOT" && refs="$refs $(basename "$f")"
done
check "no installed file has an RPATH into the build tree${refs:+ ($refs)}" test -z "$refs"

# Man pages as built (doc/PAGE.in with the version filled in), their .TH
# line carrying the version `vaultenv version` prints; the bash completion
# where bash-completion looks.
version=$("$mcli" version)
for page in vaultenv.1 vaultenv.map.5; do
        inst=$(find "$moved" -name "$page" -type f | head -n 1)
        check "installed man page $page is the built one" cmp -s "$inst" "$VE_BUILD_ROOT/$page"
        check "installed man page $page: .TH carries \"$version\"" grep -qF "\"$version\"" <(grep '^\.TH ' "$inst")
        check "installed man page $page: nothing left to fill in" bash -c "! grep -qE '@[A-Z_]+@' '$inst'"
done
comp=$(find "$moved" -path '*/share/bash-completion/completions/vaultenv' -type f | head -n 1)
check "installed: bash completion in share/bash-completion/completions/" test -n "$comp"
check "installed completion is the source's" cmp -s "$comp" "$VE_SOURCE_ROOT/shell-completion/bash/vaultenv"
check "installed completion registers itself for vaultenv" \
        bash --norc --noprofile -c ". '$comp' && complete -p vaultenv | grep -q -- '-F _vaultenv'"
ve_done
