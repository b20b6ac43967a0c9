#!/bin/bash
# vaultenv export: sh output read back by /bin/sh and bash byte for byte
# (quotes, newlines, $, backslashes, non-ASCII, control bytes, and random
# bytes through NAME_FILE), dotenv output exactly as specified, JSON parsed;
# sorted, bulk rules expanded, names without a value left out, a required
# one stops everything; values never on stderr. Values are compared in
# files, never printed.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
out=$VE_TMP/out
err=$VE_TMP/err
exp=$VE_TMP/exp
mkdir -p "$exp" "$VE_TMP/got"

# The values (fake), written as files exp/NAME and as the KV JSON object.
python3 - "$exp" >"$VE_TMP/kv.json" <<'PY'
import json, os, sys
vals = {
    "QUOTES": "fake-it's \"double\" '' '",
    "NEWLINES": "fake-line1\nline2\r\nline3\n",
    "DOLLAR": "fake-$HOME `id` $(id) \\ \\n \\' ${X:-y} !1 * ? ~ #",
    "UNICODE": "fake-\u00e9\u20ac\U0001F511",
    "CONTROL": "fake-" + "".join(chr(c) for c in range(1, 32)) + "\x7f",
    "EMPTY": "",
    "PLAIN": "fake-plain",
}
for k, v in vals.items():
    open(os.path.join(sys.argv[1], k), "wb").write(v.encode())
print(json.dumps(vals))
PY
ve_kv2_put secret/app/exp "$(cat "$VE_TMP/kv.json")"
ve_kv2_put secret/app/bulk '{"api-key":"fake-bulk-1","token":"fake-bulk-2"}'
printf 'fake-bulk-1' >"$exp/BULK_API_KEY"
printf 'fake-bulk-2' >"$exp/BULK_TOKEN"
printf 'fake-default' >"$exp/WITH_DEFAULT"
names="BULK_API_KEY BULK_TOKEN CONTROL DOLLAR EMPTY NEWLINES PLAIN QUOTES UNICODE WITH_DEFAULT"
{
        for n in QUOTES NEWLINES DOLLAR UNICODE CONTROL EMPTY PLAIN; do
                printf '%s = secret/app/exp#%s required\n' "$n" "$n"
        done
        printf 'WITH_DEFAULT = secret/app/none default=fake-default\n'
        printf 'NO_VALUE = secret/app/none\n'
        printf 'BULK_* = secret/app/bulk#*\n'
} >"$VE_TMP/app.map"
no_values() { ! grep -qE 'fake-' "$@"; }

# compare_dir DIR NAMES...: DIR/NAME equals exp/NAME for each
compare_dir() {
        local d=$1 n bad=""
        shift
        for n in "$@"; do cmp -s "$d/$n" "$exp/$n" || bad="$bad $n"; done
        [ -z "$bad" ] || { echo "# differ:$bad"; return 1; }
}
# read_back SHELL FILE NAMES...: sources FILE in SHELL, writes got/NAME
read_back() {
        local sh=$1 file=$2
        shift 2
        rm -f "$VE_TMP/got/"*
        # shellcheck disable=SC2016
        "$sh" -c '. "$1"; d=$2; shift 2; for n in "$@"; do eval "printf %s \"\$$n\"" >"$d/$n"; done' \
                sh "$file" "$VE_TMP/got" "$@"
}

# ---- sh ----
"$VE_CLI" export -m "$VE_TMP/app.map" >"$out" 2>"$err" && r=0 || r=$?
check "sh: exit 0" test "$r" = 0
cp "$out" "$VE_TMP/export.sh"
read_back /bin/sh "$VE_TMP/export.sh" $names
check "sh: every value reads back through /bin/sh" compare_dir "$VE_TMP/got" $names
read_back bash "$VE_TMP/export.sh" $names
check "sh: every value reads back through bash" compare_dir "$VE_TMP/got" $names
check "sh: the names are exported to children" \
        bash -c ". '$VE_TMP/export.sh'; env | grep -q '^PLAIN=fake-plain\$'"
check "sh: sorted by name, bulk expanded, the name without a value left out" \
        bash -c "[ \"\$(grep -oE '^export [A-Z_]+=' '$out' | sed 's/^export //; s/=\$//' | tr '\n' ' ')\" = '$names ' ]"
check "sh: the default is exported" grep -q "^export WITH_DEFAULT='fake-default'\$" "$out"
check "sh: a left-out name gets a status line" grep -q 'NO_VALUE has no value, left out (vault: no secret at secret/app/none)' "$err"
check "sh: no value on stderr" no_values "$err"
"$VE_CLI" export -q -m "$VE_TMP/app.map" >"$out" 2>"$err"
check "--quiet: nothing on stderr" test ! -s "$err"
check "--format sh is the default" cmp -s "$out" "$VE_TMP/export.sh"

# ---- random bytes (any byte but NUL) through NAME_FILE, 10 rounds ----
printf 'R%d = secret/app/none#r\n' 0 1 2 3 4 5 6 7 8 9 >"$VE_TMP/rand.map"
rnames="R0 R1 R2 R3 R4 R5 R6 R7 R8 R9"
fuzz_ok=0
for round in 1 2 3 4 5 6 7 8 9 10; do
        python3 - "$exp" "$round" <<'PY'
import os, random, sys
rng = random.Random(int(sys.argv[2]))
for i in range(10):
    n = rng.randrange(0, 48)
    b = bytes(rng.choice([39, 10, 92, 36, rng.randrange(1, 256)]) for _ in range(n))
    # the secret-file reader strips one trailing line end
    b = b.rstrip(b"\r\n")
    open(os.path.join(sys.argv[1], "R%d" % i), "wb").write(b)
PY
        envs=()
        for n in $rnames; do envs+=("${n}_FILE=$exp/$n"); done
        env "${envs[@]}" "$VE_CLI" export -q -m "$VE_TMP/rand.map" >"$VE_TMP/rand.sh" 2>"$err" || { echo "# round $round: export failed"; continue; }
        read_back /bin/sh "$VE_TMP/rand.sh" $rnames
        compare_dir "$VE_TMP/got" $rnames || { echo "# round $round: /bin/sh differs"; continue; }
        read_back bash "$VE_TMP/rand.sh" $rnames
        compare_dir "$VE_TMP/got" $rnames || { echo "# round $round: bash differs"; continue; }
        fuzz_ok=$((fuzz_ok + 1))
done
check "random bytes: 10 rounds of 10 values read back through sh and bash" test "$fuzz_ok" = 10

# ---- dotenv: the specified format, byte for byte ----
"$VE_CLI" export -m "$VE_TMP/app.map" --format dotenv >"$out" 2>"$err" && r=0 || r=$?
check "dotenv: exit 0" test "$r" = 0
python3 - "$exp" $names >"$VE_TMP/expected.env" <<'PY'
import os, sys
d = sys.argv[1]
out = sys.stdout.buffer
esc = {0x5c: b"\\\\", 0x22: b'\\"', 0x24: b"\\$", 0x0a: b"\\n", 0x0d: b"\\r", 0x09: b"\\t"}
for n in sys.argv[2:]:
    v = open(os.path.join(d, n), "rb").read()
    if b"'" not in v and b"\n" not in v and b"\r" not in v:
        out.write(n.encode() + b"='" + v + b"'\n")
    else:
        q = b"".join(esc.get(c) or (b"\\x%02x" % c if c < 0x20 or c == 0x7f else bytes([c])) for c in v)
        out.write(n.encode() + b'="' + q + b'"\n')
PY
check "dotenv: NAME='v', or NAME=\"...\" with escapes" cmp -s "$out" "$VE_TMP/expected.env"
check "dotenv: no value on stderr" no_values "$err"

# ---- json ----
"$VE_CLI" export -m "$VE_TMP/app.map" --format json >"$out" 2>"$err" && r=0 || r=$?
check "json: exit 0" test "$r" = 0
check "json: one object with every value" python3 -c '
import json, os, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
names = sys.argv[3:]
ok = list(d) == names and all(d[n].encode() == open(os.path.join(sys.argv[2], n), "rb").read() for n in names)
sys.exit(0 if ok else 1)' "$out" "$exp" $names
printf 'fake-\xff-not-utf8' >"$VE_TMP/bin-secret"
printf 'BIN = secret/app/none\nPLAIN = secret/app/exp#PLAIN\n' >"$VE_TMP/bin.map"
BIN_FILE=$VE_TMP/bin-secret "$VE_CLI" export -m "$VE_TMP/bin.map" -f json >"$out" 2>"$err" && r=0 || r=$?
check "json: a value that is not UTF-8 is an error naming the variable" \
        bash -c "[ $r = 1 ] && grep -q 'BIN: the value is not valid UTF-8' '$err' && [ ! -s '$out' ]"
check "json: ... and the value is not shown" no_values "$err"
BIN_FILE=$VE_TMP/bin-secret "$VE_CLI" export -m "$VE_TMP/bin.map" >"$out" 2>"$err" && r=0 || r=$?
read_back /bin/sh "$out" BIN
cp "$VE_TMP/bin-secret" "$exp/BIN"
check "sh carries the same value" compare_dir "$VE_TMP/got" BIN
printf 'NONE = secret/app/none\n' >"$VE_TMP/none.map"
"$VE_CLI" export -m "$VE_TMP/none.map" -f json >"$out" 2>/dev/null
check "json: nothing to export is {}" test "$(cat "$out")" = "{}"

VAULTENV_LOG=debug "$VE_CLI" export -m "$VE_TMP/app.map" >"$out" 2>"$err"
check "VAULTENV_LOG=debug: values on stdout only" bash -c "grep -q 'fake-plain' '$out' && grep -q 'debug: ' '$err' && ! grep -q 'fake-' '$err'"

# ---- failures ----
printf 'PLAIN = secret/app/exp#PLAIN\nMUST = secret/app/none required\n' >"$VE_TMP/req.map"
"$VE_CLI" export -m "$VE_TMP/req.map" >"$out" 2>"$err" && r=0 || r=$?
check "a required name without a value: 78 and nothing on stdout" \
        bash -c "[ $r = 78 ] && [ ! -s '$out' ] && grep -q 'MUST: required variable is missing' '$err'"
"$VE_CLI" export -m "$VE_TMP/app.map" --format yaml >"$out" 2>"$err" && r=0 || r=$?
check "unknown format: 2, named" bash -c "[ $r = 2 ] && grep -q 'unknown format \"yaml\"' '$err'"
printf '1BAD = secret/app/x\n' >"$VE_TMP/bad.map"
"$VE_CLI" export -m "$VE_TMP/bad.map" >"$out" 2>"$err" && r=0 || r=$?
check "bad mapping: 78" bash -c "[ $r = 78 ] && grep -qF '$VE_TMP/bad.map:1:1: ' '$err'"
check "--help" bash -c "'$VE_CLI' export --help | grep -q 'Usage: vaultenv export'"
check "no value on stderr in any run" no_values "$err"
ve_done
