/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * error.c — names for the values libcow returns.
 */
#include <cow.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

/* |err| as an errno candidate, or -1 for INT_MIN, whose negation does not
 * fit an int (no errno is that large anyway). */
static int errno_of(int err)
{
	if (err == INT_MIN)
		return -1;
	return err < 0 ? -err : err;
}

/*
 * cow_strerror — a static message for err (negative or positive errno).
 * libcow gives some errno values a meaning of its own; those get a message
 * in libcow's words, the rest get the C library's. Defined for every int.
 */
COW_API const char *cow_strerror(int err)
{
	const char *desc;

	err = errno_of(err);
	switch (err) {
	case 0:
		return "success";
	case ESTALE:
		return "stale handle: it belongs to the parent of a fork()";
	case EBADMSG:
		return "corrupt data: a checksum or a structure check failed";
	case EOPNOTSUPP:
		return "operation not supported by libcow (yet) or by this kernel";
	default:
		desc = err > 0 ? strerrordesc_np(err) : NULL;
		return desc ? desc : "unknown error";
	}
}

/*
 * cow_err_name — the errno macro's name for err ("EINVAL" for -EINVAL or
 * EINVAL), "OK" for 0, "UNKNOWN" when the C library knows no name for it
 * (INT_MIN included). Static strings; never NULL.
 */
COW_API const char *cow_err_name(int err)
{
	const char *name;

	err = errno_of(err);
	if (err == 0)
		return "OK";
	name = err > 0 ? strerrorname_np(err) : NULL;
	return name ? name : "UNKNOWN";
}
