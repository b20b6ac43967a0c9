/* SPDX-License-Identifier: MIT */
/* The instruments shared by the benchmark programs; contracts in bench.h.
 * Loopback only; values written to the dev Vault are obviously fake and are
 * never printed. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench.h"

static char tmpdir[64];

const char *bench_tmpdir(void) {
        if (!tmpdir[0]) {
                strcpy(tmpdir, "/tmp/vaultenv-bench.XXXXXX");
                if (!mkdtemp(tmpdir)) {
                        perror("bench: mkdtemp");
                        exit(1);
                }
                (void) chmod(tmpdir, 0755);
                /* also on the early exits of a failing driver */
                atexit(bench_cleanup);
        }
        return tmpdir;
}

const char *bench_tmpfile(const char *name) {
        static char slots[4][256];
        static unsigned next;
        char *p = slots[next++ % 4];

        snprintf(p, sizeof slots[0], "%s/%s", bench_tmpdir(), name);
        return p;
}

void bench_cleanup(void) {
        DIR *d;
        struct dirent *de;

        if (!tmpdir[0])
                return;
        /* flat: only files are made in it */
        d = opendir(tmpdir);
        if (d) {
                while ((de = readdir(d)))
                        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                (void) unlinkat(dirfd(d), de->d_name, 0);
                closedir(d);
        }
        (void) rmdir(tmpdir);
        tmpdir[0] = '\0';
}

double bench_now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n) {
        if (n == 0)
                return NAN;
        qsort(v, n, sizeof *v, cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- processes ---- */

const char *bench_self(void) {
        static char self[4096];

        if (!self[0]) {
                ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

                if (n <= 0) {
                        perror("bench: /proc/self/exe");
                        exit(1);
                }
                self[n] = '\0';
        }
        return self;
}

const char *bench_sibling(const char *name) {
        static char slots[4][4352];
        static unsigned next;
        char *p = slots[next++ % 4];
        const char *self = bench_self(), *slash = strrchr(self, '/');

        snprintf(p, sizeof slots[0], "%.*s/%s", (int) (slash - self), self, name);
        return p;
}

const char *bench_which(const char *prog) {
        static char slots[4][4096];
        static unsigned next;
        char *buf = slots[next++ % 4];
        const char *path = getenv("PATH");

        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        while (*path) {
                size_t l = strcspn(path, ":");

                snprintf(buf, sizeof slots[0], "%.*s/%s", (int) l, path, prog);
                if (l > 0 && access(buf, X_OK) == 0)
                        return buf;
                path += l;
                if (*path == ':')
                        path++;
        }
        return NULL;
}

int bench_spawn(char *const argv[], char *const envp[], int *ret_fd, pid_t *ret_pid) {
        posix_spawn_file_actions_t fa;
        int p[2] = { -1, -1 }, r;
        pid_t pid;

        if (ret_fd && pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        posix_spawn_file_actions_init(&fa);
        if (ret_fd)
                posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        r = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (ret_fd)
                close(p[1]);
        if (r != 0) {
                if (ret_fd)
                        close(p[0]);
                return -r;
        }
        if (ret_fd)
                *ret_fd = p[0];
        *ret_pid = pid;
        return 0;
}

static char *read_all(int fd) {
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);

        if (!buf)
                return NULL;
        for (;;) {
                ssize_t n;

                if (cap - len < 2048) {
                        char *nb = realloc(buf, cap * 2);

                        if (!nb) {
                                free(buf);
                                return NULL;
                        }
                        buf = nb;
                        cap *= 2;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return buf;
}

int bench_run(char *const argv[], char *const envp[], char **ret_out, int *ret_status) {
        int fd = -1, status, r;
        char *out = NULL;
        pid_t pid;

        r = bench_spawn(argv, envp, ret_out ? &fd : NULL, &pid);
        if (r < 0)
                return r;
        if (ret_out) {
                out = read_all(fd);
                close(fd);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        free(out);
                        return -errno;
                }
        if (ret_out) {
                if (!out)
                        return -ENOMEM;
                *ret_out = out;
        }
        *ret_status = status;
        return 0;
}

size_t bench_values(const char *out, const char *tag, double *v, size_t max) {
        size_t n = 0, l = strlen(tag);

        for (const char *p = out; p && *p && n < max; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, tag, l) == 0)
                        v[n++] = strtod(p + l, NULL);
        return n;
}

size_t bench_samples(const char *out, double *v, size_t max) {
        return bench_values(out, "sample ", v, max);
}

bool bench_ok(const char *what, int status) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return true;
        if (WIFEXITED(status))
                fprintf(stderr, "bench: %s: exit status %d\n", what, WEXITSTATUS(status));
        else
                fprintf(stderr, "bench: %s: killed by signal %d\n", what, WTERMSIG(status));
        return false;
}

int bench_write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        fputs(text, f);
        if (fclose(f) != 0)
                return -errno;
        return chmod(path, 0644) < 0 ? -errno : 0;
}

/* ---- the environment ---- */

const char *bench_filler_name(size_t i) {
        static char names[BENCH_FILLERS + 1][32];

        if (i > BENCH_FILLERS)
                return NULL;
        if (i == BENCH_FILLERS)
                return "NO_SUCH_SETTING";
        if (!names[i][0])
                /* varied first bytes, as in a real environment */
                snprintf(names[i], sizeof names[i], "%c%c_SETTING_%02zu", (char) ('A' + i % 26),
                         (char) ('A' + (i * 7 + 3) % 26), i);
        return names[i];
}

const char *bench_shim_path(void) {
        const char *s = getenv("VE_SHIM");

        if (!s || !*s) {
                fprintf(stderr, "bench: VE_SHIM (the path of libvaultenv.so) is not set\n");
                exit(1);
        }
        return s;
}

static char *xasprintf_str(const char *a, const char *b) {
        char *s;

        if (asprintf(&s, "%s%s", a, b) < 0) {
                perror("bench");
                exit(1);
        }
        return s;
}

void bench_env_init(struct bench_env *e, const struct bench_vault *v, const char *map_path, bool shim) {
        size_t n = 0;
        const char *path = getenv("PATH");

        e->vars[n++] = xasprintf_str("PATH=", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
        for (size_t i = 0; i < BENCH_FILLERS; i++) {
                char *s;

                if (asprintf(&s, "%s=filler-%02zu-/srv/app/config/value", bench_filler_name(i), i) < 0)
                        exit(1);
                e->vars[n++] = s;
        }
        e->vars[n++] = xasprintf_str("VAULTENV_MAP=", map_path);
        e->vars[n++] = xasprintf_str("VAULT_ADDR=", v->addr);
        e->vars[n++] = xasprintf_str("VAULT_TOKEN=", v->token);
        e->vars[n++] = xasprintf_str("LD_PRELOAD=", shim ? bench_shim_path() : "");
        e->vars[n] = NULL;
}

void bench_env_add(struct bench_env *e, const char *assignment) {
        size_t n = 0;

        while (e->vars[n])
                n++;
        if (n >= BENCH_ENV_VARS + 1 + BENCH_ENV_EXTRA) {
                fprintf(stderr, "bench: bench_env_add: no room for another variable\n");
                exit(1);
        }
        e->vars[n] = xasprintf_str(assignment, "");
        e->vars[n + 1] = NULL;
}

void bench_env_done(struct bench_env *e) {
        for (size_t i = 0; e->vars[i]; i++)
                free(e->vars[i]);
        e->vars[0] = NULL;
}

/* ---- the dev Vault ---- */

int bench_vault_start(struct bench_vault *v) {
        const char *addr = getenv("VE_BENCH_VAULT_ADDR"), *token = getenv("VE_BENCH_VAULT_TOKEN");
        const char *dev = getenv("VE_VAULT_DEV");
        char tokarg[128], portarg[300], port_file[256];
        unsigned char rnd[8];
        int fd, r;

        memset(v, 0, sizeof *v);
        if (addr && *addr && token && *token) {
                const char *colon = strrchr(addr, ':');

                if (strncmp(addr, "http://127.0.0.1:", 17) != 0 || !colon ||
                    strlen(addr) >= sizeof v->addr || strlen(token) >= sizeof v->token) {
                        fprintf(stderr, "bench: VE_BENCH_VAULT_ADDR must be http://127.0.0.1:PORT\n");
                        return -EINVAL;
                }
                strcpy(v->addr, addr);
                strcpy(v->token, token);
                v->port = atoi(colon + 1);
                return 0;
        }
        if (!dev || !*dev) {
                fprintf(stderr, "bench: VE_VAULT_DEV (scripts/vault-dev) is not set\n");
                return -EINVAL;
        }
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t) sizeof rnd) {
                perror("bench: /dev/urandom");
                if (fd >= 0)
                        close(fd);
                return -EIO;
        }
        close(fd);
        snprintf(v->token, sizeof v->token, "fake-bench-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        snprintf(tokarg, sizeof tokarg, "-dev-root-token-id=%s", v->token);
        snprintf(port_file, sizeof port_file, "%s", bench_tmpfile("vault.port"));
        snprintf(portarg, sizeof portarg, "%s", port_file);
        {
                char *argv[] = { (char *) dev, tokarg, "-dev-listen-address=127.0.0.1:0", "--port-file", portarg,
                                 "--quiet", NULL };
                extern char **environ;
                posix_spawn_file_actions_t fa;

                posix_spawn_file_actions_init(&fa);
                posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, bench_tmpfile("vault-dev.log"),
                                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
                r = posix_spawn(&v->pid, dev, &fa, NULL, argv, environ);
                posix_spawn_file_actions_destroy(&fa);
                if (r != 0) {
                        fprintf(stderr, "bench: cannot start %s: %s\n", dev, strerror(r));
                        v->pid = 0;
                        return -r;
                }
        }
        for (int i = 0; i < 300; i++) {
                char buf[32] = "";
                FILE *f = fopen(port_file, "re");

                if (f) {
                        if (fgets(buf, sizeof buf, f))
                                v->port = atoi(buf);
                        fclose(f);
                }
                if (v->port > 0)
                        break;
                if (waitpid(v->pid, NULL, WNOHANG) == v->pid) {
                        v->pid = 0;     /* it ended: no use waiting */
                        break;
                }
                nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
        if (v->port <= 0) {
                FILE *log = fopen(bench_tmpfile("vault-dev.log"), "re");
                char line[512];

                fprintf(stderr, "bench: %s did not start:\n", dev);
                while (log && fgets(line, sizeof line, log))
                        fputs(line, stderr);
                if (log)
                        fclose(log);
                bench_vault_stop(v);
                return -ETIMEDOUT;
        }
        snprintf(v->addr, sizeof v->addr, "http://127.0.0.1:%d", v->port);
        return 0;
}

void bench_vault_stop(struct bench_vault *v) {
        if (v->pid > 0) {
                kill(v->pid, SIGTERM);
                while (waitpid(v->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                v->pid = 0;
        }
}

/* ---- the delaying proxy ---- */

int bench_proxy_start(struct bench_proxy *p, const struct bench_vault *upstream, int delay_ms) {
        const char *prog = getenv("VE_DELAY_PROXY");
        char delay[16], port[16], line[32] = "";
        extern char **environ;
        size_t len = 0;
        int fd, r;

        memset(p, 0, sizeof *p);
        if (!prog || !*prog)
                prog = bench_sibling("delay-proxy");
        snprintf(delay, sizeof delay, "%d", delay_ms);
        snprintf(port, sizeof port, "%d", upstream->port);
        {
                char *argv[] = { (char *) prog, delay, port, NULL };

                r = bench_spawn(argv, environ, &fd, &p->pid);
        }
        if (r < 0) {
                fprintf(stderr, "bench: cannot start %s: %s\n", prog, strerror(-r));
                p->pid = 0;
                return r;
        }
        /* its first line is the port it listens on */
        while (len < sizeof line - 1 && !strchr(line, '\n')) {
                ssize_t n = read(fd, line + len, sizeof line - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
                line[len] = '\0';
        }
        close(fd);
        p->via = *upstream;
        p->via.pid = 0;
        p->via.port = atoi(line);
        if (p->via.port <= 0) {
                fprintf(stderr, "bench: %s did not start\n", prog);
                bench_proxy_stop(p);
                return -EIO;
        }
        snprintf(p->via.addr, sizeof p->via.addr, "http://127.0.0.1:%d", p->via.port);
        return 0;
}

void bench_proxy_stop(struct bench_proxy *p) {
        if (p->pid > 0) {
                kill(p->pid, SIGTERM);
                while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                p->pid = 0;
        }
}

/* ---- a minimal HTTP/1.1 client (loopback, plain HTTP) ---- */

static int http_connect(const struct bench_vault *v) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) v->port) };
        int fd, one = 1;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
}

static int write_all(int fd, const char *s, size_t n) {
        while (n > 0) {
                ssize_t w = write(fd, s, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -EIO;
                s += w;
                n -= (size_t) w;
        }
        return 0;
}

static char *request_text(const struct bench_vault *v, const char *method, const char *path, const char *body,
                          bool with_token, bool keep_alive) {
        char *req;
        int n;

        n = asprintf(&req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%sX-Vault-Request: true\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n%s",
                     method, path, v->port, with_token ? "X-Vault-Token: " : "", with_token ? v->token : "",
                     with_token ? "\r\n" : "", body ? strlen(body) : 0, keep_alive ? "keep-alive" : "close",
                     body ? body : "");
        return n < 0 ? NULL : req;
}

int bench_http(const struct bench_vault *v, const char *method, const char *path, const char *body,
               bool with_token, int *ret_status, char **ret_body) {
        char *req, *resp, *b;
        int fd, r, status;

        req = request_text(v, method, path, body, with_token, false);
        if (!req)
                return -ENOMEM;
        fd = http_connect(v);
        if (fd < 0) {
                free(req);
                return fd;
        }
        r = write_all(fd, req, strlen(req));
        free(req);
        if (r < 0) {
                close(fd);
                return r;
        }
        resp = read_all(fd);
        close(fd);
        if (!resp)
                return -ENOMEM;
        if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) {
                free(resp);
                return -EBADMSG;
        }
        if (ret_body) {
                b = strstr(resp, "\r\n\r\n");
                *ret_body = strdup(b ? b + 4 : "");
        }
        free(resp);
        *ret_status = status;
        return 0;
}

int bench_kv2_put(const struct bench_vault *v, const char *mount_path, const char *data_json) {
        const char *slash = strchr(mount_path, '/');
        char path[512], *body;
        int status, r;

        if (!slash)
                return -EINVAL;
        snprintf(path, sizeof path, "/v1/%.*s/data/%s", (int) (slash - mount_path), mount_path, slash + 1);
        if (asprintf(&body, "{\"data\":%s}", data_json) < 0)
                return -ENOMEM;
        r = bench_http(v, "POST", path, body, true, &status, NULL);
        free(body);
        if (r < 0 || status >= 300) {
                fprintf(stderr, "bench: writing %s to the dev Vault failed (%s)\n", mount_path,
                        r < 0 ? strerror(-r) : "HTTP error");
                return r < 0 ? r : -EIO;
        }
        return 0;
}

int bench_dev_reset(const struct bench_vault *v) {
        int status, r = bench_http(v, "POST", "/_dev/reset", NULL, false, &status, NULL);

        return r < 0 ? r : status == 204 ? 0 : -EIO;
}

char *bench_dev_requests_text(const struct bench_vault *v) {
        char *body = NULL;
        int status;

        if (bench_http(v, "GET", "/_dev/requests", NULL, false, &status, &body) < 0 || status != 200) {
                free(body);
                return NULL;
        }
        return body;
}

int bench_dev_counts(const struct bench_vault *v, const char *key_part, struct bench_counts *ret) {
        char *body = bench_dev_requests_text(v);
        cJSON *j, *reqs, *it;
        struct bench_counts c = { 0 };

        if (!body)
                return -EIO;
        j = cJSON_Parse(body);
        free(body);
        if (!j)
                return -EBADMSG;
        c.total = (long) cJSON_GetNumberValue(cJSON_GetObjectItem(j, "total"));
        /* this query's own connection is counted too */
        c.connections = (long) cJSON_GetNumberValue(cJSON_GetObjectItem(j, "connections")) - 1;
        reqs = cJSON_GetObjectItem(j, "requests");
        cJSON_ArrayForEach(it, reqs)
                if (key_part && strstr(it->string, key_part))
                        c.matching += (long) cJSON_GetNumberValue(it);
        cJSON_Delete(j);
        *ret = c;
        return 0;
}

/* Reads one response (status line, headers with Content-Length, body) from
 * a kept-alive connection; 0 or -errno. */
static int read_response(int fd, int *ret_status) {
        char buf[65536];
        size_t len = 0;
        long clen = -1;
        char *hdr_end = NULL;

        for (;;) {
                ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -EIO;
                len += (size_t) n;
                buf[len] = '\0';
                if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
                        char *cl = strcasestr(buf, "\r\nContent-Length:");

                        if (!cl || cl > hdr_end)
                                return -EBADMSG;
                        clen = strtol(cl + 17, NULL, 10);
                }
                if (hdr_end && (size_t) (hdr_end + 4 - buf) + (size_t) clen <= len)
                        break;
                if (len >= sizeof buf - 1)
                        return -E2BIG;
        }
        if (sscanf(buf, "HTTP/1.%*d %d", ret_status) != 1)
                return -EBADMSG;
        explicit_bzero(buf, len);       /* it held a (fake) secret */
        return 0;
}

double bench_http_keepalive_ns(const struct bench_vault *v, const char *path, int n) {
        char *req = request_text(v, "GET", path, NULL, true, true);
        double t0, t1;
        int fd, status;

        if (!req)
                return -1;
        fd = http_connect(v);
        if (fd < 0) {
                free(req);
                return -1;
        }
        /* one request first: connection set-up is not what is measured */
        if (write_all(fd, req, strlen(req)) < 0 || read_response(fd, &status) < 0 || status != 200)
                goto fail;
        t0 = bench_now_ns();
        for (int i = 0; i < n; i++)
                if (write_all(fd, req, strlen(req)) < 0 || read_response(fd, &status) < 0 || status != 200)
                        goto fail;
        t1 = bench_now_ns();
        close(fd);
        free(req);
        return (t1 - t0) / n;
fail:
        close(fd);
        free(req);
        return -1;
}

/* ---- output ---- */

static void fmt_num(char *buf, size_t size, double x) {
        if (isnan(x))
                snprintf(buf, size, "-");
        else if (x == floor(x) && fabs(x) < 1e9)
                snprintf(buf, size, "%.0f", x);     /* counts */
        else if (fabs(x) < 10)
                snprintf(buf, size, "%.2f", x);
        else if (fabs(x) < 1000)
                snprintf(buf, size, "%.1f", x);
        else
                snprintf(buf, size, "%.0f", x);
}

void bench_row(const char *id, const char *what, double figure, const char *unit, double baseline,
               double ratio, const char *target, const char *runs) {
        char f[64], b[64], r[64];

        fmt_num(f, sizeof f, figure);
        fmt_num(b, sizeof b, baseline);
        if (!isnan(baseline) && *unit) {
                size_t l = strlen(b);

                snprintf(b + l, sizeof b - l, " %s", unit);
        }
        if (isnan(ratio))
                snprintf(r, sizeof r, "-");
        else
                snprintf(r, sizeof r, "%.2f", ratio);
        if (*unit) {
                size_t l = strlen(f);

                snprintf(f + l, sizeof f - l, " %s", unit);
        }
        printf("%s: %s: %s (baseline %s, ratio %s; target %s; runs %s)\n", id, what, f, b, r, target, runs);
        printf("BENCH|%s|%s|%s|%s|%s|%s|%s\n", id, what, f, b, r, target, runs);
        fflush(stdout);
}

/* ---- the common mapping ---- */

const char *bench_mapped_name(size_t i) {
        static char names[BENCH_MAPPED][16];

        if (i >= BENCH_MAPPED)
                return NULL;
        if (!names[i][0])
                snprintf(names[i], sizeof names[i], "SECRET_%02zu", i);
        return names[i];
}

int bench_standard_setup(const struct bench_vault *v, const char **ret_map_path) {
        static char map_path[256];
        char map[4096] = "# generated by tests/bench: 20 names over 3 paths\n";
        static const char paths[3] = { 'a', 'b', 'c' };
        int r;

        for (size_t p = 0; p < 3; p++) {
                char data[1024] = "{", path[64];

                for (size_t i = p; i < BENCH_MAPPED; i += 3) {
                        size_t l = strlen(data);

                        snprintf(data + l, sizeof data - l, "%s\"k%02zu\":\"fake-bench-value-%02zu\"",
                                 l > 1 ? "," : "", i, i);
                        l = strlen(map);
                        snprintf(map + l, sizeof map - l, "%s = secret/bench/svc-%c#k%02zu\n", bench_mapped_name(i),
                                 paths[p], i);
                }
                strcat(data, "}");
                snprintf(path, sizeof path, "secret/bench/svc-%c", paths[p]);
                r = bench_kv2_put(v, path, data);
                if (r < 0)
                        return r;
        }
        snprintf(map_path, sizeof map_path, "%s", bench_tmpfile("bench.map"));
        r = bench_write_file(map_path, map);
        if (r < 0) {
                fprintf(stderr, "bench: %s: %s\n", map_path, strerror(-r));
                return r;
        }
        *ret_map_path = map_path;
        return 0;
}

int bench_standard_start(struct bench_vault *v, struct bench_env *shim, struct bench_env *base) {
        const char *map;

        if (bench_vault_start(v) < 0)
                return -1;
        if (bench_standard_setup(v, &map) < 0) {
                bench_vault_stop(v);
                bench_cleanup();
                return -1;
        }
        bench_env_init(shim, v, map, true);
        if (base)
                bench_env_init(base, v, map, false);
        return 0;
}

void bench_standard_stop(struct bench_vault *v, struct bench_env *shim, struct bench_env *base) {
        bench_env_done(shim);
        if (base)
                bench_env_done(base);
        bench_vault_stop(v);
        bench_cleanup();
}
