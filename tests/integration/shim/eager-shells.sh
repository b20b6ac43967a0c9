#!/bin/bash
# Eager mode for shells: bash and sh (dash) build their variables from
# environ at start-up, so $VAR sees a mapped name only in eager mode. The
# shell's /proc/PID/environ holds no secret.
. "$(dirname "$0")/../lib.sh"

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
        LD_PRELOAD="$VE_PRELOAD" "$sh" -c "$script" sh "$out" - 2>"$VE_TMP/stderr"
        check "$sh lazy: \$PGPASSWORD is unset" ve_expect "$out" "PGPASSWORD unset" "OTHER unset"

        VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" "$sh" -c "$script" sh "$out" "$VE_TMP/ready" 2>"$VE_TMP/stderr" &
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

# Names the shell starts with. bash exports its own setenv(), which the
# shim must not call (it binds a shell variable that bash's start-up then
# overwrites from environ): the values the shim replaces are a reference,
# and a mapped name whose own value Vault's takes over (chain step 1 before
# step 2). Left alone: a mapped name Vault has no key for keeps its own
# value (step 2), a reference nothing resolves keeps its text, an unmapped
# name its value. A child gets the entries the shell started with (its
# /proc/self/environ: the child is under the shim and eager too).
own="fake-own-$(ve_random)"
ref="vault:secret/app/db#password"
badref="vault:secret/app/db#nokey"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' 'OTHER = secret/app/db#nokey' >"$VE_TMP/env.map"
script='
for n in PGPASSWORD OTHER DBREF BADREF PLAIN; do
        if eval "[ -n \"\${$n+x}\" ]"; then eval "echo \"$n=\$$n\""; else echo "$n unset"; fi
done >"$1"
grep -zE "^(PGPASSWORD|DBREF)=" /proc/self/environ | tr "\0" "\n" | sort >"$2"'
for sh in /bin/bash /bin/sh; do
        VAULTENV_MAP="$VE_TMP/env.map" VAULTENV_EAGER=1 PGPASSWORD=$own OTHER=$own DBREF=$ref BADREF=$badref \
                PLAIN=$own LD_PRELOAD="$VE_PRELOAD" "$sh" -c "$script" sh "$out" "$out.child" 2>"$VE_TMP/stderr"
        check "$sh eager, names it started with: Vault's value replaces a reference and a mapped name's own value" \
                ve_expect "$out" "PGPASSWORD=$pw" "OTHER=$own" "DBREF=$pw" "BADREF=$badref" "PLAIN=$own"
        check "$sh eager, names it started with: a child gets the original entries" \
                ve_expect "$out.child" "DBREF=$ref" "PGPASSWORD=$own"
done

# The per-name option, through a shell script file (a container entrypoint)
printf '%s\n' 'PGPASSWORD = secret/app/db#password eager' >"$VE_TMP/opt.map"
printf '#!/bin/sh\necho "PGPASSWORD=$PGPASSWORD" >"$1"\n' >"$VE_TMP/entrypoint.sh"
chmod +x "$VE_TMP/entrypoint.sh"
VAULTENV_MAP="$VE_TMP/opt.map" LD_PRELOAD="$VE_PRELOAD" "$VE_TMP/entrypoint.sh" "$out" 2>"$VE_TMP/stderr"
check "entrypoint script, option eager: \$PGPASSWORD is set" ve_expect "$out" "PGPASSWORD=$pw"
# and through vaultenv exec
VAULTENV_MAP="$VE_TMP/opt.map" "$VE_CLI" exec -- "$VE_TMP/entrypoint.sh" "$out" 2>"$VE_TMP/stderr"
check "vaultenv exec entrypoint script: \$PGPASSWORD is set" ve_expect "$out" "PGPASSWORD=$pw"
ve_done
