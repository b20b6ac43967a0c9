/* SPDX-License-Identifier: MIT */
/* delay-proxy: a TCP proxy on loopback that makes a server look one network
 * hop away, for the benchmarks of tests/bench/.
 *
 *   delay-proxy [--port PORT] DELAY_MS UPSTREAM_PORT
 *
 * Listens on 127.0.0.1:PORT (default 0: a free port), prints the port it
 * listens on as one line on stdout, and forwards each connection to
 * 127.0.0.1:UPSTREAM_PORT. Every byte is delivered DELAY_MS after it was
 * read, in each direction (a round trip gains 2 x DELAY_MS), in order; an
 * end of stream is passed on the same way (shutdown(SHUT_WR)), so a
 * half-closed connection works as without the proxy. Connecting costs a
 * round trip as on a network: the client's first byte reaches the server
 * no earlier than 3 x DELAY_MS after the connection was accepted (SYN,
 * SYN-ACK, then the data), while loopback's connect() returns at once.
 * At most QUEUE_MAX bytes wait per direction: beyond that the proxy stops
 * reading that side (TCP's flow control does the rest), so memory is
 * bounded by what is in flight. One thread, ppoll(); stops on SIGTERM or
 * SIGINT, or when its parent dies. Loopback only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 16384
#define QUEUE_MAX (256 * 1024)

/* Data read from one side, due on the other at `due` (ns, CLOCK_MONOTONIC);
 * len 0: the end of the stream. */
struct chunk {
        struct chunk *next;
        int64_t due;
        size_t len, off;
        char data[];
};

/* One direction of a connection: read from `from`, written to `to`. */
struct dir {
        int from, to;
        struct chunk *head, *tail;
        size_t queued;          /* bytes waiting */
        bool eof_read;          /* `from` gave end of stream (or failed) */
        bool done;              /* end of stream delivered to `to` */
        int64_t start;          /* nothing is due before this (connect cost) */
};

struct conn {
        struct dir d[2];        /* [0]: client to server, [1]: server to client */
        bool dead;
};

static int64_t delay_ns;
static volatile sig_atomic_t stop;

static int64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static void set_nodelay(int fd) {
        int one = 1;

        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Queues what `from` has (or its end); false when the connection failed. */
static bool dir_read(struct dir *d, int64_t now) {
        struct chunk *c = malloc(sizeof *c + CHUNK);
        ssize_t n;
        int64_t due;

        if (!c)
                return false;
        do
                n = read(d->from, c->data, CHUNK);
        while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                free(c);
                return true;
        }
        if (n < 0) {
                free(c);
                return false;
        }
        due = (now > d->start ? now : d->start) + delay_ns;
        /* FIFO with non-decreasing due times: order is kept */
        if (d->tail && due < d->tail->due)
                due = d->tail->due;
        *c = (struct chunk) { .due = due, .len = (size_t) n };
        if (n == 0)
                d->eof_read = true;
        if (d->tail)
                d->tail->next = c;
        else
                d->head = c;
        d->tail = c;
        d->queued += (size_t) n;
        return true;
}

/* Delivers what is due; false when the connection failed. */
static bool dir_write(struct dir *d, int64_t now) {
        while (d->head && d->head->due <= now) {
                struct chunk *c = d->head;

                if (c->len == 0) {
                        (void) shutdown(d->to, SHUT_WR);
                        d->done = true;
                } else {
                        ssize_t n = send(d->to, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                                return true;
                        if (n <= 0)
                                return false;
                        c->off += (size_t) n;
                        d->queued -= (size_t) n;
                        if (c->off < c->len)
                                return true;
                }
                d->head = c->next;
                if (!d->head)
                        d->tail = NULL;
                free(c);
        }
        return true;
}

static void conn_free(struct conn *c) {
        for (int i = 0; i < 2; i++) {
                struct chunk *k = c->d[i].head;

                while (k) {
                        struct chunk *next = k->next;

                        free(k);
                        k = next;
                }
        }
        close(c->d[0].from);
        close(c->d[0].to);
        free(c);
}

static int listen_on(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

/* Connects to the upstream on loopback, where connect() completes at once;
 * the socket is made non-blocking afterwards. */
static int connect_upstream(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        set_nodelay(fd);
        return fd;
}

static struct conn *conn_new(int client, int upstream_port, int64_t now) {
        struct conn *c;
        int up = connect_upstream(upstream_port);

        if (up < 0) {
                fprintf(stderr, "delay-proxy: upstream 127.0.0.1:%d: %s\n", upstream_port, strerror(-up));
                close(client);
                return NULL;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
                close(client);
                close(up);
                return NULL;
        }
        set_nodelay(client);
        c->d[0] = (struct dir) { .from = client, .to = up, .start = now + 2 * delay_ns };
        c->d[1] = (struct dir) { .from = up, .to = client, .start = now };
        return c;
}

static int parse_int(const char *s, int min, int max) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return -1;
        return (int) v;
}

int main(int argc, char **argv) {
        struct conn **conns = NULL;
        struct pollfd *pfd = NULL;
        size_t nconn = 0, cap = 0;
        int port = 0, delay_ms, upstream, lfd, argi = 1;
        struct sigaction sa = { .sa_handler = on_signal };

        if (argc == 5 && strcmp(argv[1], "--port") == 0) {
                port = parse_int(argv[2], 0, 65535);
                argi = 3;
        }
        if (argc - argi != 2 || port < 0 || (delay_ms = parse_int(argv[argi], 0, 60000)) < 0 ||
            (upstream = parse_int(argv[argi + 1], 1, 65535)) < 0) {
                fprintf(stderr, "usage: delay-proxy [--port PORT] DELAY_MS UPSTREAM_PORT\n");
                return 2;
        }
        delay_ns = (int64_t) delay_ms * 1000000;
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        lfd = listen_on(port);
        if (lfd < 0) {
                fprintf(stderr, "delay-proxy: 127.0.0.1:%d: %s\n", port, strerror(-lfd));
                return 1;
        }
        {
                struct sockaddr_in sa_in;
                socklen_t l = sizeof sa_in;

                if (getsockname(lfd, (struct sockaddr *) &sa_in, &l) < 0) {
                        perror("delay-proxy: getsockname");
                        return 1;
                }
                printf("%d\n", ntohs(sa_in.sin_port));
                fflush(stdout);
        }

        while (!stop) {
                int64_t now = now_ns(), next = -1;
                size_t n = 0;
                struct timespec ts, *tsp = NULL;

                if (cap < 1 + 2 * nconn) {
                        struct pollfd *np = realloc(pfd, (1 + 2 * nconn) * 2 * sizeof *pfd);

                        if (!np) {
                                perror("delay-proxy");
                                return 1;
                        }
                        pfd = np;
                        cap = (1 + 2 * nconn) * 2;
                }
                pfd[n++] = (struct pollfd) { .fd = lfd, .events = POLLIN };
                /* two entries per connection: its client and upstream fds;
                 * entry 2i+1+k is the fd that d[k] reads from */
                for (size_t i = 0; i < nconn; i++)
                        for (int k = 0; k < 2; k++) {
                                struct dir *d = &conns[i]->d[k], *o = &conns[i]->d[1 - k];
                                short ev = 0;

                                if (!d->eof_read && d->queued < QUEUE_MAX)
                                        ev |= POLLIN;
                                /* d->from is o->to: writable when o has due data */
                                if (o->head && o->head->due <= now)
                                        ev |= POLLOUT;
                                if (o->head && o->head->due > now && (next < 0 || o->head->due < next))
                                        next = o->head->due;
                                /* nothing asked: not watched, or a hung-up
                                 * socket would wake ppoll() at once */
                                pfd[n++] = (struct pollfd) { .fd = ev ? d->from : -1, .events = ev };
                        }
                if (next >= 0) {
                        int64_t wait = next - now;

                        ts = (struct timespec) { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
                        tsp = &ts;
                }
                if (ppoll(pfd, n, tsp, NULL) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("delay-proxy: ppoll");
                        return 1;
                }
                now = now_ns();
                for (size_t i = 0; i < nconn; i++) {
                        struct conn *c = conns[i];

                        for (int k = 0; k < 2 && !c->dead; k++) {
                                short re = pfd[1 + 2 * i + (size_t) k].revents;

                                if ((re & (POLLIN | POLLHUP | POLLERR)) && !c->d[k].eof_read &&
                                    c->d[k].queued < QUEUE_MAX && !dir_read(&c->d[k], now))
                                        c->dead = true;
                        }
                        for (int k = 0; k < 2 && !c->dead; k++)
                                if (!dir_write(&c->d[k], now))
                                        c->dead = true;
                }
                /* the finished and the failed go; the order of the rest
                 * does not matter */
                for (size_t i = 0; i < nconn;) {
                        struct conn *c = conns[i];

                        if (c->dead || (c->d[0].done && c->d[1].done)) {
                                conn_free(c);
                                conns[i] = conns[--nconn];
                        } else
                                i++;
                }
                if (pfd[0].revents & POLLIN)
                        for (;;) {
                                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                                struct conn *c;

                                if (fd < 0)
                                        break;
                                c = conn_new(fd, upstream, now);
                                if (!c)
                                        continue;
                                {
                                        struct conn **nc = realloc(conns, (nconn + 1) * sizeof *conns);

                                        if (!nc) {
                                                conn_free(c);
                                                continue;
                                        }
                                        conns = nc;
                                }
                                conns[nconn++] = c;
                        }
        }
        for (size_t i = 0; i < nconn; i++)
                conn_free(conns[i]);
        free(conns);
        free(pfd);
        close(lfd);
        return 0;
}
