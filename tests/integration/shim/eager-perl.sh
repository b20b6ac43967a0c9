#!/bin/bash
# Eager mode for Perl: %ENV is filled from environ when perl starts.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
pw="fake-pl-pw-$(ve_random)"
key="fake-pl-key-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$pw\"}"
ve_api POST secret/data/api "{\"data\":{\"value\":\"$key\"}}"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' 'API_KEY = secret/api eager' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
out=$VE_TMP/out
# reader.pl OUT READY NAME...
cat >"$VE_TMP/reader.pl" <<'PL'
use strict; use warnings;
my ($out, $ready, @names) = @ARGV;
open(my $f, ">", $out) or die "$out: $!";
for my $n (@names) { print $f (defined $ENV{$n} ? "$n=$ENV{$n}\n" : "$n unset\n"); }
close($f) or die;
exit 0 if $ready eq "-";
open(my $r, ">", $ready) or die; close($r);
sleep 60;
PL

LD_PRELOAD="$VE_PRELOAD" perl "$VE_TMP/reader.pl" "$out" - PGPASSWORD API_KEY 2>"$VE_TMP/stderr"
check "option eager: only API_KEY is in %ENV" ve_expect "$out" "PGPASSWORD unset" "API_KEY=$key"

VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" perl "$VE_TMP/reader.pl" "$out" "$VE_TMP/ready" PGPASSWORD API_KEY \
        2>"$VE_TMP/stderr" &
pid=$!
VE_PIDS+=("$pid")
check "eager: started" ve_eager_wait "$VE_TMP/ready"
check "VAULTENV_EAGER=1: %ENV has both" ve_expect "$out" "PGPASSWORD=$pw" "API_KEY=$key"
check "eager: the password is not in /proc/PID/environ" ve_eager_environ_lacks "$pid" "$pw"
check "eager: the key is not in /proc/PID/environ" ve_eager_environ_lacks "$pid" "$key"
kill "$pid"
wait "$pid" 2>/dev/null || true

# Perl's exec (execvp) and system with a shell line (execl of /bin/sh):
# the child's environment holds no injected value; it resolves for itself
rm -f "$VE_TMP/ready"
VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" perl -e 'exec @ARGV or die' \
        "$VE_READENV" --wait "$VE_TMP/ready" "$out" PGPASSWORD 2>"$VE_TMP/stderr" &
pid=$!
VE_PIDS+=("$pid")
check "perl exec: the child started" ve_eager_wait "$VE_TMP/ready"
check "perl exec: the child resolved for itself" ve_expect "$out" "PGPASSWORD=$pw"
check "perl exec: the password is not in the child's /proc/PID/environ" ve_eager_environ_lacks "$pid" "$pw"
kill "$pid"
wait "$pid" 2>/dev/null || true
VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" perl -e 'system("tr \"\\0\" \"\\n\" </proc/\$\$/environ >$ARGV[0]")' \
        "$VE_TMP/child-env" 2>"$VE_TMP/stderr"
check "perl system: the shell's environment was captured" grep -q '^VAULTENV_EAGER=1$' "$VE_TMP/child-env"
check "perl system: no injected value in the shell's environment" \
        bash -c "! grep -qF -e '$pw' -e '$key' '$VE_TMP/child-env'"
ve_done
