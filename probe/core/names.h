/*
 * names.h — the name of an enum value from a table of names, with the
 * one bounds check every such table needs: a value past the table (or a
 * hole in it) gets the caller's fallback, never a read past the end.
 *
 * Owns nothing; header only, no I/O.
 */
#ifndef SMTPPROBE_NAMES_H
#define SMTPPROBE_NAMES_H

#include <stddef.h>

static inline const char *
name_of(const char *const *names, size_t n, unsigned v, const char *fallback)
{
	return v < n && names[v] != NULL ? names[v] : fallback;
}

/* names must be the array itself, not a pointer, for its length. */
#define NAME_OF(names, v, fallback)					\
	name_of((names), sizeof(names) / sizeof((names)[0]), (unsigned)(v), \
	    (fallback))

#endif
