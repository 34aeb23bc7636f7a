/*
 * internal.h — what libcow's source files share. Nothing here is public.
 * Internal names start with cow__.
 */
#ifndef COW_INTERNAL_H
#define COW_INTERNAL_H

#include <cow.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Public functions are the only exported symbols of libcow.so. */
#define COW_API __attribute__((visibility("default")))

#define COW__PAGE ((size_t)COW_PAGE_SIZE)
#define COW__PAGE_SHIFT 12

#endif
