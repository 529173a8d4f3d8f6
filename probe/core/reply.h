/*
 * reply.h — the SMTP reply parser and the EHLO keyword parser.
 *
 * Both are pure: they take lines and give structures, with no I/O, so
 * they can be unit-tested and fuzzed.  The reply parser is tolerant: it
 * records every deviation from RFC 5321 §4.2 (bare LF, over-long lines,
 * different codes on the lines of one reply, a bad separator, control
 * bytes, an enhanced code whose class differs from the reply's) and only
 * gives up when a line has no reply code at all.
 */
#ifndef SMTPPROBE_REPLY_H
#define SMTPPROBE_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* Deviations from RFC 5321 §4.2 found in one reply (bit set). */
enum reply_deviation {
	REPLY_DEV_BARE_LF	= 1u << 0,	/* a line ended in LF without CR (§2.3.8) */
	REPLY_DEV_LINE_TOO_LONG	= 1u << 1,	/* a line over 512 octets (§4.5.3.1.5) */
	REPLY_DEV_MIXED_CODES	= 1u << 2,	/* lines carry different codes (§4.2.1) */
	REPLY_DEV_BAD_SEPARATOR	= 1u << 3,	/* neither SP nor "-" after the code */
	REPLY_DEV_CONTROL_CHARS	= 1u << 4,	/* control bytes or NUL in the text */
	REPLY_DEV_CLASS_MISMATCH = 1u << 5,	/* enhanced class != first digit (RFC 2034 §4) */
	REPLY_DEV_CODE_RANGE	= 1u << 6,	/* code outside 2yz-5yz / [0-5] second digit (§4.2) */
	REPLY_DEV_TRUNCATED	= 1u << 7,	/* more lines or bytes than we keep */
	REPLY_DEV_MALFORMED	= 1u << 8	/* a line with no reply code */
};
#define REPLY_DEV_COUNT 9

/* Short stable names of the deviation bits, for reports ("bare_lf", ...). */
const char *reply_deviation_name(unsigned bit_index);

struct reply_line {
	char	*text;	/* the line after "NNN-" or "NNN ", NUL-terminated copy */
	size_t	 len;	/* bytes in text (text may contain NUL bytes) */
};

/* Why a reply was cut before its last line (REPLY_FATAL). */
enum reply_cut {
	REPLY_CUT_NONE,
	REPLY_CUT_LINES,	/* past LIMIT_REPLY_LINES_HARD lines */
	REPLY_CUT_BYTES		/* past LIMIT_REPLY_BYTES_HARD bytes */
};

struct reply {
	int		 code;		/* the last line's (see reply.c) */
	int		 first_code;	/* the first line's */
	unsigned	 classes;	/* bit 1 << d for each first digit d
					 * seen on the lines */
	int		 esc_class;	/* enhanced code, 0 when absent */
	int		 esc_subject;
	int		 esc_detail;
	uint32_t	 deviations;	/* enum reply_deviation bits */
	size_t		 nlines;	/* lines kept */
	size_t		 lines_seen;	/* lines received, kept or not */
	size_t		 bytes;		/* bytes received for this reply */
	enum reply_cut	 cut;		/* cut at our limits, not malformed */
	bool		 incomplete;	/* handed out with REPLY_FATAL: it never
					 * ended, so it answers nothing */
	struct reply_line lines[LIMIT_REPLY_LINES];
};

struct reply_parser {
	struct reply	*cur;		/* reply being assembled, or NULL */
	size_t		 kept_bytes;
};

enum reply_status {
	REPLY_MORE,	/* the reply goes on; feed the next line */
	REPLY_DONE,	/* *out holds a complete reply, owned by the caller */
	REPLY_FATAL,	/* no reply code: the peer does not speak SMTP; or
			 * the reply went on past our limits (cut) */
	REPLY_NOMEM
};

void reply_parser_init(struct reply_parser *p);
/* Free any half-assembled reply. */
void reply_parser_reset(struct reply_parser *p);

/*
 * Feed one line: line[0..len) without its LF; crlf tells whether a CR
 * preceded the LF (the CR is not part of line).  On REPLY_DONE, *out is a
 * reply to free with reply_free().  On REPLY_FATAL, *out is the partial
 * reply (the caller frees it) so that it can still be shown: with
 * REPLY_DEV_MALFORMED for a line without a code, or with cut set (and
 * REPLY_DEV_TRUNCATED) when it went on past LIMIT_REPLY_LINES_HARD lines
 * or LIMIT_REPLY_BYTES_HARD bytes.
 */
enum reply_status reply_parser_line(struct reply_parser *p, const char *line,
    size_t len, bool crlf, struct reply **out);

void reply_free(struct reply *r);

/*
 * Whether the reply contradicts itself about the outcome: its lines carry
 * codes of different classes (250-... then 550 ...; RFC 5321 §4.2.1 wants
 * one code per reply), or its enhanced code is of another class than its
 * reply code (250 5.1.1; RFC 3463 §2).  Such a reply never decides a
 * verdict (diag.c).
 */
bool reply_contradicts(const struct reply *r);

/* Enhanced code of r as "5.1.1" into buf (empty string when absent). */
const char *reply_esc_str(const struct reply *r, char *buf, size_t len);
/* All lines joined by '\n' into buf, bounded, NUL bytes as '?'. */
const char *reply_text_join(const struct reply *r, char *buf, size_t len);
/* Text of the lines with the enhanced code skipped at the start of each. */
const char *reply_text_join_noesc(const struct reply *r, char *buf, size_t len);

/* What an EHLO reply says the server can do (RFC 5321 §4.1.1.1). */
struct ehlo_caps {
	char		 name[LIMIT_HELO_NAME + 1];	/* first word of the first line */
	bool		 starttls;			/* RFC 3207 */
	bool		 pipelining;			/* RFC 2920 */
	bool		 eightbitmime;			/* RFC 6152 */
	bool		 smtputf8;			/* RFC 6531 */
	bool		 enhancedstatuscodes;		/* RFC 2034 */
	bool		 chunking;			/* RFC 3030 */
	bool		 dsn;				/* RFC 3461 */
	bool		 requiretls;			/* RFC 8689 */
	bool		 has_size;			/* RFC 1870 */
	unsigned long long size;			/* 0 = no fixed limit */
	char		 auth[256];			/* AUTH mechanisms, space-separated */
	size_t		 nkeywords;
	char		 keywords[LIMIT_EHLO_KEYWORDS][32];	/* keywords as sent, upper-cased */
	size_t		 keywords_dropped;
};

/* Parse a 250 reply to EHLO into caps (zeroed first). */
void ehlo_parse(const struct reply *r, struct ehlo_caps *caps);

#endif
