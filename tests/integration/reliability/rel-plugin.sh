#!/bin/bash
# A plugin loaded with dlopen() that reads a mapped name in its
# constructor completes: its constructor runs under the dynamic loader's
# lock, and the shim may then initialise itself and dlopen() its core from
# inside it. The shim in each state: not initialised yet, initialised
# without the core, core loaded; and with another thread fetching a cold
# name (slowly) at the moment of the dlopen(). Watchdogs, no timing
# assertion.
. "$(dirname "$0")/../lib.sh"
: "${VE_RELPROG:?}" "${VE_RELCTOR:?}"

ve_rel_fixture
out=$VE_TMP/out
export REL_CTOR_NAMES="PGPASSWORD PLAIN_VAR NOT_SET"
export REL_CTOR_OUT=$VE_TMP/plugin

for first in - PLAIN_VAR OTHER_KEY; do
        case $first in
        -) state="shim not initialised" ;;
        PLAIN_VAR) state="shim initialised, core not loaded" ;;
        *) state="core loaded" ;;
        esac
        rm -f "$REL_CTOR_OUT"
        LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_RELPROG" dlopen "$out" "$VE_RELCTOR" "$first" 2>"$VE_TMP/stderr" && r=0 || r=$?
        check "plugin reading a mapped name in its constructor ($state): completes" test "$r" = 0
        check "plugin ($state): dlopen() returned a working object" ve_expect "$out" "dlopen ok"
        check "plugin ($state): its constructor got Vault's value and the environment's" \
                ve_expect "$REL_CTOR_OUT" "PGPASSWORD=fake-pw-1" "PLAIN_VAR=plain-value" "NOT_SET unset"
        check "plugin ($state): nothing on stderr" test ! -s "$VE_TMP/stderr"
done

# Another thread fetches a cold name (slowed by the dev server) while the
# main thread's dlopen() runs the plugin's constructor; the first lookup of
# the process on either thread, so one of them loads the core (a dlopen()
# of its own) while the other holds the loader's lock. Several rounds.
for round in 1 2 3 4 5; do
        rm -f "$REL_CTOR_OUT"
        ve_transport_fault '{"mode":"slow","delay":0.5,"prefix":"/v1/secret/data/app/slow","count":1}'
        LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_RELPROG" dlopen "$out" "$VE_RELCTOR" - SLOW_KEY 2>"$VE_TMP/stderr" && r=0 || r=$?
        check "plugin while another thread fetches (round $round): completes" test "$r" = 0
        check "plugin while another thread fetches (round $round): both got their values" \
                sh -c "cat '$out' '$REL_CTOR_OUT' >'$out.both'"
        check "plugin while another thread fetches (round $round): values" ve_expect "$out.both" \
                "dlopen ok" "SLOW_KEY=fake-slow-1" "PGPASSWORD=fake-pw-1" "PLAIN_VAR=plain-value" "NOT_SET unset"
done
ve_transport_fault '{"mode":"none"}'

ve_done
