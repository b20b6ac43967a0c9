/* SPDX-License-Identifier: MIT */
/* lib/tools/exe.c: ELF programs built at test time (VE_EXE_FIXTURES: a plain C
 * program, dynamic and static, with Go's marks or without), copies of them
 * with parts cut or changed, and files made here. */
#include "unit.h"
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exe.h"
#include "util.h"

static char tmp[] = "/tmp/vaultenv-test-exe.XXXXXX";

static char *fixture(const char *name) {
        const char *dir = getenv("VE_EXE_FIXTURES");

        return ve_asprintf("%s/%s", dir ? dir : ".", name);
}

/* The fixture's bytes (at most 16 MiB); NULL on failure. */
static unsigned char *slurp(const char *name, size_t *ret_len) {
        char *path = fixture(name), *data = NULL;
        size_t len = 0;

        if (ve_read_file(path, 16 << 20, &data, &len) < 0)
                data = NULL;
        free(path);
        *ret_len = len;
        return (unsigned char *) data;
}

/* Writes len bytes to tmp/name with mode; returns the path (heap). */
static char *put(const char *name, const void *data, size_t len, mode_t mode) {
        char *path = ve_asprintf("%s/%s", tmp, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_FATAL(write(fd, data, len) == (ssize_t) len);
        close(fd);
        CU_ASSERT_FATAL(chmod(path, mode) == 0);
        return path;
}

static int inspect_fixture(const char *name, struct ve_exe_info *info) {
        char *path = fixture(name);
        int k = ve_exe_inspect(path, info);

        free(path);
        return k;
}

static int inspect_bytes(const void *data, size_t len, struct ve_exe_info *info) {
        char *path = put("bytes", data, len, 0644);
        int k = ve_exe_inspect(path, info);

        free(path);
        return k;
}

static void test_fixtures(void) {
        struct ve_exe_info info;

        CU_ASSERT_EQUAL_FATAL(inspect_fixture("exe-dynamic", &info), 0);
        CU_ASSERT_TRUE(info.dynamic);
        CU_ASSERT_FALSE(info.go);
        CU_ASSERT_EQUAL_FATAL(inspect_fixture("exe-static", &info), 0);
        CU_ASSERT_FALSE(info.dynamic);
        CU_ASSERT_FALSE(info.go);
        CU_ASSERT_EQUAL_FATAL(inspect_fixture("exe-gonote", &info), 0);
        CU_ASSERT_TRUE(info.dynamic);
        CU_ASSERT_TRUE(info.go);
        CU_ASSERT_EQUAL_FATAL(inspect_fixture("exe-gobuildinfo", &info), 0);
        CU_ASSERT_FALSE(info.dynamic);
        CU_ASSERT_TRUE(info.go);
        CU_ASSERT_EQUAL(inspect_fixture("no-such-file", &info), -ENOENT);
}

/* A copy of fixture with its section table dropped from the header:
 * only the program headers are left to tell. */
static int inspect_without_sections(const char *name, struct ve_exe_info *info) {
        size_t len;
        unsigned char *elf = slurp(name, &len);
        Elf64_Ehdr eh;
        int k;

        CU_ASSERT_FATAL(elf && len > sizeof eh && elf[EI_CLASS] == ELFCLASS64);
        memcpy(&eh, elf, sizeof eh);
        eh.e_shoff = 0;
        eh.e_shnum = 0;
        eh.e_shstrndx = 0;
        memcpy(elf, &eh, sizeof eh);
        k = inspect_bytes(elf, len, info);
        free(elf);
        return k;
}

static void test_notes_and_sections(void) {
        struct ve_exe_info info;

        /* the note is in a PT_NOTE segment: found without the sections */
        CU_ASSERT_EQUAL_FATAL(inspect_without_sections("exe-gonote", &info), 0);
        CU_ASSERT_TRUE(info.go);
        CU_ASSERT_TRUE(info.dynamic);
        /* .go.buildinfo is only a section: its name was the mark */
        CU_ASSERT_EQUAL_FATAL(inspect_without_sections("exe-gobuildinfo", &info), 0);
        CU_ASSERT_FALSE(info.go);
        CU_ASSERT_EQUAL_FATAL(inspect_without_sections("exe-dynamic", &info), 0);
        CU_ASSERT_TRUE(info.dynamic);
        CU_ASSERT_FALSE(info.go);
}

static void test_not_programs(void) {
        static const char script[] = "#!/bin/sh\nexit 0\n";
        struct ve_exe_info info = { .dynamic = true, .go = true };
        unsigned char *elf;
        size_t len;

        CU_ASSERT_EQUAL(inspect_bytes("", 0, &info), -ENOEXEC);
        CU_ASSERT_EQUAL(inspect_bytes(script, sizeof script - 1, &info), -ENOEXEC);
        CU_ASSERT_EQUAL(inspect_bytes("\177ELF", 4, &info), -ENOEXEC);
        /* not written on failure */
        CU_ASSERT_TRUE(info.dynamic && info.go);

        elf = slurp("exe-dynamic", &len);
        CU_ASSERT_FATAL(elf && len > 4096);
        /* cut: in the header, after it (the program headers missing) */
        CU_ASSERT_EQUAL(inspect_bytes(elf, 40, &info), -ENOEXEC);
        CU_ASSERT_EQUAL(inspect_bytes(elf, 64, &info), -ENOEXEC);
        /* an object file, an unknown class, byte order, version */
        elf[16] = ET_REL;
        CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), -ENOEXEC);
        elf[16] = ET_DYN;
        CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), 0);
        elf[EI_CLASS] = 3;
        CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), -ENOEXEC);
        elf[EI_CLASS] = ELFCLASS64;
        elf[EI_DATA] = 0;
        CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), -ENOEXEC);
        elf[EI_DATA] = ELFDATA2LSB;
        elf[EI_VERSION] = 2;
        CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), -ENOEXEC);
        elf[EI_VERSION] = EV_CURRENT;
        /* program headers past the end of the file, at an offset that
         * overflows, none at all; a section table past the end is ignored */
        {
                Elf64_Ehdr eh, orig;

                memcpy(&orig, elf, sizeof orig);
                eh = orig;
                eh.e_phoff = len;
                memcpy(elf, &eh, sizeof eh);
                CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), -ENOEXEC);
                eh.e_phoff = UINT64_MAX - 8;
                memcpy(elf, &eh, sizeof eh);
                CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), -ENOEXEC);
                eh = orig;
                eh.e_phnum = 0;
                memcpy(elf, &eh, sizeof eh);
                CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), -ENOEXEC);
                eh = orig;
                eh.e_shoff = len + 4096;
                memcpy(elf, &eh, sizeof eh);
                CU_ASSERT_EQUAL(inspect_bytes(elf, len, &info), 0);
                CU_ASSERT_TRUE(info.dynamic);
        }
        free(elf);
}

static void be16(unsigned char *p, unsigned v) {
        p[0] = (unsigned char) (v >> 8);
        p[1] = (unsigned char) v;
}

static void be32(unsigned char *p, uint32_t v) {
        be16(p, v >> 16);
        be16(p + 2, v & 0xffff);
}

/* An ELF32 big-endian program made here: a header, two program headers
 * (PT_INTERP, then PT_NOTE over a Go build-id note, or over a note whose
 * sizes run past its end) and no section table. */
static void test_elf32_big_endian(void) {
        unsigned char f[52 + 2 * 32 + 12 + 4 + 8] = {};
        unsigned char *ph = f + 52, *note = f + 52 + 64;
        struct ve_exe_info info;

        memcpy(f, ELFMAG, SELFMAG);
        f[EI_CLASS] = ELFCLASS32;
        f[EI_DATA] = ELFDATA2MSB;
        f[EI_VERSION] = EV_CURRENT;
        be16(f + 16, ET_EXEC);
        be16(f + 18, EM_PPC);
        be32(f + 20, EV_CURRENT);
        be32(f + 28, 52);               /* e_phoff */
        be16(f + 40, 52);               /* e_ehsize */
        be16(f + 42, 32);               /* e_phentsize */
        be16(f + 44, 2);                /* e_phnum */
        be32(ph, PT_INTERP);
        be32(ph + 4, 0);
        be32(ph + 16, 1);
        be32(ph + 32, PT_NOTE);
        be32(ph + 32 + 4, 52 + 64);     /* p_offset */
        be32(ph + 32 + 16, 24);         /* p_filesz */
        be32(note, 3);
        be32(note + 4, 8);
        be32(note + 8, 4);
        memcpy(note + 12, "Go", 3);
        memcpy(note + 16, "fake-id", 8);

        CU_ASSERT_EQUAL_FATAL(inspect_bytes(f, sizeof f, &info), 0);
        CU_ASSERT_TRUE(info.dynamic);
        CU_ASSERT_TRUE(info.go);

        /* another owner, another type: not Go's */
        memcpy(note + 12, "Gx", 3);
        CU_ASSERT_EQUAL_FATAL(inspect_bytes(f, sizeof f, &info), 0);
        CU_ASSERT_FALSE(info.go);
        memcpy(note + 12, "Go", 3);
        be32(note + 8, 1);
        CU_ASSERT_EQUAL_FATAL(inspect_bytes(f, sizeof f, &info), 0);
        CU_ASSERT_FALSE(info.go);
        be32(note + 8, 4);
        /* a note whose sizes run past the segment is not read past it */
        be32(note + 4, 0xfffffff0);
        CU_ASSERT_EQUAL_FATAL(inspect_bytes(f, sizeof f, &info), 0);
        CU_ASSERT_FALSE(info.go);
        be32(note, 0xfffffffd);
        CU_ASSERT_EQUAL_FATAL(inspect_bytes(f, sizeof f, &info), 0);
        CU_ASSERT_FALSE(info.go);
        /* the note segment past the end of the file: ignored */
        be32(ph + 32 + 4, 4096);
        CU_ASSERT_EQUAL_FATAL(inspect_bytes(f, sizeof f, &info), 0);
        CU_ASSERT_TRUE(info.dynamic);
        CU_ASSERT_FALSE(info.go);
}

static void test_lookup(void) {
        static const char prog[] = "#!/bin/sh\n";
        char *dirs[3], *want, *search, *path = NULL;
        int cwd;

        for (int i = 0; i < 3; i++) {
                dirs[i] = ve_asprintf("%s/%c", tmp, 'a' + i);
                CU_ASSERT_FATAL(dirs[i] && mkdir(dirs[i], 0755) == 0);
        }
        free(put("a/prog", prog, sizeof prog - 1, 0644));      /* not executable */
        want = put("b/prog", prog, sizeof prog - 1, 0755);
        path = ve_asprintf("%s/prog", dirs[2]);                 /* a directory */
        CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
        free(path);
        path = NULL;

        /* the first DIR/prog that is an executable regular file */
        search = ve_asprintf("/nonexistent:%s:%s:%s", dirs[2], dirs[0], dirs[1]);
        CU_ASSERT_EQUAL_FATAL(ve_exe_lookup("prog", search, &path), 0);
        CU_ASSERT_STRING_EQUAL(path, want);
        free(path);
        free(search);
        path = NULL;
        search = ve_asprintf("%s:%s", dirs[0], dirs[2]);
        CU_ASSERT_EQUAL(ve_exe_lookup("prog", search, &path), -ENOENT);
        CU_ASSERT_PTR_NULL(path);
        free(search);
        CU_ASSERT_EQUAL(ve_exe_lookup("", "/bin", &path), -ENOENT);

        /* a name with a slash is not looked up, whether it exists or not */
        CU_ASSERT_EQUAL_FATAL(ve_exe_lookup("./prog", "/nonexistent", &path), 0);
        CU_ASSERT_STRING_EQUAL(path, "./prog");
        free(path);

        /* an empty item is the current directory */
        cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CU_ASSERT_FATAL(cwd >= 0 && chdir(dirs[1]) == 0);
        CU_ASSERT_EQUAL(ve_exe_lookup("prog", "/nonexistent:", &path), 0);
        if (path)
                CU_ASSERT_STRING_EQUAL(path, "prog");
        free(path);
        path = NULL;
        CU_ASSERT_EQUAL(ve_exe_lookup("prog", "::/nonexistent", &path), 0);
        free(path);
        path = NULL;
        CU_ASSERT_EQUAL(ve_exe_lookup("prog", "/nonexistent", &path), -ENOENT);
        CU_ASSERT_FATAL(fchdir(cwd) == 0);
        close(cwd);

        /* no PATH: glibc's default */
        CU_ASSERT_EQUAL_FATAL(ve_exe_lookup("sh", NULL, &path), 0);
        CU_ASSERT_STRING_EQUAL(path, "/bin/sh");
        free(path);

        free(want);
        for (int i = 0; i < 3; i++)
                free(dirs[i]);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "fixtures", test_fixtures },
                { "notes and sections", test_notes_and_sections },
                { "not programs", test_not_programs },
                { "ELF32 big-endian", test_elf32_big_endian },
                { "lookup", test_lookup },
                { NULL, NULL },
        };
        static const struct unit_suite suites[] = { { "exe", tests } };
        char *cmd;
        int k;

        if (!mkdtemp(tmp))
                return 2;
        k = unit_run(suites, 1);
        cmd = ve_asprintf("rm -rf '%s'", tmp);
        if (!cmd || system(cmd) != 0)
                k = k ? k : 2;
        free(cmd);
        return k;
}
