/*
 * batchinput.h — reading a list of addresses for batch mode (--batch).
 *
 * One address per line.  Blank lines and lines whose first non-blank
 * character is '#' are skipped; spaces and tabs around an address are
 * trimmed; CRLF line ends are accepted, and so is a UTF-8 byte-order mark
 * on the first line.  A line that holds a NUL byte, a carriage return
 * anywhere but at its end, or more than BATCH_LINE_MAX bytes is an
 * invalid entry, reported with its line number and the reason; nothing is
 * ever cut silently.  Other control bytes are left to the address checker,
 * which refuses them with their position.
 *
 * The reader keeps at most BATCH_LINE_MAX + 1 bytes of one line, however
 * long the line is.  The duplicate table remembers every distinct address
 * as two 64-bit hashes (not the text), so it costs 32 bytes per address,
 * up to BATCH_SEEN_MAX addresses; past that, duplicates are no longer
 * recognised (batch_seen_put says so).
 */
#ifndef SMTPPROBE_BATCHINPUT_H
#define SMTPPROBE_BATCHINPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bytes of one line, without its line end.  An address is at most 254
 * octets (RFC 5321 §4.5.3.1.3); 1 KiB leaves room for U-labels and
 * surrounding blanks while still catching binary junk. */
#define BATCH_LINE_MAX		1024

/* Distinct addresses remembered for duplicate detection (32 MiB). */
#define BATCH_SEEN_MAX		(1u << 20)

enum batch_line_kind {
	BATCH_LINE_ADDRESS,	/* text holds the trimmed address */
	BATCH_LINE_SKIP,	/* blank or comment */
	BATCH_LINE_INVALID	/* why says what is wrong; text (len bytes, NUL
				 * bytes included) is for display */
};

struct batch_line {
	enum batch_line_kind	 kind;
	unsigned long		 lineno;	/* 1-based */
	size_t			 len;		/* bytes in text */
	char			 text[BATCH_LINE_MAX + 16];
	char			 why[160];
};

/*
 * Classify one line: raw[0..kept) are the first bytes of a line of
 * total bytes (its line end, LF, not included; a CR before the LF is
 * still in raw).  kept <= BATCH_LINE_MAX + 1.  nul_at and cr_at are the
 * 0-based positions of the first NUL and of the first CR in the whole
 * line (also past kept), or -1.  first is true for line 1 (a byte-order
 * mark is skipped there).  Pure.
 */
void batch_line_classify(const char *raw, size_t kept, size_t total,
    long nul_at, long cr_at, bool first, unsigned long lineno,
    struct batch_line *out);

struct batch_reader {
	FILE		*in;
	unsigned long	 lineno;
	bool		 eof;
	int		 error;		/* errno of a read error, else 0 */
	/* --column NAME: the list is CSV with a header row, the address is
	 * in that column.  NULL for a plain list. */
	const char	*column;
	long		 col;		/* its index; -1 before the header */
	bool		 no_column;	/* the header has no such column */
	char		 buf[BATCH_LINE_MAX + 2];
};

/* column: NULL, or the CSV column holding the addresses. */
void batch_reader_init(struct batch_reader *r, FILE *in, const char *column);
/* Next line (skipped lines included, as BATCH_LINE_SKIP; the header of a
 * CSV list too): 1, or 0 at the end of the input or on a read error
 * (then r->error is set; a CSV header without the column also sets
 * no_column). */
int batch_reader_next(struct batch_reader *r, struct batch_line *out);

/*
 * CSV (RFC 4180), one row: field k (from 0) of s[0..len) into out
 * (quotes removed, doubled quotes undone, blanks around it trimmed).
 * 1; 0 when the row has fewer fields; -1 when a quoted field is not
 * closed on the line (fields spanning lines are not read).  Pure.
 */
int batch_csv_field(const char *s, size_t len, size_t k, char *out,
    size_t outlen);
/* The index of the column called name (case-insensitive) in the header
 * row s; -1 when there is none. */
long batch_csv_column(const char *s, size_t len, const char *name);

/* The set of addresses seen so far. */
struct batch_seen_entry {
	uint64_t	h1, h2;
	uint32_t	index;		/* of the first occurrence */
	uint32_t	line;		/* its input line, 0 for the command line */
	uint8_t		state;		/* the caller's: pending, done, ... */
	uint8_t		verdict;
	uint8_t		exit_code;
	uint8_t		reason;		/* the caller's code for the reason */
	uint32_t	used;
};

struct batch_seen {
	struct batch_seen_entry	*slots;
	size_t			 nslots;	/* a power of two */
	size_t			 n;
	bool			 full;		/* BATCH_SEEN_MAX reached */
};

void batch_seen_init(struct batch_seen *s);
void batch_seen_free(struct batch_seen *s);
/*
 * Look key up; when absent, record it with index and line.  Returns the
 * entry (the earlier one for a duplicate: *dup is then true), or NULL
 * when the table is full or out of memory (the key is then not
 * remembered).  The pointer is valid until the next batch_seen_put.
 */
struct batch_seen_entry *batch_seen_put(struct batch_seen *s, const char *key,
    size_t len, uint32_t index, uint32_t line, bool *dup);
/* The entry of key, or NULL. */
struct batch_seen_entry *batch_seen_get(struct batch_seen *s, const char *key,
    size_t len);

/* The duplicate key of an address: the local part as written, "@", the
 * domain in lower case (callers pass the A-label form). */
size_t batch_dup_key(const char *local, const char *domain, char *out,
    size_t outlen);

#endif
