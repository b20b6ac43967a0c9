/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exe.h"

/* libFuzzer entry point for the ELF inspection of `vaultenv exec` (as
 * fuzz-mapfile.c):
 *
 *     ninja -C build-fuzz tests/fuzz/fuzz-exe
 *     build-fuzz/tests/fuzz/fuzz-exe -max_total_time=600 CORPUS_DIR tests/fuzz/corpus/exe
 *
 * The input is the file, read through a memfd as exec reads a program.
 * Aborts when a promise of exe.h breaks: the answer is 0 (info written) or
 * -ENOEXEC, or -ENOMEM; a read of a memfd never fails otherwise. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int fd = -1;
        struct ve_exe_info info = { .dynamic = true, .go = true };
        int k;

        if (fd < 0 && (fd = memfd_create("fuzz-exe", MFD_CLOEXEC)) < 0)
                return 0;
        if (ftruncate(fd, 0) < 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t) size))
                return 0;
        k = ve_exe_inspect_fd(fd, &info);
        if (k != 0 && k != -ENOEXEC && k != -ENOMEM)
                abort();
        /* not written on failure */
        if (k != 0 && !(info.dynamic && info.go))
                abort();
        return 0;
}
