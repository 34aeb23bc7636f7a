/* SPDX-License-Identifier: BSD-2-Clause */
#include "json.h"

#include <inttypes.h>

/* Length of the UTF-8 sequence at c (2..4), or 0 if it is not a valid one. */
static int utf8_len(const unsigned char *c)
{
	int n = *c >= 0xc2 && *c <= 0xdf ? 2 :
		*c >= 0xe0 && *c <= 0xef ? 3 :
		*c >= 0xf0 && *c <= 0xf4 ? 4 : 0;

	for (int i = 1; i < n; i++)
		if ((c[i] & 0xc0) != 0x80)
			return 0;
	if ((c[0] == 0xe0 && c[1] < 0xa0) || (c[0] == 0xf0 && c[1] < 0x90) ||
	    (c[0] == 0xed && c[1] >= 0xa0) || (c[0] == 0xf4 && c[1] >= 0x90))
		return 0;	/* overlong, surrogate, beyond U+10FFFF */
	return n;
}

void cow_json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*c < 0x20 || *c == 0x7f) {
				fprintf(f, "\\u%04x", *c);
			} else if (*c < 0x80) {
				fputc(*c, f);
			} else {
				int n = utf8_len(c);

				if (n) {	/* valid UTF-8 goes out as is */
					fwrite(c, 1, (size_t)n, f);
					c += n - 1;
				} else {	/* a stray byte: U+FFFD */
					fputs("\\ufffd", f);
				}
			}
		}
	}
	fputc('"', f);
}

void cow_json_hex(FILE *f, uint64_t v)
{
	fprintf(f, "\"0x%" PRIx64 "\"", v);
}

void cow_json_tristate(FILE *f, int v)
{
	fputs(v < 0 ? "null" : v ? "true" : "false", f);
}
