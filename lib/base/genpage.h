/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

/* The generation page: one page of memory that `vaultenv exec --on-change`
 * shares with the program it supervises. The supervisor bumps generation
 * (release) when a mapped secret changed in Vault; the shim in the program
 * follows it (ve_resolver_follow_generation()). It is passed as a sealed
 * memfd (size fixed, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) whose number
 * is in VE_GENPAGE_ENV, both inherited across exec (wrappers pass them
 * on); the receiver checks the seals, the size and the magic before it
 * maps it, so a stale number that now names another file is refused. */

#define VE_GENPAGE_ENV "VAULTENV_GENERATION_FD"
#define VE_GENPAGE_MAGIC "vaultenv-gen-v1"     /* 15 bytes and the NUL */
#define VE_GENPAGE_SIZE 4096

struct ve_genpage {
        char magic[16];
        _Atomic(uint64_t) generation;
};

/* A new page (generation 0), mapped read-write, and its memfd (without
 * FD_CLOEXEC: for the child to inherit; the caller closes it in itself
 * once the child has it). 0 or -errno. */
int ve_genpage_create(int *ret_fd, struct ve_genpage **ret_page);

/* Maps the page of memfd fd read-only after checking it. Does not close
 * fd. 0, -EBADF (not such a page), or -errno. */
int ve_genpage_open(int fd, const struct ve_genpage **ret_page);

/* The number of the page's fd in value (VE_GENPAGE_ENV's), or -EINVAL. */
int ve_genpage_fd_parse(const char *value);
