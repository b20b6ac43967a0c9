/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The value side of `vaultenv rotate`: a fresh random value, or one read
 * from a file. The write itself (read, check-and-set, new version) is
 * ve_kv_put(..., VE_KV_PUT_REPLACE, require_v2) in kv_write.h. */

#define VE_ROTATE_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define VE_ROTATE_LENGTH_DEFAULT 32
#define VE_ROTATE_LENGTH_MIN 8
#define VE_ROTATE_LENGTH_MAX 4096
#define VE_ROTATE_VALUE_MAX (1024 * 1024)

/* A --length argument: a decimal number in [MIN, MAX]. 0, or -EINVAL with
 * a message (naming the argument and the bounds). */
int ve_rotate_parse_length(const char *s, size_t *ret_length, char **ret_error);

/* Maps random bytes to characters of alphabet (1..256 characters), without
 * bias: a byte is used only when it is below the largest multiple of the
 * alphabet's size that fits in 256, else it is dropped (rejection
 * sampling). Writes up to length characters to out (no NUL) and returns
 * how many; *ret_used: how many bytes were looked at. Pure, for tests. */
size_t ve_random_map(const uint8_t *bytes, size_t n_bytes, const char *alphabet,
                     char *out, size_t length, size_t *ret_used);

/* length characters of alphabet from getrandom(2), NUL-terminated, in a
 * heap string (wipe it with ve_erase_free). 0, -EINVAL (bad arguments),
 * -ENOMEM, or the -errno of getrandom. */
int ve_random_string(const char *alphabet, size_t length, char **ret);

/* The value of --value-file: the whole file ("-": standard input), at
 * most VE_ROTATE_VALUE_MAX bytes, one trailing "\n" (or "\r\n") removed.
 * -EINVAL with a message when it is empty or holds a NUL byte (no
 * environment value can); -errno and a message naming the file otherwise.
 * Never a byte of the value in a message. */
int ve_rotate_read_value(const char *path, char **ret_value, char **ret_error);
