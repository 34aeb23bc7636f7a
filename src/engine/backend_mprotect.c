/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_mprotect.c — write protection with mprotect(2); a write to a
 * protected page raises SIGSEGV (SEGV_ACCERR). Works everywhere. Protection
 * changes split memory mappings, which the mapping budget accounts for.
 */
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>

#include "internal.h"

static int mp_init(void)
{
	return 0;
}

static int mp_attach(void *addr, size_t len)
{
	return 0;
}

static int mp_protect(void *addr, size_t len)
{
	return mprotect(addr, len, PROT_READ) ? -errno : 0;
}

static int mp_unprotect(void *addr, size_t len)
{
	return mprotect(addr, len, PROT_READ | PROT_WRITE) ? -errno : 0;
}

const struct cow__backend cow__backend_mprotect = {
	.name = "mprotect",
	.init = mp_init,
	.reset_after_fork = NULL,
	.attach = mp_attach,
	.protect = mp_protect,
	.unprotect = mp_unprotect,
	.map_prot_protected = PROT_READ,
	.prot_splits = true,
	.fault_populates = false,
	.signo = SIGSEGV,
};
