/* SPDX-License-Identifier: MIT */
/* lib/base/genpage: the page `vaultenv exec --on-change` shares with the
 * program. What one side writes the other reads; anything that is not
 * such a page (a plain file, an unsealed memfd, a wrong magic, a wrong
 * size) is refused, so a stale descriptor number is harmless. */
#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "genpage.h"

static void test_create_open(void) {
        const struct ve_genpage *seen;
        struct ve_genpage *page;
        int fd;

        CU_ASSERT_EQUAL_FATAL(ve_genpage_create(&fd, &page), 0);
        CU_ASSERT(fd > 2);
        CU_ASSERT_EQUAL(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);   /* for the child to inherit */
        CU_ASSERT_EQUAL_FATAL(ve_genpage_open(fd, &seen), 0);
        CU_ASSERT_EQUAL(atomic_load(&seen->generation), 0);
        atomic_fetch_add(&page->generation, 1);
        CU_ASSERT_EQUAL(atomic_load(&seen->generation), 1);
        /* the size is sealed */
        CU_ASSERT(ftruncate(fd, 2 * VE_GENPAGE_SIZE) < 0);
        CU_ASSERT(ftruncate(fd, 0) < 0);
        munmap((void *) seen, VE_GENPAGE_SIZE);
        munmap(page, VE_GENPAGE_SIZE);
        close(fd);
}

static void test_refused(void) {
        const struct ve_genpage *seen = NULL;
        char path[] = "/tmp/ve-genpage-XXXXXX";
        char buf[VE_GENPAGE_SIZE] = VE_GENPAGE_MAGIC;
        int fd;

        /* a plain file with the right size and magic */
        fd = mkstemp(path);
        CU_ASSERT_FATAL(fd >= 0);
        unlink(path);
        CU_ASSERT_EQUAL(write(fd, buf, sizeof buf), (ssize_t) sizeof buf);
        CU_ASSERT_EQUAL(ve_genpage_open(fd, &seen), -EBADF);
        close(fd);

        /* a memfd not sealed */
        fd = memfd_create("test", MFD_ALLOW_SEALING);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, buf, sizeof buf), (ssize_t) sizeof buf);
        CU_ASSERT_EQUAL(ve_genpage_open(fd, &seen), -EBADF);
        /* sealed, but another magic */
        CU_ASSERT_EQUAL(pwrite(fd, "x", 1, 0), 1);
        CU_ASSERT_EQUAL(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
        CU_ASSERT_EQUAL(ve_genpage_open(fd, &seen), -EBADF);
        close(fd);

        /* sealed, the magic, another size */
        fd = memfd_create("test", MFD_ALLOW_SEALING);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, buf, 64), 64);
        CU_ASSERT_EQUAL(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
        CU_ASSERT_EQUAL(ve_genpage_open(fd, &seen), -EBADF);
        close(fd);

        /* a pipe, a closed number */
        {
                int p[2];

                CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
                CU_ASSERT(ve_genpage_open(p[0], &seen) < 0);
                close(p[0]);
                close(p[1]);
                CU_ASSERT(ve_genpage_open(p[0], &seen) < 0);
        }
        CU_ASSERT_PTR_NULL(seen);       /* never written on failure */
}

static void test_fd_parse(void) {
        CU_ASSERT_EQUAL(ve_genpage_fd_parse("3"), 3);
        CU_ASSERT_EQUAL(ve_genpage_fd_parse("1023"), 1023);
        CU_ASSERT_EQUAL(ve_genpage_fd_parse(NULL), -EINVAL);
        CU_ASSERT_EQUAL(ve_genpage_fd_parse(""), -EINVAL);
        CU_ASSERT_EQUAL(ve_genpage_fd_parse("2"), -EINVAL);     /* stdio is never the page */
        CU_ASSERT_EQUAL(ve_genpage_fd_parse("-4"), -EINVAL);
        CU_ASSERT_EQUAL(ve_genpage_fd_parse("4x"), -EINVAL);
        CU_ASSERT_EQUAL(ve_genpage_fd_parse(" 4"), -EINVAL);
        CU_ASSERT_EQUAL(ve_genpage_fd_parse("99999999999999999999"), -EINVAL);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "create, open, share", test_create_open },
                { "what is not such a page is refused", test_refused },
                { "the descriptor number", test_fd_parse },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "genpage", tests };

        return unit_run(&suite, 1);
}
