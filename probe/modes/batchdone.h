/*
 * batchdone.h — which entries of a list were answered before (--resume),
 * with their verdict: 4 bytes per entry up to the highest index answered.
 * The results file that says so is read by output/batchout.c; the batch
 * skips those entries and answers their later duplicates from here.
 */
#ifndef SMTPPROBE_BATCHDONE_H
#define SMTPPROBE_BATCHDONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

/* The entries a file says are answered, by index. */
struct batch_done {
	uint32_t	*v;		/* 0: not done; else batch_done_pack() */
	size_t		 n;		/* entries of v in use */
	size_t		 cap;
	unsigned long	 count;		/* indexes done */
	unsigned long	 cut;		/* bytes of a cut last line dropped */
};

/* The check byte of an address as given. */
uint8_t	batch_done_check(const char *address);
/* Entry index of d: true with its verdict, reason and exit status when
 * it is done (the check byte in *check). */
bool	batch_done_get(const struct batch_done *d, unsigned long index,
	    enum verdict *v, enum reason *r, int *exit_code, uint8_t *check);
void	batch_done_free(struct batch_done *d);

/* Entry index is done, with its verdict, reason, exit status and check
 * byte; false without memory. */
bool	batch_done_put(struct batch_done *d, unsigned long index,
	    enum verdict v, enum reason r, int exit_code, uint8_t check);

#endif
