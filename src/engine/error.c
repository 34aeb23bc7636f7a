/*
 * error.c — names for the values libcow returns.
 */
#include <cow.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

/*
 * cow_strerror — a static message for err (negative or positive errno).
 * libcow gives some errno values a meaning of its own; those get a message
 * in libcow's words, the rest get the C library's.
 */
COW_API const char *cow_strerror(int err)
{
	if (err < 0)
		err = -err;
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
		return strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error";
	}
}
