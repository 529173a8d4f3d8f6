/*
 * session.c — the SMTP client state machine for one server address.
 *
 * One state enum, one place that changes state (enter()), one reply
 * dispatch (on_reply()).  Per-state tables give the stage, the command the
 * reply answers and the words for "while ...", so every failure names its
 * stage.  The session owns its connection (conn.c: the socket, line
 * reads, the TLS wrap) and its timer; it never frees itself
 * inside a libevent callback: finish() closes the connection and hands the
 * outcome over from a fresh event-loop turn.
 *
 * Replies are matched to commands through a queue of the commands sent
 * and not yet answered (one at a time without PIPELINING, RFC 5321
 * §4.3.1; a group with it, RFC 2920 §3.1): each reply answers the oldest.
 * Bytes from the server while nothing is outstanding were sent before
 * anything asked for them, and would make every later reply answer the
 * wrong command: the session is given up there (out_of_step()).  A 3yz
 * reply to a command that cannot get one (354 anywhere, since DATA is
 * never sent; anything but 334 during AUTH) means the server may be
 * reading message text: the connection is closed without another line.
 *
 * Every line of server text passes through server_text() before it is
 * recorded: with --auth-user the credentials in every form the session
 * knows (redact.h) are replaced there, so a server that echoes the
 * client's AUTH line cannot make any report show it.
 *
 * There is no state that sends DATA or BDAT, and no code path writes them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "codes.h"
#include "conn.h"
#include "redact.h"
#include "session.h"
#include "socks.h"
#include "tlsconn.h"

enum sstate {
	S_CONNECTING,
	S_PROXY,
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,
	S_TLS_HANDSHAKE,
	S_EHLO_TLS,
	S_HELO_TLS,
	S_AUTH,
	S_MAIL,
	S_RCPT,
	S_RSET,
	S_QUIT,
	S_DONE,
	S_COUNT
};

static const struct {
	const char	*name;
	enum stage	 stage;
	int		 cmd;		/* enum codes_cmd the reply answers */
	const char	*during;	/* "while ..." */
} states[S_COUNT] = {
	[S_CONNECTING] = { "connecting", STAGE_CONNECT, -1,
	    "while connecting" },
	[S_PROXY] = { "proxy", STAGE_PROXY, -1,
	    "during the SOCKS handshake with the proxy" },
	[S_GREETING] = { "greeting", STAGE_GREETING, CODES_CMD_GREETING,
	    "while waiting for the greeting" },
	[S_EHLO] = { "ehlo", STAGE_EHLO, CODES_CMD_EHLO,
	    "after EHLO" },
	[S_HELO] = { "helo", STAGE_EHLO, CODES_CMD_HELO,
	    "after HELO" },
	[S_STARTTLS] = { "starttls", STAGE_STARTTLS, CODES_CMD_STARTTLS,
	    "after STARTTLS" },
	[S_TLS_HANDSHAKE] = { "tls-handshake", STAGE_TLS, -1,
	    "during the TLS handshake" },
	[S_EHLO_TLS] = { "ehlo-tls", STAGE_TLS, CODES_CMD_EHLO,
	    "after EHLO inside TLS" },
	[S_HELO_TLS] = { "helo-tls", STAGE_TLS, CODES_CMD_HELO,
	    "after HELO inside TLS" },
	[S_AUTH] = { "auth", STAGE_AUTH, CODES_CMD_AUTH,
	    "after AUTH" },
	[S_MAIL] = { "mail", STAGE_MAIL, CODES_CMD_MAIL,
	    "after MAIL FROM" },
	[S_RCPT] = { "rcpt", STAGE_RCPT, CODES_CMD_RCPT,
	    "after RCPT TO" },
	[S_RSET] = { "rset", STAGE_QUIT, CODES_CMD_RSET,
	    "after RSET" },
	[S_QUIT] = { "quit", STAGE_QUIT, CODES_CMD_QUIT,
	    "after QUIT" },
	[S_DONE] = { "done", STAGE_QUIT, -1, "after the end" },
};

/* A command sent and not answered yet. */
struct sent_cmd {
	enum sstate		 state;		/* its reply is read in this state */
	char			 shown[LIMIT_ADDRESS * 4 + 32];	/* as recorded:
						 * secrets hidden, "" for the
						 * greeting */
	double			 sent_at;
	size_t			 ti, ri;	/* MAIL, RCPT: the plan's request */
};

struct session {
	struct session_params	 p;
	struct probe_result	*res;
	session_done_cb		 done;
	void			*done_arg;

	enum sstate		 state;
	struct conn		*conn;
	struct event		*timer;
	struct reply_parser	 parser;
	struct sent_cmd		 q[LIMIT_OUTSTANDING];	/* sent, not answered:
							 * a ring from qhead */
	size_t			 qhead, nq;
	struct sent_cmd		 cur;		/* what the reply in hand answers */
	struct redact		*redact;	/* with AUTH: the credentials' forms */
	double			 stage_start;
	double			 deadline;	/* the state's timer ends */
	double			 line_at;	/* the last line came */
	bool			 unfinished;	/* timed out mid-reply */
	bool			 in_tls;
	struct tlsconn_params	 tp;		/* the handshake's name, TLSA records */
	bool			 dane_usable;	/* a TLSA record OpenSSL can match */
	bool			 transaction;	/* MAIL accepted: RSET before QUIT */
	bool			 quitting;	/* RSET is followed by QUIT */
	size_t			 ti;		/* the plan's transaction being asked */
	size_t			 ri;		/* its next recipient to send */
	size_t			 accepted_mail;	/* recipients accepted since MAIL */
	bool			 full;		/* a 452 "too many" since MAIL */
	bool			 piped;		/* a RCPT went in a group */
	size_t			 pipe_ti, pipe_ri;	/* the first group's
						 * first recipient */
	double			 replied_at;	/* the last reply came */
	bool			 carrying;	/* plan.carry_over: RSET, then MAIL
						 * again for the rest */
	bool			 carry_mail;	/* that MAIL is in flight */
	struct rec_reply	 carry_rec;	/* its answer */
	SSL_SESSION		*tls_session;	/* to resume; owned */
	bool			 finished;
	enum session_outcome	 outcome;	/* decided; QUIT may still follow */
	enum stage		 outcome_stage;
	int			 connect_errno;	/* why the connect failed, 0 if not */
	bool			 got_line;	/* the server's first line is in */
	bool			 auth_tried;	/* AUTH was decided on (sent or not) */
	enum auth_mech		 mech;		/* the mechanism sent */
	int			 auth_step;	/* 334 prompts answered */
	struct plan		 empty_plan;	/* when the caller gave none */
};

static void on_timeout(evutil_socket_t fd, short what, void *arg);
static void chain_findings(struct session *s);
static void on_reply(struct session *s, struct reply *rp);
static void protocol_abort(struct session *s, struct reply *partial,
    const char *why);

static double
now_ms(void)
{
	return monotonic_ms();
}

static struct stage_rec *
stage_of(struct session *s)
{
	return &s->res->stages[states[s->state].stage];
}

/* The only place the state changes; it also arms the stage's timer. */
static void
enter(struct session *s, enum sstate st)
{
	struct timeval tv;
	int ms;

	s->state = st;
	if (st == S_DONE)
		return;
	ms = s->p.timeout_ms[states[st].stage];
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
	s->deadline = now_ms() + ms;
	if (stage_of(s)->elapsed_ms == 0)
		s->stage_start = now_ms();
}

static void
deliver(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	s->done(s->done_arg, s, s->outcome);
}

/* Close the connection and report the outcome from a fresh loop turn. */
static void
finish(struct session *s)
{
	if (s->finished)
		return;
	s->finished = true;
	s->state = S_DONE;
	if (s->timer != NULL)
		evtimer_del(s->timer);
	/* For the next connection to this server: a shorter handshake. */
	if (s->in_tls && s->tls_session == NULL)
		s->tls_session = tlsconn_session(conn_tls_bev(s->conn));
	conn_close(s->conn);
	s->res->outcome = s->outcome;
	s->res->outcome_stage = s->outcome_stage;
	result_transcriptf(s->res, 'i', "connection closed (%s)",
	    session_outcome_name(s->outcome));
	if (event_base_once(s->p.base, -1, EV_TIMEOUT, deliver, s, NULL) != 0)
		s->done(s->done_arg, s, s->outcome);	/* cannot happen short of ENOMEM */
}

static void
decide(struct session *s, enum session_outcome o, enum stage st)
{
	if (s->outcome == OUTCOME_NONE) {
		s->outcome = o;
		s->outcome_stage = st;
	}
}

static void
set_status(struct session *s, enum stage st, enum stage_status status)
{
	struct stage_rec *r = &s->res->stages[st];

	/* A stage only ever gets worse: ok < warn < fail. */
	if (r->status == STATUS_SKIPPED || status > r->status)
		r->status = status;
}

/* ---- the commands outstanding ------------------------------------------ */

static struct sent_cmd *
queue_head(struct session *s)
{
	return s->nq > 0 ? &s->q[s->qhead] : NULL;
}

/* Queue command `shown` (its reply is read in state st); NULL when the
 * queue is full. */
static struct sent_cmd *
queue_push(struct session *s, enum sstate st, const char *shown)
{
	struct sent_cmd *c;

	if (s->nq >= LIMIT_OUTSTANDING)
		return NULL;
	c = &s->q[(s->qhead + s->nq) % LIMIT_OUTSTANDING];
	c->state = st;
	snprintf(c->shown, sizeof(c->shown), "%s", shown);
	c->sent_at = now_ms();
	c->ti = s->ti;
	c->ri = s->ri;
	s->nq++;
	return c;
}

/* The greeting is the answer to the connection (RFC 5321 §3.1), or with
 * implicit TLS to the handshake (RFC 8314 §3.3): it is outstanding from
 * then on. */
static void
await_greeting(struct session *s)
{
	(void)queue_push(s, S_GREETING, "");
	enter(s, S_GREETING);
	s->stage_start = now_ms();
}

/* The oldest command outstanding, which the reply in hand answers, into
 * s->cur; false when nothing is outstanding. */
static bool
queue_pop(struct session *s)
{
	if (s->nq == 0)
		return false;
	s->cur = s->q[s->qhead];
	s->qhead = (s->qhead + 1) % LIMIT_OUTSTANDING;
	s->nq--;
	return true;
}

/* Bytes from the server not yet read as a reply: waiting in the input, or
 * lines already parsed into a reply that is not complete. */
static bool
input_waiting(struct session *s)
{
	return conn_pending(s->conn) > 0 || s->parser.cur != NULL;
}

static void out_of_step(struct session *s, const char *line, size_t len,
    const char *next);

/* Room for a line of server text once credentials are replaced. */
#define SERVER_TEXT_MAX	(2 * LIMIT_REPLY_LINE_HARD + 64)

/* Append text[0..n) to the evidence ev (len used of evlen), CRs left
 * out and other control bytes as spaces. */
static void
evidence_add(char *ev, size_t *len, size_t evlen, const char *text,
    size_t n)
{
	size_t i;

	for (i = 0; i < n && *len + 1 < evlen; i++)
		if (text[i] != '\r')
			ev[(*len)++] = (unsigned char)text[i] < 0x20 ? ' ' :
			    text[i];
	ev[*len] = '\0';
}

/* Server text as it may be recorded: the credentials replaced (redact.h);
 * *len is updated.  text itself when the session has none. */
static const char *
server_text(struct session *s, const char *text, size_t *len, char *buf,
    size_t buflen)
{
	if (s->redact == NULL)
		return text;
	*len = redact_apply(s->redact, text, *len, buf, buflen);
	return buf;
}

static void
local_failure(struct session *s, enum stage st, const char *why)
{
	snprintf(s->res->local_error_msg, sizeof(s->res->local_error_msg),
	    "%s", why);
	decide(s, OUTCOME_LOCAL_ERROR, st);
	finish(s);
}

/*
 * Write one command and queue it; its reply is then read in state next.
 * RFC 5321 §4.3.1: the dialogue alternates and the server speaks when
 * spoken to, so bytes waiting while nothing is outstanding were sent
 * before anything asked for them: the command is not sent, and the
 * session stops (out_of_step()).  With a group (RFC 2920), only the first
 * command of the group finds the queue empty; the replies to the others
 * may already be arriving.  secret: line carries credentials; it leaves
 * by reference from a copy that is wiped once written, line itself is
 * wiped here, and `shown` goes to the transcript instead.  False when
 * nothing was sent.
 */
static bool
cmd_send(struct session *s, enum sstate next, const char *shown, char *line,
    size_t len, bool secret)
{
	bool sent = false;

	if (s->finished)
		;	/* nothing after the end, nor after a 3yz */
	else if (s->nq == 0 && input_waiting(s))
		out_of_step(s, NULL, 0, shown);
	else if (queue_push(s, next, shown) == NULL)
		local_failure(s, states[next].stage, "too many commands "
		    "outstanding");
	else if (secret && conn_write_secret(s->conn, line, len) != 0) {
		s->nq--;
		local_failure(s, states[next].stage, "out of memory");
	} else {
		if (!secret)
			conn_write_line(s->conn, line, len);
		result_transcript(s->res, 's', shown, strlen(shown));
		if (s->nq == 1)
			enter(s, next);
		sent = true;
	}
	if (secret)
		auth_wipe(line, len);
	return sent;
}

static void
send_line(struct session *s, enum sstate next, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
send_line(struct session *s, enum sstate next, const char *fmt, ...)
{
	char line[sizeof(s->cur.shown)];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		/* Cannot happen with checked addresses; never send a cut
		 * command. */
		local_failure(s, states[next].stage, "command too long");
		return;
	}
	/* Belt and braces: no command may carry CR or LF (the address
	 * checks refuse them long before this point). */
	if (strpbrk(line, "\r\n") != NULL) {
		local_failure(s, states[next].stage, "refusing to send a "
		    "command containing CR or LF");
		return;
	}
	(void)cmd_send(s, next, line, line, (size_t)n, false);
}

/* The end: RSET first when a transaction is open, then QUIT. */
static void
send_quit(struct session *s)
{
	s->quitting = true;
	if (s->transaction) {
		s->transaction = false;
		send_line(s, S_RSET, "RSET");
	} else
		send_line(s, S_QUIT, "QUIT");
}

/* TLS cannot be left out or done without: --tls required, implicit TLS
 * (there is no clear text to fall back to), and with --tls dane any
 * authenticated TLSA record, usable or not, or a failed look-up (RFC
 * 7672 §2.2, as Postfix's dane level). */
static bool
tls_mandatory(const struct session *s)
{
	return s->p.tls_mode == TLS_REQUIRED || s->p.implicit_tls ||
	    (s->p.tls_mode == TLS_DANE && (s->p.ntlsa > 0 ||
	    s->p.dane_failed));
}

static void
start_tls(struct session *s)
{
	char err[256];

	if (conn_starttls(s->conn, s->p.ssl_ctx, &s->tp, err,
	    sizeof(err)) != 0) {
		result_stage_error(s->res, STAGE_TLS, "%s", err);
		set_status(s, STAGE_TLS, STATUS_FAIL);
		decide(s, OUTCOME_LOCAL_ERROR, STAGE_TLS);
		finish(s);
		return;
	}
	result_transcriptf(s->res, 'i', "TLS handshake%s with %s%s",
	    s->p.implicit_tls ? " (implicit TLS, RFC 8314)" : "",
	    s->p.host[0] ? s->p.host : "(no name to check)",
	    s->dane_usable ? ", DANE: TLSA records to match" : "");
	enter(s, S_TLS_HANDSHAKE);
}

/* Findings about the certificates, the name and the protocol version. */
static void
cert_findings(struct session *s, const char *ev)
{
	const struct tlsconn_info *ti = s->res->tls;
	bool strict = s->p.tls_mode == TLS_REQUIRED || s->dane_usable;

	if (ti->expired)
		result_finding(s->res, FINDING_TLS_CERT_EXPIRED, STAGE_TLS, ev,
		    "the server's certificate expired on %s", ti->not_after);
	if (ti->name_checked && !ti->name_match)
		result_finding(s->res, FINDING_TLS_CERT_NAME_MISMATCH,
		    STAGE_TLS, ev, "the server's certificate is not valid for "
		    "%s (it names %s)", s->p.host, ti->names[0] ? ti->names :
		    ti->subject);
	if (ti->wildcard_miss[0] != '\0')
		result_finding(s->res, FINDING_TLS_CERT_WILDCARD_MISMATCH,
		    STAGE_TLS, ti->wildcard_miss, "the certificate's wildcard "
		    "name %s stands for exactly one label, so it does not "
		    "cover %s, which has more labels before the wildcard's "
		    "domain", ti->wildcard_miss, s->p.host);
	if (!ti->chain_ok && !ti->expired)
		result_finding(s->res, FINDING_TLS_CERT_UNTRUSTED, STAGE_TLS,
		    ev, "the server's certificate does not chain to a trusted "
		    "authority: %s", ti->verify_error);
	if (ti->version_num != 0 && ti->version_num < TLS1_2_VERSION)
		result_finding_sev(s->res, FINDING_TLS_OLD_VERSION, strict ?
		    SEV_ERROR : SEV_WARNING, STAGE_TLS, "RFC 8996", ti->version,
		    "the server negotiated %s; TLS 1.0 and 1.1 are deprecated "
		    "and many senders refuse them (TLS 1.2 is the minimum, RFC "
		    "9325 §3.1.1)", ti->version);
	chain_findings(s);
}

/* Weak keys, SHA-1 signatures and near expiry, anywhere in the chain
 * the server presented. */
static void
chain_findings(struct session *s)
{
	const struct tlsconn_info *ti = s->res->tls;
	const struct tlsconn_cert *soon = NULL;
	size_t i;

	for (i = 0; i < ti->nchain; i++) {
		const struct tlsconn_cert *c = &ti->chain[i];

		if ((strcmp(c->key_type, "RSA") == 0 ||
		    strcmp(c->key_type, "DSA") == 0) && c->key_bits < 2048)
			result_finding(s->res, FINDING_TLS_WEAK_KEY, STAGE_TLS,
			    c->subject, "certificate %zu of the chain (%s) has "
			    "a %d-bit %s key; 2048 bits is the minimum", i,
			    c->subject, c->key_bits, c->key_type);
		/* A self-signed anchor's own signature is never checked. */
		if (c->sig_sha1 && !c->self_signed)
			result_finding(s->res, FINDING_TLS_SHA1_SIGNATURE,
			    STAGE_TLS, c->sig_alg, "certificate %zu of the "
			    "chain (%s) is signed with %s, which can be forged "
			    "and which current software refuses", i, c->subject,
			    c->sig_alg);
		if (c->days_left >= 0 && c->days_left <= LIMIT_CERT_EXPIRY_INFO &&
		    (soon == NULL || c->days_left < soon->days_left))
			soon = c;
	}
	if (soon != NULL)
		result_finding(s->res, soon->days_left <=
		    LIMIT_CERT_EXPIRY_WARN ? FINDING_TLS_CERT_EXPIRING_SOON :
		    FINDING_TLS_CERT_EXPIRING, STAGE_TLS, soon->not_after,
		    "the certificate %s expires in %ld day%s (%s)",
		    soon->subject, soon->days_left, soon->days_left == 1 ? "" :
		    "s", soon->not_after);
}

/* DANE (RFC 7672): the match, or what the server presented instead. */
static void
dane_findings(struct session *s)
{
	static const struct tlsconn_cert none = { .subject = "(not kept)" };
	const struct tlsconn_info *ti = s->res->tls;
	const struct tlsconn_cert *leaf = ti->nchain > 0 ? &ti->chain[0] :
	    &none;

	if (ti->dane == TLSCONN_DANE_MATCH)
		result_transcriptf(s->res, 'i', "DANE: TLSA %u %u %u matched at "
		    "depth %d", ti->dane_usage, ti->dane_selector,
		    ti->dane_mtype, ti->dane_depth);
	else if (ti->dane == TLSCONN_DANE_MISMATCH)
		result_finding_sev(s->res, FINDING_DANE_MISMATCH,
		    s->p.tls_mode == TLS_DANE ? SEV_ERROR : SEV_WARNING,
		    STAGE_TLS, "RFC 7672 §3", leaf->spki_sha256, "none of the "
		    "%zu usable TLSA record%s of %s matches the certificates "
		    "the server presented (leaf %s: certificate SHA-256 %s, "
		    "public key SHA-256 %s)%s", ti->tlsa_usable,
		    ti->tlsa_usable == 1 ? "" : "s", s->p.host, leaf->subject,
		    leaf->sha256, leaf->spki_sha256, s->p.tls_mode == TLS_DANE ?
		    "; with --tls dane the server is not used" : "");
}

/* Whether the handshake's outcome ends the session (true: done). */
static bool
tls_fatal(struct session *s)
{
	const struct tlsconn_info *ti = s->res->tls;
	bool fail = (s->p.tls_mode == TLS_REQUIRED && !ti->verified) ||
	    (s->p.tls_mode == TLS_DANE && ((s->dane_usable &&
	    ti->dane != TLSCONN_DANE_MATCH) || s->p.dane_failed));

	if (!fail)
		return false;
	set_status(s, STAGE_TLS, STATUS_FAIL);
	decide(s, OUTCOME_TLS_REQUIRED_FAILED, STAGE_TLS);
	if (s->p.implicit_tls) {
		/* No greeting yet, so no QUIT may be sent (RFC 5321
		 * §4.3.1): just close. */
		result_transcriptf(s->res, 'i', "closing: the server is not "
		    "authenticated");
		finish(s);
	} else
		send_line(s, S_QUIT, "QUIT");
	return true;
}

static void
tls_done(struct session *s)
{
	struct tlsconn_info *ti = result_tls(s->res);
	struct stage_rec *st = &s->res->stages[STAGE_TLS];
	char ev[512];
	size_t nf;

	if (ti == NULL) {
		set_status(s, STAGE_TLS, STATUS_FAIL);
		local_failure(s, STAGE_TLS, "out of memory");
		return;
	}
	s->in_tls = true;
	s->res->tls_done = true;
	s->res->tls_implicit = s->p.implicit_tls;
	tlsconn_inspect(conn_tls_bev(s->conn), &s->tp, ti);
	st->elapsed_ms = now_ms() - s->stage_start;
	result_transcriptf(s->res, 'i', "TLS %s %s, certificate %s%s%s",
	    ti->version, ti->cipher, ti->subject,
	    ti->verified ? " (verified)" : ": ",
	    ti->verified ? "" : (ti->verify_error[0] ? ti->verify_error :
	    ti->dane == TLSCONN_DANE_MISMATCH ? "no TLSA record matches" :
	    "name does not match"));
	snprintf(ev, sizeof(ev), "subject %s; issuer %s; names %s",
	    ti->subject, ti->issuer, ti->names[0] ? ti->names : "(none)");

	set_status(s, STAGE_TLS, STATUS_OK);
	nf = s->res->nfindings;
	cert_findings(s, ev);
	dane_findings(s);
	/* A warning about the certificate makes the stage a warning. */
	for (; nf < s->res->nfindings; nf++)
		if (s->res->findings[nf].severity >= SEV_WARNING)
			set_status(s, STAGE_TLS, STATUS_WARN);
	if (tls_fatal(s))
		return;
	if (s->p.implicit_tls) {
		/* RFC 8314 §3.3: the greeting comes inside TLS. */
		await_greeting(s);
		return;
	}
	/* RFC 3207 §4.2: forget what EHLO said before TLS and ask again. */
	result_drop_caps(s->res);
	send_line(s, S_EHLO_TLS, "EHLO %s", s->p.helo);
}

/* Implicit TLS, and the server answered in clear text: its first bytes
 * (the record header OpenSSL choked on) read like an SMTP reply. */
static bool
plaintext_reply(const struct tlsconn_peek *pk)
{
	return pk->n >= 4 && pk->bytes[0] >= '2' && pk->bytes[0] <= '5' &&
	    pk->bytes[1] >= '0' && pk->bytes[1] <= '9' &&
	    pk->bytes[2] >= '0' && pk->bytes[2] <= '9' &&
	    (pk->bytes[3] == ' ' || pk->bytes[3] == '-' ||
	    pk->bytes[3] == '\r' || pk->bytes[3] == '\n');
}

static void
tls_failed(struct session *s, const char *why)
{
	const struct tlsconn_peek *pk = conn_tls_peek(s->conn);
	char seen[TLSCONN_FIRST_BYTES + 1];
	size_t i;

	result_stage_error(s->res, STAGE_TLS, "%s", why);
	set_status(s, STAGE_TLS, STATUS_FAIL);
	result_finding_sev(s->res, FINDING_TLS_HANDSHAKE_FAILED, SEV_ERROR,
	    STAGE_TLS, s->p.implicit_tls ? "RFC 8314 §3.3" : "RFC 3207 §4.1",
	    why, "the TLS handshake with %s failed", s->res->server_ip);
	if (s->p.implicit_tls && plaintext_reply(pk)) {
		for (i = 0; i < pk->n; i++)
			seen[i] = pk->bytes[i] >= 0x20 && pk->bytes[i] < 0x7f ?
			    (char)pk->bytes[i] : ' ';
		seen[i] = '\0';
		result_finding(s->res, FINDING_TLS_IMPLICIT_PLAINTEXT,
		    STAGE_TLS, seen, "implicit TLS was expected on port %d, "
		    "but the server answered in clear text (\"%s...\"): it "
		    "greets first and offers TLS, if at all, through STARTTLS; "
		    "probe it with --tls opportunistic", s->res->server_port,
		    seen);
	}
	result_transcriptf(s->res, 'i', "TLS handshake failed: %s", why);
	decide(s, tls_mandatory(s) ? OUTCOME_TLS_REQUIRED_FAILED :
	    OUTCOME_TLS_RETRY_PLAIN, STAGE_TLS);
	finish(s);
}

/*
 * The stop point (session_params.stop_after): once stage `done` is over
 * and the caller asked for no more, end politely — QUIT, or after a mere
 * connection (through a proxy: once the proxy has connected to the
 * server) just close it, since nothing may be said before the greeting
 * (RFC 5321 §3.1).  True when the session stops here.
 */
static bool
stop_point(struct session *s, enum stage done)
{
	if (s->p.stop_after == STAGE_ADDRESS || s->p.stop_after > done)
		return false;
	decide(s, OUTCOME_ANSWERED, done);
	result_transcriptf(s->res, 'i', "stopping after the %s stage, as "
	    "asked", stage_name(done));
	if (done < STAGE_GREETING)
		finish(s);
	else
		send_quit(s);
	return true;
}

/*
 * A TLS record where the greeting should be: the server expects TLS
 * from the first byte (implicit TLS, as on port 465), and sent an alert
 * or a handshake message.  A finding; true when p is such a record.
 */
static bool
greeting_is_tls(struct session *s, const unsigned char *p, size_t n)
{
	char hex[2 * 8 + 1];

	if (!tlsconn_looks_like_record(p, n))
		return false;
	tlsconn_hex(p, n < 8 ? n : 8, hex, sizeof(hex));
	result_finding(s->res, FINDING_GREETING_TLS_RECORD, STAGE_GREETING, hex,
	    "the server sent a TLS record (%s...) instead of a greeting: port "
	    "%d expects TLS from the first byte (implicit TLS, as on port "
	    "465); probe it with --tls implicit", hex, s->res->server_port);
	return true;
}

/* ---- AUTH (RFC 4954) ---------------------------------------------------- */

static void after_opening(struct session *s);

/* A line that carries a secret (cmd_send()): the transcript gets
 * `shown` instead; line is wiped.  The SASL response in it (from byte
 * off) is registered with the redaction first, so that no echo of it can
 * be recorded; when that fails nothing is sent. */
static void
send_secret(struct session *s, enum sstate next, const char *shown,
    char *line, size_t len, size_t off)
{
	if (s->redact == NULL ||
	    redact_add_response(s->redact, line + off, len - off) != 0) {
		auth_wipe(line, len);
		local_failure(s, STAGE_AUTH, "out of memory");
		return;
	}
	(void)cmd_send(s, next, shown, line, len, true);
}

/* AUTH was not possible or was refused: nothing more is asked. */
static void
auth_failed(struct session *s, const char *why)
{
	if (why != NULL)
		result_stage_error(s->res, STAGE_AUTH, "%s", why);
	set_status(s, STAGE_AUTH, STATUS_FAIL);
	decide(s, OUTCOME_AUTH_FAILED, STAGE_AUTH);
	send_quit(s);
}

static void
start_auth(struct session *s)
{
	const char *offered = s->res->caps != NULL ? s->res->caps->auth : "";
	char line[AUTH_LINE_MAX];
	int n;

	s->auth_tried = true;
	s->stage_start = now_ms();
	if (!s->in_tls && !s->p.auth_plaintext) {
		/* RFC 4954 §4 and §14: a password must not cross the
		 * network in the clear; the user did not allow it. */
		result_finding(s->res, FINDING_AUTH_NOT_ENCRYPTED, STAGE_AUTH,
		    NULL, "AUTH was not sent: the connection to %s is not "
		    "encrypted (%s), and smtpprobe sends credentials in the "
		    "clear only with --auth-plaintext", s->res->server_ip,
		    s->p.tls_mode == TLS_NEVER ? "--tls never" :
		    s->p.no_starttls ? "the TLS handshake failed" :
		    "the server did not offer STARTTLS");
		auth_failed(s, "not sent: the connection is not encrypted");
		return;
	}
	if (offered[0] == '\0') {
		result_finding(s->res, FINDING_AUTH_NOT_OFFERED, STAGE_AUTH,
		    NULL, "the server does not offer AUTH in its EHLO reply%s",
		    s->in_tls ? "" : " (many servers offer it only after "
		    "STARTTLS)");
		auth_failed(s, "not sent: the server does not offer AUTH");
		return;
	}
	s->mech = auth_choose(s->p.auth_mech, offered, s->in_tls);
	if (s->mech == AUTH_MECH_AUTO) {
		result_finding(s->res, FINDING_AUTH_NO_MECHANISM, STAGE_AUTH,
		    offered, "the server offers AUTH %s; none of them is %s",
		    offered, s->p.auth_mech == AUTH_MECH_AUTO ? "PLAIN, LOGIN "
		    "or CRAM-MD5" : auth_mech_name(s->p.auth_mech));
		auth_failed(s, "not sent: no usable mechanism");
		return;
	}
	if (s->in_tls && !s->res->tls->verified)
		/* RFC 4954 §14: TLS protects the password only from those
		 * who cannot present the certificate the client accepted. */
		result_finding(s->res, FINDING_AUTH_TLS_UNVERIFIED, STAGE_AUTH,
		    s->res->tls->subject, "AUTH %s was sent over TLS to a "
		    "server whose certificate was not verified (%s): whoever "
		    "presents that certificate, anyone able to intercept the "
		    "connection, can read the %s; --tls required sends "
		    "credentials only to a verified server",
		    auth_mech_name(s->mech), s->res->tls->verify_error[0] ?
		    s->res->tls->verify_error : s->res->tls->dane ==
		    TLSCONN_DANE_MISMATCH ? "no TLSA record matches" :
		    "the name does not match", s->mech == AUTH_MECH_CRAM_MD5 ?
		    "user name and a response that can be attacked offline" :
		    "user name and password");
	if (!s->in_tls)
		result_finding(s->res, FINDING_AUTH_PLAINTEXT, STAGE_AUTH, NULL,
		    "AUTH %s was sent over an unencrypted connection "
		    "(--auth-plaintext): %s", auth_mech_name(s->mech),
		    s->mech == AUTH_MECH_CRAM_MD5 ? "anyone on the path sees "
		    "the user name and a response that can be attacked "
		    "offline" : "anyone on the path can read the user name and "
		    "password");
	s->auth_step = 0;
	if (s->mech != AUTH_MECH_PLAIN) {
		send_line(s, S_AUTH, "AUTH %s", auth_mech_name(s->mech));
		return;
	}
	/* RFC 4954 §4: PLAIN with the initial response on the line. */
	memcpy(line, "AUTH PLAIN ", 11);
	n = auth_plain_response(s->p.auth_user, s->p.auth_password,
	    line + 11, sizeof(line) - 11);
	if (n < 0) {
		auth_wipe(line, sizeof(line));
		auth_failed(s, "the credentials are too long to encode");
		return;
	}
	send_secret(s, S_AUTH, "AUTH PLAIN <credentials hidden>", line,
	    11 + (size_t)n, 11);
}

/* A 334 prompt: the next piece of the exchange, or "*" to cancel. */
static void
auth_continue(struct session *s, const struct reply *rp)
{
	char line[AUTH_LINE_MAX];
	const char *shown = "<response hidden>";
	int n = -1;

	if (s->mech == AUTH_MECH_LOGIN && s->auth_step == 0) {
		n = auth_b64_encode((const unsigned char *)s->p.auth_user,
		    strlen(s->p.auth_user), line, sizeof(line));
		shown = "<user name hidden>";
	} else if (s->mech == AUTH_MECH_LOGIN && s->auth_step == 1) {
		n = auth_b64_encode((const unsigned char *)s->p.auth_password,
		    strlen(s->p.auth_password), line, sizeof(line));
		shown = "<password hidden>";
	} else if (s->mech == AUTH_MECH_CRAM_MD5 && s->auth_step == 0 &&
	    rp->nlines > 0)
		n = auth_cram_md5_response(s->p.auth_user,
		    s->p.auth_password, rp->lines[0].text, rp->lines[0].len,
		    line, sizeof(line));
	s->auth_step++;
	if (n < 0) {
		/* A prompt the mechanism has no answer for (or a challenge
		 * that is not base64): RFC 4954 §4, cancel with "*". */
		auth_wipe(line, sizeof(line));
		result_finding(s->res, FINDING_AUTH_UNEXPECTED_CHALLENGE,
		    STAGE_AUTH, NULL, "the server sent a 334 prompt that AUTH "
		    "%s does not expect; smtpprobe cancelled the exchange",
		    auth_mech_name(s->mech));
		send_line(s, S_AUTH, "*");
		return;
	}
	send_secret(s, S_AUTH, shown, line, (size_t)n, 0);
}

static void
on_auth_reply(struct session *s, const struct rec_reply *rr)
{
	const struct reply *rp = rr->reply;
	int code = rp->code;

	if (rr->legality == CODES_ILLEGAL) {
		set_status(s, STAGE_AUTH, STATUS_FAIL);
		decide(s, OUTCOME_PROTOCOL_ERROR, STAGE_AUTH);
		send_quit(s);
		return;
	}
	if (code == 235) {
		set_status(s, STAGE_AUTH, STATUS_OK);
		result_transcriptf(s->res, 'i', "authenticated (AUTH %s)",
		    auth_mech_name(s->mech));
		after_opening(s);
		return;
	}
	if (code == 334 && s->auth_step < 3) {
		auth_continue(s, rp);
		return;
	}
	result_finding(s->res, code / 100 == 4 ? FINDING_AUTH_TEMPORARY :
	    FINDING_AUTH_REJECTED, STAGE_AUTH, NULL, "the server %s AUTH %s "
	    "with %d", code / 100 == 4 ? "deferred" : "refused",
	    auth_mech_name(s->mech), code);
	if (code == 421) {
		set_status(s, STAGE_AUTH, STATUS_FAIL);
		decide(s, OUTCOME_GREETING_TEMPORARY, STAGE_AUTH);
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	auth_failed(s, NULL);
}

/* ---- the plan's transactions (plan.h) ----------------------------------- */

static struct plan_txn *
cur_txn(struct session *s)
{
	return &s->p.plan->txns[s->ti];
}

/* How long the server took over the reply in hand: from the sending of
 * its command, or in a group (RFC 2920) from the reply before it, which
 * the server had to give first. */
static double
answer_ms(const struct session *s)
{
	return now_ms() -
	    (s->cur.sent_at > s->replied_at ? s->cur.sent_at : s->replied_at);
}

/* Fill record rr with reply rp (ownership taken) to the command it
 * answers (s->cur); false when the command may not get that reply. */
static bool
record(struct session *s, struct rec_reply *rr, int cmd, struct reply *rp)
{
	reply_free(rr->reply);
	rec_reply_set(rr, cmd, s->cur.shown, rp, answer_ms(s));
	rr->sent_ms = s->cur.sent_at;
	return rr->legality != CODES_ILLEGAL;
}

/* The records of the plan that command c asked for. */
static struct plan_txn *
txn_of(struct session *s, const struct sent_cmd *c)
{
	return &s->p.plan->txns[c->ti];
}

static struct plan_rcpt *
rcpt_of(struct session *s, const struct sent_cmd *c)
{
	return &txn_of(s, c)->rcpts[c->ri];
}

/* Where the answer to the MAIL in flight goes: the transaction's record,
 * or for the MAIL of a carried-over rest (plan.carry_over) a record of
 * the session's own (the transaction's first answer stands). */
static struct rec_reply *
mail_rec(struct session *s, const struct sent_cmd *c)
{
	return s->carry_mail ? &s->carry_rec : &txn_of(s, c)->mail;
}

/*
 * The plan's rules (plan.h) after the answer rr to MAIL or RCPT: count
 * it, and true when the session must stop asking — the refusals reached
 * the plan's budget, or the reply was slower than the plan allows.
 */
static bool
plan_rules(struct session *s, const struct rec_reply *rr)
{
	struct plan *p = s->p.plan;
	int code = rr->reply->code;

	p->nreplies++;
	p->reply_ms += rr->elapsed_ms;
	if (rr->elapsed_ms > p->slowest_ms)
		p->slowest_ms = rr->elapsed_ms;
	if (code / 100 == 4 || code / 100 == 5)
		p->rejected++;
	if (p->stopped != PLAN_STOP_NONE)
		return true; /* answers to a group still coming in */
	if (p->max_rejected > 0 && p->rejected >= p->max_rejected)
		p->stopped = PLAN_STOP_BUDGET;
	else if (p->slow_reply_ms > 0 && rr->elapsed_ms > p->slow_reply_ms)
		p->stopped = PLAN_STOP_SLOW;
	if (p->stopped != PLAN_STOP_NONE)
		result_transcriptf(s->res, 'i', "stopping here: %s",
		    p->stopped == PLAN_STOP_BUDGET ? "the refusals reached the "
		    "budget of this connection" : "the server answers too "
		    "slowly");
	return p->stopped != PLAN_STOP_NONE;
}

static void next_txn(struct session *s);

/* After EHLO (and STARTTLS, AUTH): the transactions, or QUIT. */
static void
after_opening(struct session *s)
{
	if (stop_point(s, s->auth_tried ? STAGE_AUTH : STAGE_TLS))
		return;
	if (!s->auth_tried && s->p.auth_user != NULL &&
	    s->p.auth_user[0] != '\0') {
		/* After the last EHLO (inside TLS when there is TLS). */
		start_auth(s);
		return;
	}
	if (stop_point(s, STAGE_AUTH))
		return;
	s->ti = 0;
	next_txn(s);
}

/* MAIL FROM for transaction s->ti (again for a carried-over rest). */
static void
send_mail(struct session *s)
{
	struct plan_txn *t = cur_txn(s);
	bool utf8 = t->need_smtputf8 && s->res->caps != NULL &&
	    s->res->caps->smtputf8;

	s->accepted_mail = 0;
	s->full = false;
	send_line(s, S_MAIL, "MAIL FROM:<%s>%s", t->from,
	    utf8 ? " SMTPUTF8" : "");
}

/* MAIL FROM for transaction s->ti, or QUIT after the last. */
static void
next_txn(struct session *s)
{
	const struct ehlo_caps *c = s->res->caps;
	struct plan *p = s->p.plan;
	struct plan_txn *t;
	bool utf8;

	for (; s->ti < p->ntxns; s->ti++) {
		t = cur_txn(s);
		utf8 = t->need_smtputf8 && c != NULL && c->smtputf8;
		if (!t->need_smtputf8 || utf8)
			break;
		/* RFC 6531 §3.2: a UTF-8 mailbox needs the server's
		 * SMTPUTF8; without it the address cannot be given. */
		t->state = PLAN_TXN_NO_SMTPUTF8;
		decide(s, OUTCOME_ANSWERED, STAGE_RCPT);
	}
	if (s->ti >= p->ntxns) {
		decide(s, OUTCOME_ANSWERED, p->ntxns == 0 ? STAGE_EHLO :
		    STAGE_RCPT);
		send_quit(s);
		return;
	}
	t->state = PLAN_TXN_ASKED;
	s->ri = 0;
	send_mail(s);
}

/* The recipient index of the oldest RCPT outstanding (0 if none). */
static size_t
first_outstanding_rcpt(const struct session *s)
{
	size_t i;

	for (i = 0; i < s->nq; i++) {
		const struct sent_cmd *c =
		    &s->q[(s->qhead + i) % LIMIT_OUTSTANDING];

		if (c->state == S_RCPT)
			return c->ri;
	}
	return 0;
}

/* RCPT commands sent and not answered yet. */
static size_t
rcpts_outstanding(const struct session *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nq; i++)
		n += s->q[(s->qhead + i) % LIMIT_OUTSTANDING].state == S_RCPT;
	return n;
}

/*
 * How many RCPT commands may be outstanding at once: one, or with the
 * plan's pipelining rule and the server's PIPELINING (RFC 2920 §3.1) a
 * group — never more than the refusals the plan's budget has left, so
 * that the budget holds even when every one of them is refused, and
 * with room in the queue for the RSET.
 */
static size_t
rcpt_window(const struct session *s)
{
	const struct plan *p = s->p.plan;
	size_t w = LIMIT_OUTSTANDING - 1;

	if (!p->pipelining || s->res->caps == NULL || !s->res->caps->pipelining)
		return 1;
	if (p->max_rejected > 0) {
		unsigned left = p->rejected < p->max_rejected ?
		    p->max_rejected - p->rejected : 1;

		if (left < w)
			w = left;
	}
	return w;
}

/* Is recipient ri of transaction ti sent and not answered yet? */
static bool
rcpt_in_flight(const struct session *s, size_t ti, size_t ri)
{
	size_t i;

	for (i = 0; i < s->nq; i++) {
		const struct sent_cmd *c =
		    &s->q[(s->qhead + i) % LIMIT_OUTSTANDING];

		if (c->state == S_RCPT && c->ti == ti && c->ri == ri)
			return true;
	}
	return false;
}

/* The control recipient not asked yet (plan.h, if_accepted), or nrcpts. */
static size_t
pending_control(const struct session *s, const struct plan_txn *t)
{
	size_t i;

	for (i = 0; i < t->nrcpts; i++)
		if (t->rcpts[i].if_accepted &&
		    t->rcpts[i].state == PLAN_RCPT_NOT_ASKED &&
		    t->rcpts[i].reply.reply == NULL &&
		    !rcpt_in_flight(s, s->ti, i))
			return i;
	return t->nrcpts;
}

/* RCPT TO for recipient i of the transaction (the queue notes i). */
static void
send_rcpt(struct session *s, const struct plan_txn *t, size_t i)
{
	size_t next = s->ri;

	s->ri = i;
	send_line(s, S_RCPT, "RCPT TO:<%s>", t->rcpts[i].mailbox);
	s->ri = next;
}

/* Recipients the walk passes over: controls (asked out of order), and
 * those answered already (after a 452 in a group, some of the rest may
 * have been answered before the transaction is carried over). */
static bool
rcpt_skipped(const struct plan_rcpt *r)
{
	return r->if_accepted || r->state == PLAN_RCPT_ANSWERED ||
	    r->state == PLAN_RCPT_CLOSED;
}

/*
 * RCPT TO for the next recipients of the transaction, as many as the
 * window allows, or once none is left and every answer is in, its RSET.
 * A control goes as soon as an earlier recipient was accepted (behind
 * those in flight), and never in the list's own order.
 */
static void
next_rcpt(struct session *s)
{
	struct plan_txn *t = cur_txn(s);
	size_t c, out = rcpts_outstanding(s);

	while (!s->finished && out < rcpt_window(s)) {
		if (t->accepted > 0 && (c = pending_control(s, t)) < t->nrcpts)
			send_rcpt(s, t, c);
		else {
			while (s->ri < t->nrcpts &&
			    rcpt_skipped(&t->rcpts[s->ri]))
				s->ri++;
			if (s->ri >= t->nrcpts)
				break;
			send_rcpt(s, t, s->ri++);
		}
		if (out++ == 0)
			continue;
		s->p.plan->pipelined++;
		if (!s->piped) {
			s->piped = true;
			s->pipe_ti = s->ti;
			s->pipe_ri = first_outstanding_rcpt(s);
		}
	}
	if (out > 0 || s->finished)
		return;
	/* Whatever the answers, the transaction ends here: never DATA. */
	s->transaction = false;
	send_line(s, S_RSET, "RSET");
}

static void
on_mail_reply(struct session *s, struct reply *rp)
{
	struct rec_reply *rr = mail_rec(s, &s->cur);
	int code = rp->code;
	bool stop;

	if (!record(s, rr, CODES_CMD_MAIL, rp)) {
		decide(s, OUTCOME_PROTOCOL_ERROR, STAGE_MAIL);
		send_quit(s);
		return;
	}
	s->carry_mail = false;
	stop = plan_rules(s, rr);
	if (code / 100 == 2) {
		s->transaction = true;
		if (stop)
			send_quit(s);
		else
			next_rcpt(s);
		return;
	}
	/* A refused MAIL opens no transaction (§4.1.1.2). */
	decide(s, OUTCOME_ANSWERED, STAGE_MAIL);
	if (code == 421 || stop) {
		/* RFC 5321 §3.8: the server is closing the channel. */
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	s->ti++;
	next_txn(s);
}

/*
 * RFC 5321 §4.5.3.1.10: a server out of recipient slots answers 452 (or
 * 552), X.5.3 in enhanced codes (RFC 3463).  Not a failure of the
 * recipient: it and the rest of the transaction stay to be asked again.
 */
static bool
too_many(const struct session *s, const struct reply *rp)
{
	return s->accepted_mail > 0 && ((rp->esc_subject == 5 &&
	    rp->esc_detail == 3 && rp->esc_class == rp->code / 100) ||
	    (rp->code == 452 && rp->esc_class == 0));
}

/*
 * After the answer to a RCPT: the next ones, or the end.  With a group in
 * flight, a stop (the plan's rules) queues the RSET behind it, and after
 * a 452 the rest of the group is awaited before the transaction is
 * carried over or ended.
 */
static void
rcpt_next_step(struct session *s, bool stop)
{
	struct plan_txn *t = cur_txn(s);

	if (s->quitting)
		return; /* answers to a group still coming in */
	if (stop) {
		send_quit(s);
		return;
	}
	if (s->full) {
		if (rcpts_outstanding(s) > 0)
			return;
		s->full = false;
		if (s->p.plan->carry_over) {
			/* RSET, then the rest in a new transaction. */
			s->carrying = true;
			s->transaction = false;
			send_line(s, S_RSET, "RSET");
			return;
		}
		s->ri = t->nrcpts;
	}
	next_rcpt(s);
}

/* A 452 "too many": the recipient and the rest stay to be asked again. */
static void
rcpt_too_many(struct session *s, struct plan_txn *t, struct plan_rcpt *r,
    int code)
{
	r->state = PLAN_RCPT_TOO_MANY;
	if (!r->if_accepted && s->cur.ri < s->ri)
		/* The first of the list to find no room: the walk goes on
		 * from it in the next transaction (the answered ones are
		 * passed over). */
		s->ri = s->cur.ri;
	if (s->full)
		return;
	s->full = true;
	if (t->took == 0 || s->accepted_mail < t->took)
		t->took = s->accepted_mail;
	result_transcriptf(s->res, 'i',
	    "no more recipients in this "
	    "transaction (%d); %zu recipient(s) left for another one",
	    code, t->nrcpts - s->cur.ri);
}

static void
on_rcpt_reply(struct session *s, struct reply *rp)
{
	struct plan_txn *t = txn_of(s, &s->cur);
	struct plan_rcpt *r = rcpt_of(s, &s->cur);
	int code = rp->code;
	bool stop;

	if (!record(s, &r->reply, CODES_CMD_RCPT, rp)) {
		/* Never take a 3xx (or anything odd) as leave to go on:
		 * the probe sends nothing but RSET/QUIT. */
		r->state = PLAN_RCPT_ANSWERED;
		decide(s, OUTCOME_PROTOCOL_ERROR, STAGE_RCPT);
		send_quit(s);
		return;
	}
	stop = plan_rules(s, &r->reply);
	if (too_many(s, rp)) {
		rcpt_too_many(s, t, r, code);
		rcpt_next_step(s, stop);
		return;
	}
	decide(s, OUTCOME_ANSWERED, STAGE_RCPT);
	if (code == 421) {
		/* RFC 5321 §3.8: the server is closing the channel. */
		r->state = PLAN_RCPT_CLOSED;
		if (!s->quitting) {
			s->quitting = true;
			send_line(s, S_QUIT, "QUIT");
		}
		return;
	}
	r->state = PLAN_RCPT_ANSWERED;
	if (code / 100 == 2 && !r->if_accepted) {
		t->accepted++;
		s->accepted_mail++;
	}
	rcpt_next_step(s, stop);
}

/*
 * A reply sent in addition to the answers of a group of pipelined
 * commands (RFC 2920) cannot be told from them when it comes: it shifts
 * every later answer by one.  Once the session sees it was out of step,
 * none of the answers since its first group can be trusted: recipients
 * answered (or in flight) since then become NO_ANSWER, for the caller to
 * ask again, and the MAIL answers after it are marked untrusted.
 */
static void
piped_discard(struct session *s, const char *why)
{
	struct plan *p = s->p.plan;
	size_t i, j;

	if (!s->piped)
		return;
	s->piped = false;
	for (i = s->pipe_ti; i < p->ntxns; i++) {
		struct plan_txn *t = &p->txns[i];

		if (i > s->pipe_ti && t->mail.reply != NULL)
			t->mail.untrusted = true;
		for (j = i == s->pipe_ti ? s->pipe_ri : 0; j < t->nrcpts; j++) {
			struct plan_rcpt *r = &t->rcpts[j];

			if (r->state == PLAN_RCPT_NOT_ASKED &&
			    r->reply.reply == NULL)
				continue;
			if (r->reply.reply != NULL)
				r->reply.untrusted = true;
			r->state = PLAN_RCPT_NO_ANSWER;
			r->timed_out = false;
			snprintf(r->why, sizeof(r->why), "%s", why);
		}
	}
}

/*
 * RSET always gets 250 (RFC 5321 §4.1.1.5), QUIT 221 (§4.1.1.10): after
 * pipelined groups, anything else is the answer to another command, so
 * the replies were out of step (piped_discard()); the connection is
 * closed at once.  True when that is so.
 */
static bool
piped_mismatch(struct session *s, int code)
{
	const char *what = s->cur.state == S_RSET ? "RSET" : "QUIT";

	if (!s->piped || code == (s->cur.state == S_RSET ? 250 : 221))
		return false;
	result_finding(s->res, FINDING_SESSION_UNSOLICITED_REPLY, STAGE_RCPT,
	    NULL,
	    "%s after recipients sent in groups (PIPELINING, RFC 2920) "
	    "got %d, which %s never gets: the server's replies were out of "
	    "step with the commands, so its answers since the first group "
	    "are not used",
	    what, code, what);
	piped_discard(s,
	    "the server's replies were out of step with the "
	    "pipelined commands");
	decide(s, OUTCOME_PROTOCOL_ERROR, STAGE_RCPT);
	result_transcriptf(s->res, 'i',
	    "giving up: the server's replies are "
	    "out of step with the commands");
	finish(s);
	return true;
}

/* The RSET that ends a transaction (or comes before QUIT). */
static void
on_rset_reply(struct session *s, const struct rec_reply *rr)
{
	bool ok = rr->reply->code / 100 == 2 && rr->legality != CODES_ILLEGAL;

	if (piped_mismatch(s, rr->reply->code))
		return;
	set_status(s, STAGE_QUIT, ok ? STATUS_OK : STATUS_WARN);
	if (s->quitting || !ok) {
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	if (s->carrying) {
		/* The rest of the transaction, from the recipient that got
		 * the 452. */
		s->carrying = false;
		s->carry_mail = true;
		send_mail(s);
		return;
	}
	s->ti++;
	next_txn(s);
}

/* The recipients in flight got no answer: their records say so. */
static void
plan_lost(struct session *s, bool timeout, const char *why)
{
	struct plan_rcpt *r;
	size_t i;

	for (i = 0; i < s->nq; i++) {
		const struct sent_cmd *c =
		    &s->q[(s->qhead + i) % LIMIT_OUTSTANDING];

		if (c->state != S_RCPT)
			continue;
		r = rcpt_of(s, c);
		r->state = PLAN_RCPT_NO_ANSWER;
		r->timed_out = timeout;
		snprintf(r->why, sizeof(r->why), "%s", why);
	}
}

/* After EHLO/HELO, before or after TLS: STARTTLS or MAIL next. */
static void
after_hello(struct session *s)
{
	bool offered = s->res->caps != NULL && s->res->caps->starttls;

	if (!s->in_tls && stop_point(s, STAGE_EHLO))
		return;
	if (s->in_tls || s->p.tls_mode == TLS_NEVER) {
		after_opening(s);
		return;
	}
	if (s->p.no_starttls) {
		result_transcriptf(s->res, 'i', "not trying STARTTLS again "
		    "after the failed handshake");
		set_status(s, STAGE_STARTTLS, STATUS_WARN);
		after_opening(s);
		return;
	}
	if (!offered) {
		result_finding_sev(s->res, FINDING_STARTTLS_NOT_OFFERED,
		    tls_mandatory(s) ? SEV_ERROR : SEV_WARNING, STAGE_STARTTLS,
		    "RFC 3207 §4", NULL, "the server does not offer STARTTLS, "
		    "so mail to it travels unencrypted");
		if (tls_mandatory(s)) {
			set_status(s, STAGE_STARTTLS, STATUS_FAIL);
			decide(s, OUTCOME_TLS_REQUIRED_FAILED, STAGE_STARTTLS);
			send_quit(s);
			return;
		}
		set_status(s, STAGE_STARTTLS, STATUS_WARN);
		after_opening(s);
		return;
	}
	send_line(s, S_STARTTLS, "STARTTLS");
}

static void
on_hello_reply(struct session *s, const struct rec_reply *rr)
{
	const struct reply *rp = rr->reply;
	bool ehlo = s->state == S_EHLO || s->state == S_EHLO_TLS;
	enum stage st = states[s->state].stage;

	if (rp->code / 100 == 2) {
		if (ehlo) {
			struct ehlo_caps *caps = result_caps(s->res);

			if (caps == NULL) {
				local_failure(s, st, "out of memory");
				return;
			}
			ehlo_parse(rp, caps);
		}
		set_status(s, st, STATUS_OK);
		after_hello(s);
		return;
	}
	if (rp->code == 421 || rp->code / 100 == 4) {
		/* The server is closing or busy: another MX may do. */
		set_status(s, st, STATUS_FAIL);
		result_finding(s->res, FINDING_EHLO_TEMPORARY, st, NULL,
		    "the server answered %s with a temporary failure (%d)",
		    ehlo ? "EHLO" : "HELO", rp->code);
		decide(s, OUTCOME_GREETING_TEMPORARY, st);
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	if (ehlo) {
		/* RFC 5321 §3.2: a client that gets an error to EHLO may
		 * fall back to HELO. */
		result_finding(s->res, FINDING_EHLO_REJECTED, st, NULL,
		    "the server refused EHLO with %d; falling back to HELO, so "
		    "no extensions (STARTTLS, SIZE, SMTPUTF8) can be used",
		    rp->code);
		set_status(s, st, STATUS_WARN);
		send_line(s, s->state == S_EHLO ? S_HELO : S_HELO_TLS,
		    "HELO %s", s->p.helo);
		return;
	}
	result_finding(s->res, FINDING_HELO_REJECTED, st, NULL,
	    "the server refused both EHLO and HELO %s with %d", s->p.helo,
	    rp->code);
	set_status(s, st, STATUS_FAIL);
	decide(s, OUTCOME_HELO_REJECTED, st);
	send_line(s, S_QUIT, "QUIT");
}

static void
on_greeting_reply(struct session *s, const struct rec_reply *rr)
{
	int code = rr->reply->code;

	if (code / 100 == 2 && rr->legality != CODES_ILLEGAL) {
		set_status(s, STAGE_GREETING, STATUS_OK);
		if (stop_point(s, STAGE_GREETING))
			return;
		send_line(s, S_EHLO, "EHLO %s", s->p.helo);
		return;
	}
	set_status(s, STAGE_GREETING, STATUS_FAIL);
	if (code / 100 == 5) {
		result_finding_sev(s->res, FINDING_GREETING_REJECTED, SEV_ERROR,
		    STAGE_GREETING, code == 521 ? "RFC 7504" : "RFC 5321 §3.1",
		    NULL, "the server refused the session at the greeting with "
		    "%d", code);
		decide(s, OUTCOME_GREETING_REJECTED, STAGE_GREETING);
	} else if (code / 100 == 4) {
		result_finding(s->res, FINDING_GREETING_TEMPORARY,
		    STAGE_GREETING, NULL, "the server is not taking mail right "
		    "now (%d at the greeting)", code);
		decide(s, OUTCOME_GREETING_TEMPORARY, STAGE_GREETING);
	} else {
		decide(s, OUTCOME_PROTOCOL_ERROR, STAGE_GREETING);
	}
	/* RFC 5321 §3.1: after a refusal the client should still say QUIT
	 * and wait for the reply. */
	send_line(s, S_QUIT, "QUIT");
}

/* 220 to STARTTLS: bytes already waiting came before TLS; taking them as
 * replies inside TLS is the response injection of CVE-2021-22947.  Drop
 * them, with a finding. */
static void
drop_pretls_bytes(struct session *s)
{
	char raw[101], red[SERVER_TEXT_MAX], ev[101];
	size_t extra, n, used = 0;
	const char *t;

	if (conn_pending(s->conn) == 0)
		return;
	extra = conn_drop_pending(s->conn, raw, sizeof(raw));
	n = strlen(raw);
	t = server_text(s, raw, &n, red, sizeof(red));
	evidence_add(ev, &used, sizeof(ev), t, n);
	result_finding(s->res, FINDING_STARTTLS_PIPELINED_DATA, STAGE_STARTTLS,
	    ev, "the server sent %zu bytes after its 220 to STARTTLS, before "
	    "the TLS handshake; they were discarded", extra);
	set_status(s, STAGE_STARTTLS, STATUS_WARN);
}

static void
on_starttls_reply(struct session *s, const struct rec_reply *rr)
{
	int code = rr->reply->code;

	if (code == 220) {
		set_status(s, STAGE_STARTTLS, STATUS_OK);
		drop_pretls_bytes(s);
		start_tls(s);
		return;
	}
	set_status(s, STAGE_STARTTLS, STATUS_FAIL);
	result_finding_sev(s->res, FINDING_STARTTLS_REJECTED, tls_mandatory(s) ?
	    SEV_ERROR : SEV_WARNING, STAGE_STARTTLS, "RFC 3207 §4", NULL,
	    "the server offered STARTTLS but refused it with %d", code);
	if (tls_mandatory(s) || code == 421) {
		decide(s, code == 421 ? OUTCOME_GREETING_TEMPORARY :
		    OUTCOME_TLS_REQUIRED_FAILED, STAGE_STARTTLS);
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	/* RFC 3207 §4: after 454 the client decides; we go on in plain
	 * text, as an opportunistic sender would. */
	after_opening(s);
}

/* "after EHLO", "after the greeting": where the last reply came. */
static const char *
answered_words(const struct session *s)
{
	return s->cur.state == S_GREETING ? "after the greeting" :
	    states[s->cur.state].during;
}

/* The record of command c's answer, if the plan keeps one. */
static struct rec_reply *
record_of(struct session *s, const struct sent_cmd *c)
{
	if (c->state == S_MAIL)
		return mail_rec(s, c);
	if (c->state == S_RCPT)
		return &rcpt_of(s, c)->reply;
	return NULL;
}

/* The early bytes (line, then what waits in the input) into the
 * transcript, one entry per line, marked as early; their start into ev,
 * the lines joined by spaces.  All of it as server_text() gives it. */
static void
show_early(struct session *s, const char *line, size_t len, char *ev,
    size_t evlen)
{
	char buf[LIMIT_EARLY_SHOWN], red[SERVER_TEXT_MAX];
	size_t n = 0, total, i, start, k, used = 0;
	const char *t;

	if (line != NULL) {
		n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
		memcpy(buf, line, n);
		buf[n++] = '\n';
	}
	total = n + conn_pending(s->conn);
	n += conn_peek_pending(s->conn, (unsigned char *)buf + n,
	    sizeof(buf) - n);
	ev[0] = '\0';
	for (start = 0, i = 0; i <= n; i++) {
		if (i < n && buf[i] != '\n')
			continue;
		if (i > start || i < n) {
			k = i > start && buf[i - 1] == '\r' ? i - start - 1 :
			    i - start;
			t = line != NULL && start == 0 ? buf :
			    server_text(s, buf + start, &k, red, sizeof(red));
			result_transcript(s->res, 'e', t, k);
			if (used > 0)
				evidence_add(ev, &used, evlen, " ", 1);
			evidence_add(ev, &used, evlen, t, k);
		}
		start = i + 1;
	}
	if (total > n)
		result_transcriptf(s->res, 'i', "... %zu more bytes sent early "
		    "not shown", total - n);
	while (used > 0 && ev[used - 1] == ' ')
		ev[--used] = '\0';
}

/* "MAIL FROM", "RCPT TO", "EHLO": the command word(s) of a line. */
static void
command_words(const char *line, char *buf, size_t len)
{
	size_t n = strcspn(line, ":");

	if (line[n] != ':' || n > 9)
		n = strcspn(line, " ");
	snprintf(buf, len, "%.*s", (int)n, line);
}

/*
 * The server sent a reply nobody asked for: bytes waiting when command
 * `next` was to be sent, or a line (line, len) while nothing was
 * outstanding.  From here every reply would be taken as the answer to the
 * wrong command (one stray "250 OK" after EHLO and RCPT reads MAIL's
 * 250), so nothing more is asked.  The early bytes go into the
 * transcript, marked as early; the answer the server gave last and the
 * commands still outstanding are marked as not to be trusted (the verdict
 * then cannot rest on them); the connection is closed at once, since a
 * QUIT would only get someone else's reply too.
 */
static void
out_of_step(struct session *s, const char *line, size_t len,
    const char *next)
{
	enum stage st = states[s->cur.state].stage;
	struct rec_reply *rr;
	char ev[201], verb[40];
	size_t i;

	show_early(s, line, len, ev, sizeof(ev));
	command_words(next != NULL ? next : "", verb, sizeof(verb));
	result_finding(s->res, FINDING_SESSION_UNSOLICITED_REPLY, st, ev,
	    "the server sent a reply nobody asked for (%s, %s%s%s): its "
	    "replies no longer match smtpprobe's commands, so nothing more was "
	    "asked", answered_words(s), next != NULL ? "before " :
	    "while nothing was asked", verb, next != NULL ? " was sent" : "");
	if ((rr = record_of(s, &s->cur)) != NULL && rr->reply != NULL)
		rr->untrusted = true;
	for (i = 0; i < s->nq; i++)
		if ((rr = record_of(s, &s->q[(s->qhead + i) %
		    LIMIT_OUTSTANDING])) != NULL)
			rr->untrusted = true;
	plan_lost(s, false, "the server's replies were out of step");
	piped_discard(s,
	    "the server's replies were out of step with the "
	    "pipelined commands");
	set_status(s, st, STATUS_FAIL);
	result_stage_error(s->res, st, "the server sent a reply nobody asked "
	    "for");
	decide(s, OUTCOME_PROTOCOL_ERROR, st);
	result_transcriptf(s->res, 'i', "giving up: the server's replies are "
	    "out of step with the commands");
	finish(s);
}

/* RFC 5321 §4.3.2, RFC 4954 §4: 354 answers DATA alone (never sent
 * here), 334 answers AUTH alone; no other command gets a 3yz. */
static bool
intermediate_allowed(enum sstate st, int code)
{
	return code / 100 != 3 || (st == S_AUTH && code == 334);
}

/*
 * A 3yz to a command that cannot get one: the server may now be reading
 * message text, and would take any line sent as part of a message.  The
 * reply is recorded and the connection closed at once, without another
 * line (no RSET, no QUIT).
 */
static void
intermediate_abort(struct session *s, struct reply *rp)
{
	enum sstate state = s->cur.state;
	enum stage st = states[state].stage;
	const char *what = state == S_GREETING ? "the connection" :
	    codes_cmd_name((enum codes_cmd)states[state].cmd);
	int code = rp->code;

	if (state == S_MAIL)
		(void)record(s, mail_rec(s, &s->cur), CODES_CMD_MAIL, rp);
	else if (state == S_RCPT) {
		(void)record(s, &rcpt_of(s, &s->cur)->reply, CODES_CMD_RCPT,
		    rp);
		rcpt_of(s, &s->cur)->state = PLAN_RCPT_ANSWERED;
	} else
		(void)result_add_reply(s->res, st, states[state].cmd,
		    state == S_GREETING ? NULL : s->cur.shown, rp,
		    answer_ms(s));
	result_finding(s->res, FINDING_SESSION_UNEXPECTED_INTERMEDIATE, st,
	    NULL, "the server answered %s with %d, a reply that asks for more "
	    "input (354 invites message text and is valid after DATA only): it "
	    "may now take any line as part of a message, so smtpprobe closed "
	    "the connection at once without sending another line", what, code);
	set_status(s, st, STATUS_FAIL);
	result_stage_error(s->res, st, "%d to %s: the server may be waiting "
	    "for message text", code, what);
	decide(s, OUTCOME_PROTOCOL_ERROR, st);
	result_transcriptf(s->res, 'i', "closing at once: %d to %s asks for "
	    "more input", code, what);
	finish(s);
}

static void
dispatch_reply(struct session *s, struct reply *rp)
{
	enum sstate state = s->cur.state;
	enum stage st = states[state].stage;
	struct stage_rec *sr = &s->res->stages[st];
	const struct rec_reply *rr;
	int code = rp->code;

	if (!intermediate_allowed(state, rp->code)) {
		intermediate_abort(s, rp);
		return;
	}
	if (state == S_MAIL || state == S_RCPT) {
		/* The plan's records keep these, not the result. */
		if (state == S_MAIL)
			on_mail_reply(s, rp);
		else
			on_rcpt_reply(s, rp);
		return;
	}
	rr = result_add_reply(s->res, st, states[state].cmd,
	    state == S_GREETING ? NULL : s->cur.shown, rp, answer_ms(s));
	sr->elapsed_ms = now_ms() - s->stage_start;
	if (rr == NULL && (state == S_RSET || state == S_QUIT)) {
		/* One RSET per transaction: the stage keeps the first
		 * few and counts the rest. */
		if (piped_mismatch(s, code))
			return;
		if (state == S_RSET && !s->quitting && s->carrying) {
			s->carrying = false;
			s->carry_mail = true;
			send_mail(s);
		} else if (state == S_RSET && !s->quitting) {
			s->ti++;
			next_txn(s);
		} else
			send_line(s, S_QUIT, "QUIT");
		return;
	}
	if (rr == NULL) {
		/* More replies in one stage than any dialogue of ours
		 * produces: something is badly off. */
		protocol_abort(s, NULL, "too many replies in one stage");
		return;
	}
	switch (state) {
	case S_GREETING:
		on_greeting_reply(s, rr);
		return;
	case S_EHLO:
	case S_HELO:
	case S_EHLO_TLS:
	case S_HELO_TLS:
		if (rr->legality == CODES_ILLEGAL && rp->code / 100 == 2) {
			decide(s, OUTCOME_PROTOCOL_ERROR, st);
			set_status(s, st, STATUS_FAIL);
			send_line(s, S_QUIT, "QUIT");
			return;
		}
		on_hello_reply(s, rr);
		return;
	case S_STARTTLS:
		on_starttls_reply(s, rr);
		return;
	case S_AUTH:
		on_auth_reply(s, rr);
		return;
	case S_RSET:
		on_rset_reply(s, rr);
		return;
	default:
		if (piped_mismatch(s, code))
			return;
		set_status(s, STAGE_QUIT, rp->code / 100 == 2 &&
		    rr->legality != CODES_ILLEGAL ? STATUS_OK : STATUS_WARN);
		finish(s);
		return;
	}
}

/* A complete reply: it answers the oldest command outstanding. */
static void
on_reply(struct session *s, struct reply *rp)
{
	struct sent_cmd *next;
	double at = now_ms();

	evtimer_del(s->timer);
	if (!queue_pop(s)) {
		/* on_line() stops lines that come while nothing is
		 * outstanding; a reply cannot get here without one. */
		reply_free(rp);
		out_of_step(s, NULL, 0, NULL);
		return;
	}
	dispatch_reply(s, rp);
	s->replied_at = at;
	/* A group (RFC 2920): the next reply answers the next command. */
	if (!s->finished && (next = queue_head(s)) != NULL &&
	    !evtimer_pending(s->timer, NULL))
		enter(s, next->state);
}

/* Bytes without a line end waiting at the greeting: a TLS record? */
static bool
pending_tls_record(struct session *s)
{
	unsigned char p[8];
	size_t n = conn_peek_pending(s->conn, p, sizeof(p));

	return greeting_is_tls(s, p, n);
}

/* The server as the transcript names it: its address, else (the proxy
 * resolves it) its name. */
static const char *
server_shown(const struct session *s)
{
	return s->res->server_ip[0] != '\0' ? s->res->server_ip : s->p.host;
}

/* What the proxy's handshake left, into the result. */
static void
proxy_facts(struct session *s)
{
	static const char *const steps[] = {
		"connect", "method", "auth", "request", "done"
	};
	const struct conn_proxy_state *ps = conn_proxy_state(s->conn);
	struct proxy_info *pi = s->res->proxy;
	struct sockaddr_storage bound;
	socklen_t len = sizeof(bound);

	if (ps == NULL || pi == NULL)
		return;
	snprintf(pi->step, sizeof(pi->step), "%s", (size_t)ps->step <
	    sizeof(steps) / sizeof(steps[0]) ? steps[ps->step] : "");
	pi->method = ps->method;
	pi->auth_status = ps->auth_status;
	pi->reply = ps->rep;
	pi->not_socks = ps->not_socks;
	/* Its address towards the server, when it names one (not 0.0.0.0,
	 * not a name). */
	if (conn_local_addr(s->conn, &bound, &len) == 0) {
		resolver_addr_str((struct sockaddr *)&bound, pi->bound,
		    sizeof(pi->bound));
		pi->bound_port = ps->reply.port;
	}
}

/* The errno a CONNECT reply stands for (RFC 1928 §6), so that the target
 * walker treats it as it treats a direct connection that failed. */
static int
rep_errno(int rep, int family)
{
	switch (rep) {
	case SOCKS_REP_NET_UNREACHABLE:
		return ENETUNREACH;
	case SOCKS_REP_HOST_UNREACHABLE:
		return EHOSTUNREACH;
	case SOCKS_REP_REFUSED:
		return ECONNREFUSED;
	case SOCKS_REP_ATYP_UNSUPPORTED:
		return family == AF_INET6 ? EAFNOSUPPORT : 0;
	default:
		return 0;
	}
}

/*
 * The proxy failed: it could not be reached (connect stage), or its
 * handshake did not end in a tunnel (proxy stage).  A CONNECT reply
 * that refuses is about this server, so the walk goes on to the next as
 * after a refused direct connection; a CONNECT that got no reply in time
 * is a connection that timed out.  Anything else (the proxy down, its
 * authentication, an answer that is not SOCKS 5) would fail the same way
 * for every server: the walk stops there.
 */
static void
proxy_failed(struct session *s, bool timeout, const char *why)
{
	const struct conn_proxy_state *ps = conn_proxy_state(s->conn);
	struct proxy_info *pi = s->res->proxy;
	const char *url = pi != NULL ? pi->url : "";

	proxy_facts(s);
	if (pi != NULL)
		pi->timed_out = timeout;
	if (s->state == S_CONNECTING || ps == NULL) {
		result_finding(s->res, FINDING_PROXY_UNREACHABLE, STAGE_CONNECT,
		    why, "could not connect to the proxy %s: %s", url, why);
		decide(s, OUTCOME_PROXY_FAILED, STAGE_CONNECT);
	} else if (ps->rep > 0) {
		s->connect_errno = rep_errno(ps->rep, s->p.addrlen > 0 ?
		    s->p.addr.ss_family : AF_UNSPEC);
		result_finding(s->res, FINDING_PROXY_CONNECT_REFUSED,
		    STAGE_PROXY, socks_rep_name(ps->rep), "the proxy could not "
		    "connect to %s port %d: it answered \"%s\" (SOCKS reply "
		    "%d); this comes from the proxy, not from the mail server",
		    server_shown(s), s->res->server_port,
		    socks_rep_text(ps->rep), ps->rep);
		decide(s, OUTCOME_CONNECT_FAILED, STAGE_PROXY);
	} else if (timeout && ps->step == CONN_PROXY_REQUEST) {
		result_finding(s->res, FINDING_PROXY_CONNECT_TIMEOUT,
		    STAGE_PROXY, NULL, "the proxy did not answer the request to "
		    "connect to %s port %d within %.1f s: it could not reach the "
		    "server in that time", server_shown(s),
		    s->res->server_port, s->p.timeout_ms[STAGE_PROXY] / 1000.0);
		decide(s, OUTCOME_CONNECT_TIMEOUT, STAGE_PROXY);
	} else {
		result_finding(s->res, timeout ? FINDING_PROXY_TIMEOUT :
		    ps->not_socks ? FINDING_PROXY_NOT_SOCKS :
		    ps->method == SOCKS_METHOD_REFUSED ?
		    FINDING_PROXY_NO_ACCEPTABLE_METHOD : ps->auth_status > 0 ?
		    FINDING_PROXY_AUTH_FAILED : FINDING_PROXY_HANDSHAKE_FAILED,
		    STAGE_PROXY, NULL, "the SOCKS handshake with the proxy %s "
		    "failed: %s", url, why);
		decide(s, OUTCOME_PROXY_FAILED, STAGE_PROXY);
	}
	finish(s);
}

/* The transport failed or timed out in the current state. */
static void
transport_failure(struct session *s, bool timeout, const char *why)
{
	enum sstate state = s->state;
	enum stage st = states[state].stage;
	struct stage_rec *sr = &s->res->stages[st];

	plan_lost(s, timeout, why);
	if ((state == S_RCPT || state == S_MAIL) &&
	    s->outcome != OUTCOME_NONE) {
		/* The request in flight has its record; what was answered
		 * before stands. */
		finish(s);
		return;
	}
	if (state == S_QUIT || state == S_RSET || s->outcome != OUTCOME_NONE) {
		/* The answer is in; the goodbye is a courtesy. */
		if (state == S_QUIT || state == S_RSET)
			set_status(s, STAGE_QUIT, STATUS_WARN);
		result_stage_error(s->res, STAGE_QUIT, "%s", why);
		finish(s);
		return;
	}
	sr->timed_out = timeout;
	sr->unfinished = timeout && s->unfinished;
	result_stage_error(s->res, st, "%s", why);
	sr->elapsed_ms = now_ms() - s->stage_start;
	set_status(s, st, STATUS_FAIL);
	if ((state == S_CONNECTING && s->p.proxy != NULL) ||
	    state == S_PROXY) {
		proxy_failed(s, timeout, why);
		return;
	}
	if (state == S_CONNECTING) {
		result_finding(s->res, timeout ? FINDING_CONNECT_TIMEOUT :
		    FINDING_CONNECT_FAILED, STAGE_CONNECT, why,
		    "could not connect to %s port %d: %s", s->res->server_ip,
		    s->res->server_port, why);
		decide(s, timeout ? OUTCOME_CONNECT_TIMEOUT :
		    OUTCOME_CONNECT_FAILED, STAGE_CONNECT);
	} else if (state == S_TLS_HANDSHAKE) {
		tls_failed(s, why);
		return;
	} else if (sr->unfinished) {
		result_finding(s->res, FINDING_REPLY_UNFINISHED, st, NULL,
		    "%s", why);
		decide(s, OUTCOME_TIMEOUT, st);
	} else if (state == S_GREETING && pending_tls_record(s)) {
		decide(s, timeout ? OUTCOME_TIMEOUT : OUTCOME_PROTOCOL_ERROR,
		    STAGE_GREETING);
	} else if (state == S_GREETING && timeout) {
		result_finding(s->res, FINDING_GREETING_TIMEOUT, STAGE_GREETING,
		    NULL, "the server sent no complete greeting within %.1f s",
		    s->p.timeout_ms[STAGE_GREETING] / 1000.0);
		decide(s, OUTCOME_TIMEOUT, STAGE_GREETING);
	} else if (timeout) {
		result_finding(s->res, FINDING_SESSION_TIMEOUT, st, NULL,
		    "no answer within %.1f s %s", s->p.timeout_ms[st] / 1000.0,
		    states[state].during);
		decide(s, OUTCOME_TIMEOUT, st);
	} else {
		result_finding(s->res, FINDING_SESSION_CONNECTION_LOST, st, why,
		    "the connection was lost %s: %s", states[state].during,
		    why);
		decide(s, OUTCOME_LOST, st);
	}
	finish(s);
}

static void
protocol_abort(struct session *s, struct reply *partial, const char *why)
{
	enum sstate state = s->state;
	enum stage st = states[state].stage;

	/* What came instead of an answer answers the oldest command. */
	if (partial != NULL && !queue_pop(s)) {
		reply_free(partial);
		partial = NULL;
	}
	if (state == S_MAIL || state == S_RCPT) {
		/* ... and goes into the record of the request in flight. */
		if (partial != NULL && state == S_MAIL)
			(void)record(s, mail_rec(s, &s->cur), CODES_CMD_MAIL, partial);
		else if (partial != NULL) {
			(void)record(s, &rcpt_of(s, &s->cur)->reply,
			    CODES_CMD_RCPT, partial);
			rcpt_of(s, &s->cur)->state = PLAN_RCPT_ANSWERED;
		}
		plan_lost(s, false, why);
		partial = NULL;
		if (s->outcome != OUTCOME_NONE) {
			result_transcriptf(s->res, 'i', "giving up: %s", why);
			finish(s);
			return;
		}
	}
	if (partial != NULL)
		(void)result_add_reply(s->res, st, states[state].cmd,
		    state == S_GREETING ? NULL : s->cur.shown, partial,
		    answer_ms(s));
	result_stage_error(s->res, st, "%s", why);
	set_status(s, st, STATUS_FAIL);
	decide(s, OUTCOME_PROTOCOL_ERROR, st);
	result_transcriptf(s->res, 'i', "giving up: %s", why);
	finish(s);
}

/*
 * A reply has begun and goes on (a continuation line came): a server that
 * then falls silent would hold the probe for the whole stage's timeout,
 * although it did answer.  Give up once the partial reply has been silent
 * for a share of the stage's timeout (limits.h), never later than the
 * stage's own end.
 */
static void
wait_rest_of_reply(struct session *s)
{
	double left = s->deadline - now_ms();
	double share = s->p.timeout_ms[states[s->state].stage] /
	    (double)TIMEOUT_PARTIAL_REPLY_DIV;
	double ms = left < share ? left : share;
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((long)ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

/*
 * A reply still going on past LIMIT_REPLY_LINES_HARD lines or
 * LIMIT_REPLY_BYTES_HARD bytes: every line may have been a valid reply
 * line, so the words say that it was our limit that cut it, and which
 * (the reply checker files reply.over_limit when the cut reply is
 * recorded).
 */
static void
reply_over_limit(struct session *s, struct reply *rp)
{
	char why[128];

	snprintf(why, sizeof(why), "the reply went on past smtpprobe's limit "
	    "of %d %s and was cut", rp->cut == REPLY_CUT_LINES ?
	    LIMIT_REPLY_LINES_HARD : LIMIT_REPLY_BYTES_HARD,
	    rp->cut == REPLY_CUT_LINES ? "lines" : "bytes");
	protocol_abort(s, rp, why);
}

/* A line from the server: into the transcript, then the parser. */
static void
on_line(void *arg, const char *line, size_t len, bool crlf)
{
	struct session *s = arg;
	struct reply *rp;
	char buf[SERVER_TEXT_MAX];

	line = server_text(s, line, &len, buf, sizeof(buf));
	if (!s->got_line) {
		/* What answered, for --self-check's reachability line. */
		size_t n = len < sizeof(s->res->first_bytes) - 1 ? len :
		    sizeof(s->res->first_bytes) - 1;

		s->got_line = true;
		memcpy(s->res->first_bytes, line, n);
		s->res->first_bytes[n] = '\0';
		s->res->first_bytes_len = n;
	}
	if (s->state == S_CONNECTING || s->state == S_PROXY ||
	    s->state == S_DONE || s->state == S_TLS_HANDSHAKE) {
		result_transcript(s->res, 'r', line, len);
		return;
	}
	if (s->nq == 0) {
		/* Nothing is outstanding: nobody asked for this. */
		out_of_step(s, line, len, NULL);
		return;
	}
	result_transcript(s->res, 'r', line, len);
	s->line_at = now_ms();
	if (s->state == S_GREETING && s->res->stages[STAGE_GREETING].nreplies
	    == 0 && greeting_is_tls(s, (const unsigned char *)line, len)) {
		protocol_abort(s, NULL, "the server sent a TLS record instead "
		    "of a greeting");
		return;
	}
	switch (reply_parser_line(&s->parser, line, len, crlf, &rp)) {
	case REPLY_MORE:
		wait_rest_of_reply(s);
		break;
	case REPLY_DONE:
		on_reply(s, rp);
		break;
	case REPLY_FATAL:
		if (rp->cut != REPLY_CUT_NONE)
			reply_over_limit(s, rp);
		else
			protocol_abort(s, rp, "the server sent a line that is "
			    "not an SMTP reply");
		break;
	case REPLY_NOMEM:
		protocol_abort(s, NULL, "out of memory");
		break;
	}
}

static void
on_line_too_long(void *arg)
{
	struct session *s = arg;
	char limit[32], why[128];

	snprintf(limit, sizeof(limit), "%d bytes in one line",
	    LIMIT_REPLY_LINE_HARD);
	result_finding_sev(s->res, FINDING_REPLY_LINE_TOO_LONG, SEV_ERROR,
	    states[s->state].stage, "RFC 5321 §4.5.3.1.5", limit, "the server "
	    "sent a line of more than %d bytes, smtpprobe's limit for one "
	    "line (RFC 5321 allows 512); smtpprobe stopped reading there and "
	    "gave up the connection", LIMIT_REPLY_LINE_HARD);
	snprintf(why, sizeof(why), "a reply line went past smtpprobe's limit "
	    "of %s", limit);
	protocol_abort(s, NULL, why);
}

/* Through a proxy: the TCP connection to it is up; the handshake runs
 * as a stage of its own, with its own timeout. */
static void
on_proxy_open(void *arg)
{
	struct session *s = arg;

	evtimer_del(s->timer);
	s->res->stages[STAGE_CONNECT].elapsed_ms = now_ms() - s->stage_start;
	set_status(s, STAGE_CONNECT, STATUS_OK);
	if (s->res->proxy != NULL)
		snprintf(s->res->proxy->step, sizeof(s->res->proxy->step),
		    "method");
	result_transcriptf(s->res, 'i', "connected to the proxy in %.1f ms; "
	    "SOCKS 5 handshake", s->res->stages[STAGE_CONNECT].elapsed_ms);
	enter(s, S_PROXY);
	s->stage_start = now_ms();
}

static void
on_connected(void *arg)
{
	struct session *s = arg;
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	char ip[64] = "?";

	evtimer_del(s->timer);
	if (conn_local_addr(s->conn, &local, &ll) == 0) {
		resolver_addr_str((struct sockaddr *)&local, ip, sizeof(ip));
		if (s->p.connected != NULL)
			s->p.connected(s->p.connected_arg,
			    (struct sockaddr *)&local);
	}
	if (s->state == S_PROXY) {
		s->res->stages[STAGE_PROXY].elapsed_ms = now_ms() -
		    s->stage_start;
		set_status(s, STAGE_PROXY, STATUS_OK);
		proxy_facts(s);
		result_transcriptf(s->res, 'i', "the proxy connected to %s "
		    "port %d in %.1f ms (from %s)", server_shown(s),
		    s->res->server_port,
		    s->res->stages[STAGE_PROXY].elapsed_ms,
		    s->res->proxy != NULL && s->res->proxy->bound[0] ?
		    s->res->proxy->bound : "?");
	} else {
		s->res->stages[STAGE_CONNECT].elapsed_ms = now_ms() -
		    s->stage_start;
		set_status(s, STAGE_CONNECT, STATUS_OK);
		result_transcriptf(s->res, 'i', "connected to %s port %d from "
		    "%s in %.1f ms", s->res->server_ip, s->res->server_port,
		    ip, s->res->stages[STAGE_CONNECT].elapsed_ms);
	}
	if (stop_point(s, s->state == S_PROXY ? STAGE_PROXY :
	    STAGE_CONNECT))
		return;
	if (s->p.implicit_tls) {
		/* RFC 8314 §3.3: TLS first, the greeting inside it. */
		s->stage_start = now_ms();
		start_tls(s);
		return;
	}
	await_greeting(s);
}

static void
on_tls_ready(void *arg)
{
	struct session *s = arg;

	evtimer_del(s->timer);
	tls_done(s);
}

static void
on_closed(void *arg, bool eof, const char *why, int err)
{
	struct session *s = arg;

	if (s->finished)
		return;
	if (s->state == S_CONNECTING && !eof && s->p.proxy == NULL)
		s->connect_errno = err;
	transport_failure(s, false, why);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	char why[128];
	enum stage st = states[s->state].stage;

	(void)fd;
	(void)what;
	if (s->parser.cur != NULL) {
		/* Lines came, the reply's last line never did. */
		s->unfinished = true;
		snprintf(why, sizeof(why), "the reply was never finished: "
		    "%zu line%s %s, then nothing for %.1f s",
		    s->parser.cur->lines_seen, s->parser.cur->lines_seen == 1 ?
		    "" : "s", states[s->state].during,
		    (now_ms() - s->line_at) / 1000.0);
	} else
		snprintf(why, sizeof(why), "no answer within %.1f s %s",
		    s->p.timeout_ms[st] / 1000.0, states[s->state].during);
	result_transcriptf(s->res, 'i', "timeout: %s", why);
	transport_failure(s, true, why);
}

static void
deliver_start_failure(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	char why[256];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "%s",
	    stage_error(&s->res->stages[STAGE_CONNECT]));
	transport_failure(s, false, why);
}

/*
 * The forms of the credentials known before anything is sent: the user
 * name and the password with their base64, and the PLAIN response, which
 * they alone make.  Server text may carry them from the greeting on (a
 * server that knows them, or a proxy that saw an earlier session), not
 * only once AUTH has gone out.  -1 without memory.
 */
static int
redact_credentials(struct session *s)
{
	const char *pw = s->p.auth_password != NULL ? s->p.auth_password : "";
	char blob[AUTH_LINE_MAX];
	int n, rc;

	if ((s->redact = redact_new()) == NULL ||
	    redact_add_secret(s->redact, s->p.auth_user,
	    strlen(s->p.auth_user)) != 0 ||
	    redact_add_secret(s->redact, pw, strlen(pw)) != 0)
		return -1;
	if ((n = auth_plain_response(s->p.auth_user, pw, blob,
	    sizeof(blob))) < 0)
		return 0;	/* too long to send as PLAIN either */
	rc = redact_add_response(s->redact, blob, (size_t)n);
	auth_wipe(blob, sizeof(blob));
	return rc;
}

struct session *
session_start(const struct session_params *params, struct probe_result *res,
    session_done_cb done, void *arg)
{
	static const struct conn_cbs cbs = {
		on_proxy_open, on_connected, on_tls_ready, on_line,
		on_line_too_long, on_closed
	};
	struct session *s;
	int err;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(res->local_error_msg, sizeof(res->local_error_msg),
		    "out of memory");
		return NULL;
	}
	s->p = *params;
	s->res = res;
	s->tp.servername = s->p.host;
	s->tp.tlsa = s->p.tlsa;
	s->tp.ntlsa = s->p.ntlsa;
	s->tp.resume = s->p.tls_resume;
	for (size_t i = 0; i < s->p.ntlsa; i++)
		if (tlsconn_tlsa_usable(&s->p.tlsa[i]))
			s->dane_usable = true;
	if (s->p.plan == NULL)
		s->p.plan = &s->empty_plan;
	plan_reset(s->p.plan);
	s->done = done;
	s->done_arg = arg;
	reply_parser_init(&s->parser);
	if (params->auth_user != NULL && params->auth_user[0] != '\0' &&
	    redact_credentials(s) != 0) {
		snprintf(res->local_error_msg, sizeof(res->local_error_msg),
		    "out of memory");
		session_free(s);
		return NULL;
	}
	if ((s->timer = evtimer_new(params->base, on_timeout, s)) == NULL) {
		snprintf(res->local_error_msg, sizeof(res->local_error_msg),
		    "cannot set up a connection (out of memory)");
		session_free(s);
		return NULL;
	}
	s->conn = conn_new(params->base, params->source, params->source_len,
	    &cbs, s, res->local_error_msg, sizeof(res->local_error_msg));
	if (s->conn == NULL) {
		session_free(s);
		return NULL;
	}
	enter(s, S_CONNECTING);
	s->stage_start = now_ms();
	if (params->proxy != NULL) {
		result_transcriptf(res, 'i', "connecting to the proxy %s for "
		    "%s port %d%s%s%s", res->proxy != NULL ? res->proxy->url : "",
		    server_shown(s),
		    params->port, params->host[0] && res->server_ip[0] ? " (" :
		    "", res->server_ip[0] ? params->host : "",
		    params->host[0] && res->server_ip[0] ? ")" : "");
		err = conn_connect_proxy(s->conn, params->proxy,
		    params->addrlen > 0 ?
		    (const struct sockaddr *)&params->addr : NULL,
		    params->host, params->port);
	} else {
		result_transcriptf(res, 'i', "connecting to %s port %d%s%s%s",
		    res->server_ip, res->server_port, params->host[0] ? " (" :
		    "", params->host, params->host[0] ? ")" : "");
		err = conn_connect(s->conn,
		    (const struct sockaddr *)&params->addr, params->addrlen);
	}
	if (err != 0) {
		s->connect_errno = err > 0 && params->proxy == NULL ? err : 0;
		/* Report from the loop, as for every other outcome. */
		result_stage_error(res, STAGE_CONNECT, "%s", err > 0 ?
		    evutil_socket_error_to_string(err) : "cannot connect");
		evtimer_del(s->timer);
		event_base_once(params->base, -1, EV_TIMEOUT,
		    deliver_start_failure, s, NULL);
	}
	return s;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	conn_free(s->conn);
	reply_free(s->carry_rec.reply);
	if (s->tls_session != NULL)
		SSL_SESSION_free(s->tls_session);
	if (s->timer != NULL)
		event_free(s->timer);
	reply_parser_reset(&s->parser);
	redact_free(s->redact);
	free(s);
}

SSL_SESSION *
session_tls_session(struct session *s)
{
	SSL_SESSION *sess = s->tls_session;

	s->tls_session = NULL;
	return sess;
}

int
session_connect_errno(const struct session *s)
{
	return s->connect_errno;
}

int
session_local_addr(const struct session *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	return conn_local_addr(s->conn, ss, len);
}
