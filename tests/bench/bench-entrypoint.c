/* SPDX-License-Identifier: MIT */
/* P6: time until a program has 10 secrets.
 *
 *   bench-entrypoint P6
 *
 * With the shim: the program (this one, "--worker read NAME...") is started
 * with LD_PRELOAD and a mapping of 10 names, each on its own Vault path
 * (so the shim makes 10 reads, as the script does), and reads them.
 * The usual way (baseline): an entrypoint script runs `curl` + `jq` per
 * secret (python3's json module when jq is not installed; the output says
 * which), exports each, then execs the same program, which reads them
 * from its environment. Time from posix_spawn to the program's exit;
 * RUNS of each, alternating, median. The ratio is the speed-up
 * (baseline / figure). The worker exits 3 when a name had no value or not
 * the expected (fake) one, so a failing fetch is never measured as fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define RUNS 7
#define N_SECRETS 10

static int worker_read(int n, char **names) {
        bool all = true;

        for (int i = 0; i < n; i++) {
                const char *v = getenv(names[i]);

                all = all && v && strncmp(v, "fake-bench-p6-", 14) == 0;
        }
        return all ? 0 : 3;
}

/* Whether prog is an executable in PATH. */
static bool in_path(const char *prog) {
        const char *path = getenv("PATH");
        char buf[4096];

        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        while (*path) {
                size_t l = strcspn(path, ":");

                snprintf(buf, sizeof buf, "%.*s/%s", (int) l, path, prog);
                if (l > 0 && access(buf, X_OK) == 0)
                        return true;
                path += l;
                if (*path == ':')
                        path++;
        }
        return false;
}

static double timed_run(char **argv, struct bench_env *env) {
        double t0 = bench_now_ns(), t1;
        int status;

        if (bench_run(argv, env->vars, NULL, &status) < 0)
                return -1;
        t1 = bench_now_ns();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
                fprintf(stderr, "bench-entrypoint: %s: the program did not get its 10 secrets\n", argv[0]);
                return -1;
        }
        return bench_ok(argv[0], status) ? t1 - t0 : -1;
}

int main(int argc, char **argv) {
        static char names[N_SECRETS][32];
        double fig[RUNS], base[RUNS];
        struct bench_vault v;
        struct bench_env shim, plain;
        char map[2048] = "", script[8192], map_path[256], script_path[256], runs[16], what[128];
        char *shim_argv[N_SECRETS + 4], *base_argv[N_SECRETS + 6];
        bool ok = true, jq = in_path("jq");
        const char *parser = jq ? "jq -r .data.data.value"
                                : "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"data\"][\"value\"])'";

        if (argc > 2 && strcmp(argv[1], "--worker") == 0 && strcmp(argv[2], "read") == 0)
                return worker_read(argc - 3, argv + 3);
        if (argc != 2 || strcmp(argv[1], "P6") != 0) {
                fprintf(stderr, "usage: bench-entrypoint P6\n");
                return 2;
        }
        if (!in_path("curl")) {
                fprintf(stderr, "bench-entrypoint: curl is not installed: no baseline\n");
                return 1;
        }
        if (bench_vault_start(&v) < 0)
                return 1;

        snprintf(script, sizeof script,
                 "#!/bin/sh\n# The usual way: curl + %s per secret, export, exec the program.\nset -e\n",
                 jq ? "jq" : "python3 (jq is not installed)");
        for (int i = 0; i < N_SECRETS && ok; i++) {
                char path[64], data[96];
                size_t l;

                snprintf(names[i], sizeof names[i], "P6_SECRET_%02d", i);
                snprintf(path, sizeof path, "secret/bench/p6-%02d", i);
                snprintf(data, sizeof data, "{\"value\":\"fake-bench-p6-%02d\"}", i);
                ok = bench_kv2_put(&v, path, data) >= 0;
                l = strlen(map);
                snprintf(map + l, sizeof map - l, "%s = %s\n", names[i], path);
                l = strlen(script);
                snprintf(script + l, sizeof script - l,
                         "%s=$(curl -sSf -H \"X-Vault-Token: $VAULT_TOKEN\" \"$VAULT_ADDR/v1/secret/data/bench/p6-%02d\" | %s)\n"
                         "export %s\n",
                         names[i], i, parser, names[i]);
        }
        strcat(script, "exec \"$@\"\n");
        snprintf(map_path, sizeof map_path, "%s", bench_tmpfile("p6.map"));
        snprintf(script_path, sizeof script_path, "%s", bench_tmpfile("entrypoint.sh"));
        ok = ok && bench_write_file(map_path, map) >= 0 && bench_write_file(script_path, script) >= 0;
        if (!ok) {
                bench_vault_stop(&v);
                bench_cleanup();
                return 1;
        }
        printf("P6: the baseline parses JSON with %s\n", jq ? "jq" : "python3 (jq is not installed)");

        bench_env_init(&shim, &v, map_path, true);
        bench_env_init(&plain, &v, map_path, false);
        shim_argv[0] = (char *) bench_self();
        shim_argv[1] = "--worker";
        shim_argv[2] = "read";
        base_argv[0] = "/bin/sh";
        base_argv[1] = script_path;
        base_argv[2] = (char *) bench_self();
        base_argv[3] = "--worker";
        base_argv[4] = "read";
        for (int i = 0; i < N_SECRETS; i++)
                shim_argv[3 + i] = base_argv[5 + i] = names[i];
        shim_argv[3 + N_SECRETS] = base_argv[5 + N_SECRETS] = NULL;

        /* one unmeasured run of each: caches warm */
        ok = timed_run(base_argv, &plain) >= 0 && timed_run(shim_argv, &shim) >= 0;
        for (int r = 0; r < RUNS && ok; r++) {
                base[r] = timed_run(base_argv, &plain);
                fig[r] = timed_run(shim_argv, &shim);
                ok = base[r] >= 0 && fig[r] >= 0;
        }
        if (ok) {
                double f = bench_median(fig, RUNS) / 1e6, b = bench_median(base, RUNS) / 1e6;

                snprintf(runs, sizeof runs, "%d", RUNS);
                snprintf(what, sizeof what, "time until a program has 10 secrets vs curl+%s entrypoint (ms; ratio = speed-up)",
                         jq ? "jq" : "python3");
                bench_row("P6", what, f, "ms", b, b / f, ">= 10", runs);
        }
        bench_env_done(&shim);
        bench_env_done(&plain);
        bench_vault_stop(&v);
        bench_cleanup();
        return ok ? 0 : 1;
}
