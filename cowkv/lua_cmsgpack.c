/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lua_cmsgpack.c — the cmsgpack Lua library Redis offers to scripts
 * (Debian has no package of it): MessagePack encoding and decoding.
 *
 *   cmsgpack.pack(v1, v2, ...)         -> the encodings, concatenated
 *   cmsgpack.unpack(s)                 -> every value encoded in s
 *   cmsgpack.unpack_one(s [, offset])  -> next offset (-1 at the end), value
 *   cmsgpack.unpack_limit(s, n [, off])-> next offset (-1 at the end), up to n values
 *
 * Numbers that are integers become MessagePack integers (the smallest
 * form), others float32 when exact, else float64. A table whose keys are
 * 1..n is an array, any other a map. Tables nest at most 16 deep (deeper
 * ones are encoded as nil), so cycles end.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "script.h"
#include "rdbfmt.h"

#define MAX_NESTING 16

/* ---- encoding ----------------------------------------------------------------- */

/* Append a type byte and v in n big-endian bytes. */
static void put_be(struct rbuf *b, unsigned type, uint64_t v, int n)
{
	rbuf_byte(b, (unsigned)type);
	for (int i = n - 1; i >= 0; i--)
		rbuf_byte(b, (unsigned)(v >> (8 * i)));
}

static void pack_number(struct rbuf *b, lua_Number n)
{
	if (isfinite(n) && n == floor(n) && n >= -9223372036854775808.0 &&
	    n < 18446744073709551616.0) {
		if (n >= 0) {
			uint64_t u = (uint64_t)n;

			if (u < 128)
				rbuf_byte(b, (unsigned)u);
			else if (u < 256)
				put_be(b, 0xcc, u, 1);
			else if (u < 65536)
				put_be(b, 0xcd, u, 2);
			else if (u <= 0xffffffffu)
				put_be(b, 0xce, u, 4);
			else
				put_be(b, 0xcf, u, 8);
		} else {
			int64_t i = (int64_t)n;

			if (i >= -32)
				rbuf_byte(b, (unsigned)(0xe0 | (i & 0x1f)));
			else if (i >= -128)
				put_be(b, 0xd0, (uint64_t)i, 1);
			else if (i >= -32768)
				put_be(b, 0xd1, (uint64_t)i, 2);
			else if (i >= -2147483648LL)
				put_be(b, 0xd2, (uint64_t)i, 4);
			else
				put_be(b, 0xd3, (uint64_t)i, 8);
		}
		return;
	}
	if ((double)(float)n == n) {
		float f = (float)n;
		uint32_t u;

		memcpy(&u, &f, 4);
		put_be(b, 0xca, u, 4);
	} else {
		double d = n;
		uint64_t u;

		memcpy(&u, &d, 8);
		put_be(b, 0xcb, u, 8);
	}
}

static void pack_string(struct rbuf *b, const char *s, size_t n)
{
	if (n < 32)
		rbuf_byte(b, (unsigned)(0xa0 | n));
	else if (n < 256)
		put_be(b, 0xd9, n, 1);
	else if (n < 65536)
		put_be(b, 0xda, n, 2);
	else
		put_be(b, 0xdb, n, 4);
	rbuf_put(b, s, n);
}

/* The table at index t: its length if its keys are exactly 1..n, else -1. */
static long table_array_len(lua_State *L, int t)
{
	long count = 0, max = 0;

	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TNUMBER) {
			lua_Number k = lua_tonumber(L, -1);

			if (k > 0 && k == floor(k)) {
				if (k > max)
					max = (long)k;
				count++;
				continue;
			}
		}
		lua_pop(L, 1);
		return -1;
	}
	return max == count ? count : -1;
}

/* Encode the value on top of the stack into b and pop it. */
static void pack_value(lua_State *L, struct rbuf *b, int depth);

static void pack_table(lua_State *L, struct rbuf *b, int depth)
{
	int t;
	long n;

	t = lua_gettop(L);
	n = table_array_len(L, t);
	if (n >= 0) {
		if (n < 16)
			rbuf_byte(b, (unsigned)(0x90 | n));
		else if (n < 65536)
			put_be(b, 0xdc, (uint64_t)n, 2);
		else
			put_be(b, 0xdd, (uint64_t)n, 4);
		for (long i = 1; i <= n; i++) {
			lua_rawgeti(L, t, (int)i);
			pack_value(L, b, depth + 1);
		}
	} else {
		long pairs = 0;

		lua_pushnil(L);
		while (lua_next(L, t)) {
			lua_pop(L, 1);
			pairs++;
		}
		if (pairs < 16)
			rbuf_byte(b, (unsigned)(0x80 | pairs));
		else if (pairs < 65536)
			put_be(b, 0xde, (uint64_t)pairs, 2);
		else
			put_be(b, 0xdf, (uint64_t)pairs, 4);
		lua_pushnil(L);
		while (lua_next(L, t)) {
			lua_pushvalue(L, -2);
			pack_value(L, b, depth + 1);	/* key */
			pack_value(L, b, depth + 1);	/* value */
		}
	}
}

/* Encode the value on top of the stack and pop it. */
static void pack_value(lua_State *L, struct rbuf *b, int depth)
{
	size_t n;
	const char *s;

	if (!lua_checkstack(L, 8)) {
		rbuf_byte(b, 0xc0);
		lua_pop(L, 1);
		return;
	}
	switch (lua_type(L, -1)) {
	case LUA_TBOOLEAN:
		rbuf_byte(b, (unsigned)(lua_toboolean(L, -1) ? 0xc3 : 0xc2));
		break;
	case LUA_TNUMBER:
		pack_number(b, lua_tonumber(L, -1));
		break;
	case LUA_TSTRING:
		s = lua_tolstring(L, -1, &n);
		pack_string(b, s, n);
		break;
	case LUA_TTABLE:
		if (depth < MAX_NESTING) {
			pack_table(L, b, depth);
			break;
		}
		rbuf_byte(b, (unsigned)0xc0);
		break;
	default:
		rbuf_byte(b, (unsigned)0xc0);
		break;
	}
	lua_pop(L, 1);
}

/*
 * cmsgpack.pack(...). The values are encoded into separate strings first
 * into one C buffer.
 */
static int mp_pack(lua_State *L)
{
	int argc = lua_gettop(L);
	struct rbuf b = { 0 };

	if (argc == 0)
		return luaL_argerror(L, 0, "MessagePack pack needs input.");
	for (int i = 1; i <= argc; i++) {
		lua_pushvalue(L, i);
		pack_value(L, &b, 0);
	}
	if (b.oom) {
		free(b.p);
		return luaL_error(L, "cmsgpack: out of memory");
	}
	lua_pushlstring(L, (const char *)b.p, b.len);
	free(b.p);
	return 1;
}

/* ---- decoding ------------------------------------------------------------------ */

struct cur {
	const unsigned char *p, *end;
	int err;                        /* 1: missing bytes, 2: bad format */
};

static uint64_t get_be(struct cur *c, int n)
{
	uint64_t v = 0;

	if (c->end - c->p < n) {
		c->err = 1;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v = v << 8 | *c->p++;
	return v;
}

static void unpack_value(lua_State *L, struct cur *c);

static void unpack_str(lua_State *L, struct cur *c, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < n) {
		c->err = 1;
		lua_pushnil(L);
		return;
	}
	lua_pushlstring(L, (const char *)c->p, n);
	c->p += n;
}

static void unpack_array(lua_State *L, struct cur *c, uint64_t n)
{
	lua_newtable(L);
	for (uint64_t i = 1; i <= n && !c->err; i++) {
		unpack_value(L, c);
		lua_rawseti(L, -2, (int)i);
	}
}

static void unpack_map(lua_State *L, struct cur *c, uint64_t n)
{
	lua_newtable(L);
	for (uint64_t i = 0; i < n && !c->err; i++) {
		unpack_value(L, c);
		unpack_value(L, c);
		if (lua_isnil(L, -2)) {
			lua_pop(L, 2);
			continue;
		}
		lua_rawset(L, -3);
	}
}

/* Push the value at the cursor (nil and c->err set on failure). */
static void unpack_value(lua_State *L, struct cur *c)
{
	unsigned t;

	if (!lua_checkstack(L, 8)) {
		c->err = 2;
		lua_pushnil(L);
		return;
	}
	if (c->p >= c->end) {
		c->err = 1;
		lua_pushnil(L);
		return;
	}
	t = *c->p++;
	if (t < 0x80) {
		lua_pushnumber(L, t);
	} else if (t >= 0xe0) {
		lua_pushnumber(L, (int8_t)t);
	} else if ((t & 0xe0) == 0xa0) {
		unpack_str(L, c, t & 0x1f);
	} else if ((t & 0xf0) == 0x90) {
		unpack_array(L, c, t & 0x0f);
	} else if ((t & 0xf0) == 0x80) {
		unpack_map(L, c, t & 0x0f);
	} else {
		uint64_t v;
		float f;
		double d;

		switch (t) {
		case 0xc0: lua_pushnil(L); break;
		case 0xc2: lua_pushboolean(L, 0); break;
		case 0xc3: lua_pushboolean(L, 1); break;
		case 0xcc: lua_pushnumber(L, (lua_Number)get_be(c, 1)); break;
		case 0xcd: lua_pushnumber(L, (lua_Number)get_be(c, 2)); break;
		case 0xce: lua_pushnumber(L, (lua_Number)get_be(c, 4)); break;
		case 0xcf: lua_pushnumber(L, (lua_Number)get_be(c, 8)); break;
		case 0xd0: lua_pushnumber(L, (int8_t)get_be(c, 1)); break;
		case 0xd1: lua_pushnumber(L, (int16_t)get_be(c, 2)); break;
		case 0xd2: lua_pushnumber(L, (int32_t)get_be(c, 4)); break;
		case 0xd3: lua_pushnumber(L, (lua_Number)(int64_t)get_be(c, 8)); break;
		case 0xca:
			v = get_be(c, 4);
			{
				uint32_t u = (uint32_t)v;

				memcpy(&f, &u, 4);
			}
			lua_pushnumber(L, f);
			break;
		case 0xcb:
			v = get_be(c, 8);
			memcpy(&d, &v, 8);
			lua_pushnumber(L, d);
			break;
		case 0xc4: case 0xd9: unpack_str(L, c, get_be(c, 1)); break;
		case 0xc5: case 0xda: unpack_str(L, c, get_be(c, 2)); break;
		case 0xc6: case 0xdb: unpack_str(L, c, get_be(c, 4)); break;
		case 0xdc: unpack_array(L, c, get_be(c, 2)); break;
		case 0xdd: unpack_array(L, c, get_be(c, 4)); break;
		case 0xde: unpack_map(L, c, get_be(c, 2)); break;
		case 0xdf: unpack_map(L, c, get_be(c, 4)); break;
		default:
			c->err = 2;
			lua_pushnil(L);
			break;
		}
	}
}

/*
 * Decode up to limit values (0: all) of s from offset; push the next offset
 * first when with_offset (-1 at the end). Returns the number pushed.
 */
static int unpack_generic(lua_State *L, long limit, long offset, int with_offset)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	struct cur c;
	int base, n = 0;

	if (offset < 0 || (size_t)offset > len)
		return luaL_error(L, "Start offset %d greater than input length %d.",
				  (int)offset, (int)len);
	c.p = (const unsigned char *)s + offset;
	c.end = (const unsigned char *)s + len;
	c.err = 0;
	lua_settop(L, 1);
	if (with_offset)
		lua_pushnil(L);             /* the offset, filled at the end */
	base = lua_gettop(L);
	while (c.p < c.end && (limit == 0 || n < limit)) {
		unpack_value(L, &c);
		if (c.err)
			return luaL_error(L, c.err == 1 ? "Missing bytes in input." :
					  "Bad data format in input.");
		n++;
	}
	if (with_offset) {
		lua_pushnumber(L, c.p < c.end ? (lua_Number)((const char *)c.p - s) : -1);
		lua_replace(L, base);
	}
	return n + with_offset;
}

static int mp_unpack(lua_State *L)
{
	return unpack_generic(L, 0, 0, 0);
}

static int mp_unpack_one(lua_State *L)
{
	long off = (long)luaL_optnumber(L, 2, 0);

	return unpack_generic(L, 1, off, 1);
}

static int mp_unpack_limit(lua_State *L)
{
	long limit = (long)luaL_checknumber(L, 2);
	long off = (long)luaL_optnumber(L, 3, 0);

	return unpack_generic(L, limit, off, 1);
}

int script_open_cmsgpack(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "pack", mp_pack }, { "unpack", mp_unpack },
		{ "unpack_one", mp_unpack_one }, { "unpack_limit", mp_unpack_limit },
		{ NULL, NULL },
	};

	lua_newtable(L);
	for (const luaL_Reg *r = fns; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setfield(L, -2, r->name);
	}
	lua_pushliteral(L, "lua-cmsgpack (cowkv)");
	lua_setfield(L, -2, "_NAME");
	return 1;
}
