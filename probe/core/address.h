/*
 * address.h — checking the address to probe (RFC 5321 §4.1.2 Mailbox).
 *
 * Pure: no I/O.  The local part is a Dot-string or a Quoted-string (UTF-8
 * allowed, RFC 6531); the domain is a host name (U-labels are converted to
 * A-labels with libidn2, IDNA 2008) or an address literal.  Control bytes
 * (CR, LF, NUL, ...) are refused first of all: they could smuggle commands
 * onto the wire.
 */
#ifndef SMTPPROBE_ADDRESS_H
#define SMTPPROBE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "limits.h"

enum address_error {
	ADDRESS_OK,
	ADDRESS_EMPTY,
	ADDRESS_CONTROL,	/* CR, LF, NUL or another control byte */
	ADDRESS_BAD_UTF8,
	ADDRESS_NO_AT,
	ADDRESS_LOCAL_EMPTY,
	ADDRESS_LOCAL_TOO_LONG,
	ADDRESS_LOCAL_SYNTAX,
	ADDRESS_DOMAIN_EMPTY,
	ADDRESS_DOMAIN_TOO_LONG,
	ADDRESS_DOMAIN_SYNTAX,
	ADDRESS_DOMAIN_IDNA,
	ADDRESS_LITERAL_SYNTAX,
	ADDRESS_TOO_LONG
};

struct address {
	char	local[LIMIT_LOCAL_PART * 4 + 3];	/* as given (quotes kept) */
	char	domain[LIMIT_DOMAIN * 4 + 1];		/* as given (U-labels kept) */
	char	domain_ascii[LIMIT_DOMAIN + 1];		/* A-labels, lower case; literal without brackets */
	char	mailbox[LIMIT_ADDRESS * 4 + 8];		/* local@domain_ascii, for RCPT TO */
	bool	local_utf8;		/* needs SMTPUTF8 (RFC 6531) */
	bool	domain_idn;		/* domain had U-labels */
	bool	literal;		/* [192.0.2.1] or [IPv6:...] */
	struct sockaddr_storage literal_addr;
};

/*
 * Parse and check s.  One pair of angle brackets around the address is
 * accepted.  On failure returns the error and writes a plain sentence to
 * why (which names the offending byte and its position).
 */
enum address_error address_parse(const char *s, struct address *a,
    char *why, size_t whylen);

/* Stable word for an error: "control_character", "syntax", ... */
const char *address_error_name(enum address_error e);

/* True when name is a syntactically valid host name (LDH labels, RFC 1123
 * §2.1), A-label form, at most 255 octets. */
bool address_hostname_ok(const char *name);

#endif
