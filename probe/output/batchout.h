/*
 * batchout.h — batch results into a file that survives a crash, and what
 * such a file says is done (--output FILE, --resume; docs/BATCH.md).
 *
 * Each result is one line (a JSON object, or a CSV row after a header
 * line), made in memory and handed to the kernel in one write(2) on a
 * descriptor opened with O_APPEND: a killed process leaves whole lines,
 * and at most one last line cut short (a write of several pages can be
 * cut at a page by SIGKILL).  --resume reads the file back: the indexes
 * already answered, with their verdict (for the duplicates of those
 * addresses still to come) and a check byte of the address (a list that
 * changed is refused); a last line without its newline is cut off the
 * file before anything is appended.
 *
 * Owns the descriptor and the table of answered indexes (4 bytes per
 * entry of the list, up to the highest index answered).  Lines whose
 * reason is "interrupted" are not answers: they are neither written nor
 * counted as done, so a resumed run asks those addresses again.
 */
#ifndef SMTPPROBE_BATCHOUT_H
#define SMTPPROBE_BATCHOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "batchdone.h"
#include "result.h"

struct batch_item_info;

enum batch_format {
	BATCH_FORMAT_TEXT,
	BATCH_FORMAT_JSON,	/* JSON Lines */
	BATCH_FORMAT_CSV	/* RFC 4180, a header line first */
};

/* The output file of a batch. */
struct batch_out {
	int			 fd;
	enum batch_format	 format;
	char			*buf;		/* one record, made in memory */
	size_t			 len;
	FILE			*mem;		/* writes into buf */
};

/*
 * Open path for appending results in format (JSON or CSV).  With resume,
 * read it first into done (repairing a cut last line); a file of the
 * other format, or a line that is not a result, is an error.  A CSV file
 * that is new or empty gets its header.  0, or -1 with a message in err.
 */
int	batch_out_open(struct batch_out *o, const char *path,
	    enum batch_format format, bool resume, struct batch_done *done,
	    char *err, size_t errlen);
/* One result as one line; false when it could not be written (errno). */
bool	batch_out_write(struct batch_out *o, const struct probe_result *r,
	    const struct batch_item_info *info);
/* 0, or -1 when closing failed (errno). */
int	batch_out_close(struct batch_out *o);

/* What resume reads back from one line of a results file: pure, for the
 * tests.  true when the line is a result (the fields set). */
struct batch_done_line {
	unsigned long	 index;
	char		 address[LIMIT_ADDRESS * 4 + 8];
	enum verdict	 verdict;
	enum reason	 reason;
	int		 exit_code;
};
bool	batch_done_parse(const char *line, size_t len, enum batch_format f,
	    struct batch_done_line *out);

#endif
