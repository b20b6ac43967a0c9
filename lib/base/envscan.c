/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "envscan.h"

char *ve_envscan(char **envp, const char *name) {
        return ve_envscan_inline(envp, name);
}

static void set_bit(struct ve_name_filter *f, unsigned b) {
        f->bits[b / 64] |= (uint64_t) 1 << (b % 64);
}

void ve_name_filter_add_name(struct ve_name_filter *f, const char *name) {
        unsigned char c0 = (unsigned char) name[0];

        set_bit(f, ve_name_filter_index(c0, c0 ? (unsigned char) name[1] : 0));
}

void ve_name_filter_add_prefix(struct ve_name_filter *f, const char *prefix) {
        unsigned char c0 = (unsigned char) prefix[0];

        if (c0 == '\0')
                /* no prefix: every name (the parser allows none) */
                memset(f->bits, 0xff, sizeof f->bits);
        else if (prefix[1])
                ve_name_filter_add_name(f, prefix);
        else
                /* PREFIX + any byte: the whole row */
                for (unsigned c1 = 0; c1 < 64; c1++)
                        set_bit(f, ve_name_filter_index(c0, (unsigned char) c1));
}
