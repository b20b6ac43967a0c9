/* SPDX-License-Identifier: MIT */
#pragma once

#include "core.h"

/* Installs the shim's table (core_host.c): from then on the core's
 * ve_log() and ve_secure_*() are the shim's. */
void ve_core_host_set(const struct ve_core_host *h);
