/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Just enough JSON output for the cow tool's --json modes: numbers go out
 * with printf, strings through cow_json_str, which quotes and escapes them.
 */
#ifndef COW_JSON_H
#define COW_JSON_H

#include <stdint.h>
#include <stdio.h>

/* Write s as a JSON string literal ("..." with \", \\ and control
 * characters escaped); NULL is written as null. */
void cow_json_str(FILE *f, const char *s);

/* Write v as a JSON string "0x..." (addresses, frame numbers: 64-bit values
 * that JSON numbers, being doubles for many readers, cannot hold exactly). */
void cow_json_hex(FILE *f, uint64_t v);

/* Write a JSON boolean, or null when v < 0 (unknown). */
void cow_json_tristate(FILE *f, int v);

#endif
