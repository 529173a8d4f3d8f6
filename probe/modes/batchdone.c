/*
 * batchdone.c — the table of entries answered before (batchdone.h).
 */
#include <stdlib.h>
#include <string.h>

#include "batchdone.h"

/* v: bit 31 set, verdict (2 bits), exit status (8), reason (8), the
 * address's check byte (8). */
static uint32_t
pack(enum verdict v, enum reason r, int exit_code, uint8_t check)
{
	return UINT32_C(1) << 31 | ((uint32_t)v & 3) << 24 |
	    ((uint32_t)exit_code & 0xff) << 16 | ((uint32_t)r & 0xff) << 8 |
	    check;
}

uint8_t
batch_done_check(const char *address)
{
	uint32_t h = UINT32_C(2166136261);
	size_t i;

	/* The first bytes only: a report cuts a very long entry. */
	for (i = 0; i < 200 && address[i] != '\0'; i++)
		h = (h ^ (unsigned char)address[i]) * UINT32_C(16777619);
	/* 0 stands for "not checked": never the check of an address. */
	return (uint8_t)(h % 255 + 1);
}

bool
batch_done_get(const struct batch_done *d, unsigned long index,
    enum verdict *v, enum reason *r, int *exit_code, uint8_t *check)
{
	uint32_t x;

	if (d == NULL || index >= d->n || (x = d->v[index]) == 0)
		return false;
	*v = (enum verdict)(x >> 24 & 3);
	*exit_code = (int)(x >> 16 & 0xff);
	*r = (enum reason)(x >> 8 & 0xff);
	*check = (uint8_t)(x & 0xff);
	return true;
}

void
batch_done_free(struct batch_done *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

bool
batch_done_put(struct batch_done *d, unsigned long index, enum verdict v,
    enum reason r, int exit_code, uint8_t check)
{
	size_t cap = d->cap;

	if (index >= d->cap) {
		while (cap <= index)
			cap = cap ? cap * 2 : 1024;
		uint32_t *p = realloc(d->v, cap * sizeof(*p));
		if (p == NULL)
			return false;
		memset(p + d->cap, 0, (cap - d->cap) * sizeof(*p));
		d->v = p;
		d->cap = cap;
	}
	if (index >= d->n)
		d->n = index + 1;
	if (d->v[index] == 0)
		d->count++;
	d->v[index] = pack(v, r, exit_code, check);
	return true;
}
