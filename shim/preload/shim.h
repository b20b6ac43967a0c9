/* SPDX-License-Identifier: MIT */
#pragma once

/* What the files of the preloaded object share (all hidden: shim.sym
 * exports only the interposed functions). The state here exists once per
 * process: lib/'s state is this object's, the core reaches it through
 * core.h's host table. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "envscan.h"
#include "log.h"
#include "resolve.h"
#include "settings.h"

#define EXPORT __attribute__((visibility("default")))

extern char **environ;

/* The guard: true while this thread does the shim's own work (reading the
 * mapping, loading the core, libcurl and OpenSSL reading their variables);
 * every getenv() of the thread then passes through (getenv.c: guarded()).
 * initial-exec: the shim is loaded at start-up, so the guard sits in
 * static TLS and reading it never calls into the loader. */
extern __thread bool shim_guard __attribute__((tls_model("initial-exec")));

/* Set once by shim_init() (init.c), read-only afterwards. shim_resolver is
 * NULL when only the pass-through serves (secure mode, learning mode, no
 * memory). */
extern _Atomic(struct ve_resolver *) shim_resolver;
extern struct ve_settings *shim_settings;

/* init.c: runs shim_init() once per process (pthread_once). */
void shim_init_once(void);

/* The environment value, as libc's getenv() would give it. */
static inline const char *passthrough(const char *name) {
        return ve_envscan(environ, name);
}

/* stderr.c: one line "vaultenv: PREFIXMSG" through one write(2); the log
 * callback lib/ reports through; the end of a process whose required
 * variable is missing (status 78, through _exit()). */
void shim_write_line(const char *prefix, const char *msg);
void shim_log_stderr(void *userdata, enum ve_log_level level, const char *msg);
_Noreturn void shim_required_missing(const char *name, const char *reason);

/* loader.c: the source the resolver reads through (the core, dlopen()ed on
 * the first read); the core's location taken now (a relative LD_PRELOAD
 * must be resolved before the program changes directory); the core's fork
 * handlers. */
extern const struct ve_source shim_source;
void shim_locate_core_now(void);
void shim_core_atfork_prepare(void);
void shim_core_atfork_parent(void);
void shim_core_atfork_child(void);

/* learning.c: learning mode (VAULTENV_LEARN). shim_learn_start() decides it
 * in shim_init(); shim_learning is read-only afterwards. */
extern bool shim_learning;
bool shim_learn_start(void);
void shim_learn_note(const char *name);

/* place.c: eager mode before main (called by the constructor, startup.c). */
void shim_eager_init(void);

/* generation.c: the page `vaultenv exec --on-change` shares with this
 * process (lib/base/genpage.h), taken by the constructor; NULL when there
 * is none. Read-only afterwards. */
extern const struct ve_genpage *shim_genpage;
void shim_genpage_take(void);
