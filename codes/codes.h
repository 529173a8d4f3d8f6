/*
 * codes.h — what smtpprobe knows about SMTP replies.
 *
 * The command table (which reply codes are legal for which command), the
 * basic reply codes, the enhanced status codes (RFC 3463 and the IANA
 * registry) and the text patterns that refine a diagnosis.  All of it is
 * data: plain files in this directory, turned into C at build time by
 * gen_codes.py.  No I/O, no allocation, no dependency on anything else in
 * the project; every function here is pure and thread-safe.
 */
#ifndef SMTPPROBE_CODES_H
#define SMTPPROBE_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include "codes_category.h"	/* enum codes_category, from categories.tsv */

/* The commands (and pseudo-commands) a reply can answer. */
enum codes_cmd {
	CODES_CMD_GREETING,	/* the connection-opening reply */
	CODES_CMD_EHLO,
	CODES_CMD_HELO,
	CODES_CMD_STARTTLS,
	CODES_CMD_AUTH,
	CODES_CMD_MAIL,
	CODES_CMD_RCPT,
	CODES_CMD_DATA,
	CODES_CMD_BDAT,
	CODES_CMD_RSET,
	CODES_CMD_VRFY,
	CODES_CMD_EXPN,
	CODES_CMD_HELP,
	CODES_CMD_NOOP,
	CODES_CMD_QUIT,
	CODES_CMD_COUNT
};

/* Upper-case name ("GREETING", "EHLO", ...); never NULL for a valid cmd. */
const char *codes_cmd_name(enum codes_cmd cmd);
/* Case-insensitive name (also "MAIL FROM", "RCPT TO", "CONNECT") to cmd;
 * -1 when unknown. */
int codes_cmd_parse(const char *name);

/* How a reply code stands for a command. */
enum codes_legality {
	CODES_LEGAL,		/* listed for the command in RFC 5321 §4.3.2 */
	CODES_LEGAL_EXTENSION,	/* legal through an extension RFC (3207, 4954, 7504, 1870, 3030, 6531, ...) */
	CODES_COMMON,		/* not in any RFC for this command, but common in the wild */
	CODES_ILLEGAL
};

const char *codes_legality_name(enum codes_legality l);	/* "legal", "legal_extension", "common", "illegal" */

/*
 * Check a reply code against the command table.  Codes 421, 500 and 501 are
 * legal for every command (RFC 5321 §4.3.2).  *ref, when not NULL, is set to
 * the source of the verdict (e.g. "RFC 5321 §4.3.2", "RFC 3207 §4") or to
 * NULL for an illegal code.
 */
enum codes_legality codes_check(enum codes_cmd cmd, int code, const char **ref);

/* Permanence of a reply. */
enum codes_permanence {
	CODES_SUCCESS,		/* 2yz */
	CODES_INTERMEDIATE,	/* 3yz */
	CODES_TRANSIENT,	/* 4yz */
	CODES_PERMANENT,	/* 5yz */
	CODES_NOT_A_REPLY	/* 101/111 client-side pseudo codes, or out of range */
};

const char *codes_permanence_name(enum codes_permanence p);	/* "success", "intermediate", "transient", "permanent", "not_a_reply" */

/* A basic (three-digit) reply code. */
struct codes_basic {
	int		 code;
	const char	*meaning;	/* one line, our words */
	const char	*origin;	/* "RFC 5321", "RFC 3207", "vendor: Novell GroupWise", "client pseudo-code", ... */
	const char	*causes;	/* typical causes, one or two sentences */
	const char	*advice;	/* what to do, one or two sentences */
	enum codes_permanence permanence;
};

/* The entry for code, or NULL when the table does not know it. */
const struct codes_basic *codes_basic_lookup(int code);
/* Generic meaning from the first two digits (RFC 5321 §4.2.1), e.g. 55x
 * -> "permanent failure concerning the mail system".  Never NULL. */
const char *codes_basic_generic(int code);
/* Number of entries in the basic table and the i-th entry (for tests and dumps). */
size_t codes_basic_count(void);
const struct codes_basic *codes_basic_at(size_t i);

/* An enhanced status code class.subject.detail (RFC 3463). */
struct codes_enhanced {
	int		 subject;
	int		 detail;
	const char	*title;		/* registry title */
	const char	*meaning;	/* our plain explanation */
	const char	*advice;
	const char	*ref;		/* "RFC 3463", "RFC 7372", ... */
	const char	*vendor_note;	/* NULL, or a note about vendor use */
};

/* Parse "5.1.1" at the start of s (exactly class.subject.detail with class
 * 2, 4 or 5, subject and detail 1-3 digits, followed by end, space or tab).
 * Returns the number of bytes consumed, 0 when s does not start with one. */
size_t codes_enhanced_parse(const char *s, size_t len, int *cls, int *subject, int *detail);

/* The entry for subject.detail, or NULL.  Class is not part of the key. */
const struct codes_enhanced *codes_enhanced_lookup(int subject, int detail);
/* Name of a class ("Success", "Persistent transient failure", "Permanent
 * failure") and of a subject ("Addressing", "Mailbox", ...); "unknown"
 * when out of range.  Never NULL. */
const char *codes_enhanced_class_name(int cls);
const char *codes_enhanced_subject_name(int subject);
size_t codes_enhanced_count(void);
const struct codes_enhanced *codes_enhanced_at(size_t i);

/* Who or what has to change for the mail to get through. */
enum codes_blame {
	CODES_BLAME_NONE,
	CODES_BLAME_RECIPIENT_ADDRESS,
	CODES_BLAME_RECIPIENT_MAILBOX,
	CODES_BLAME_SENDER_ADDRESS,
	CODES_BLAME_SENDER_AUTHENTICATION,	/* SPF / DKIM / DMARC */
	CODES_BLAME_CLIENT_IP_REPUTATION,
	CODES_BLAME_CLIENT_IDENTITY,		/* reverse DNS or HELO name */
	CODES_BLAME_CLIENT_AUTH_TLS,
	CODES_BLAME_RELAY_POLICY,
	CODES_BLAME_CONTENT,
	CODES_BLAME_RATE_LIMIT,
	CODES_BLAME_SERVER,
	CODES_BLAME_PROTOCOL,
	CODES_BLAME_PROXY,			/* a SOCKS proxy (--proxy); never
						 * from a reply, only diag.c's */
	CODES_BLAME_COUNT
};

const char *codes_blame_name(enum codes_blame b);	/* "none", "recipient_address", ..., as in docs/CATEGORIES.md */

/*
 * The diagnosis of one reply: what it means, who must act, what to do.
 * Filled by codes_classify(); every pointer is a static string, never NULL
 * (empty string when there is nothing to say).  codes_category_name()
 * gives the category's name.
 */
struct codes_diagnosis {
	enum codes_permanence	 permanence;
	enum codes_blame	 blame;
	/* CODES_CAT_USER_UNKNOWN, ...; CODES_CAT_ACCEPTED for success */
	enum codes_category	 category;
	const char		*meaning;	/* what the reply means, one or two sentences */
	const char		*cause;		/* the likely cause */
	const char		*advice;	/* what to do */
	const char		*rule;		/* id of the text pattern that matched, or "" */
};

/*
 * Classify a reply.  cmd is the command it answers (or -1 when unknown);
 * cls/subject/detail is the enhanced code (cls 0 when absent); text is the
 * reply text, all lines joined by '\n', without the codes.  Precedence: text
 * patterns and the enhanced code refine the basic code, and the command
 * matters (a 550 at RCPT whose text blames the client's hostname is about the
 * client, not the recipient).
 */
void codes_classify(int cmd, int code, int cls, int subject, int detail,
    const char *text, struct codes_diagnosis *out);

/*
 * The address a reply points to instead of the one asked for: the new
 * address of a moved mailbox (551 "User not local; please try
 * <forward-path>", RFC 5321 §3.4; X.1.6 "User has moved to ...") or the
 * forward path of a 251.  The last word with an '@' in text that is not
 * skip (the recipient, or NULL), without its angle brackets or quotes,
 * into buf; false when there is none.
 */
bool codes_text_address(const char *text, const char *skip, char *buf,
    size_t len);

/*
 * Additions for tests, dumps and `smtpprobe explain` (iteration over the
 * tables; the pointers are static, never freed).
 */
/* Rows of the command table; cmd is -1 for a row that applies to every
 * command (421, 500, 501).  False when i is out of range. */
size_t codes_cmd_rule_count(void);
bool codes_cmd_rule_at(size_t i, int *cmd, int *code, enum codes_legality *l,
    const char **ref);
/* Vendor families of enhanced codes kept as ranges (e.g. Microsoft
 * 5.7.606-649); e->detail is the low end, *detail_hi the high end.
 * codes_enhanced_lookup() falls back on them after the exact entries. */
size_t codes_enhanced_range_count(void);
const struct codes_enhanced *codes_enhanced_range_at(size_t i, int *detail_hi);
/* The categories codes_classify() can return, with their default blame;
 * codes_category_at(i) is the name of category i. */
size_t codes_category_count(void);
const char *codes_category_at(size_t i, enum codes_blame *blame);
/* "user_unknown", ... as in categories.tsv; "unknown" out of range. */
const char *codes_category_name(enum codes_category c);
/* Ids of the text patterns, in matching order. */
size_t codes_pattern_count(void);
const char *codes_pattern_id(size_t i);

#endif
