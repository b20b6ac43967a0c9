/* SPDX-License-Identifier: MIT */
/* Shared instruments of the benchmark programs (tests/bench/bench-*.c).
 *
 * Each benchmark program is both the driver and the measured process: the
 * driver prepares a dev Vault, secrets, a mapping file and an environment
 * of a fixed layout, then runs itself again ("--worker ...", found through
 * /proc/self/exe) with LD_PRELOAD=libvaultenv.so and, as the baseline, with
 * an empty LD_PRELOAD and otherwise the very same environment. Workers
 * report numbers on stdout ("sample N" lines), never a value they read.
 *
 * A driver prints what it measured and one machine-readable line per
 * figure, collected by scripts/bench into its table:
 *   BENCH|ID|WHAT|FIGURE|BASELINE|RATIO|TARGET|RUNS
 * Figures never fail a run: exit status 0 unless the instrument itself
 * broke (the dev Vault did not start, a worker crashed, a mapped name that
 * must be served was not).
 *
 * The dev Vault: when VE_BENCH_VAULT_ADDR (http://127.0.0.1:PORT) and
 * VE_BENCH_VAULT_TOKEN are set (scripts/bench), that server is used;
 * otherwise scripts/vault-dev (VE_VAULT_DEV) is started on a free loopback
 * port and stopped at the end. VE_SHIM names libvaultenv.so. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define BENCH_ENV_VARS 50       /* variables in the measured environment */
#define BENCH_FILLERS (BENCH_ENV_VARS - 4)     /* besides PATH, VAULTENV_MAP, VAULT_ADDR, VAULT_TOKEN */

struct bench_vault {
        char addr[64];          /* http://127.0.0.1:PORT */
        char token[64];
        int port;
        pid_t pid;              /* 0: not ours */
};

/* The scratch directory (created on first use, removed by bench_cleanup). */
const char *bench_tmpdir(void);
/* bench_tmpdir()/name, in a static rotating buffer (4 slots). */
const char *bench_tmpfile(const char *name);
void bench_cleanup(void);

/* Monotonic clock in nanoseconds. */
double bench_now_ns(void);
/* Median of v[0..n) (sorts v). NaN when n == 0. */
double bench_median(double *v, size_t n);

/* The dev Vault: 0 or -errno (a message on stderr). */
int bench_vault_start(struct bench_vault *v);
void bench_vault_stop(struct bench_vault *v);

/* The delaying proxy (delay-proxy, beside this program, or VE_DELAY_PROXY)
 * in front of the dev Vault: a one-way delay of delay_ms in each direction
 * and a round trip to connect. p->via is the Vault as seen through it (the
 * proxy's address, the same token), for bench_env_init(). 0 or -errno (a
 * message on stderr); bench_proxy_stop() ends it. */
struct bench_proxy {
        struct bench_vault via;
        pid_t pid;
};
int bench_proxy_start(struct bench_proxy *p, const struct bench_vault *upstream, int delay_ms);
void bench_proxy_stop(struct bench_proxy *p);

/* One request on a fresh connection ("Connection: close"), with the token
 * when with_token. ret_body (malloc'ed, may be NULL) and ret_status are set
 * on success; 0 or -errno. */
int bench_http(const struct bench_vault *v, const char *method, const char *path, const char *body,
               bool with_token, int *ret_status, char **ret_body);
/* KV v2 write of a JSON object of string data at MOUNT/PATH. */
int bench_kv2_put(const struct bench_vault *v, const char *mount_path, const char *data_json);
/* The dev server's counters (/_dev/reset, /_dev/requests). */
int bench_dev_reset(const struct bench_vault *v);
struct bench_counts {
        long total;             /* every Vault API request since the reset */
        long connections;       /* TCP connections, without this query's own */
        long matching;          /* requests whose "METHOD /path" key contains the text */
};
int bench_dev_counts(const struct bench_vault *v, const char *key_part, struct bench_counts *ret);
/* The JSON text of /_dev/requests (malloc'ed), for the log. */
char *bench_dev_requests_text(const struct bench_vault *v);

/* Mean time per request of n GETs of path over one kept-alive connection
 * (a minimal client: the floor a client library can reach on this server),
 * in ns; < 0 on failure. */
double bench_http_keepalive_ns(const struct bench_vault *v, const char *path, int n);

/* The measured environment: BENCH_ENV_VARS variables (PATH, fillers, the
 * mapping file, Vault's address and token) plus LD_PRELOAD, which is the
 * shim or empty: the same layout with and without the shim. filler_at
 * places the looked-up filler (bench_filler_name(i)) at that position. */
#define BENCH_ENV_EXTRA 2
struct bench_env {
        char *vars[BENCH_ENV_VARS + 2 + BENCH_ENV_EXTRA];
};
void bench_env_init(struct bench_env *e, const struct bench_vault *v, const char *map_path, bool shim);
/* Adds "NAME=VALUE" (copied) to the environment, at most BENCH_ENV_EXTRA
 * times: the settings a benchmark varies (VAULTENV_EAGER, ...). */
void bench_env_add(struct bench_env *e, const char *assignment);
void bench_env_done(struct bench_env *e);
const char *bench_filler_name(size_t i);
const char *bench_shim_path(void);

/* The common mapping: BENCH_MAPPED names (bench_mapped_name(i),
 * SECRET_00...) over 3 KV v2 paths secret/bench/svc-{a,b,c} (7, 7 and 6
 * keys), written to the dev Vault; the mapping file's path in
 * *ret_map_path (static). 0 or -errno. */
#define BENCH_MAPPED 20
const char *bench_mapped_name(size_t i);
int bench_standard_setup(const struct bench_vault *v, const char **ret_map_path);

/* The start of a benchmark on the common mapping: the dev Vault
 * (bench_vault_start), bench_standard_setup(), and the environments with
 * the shim and, when base is not NULL, without it. 0, or -1 with all of it
 * undone. bench_standard_stop() undoes it (base NULL as given). */
int bench_standard_start(struct bench_vault *v, struct bench_env *shim, struct bench_env *base);
void bench_standard_stop(struct bench_vault *v, struct bench_env *shim, struct bench_env *base);

/* This program, for re-running itself as a worker. */
const char *bench_self(void);
/* A program built beside this one (tests/bench/NAME), in a static
 * rotating buffer (4 slots). */
const char *bench_sibling(const char *name);
/* The full path of prog found in PATH (static rotating buffer), or NULL. */
const char *bench_which(const char *prog);

/* Runs argv with envp, stdout captured (NUL-terminated, malloc'ed) when
 * ret_out; the wait status in ret_status. 0 or -errno. */
int bench_run(char *const argv[], char *const envp[], char **ret_out, int *ret_status);
/* Starts argv with envp, stdout to a pipe (*ret_fd) when ret_fd; no wait. */
int bench_spawn(char *const argv[], char *const envp[], int *ret_fd, pid_t *ret_pid);

/* Parses "sample X" lines of a worker's output into v (at most max). */
size_t bench_samples(const char *out, double *v, size_t max);
/* The same for lines "TAG X" (tag includes the blank: "cpu "). */
size_t bench_values(const char *out, const char *tag, double *v, size_t max);

/* Writes the file (0644). 0 or -errno. */
int bench_write_file(const char *path, const char *text);

/* The table line for scripts/bench, and a human one before it. baseline
 * or ratio NaN: "-". unit follows the figure and the baseline. */
void bench_row(const char *id, const char *what, double figure, const char *unit, double baseline,
               double ratio, const char *target, const char *runs);

/* Whether the status is a normal exit 0; else says so, naming what. */
bool bench_ok(const char *what, int status);
