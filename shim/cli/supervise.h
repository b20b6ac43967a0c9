/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#include "mapfile.h"

/* vaultenv exec --on-change (supervise.c). */
struct cli_on_change {
        int signal;             /* sent to the program on a change; 0: restart it */
        uint64_t interval_ms;   /* --watch-interval */
        uint64_t splay_ms;      /* --splay: a random delay before acting, at most this */
        uint64_t grace_ms;      /* --grace: SIGTERM to SIGKILL when restarting */
};

/* Runs argv (the environment, LD_PRELOAD included, already set up) as a
 * child and supervises it, watching map's paths. Returns only when it
 * could not start (an exit status, after printing why); otherwise exits
 * with the program's status, 128+N after signal N. map outlives it. */
int cli_supervise(char **argv, const struct ve_map *map, const struct cli_on_change *opt);
