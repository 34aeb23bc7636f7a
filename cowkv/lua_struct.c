/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lua_struct.c — the `struct` Lua library Redis offers to scripts (Debian
 * has no package of it): binary packing of numbers and strings.
 *
 *   struct.pack(fmt, v1, v2, ...)  -> a string
 *   struct.unpack(fmt, s [, pos])  -> v1, v2, ..., the position after them
 *   struct.size(fmt)               -> bytes of a fixed-size format
 *
 * Format: '<' little endian, '>' big endian, '=' native (little here),
 * '!n' alignment to n bytes (default: none), 'x' one zero byte, 'b'/'B'
 * signed/unsigned char, 'h'/'H' short, 'l'/'L' long (8 bytes), 'T' size_t,
 * 'i'/'I' int with an optional size ('i4'), 'f' float, 'd' double,
 * 's' a zero-terminated string, 'cn' n bytes ('c0': as long as the
 * preceding number in unpack, which it replaces in the results; the
 * string's length in pack). Spaces are ignored. Integers take up to 32
 * bytes; their values are 64-bit (zeros fill the rest).
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "script.h"

#define MAX_INT_SIZE 32   /* as Redis's struct; bytes past the 8th are zeros */

struct fmtstate {
	int little;
	size_t align;
};

/* An optional decimal size after an option; def when absent. */
static size_t opt_size(const char **f, size_t def)
{
	size_t n = 0;

	if (!isdigit((unsigned char)**f))
		return def;
	while (isdigit((unsigned char)**f))
		n = n * 10 + (size_t)(*(*f)++ - '0');
	return n;
}

/* Size in bytes of option c (0 for s, c0...), reading its size suffix. */
static size_t opt_bytes(lua_State *L, char c, const char **f)
{
	size_t n;

	switch (c) {
	case 'x': case 'b': case 'B': return 1;
	case 'h': case 'H': return sizeof(short);
	case 'l': case 'L': return 8;
	case 'T': return sizeof(size_t);
	case 'f': return sizeof(float);
	case 'd': return sizeof(double);
	case 'i': case 'I':
		n = opt_size(f, sizeof(int));
		if (n == 0 || n > MAX_INT_SIZE)
			luaL_error(L, "integral size %d is larger than limit of %d", (int)n, MAX_INT_SIZE);
		return n;
	case 'c': return opt_size(f, 1);
	case 's': return 0;
	default:
		luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", c));
		return 0;
	}
}

/* Padding needed before an item of size n at offset pos. */
static size_t padding(const struct fmtstate *st, size_t pos, size_t n)
{
	size_t a = n < st->align ? n : st->align;

	if (a <= 1 || (a & (a - 1)))
		return 0;
	return (a - (pos & (a - 1))) & (a - 1);
}

/* Handle the control characters; true if c was one. */
static int control(lua_State *L, char c, const char **f, struct fmtstate *st)
{
	switch (c) {
	case ' ': return 1;
	case '<': case '=': st->little = 1; return 1;
	case '>': st->little = 0; return 1;
	case '!': {
		size_t a = opt_size(f, 8);

		if (a & (a - 1))
			luaL_error(L, "alignment %d is not a power of 2", (int)a);
		st->align = a;
		return 1;
	}
	default:
		return 0;
	}
}

/* v in n bytes (n up to 32: past 8, zeros, as Redis's struct writes). */
static void put_int(luaL_Buffer *b, uint64_t v, int little, size_t n)
{
	char buf[MAX_INT_SIZE];
	char fill = 0;

	for (size_t i = 0; i < n; i++) {
		buf[little ? i : n - 1 - i] = i < 8 ? (char)(v & 0xff) : fill;
		if (i < 8)
			v >>= 8;
	}
	luaL_addlstring(b, buf, n);
}

static int l_pack(lua_State *L)
{
	const char *f = luaL_checkstring(L, 1);
	struct fmtstate st = { 1, 1 };
	luaL_Buffer b;
	size_t pos = 0;
	int arg = 2;

	luaL_buffinit(L, &b);   /* nothing else is pushed until luaL_pushresult */
	while (*f) {
		char c = *f++;
		size_t n, pad;

		if (control(L, c, &f, &st))
			continue;
		n = opt_bytes(L, c, &f);
		pad = padding(&st, pos, n);
		for (size_t i = 0; i < pad; i++)
			luaL_addchar(&b, '\0');
		pos += pad;
		switch (c) {
		case 'x':
			luaL_addchar(&b, '\0');
			break;
		case 'b': case 'B': case 'h': case 'H': case 'l': case 'L':
		case 'T': case 'i': case 'I': {
			lua_Number v = luaL_checknumber(L, arg++);
			int64_t iv = (int64_t)v;

			put_int(&b, (uint64_t)iv, st.little, n);
			break;
		}
		case 'f': {
			float v = (float)luaL_checknumber(L, arg++);
			uint32_t u;

			memcpy(&u, &v, 4);
			put_int(&b, u, st.little, 4);
			break;
		}
		case 'd': {
			double v = luaL_checknumber(L, arg++);
			uint64_t u;

			memcpy(&u, &v, 8);
			put_int(&b, u, st.little, 8);
			break;
		}
		case 'c': case 's': {
			size_t len;
			const char *s = luaL_checklstring(L, arg++, &len);

			if (c == 'c' && n == 0)
				n = len;
			if (c == 'c') {
				luaL_argcheck(L, len >= n, arg - 1, "string too short");
				luaL_addlstring(&b, s, n);
			} else {
				luaL_argcheck(L, strlen(s) == len, arg - 1, "string contains zeros");
				luaL_addlstring(&b, s, len);
				luaL_addchar(&b, '\0');
				n = len + 1;
			}
			break;
		}
		}
		pos += n;
	}
	luaL_pushresult(&b);
	return 1;
}

/* The low 64 bits of an n-byte integer at p. */
static uint64_t get_int(const char *p, int little, size_t n)
{
	uint64_t v = 0;
	size_t k = n < 8 ? n : 8;

	for (size_t i = 0; i < k; i++) {
		size_t at = little ? k - 1 - i : n - k + i;

		v = v << 8 | (unsigned char)p[at];
	}
	return v;
}

static int l_unpack(lua_State *L)
{
	size_t len;
	const char *f = luaL_checkstring(L, 1);
	const char *s = luaL_checklstring(L, 2, &len);
	size_t pos = (size_t)luaL_optinteger(L, 3, 1) - 1;
	struct fmtstate st = { 1, 1 };
	int results = 0;
	lua_Number last = 0;

	luaL_argcheck(L, pos <= len, 3, "offset must be 1 or greater");
	while (*f) {
		char c = *f++;
		size_t n;

		if (control(L, c, &f, &st))
			continue;
		n = opt_bytes(L, c, &f);
		pos += padding(&st, pos, n);
		if (c == 'c' && n == 0) {
			/* the length is the number just read, which is not returned */
			luaL_argcheck(L, results > 0 && lua_isnumber(L, -1), 1,
				      "format 'c0' needs a previous size");
			n = (size_t)last;
			lua_pop(L, 1);
			results--;
		}
		luaL_argcheck(L, pos + n <= len, 2, "data string too short");
		luaL_checkstack(L, 2, "too many results");
		switch (c) {
		case 'x':
			break;
		case 'b': case 'h': case 'l': case 'i': {
			int64_t v = (int64_t)get_int(s + pos, st.little, n);

			if (n < 8 && (v >> (8 * n - 1)) & 1)
				v |= (int64_t)(~0ull << (8 * n));
			lua_pushnumber(L, (lua_Number)v);
			last = (lua_Number)v;
			results++;
			break;
		}
		case 'B': case 'H': case 'L': case 'T': case 'I': {
			uint64_t v = get_int(s + pos, st.little, n);

			lua_pushnumber(L, (lua_Number)v);
			last = (lua_Number)v;
			results++;
			break;
		}
		case 'f': {
			uint32_t u = (uint32_t)get_int(s + pos, st.little, 4);
			float v;

			memcpy(&v, &u, 4);
			lua_pushnumber(L, v);
			results++;
			break;
		}
		case 'd': {
			uint64_t u = get_int(s + pos, st.little, 8);
			double v;

			memcpy(&v, &u, 8);
			lua_pushnumber(L, v);
			results++;
			break;
		}
		case 'c':
			lua_pushlstring(L, s + pos, n);
			results++;
			break;
		case 's': {
			const char *z = memchr(s + pos, '\0', len - pos);

			luaL_argcheck(L, z != NULL, 2, "unfinished string in data");
			n = (size_t)(z - (s + pos)) + 1;
			lua_pushlstring(L, s + pos, n - 1);
			results++;
			break;
		}
		}
		pos += n;
	}
	lua_pushinteger(L, (lua_Integer)pos + 1);
	return results + 1;
}

static int l_size(lua_State *L)
{
	const char *f = luaL_checkstring(L, 1);
	struct fmtstate st = { 1, 1 };
	size_t pos = 0;

	while (*f) {
		char c = *f++;
		size_t n;

		if (control(L, c, &f, &st))
			continue;
		n = opt_bytes(L, c, &f);
		if (c == 's' || (c == 'c' && n == 0))
			return luaL_argerror(L, 1, lua_pushfstring(L, "option '%s' has no fixed size",
								 c == 's' ? "s" : "c0"));
		pos += padding(&st, pos, n) + n;
	}
	lua_pushinteger(L, (lua_Integer)pos);
	return 1;
}

int script_open_struct(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "pack", l_pack }, { "unpack", l_unpack }, { "size", l_size }, { NULL, NULL },
	};

	lua_newtable(L);
	for (const luaL_Reg *r = fns; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setfield(L, -2, r->name);
	}
	return 1;
}
