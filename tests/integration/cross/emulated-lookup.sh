#!/bin/bash
# The cross build's end-to-end lookup (cross/aarch64-linux-gnu.ini): the
# target's readenv runs under qemu-user (VE_EMULATOR) with the target's
# shim preloaded into the guest (-E: the host's qemu process must not
# preload it), against the host's dev server on 127.0.0.1. Each path of the
# shim that runs before main (the constructor: getauxval, the mapping's
# pre-filter, eager placement, the core located for a relative LD_PRELOAD)
# and the lazy lookup through the dlopen()ed core and the target's libcurl.
. "$(dirname "$0")/../lib.sh"
: "${VE_EMULATOR:?}"

# emu [ENV=VALUE...] -- READENV-ARGS: readenv under the emulator, the shim
# and ENV in the guest's environment only; its stderr in $VE_TMP/stderr.
emu() {
        local e=(-E "LD_PRELOAD=${PRELOAD:-$VE_SHIM}")
        while [ "$1" != -- ]; do e+=(-E "$1"); shift; done
        shift
        timeout 60 "$VE_EMULATOR" "${e[@]}" "$VE_READENV" "$@" 2>"$VE_TMP/stderr"
}

ve_vault_start
pw="fake-arm-pw-$(ve_random)"
key="fake-arm-key-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$pw\"}"
ve_kv2_put secret/app/key "{\"value\":\"$key\"}"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' >"$VE_TMP/lazy.map"
printf '%s\n' 'PGPASSWORD = secret/app/db#password eager' 'API_KEY = secret/app/key' >"$VE_TMP/eager.map"
export PLAIN=fake-plain

# The program is the target's: a host program here would test nothing.
check "readenv is a program for the emulated machine" eval \
        '! "$VE_READENV" "$VE_TMP/native" PLAIN 2>/dev/null'

out=$VE_TMP/out
check "lazy: the program runs under the emulator with the shim" \
        emu "VAULTENV_MAP=$VE_TMP/lazy.map" -- "$out" PGPASSWORD PLAIN NOT_SET
check "lazy: the mapped name has Vault's value, the others pass through" \
        ve_expect "$out" "PGPASSWORD=$pw" "PLAIN=fake-plain" "NOT_SET unset"
check "lazy: nothing on stderr" test ! -s "$VE_TMP/stderr"
check "lazy: secure_getenv is served too" \
        eval 'emu "VAULTENV_MAP=$VE_TMP/lazy.map" -- --secure "$out" PGPASSWORD && ve_expect "$out" "PGPASSWORD=$pw"'

# Eager: the constructor reads the mapping before main and places the
# value in environ; the program then reads it without another request.
ve_reset_counts
check "eager: the program runs" emu "VAULTENV_MAP=$VE_TMP/eager.map" -- "$out" PGPASSWORD API_KEY
check "eager and lazy names have Vault's values" ve_expect "$out" "PGPASSWORD=$pw" "API_KEY=$key"
check "eager: nothing on stderr" test ! -s "$VE_TMP/stderr"
check "eager: the values came from the server" test "$(ve_count "GET /v1/secret/data/app/db")" = 1

# A relative LD_PRELOAD: the constructor locates the core (realpath) at
# load time, before the program changes directory.
shimdir=$(dirname "$VE_SHIM")
check "relative LD_PRELOAD, then chdir: the core is still found" eval \
        '(cd "$shimdir" && PRELOAD=./$(basename "$VE_SHIM") emu "VAULTENV_MAP=$VE_TMP/lazy.map" -- \
                --chdir / "$out" PGPASSWORD) && ve_expect "$out" "PGPASSWORD=$pw"'

# A mapping that names nothing the server has: the lookup fails, said on
# stderr without the value, the program goes on (VAULTENV_ON_MISSING=null).
printf '%s\n' 'MISSING = secret/app/none#x' >"$VE_TMP/missing.map"
check "missing: the program goes on" \
        emu "VAULTENV_MAP=$VE_TMP/missing.map" VAULTENV_ON_MISSING=null -- "$out" MISSING PLAIN
check "missing: NULL, and pass-through of the others" ve_expect "$out" "MISSING unset" "PLAIN=fake-plain"
check "no value or token on stderr" eval \
        '! grep -qF -e "$pw" -e "$key" -e "$VE_ROOT_TOKEN" "$VE_TMP/stderr"'
ve_done
