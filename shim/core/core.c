/* SPDX-License-Identifier: MIT */
/* libvaultenv-core.so: the heavy half of the shim, dlopen()ed on the first
 * lookup of a mapped name, so that processes which never read a secret do
 * not load libcurl and TLS at all. Exports one symbol (core.sym). */
#include <stddef.h>

#include "core.h"
#include "core_host.h"
#include "vault.h"

static int core_open(const struct ve_settings *settings, const struct ve_core_host *host,
                     void **ret_client, char **ret_error) {
        struct ve_vault *v;
        int r;

        ve_core_host_set(host);
        r = ve_vault_new(settings, &v, ret_error);
        if (r < 0)
                return r;
        *ret_client = v;
        return 0;
}

static int core_read(void *client, const struct ve_ref *ref,
                     struct ve_secret **ret_secret, char **ret_error) {
        return ve_vault_read(client, ref, ret_secret, ret_error);
}

static int core_read_many(void *client, struct ve_read_call *calls, size_t n) {
        return ve_vault_read_many(client, calls, n);
}

static int core_renew(void *client, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                      struct ve_lease *ret_lease, char **ret_error) {
        return ve_vault_renew(client, ref, lease_id, increment_s, ret_lease, ret_error);
}

static void core_atfork_prepare(void *client) {
        ve_vault_atfork_prepare(client);
}

static void core_atfork_parent(void *client) {
        ve_vault_atfork_parent(client);
}

static void core_atfork_child(void *client) {
        ve_vault_atfork_child(client);
}

static int core_at_exit(void *client) {
        return ve_vault_at_exit(client);
}

static const struct ve_core_api api = {
        .abi = VE_CORE_ABI,
        .open = core_open,
        .read = core_read,
        .read_many = core_read_many,
        .renew = core_renew,
        .atfork_prepare = core_atfork_prepare,
        .atfork_parent = core_atfork_parent,
        .atfork_child = core_atfork_child,
        .at_exit = core_at_exit,
};

__attribute__((visibility("default")))
const struct ve_core_api *vaultenv_core_v1(void);

const struct ve_core_api *vaultenv_core_v1(void) {
        return &api;
}
