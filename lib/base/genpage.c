/* SPDX-License-Identifier: MIT */
/* The generation page (genpage.h): created by the supervisor, opened by the
 * shim in the supervised program. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "genpage.h"

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

_Static_assert(sizeof VE_GENPAGE_MAGIC == 16, "the magic fills its field");

int ve_genpage_create(int *ret_fd, struct ve_genpage **ret_page) {
        struct ve_genpage *page;
        int fd, r;

        fd = memfd_create("vaultenv-generation", MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, VE_GENPAGE_SIZE) < 0)
                goto fail;
        page = mmap(NULL, VE_GENPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (page == MAP_FAILED)
                goto fail;
        memcpy(page->magic, VE_GENPAGE_MAGIC, sizeof page->magic);
        atomic_store_explicit(&page->generation, 0, memory_order_release);
        if (fcntl(fd, F_ADD_SEALS, SEALS) < 0) {
                r = -errno;
                munmap(page, VE_GENPAGE_SIZE);
                close(fd);
                return r;
        }
        *ret_fd = fd;
        *ret_page = page;
        return 0;
fail:
        r = -errno;
        close(fd);
        return r;
}

int ve_genpage_open(int fd, const struct ve_genpage **ret_page) {
        const struct ve_genpage *page;
        struct stat st;
        int seals;

        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0)
                return errno == EINVAL ? -EBADF : -errno;       /* EINVAL: not a memfd */
        if ((seals & SEALS) != SEALS || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size != VE_GENPAGE_SIZE)
                return -EBADF;
        page = mmap(NULL, VE_GENPAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
        if (page == MAP_FAILED)
                return -errno;
        if (memcmp(page->magic, VE_GENPAGE_MAGIC, sizeof page->magic) != 0) {
                munmap((void *) page, VE_GENPAGE_SIZE);
                return -EBADF;
        }
        *ret_page = page;
        return 0;
}

int ve_genpage_fd_parse(const char *value) {
        long n = 0;

        if (!value || !*value)
                return -EINVAL;
        for (const char *c = value; *c; c++) {
                if (*c < '0' || *c > '9' || n > INT_MAX / 10)
                        return -EINVAL;
                n = n * 10 + (*c - '0');
        }
        return n <= INT_MAX && n > 2 ? (int) n : -EINVAL;
}
