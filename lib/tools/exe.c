/* SPDX-License-Identifier: MIT */
#include "exe.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Bounds on what is read: real programs are far below them, and a
 * malformed header cannot make us allocate or read much. */
#define MAX_HEADERS 4096
#define MAX_NOTES (64 * 1024)
#define MAX_STRTAB (1024 * 1024)

struct elf {
        int fd;
        bool is64, big;
};

static uint64_t get(const unsigned char *p, size_t n, bool big) {
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v |= (uint64_t) p[big ? i : n - 1 - i] << (8 * (n - 1 - i));
        return v;
}

/* A field of n bytes at off (32-bit layout) or off64 (64-bit layout). */
static uint64_t field(const struct elf *e, const unsigned char *p, size_t off32, size_t off64, size_t n32, size_t n64) {
        return e->is64 ? get(p + off64, n64, e->big) : get(p + off32, n32, e->big);
}

/* Reads exactly len bytes at off: 0, -ENOEXEC when the file is shorter,
 * -errno. */
static int read_at(int fd, void *buf, size_t len, uint64_t off) {
        size_t done = 0;

        if (off > (uint64_t) INT64_MAX - len)
                return -ENOEXEC;
        while (done < len) {
                ssize_t n = pread(fd, (char *) buf + done, len - done, (off_t) (off + done));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ENOEXEC;
                done += (size_t) n;
        }
        return 0;
}

/* Reads a table of count entries of size entsize (at least min) at off into
 * a fresh buffer. */
static int read_table(int fd, uint64_t off, uint64_t count, uint64_t entsize, size_t min, unsigned char **ret) {
        unsigned char *buf;
        int k;

        if (entsize < min || count > MAX_HEADERS || entsize > 1024)
                return -ENOEXEC;
        buf = malloc(count * entsize + 1);
        if (!buf)
                return -ENOMEM;
        if ((k = read_at(fd, buf, count * entsize, off)) < 0) {
                free(buf);
                return k;
        }
        *ret = buf;
        return 0;
}

/* Whether the notes in buf[0..len) hold Go's build ID (owner "Go",
 * type 4, as the Go linker writes it). */
static bool notes_have_go(const struct elf *e, const unsigned char *buf, size_t len) {
        size_t at = 0;

        while (len - at >= 12) {
                uint64_t namesz = get(buf + at, 4, e->big), descsz = get(buf + at + 4, 4, e->big);
                uint64_t type = get(buf + at + 8, 4, e->big);
                uint64_t name_room = (namesz + 3) & ~(uint64_t) 3, desc_room = (descsz + 3) & ~(uint64_t) 3;
                const unsigned char *name = buf + at + 12;

                if (name_room > len - at - 12 || desc_room > len - at - 12 - name_room)
                        return false;
                if (type == 4 && namesz >= 2 && memcmp(name, "Go", 2) == 0 &&
                    (namesz == 2 || (namesz <= 4 && name[2] == 0)))
                        return true;
                at += 12 + name_room + desc_room;
        }
        return false;
}

static int scan_segments(const struct elf *e, const unsigned char *eh, struct ve_exe_info *info) {
        uint64_t phoff = field(e, eh, 28, 32, 4, 8), phentsize = field(e, eh, 42, 54, 2, 2);
        uint64_t phnum = field(e, eh, 44, 56, 2, 2);
        unsigned char *ph;
        int k;

        if (phnum == 0)
                return -ENOEXEC;        /* nothing to load: not a program */
        if ((k = read_table(e->fd, phoff, phnum, phentsize, e->is64 ? 56 : 32, &ph)) < 0)
                return k;
        for (uint64_t i = 0; i < phnum && k >= 0; i++) {
                const unsigned char *p = ph + i * phentsize;
                uint64_t type = get(p, 4, e->big);
                uint64_t off = field(e, p, 4, 8, 4, 8), size = field(e, p, 16, 32, 4, 8);
                unsigned char *notes;

                if (type == PT_INTERP)
                        info->dynamic = true;
                if (type != PT_NOTE || info->go || size > MAX_NOTES || size == 0)
                        continue;
                notes = malloc(size);
                if (!notes) {
                        k = -ENOMEM;
                        break;
                }
                /* a note segment beyond the end of the file is ignored */
                if (read_at(e->fd, notes, size, off) == 0 && notes_have_go(e, notes, size))
                        info->go = true;
                free(notes);
        }
        free(ph);
        return k < 0 ? k : 0;
}

static bool section_name_is(const unsigned char *strtab, uint64_t len, uint64_t at, const char *name) {
        size_t n = strlen(name);

        return at < len && len - at > n && memcmp(strtab + at, name, n + 1) == 0;
}

/* Looks for Go's sections by name; a missing or odd section table is not
 * an error (the program headers are what runs). */
static int scan_sections(const struct elf *e, const unsigned char *eh, struct ve_exe_info *info) {
        uint64_t shoff = field(e, eh, 32, 40, 4, 8), shentsize = field(e, eh, 46, 58, 2, 2);
        uint64_t shnum = field(e, eh, 48, 60, 2, 2), shstrndx = field(e, eh, 50, 62, 2, 2);
        unsigned char *sh = NULL, *strtab = NULL;
        uint64_t str_off, str_len;
        int k;

        if (shoff == 0 || shnum == 0 || shstrndx >= shnum)
                return 0;
        k = read_table(e->fd, shoff, shnum, shentsize, e->is64 ? 64 : 40, &sh);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return 0;
        str_off = field(e, sh + shstrndx * shentsize, 16, 24, 4, 8);
        str_len = field(e, sh + shstrndx * shentsize, 20, 32, 4, 8);
        if (str_len == 0 || str_len > MAX_STRTAB)
                goto out;
        strtab = malloc(str_len);
        if (!strtab) {
                k = -ENOMEM;
                goto out;
        }
        if (read_at(e->fd, strtab, str_len, str_off) < 0)
                goto out;
        for (uint64_t i = 0; i < shnum; i++) {
                uint64_t name = get(sh + i * shentsize, 4, e->big);

                if (section_name_is(strtab, str_len, name, ".note.go.buildid") ||
                    section_name_is(strtab, str_len, name, ".go.buildinfo")) {
                        info->go = true;
                        break;
                }
        }
out:
        free(strtab);
        free(sh);
        return k == -ENOMEM ? k : 0;
}

int ve_exe_inspect_fd(int fd, struct ve_exe_info *ret) {
        unsigned char eh[64];
        struct ve_exe_info info = {};
        struct elf e = { .fd = fd };
        uint64_t type;
        int k;

        if ((k = read_at(fd, eh, 52, 0)) < 0)   /* the smaller, ELF32, header */
                return k;
        if (memcmp(eh, ELFMAG, SELFMAG) != 0 || eh[EI_VERSION] != EV_CURRENT)
                return -ENOEXEC;
        if (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64)
                return -ENOEXEC;
        if (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB)
                return -ENOEXEC;
        e.is64 = eh[EI_CLASS] == ELFCLASS64;
        e.big = eh[EI_DATA] == ELFDATA2MSB;
        if (e.is64 && (k = read_at(fd, eh, 64, 0)) < 0)
                return k;
        type = get(eh + 16, 2, e.big);
        if (type != ET_EXEC && type != ET_DYN)
                return -ENOEXEC;
        if ((k = scan_segments(&e, eh, &info)) < 0)
                return k;
        if (!info.go && (k = scan_sections(&e, eh, &info)) < 0)
                return k;
        *ret = info;
        return 0;
}

int ve_exe_inspect(const char *path, struct ve_exe_info *ret) {
        int fd, k;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        k = ve_exe_inspect_fd(fd, ret);
        close(fd);
        return k;
}

static bool executable_file(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int ve_exe_lookup(const char *file, const char *search_path, char **ret_path) {
        const char *p;
        char *path;

        if (!file || !*file)
                return -ENOENT;
        if (strchr(file, '/')) {
                path = strdup(file);
                if (!path)
                        return -ENOMEM;
                *ret_path = path;
                return 0;
        }
        p = search_path ? search_path : "/bin:/usr/bin";
        for (;;) {
                const char *end = strchrnul(p, ':');
                int len = (int) (end - p);

                path = len > 0 ? ve_asprintf("%.*s/%s", len, p, file) : strdup(file);
                if (!path)
                        return -ENOMEM;
                if (executable_file(path)) {
                        *ret_path = path;
                        return 0;
                }
                free(path);
                if (!*end)
                        return -ENOENT;
                p = end + 1;
        }
}
