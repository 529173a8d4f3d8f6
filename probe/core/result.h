/*
 * result.h — everything smtpprobe learns about one address.
 *
 * The engine (probe.c, session.c) records facts here; diag.c turns them
 * into stage explanations, findings and the verdict; report.c prints them.
 * One struct probe_result per address owns every reply and transcript
 * entry in it; result_clear() frees them.  A result holds what it
 * recorded: replies, findings, MX hosts, attempts, explanations and
 * server identities are arrays (a pointer and a count, read as
 * r->findings[i]) allocated on first use and grown up to the limits of
 * limits.h; the capabilities, the TLS facts, the client audit and the
 * stages' error texts are allocated when a connection produces them.
 * An idle result costs a few KiB (7.4 KiB on x86-64).
 */
#ifndef SMTPPROBE_RESULT_H
#define SMTPPROBE_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "address.h"
#include "codes.h"
#include "identity.h"
#include "limits.h"
#include "probe_ids.h"
#include "reply.h"
#include "resolver.h"
#include "socks.h"
#include "tlsconn.h"

struct mtasts_info;

enum stage {
	STAGE_ADDRESS,
	STAGE_DNS,
	STAGE_CONNECT,
	STAGE_PROXY,		/* the SOCKS handshake, only with --proxy */
	STAGE_GREETING,
	STAGE_EHLO,
	STAGE_STARTTLS,
	STAGE_TLS,
	STAGE_AUTH,		/* RFC 4954, only with --auth-user */
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_QUIT,
	STAGE_COUNT
};

const char *stage_name(enum stage s);

struct probe_result;
/* Whether a report shows stage s of r: the proxy stage only when a
 * proxy was used, every other stage always. */
bool stage_reported(const struct probe_result *r, enum stage s);

enum stage_status {
	STATUS_SKIPPED,
	STATUS_OK,
	STATUS_WARN,
	STATUS_FAIL,
	STATUS_NOT_ASKED	/* after the stop point (--quit-after) */
};

const char *stage_status_name(enum stage_status s);

/* A reply with the command it answered. */
struct rec_reply {
	int			 cmd;		/* enum codes_cmd */
	char			 command[LIMIT_ADDRESS * 4 + 32];	/* line sent, "" for the greeting */
	struct reply		*reply;		/* owned */
	double			 elapsed_ms;	/* from sending to the last line */
	double			 sent_ms;	/* monotonic ms when sent; 0: unknown */
	enum codes_legality	 legality;
	const char		*legality_ref;
	bool			 untrusted;	/* the server's replies were out of
						 * step here: this one may answer
						 * another command */
};

/* Why a stage is not ok, in words for people and a word for programs.
 * The category is an enum codes_category (a reply's diagnosis) or an enum
 * diag_category (diag.c's own, from stage_categories.tsv). */
struct explanation {
	bool			 present;
	int			 category;
	enum codes_blame	 blame;
	enum codes_permanence	 permanence;
	const char		*meaning;	/* never NULL when present */
	const char		*cause;
	const char		*action;
	char			*text;		/* owned: the three above */
};

/* Bytes kept of each text of an explanation, with the NUL. */
#define EXPL_TEXT_MAX	512

/* "user_unknown", "connect_timeout", ...; "unknown" out of range. */
const char *expl_category_name(int category);
/* Fill e (present from now on); the texts are copied (at most
 * EXPL_TEXT_MAX - 1 bytes each) and may be e's own.  Without memory they
 * are left empty. */
void expl_set(struct explanation *e, int category, enum codes_blame blame,
    enum codes_permanence permanence, const char *meaning, const char *cause,
    const char *action);

struct stage_rec {
	enum stage_status	status;
	size_t			nreplies;
	struct rec_reply	*replies;	/* nreplies, at most LIMIT_STAGE_REPLIES */
	size_t			replies_cap;
	size_t			replies_dropped;
	double			elapsed_ms;
	bool			timed_out;
	/* Timed out inside a reply that had begun (continuation lines,
	 * then silence). */
	bool			unfinished;
	/* Our own failure (errno, OpenSSL), not the server's; owned, NULL
	 * for none (stage_error() reads it, result_stage_error() sets
	 * it). */
	char			*error;
	struct explanation	expl;
};

/* Bytes kept of a stage's error text, with the NUL. */
#define STAGE_ERROR_MAX	256

/* The error text of stage s, "" when it has none. */
const char *stage_error(const struct stage_rec *s);

enum severity {
	SEV_INFO,
	SEV_WARNING,
	SEV_ERROR
};

const char *severity_name(enum severity s);

/* The finding table (probe/findings.tsv): the id as reports print it, the
 * usual severity, the stages a finding may be filed under (a mask of
 * FINDING_STAGE_BIT(stage)) and the reference, NULL for none. */
#define FINDING_STAGE_BIT(st)	(1u << (st))
#define FINDING_ANY_STAGE	((1u << STAGE_COUNT) - 1)
const char *finding_name(enum finding_id id);
enum severity finding_severity(enum finding_id id);
unsigned finding_stages(enum finding_id id);
const char *finding_ref(enum finding_id id);

struct finding {
	enum finding_id	 id;
	enum severity	 severity;
	enum stage	 stage;
	char		 message[512];
	char		 evidence[512];
	const char	*ref;
};

struct attempt {
	char	host[RESOLVER_NAME_MAX];
	char	ip[64];
	int	port;
	char	outcome[32];
	char	detail[256];
};

/* DANE (RFC 7672) for one MX host: its TLSA answer, then what the
 * handshake with it found (dane.c). */
enum dane_state {
	DANE_NOT_LOOKED_UP,	/* no TLS, an IP address, or not asked */
	DANE_LOOKUP_FAILED,	/* SERVFAIL, timeout, ...: could not tell */
	DANE_NO_TLSA,		/* NXDOMAIN or NODATA */
	DANE_UNAUTHENTICATED,	/* records without the AD bit: not used */
	DANE_UNUSABLE,		/* authenticated, none of usage 2 or 3 */
	DANE_USABLE,		/* authenticated usable records, not matched yet */
	DANE_MATCH,
	DANE_MISMATCH
};

/* "not_looked_up", "lookup_failed", "no_tlsa", "unauthenticated",
 * "unusable", "usable", "match", "mismatch". */
const char *dane_state_name(enum dane_state d);

struct mx_info {
	unsigned		pref;
	char			host[RESOLVER_NAME_MAX];
	enum resolver_status	status;
	size_t			naddrs;
	char			addrs[RESOLVER_MAX_ADDRS][64];
	char			cname[RESOLVER_NAME_MAX];	/* the host is an alias of this; "" if not */
	bool			is_ip;		/* the MX target is an IP address, not a name */
	enum dane_state		dane;
	unsigned		ntlsa;		/* TLSA records in the answer */
	/* The records ("3 1 1 0a1b2c3d...", data cut), then after a
	 * handshake the one that matched or what the server presented. */
	char			tlsa[192];
	char			dane_detail[192];
	/* MTA-STS (mtasts.c): the host fits the policy's mx patterns; the
	 * handshake with it met the policy's TLS requirements. */
	enum ident_check	sts_match;
	enum ident_check	sts_cert;
};

struct transcript_entry {
	double	 t_ms;
	char	 dir;		/* 's' sent, 'r' received, 'e' received
				 * early (before anything asked for it),
				 * 'i' info */
	char	*text;		/* owned, raw bytes (escaped on output) */
	size_t	 len;
};

/* How a session with one server ended. */
enum session_outcome {
	OUTCOME_NONE,
	OUTCOME_CONNECT_FAILED,
	OUTCOME_CONNECT_TIMEOUT,
	OUTCOME_GREETING_REJECTED,	/* 5xx greeting */
	OUTCOME_GREETING_TEMPORARY,	/* 4xx greeting */
	OUTCOME_TLS_RETRY_PLAIN,	/* handshake failed; try again without TLS */
	OUTCOME_TLS_REQUIRED_FAILED,
	OUTCOME_HELO_REJECTED,		/* EHLO and HELO both refused */
	OUTCOME_ANSWERED,		/* MAIL/RCPT gave a definite answer */
	OUTCOME_TIMEOUT,
	OUTCOME_LOST,
	OUTCOME_PROTOCOL_ERROR,
	OUTCOME_LOCAL_ERROR,
	OUTCOME_AUTH_FAILED,		/* AUTH refused or not possible: nothing more asked */
	OUTCOME_PROXY_FAILED		/* the SOCKS proxy itself failed: unreachable,
					 * authentication, not SOCKS 5, handshake */
};

const char *session_outcome_name(enum session_outcome o);

enum verdict {
	VERDICT_DELIVERABLE,
	VERDICT_UNDELIVERABLE,
	VERDICT_RISKY,
	VERDICT_UNKNOWN
};

const char *verdict_name(enum verdict v);
/* A reason's word (reasons.tsv); "" for REASON_NONE. */
const char *reason_name(enum reason r);

/* The SOCKS 5 proxy (--proxy), as the last connection's handshake left
 * it; the password is never kept here. */
struct proxy_info {
	char	url[SOCKS_NAME_MAX + SOCKS_USER_MAX + 32];	/* no password */
	bool	remote_dns;		/* socks5h: the proxy resolves names */
	char	step[16];		/* where it stopped: "connect", "method",
					 * "auth", "request", "done"; "" none */
	int	method;			/* its choice; -1 none */
	int	auth_status;		/* RFC 1929 status; -1 not asked */
	int	reply;			/* CONNECT reply code; -1 none */
	bool	not_socks;		/* it did not answer in SOCKS 5 */
	bool	timed_out;
	char	bound[64];		/* its address towards the server; "" none */
	int	bound_port;
};

/* --self-check: could port 25 (--port) be opened to a server, and what
 * came first; filled by diag_reachability(). */
struct reachability {
	bool	checked;	/* a server was to be greeted */
	bool	reachable;	/* a TCP connection (or tunnel) was made */
	bool	smtp;		/* and the first line was an SMTP greeting */
	char	text[512];	/* the line for people */
};

/* What a result's verdict is about: the mode hands this fact down, the
 * diagnosis (diag.c) decides what it means. */
enum result_kind {
	RESULT_ADDRESS,		/* the address: deliverable or not */
	RESULT_SELF_CHECK,	/* no mailbox: the client audit decides */
	RESULT_SELF_CHECK_LOCAL,	/* no server at all: the local address,
					 * its reverse DNS, the HELO name */
	RESULT_RELAY_PASS	/* the relay test's forms: no recipient of its own */
};

struct probe_result {
	char			 input[LIMIT_ADDRESS * 4 + 8];	/* as given, cut */
	size_t			 input_len;	/* bytes in input: a --batch
						 * line may hold NUL bytes */
	bool			 input_cut;
	struct address		 addr;
	enum address_error	 addr_error;
	char			 addr_why[256];

	/* DNS */
	bool			 dns_done;
	enum resolver_status	 dns_status;
	char			 dns_detail[160];
	bool			 implicit_mx;
	bool			 null_mx;
	char			 dns_cname[RESOLVER_NAME_MAX];	/* the domain is an alias of this */
	size_t			 nmx;
	struct mx_info		*mx;		/* nmx, at most RESOLVER_MAX_MX */
	size_t			 mx_cap;

	/* connections */
	size_t			 nattempts;
	struct attempt		*attempts;	/* at most LIMIT_ATTEMPT_RECORDS */
	size_t			 attempts_cap;
	bool			 has_server;
	char			 server_host[RESOLVER_NAME_MAX];
	char			 server_ip[64];
	int			 server_port;
	struct sockaddr_storage	 server_addr;	/* with the port; as tried */
	socklen_t		 server_addrlen;
	struct sockaddr_storage	 local_addr;	/* our end, once connected */
	socklen_t		 local_addrlen;	/* 0 until then */
	enum session_outcome	 outcome;
	enum stage		 outcome_stage;	/* where the last session stopped */
	struct proxy_info	*proxy;		/* owned; NULL without --proxy */
	/* The first bytes the last server sent (up to the first line end),
	 * raw; escaped on output. */
	char			 first_bytes[128];
	size_t			 first_bytes_len;
	struct reachability	*reach;		/* owned; NULL but for --self-check */

	/* The last EHLO reply's capabilities: owned, NULL until one was
	 * parsed (result_caps()) and after they were forgotten. */
	struct ehlo_caps	*caps;
	int			 catch_all_code;	/* --catch-all: the made-up
						 * recipient's answer; 0: not asked */
	bool			 tls_done;
	bool			 tls_implicit;	/* TLS from the connect (RFC 8314) */
	/* The handshake's facts: owned, NULL until one was done
	 * (result_tls()); read them through result_tls_info(). */
	struct tlsconn_info	*tls;
	struct mtasts_info	*mtasts;	/* MTA-STS and TLS-RPT of the
						 * domain; NULL when not asked */

	/* reverse DNS, banner names, client self-audit (identity.c) */
	struct identity		 ident;
	bool			 self_check_only;	/* --self-check without a mailbox */
	enum result_kind	 kind;
	enum stage		 stop_after;	/* --quit-after: the last stage
						 * asked; STAGE_ADDRESS: every one */
	bool			 identity_checked;	/* identity.c looked things up */
	size_t			 skipped_stalled;	/* server addresses not tried:
							 * they timed out earlier */

	struct stage_rec	 stages[STAGE_COUNT];

	size_t			 nfindings;
	size_t			 findings_dropped;
	struct finding		*findings;	/* nfindings, at most LIMIT_FINDINGS */
	size_t			 findings_cap;
	/* MX hosts, attempts and server identities not kept for want of
	 * memory. */
	size_t			 nomem_dropped;

	size_t			 ntranscript;
	size_t			 transcript_cap;
	size_t			 transcript_bytes;
	size_t			 transcript_dropped;
	struct transcript_entry	*transcript;
	size_t			 transcript_session;	/* where the last session's
						 * entries begin */
	double			 t0;		/* monotonic ms at start */
	double			 elapsed_ms;	/* the whole probe, to its verdict */

	enum verdict		 verdict;
	enum reason		 reason;
	char			 summary[512];
	int			 exit_code;
	bool			 local_error;
	char			 local_error_msg[256];
};

void result_init(struct probe_result *r, const char *input);
/* The input as given: len bytes, NUL bytes included (cut to fit). */
void result_set_input(struct probe_result *r, const char *input,
    size_t len);
/* Every connection of r goes through the proxy url (shown, no password):
 * r->proxy is set up.  False without memory (a local error). */
bool result_use_proxy(struct probe_result *r, const char *url,
    bool remote_dns);
void result_clear(struct probe_result *r);
/* Forget the per-connection stages (connect .. quit) before a new
 * session; findings, attempts and transcript stay. */
void result_reset_session(struct probe_result *r);

/*
 * What a connection produces is allocated when it is produced: the
 * capabilities, the TLS facts, the client self-audit.  Each accessor
 * below returns the record to fill, allocated (zeroed) on first use, or
 * NULL without memory; the caller then records nothing.  Readers take a
 * NULL pointer as "nothing recorded", the same as the zeroed record.
 */
/* r->caps; NULL without memory (r is then a local error). */
struct ehlo_caps *result_caps(struct probe_result *r);
/* Forget the capabilities (a new session; after STARTTLS, RFC 3207
 * §4.2, EHLO is asked again). */
void result_drop_caps(struct probe_result *r);
/* r->tls; NULL without memory (r is then a local error). */
struct tlsconn_info *result_tls(struct probe_result *r);
/* r's TLS facts for reading: never NULL, all zero when none were
 * recorded. */
const struct tlsconn_info *result_tls_info(const struct probe_result *r);
/* r->ident.client; NULL without memory (counted in nomem_dropped). */
struct ident_client *result_client(struct probe_result *r);
/* Set stage st's error text (printf-style, cut to STAGE_ERROR_MAX - 1
 * bytes); the arguments may be its current text.  Without memory it has
 * none and r is a local error. */
void result_stage_error(struct probe_result *r, enum stage st,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Add a finding (printf-style message) with the severity and reference of
 * its row in findings.tsv; beyond LIMIT_FINDINGS they are counted.
 * evidence may be NULL. */
void result_finding(struct probe_result *r, enum finding_id id,
    enum stage st, const char *evidence, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same with the severity and reference chosen by the caller, for the
 * findings whose weight depends on the run (--tls required, a 521). */
void result_finding_sev(struct probe_result *r, enum finding_id id,
    enum severity sev, enum stage st, const char *ref, const char *evidence,
    const char *fmt, ...) __attribute__((format(printf, 7, 8)));
bool result_has_finding(const struct probe_result *r, enum finding_id id);

/* A new, zeroed MX host entry (nmx counts it), or NULL when RESOLVER_MAX_MX
 * are kept or memory is short; the latter is a local error. */
struct mx_info *result_add_mx(struct probe_result *r);
/* A new, zeroed attempt entry, or NULL when LIMIT_ATTEMPT_RECORDS are
 * kept or memory is short (counted in nomem_dropped). */
struct attempt *result_add_attempt(struct probe_result *r);
/* Room for element n of the array *arrp of elem-byte elements, *cap of
 * them allocated, at most max: grows it (1, 2, 4, ...) when needed.  False
 * when n >= max or without memory; the array is then unchanged. */
bool result_grow(void *arrp, size_t *cap, size_t n, size_t max, size_t elem);
/* Element *n of that array, grown as result_grow() does, zeroed and
 * counted in *n; NULL when the array holds max already or memory is
 * short, the latter counted in *nomem (unless NULL). */
void *result_append(void *arrp, size_t *cap, size_t *n, size_t max,
    size_t elem, size_t *nomem);

/* Append to the transcript (bounded by LIMIT_TRANSCRIPT_BYTES). */
void result_transcript(struct probe_result *r, char dir, const char *text,
    size_t len);
void result_transcriptf(struct probe_result *r, char dir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A transcript direction as a word for JSON ("send", "recv", "early",
 * "info") and as the mark of the text report ("->", "<-", "<!", "**"). */
const char *transcript_dir_name(char dir);
const char *transcript_dir_mark(char dir);

/* Record reply rp (ownership taken) for stage st; the legality is
 * checked against the command table here. */
struct rec_reply *result_add_reply(struct probe_result *r, enum stage st,
    int cmd, const char *command, struct reply *rp, double elapsed_ms);

/* Fill rr (a record kept outside the stages, e.g. a plan's) with reply
 * rp (ownership taken) to command `command` and check its legality
 * against the command table; no finding is made yet. */
void rec_reply_set(struct rec_reply *rr, int cmd, const char *command,
    struct reply *rp, double elapsed_ms);

/* Put the reply of record rr into stage st (ownership moves; rr->reply
 * becomes NULL) and make the findings its deviations call for, as
 * result_add_reply() does. */
struct rec_reply *result_file_reply(struct probe_result *r, enum stage st,
    struct rec_reply *rr);

/* Make the findings record rr's deviations call for, in stage st; the
 * reply stays in the record. */
void result_note_reply(struct probe_result *r, enum stage st,
    const struct rec_reply *rr);

/* Batch mode: make dst (its input and address already set) a copy of
 * src's session — DNS, attempts, server, stages but RCPT, findings but
 * RCPT's, identity, transcript — for another recipient of the same
 * transaction.  Replies and transcript are copied, not shared. */
void result_copy_shared(struct probe_result *dst,
    const struct probe_result *src);

/*
 * The DNS facts of a domain kept apart from any result, sized by what
 * they hold (batch mode keeps one per domain while addresses of it wait,
 * where a whole result would cost 7 KiB even idle): the status, the MX
 * hosts and their addresses, an address literal, the DNS stage and its
 * findings, the transcript, a local error.
 */
struct probe_dns {
	bool			 literal;	/* the domain is an address literal */
	struct sockaddr_storage	 literal_addr;
	bool			 dns_done;
	enum resolver_status	 dns_status;
	char			 dns_detail[160];
	bool			 implicit_mx;
	bool			 null_mx;
	char			 dns_cname[RESOLVER_NAME_MAX];
	size_t			 nmx;
	struct mx_info		*mx;
	struct stage_rec	 stage;		/* STAGE_DNS */
	size_t			 nfindings;
	struct finding		*findings;	/* those filed under STAGE_DNS */
	size_t			 ntranscript;
	struct transcript_entry	*transcript;
	struct mtasts_info	*mtasts;	/* the domain's MTA-STS facts */
	size_t			 nomem_dropped;
	bool			 local_error;
	char			 local_error_msg[256];
	double			 t0;
};

/* r's DNS facts, copied; NULL without memory. */
struct probe_dns *result_dns_save(const struct probe_result *r);
void result_dns_free(struct probe_dns *d);

/* The DNS facts d (of an address's domain) into dst, a result just
 * initialised for an address of that domain. */
void result_copy_dns(struct probe_result *dst, const struct probe_dns *d);

/*
 * Batch mode: make dst (its input and address already set) a copy of the
 * connection conn asked it on: server, attempts, identity, the stages
 * from CONNECT to AUTH and QUIT with their findings, and the transcript
 * up to the first MAIL FROM.  MAIL and RCPT are left empty for dst's own
 * answers.  The DNS facts are dns's when given (an address of another
 * domain than conn's; the transcript then starts with dns's and goes on
 * with conn's last session), else conn's.
 */
void result_copy_connection(struct probe_result *dst,
    const struct probe_result *conn, const struct probe_dns *dns);

/* A copy of the reply of record rr into stage st, with the findings its
 * deviations call for; the record keeps its reply.  NULL when it has
 * none or without memory. */
struct rec_reply *result_copy_reply(struct probe_result *r, enum stage st,
    const struct rec_reply *rr);

/* Record rr's command and reply lines into the transcript, at the times
 * they were sent and received (relative to t0). */
void result_transcript_rec(struct probe_result *r, const struct rec_reply *rr,
    double t0);

double monotonic_ms(void);

#endif
