#!/bin/bash
# Eager mode for shells: bash and sh (dash) build their variables from
# environ at start-up, so $VAR sees a mapped name only in eager mode. The
# shell's /proc/PID/environ holds no secret.
. "$(dirname "$0")/lib.sh"

ve_vault_start
pw="fake-sh-pw-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$pw\"}"
printf '%s\n' 'PGPASSWORD = secret/app/db#password required' 'OTHER = secret/app/db#nokey' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
out=$VE_TMP/out
# The script every shell runs: $1 OUT, $2 READY ("-": exit). Writes, never
# prints, what the shell's own variables hold.
script='
if [ -n "${PGPASSWORD+x}" ]; then echo "PGPASSWORD=$PGPASSWORD"; else echo "PGPASSWORD unset"; fi >"$1"
if [ -n "${OTHER+x}" ]; then echo "OTHER=$OTHER"; else echo "OTHER unset"; fi >>"$1"
[ "$2" = - ] && exit 0
: >"$2"
while :; do sleep 0.2; done'

for sh in /bin/bash /bin/sh; do
        rm -f "$VE_TMP/ready"
        LD_PRELOAD="$VE_SHIM" "$sh" -c "$script" sh "$out" - 2>"$VE_TMP/stderr"
        check "$sh lazy: \$PGPASSWORD is unset" ve_expect "$out" "PGPASSWORD unset" "OTHER unset"

        VAULTENV_EAGER=1 LD_PRELOAD="$VE_SHIM" "$sh" -c "$script" sh "$out" "$VE_TMP/ready" 2>"$VE_TMP/stderr" &
        pid=$!
        VE_PIDS+=("$pid")
        check "$sh eager: started" ve_eager_wait "$VE_TMP/ready"
        check "$sh eager: \$PGPASSWORD is Vault's value; a name nothing resolves stays unset" \
                ve_expect "$out" "PGPASSWORD=$pw" "OTHER unset"
        check "$sh eager: the secret is not in /proc/PID/environ" ve_eager_environ_lacks "$pid" "$pw"
        check "$sh eager: /proc/PID/environ is the shell's" ve_eager_environ_has "$pid" "VAULTENV_EAGER=1"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
done

# The per-name option, through a shell script file (a container entrypoint)
printf '%s\n' 'PGPASSWORD = secret/app/db#password eager' >"$VE_TMP/opt.map"
printf '#!/bin/sh\necho "PGPASSWORD=$PGPASSWORD" >"$1"\n' >"$VE_TMP/entrypoint.sh"
chmod +x "$VE_TMP/entrypoint.sh"
VAULTENV_MAP="$VE_TMP/opt.map" LD_PRELOAD="$VE_SHIM" "$VE_TMP/entrypoint.sh" "$out" 2>"$VE_TMP/stderr"
check "entrypoint script, option eager: \$PGPASSWORD is set" ve_expect "$out" "PGPASSWORD=$pw"
# and through vaultenv exec
VAULTENV_MAP="$VE_TMP/opt.map" "$VE_CLI" exec -- "$VE_TMP/entrypoint.sh" "$out" 2>"$VE_TMP/stderr"
check "vaultenv exec entrypoint script: \$PGPASSWORD is set" ve_expect "$out" "PGPASSWORD=$pw"
ve_done
