/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* What kind of program an executable file is: whether the shim can be
 * preloaded into it at all, and whether it would ask getenv. `vaultenv
 * exec` says when it starts a program that cannot be served lazily. */

struct ve_exe_info {
        bool dynamic;   /* an ELF with a program interpreter (PT_INTERP): the
                         * dynamic loader runs and honours LD_PRELOAD */
        bool go;        /* a Go program (a "Go" build-id note, or a
                         * .note.go.buildid or .go.buildinfo section): it reads
                         * its initial environment block, never libc's getenv */
};

/* Inspects the ELF file open on fd (read with pread; the offset is not
 * used). ELF32 and ELF64 of either byte order; only ET_EXEC and ET_DYN are
 * programs. 0 and *ret filled; -ENOEXEC when it is not an ELF program or is
 * malformed (a script, a truncated file); -errno when reading fails. */
int ve_exe_inspect_fd(int fd, struct ve_exe_info *ret);

/* The same for a path (opened read-only). */
int ve_exe_inspect(const char *path, struct ve_exe_info *ret);

/* The file execvp() would run for file: file itself when it has a '/';
 * else the first DIR/file, for each DIR of search_path (':'-separated, an
 * empty item is the current directory; NULL: "/bin:/usr/bin", glibc's
 * default), that is a regular file this process may execute. 0 and a heap
 * string in *ret_path, -ENOENT when there is none, -ENOMEM. */
int ve_exe_lookup(const char *file, const char *search_path, char **ret_path);
