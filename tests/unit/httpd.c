/* SPDX-License-Identifier: MIT */
/* The unit tests' scripted HTTP server (httpd.h): the sockets, the threads,
 * reading requests and sending the answers httpd.h says it picks. Tokens
 * and bodies here are the tests' fakes, and are wiped once answered all
 * the same. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "httpd.h"

/* The largest request (head and body) a connection takes; beyond, it is
 * closed. */
#define REQUEST_MAX 16384

struct httpd_conn {
        struct httpd *s;
        int fd;
        pthread_t thread;
        bool done;              /* under s->lock: the thread is about to return */
        struct httpd_conn *next;
};

/* One request as read: what a handler gets, and what seen[] records. */
struct request {
        char method[16];
        char target[256];
        char token[512];
        bool has_token;
        char *body;             /* heap, NUL-terminated */
        size_t body_len;
        struct httpd_seen seen;
};

static bool send_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

/* The value of header name in head (the request line and headers,
 * NUL-terminated) into out; false (out "") without one. */
static bool header_value(const char *head, const char *name, char *out, size_t outsz) {
        const char *p = head;
        size_t nl = strlen(name);

        out[0] = 0;
        while ((p = strstr(p, "\r\n"))) {
                p += 2;
                if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
                        const char *v = p + nl + 1, *e;

                        while (*v == ' ')
                                v++;
                        e = strstr(v, "\r\n");
                        if (!e)
                                e = v + strlen(v);      /* the last header */
                        snprintf(out, outsz, "%.*s", (int) (e - v), v);
                        return true;
                }
        }
        return false;
}

static bool send_json(int fd, int status, const char *body) {
        char head[256];

        snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nCache-Control: no-store\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n", status, strlen(body));
        return send_all(fd, head, strlen(head)) && send_all(fd, body, strlen(body));
}

static void send_big(int fd, size_t size, bool chunked) {
        static char block[65536];
        char head[256];

        memset(block, ' ', sizeof block);
        block[0] = '{';
        if (chunked)
                snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n");
        else
                snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n", size);
        if (!send_all(fd, head, strlen(head)))
                return;
        for (size_t sent = 0; sent < size;) {
                size_t n = size - sent < sizeof block ? size - sent : sizeof block;
                char ch[32];

                if (chunked) {
                        snprintf(ch, sizeof ch, "%zx\r\n", n);
                        if (!send_all(fd, ch, strlen(ch)))
                                return;
                }
                if (!send_all(fd, block, n))
                        return;
                if (chunked && !send_all(fd, "\r\n", 2))
                        return;
                sent += n;
        }
        if (chunked)
                send_all(fd, "0\r\n\r\n", 5);
}

/* ---- reading a request ---- */

/* Whether buf (have bytes, room for one more) holds a whole request: the
 * length of its head (through the blank line) and of its body. */
static bool request_complete(char *buf, size_t have, size_t *ret_head_len, size_t *ret_body_len) {
        char *end, cl[32];
        size_t head_len, body_len;

        end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
        if (!end)
                return false;
        *end = 0;
        header_value(buf, "Content-Length", cl, sizeof cl);
        *end = '\r';
        head_len = (size_t) (end + 4 - buf);
        body_len = (size_t) strtoul(cl, NULL, 10);
        if (head_len + body_len > have)
                return false;   /* the body is not all here yet */
        *ret_head_len = head_len;
        *ret_body_len = body_len;
        return true;
}

/* Waits a moment for more of a request: 1 it came, 0 not yet (so that the
 * caller sees stop), -1 the connection is to end (closed, a request too
 * large, or a TLS ClientHello: counted and answered in plain HTTP). */
static int receive_more(struct httpd *s, int fd, char *buf, size_t *have) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t k;

        if (poll(&pfd, 1, 50) <= 0)
                return 0;
        k = recv(fd, buf + *have, REQUEST_MAX - 1 - *have, 0);
        if (k <= 0)
                return -1;
        if (*have == 0 && buf[0] == 0x16) {
                pthread_mutex_lock(&s->lock);
                s->n_tls_hellos++;
                pthread_mutex_unlock(&s->lock);
                send_all(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
                return -1;
        }
        *have += (size_t) k;
        return *have >= REQUEST_MAX - 1 ? -1 : 1;
}

/* The request at buf (head_len + body_len bytes) into *req; false when
 * out of memory. */
static bool request_parse(const struct httpd *s, char *buf, size_t head_len, size_t body_len, struct request *req) {
        struct httpd_seen *sn = &req->seen;
        char hdr[128];

        buf[head_len - 4] = 0;  /* the head alone */
        sscanf(buf, "%15s %255s", req->method, req->target);
        snprintf(sn->method, sizeof sn->method, "%s", req->method);
        snprintf(sn->target, sizeof sn->target, "%s", req->target);
        req->has_token = header_value(buf, "X-Vault-Token", req->token, sizeof req->token);
        sn->token_header = req->has_token;
        sn->token_fake = s->fake_token && req->has_token && strcmp(req->token, s->fake_token) == 0;
        sn->token_file = s->file_token && req->has_token && strcmp(req->token, s->file_token) == 0;
        header_value(buf, "X-Vault-Request", hdr, sizeof hdr);
        sn->request_header = strcmp(hdr, "true") == 0;
        header_value(buf, "X-Vault-Namespace", sn->ns, sizeof sn->ns);
        header_value(buf, "Host", sn->host, sizeof sn->host);
        buf[head_len - 4] = '\r';

        req->body = malloc(body_len + 1);
        if (!req->body)
                return false;
        memcpy(req->body, buf + head_len, body_len);
        req->body[body_len] = 0;
        req->body_len = body_len;
        sn->body_fake = s->fake_body && body_len == strlen(s->fake_body) &&
                        memcmp(req->body, s->fake_body, body_len) == 0;
        return true;
}

static void request_done(struct request *req) {
        if (req->body)
                explicit_bzero(req->body, req->body_len);
        free(req->body);
        explicit_bzero(req, sizeof *req);
}

/* ---- answering it ---- */

/* The route for target (the last one added wins), under s->lock. */
static const struct httpd_route *route_find(const struct httpd *s, const char *target) {
        const struct httpd_route *found = NULL;

        for (size_t i = 0; i < s->n_routes; i++)
                if (strcmp(s->routes[i].target, target) == 0)
                        found = &s->routes[i];
        return found;
}

static bool answer_by_handler(struct httpd *s, int fd, const struct request *req) {
        struct httpd_request hr = {
                .method = req->method,
                .target = req->target,
                .token = req->has_token ? req->token : NULL,
                .body = req->body,
                .body_len = req->body_len,
        };
        int status = 200;
        char *out;
        bool ok;

        out = s->handler(&hr, &status, s->userdata);
        if (!out)
                return false;
        ok = send_json(fd, status, out);
        free(out);
        return ok;
}

static bool answer_step(int fd, const struct httpd_step *step) {
        switch (step->kind) {
        case HTTPD_DROP:
                return false;
        case HTTPD_BIG:
        case HTTPD_BIG_CHUNKED:
                send_big(fd, step->size, step->kind == HTTPD_BIG_CHUNKED);
                return true;
        case HTTPD_RAW:
        default:
                return send_all(fd, step->raw, strlen(step->raw));
        }
}

/* The route's answer is copied under the lock after its delay: the test
 * may have reset the routes meanwhile (and a forked child must not find a
 * copy in flight). Without a route, the fallback answer. */
static bool answer_route(struct httpd *s, int fd, const char *target) {
        const struct httpd_route *r;
        char *body = NULL;
        int status;
        bool ok;

        pthread_mutex_lock(&s->lock);
        r = route_find(s, target);
        if (r) {
                status = r->status;
                body = strdup(r->body);
        } else {
                status = s->fallback_status ? s->fallback_status : 200;
                body = strdup(s->fallback_body ? s->fallback_body : "{\"data\":{}}");
        }
        pthread_mutex_unlock(&s->lock);
        if (!body)
                return false;
        ok = send_json(fd, status, body);
        free(body);
        return ok;
}

/* Records req and answers it as httpd.h says: false when the connection
 * is to end. */
static bool answer(struct httpd *s, int fd, const struct request *req) {
        struct httpd_step step = { .kind = HTTPD_RAW };
        enum { BY_HANDLER, BY_STEP, BY_ROUTE } by;
        int delay_ms = 0;

        pthread_mutex_lock(&s->lock);
        if (s->n_seen < HTTPD_MAX_SEEN)
                s->seen[s->n_seen++] = req->seen;
        if (s->handler)
                by = BY_HANDLER;
        else if (s->next_step < s->n_steps) {
                by = BY_STEP;
                step = s->steps[s->next_step++];
                delay_ms = step.delay_ms;
        } else {
                const struct httpd_route *r = route_find(s, req->target);

                by = BY_ROUTE;
                delay_ms = r ? r->delay_ms : 0;
        }
        pthread_mutex_unlock(&s->lock);

        if (delay_ms)
                usleep((useconds_t) delay_ms * 1000);
        switch (by) {
        case BY_HANDLER:
                return answer_by_handler(s, fd, req);
        case BY_STEP:
                return answer_step(fd, &step);
        case BY_ROUTE:
        default:
                return answer_route(s, fd, req->target);
        }
}

/* ---- the threads ---- */

static void *conn_thread(void *arg) {
        struct httpd_conn *c = arg;
        struct httpd *s = c->s;
        char *buf = malloc(REQUEST_MAX);
        size_t have = 0;

        while (buf && !atomic_load(&s->stop)) {
                size_t head_len, body_len, used;
                struct request req = {};
                bool ok;

                if (!request_complete(buf, have, &head_len, &body_len)) {
                        if (receive_more(s, c->fd, buf, &have) < 0)
                                break;
                        continue;
                }
                ok = request_parse(s, buf, head_len, body_len, &req) && answer(s, c->fd, &req);
                request_done(&req);
                used = head_len + body_len;
                memmove(buf, buf + used, have - used);
                explicit_bzero(buf + have - used, used);
                have -= used;
                if (!ok)
                        break;
        }
        close(c->fd);
        if (buf)
                explicit_bzero(buf, REQUEST_MAX);
        free(buf);
        pthread_mutex_lock(&s->lock);
        c->done = true;
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

/* Joins and frees the connections of list. */
static void conns_join(struct httpd_conn *list) {
        while (list) {
                struct httpd_conn *c = list;

                list = c->next;
                pthread_join(c->thread, NULL);
                free(c);
        }
}

/* Takes the connections whose thread ended (every one when all) off
 * s->conns, under s->lock, for conns_join(). */
static struct httpd_conn *conns_take_ended(struct httpd *s, bool all) {
        struct httpd_conn *ended = NULL, **pp = &s->conns;

        while (*pp) {
                struct httpd_conn *c = *pp;

                if (all || c->done) {
                        *pp = c->next;
                        c->next = ended;
                        ended = c;
                } else
                        pp = &c->next;
        }
        return ended;
}

/* Takes the lock only when a connection comes (a forked child of the test
 * may take it too, so it is held as little as may be). */
static void *acceptor_thread(void *arg) {
        struct httpd *s = arg;

        while (!atomic_load(&s->stop)) {
                struct pollfd pfd = { .fd = s->lfd, .events = POLLIN };
                struct httpd_conn *c, *ended;
                int fd;

                if (poll(&pfd, 1, 50) <= 0)
                        continue;
                fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                c = calloc(1, sizeof *c);
                if (!c) {
                        close(fd);
                        continue;
                }
                *c = (struct httpd_conn) { .s = s, .fd = fd };
                pthread_mutex_lock(&s->lock);
                ended = conns_take_ended(s, false);
                if (pthread_create(&c->thread, NULL, conn_thread, c) == 0) {
                        c->next = s->conns;
                        s->conns = c;
                        s->n_conns++;
                } else {
                        close(fd);
                        free(c);
                }
                pthread_mutex_unlock(&s->lock);
                conns_join(ended);
        }
        return NULL;
}

/* ---- the test's side ---- */

static int listen_on(struct httpd *s) {
        if (s->sock_path[0]) {
                struct sockaddr_un a = { .sun_family = AF_UNIX };

                snprintf(a.sun_path, sizeof a.sun_path, "%s", s->sock_path);
                s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *) &a, sizeof a) < 0 || listen(s->lfd, 64) < 0)
                        return -1;
        } else {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                socklen_t al = sizeof a;

                s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *) &a, sizeof a) < 0 || listen(s->lfd, 64) < 0 ||
                    getsockname(s->lfd, (struct sockaddr *) &a, &al) < 0)
                        return -1;
                s->port = ntohs(a.sin_port);
        }
        return 0;
}

int httpd_start(struct httpd *s) {
        if (pthread_mutex_init(&s->lock, NULL) != 0)
                return -1;
        atomic_init(&s->stop, false);
        s->lfd = -1;
        if (listen_on(s) < 0 || pthread_create(&s->acceptor, NULL, acceptor_thread, s) != 0) {
                if (s->lfd >= 0)
                        close(s->lfd);
                pthread_mutex_destroy(&s->lock);
                return -1;
        }
        return 0;
}

void httpd_stop(struct httpd *s) {
        struct httpd_conn *all;

        atomic_store(&s->stop, true);
        pthread_join(s->acceptor, NULL);
        pthread_mutex_lock(&s->lock);
        all = conns_take_ended(s, true);
        pthread_mutex_unlock(&s->lock);
        conns_join(all);
        close(s->lfd);
        if (s->sock_path[0])
                unlink(s->sock_path);
        httpd_reset(s);
        pthread_mutex_destroy(&s->lock);
}

void httpd_reset(struct httpd *s) {
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_routes; i++)
                free(s->routes[i].body);
        s->n_routes = 0;
        s->n_steps = s->next_step = 0;
        s->n_seen = 0;
        s->n_tls_hellos = 0;
        pthread_mutex_unlock(&s->lock);
}

size_t httpd_n_seen(struct httpd *s) {
        size_t n;

        pthread_mutex_lock(&s->lock);
        n = s->n_seen;
        pthread_mutex_unlock(&s->lock);
        return n;
}

size_t httpd_n_conns(struct httpd *s) {
        size_t n;

        pthread_mutex_lock(&s->lock);
        n = s->n_conns;
        pthread_mutex_unlock(&s->lock);
        return n;
}

struct httpd_step *httpd_step_add(struct httpd *s, enum httpd_step_kind kind) {
        struct httpd_step *st;

        pthread_mutex_lock(&s->lock);
        CU_ASSERT_FATAL(s->n_steps < HTTPD_MAX_STEPS);
        st = &s->steps[s->n_steps++];
        *st = (struct httpd_step) { .kind = kind };
        pthread_mutex_unlock(&s->lock);
        return st;
}

void httpd_step_status(struct httpd *s, int status, const char *headers, const char *body) {
        struct httpd_step *st = httpd_step_add(s, HTTPD_RAW);

        snprintf(st->raw, sizeof st->raw,
                 "HTTP/1.1 %d X\r\nCache-Control: no-store\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n%s\r\n%s", status, strlen(body), headers ? headers : "", body);
}

void httpd_route_add(struct httpd *s, const char *target, int status, char *body) {
        struct httpd_route *r;

        pthread_mutex_lock(&s->lock);
        CU_ASSERT_FATAL(s->n_routes < HTTPD_MAX_ROUTES);
        r = &s->routes[s->n_routes++];
        *r = (struct httpd_route) { .status = status, .body = body ? body : strdup("") };
        snprintf(r->target, sizeof r->target, "%s", target);
        pthread_mutex_unlock(&s->lock);
}
