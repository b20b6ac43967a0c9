/* SPDX-License-Identifier: MIT */
/* lib/tools/diagnose.c: runtime names, "#!" lines, env's argument, and
 * whole diagnoses of the ELF fixtures test-exe uses (VE_EXE_FIXTURES),
 * reached through links and scripts made here. */
#include "unit.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diagnose.h"
#include "util.h"

static char tmp[] = "/tmp/vaultenv-test-diagnose.XXXXXX";

static char *fixture(const char *name) {
        const char *dir = getenv("VE_EXE_FIXTURES");

        return ve_asprintf("%s/%s", dir ? dir : ".", name);
}

/* tmp/name; heap */
static char *at(const char *name) {
        return ve_asprintf("%s/%s", tmp, name);
}

/* Writes text to tmp/name with mode; returns the path (heap). */
static char *put(const char *name, const char *text, mode_t mode) {
        char *path = at(name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        close(fd);
        CU_ASSERT_FATAL(chmod(path, mode) == 0);
        return path;
}

/* tmp/name, a symbolic link to the fixture target */
static void link_fixture(const char *name, const char *target) {
        char *from = fixture(target), *to = at(name);

        CU_ASSERT_FATAL(symlink(from, to) == 0);
        free(from);
        free(to);
}

static void test_mode_words(void) {
        CU_ASSERT_STRING_EQUAL(ve_run_mode_word(VE_RUN_LAZY), "lazy");
        CU_ASSERT_STRING_EQUAL(ve_run_mode_word(VE_RUN_EAGER), "--eager");
        CU_ASSERT_STRING_EQUAL(ve_run_mode_word(VE_RUN_ENV), "--env");
}

static void test_runtime_names(void) {
        static const struct {
                const char *name;
                int k;
                enum ve_run_mode mode;
        } cases[] = {
                { "python3", 0, VE_RUN_EAGER }, { "python3.11", 0, VE_RUN_EAGER }, { "python", 0, VE_RUN_EAGER },
                { "perl", 0, VE_RUN_EAGER }, { "perl5.36.0", 0, VE_RUN_EAGER }, { "ruby3.1", 0, VE_RUN_LAZY },
                { "php8.2", 0, VE_RUN_EAGER }, { "node", 0, VE_RUN_LAZY }, { "nodejs", 0, VE_RUN_LAZY },
                { "java", 0, VE_RUN_EAGER }, { "bash", 0, VE_RUN_EAGER }, { "dash", 0, VE_RUN_EAGER },
                { "sh", 0, VE_RUN_EAGER }, { "busybox", 0, VE_RUN_EAGER }, { "gawk", 0, VE_RUN_EAGER },
                { "mawk", 0, VE_RUN_EAGER }, { "awk", 0, VE_RUN_EAGER }, { "make", 0, VE_RUN_EAGER },
                { "gmake", 0, VE_RUN_EAGER },
                /* not runtimes: another word after the name, or none of them */
                { "makeinfo", -ENOENT, 0 }, { "python3-config", -ENOENT, 0 }, { "shred", -ENOENT, 0 },
                { "javac", -ENOENT, 0 }, { "ls", -ENOENT, 0 }, { "", -ENOENT, 0 },
        };
        enum ve_run_mode mode;
        const char *why;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                mode = 99;
                why = NULL;
                CU_ASSERT_EQUAL(ve_runtime_by_name(cases[i].name, &mode, &why), cases[i].k);
                if (cases[i].k == 0) {
                        CU_ASSERT_EQUAL(mode, cases[i].mode);
                        CU_ASSERT_PTR_NOT_NULL(why);
                } else {
                        CU_ASSERT_EQUAL(mode, 99);      /* untouched */
                }
        }
        CU_ASSERT_EQUAL(ve_runtime_by_name(NULL, &mode, &why), -ENOENT);
}

static void shebang(const char *text, int k, const char *interp, const char *arg) {
        char *i = (char *) "x", *a = (char *) "x";

        CU_ASSERT_EQUAL(ve_shebang_parse(text, strlen(text), &i, &a), k);
        if (k < 0) {
                CU_ASSERT_STRING_EQUAL(i, "x");
                return;
        }
        CU_ASSERT_STRING_EQUAL(i, interp);
        if (arg) {
                CU_ASSERT_STRING_EQUAL(a ? a : "(null)", arg);
        } else {
                CU_ASSERT_PTR_NULL(a);
        }
        free(i);
        free(a);
}

static void test_shebang(void) {
        shebang("#!/bin/sh\necho\n", 0, "/bin/sh", NULL);
        shebang("#! /bin/sh  \n", 0, "/bin/sh", NULL);
        shebang("#!/usr/bin/env python3\nprint()\n", 0, "/usr/bin/env", "python3");
        shebang("#!/usr/bin/env -S python3 -u  \r\n", 0, "/usr/bin/env", "-S python3 -u");
        shebang("#!/usr/bin/perl -w", 0, "/usr/bin/perl", "-w");       /* no newline */
        shebang("#!\t/bin/bash\t-e -u\n", 0, "/bin/bash", "-e -u");
        shebang("#!\n", -ENOEXEC, NULL, NULL);
        shebang("#!   \n/bin/sh\n", -ENOEXEC, NULL, NULL);
        shebang("echo hi\n", -ENOEXEC, NULL, NULL);
        shebang("#", -ENOEXEC, NULL, NULL);
        {
                static const char nul[] = "#!/bin/sh\0 -x\n";

                char *i, *a;

                CU_ASSERT_EQUAL_FATAL(ve_shebang_parse(nul, sizeof nul - 1, &i, &a), 0);
                CU_ASSERT_STRING_EQUAL(i, "/bin/sh");   /* the line ends at the NUL */
                CU_ASSERT_PTR_NULL(a);
                free(i);
                free(a);
        }
        shebang("", -ENOEXEC, NULL, NULL);
}

static void env_program(const char *arg, int k, const char *program) {
        char *p = (char *) "x";

        CU_ASSERT_EQUAL(ve_env_program(arg, &p), k);
        if (k == 0) {
                CU_ASSERT_STRING_EQUAL(p, program);
                free(p);
        } else {
                CU_ASSERT_STRING_EQUAL(p, "x");
        }
}

static void test_env_program(void) {
        env_program("python3", 0, "python3");
        env_program("-S python3 -u", 0, "python3");
        env_program("-Spython3 -u", 0, "python3");
        env_program("-S -i PYTHONPATH=/x python3", 0, "python3");
        env_program("-S -u HOME -C /tmp node app.js", 0, "node");
        env_program("-S --unset HOME ruby", 0, "ruby");
        env_program("-S --unset=HOME ruby", 0, "ruby");
        env_program("--split-string=python3 -u", 0, "python3");
        env_program("-S-i python3", 0, "python3");
        env_program("-S-u HOME perl", 0, "perl");
        env_program("-S", -ENOENT, NULL);
        env_program("-S A=1", -ENOENT, NULL);
        env_program("", -ENOENT, NULL);
        env_program(NULL, -ENOENT, NULL);
}

/* ve_diagnose of command with PATH=tmp: 0 and mode, reason containing
 * what, or the error k */
static void diagnose(const char *command, int k, enum ve_run_mode mode, const char *what) {
        struct ve_diagnosis d = { .mode = 99 };
        char *argv[] = { (char *) command, NULL };
        int got = ve_diagnose(argv, tmp, &d);

        if (got != k)
                fprintf(stderr, "\n%s: %d, not %d\n", command, got, k);
        CU_ASSERT_EQUAL_FATAL(got, k);
        if (k < 0) {
                CU_ASSERT_EQUAL(d.mode, 99);
                CU_ASSERT_PTR_NULL(d.reason);
                return;
        }
        CU_ASSERT_EQUAL(d.mode, mode);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d.reason);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d.path);
        CU_ASSERT_PTR_NULL(strchr(d.reason, '\n'));
        if (!strstr(d.reason, what))
                fprintf(stderr, "\n%s: reason \"%s\" lacks \"%s\"\n", command, d.reason, what);
        CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, what));
        ve_diagnosis_done(&d);
        CU_ASSERT_PTR_NULL(d.reason);
}

/* argv as the command line, PATH=tmp */
static void diagnose_argv(char **argv, int k, enum ve_run_mode mode, const char *what) {
        struct ve_diagnosis d = { .mode = 99 };

        CU_ASSERT_EQUAL_FATAL(ve_diagnose(argv, tmp, &d), k);
        if (k < 0)
                return;
        CU_ASSERT_EQUAL(d.mode, mode);
        if (!strstr(d.reason, what))
                fprintf(stderr, "\n%s: reason \"%s\" lacks \"%s\"\n", argv[0], d.reason, what);
        CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, what));
        ve_diagnosis_done(&d);
}

/* env(1) as the command: the program it runs decides */
static void test_env_command(void) {
        char *python[] = { "/usr/bin/env", "-i", "A=1", "-u", "B", "python3", "x.py", NULL };
        char *go[] = { "env", "--chdir", "/", "go", NULL };
        char *bare[] = { "/usr/bin/env", NULL };
        char *assign[] = { "/usr/bin/env", "A=1", NULL };
        char *missing[] = { "/usr/bin/env", "no-such-program", NULL };
        char *none[] = { NULL };
        char *path = ve_asprintf("%s:/usr/bin:/bin", tmp);
        struct ve_diagnosis d;

        diagnose_argv(python, 0, VE_RUN_EAGER, "env python3 -> ");
        diagnose_argv(go, -ENOENT, 0, NULL);    /* tmp has no env */
        CU_ASSERT_EQUAL(ve_diagnose(go, path, &d), 0);
        CU_ASSERT_EQUAL(d.mode, VE_RUN_ENV);
        ve_diagnosis_done(&d);
        diagnose_argv(bare, 0, VE_RUN_LAZY, "dynamically linked");
        diagnose_argv(assign, 0, VE_RUN_LAZY, "dynamically linked");
        diagnose_argv(missing, -ENOENT, 0, NULL);
        diagnose_argv(none, -ENOENT, 0, NULL);
        free(path);
}

static void test_programs(void) {
        char *p, *dyn = fixture("exe-dynamic");
        char *dir = NULL;

        link_fixture("prog", "exe-dynamic");
        link_fixture("static", "exe-static");
        link_fixture("go", "exe-gonote");
        link_fixture("gostatic", "exe-gobuildinfo");
        link_fixture("python3.11", "exe-dynamic");
        link_fixture("busybox", "exe-static");
        p = at("python3");
        CU_ASSERT_FATAL(symlink("python3.11", p) == 0);
        free(p);

        diagnose("prog", 0, VE_RUN_LAZY, "dynamically linked");
        diagnose(dyn, 0, VE_RUN_LAZY, "dynamically linked");
        diagnose("static", 0, VE_RUN_ENV, "statically linked");
        diagnose("go", 0, VE_RUN_ENV, "Go program");
        diagnose("gostatic", 0, VE_RUN_ENV, "Go program");
        /* by name, through the link's name when the target's says nothing */
        diagnose("python3", 0, VE_RUN_EAGER, "Python");
        /* static wins over the name: busybox-static */
        diagnose("busybox", 0, VE_RUN_ENV, "statically linked");
        /* the command as given by its path: not named again */
        p = fixture("exe-gonote");
        {
                struct ve_diagnosis d;
                char *argv[] = { p, NULL };

                CU_ASSERT_EQUAL_FATAL(ve_diagnose(argv, tmp, &d), 0);
                CU_ASSERT_EQUAL(strncmp(d.reason, "a Go program", 12), 0);
                ve_diagnosis_done(&d);
        }
        free(p);

        /* scripts */
        free(put("direct.py", "#!/nonexistent-dir/../python3\n", 0755));
        p = ve_asprintf("#!%s/python3 -u\nprint()\n", tmp);
        free(put("abs.py", p, 0755));
        free(p);
        diagnose("abs.py", 0, VE_RUN_EAGER, "/python3 -u -> ");
        free(put("env.py", "#!/usr/bin/env python3\n", 0755));
        diagnose("env.py", 0, VE_RUN_EAGER, "#!/usr/bin/env python3 -> ");
        free(put("split.py", "#!/usr/bin/env -S python3 -u\n", 0755));
        diagnose("split.py", 0, VE_RUN_EAGER, "Python");
        free(put("envgo", "#!/usr/bin/env -S A=1 go\n", 0755));
        diagnose("envgo", 0, VE_RUN_ENV, "Go program");
        p = ve_asprintf("#!%s/env.py\n", tmp);
        free(put("nested", p, 0755));   /* Linux follows a script as interpreter */
        free(p);
        diagnose("nested", 0, VE_RUN_EAGER, "Python");
        free(put("escape.py", "#!/usr/bin/env -S A=\033[2J python3\n", 0755));
        diagnose("escape.py", 0, VE_RUN_EAGER, "#!/usr/bin/env -S A=?[2J python3 -> ");    /* no control character */
        /* without "#!": execvp gives it to /bin/sh */
        free(put("plain", "echo hi\n", 0755));
        diagnose("plain", 0, VE_RUN_EAGER, "no #! line, so /bin/sh runs it -> ");
        free(put("empty", "", 0755));
        diagnose("empty", 0, VE_RUN_EAGER, "/bin/sh");

        /* what cannot run */
        diagnose("no-such-program", -ENOENT, 0, NULL);
        p = at("no-such-program");
        diagnose(p, -ENOENT, 0, NULL);
        free(p);
        diagnose("direct.py", -ENOENT, 0, NULL);        /* its interpreter is missing */
        free(put("envmissing", "#!/usr/bin/env no-such-program\n", 0755));
        diagnose("envmissing", -ENOENT, 0, NULL);
        p = put("noexec.py", "#!/usr/bin/env python3\n", 0644);
        diagnose(p, -EACCES, 0, NULL);
        free(p);
        dir = at("dir");
        CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
        diagnose(dir, -EACCES, 0, NULL);
        p = ve_asprintf("#!%s/loop-b\n", tmp);
        free(put("loop-a", p, 0755));
        free(p);
        p = ve_asprintf("#!%s/loop-a\n", tmp);
        free(put("loop-b", p, 0755));
        free(p);
        diagnose("loop-a", -ELOOP, 0, NULL);
        p = ve_asprintf("#!%s/plain\n", tmp);
        free(put("shless", p, 0755));   /* an interpreter without "#!" */
        free(p);
        diagnose("shless", -ENOEXEC, 0, NULL);
        free(dir);
        free(dyn);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "mode words", test_mode_words },
                { "runtime names", test_runtime_names },
                { "shebang", test_shebang },
                { "env program", test_env_program },
                { "programs", test_programs },
                { "env as the command", test_env_command },
                { NULL, NULL },
        };
        static const struct unit_suite suites[] = { { "diagnose", tests } };
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
