#!/bin/bash
# getenv() racing setenv() of other names from 8 threads, 1
# million iterations, clean under ThreadSanitizer and under
# AddressSanitizer (+UBSan). relrace.c runs the shim's lookup logic over
# lib/'s layers below the network; both are compiled here, with the sanitizer, into a
# test binary (cheaper than a sanitized build of the project, and the
# preloaded shim itself cannot host the sanitizer runtimes). Any report
# makes the run fail (halt_on_error, exitcode).
. "$(dirname "$0")/../lib.sh"
: "${VE_SOURCE_ROOT:?}"

cc=${CC:-gcc}
src=$VE_SOURCE_ROOT
base=()
cflags=(-std=gnu11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -pthread -w)
# lib/'s layers below the network: every file of each
for layer in base config resolve tools; do
        base+=("$src/lib/$layer"/*.c)
        cflags+=(-I"$src/lib/$layer")
done

build() {       # build NAME SANITIZER-FLAGS...
        local name=$1; shift
        "$cc" "${cflags[@]}" "$@" -o "$VE_TMP/$name" "$src/tests/integration/helpers/relrace.c" "${base[@]}" \
                >"$VE_TMP/$name.log" 2>&1
}
build relrace-tsan -fsanitize=thread & tsan_pid=$!
build relrace-asan -fsanitize=address,undefined -fno-sanitize-recover=all & asan_pid=$!
wait "$tsan_pid" && r=0 || r=$?
check "ThreadSanitizer build" test "$r" = 0
wait "$asan_pid" && r=0 || r=$?
check "AddressSanitizer+UBSan build" test "$r" = 0

if [ -x "$VE_TMP/relrace-tsan" ]; then
        # setarch -R: TSan of gcc 12 cannot map its shadow memory with the
        # high ASLR entropy of recent kernels ("unexpected memory mapping").
        norand=()
        setarch "$(uname -m)" -R true 2>/dev/null && norand=(setarch "$(uname -m)" -R)
        TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_signal_unsafe=0" \
                timeout 120 "${norand[@]}" "$VE_TMP/relrace-tsan" >"$VE_TMP/tsan.out" 2>"$VE_TMP/tsan.err" && r=0 || r=$?
        check "8 threads, getenv racing setenv, 1,000,000 iterations: clean under ThreadSanitizer" test "$r" = 0
        sed 's/^/# tsan: /' "$VE_TMP/tsan.out"
        [ "$r" = 0 ] || head -40 "$VE_TMP/tsan.err"
fi
if [ -x "$VE_TMP/relrace-asan" ]; then
        ASAN_OPTIONS="halt_on_error=1 exitcode=67 detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1" \
                timeout 120 "$VE_TMP/relrace-asan" >"$VE_TMP/asan.out" 2>"$VE_TMP/asan.err" && r=0 || r=$?
        check "8 threads, getenv racing setenv, 1,000,000 iterations: clean under AddressSanitizer+UBSan" test "$r" = 0
        sed 's/^/# asan: /' "$VE_TMP/asan.out"
        [ "$r" = 0 ] || head -40 "$VE_TMP/asan.err"
fi

ve_done
