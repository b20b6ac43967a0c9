#!/bin/bash
# Concurrency and process life: the per-thread guard with the
# names libcurl and OpenSSL read (error-checking mutexes, no lock across
# network I/O), getenv() from another library's constructor before the
# shim's, fork() while another thread is mid-fetch, a signal handler
# calling getenv() during a slow fetch. Every hazard here hangs when the
# protection is missing: each run has a watchdog (timeout), never a timing
# assertion.
. "$(dirname "$0")/../lib.sh"
: "${VE_RELPROG:?}" "${VE_RELCTOR:?}" "${VE_RELCHECK:?}"

ve_rel_fixture
out=$VE_TMP/out

# ---- the per-thread guard ----
# Names that libcurl (proxies, key log, .netrc/.curlrc location) and
# OpenSSL (its configuration) read while the shim fetches, mapped onto the
# very path being fetched: their reads inside the shim's work pass
# through. librelcheck.so (preloaded first) makes vaultenv's mutexes
# error-checking (a relock aborts instead of hanging) and reports any
# network I/O while one is held. (shim-basic.sh covers CURL_SSL_BACKEND,
# OPENSSL_MODULES without the checker. SSLKEYLOGFILE, which libcurl reads
# too, cannot be mapped at all: tests/unit/test-mapfile.c.)
cat >"$VE_TMP/guard.map" <<'MAP'
PGPASSWORD    = secret/app/db#password
no_proxy      = secret/app/db#user
https_proxy   = secret/app/db#user
HOME          = secret/app/db#user
CURL_HOME     = secret/app/db#user
OPENSSL_CONF  = secret/app/db#user
MAP
guard_names="PGPASSWORD no_proxy https_proxy HOME CURL_HOME OPENSSL_CONF"
for threads in 0 8; do
        rm -f "$VE_TMP/check"
        opts=()
        [ "$threads" = 0 ] || opts=(--threads "$threads")
        # shellcheck disable=SC2086
        VAULTENV_MAP=$VE_TMP/guard.map REL_CHECK_OUT=$VE_TMP/check LD_PRELOAD="$VE_PRELOAD_PREFIX$VE_RELCHECK $VE_SHIM" \
                timeout 60 "$VE_READENV" "${opts[@]}" "$out" $guard_names 2>"$VE_TMP/stderr" && r=0 || r=$?
        check "guard ($threads threads): libcurl/OpenSSL names mapped onto the path being fetched: completes" test "$r" = 0
        expected=("PGPASSWORD=fake-pw-1")
        for n in $guard_names; do [ "$n" = PGPASSWORD ] || expected+=("$n=fake-user"); done
        [ "$threads" = 0 ] || expected+=("threads same")
        check "guard ($threads threads): the program gets Vault's values" ve_expect "$out" "${expected[@]}"
        check "guard ($threads threads): the checker saw vaultenv's locks" \
                grep -qE '^locks [1-9]' "$VE_TMP/check"
        check "guard ($threads threads): no mutex locked twice by one thread" \
                sh -c "! grep -q '^relock' '$VE_TMP/check'"
        check "guard ($threads threads): no network I/O while a vaultenv mutex is held" \
                sh -c "! grep -q '^io-under-lock' '$VE_TMP/check'"
done

# ---- getenv() from another library's constructor, before the shim's ----
# The loader runs the constructors of preloaded objects last-listed first:
# librelctor.so listed after the shim runs its constructor (which reads
# the environment: GnuTLS, nettle, p11-kit and libcrypto do) before the
# shim's. Asserted, so that this test keeps testing that order.
order=$(LD_DEBUG=files LD_PRELOAD="$VE_PRELOAD $VE_RELCTOR" "$VE_READENV" "$out" PLAIN_VAR 2>&1 |
        sed -n 's/.*calling init: //p' | grep -E 'librelctor|libvaultenv' | xargs -n1 basename | tr '\n' ' ')
check "constructor order: librelctor.so runs before the shim's constructor" test "$order" = "librelctor.so libvaultenv.so "
cat >"$VE_TMP/eager.map" <<'MAP'
PGPASSWORD = secret/app/db#password
DB_USER    = secret/app/db#user       eager
MAP
for map in app eager; do
        rm -f "$VE_TMP/ctor"
        VAULTENV_MAP=$VE_TMP/$map.map REL_CTOR_NAMES="PGPASSWORD PLAIN_VAR NOT_SET DB_USER" REL_CTOR_OUT=$VE_TMP/ctor \
                LD_PRELOAD="$VE_PRELOAD $VE_RELCTOR" timeout 60 "$VE_READENV" "$out" PGPASSWORD DB_USER PLAIN_VAR \
                2>"$VE_TMP/stderr" && r=0 || r=$?
        check "constructor before the shim's ($map map): the program completes" test "$r" = 0
        check "constructor before the shim's ($map map): mapped names resolved, unmapped pass through" \
                ve_expect "$VE_TMP/ctor" "PGPASSWORD=fake-pw-1" "PLAIN_VAR=plain-value" "NOT_SET unset" "DB_USER=fake-user"
        check "constructor before the shim's ($map map): main() gets the same" \
                ve_expect "$out" "PGPASSWORD=fake-pw-1" "DB_USER=fake-user" "PLAIN_VAR=plain-value"
        check "constructor before the shim's ($map map): nothing on stderr" test ! -s "$VE_TMP/stderr"
done

# ---- fork() while another thread is mid-fetch ----
# The fetch of secret/app/slow is slowed by the dev server (once); the
# program forks while it is in flight. The child's own reads, of that very
# path and of another, must work: no lock, in-flight mark or curl handle
# of the parent's thread may be left behind to wait for.
ve_reset_counts
ve_transport_fault '{"mode":"slow","delay":2,"prefix":"/v1/secret/data/app/slow","count":1}'
LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_RELPROG" fork "$out" SLOW_KEY OTHER_KEY 2>"$VE_TMP/stderr" && r=0 || r=$?
check "fork mid-fetch: parent and child complete" test "$r" = 0
check "fork mid-fetch: the child's mapped getenv() works (the in-flight path and another)" \
        ve_expect "$out" "SLOW_KEY=fake-slow-1" "OTHER_KEY=fake-other-1"
check "fork mid-fetch: the parent's fetch completes" ve_expect "$out.parent" "parent SLOW_KEY=fake-slow-1"
check "fork mid-fetch: the fetch was in flight when the program forked" \
        test "$(ve_count 'GET /v1/secret/data/app/slow')" = 2
ve_transport_fault '{"mode":"none"}'

# ---- a signal handler calling getenv() during a slow fetch ----
# SIGUSR1, again and again, to the fetching thread (which holds the
# resolver's and the transport's locks at moments) and to the main
# thread; the handler reads an unmapped name and a cached mapped one: the
# hot path takes no lock and does not allocate, so it never blocks.
ve_transport_fault '{"mode":"slow","delay":2,"prefix":"/v1/secret/data/app/slow","count":1}'
LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_RELPROG" signal "$out" SLOW_KEY PLAIN_VAR PGPASSWORD 2>"$VE_TMP/stderr" && r=0 || r=$?
check "signal handler during a slow fetch: completes" test "$r" = 0
check "signal handler during a slow fetch: handlers ran and got the values" \
        ve_expect "$out" "handled some" "handler values same" "SLOW_KEY=fake-slow-1"
ve_transport_fault '{"mode":"none"}'

# ---- the failure policy inside the shim's own work ----
# VAULTENV_FALLBACK=none and SLOW_KEY also in the environment: a handler
# that interrupts the cold fetch of SLOW_KEY on its thread (under the
# shim's guard) and reads SLOW_KEY gets NULL, never the environment's value.
ve_transport_fault '{"mode":"slow","delay":2,"prefix":"/v1/secret/data/app/slow","count":1}'
SLOW_KEY=fake-env-slow VAULTENV_FALLBACK=none LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_RELPROG" guard "$out" SLOW_KEY \
        2>"$VE_TMP/stderr" && r=0 || r=$?
check "VAULTENV_FALLBACK=none, a handler reading the name being fetched: completes" test "$r" = 0
check "VAULTENV_FALLBACK=none, a handler reading the name being fetched: NULL, never the environment's value" \
        ve_expect "$out" "handler env none" "handler unset some" "SLOW_KEY=fake-slow-1"
ve_transport_fault '{"mode":"none"}'

ve_done
