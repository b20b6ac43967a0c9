#!/bin/bash
# The README's "Quick start: from .env to Vault", executed as written: its
# ```sh block is taken from README.md (so the README cannot drift from what
# works) and run by bash in an empty directory, with `vaultenv` on PATH and
# `scripts/` beside it. Only the two ports (Vault's 8200, PostgreSQL's 5432)
# and the dev token are replaced by free ports and a fresh fake token. A
# throwaway PostgreSQL (as in shim-psql.sh) stands in for Debian's cluster
# and is given the .env's password by the section's own
# `sudo -u postgres psql ...` line; the real psql must connect through
# `vaultenv exec`, the scrubbed .env and the mapping file must hold no
# secret, and nothing the block prints may show one.
. "$(dirname "$0")/../lib.sh"
: "${VE_SOURCE_ROOT:?}" "${VE_CLI:?}"
unset VAULTENV_MAP VAULT_AGENT_ADDR PGPASSWORD PGUSER PGHOST PGPORT PGDATABASE
readme=$VE_SOURCE_ROOT/README.md
ve_asan_skip "the Quick start runs psql, which cannot run with the sanitizer's runtime (shim-psql.sh)"

# The section's sh block(s).
python3 - "$readme" "$VE_TMP/block.sh" "$VE_TMP/pgsetup.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^## Quick start: from `\.env` to Vault\n(.*?)(?=^## )", text, re.S | re.M)
assert m, "README has the Quick start section"
blocks = re.findall(r"^```sh\n(.*?)^```\n", m.group(1), re.S | re.M)
assert blocks, "the Quick start has a sh block"
open(sys.argv[2], "w").write("".join(blocks))
# The server it talks to: the section's plain ``` blocks say how to give
# Debian's PostgreSQL the .env's password ("sudo -u postgres psql ...").
plain = re.findall(r"^```\n(.*?)^```\n", m.group(1), re.S | re.M)
setup = [l for b in plain for l in b.splitlines() if l.startswith("sudo -u postgres psql ")]
open(sys.argv[3], "w").write("".join(l + "\n" for l in setup))
PY
check "README: the Quick start section and its sh block were found" test -s "$VE_TMP/block.sh"
check "README: the Quick start says how to set the server's password (sudo -u postgres psql ...)" \
        test -s "$VE_TMP/pgsetup.sh"
# ... on the cluster Debian's postgresql package creates, which listens on
# 127.0.0.1:5432 and takes a password there (scram-sha-256)
for conf in /etc/postgresql/*/main; do
        [ -d "$conf" ] || continue
        check "Debian's cluster ($conf): port 5432, password (scram-sha-256) from 127.0.0.1" bash -c \
                "grep -qE '^port = 5432\\b' '$conf/postgresql.conf' &&
                 grep -qE '^host +all +all +127\\.0\\.0\\.1/32 +scram-sha-256' '$conf/pg_hba.conf'"
done

# The secrets of the README's .env (the needles), and its password for the server.
sed -n '/^cat >\.env <<.EOF.$/,/^EOF$/p' "$VE_TMP/block.sh" | sed '1d;$d' >"$VE_TMP/readme.env"
grep -E '^[A-Z_]*(PASSWORD|TOKEN|SECRET|_KEY)=' "$VE_TMP/readme.env" | cut -d= -f2- >"$VE_TMP/needles"
pw=$(sed -n 's/^PGPASSWORD=//p' "$VE_TMP/readme.env")
check "README: the .env has a PGPASSWORD and a token" test "$(grep -c . "$VE_TMP/needles")" -ge 2

# A throwaway PostgreSQL (shim-psql.sh's recipe) with another password,
# given the .env's by the README's own command, run as the postgres user
# over the server's socket (where it trusts that user, as Debian's peer
# authentication does).
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "not ok - PostgreSQL server binaries not found (install postgresql)"; exit 1; }
command -v psql >/dev/null || { echo "not ok - psql not found"; exit 1; }
VE_PG_DATA=$VE_TMP/pg
pgsock=$VE_TMP/pgsock
mkdir -p "$VE_PG_DATA" "$pgsock"
(umask 077 && printf 'fake-walk-initial-%s\n' "$(ve_random)" >"$VE_TMP/pwfile")
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown -R postgres "$VE_PG_DATA" "$pgsock" "$VE_TMP/pwfile"
ve_pg_stop() { as_pg "$pgbin/pg_ctl" -D "$VE_PG_DATA" -m immediate stop >/dev/null 2>&1 || true; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(free_port)
as_pg "$pgbin/initdb" -D "$VE_PG_DATA" -U postgres --auth-host=scram-sha-256 --auth-local=trust --pwfile="$VE_TMP/pwfile" \
        >"$VE_TMP/initdb.log" 2>&1 || { echo "not ok - initdb failed"; cat "$VE_TMP/initdb.log"; exit 1; }
rm -f "$VE_TMP/pwfile"
as_pg "$pgbin/pg_ctl" -D "$VE_PG_DATA" -l "$pgsock/pg.log" -w \
        -o "-p $pgport -k $pgsock -c listen_addresses=127.0.0.1" start >/dev/null ||
        { echo "not ok - PostgreSQL did not start"; cat "$pgsock/pg.log"; exit 1; }
sudo() { [ "$1 $2" = "-u postgres" ] && shift 2 && PGHOST=$pgsock PGPORT=$pgport as_pg "$@"; }
(. "$VE_TMP/pgsetup.sh") >/dev/null 2>"$VE_TMP/pgsetup.err" && r=0 || r=$?
check "the README's command gave the server a password" test -s "$VE_TMP/pgsetup.sh" -a "$r" = 0

# The block, with free ports and a fresh token; the dev server it starts is
# stopped when it ends.
vport=$(free_port)
token="fake-walk-$(ve_random)"
work=$VE_TMP/work
mkdir -p "$work" "$VE_TMP/bin" "$VE_TMP/home"
ln -s "$VE_SOURCE_ROOT/scripts" "$work/scripts"
ln -s "$VE_CLI" "$VE_TMP/bin/vaultenv"
{
        echo 'set -euo pipefail'
        echo 'trap '\''kill $(jobs -p) 2>/dev/null || true'\'' EXIT'
        sed -e "s/127\.0\.0\.1:8200/127.0.0.1:$vport/g" -e "s/dev-only-token/$token/g" \
                -e "s/^PGPORT=5432\$/PGPORT=$pgport/" "$VE_TMP/block.sh"
} >"$VE_TMP/run.sh"
check "the substitutions took (ports, token)" bash -c "grep -q ':$vport' '$VE_TMP/run.sh' && grep -q 'PGPORT=$pgport' '$VE_TMP/run.sh' && ! grep -q dev-only-token '$VE_TMP/run.sh'"
(cd "$work" && env HOME="$VE_TMP/home" PGPASSFILE=/nonexistent PGCONNECT_TIMEOUT=10 PATH="$VE_TMP/bin:$PATH" \
        bash "$VE_TMP/run.sh") >"$VE_TMP/walk.out" 2>"$VE_TMP/walk.err" && rc=0 || rc=$?
check "the Quick start block runs to the end (exit 0)" test "$rc" = 0
check "psql connected with the password from Vault" grep -q "^ *connected as postgres$" "$VE_TMP/walk.out"
if [ "$rc" != 0 ] || ! grep -q "^ *connected as postgres$" "$VE_TMP/walk.out"; then
        # what went wrong, minus anything secret
        grep -vF -f "$VE_TMP/needles" "$VE_TMP/walk.err" | tail -n 15 | sed 's/^/# /'
fi
check "vaultenv check listed PGPASSWORD" grep -q PGPASSWORD "$VE_TMP/walk.out"
check "the mapping file was written" test -s "$work/myapp.map"
check "the scrubbed .env keeps the plain settings" grep -q '^PGHOST=127.0.0.1' "$work/.env"
check "the scrubbed .env holds no secret value" bash -c "! grep -qF -f '$VE_TMP/needles' '$work/.env'"
check "the mapping file holds no secret value" bash -c "[ -s '$work/myapp.map' ] && ! grep -qF -f '$VE_TMP/needles' '$work/myapp.map'"
check "nothing the block printed shows a secret value" \
        bash -c "! grep -qF -f '$VE_TMP/needles' '$VE_TMP/walk.out' '$VE_TMP/walk.err'"
check "nothing the block printed shows the token" \
        bash -c "! grep -qF -- '$token' '$VE_TMP/walk.out' '$VE_TMP/walk.err'"

# Negative control: the same psql without vaultenv has no password now.
(cd "$work" && set -a && . ./.env && set +a && env HOME="$VE_TMP/home" PGPASSFILE=/nonexistent \
        PGCONNECT_TIMEOUT=10 psql -X -w -d postgres -c 'select 1') >/dev/null 2>&1 && r=0 || r=$?
check "control: psql without vaultenv cannot connect after the migration" test "$r" != 0
ve_done
