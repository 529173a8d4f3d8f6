/*
 * limits.h — every size and time limit of smtpprobe, in one place.
 *
 * A hostile or broken server must not make the probe allocate without
 * bound or wait for ever: each buffer, list and wait below has a cap, and
 * each cap says where its number comes from.
 */
#ifndef SMTPPROBE_LIMITS_H
#define SMTPPROBE_LIMITS_H

/* RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
 * Longer lines are recorded as a deviation up to LINE_HARD_MAX, past which
 * the connection is given up: no legitimate server needs 4 KiB a line. */
#define LIMIT_REPLY_LINE_RFC	512
#define LIMIT_REPLY_LINE_HARD	4096

/* Lines in one reply.  EHLO replies are the longest in practice (a few
 * dozen keywords); 100 leaves room and stops an endless "250-" stream. */
#define LIMIT_REPLY_LINES	100

/* Bytes of text kept for one reply (all lines); the rest is counted. */
#define LIMIT_REPLY_BYTES	16384

/* A reply still going on past these is cut and the connection given up:
 * lines received (kept or not) and bytes received.  RFC 5321 sets no
 * number; the longest honest replies (EHLO) are a few dozen lines and a
 * few KiB, so this stops an endless "250-" stream early without ever
 * cutting one of them. */
#define LIMIT_REPLY_LINES_HARD	(10 * LIMIT_REPLY_LINES)
#define LIMIT_REPLY_BYTES_HARD	(4 * LIMIT_REPLY_BYTES)

/* Commands sent and not yet answered on one connection.  RFC 5321
 * §4.3.1 has the client wait for each reply, so without PIPELINING this
 * is one; RFC 2920 §3.1 lets a group (the RCPTs of a transaction) go out
 * at once.  A group never needs more than this. */
#define LIMIT_OUTSTANDING	16

/* Bytes a server sent before it was asked (a reply nobody asked for)
 * that are shown in the transcript; the session is given up there. */
#define LIMIT_EARLY_SHOWN	4096

/* EHLO keywords kept (RFC 5321 §4.1.1.1 sets no number). */
#define LIMIT_EHLO_KEYWORDS	64

/* RFC 5321 §4.5.3.1.1-3: local part 64 octets, domain 255 octets, path 256
 * octets including the angle brackets, so an address is at most 254. */
#define LIMIT_LOCAL_PART	64
#define LIMIT_DOMAIN		255
#define LIMIT_ADDRESS		254

/* RFC 5321 §4.1.1.1: the EHLO argument is a domain or address literal. */
#define LIMIT_HELO_NAME		255

/* Connection targets per address (MX hosts x addresses) and how many of
 * them are actually tried.  RFC 5321 §5.1 asks to try at least two;
 * Postfix tries five addresses by default (smtp_mx_address_limit).
 * LIMIT_ATTEMPTS counts the attempts that cost time: a connection that
 * was made, or one that timed out.  A connection that failed at once
 * (refused, no route) costs next to nothing and counts towards
 * LIMIT_FAST_FAILURES instead, so that dead IPv6 addresses and refusing
 * hosts early in the MX list do not use up the attempts before the later
 * MX hosts are reached (docs/ARCHITECTURE.md, "Trying the servers"). */
#define LIMIT_TARGETS		64
#define LIMIT_ATTEMPTS		8
#define LIMIT_FAST_FAILURES	16
/* Entries kept in a result's attempt list: every attempt, the plain-text
 * retry after a failed TLS handshake that each may add, and the fast
 * failures. */
#define LIMIT_ATTEMPT_RECORDS	(LIMIT_ATTEMPTS * 2 + LIMIT_FAST_FAILURES)

/* Transcript kept per address; beyond it entries are counted, not kept. */
#define LIMIT_TRANSCRIPT_BYTES	(256 * 1024)
#define LIMIT_TRANSCRIPT_ENTRY	1024

/* Findings kept per address. */
#define LIMIT_FINDINGS		64

/* Replies kept per stage. */
#define LIMIT_STAGE_REPLIES	4

/* Default timeouts in milliseconds, per stage.  RFC 5321 §4.5.3.2 gives
 * minimums of 5 minutes for the greeting, MAIL and RCPT; a probe cannot
 * wait that long for thousands of addresses, but the greeting must allow
 * for deliberate banner delays (postscreen, Sendmail greet_pause and Exim
 * are seen holding the banner for 20-30 seconds). */
#define TIMEOUT_DNS_MS		10000
#define TIMEOUT_CONNECT_MS	15000
#define TIMEOUT_GREETING_MS	60000
#define TIMEOUT_EHLO_MS		60000
#define TIMEOUT_STARTTLS_MS	30000
#define TIMEOUT_TLS_MS		30000
#define TIMEOUT_MAIL_MS		120000
#define TIMEOUT_RCPT_MS		120000
#define TIMEOUT_QUIT_MS		10000
/* AUTH (RFC 4954 sets no time): a back end checking a password answers
 * in seconds; the same as the TLS handshake. */
#define TIMEOUT_AUTH_MS		30000
/* Once a reply has begun (a continuation line came), the rest may keep
 * the probe waiting for the stage's timeout divided by this, counted from
 * the last line: a server that falls silent mid-reply did answer, and
 * postscreen's pause between its 220- teaser and the rest (6 s by
 * default) stays well inside it. */
#define TIMEOUT_PARTIAL_REPLY_DIV	2
/* The SOCKS 5 handshake with --proxy (RFC 1928 sets no time): a few round
 * trips with the proxy, and its own connection to the server, which a
 * proxy makes before it answers CONNECT: the connect timeout and as much
 * again. */
#define TIMEOUT_PROXY_MS	30000

/* Certificate expiry: a certificate of the chain that ends within this
 * many days is a warning, within the second an informational finding
 * (renewals are usually automated 30 days ahead, as ACME clients do;
 * one still pending two weeks before the end has likely failed). */
#define LIMIT_CERT_EXPIRY_WARN	14
#define LIMIT_CERT_EXPIRY_INFO	30

/* MTA-STS (RFC 8461): the policy file is small text; RFC 8461 sets no
 * size, and 64 KiB is what other implementations accept (a policy of
 * a thousand MX patterns fits).  Its fetch (connect, TLS, request,
 * answer) is bounded by one timeout, and at most this many "mx" lines
 * are kept. */
#define LIMIT_MTASTS_POLICY	(64 * 1024)
#define TIMEOUT_MTASTS_MS	10000
#define LIMIT_MTASTS_MX		16

/* `smtpprobe explain`: bytes read from one input (stdin or one
 * argument); the rest is dropped and the cut reported.  A bounce message
 * with its quoted headers fits comfortably. */
#define EXPLAIN_INPUT_MAX	(64 * 1024)
/* `smtpprobe explain`: replies taken from one input. */
#define EXPLAIN_REPLIES_MAX	32
/* `smtpprobe explain`: text kept per reply, with its terminating NUL;
 * RFC 5321 §4.5.3.1.5 allows 512 octets a line, and bounces seldom
 * quote more than a few lines. */
#define EXPLAIN_TEXT_MAX	2048

/* --helo-test: pause between its connections (one per candidate name), so
 * that the test does not look like a connection flood to rate limits
 * such as Postfix's anvil or fail2ban. */
#define HELOTEST_PAUSE_MS	1000

/* --relay-test: envelopes asked on one connection (the recipient forms
 * of relaytest.c, each MAIL, RCPT, RSET), and the pause between its
 * unauthenticated and authenticated connections. */
#define RELAYTEST_MAX_TXNS	8
#define RELAYTEST_PAUSE_MS	1000

#endif
