#!/bin/bash
# Eager mode for Python: os.environ is a copy of environ made before any
# Python code runs, so mapped names reach it only when the shim placed them
# there before main. /proc/PID/environ still holds no secret.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
ve_vault_start
pw="fake-py-pw-$(ve_random)"
user="fake-py-user-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$pw\",\"user\":\"$user\"}"
printf '%s\n' 'PGPASSWORD = secret/app/db#password required' 'PGUSER = secret/app/db#user' \
        'DB_FLAG = secret/app/nothere#x default=fake-default' >"$VE_TMP/all.map"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' 'PGUSER = secret/app/db#user eager' >"$VE_TMP/one.map"
printf '%s\n' 'PGUSER = secret/app/db#user' 'DB_FLAG = secret/app/nothere#x default=fake-default' >"$VE_TMP/fb.map"
export VAULTENV_MAP="$VE_TMP/all.map"
# reader.py OUT READY NAME...: writes what os.environ holds; READY "-": exit
cat >"$VE_TMP/reader.py" <<'PY'
import os, sys, time
out, ready, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(out, "w") as f:
    for n in names:
        v = os.environ.get(n)
        f.write(f"{n}={v}\n" if v is not None else f"{n} unset\n")
if ready != "-":
    open(ready, "w").close()
    time.sleep(60)
PY
out=$VE_TMP/out

# 1. without eager mode Python does not see mapped names (the limit this
#    issue removes), and the start-up costs no Vault request
ve_reset_counts
LD_PRELOAD="$VE_PRELOAD" "$PY" "$VE_TMP/reader.py" "$out" - PGPASSWORD PGUSER 2>"$VE_TMP/stderr"
check "lazy: os.environ has no mapped name" ve_expect "$out" "PGPASSWORD unset" "PGUSER unset"
check "lazy: no Vault request at start-up" test "$(ve_count '')" = 0

# 2. VAULTENV_EAGER=1: every mapped name, one read for the path
ve_reset_counts
VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" "$PY" "$VE_TMP/reader.py" "$out" "$VE_TMP/ready" \
        PGPASSWORD PGUSER DB_FLAG 2>"$VE_TMP/stderr" &
pid=$!
VE_PIDS+=("$pid")
check "eager: the program started" ve_eager_wait "$VE_TMP/ready"
check "eager: os.environ has Vault's values and the default" \
        ve_expect "$out" "PGPASSWORD=$pw" "PGUSER=$user" "DB_FLAG=fake-default"
check "eager: one read for the two names of secret/app/db" test "$(ve_count 'GET /v1/secret/data/app/db')" = 1
check "eager: /proc/PID/environ is readable" test -r "/proc/$pid/environ"
check "eager: the password is not in /proc/PID/environ" ve_eager_environ_lacks "$pid" "$pw"
check "eager: the user is not in /proc/PID/environ" ve_eager_environ_lacks "$pid" "$user"
check "eager: no PGPASSWORD entry in /proc/PID/environ" ve_eager_environ_lacks "$pid" "PGPASSWORD="
check "eager: the scan works (VAULTENV_EAGER is there)" ve_eager_environ_has "$pid" "VAULTENV_EAGER=1"
check "eager: nothing on stderr" test ! -s "$VE_TMP/stderr"
kill "$pid"
wait "$pid" 2>/dev/null || true

# 3. the per-name option: only PGUSER is placed
VAULTENV_MAP="$VE_TMP/one.map" LD_PRELOAD="$VE_PRELOAD" "$PY" "$VE_TMP/reader.py" "$out" - PGPASSWORD PGUSER \
        2>"$VE_TMP/stderr"
check "option eager: only that name is in os.environ" ve_expect "$out" "PGPASSWORD unset" "PGUSER=$user"

# 4. VAULTENV_EAGER=0 is off
VAULTENV_EAGER=0 LD_PRELOAD="$VE_PRELOAD" "$PY" "$VE_TMP/reader.py" "$out" - PGPASSWORD 2>"$VE_TMP/stderr"
check "VAULTENV_EAGER=0: not eager" ve_expect "$out" "PGPASSWORD unset"

# 5. a value the environment already had and Vault cannot give stays the
#    environment's own (the fallback chain, before main)
PGUSER=fake-env-user VAULTENV_MAP="$VE_TMP/fb.map" VAULTENV_EAGER=1 VAULT_TOKEN=fake-bad-token LD_PRELOAD="$VE_PRELOAD" "$PY" "$VE_TMP/reader.py" \
        "$out" - PGUSER DB_FLAG 2>"$VE_TMP/stderr" || true
check "Vault refuses: the environment's own value and the default" \
        ve_expect "$out" "PGUSER=fake-env-user" "DB_FLAG=fake-default"
# 6. references in the environment (NAME=vault:..., no mapping file):
#    VAULTENV_EAGER resolves them too; the literal escape is unescaped
VAULTENV_MAP= DB_PW=vault:secret/app/db#password LIT=vault::fake-literal VAULTENV_EAGER=1 \
        LD_PRELOAD="$VE_PRELOAD" "$PY" "$VE_TMP/reader.py" "$out" "$VE_TMP/ready2" DB_PW LIT 2>"$VE_TMP/stderr" &
pid=$!
VE_PIDS+=("$pid")
check "references: the program started" ve_eager_wait "$VE_TMP/ready2"
check "references, eager: os.environ has the secret and the unescaped literal" \
        ve_expect "$out" "DB_PW=$pw" "LIT=vault:fake-literal"
check "references, eager: the secret is not in /proc/PID/environ" ve_eager_environ_lacks "$pid" "$pw"
check "references, eager: /proc/PID/environ has the reference" ve_eager_environ_has "$pid" "DB_PW=vault:secret/app/db#password"
kill "$pid"
wait "$pid" 2>/dev/null || true
VAULTENV_MAP= DB_PW=vault:secret/app/db#password LD_PRELOAD="$VE_PRELOAD" "$PY" "$VE_TMP/reader.py" "$out" - DB_PW \
        2>"$VE_TMP/stderr"
check "references, lazy: os.environ holds the reference text" ve_expect "$out" "DB_PW=vault:secret/app/db#password"
ve_done
