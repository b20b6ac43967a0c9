#!/bin/bash
# The Debian package (debian/) as built by dpkg-buildpackage: VE_DEB is the
# path of vaultenv_VERSION_ARCH.deb and VE_DSC that of the source package's
# .dsc, which scripts/test builds from a clean copy of the tree and always
# passes (the package build is outside meson: it builds the tree itself).
# Without VE_DEB the test is skipped (77), saying so; VE_DEB without VE_DSC
# fails.
# Checked: the files are where the package promises (the command in
# /usr/bin, the shim and its core in /usr/lib/<multiarch>/vaultenv/, man
# pages, bash completion, examples, copyright) and its dependencies come
# from the libraries it links; one version everywhere (project(version:),
# debian/changelog, the package, `vaultenv version`, the man pages' .TH);
# unpacked into a scratch root, its `vaultenv exec` and its shim serve a
# secret from the dev server; lintian reports no error and no warning that
# debian/ does not override.
. "$(dirname "$0")/../lib.sh"
: "${VE_SOURCE_ROOT:?}" "${VE_BUILD_ROOT:?}"
if [ -z "${VE_DEB:-}" ]; then
        echo "# VE_DEB not set: scripts/test builds the package and runs this test with it"
        exit 77
fi
deb=$VE_DEB
dsc=${VE_DSC:-}
check "the package exists ($(basename "$deb"))" test -f "$deb"
check "the source package exists ($(basename "${dsc:-VE_DSC not set}"))" test -n "$dsc" -a -f "$dsc"
[ -f "$deb" ] || { ve_done; exit 1; }

# ---- contents
dpkg-deb -c "$deb" | awk '{ print $1 " " $6 }' | sed 's#^\(.\)[^ ]* \./#\1 /#' >"$VE_TMP/contents"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
has() { grep -qxF -e "$1" "$VE_TMP/contents"; }
for f in /usr/bin/vaultenv "/usr/lib/$multiarch/vaultenv/libvaultenv.so" \
        "/usr/lib/$multiarch/vaultenv/libvaultenv-core.so" /usr/share/man/man1/vaultenv.1.gz \
        /usr/share/man/man5/vaultenv.map.5.gz /usr/share/bash-completion/completions/vaultenv \
        /usr/share/doc/vaultenv/copyright /usr/share/doc/vaultenv/examples/Dockerfile \
        /usr/share/doc/vaultenv/examples/app.map /usr/share/doc/vaultenv/examples/systemd/app.service; do
        check "package: $f" has "- $f"
done
check "package: nothing in /usr/local or a public library directory" \
        bash -c "! grep -E ' /usr/local/| /usr/lib/$multiarch/[^/]+\$' '$VE_TMP/contents'"
# ${shlibs:Depends}: the core's libcurl and cJSON, found by dh_shlibdeps.
depends=$(dpkg-deb -f "$deb" Depends)
check "package: Depends names libcurl4 and libcjson1 (from the libraries linked)" \
        bash -c "grep -qw libcurl4 <<<'$depends' && grep -qw libcjson1 <<<'$depends'"

# ---- one version: meson.build's project(version:)
version=$(meson introspect --projectinfo "$VE_BUILD_ROOT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
changelog=$(dpkg-parsechangelog -l "$VE_SOURCE_ROOT/debian/changelog" -S Version)
upstream=${changelog#*:}
upstream=${upstream%-*}
check "debian/changelog's version ($changelog) is project(version:) ($version)" test "$upstream" = "$version"
check "the package's version is debian/changelog's" test "$(dpkg-deb -f "$deb" Version)" = "$changelog"

root=$VE_TMP/root
dpkg-deb -x "$deb" "$root"
cli=$root/usr/bin/vaultenv
shim=$root/usr/lib/$multiarch/vaultenv/libvaultenv.so
check "packaged vaultenv version prints \"vaultenv $version\"" test "$("$cli" version)" = "vaultenv $version"
for page in man1/vaultenv.1 man5/vaultenv.map.5; do
        check "packaged man page $page: .TH carries \"vaultenv $version\"" \
                bash -c "zcat '$root/usr/share/man/$page.gz' | grep '^\.TH ' | grep -qF '\"vaultenv $version\"'"
done

# ---- the unpacked package against the dev server
ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-package-pw"}'
printf 'PGPASSWORD = secret/app/db#password\n' >"$VE_TMP/app.map"
out=$VE_TMP/out
check "packaged vaultenv exec runs a program" \
        "$cli" exec -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" PGPASSWORD LD_PRELOAD
check "packaged vaultenv exec preloads the package's own shim, which serves the secret" \
        ve_expect "$out" "PGPASSWORD=fake-package-pw" "LD_PRELOAD=$shim"
rm -f "$out"
VAULTENV_MAP=$VE_TMP/app.map LD_PRELOAD=$shim "$VE_READENV" "$out" PGPASSWORD 2>"$VE_TMP/stderr" || true
check "the packaged shim, preloaded by hand, loads its core and serves the secret" \
        ve_expect "$out" "PGPASSWORD=fake-package-pw"

# ---- lintian: no error; every warning fixed or overridden in debian/
# (debian/vaultenv.lintian-overrides, debian/source/lintian-overrides).
for what in "$deb" "$dsc"; do
        [ -f "$what" ] || continue
        name=$(basename "$what")
        rc=0
        lintian --tag-display-limit 0 "$what" >"$VE_TMP/lintian.log" 2>&1 || rc=$?
        sed 's/^/# /' "$VE_TMP/lintian.log"
        check "lintian $name: no error (E:)" bash -c "! grep -q '^E:' '$VE_TMP/lintian.log'"
        check "lintian $name: no warning (W:) that debian/ does not override" bash -c "! grep -q '^W:' '$VE_TMP/lintian.log'"
        check "lintian $name: exit status 0 (it ran, and found nothing at its fail-on level)" test "$rc" = 0
done
ve_done
