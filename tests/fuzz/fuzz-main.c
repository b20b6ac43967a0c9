/* SPDX-License-Identifier: MIT */
/* Runs a fuzz harness over files, without libFuzzer (as systemd's
 * src/fuzz/fuzz-main.c): the seed corpus becomes a regression test in every
 * build, and a crash found by a fuzzer can be replayed under gdb/valgrind. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                char *data;
                size_t len;
                int r = ve_read_file(argv[i], 16 * 1024 * 1024, &data, &len);

                if (r < 0) {
                        fprintf(stderr, "%s: cannot read (%d)\n", argv[i], r);
                        return 1;
                }
                LLVMFuzzerTestOneInput((const uint8_t *) data, len);
                free(data);
        }
        printf("%d input(s) ran\n", argc - 1);
        return 0;
}
