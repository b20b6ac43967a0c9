#!/bin/bash
# The shim preloaded together with other allocators. jemalloc
# (Debian's libjemalloc2, preloaded before or after the shim) reads
# MALLOC_CONF through secure_getenv() while it holds its non-recursive
# init lock, often from a constructor that runs before the shim's; so does
# librelmalloc.so (a malloc interposer with an error-checking lock that
# aborts where a plain one would hang), on every 64th call as well. If the
# shim initialised itself (and allocated) on such a call, or allocated on
# its pass-through path, the process would hang. Then 1,000 process starts
# across those combinations, all with mapped and unmapped names: every one
# completes with the right values.
. "$(dirname "$0")/../lib.sh"
: "${VE_RELMALLOC:?}"
ve_asan_skip "a second allocator cannot run beside ASan's"

jemalloc=
for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
        [ -e "$d/libjemalloc.so.2" ] && { jemalloc=$d/libjemalloc.so.2; break; }
done

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1","user":"fake-user"}'
cat >"$VE_TMP/app.map" <<'MAP'
PGPASSWORD = secret/app/db#password
DB_USER    = secret/app/db#user
MAP
export VAULTENV_MAP="$VE_TMP/app.map"
export PLAIN_VAR=plain-value
out=$VE_TMP/out

preloads=("$VE_RELMALLOC $VE_SHIM" "$VE_SHIM $VE_RELMALLOC")
if [ -n "$jemalloc" ]; then
        preloads+=("$jemalloc $VE_SHIM" "$VE_SHIM $jemalloc")
else
        fail "libjemalloc.so.2 not installed (scripts/deps installs libjemalloc2)"
fi

for pre in "${preloads[@]}"; do
        what=$(for f in $pre; do basename "$f"; done | tr '\n' ' ')
        for threads in 0 8; do
                opts=()
                [ "$threads" = 0 ] || opts=(--threads "$threads")
                timeout 60 env LD_PRELOAD="$pre" "$VE_READENV" "${opts[@]}" "$out" PGPASSWORD DB_USER PLAIN_VAR NOT_SET \
                        2>"$VE_TMP/stderr" && r=0 || r=$?
                check "LD_PRELOAD=${what}($threads threads): completes" test "$r" = 0
                expected=("PGPASSWORD=fake-pw-1" "DB_USER=fake-user" "PLAIN_VAR=plain-value" "NOT_SET unset")
                [ "$threads" = 0 ] || expected+=("threads same")
                check "LD_PRELOAD=${what}($threads threads): values" ve_expect "$out" "${expected[@]}"
                check "LD_PRELOAD=${what}($threads threads): nothing on stderr" test ! -s "$VE_TMP/stderr"
        done
done

# MALLOC_CONF itself, set: it reaches the allocator (the shim passes it
# through without initialising itself).
MALLOC_CONF=narenas:2 timeout 60 env LD_PRELOAD="$VE_RELMALLOC $VE_SHIM" \
        "$VE_READENV" "$out" MALLOC_CONF PGPASSWORD 2>"$VE_TMP/stderr" && r=0 || r=$?
check "MALLOC_CONF set: completes" test "$r" = 0
check "MALLOC_CONF set: passes through" ve_expect "$out" "MALLOC_CONF=narenas:2" "PGPASSWORD=fake-pw-1"

# 1,000 starts, 8 at a time, cycling through the combinations (and the
# shim alone). Each start has a watchdog; the count of correct outputs
# must be 1,000.
preloads+=("$VE_SHIM")
mkdir -p "$VE_TMP/starts"
printf '%s\n' "PGPASSWORD=fake-pw-1" "DB_USER=fake-user" "PLAIN_VAR=plain-value" >"$VE_TMP/starts.expected"
start_one() {
        local i=$1 o="$VE_TMP/starts/$1"
        local pre=${preloads[$((i % ${#preloads[@]}))]}

        timeout 60 env LD_PRELOAD="$pre" "$VE_READENV" "$o" PGPASSWORD DB_USER PLAIN_VAR 2>"$o.err" &&
                cmp -s "$o" "$VE_TMP/starts.expected" && [ ! -s "$o.err" ] && echo "$i"
}
export -f start_one
export VE_TMP VE_READENV
printf '%s\n' "${preloads[@]}" >"$VE_TMP/preloads"
ok_count=$(for i in $(seq 1 1000); do echo "$i"; done |
        xargs -P 8 -n 50 bash -c 'preloads=(); while IFS= read -r l; do preloads+=("$l"); done <"$VE_TMP/preloads"; for i in "$@"; do start_one "$i"; done' _ \
        2>/dev/null | wc -l)
check "1,000 process starts all complete with the right values ($ok_count)" test "$ok_count" = 1000

ve_done
