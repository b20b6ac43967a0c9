/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "envscan.h"

char *ve_envscan(char **envp, const char *name) {
        size_t l;

        if (!envp || !name)
                return NULL;
        l = strchrnul(name, '=') - name;
        if (l == 0 || name[l] != '\0')
                return NULL;
        for (; *envp; envp++)
                if (strncmp(name, *envp, l) == 0 && (*envp)[l] == '=')
                        return *envp + l + 1;
        return NULL;
}
