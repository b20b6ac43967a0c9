#!/bin/bash
# Eager mode for Java: System.getenv() is a copy of environ made when the
# JVM starts. Needs a Java runtime (Debian: default-jre-headless); the
# single-file source launcher compiles Reader.java on the fly.
. "$(dirname "$0")/../lib.sh"

if ! command -v java >/dev/null; then
        echo "# no java: skipped"
        exit 77
fi
ve_vault_start
pw="fake-java-pw-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$pw\"}"
printf '%s\n' 'PGPASSWORD = secret/app/db#password' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
out=$VE_TMP/out
cat >"$VE_TMP/Reader.java" <<'JAVA'
import java.io.PrintWriter;
public class Reader {
    public static void main(String[] args) throws Exception {
        try (PrintWriter w = new PrintWriter(args[0])) {
            for (int i = 1; i < args.length; i++) {
                String v = System.getenv(args[i]);
                w.println(v != null ? args[i] + "=" + v : args[i] + " unset");
            }
        }
    }
}
JAVA

LD_PRELOAD="$VE_PRELOAD" java "$VE_TMP/Reader.java" "$out" PGPASSWORD 2>"$VE_TMP/stderr"
check "lazy: System.getenv does not see the mapped name" ve_expect "$out" "PGPASSWORD unset"
VAULTENV_EAGER=1 LD_PRELOAD="$VE_PRELOAD" java "$VE_TMP/Reader.java" "$out" PGPASSWORD 2>"$VE_TMP/stderr"
check "eager: System.getenv has Vault's value" ve_expect "$out" "PGPASSWORD=$pw"
check "eager: nothing on stderr" test ! -s "$VE_TMP/stderr"
ve_done
