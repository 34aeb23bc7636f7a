/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names of errors and the version: cow_strerror and cow_err_name defined for
 * every int (INT_MIN and INT_MAX included), cow_version agreeing with the
 * header it was compiled against.
 */
#include <cow.h>

#include "testlib.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void err_name_gives_the_macro_name(void **state)
{
	static const struct { int err; const char *name; } known[] = {
		{ EINVAL, "EINVAL" }, { ENOMEM, "ENOMEM" }, { ESTALE, "ESTALE" },
		{ EBADMSG, "EBADMSG" }, { EBUSY, "EBUSY" }, { ENOSPC, "ENOSPC" },
		{ EEXIST, "EEXIST" }, { ENOENT, "ENOENT" }, { EISDIR, "EISDIR" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { EAGAIN, "EAGAIN" }, { EFAULT, "EFAULT" },
	};

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		assert_string_equal(cow_err_name(-known[i].err), known[i].name);
		assert_string_equal(cow_err_name(known[i].err), known[i].name);
	}
	assert_string_equal(cow_err_name(0), "OK");
}

static void unknown_values_are_named_unknown(void **state)
{
	static const int odd[] = { INT_MIN, INT_MIN + 1, INT_MAX, -100000, 100000, 4096, -4096 };

	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		assert_string_equal(cow_err_name(odd[i]), "UNKNOWN");
		assert_string_equal(cow_strerror(odd[i]), "unknown error");
	}
}

/* Every int in a wide band around 0, and both ends: never NULL, never
 * empty, and a name for each message that is not "unknown error". */
static void every_value_has_a_message_and_a_name(void **state)
{
	static const int ends[] = { INT_MIN, INT_MIN + 1, INT_MAX - 1, INT_MAX };

	for (int e = -5000; e <= 5000; e++) {
		const char *msg = cow_strerror(e), *name = cow_err_name(e);

		assert_non_null(msg);
		assert_non_null(name);
		assert_true(msg[0] && name[0]);
		if (strcmp(name, "UNKNOWN"))
			assert_true(name[0] == 'E' || !strcmp(name, "OK"));
		assert_true(strcmp(name, "UNKNOWN") ? strcmp(msg, "unknown error") != 0 :
			    strcmp(msg, "unknown error") == 0);
		assert_string_equal(cow_strerror(e), cow_strerror(e == INT_MIN ? e : -e));
	}
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		assert_non_null(cow_strerror(ends[i]));
		assert_non_null(cow_err_name(ends[i]));
	}
	/* libcow's own words for the values it gives a meaning. */
	assert_non_null(strstr(cow_strerror(-ESTALE), "fork()"));
	assert_non_null(strstr(cow_strerror(-EBADMSG), "checksum"));
}

static void version_matches_the_header(void **state)
{
	char want[32];

	snprintf(want, sizeof want, "%d.%d.%d", COW_VERSION_MAJOR, COW_VERSION_MINOR,
		 COW_VERSION_PATCH);
	assert_string_equal(COW_VERSION_STRING, want);
	assert_string_equal(cow_version(), COW_VERSION_STRING);
	assert_int_equal(cow_version_number(), COW_VERSION_NUMBER);
	assert_int_equal(COW_VERSION_NUMBER,
			 COW_VERSION_MAJOR * 10000 + COW_VERSION_MINOR * 100 + COW_VERSION_PATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(err_name_gives_the_macro_name),
		cmocka_unit_test(unknown_values_are_named_unknown),
		cmocka_unit_test(every_value_has_a_message_and_a_name),
		cmocka_unit_test(version_matches_the_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
