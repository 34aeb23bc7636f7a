/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * version.c — the version of the library that runs (cow_version.h gives the
 * one a program was compiled against).
 */
#include <cow.h>

#include "internal.h"

/* cow_version — "MAJOR.MINOR.PATCH" of this build of libcow (static). */
COW_API const char *cow_version(void)
{
	return COW_VERSION_STRING;
}

/* cow_version_number — major * 10000 + minor * 100 + patch of this build. */
COW_API int cow_version_number(void)
{
	return COW_VERSION_NUMBER;
}
