/* SPDX-License-Identifier: MIT */
/* The ELF files test-exe inspects, built at test time: a plain C program,
 * linked dynamically or statically, with the marks of a Go program when
 * asked (VE_GO_NOTE: Go's build-id note; VE_GO_BUILDINFO: the section). */
#include <stdint.h>
#include <stdlib.h>

#ifdef VE_GO_NOTE
static const struct {
        uint32_t namesz, descsz, type;
        char name[4];
        char desc[8];
} go_note __attribute__((section(".note.go.buildid"), used, aligned(4))) = { 3, 8, 4, "Go", "fake-id" };
#endif

#ifdef VE_GO_BUILDINFO
static const char go_buildinfo[16] __attribute__((section(".go.buildinfo"), used)) = "\xff Go buildinf:";
#endif

int main(void) {
        return getenv("VE_FIXTURE") ? 1 : 0;
}
