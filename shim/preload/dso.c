/* SPDX-License-Identifier: MIT */
/* libvaultenv.so is linked without the C compiler's start files
 * (-nostartfiles, shim/meson.build). They serve programs and ordinary
 * libraries; for a preloaded object, loaded into every process, they cost
 * four symbol lookups by the dynamic loader at every start-up (about 2% of
 * the start-up of /bin/true): __gmon_start__ (gprof) and the two
 * _ITM_*TMCloneTable (GCC's transactional memory), undefined weak symbols
 * that are looked for in every loaded object in vain, and __cxa_finalize,
 * called when the object is unloaded. None applies here: nothing is built
 * for gprof or transactional memory; the constructors are plain
 * .init_array entries, which the dynamic loader runs itself; and the object
 * is never unloaded (-z nodelete), so the handlers it registers (atexit,
 * pthread_atfork) never outlive its code.
 *
 * What is left to provide is the one symbol of the start files the shim
 * uses: __dso_handle, which atexit() and pthread_atfork() (libc_nonshared)
 * pass to libc to say which object registered a handler. */

__attribute__((visibility("hidden"))) void *__dso_handle = &__dso_handle;
