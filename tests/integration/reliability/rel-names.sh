#!/bin/bash
# Odd names through the preloaded shim: a name containing '=', an
# empty name and NULL never match a mapping (an explicit entry, or a bulk
# prefix they start with), make no request to Vault, and read as glibc's
# getenv() reads them, where the shim's pass-through follows glibc (see
# envscan.h for where it follows musl instead). The program is python3
# calling getenv() through ctypes twice: once as resolved in the global
# scope (the shim's), once from libc.so.6's own scope (glibc's), over the
# same environment. Values are fake and never printed: verdicts go to a file.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-vault-pw"}'
ve_kv2_put secret/app/bulk '{"X":"fake-vault-x","X=Y":"fake-vault-xy","x=y":"fake-vault-xy2","":"fake-vault-empty"}'

cat >"$VE_TMP/app.map" <<'MAP'
DB_PASSWORD = secret/app/db#password
A           = secret/app/db#password
APP_*       = secret/app/bulk#*
MAP
export VAULTENV_MAP="$VE_TMP/app.map"

cat >"$VE_TMP/names.py" <<'PY'
import ctypes, sys

shim = ctypes.CDLL(None)                  # the global scope: the preloaded getenv
glibc = ctypes.CDLL("libc.so.6")          # libc's own scope: glibc's getenv
for lib in (shim, glibc):
    lib.getenv.restype = ctypes.c_char_p
    lib.getenv.argtypes = [ctypes.c_char_p]
shim.secure_getenv.restype = ctypes.c_char_p
shim.secure_getenv.argtypes = [ctypes.c_char_p]
out = open(sys.argv[1], "w")
addr = lambda f: ctypes.cast(f, ctypes.c_void_p).value
out.write("two getenvs %s\n" % ("yes" if addr(shim.getenv) != addr(glibc.getenv) else "no"))
phase = sys.argv[2]
names = [n.encode() for n in sys.argv[3:]]
vault = (b"fake-vault-pw", b"fake-vault-x", b"fake-vault-xy", b"fake-vault-xy2", b"fake-vault-empty")
if phase == "odd":
    for i, n in enumerate(names):
        s, g, sec = shim.getenv(n), glibc.getenv(n), shim.secure_getenv(n)
        if s in vault or sec in vault:
            v = "VAULT"
        elif s == g and sec == g:
            v = "same"
        elif s is None and sec is None and b"=" in n:
            v = "null-where-glibc-has-a-value"   # musl's rule, envscan.h
        else:
            v = "differs"
        out.write("%d %s\n" % (i, v))
    # NULL: glibc's getenv(NULL) would crash; the shim gives NULL
    out.write("NULL %s %s\n" % (shim.getenv(None), shim.secure_getenv(None)))
else:
    for n in names:
        out.write("%s %s\n" % (n.decode(), "vault" if shim.getenv(n) in vault else "other"))
PY

# In the environment: entries that glibc's prefix rule finds for names with
# '=' ("DB_PASSWORD=x" finds DB_PASSWORD's entry "DB_PASSWORD=x=fake-env-1").
run() {
        env 'DB_PASSWORD=x=fake-env-1' 'A=B=fake-env-2' 'APP_X=Y=fake-env-3' 'APP_Z=fake-env-4' \
                LD_PRELOAD="$VE_PRELOAD" python3 "$VE_TMP/names.py" "$@" 2>"$VE_TMP/stderr"
}

odd=('' '=' 'DB_PASSWORD=' 'DB_PASSWORD=x' 'DB_PASSWORD=y' '=DB_PASSWORD' 'A=' 'A=B' \
     'APP_X=Y' 'APP_X=' 'APP_=' 'APP_Z=' 'APP_Q=R' 'APP_X=Y=fake-env-3')
ve_reset_counts
out=$VE_TMP/out
check "python3 under the shim reads the odd names" run "$out" odd "${odd[@]}"
check "the shim's and glibc's getenv are different functions" grep -qx 'two getenvs yes' "$out"
check "no odd name ever gives a Vault value" bash -c "! grep -q VAULT '$out'"
check "NULL gives NULL, no crash (getenv and secure_getenv)" grep -qx 'NULL None None' "$out"
check "no odd name differs from glibc but by the documented NULL for a name with '='" \
        bash -c "! grep -q differs '$out'"
# Where both give NULL or the same value: the empty name, names that no
# entry starts with.
for i in 0 5 10 12; do
        check "odd name #$i: as glibc" grep -qx "$i same" "$out"
done
# Known difference (reported): glibc gives the rest of a longer entry for a
# name with '=' ("A=B" -> "fake-env-2"); the shim's pass-through gives NULL.
n_known=$(grep -c 'null-where-glibc-has-a-value' "$out" || true)
echo "# names with '=' where glibc returns a value and the shim NULL: $n_known"
check "no request to Vault for any odd name" test "$(ve_count '')" = 0
check "nothing on stderr" test ! -s "$VE_TMP/stderr"

# The same mapping does match the plain names (so the checks above mean
# something): their Vault values.
check "the plain names read" run "$out" plain DB_PASSWORD A APP_X
check "the plain names have their Vault values" ve_expect "$out" "two getenvs yes" \
        "DB_PASSWORD vault" "A vault" "APP_X vault"

ve_done
