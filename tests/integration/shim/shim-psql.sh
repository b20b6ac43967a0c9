#!/bin/bash
# Debian's real psql, unmodified, connects to a real PostgreSQL server that
# this test starts (private port and data directory) with PGPASSWORD coming
# only from Vault through the preloaded shim.
. "$(dirname "$0")/../lib.sh"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "not ok - PostgreSQL server binaries not found (install postgresql)"; exit 1; }
command -v psql >/dev/null || { echo "not ok - psql not found"; exit 1; }
# Debian's psql with libasan preloaded hangs at exit, shim or not:
# p11-kit's destructor waits in freelocale() on the locale lock.
ve_asan_skip "psql cannot run with the sanitizer's runtime"

pw="fake-pg-pw-$(ve_random)"
VE_PG_DATA=$VE_TMP/pg
VE_PG_SOCK=$VE_TMP/pgsock
mkdir -p "$VE_PG_DATA" "$VE_PG_SOCK"
printf '%s\n' "$pw" >"$VE_TMP/pwfile"
as_pg() {
        # initdb refuses to run as root: use the postgres account when root.
        if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown -R postgres "$VE_PG_DATA" "$VE_PG_SOCK" "$VE_TMP/pwfile"; fi
ve_pg_stop() { as_pg "$pgbin/pg_ctl" -D "$VE_PG_DATA" -m immediate stop >/dev/null 2>&1 || true; }

pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pgbin/initdb" -D "$VE_PG_DATA" -U postgres --auth=scram-sha-256 --pwfile="$VE_TMP/pwfile" \
        >"$VE_TMP/initdb.log" 2>&1 || { echo "not ok - initdb failed"; cat "$VE_TMP/initdb.log"; exit 1; }
rm -f "$VE_TMP/pwfile"
as_pg "$pgbin/pg_ctl" -D "$VE_PG_DATA" -l "$VE_PG_SOCK/pg.log" -w \
        -o "-p $pgport -k $VE_PG_SOCK -c listen_addresses=127.0.0.1" start >/dev/null ||
        { echo "not ok - PostgreSQL did not start"; cat "$VE_PG_SOCK/pg.log"; exit 1; }
ok "PostgreSQL started on 127.0.0.1:$pgport"

ve_vault_start
ve_kv2_put secret/app/db "{\"password\":\"$pw\",\"user\":\"postgres\"}"
cat >"$VE_TMP/app.map" <<'MAP'
PGPASSWORD = secret/app/db#password   required
PGUSER     = secret/app/db#user
MAP
export VAULTENV_MAP="$VE_TMP/app.map"
# no other way in: no password in the environment, no ~/.pgpass
unset PGPASSWORD PGUSER
export PGPASSFILE=$VE_TMP/no-pgpass PGCONNECT_TIMEOUT=10
query() { psql -X -w -h 127.0.0.1 -p "$pgport" -d postgres -tAc "select 'connected as ' || current_user" "$@"; }

LD_PRELOAD="$VE_PRELOAD" query >"$VE_TMP/psql.out" 2>"$VE_TMP/psql.err" || true
check "psql under the shim connects with the password from Vault" \
        grep -qx "connected as postgres" "$VE_TMP/psql.out"
check "psql's stderr is clean" test ! -s "$VE_TMP/psql.err"

# Negative controls: the same command without the shim, or with Vault
# holding a wrong password, is refused by the server.
query >"$VE_TMP/psql.out" 2>"$VE_TMP/psql.err" && r=0 || r=$?
check "without the shim psql has no password and fails" test "$r" != 0
ve_kv2_put secret/app/db '{"password":"fake-wrong-pw","user":"postgres"}'
LD_PRELOAD="$VE_PRELOAD" query >"$VE_TMP/psql.out" 2>"$VE_TMP/psql.err" && r=0 || r=$?
check "with a wrong password in Vault psql is refused" \
        bash -c "[ $r != 0 ] && grep -q 'password authentication failed' '$VE_TMP/psql.err'"

# psql through the launcher, as a container entrypoint would run it
ve_kv2_put secret/app/db "{\"password\":\"$pw\",\"user\":\"postgres\"}"
"$VE_CLI" exec -- psql -X -w -h 127.0.0.1 -p "$pgport" -d postgres -tAc "select 'connected as ' || current_user" \
        >"$VE_TMP/psql.out" 2>"$VE_TMP/psql.err" || true
check "vaultenv exec -- psql connects" grep -qx "connected as postgres" "$VE_TMP/psql.out"
ve_done
