#!/bin/bash
# vaultenv migrate against vault-dev: a real-world .env goes to Vault, the
# mapping file it writes serves the values back through the shim, the .env
# keeps everything but the moved values; --dry-run sends no request;
# refusals change nothing. Every output of every command is grepped for
# the fake values at the end.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
R=$(ve_random)
PW="fake-mig-pw-$R"
URLPW="fake-mig-url-$R"
TOK="fake-mig-tok-$R"
KEY2="fake-mig-k2-$R"
LOGS=$VE_TMP/logs
mkdir -p "$LOGS" "$VE_TMP/app"
n=0
# run NAME CMD...: stdout and stderr into $LOGS/NAME.{out,err}; $rc the status
run() {
        local name=$1
        shift
        "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" && rc=0 || rc=$?
}

# kv_eq PATH-API 'KEY=value'...: the KV v2 data (or v1 data) at PATH-API
# is exactly those string keys; prints only the names that differ.
kv_eq() {
        local api=$1
        shift
        curl -sS -H "X-Vault-Token: $VE_ROOT_TOKEN" "$VAULT_ADDR/v1/$api" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
if "metadata" in d and isinstance(d.get("data"), dict):
    d = d["data"]
want = dict(a.split("=", 1) for a in sys.argv[1:])
bad = sorted(k for k in set(d) | set(want) if d.get(k) != want.get(k))
if bad:
    print("# differ: " + " ".join(bad))
sys.exit(1 if bad else 0)' "$@"
}

cat >"$VE_TMP/app/.env" <<EOF
# settings of app
HOST=localhost
export DB_PASSWORD='$PW'
DATABASE_URL="postgres://app:$URLPW@db:5432/app"   # the main database
GITHUB_TOKEN=$TOK
EMPTY_SECRET=
MAYBE_KEY="\${OTHER}"
PORT=8080
EOF
printf 'STRIPE_ACCOUNT=%s\r\nDEBUG=1\r\n' "$KEY2" >>"$VE_TMP/app/.env"
chmod 640 "$VE_TMP/app/.env"
cp "$VE_TMP/app/.env" "$VE_TMP/env.orig"

# ---- --dry-run: the plan, masked; no request at all; nothing changed
ve_reset_counts
run dry "$VE_CLI" migrate --dry-run --pattern 'STRIPE_*' "$VE_TMP/app/.env"
check "dry-run: exit 0" test "$rc" = 0
check "dry-run: sends no request to Vault" test "$(ve_count '')" = 0
check "dry-run: .env unchanged" cmp -s "$VE_TMP/app/.env" "$VE_TMP/env.orig"
check "dry-run: no mapping file" test ! -e "$VE_TMP/app/vaultenv.map"
check "dry-run: plans DB_PASSWORD to secret/app (default prefix: the directory)" \
        grep -qE '^  move  DB_PASSWORD +-> secret/app#DB_PASSWORD' "$LOGS/dry.out"
check "dry-run: URL with credentials" grep -qE '^  move  DATABASE_URL .*a URL with a password' "$LOGS/dry.out"
check "dry-run: --pattern" grep -qE '^  move  STRIPE_ACCOUNT .*--pattern STRIPE_\*' "$LOGS/dry.out"
check "dry-run: empty value kept" grep -qE '^  keep  EMPTY_SECRET .*empty' "$LOGS/dry.out"
check "dry-run: \${...} value kept" grep -qE '^  keep  MAYBE_KEY .*expansion' "$LOGS/dry.out"
check "dry-run: non-sensitive names not listed" bash -c "! grep -qE 'HOST|PORT|DEBUG' '$LOGS/dry.out'"

# ---- the real run
ve_reset_counts
run real "$VE_CLI" migrate --pattern 'STRIPE_*' "$VE_TMP/app/.env"
check "migrate: exit 0" test "$rc" = 0
check "migrate: one write request" test "$(ve_count 'POST /v1/secret/data/app')" = 1
check "migrate: Vault holds exactly the moved names" kv_eq secret/data/app \
        "DB_PASSWORD=$PW" "DATABASE_URL=postgres://app:$URLPW@db:5432/app" "GITHUB_TOKEN=$TOK" \
        "STRIPE_ACCOUNT=$KEY2"
check "migrate: status names the path and version" grep -qF 'to secret/app (KV v2, version 1)' "$LOGS/real.err"
check "migrate: mapping file beside the .env" test -f "$VE_TMP/app/vaultenv.map"
check "migrate: mapping entries are required references" \
        grep -qE '^DB_PASSWORD +=  ?secret/app#DB_PASSWORD +required$' "$VE_TMP/app/vaultenv.map"
check "migrate: .env keeps its mode" test "$(stat -c %a "$VE_TMP/app/.env")" = 640
for v in "$PW" "$URLPW" "$TOK" "$KEY2"; do
        grep -qF -- "$v" "$VE_TMP/app/.env" && fail "scrubbed .env still holds a moved value" || true
done
ok "scrubbed .env holds no moved value"
check "scrubbed .env keeps the other lines" bash -c "grep -qx 'HOST=localhost' '$VE_TMP/app/.env' &&
        grep -qx 'PORT=8080' '$VE_TMP/app/.env' && grep -qx '# settings of app' '$VE_TMP/app/.env' &&
        grep -qx 'EMPTY_SECRET=' '$VE_TMP/app/.env' && grep -q '^DEBUG=1' '$VE_TMP/app/.env'"
check "scrubbed .env says where each value went" \
        grep -qx '# DB_PASSWORD moved to Vault: secret/app#DB_PASSWORD (served through vaultenv.map)' "$VE_TMP/app/.env"
check "no temporary file left" test "$(ls -A "$VE_TMP/app" | wc -l)" = 2

# the mapping file serves the values to an unmodified program
out=$VE_TMP/read
VAULTENV_MAP="$VE_TMP/app/vaultenv.map" ve_read "$out" DB_PASSWORD DATABASE_URL GITHUB_TOKEN STRIPE_ACCOUNT HOST || true
check "shim: the program gets the moved values from Vault" ve_expect "$out" "DB_PASSWORD=$PW" \
        "DATABASE_URL=postgres://app:$URLPW@db:5432/app" "GITHUB_TOKEN=$TOK" "STRIPE_ACCOUNT=$KEY2" "HOST unset"
cp "$VE_TMP/stderr" "$LOGS/shim.err"
"$VE_CLI" exec -m "$VE_TMP/app/vaultenv.map" -- "$VE_READENV" "$out" DB_PASSWORD 2>"$LOGS/exec.err" || true
check "vaultenv exec -m with the written mapping" ve_expect "$out" "DB_PASSWORD=$PW"

# a second run: nothing left to move
ve_reset_counts
run again "$VE_CLI" migrate "$VE_TMP/app/.env"
check "second run: nothing to move, exit 0" bash -c "[ $rc = 0 ] && grep -q 'nothing changed' '$LOGS/again.err'"
check "second run: no request" test "$(ve_count '')" = 0

# ---- refusals change nothing
mkdir -p "$VE_TMP/svc"
printf 'API_KEY=%s\nHOST=h\n' "$KEY2" >"$VE_TMP/svc/.env"
cp "$VE_TMP/svc/.env" "$VE_TMP/svc.orig"
ve_kv2_put secret/svc '{"OTHER":"fake-other"}'
ve_reset_counts
run exists "$VE_CLI" migrate "$VE_TMP/svc/.env"
check "existing secret: exit 1 and --force named" \
        bash -c "[ $rc = 1 ] && grep -qF 'secret/svc already holds a secret' '$LOGS/exists.err' && grep -qF -- '--force' '$LOGS/exists.err'"
check "existing secret: no write request" test "$(ve_count 'POST /v1/secret/data/svc')" = 0
check "existing secret: .env unchanged, no mapping" \
        bash -c "cmp -s '$VE_TMP/svc/.env' '$VE_TMP/svc.orig' && [ ! -e '$VE_TMP/svc/vaultenv.map' ]"
run force "$VE_CLI" migrate --force -o "$VE_TMP/svc.map" "$VE_TMP/svc/.env"
check "--force merges: other keys kept" kv_eq secret/data/svc "OTHER=fake-other" "API_KEY=$KEY2"
check "--force: version 2 written with check-and-set" grep -qF 'version 2' "$LOGS/force.err"
check "-o: the mapping file where asked" grep -qE '^API_KEY = secret/svc#API_KEY +required$' "$VE_TMP/svc.map"

printf 'API_KEY=%s\n' "$KEY2" >"$VE_TMP/svc/.env"
cp "$VE_TMP/svc/.env" "$VE_TMP/svc.orig"
ve_reset_counts
run mapexists "$VE_CLI" migrate --force --prefix svc2 -o "$VE_TMP/svc.map" "$VE_TMP/svc/.env"
check "--force replaces an existing mapping file" bash -c "[ $rc = 0 ] && grep -q 'secret/svc2#API_KEY' '$VE_TMP/svc.map'"
cp "$VE_TMP/svc.orig" "$VE_TMP/svc/.env"
ve_reset_counts
run mapkept "$VE_CLI" migrate --prefix svc3 -o "$VE_TMP/svc.map" "$VE_TMP/svc/.env"
check "existing mapping file: exit 1, nothing sent" \
        bash -c "[ $rc = 1 ] && grep -qF 'exists already' '$LOGS/mapkept.err' && [ \"$(ve_count '')\" = 0 ]"

# a token that may only read: permission denied, nothing changed
ve_auth_policy mig-read 'secret/data/*'
RO="fake-ro-$(ve_random)"
ve_api POST auth/token/create "{\"id\":\"$RO\",\"policies\":[\"mig-read\"]}"
VAULT_TOKEN=$RO run denied "$VE_CLI" migrate --prefix denied "$VE_TMP/svc/.env"
check "denied token: exit 1, permission denied named" \
        bash -c "[ $rc = 1 ] && grep -qF 'permission denied' '$LOGS/denied.err'"
check "denied token: .env unchanged" cmp -s "$VE_TMP/svc/.env" "$VE_TMP/svc.orig"

# ---- a KV v1 mount
ve_api POST sys/mounts/kv1 '{"type":"kv","options":{"version":"1"}}'
mkdir -p "$VE_TMP/legacy"
printf 'LEGACY_PASSWORD=%s\n' "$PW" >"$VE_TMP/legacy/.env"
run v1 "$VE_CLI" migrate --mount kv1 "$VE_TMP/legacy/.env"
check "KV v1 mount: exit 0" test "$rc" = 0
check "KV v1 mount: written" kv_eq kv1/legacy "LEGACY_PASSWORD=$PW"
VAULTENV_MAP="$VE_TMP/legacy/vaultenv.map" ve_read "$out" LEGACY_PASSWORD || true
check "KV v1 mount: the shim serves it" ve_expect "$out" "LEGACY_PASSWORD=$PW"
cp "$VE_TMP/stderr" "$LOGS/shim1.err"

# ---- a .env that is a symbolic link: the file it points to is rewritten
mkdir -p "$VE_TMP/linked"
printf 'LINKED_TOKEN=%s\nA=1\n' "$TOK" >"$VE_TMP/linked/real.env"
ln -s real.env "$VE_TMP/linked/.env"
run linked "$VE_CLI" migrate "$VE_TMP/linked/.env"
check "symlinked .env: the link stays, its target is scrubbed" bash -c "[ $rc = 0 ] && [ -L '$VE_TMP/linked/.env' ] &&
        grep -qx 'A=1' '$VE_TMP/linked/real.env' && ! grep -qF -- '$TOK' '$VE_TMP/linked/real.env'"

# ---- bad input
printf 'OK=1\nBAD_TOKEN="%s\n' "$TOK" >"$VE_TMP/bad.env"
run bad "$VE_CLI" migrate --dry-run "$VE_TMP/bad.env"
check "malformed .env: exit 1 with FILE:LINE:COL" \
        bash -c "[ $rc = 1 ] && grep -qF '$VE_TMP/bad.env:2:11: unterminated double-quoted value' '$LOGS/bad.err'"
run usage "$VE_CLI" migrate
check "no DOTENV: usage error 2" test "$rc" = 2
run prefix "$VE_CLI" migrate --dry-run --prefix 'a b' "$VE_TMP/svc/.env"
check "bad --prefix: usage error 2" bash -c "[ $rc = 2 ] && grep -qF 'not a usable Vault path' '$LOGS/prefix.err'"
run help "$VE_CLI" migrate --help
check "--help: exit 0, usage on stdout" bash -c "[ $rc = 0 ] && grep -q '^Usage: vaultenv migrate' '$LOGS/help.out'"
run quiet "$VE_CLI" migrate -q --dry-run "$VE_TMP/svc/.env"
check "--quiet: no status line" test ! -s "$LOGS/quiet.err"

# ---- masking: no fake value in any output or log
cp "$VE_TMP/vault-dev.log" "$LOGS/vault-dev.log"
hits=$(grep -rlF -e "$PW" -e "$URLPW" -e "$TOK" -e "$KEY2" "$LOGS" || true)
check "no value in any output or log" test -z "$hits"
[ -z "$hits" ] || echo "# values leaked in: $(basename -a $hits | tr '\n' ' ')"
ve_done
