/*
 * session.c — the SMTP client state machine for one server address.
 *
 * One state enum, one place that changes state (enter()), one reply
 * dispatch (on_reply()).  Per-state tables give the stage, the command the
 * reply answers and the words for "while ...", so every failure names its
 * stage.  The session owns its bufferevent (and, after STARTTLS, the TLS
 * filter that owns the plain one) and its timer; it never frees itself
 * inside a libevent callback: finish() closes the connection and hands the
 * outcome over from a fresh event-loop turn.
 *
 * There is no state that sends DATA or BDAT, and no code path writes them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "codes.h"
#include "session.h"
#include "tlsconn.h"

enum sstate {
	S_CONNECTING,
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
	S_RCPT_CATCH_ALL,
	S_RCPT_MORE,
	S_TXN_MAIL,
	S_TXN_RCPT,
	S_TXN_RSET,
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
	[S_RCPT_CATCH_ALL] = { "rcpt-catch-all", STAGE_RCPT, CODES_CMD_RCPT,
	    "after RCPT TO (catch-all test)" },
	[S_RCPT_MORE] = { "rcpt-more", STAGE_RCPT, CODES_CMD_RCPT,
	    "after RCPT TO (a further recipient)" },
	[S_TXN_MAIL] = { "relay-mail", STAGE_MAIL, CODES_CMD_MAIL,
	    "after MAIL FROM (relay test)" },
	[S_TXN_RCPT] = { "relay-rcpt", STAGE_RCPT, CODES_CMD_RCPT,
	    "after RCPT TO (relay test)" },
	[S_TXN_RSET] = { "relay-rset", STAGE_RCPT, CODES_CMD_RSET,
	    "after RSET (relay test)" },
	[S_RSET] = { "rset", STAGE_QUIT, CODES_CMD_RSET,
	    "after RSET" },
	[S_QUIT] = { "quit", STAGE_QUIT, CODES_CMD_QUIT,
	    "after QUIT" },
	[S_DONE] = { "done", STAGE_QUIT, -1, "after the end" },
};

struct session {
	struct session_params	 p;
	struct probe_result	*res;
	session_done_cb		 done;
	void			*done_arg;

	enum sstate		 state;
	struct bufferevent	*bev;
	struct event		*timer;
	struct reply_parser	 parser;
	double			 sent_at;	/* when the last command went out */
	double			 stage_start;
	char			 last_cmd[LIMIT_ADDRESS * 4 + 32];
	bool			 in_tls;
	bool			 transaction;	/* MAIL accepted: RSET before QUIT */
	bool			 finished;
	enum session_outcome	 outcome;	/* decided; QUIT may still follow */
	enum stage		 outcome_stage;
	int			 catch_all_code;
	bool			 catch_all_asked;
	size_t			 more;		/* next further recipient */
	int			 accepted;	/* RCPTs accepted in the transaction */
	struct sockaddr_storage	 local;		/* our end, once connected */
	socklen_t		 locallen;	/* 0 until then */
	int			 connect_errno;	/* why the connect failed, 0 if not */
	bool			 auth_tried;	/* AUTH was decided on (sent or not) */
	enum auth_mech		 mech;		/* the mechanism sent */
	int			 auth_step;	/* 334 prompts answered */
	size_t			 txn;		/* --relay-test: envelope being asked */
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static void on_timeout(evutil_socket_t fd, short what, void *arg);
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
	if (s->bev != NULL) {
		bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
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

static void
send_line(struct session *s, enum sstate next, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
send_line(struct session *s, enum sstate next, const char *fmt, ...)
{
	char line[sizeof(s->last_cmd)];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		/* Cannot happen with checked addresses; never send a cut
		 * command. */
		snprintf(s->res->local_error_msg,
		    sizeof(s->res->local_error_msg), "command too long");
		decide(s, OUTCOME_LOCAL_ERROR, states[next].stage);
		finish(s);
		return;
	}
	/* Belt and braces: no command may carry CR or LF (the address
	 * checks refuse them long before this point). */
	if (strpbrk(line, "\r\n") != NULL) {
		snprintf(s->res->local_error_msg,
		    sizeof(s->res->local_error_msg),
		    "refusing to send a command containing CR or LF");
		decide(s, OUTCOME_LOCAL_ERROR, states[next].stage);
		finish(s);
		return;
	}
	snprintf(s->last_cmd, sizeof(s->last_cmd), "%s", line);
	result_transcript(s->res, 's', line, (size_t)n);
	bufferevent_write(s->bev, line, (size_t)n);
	bufferevent_write(s->bev, "\r\n", 2);
	s->sent_at = now_ms();
	enter(s, next);
}

static void
send_quit(struct session *s)
{
	if (s->transaction) {
		s->transaction = false;
		send_line(s, S_RSET, "RSET");
	} else
		send_line(s, S_QUIT, "QUIT");
}

static void
start_tls(struct session *s)
{
	struct bufferevent *bev;
	char err[256];

	bev = tlsconn_wrap(s->p.base, s->p.ssl_ctx, s->bev, s->p.host, err,
	    sizeof(err));
	if (bev == NULL) {
		snprintf(s->res->stages[STAGE_TLS].error,
		    sizeof(s->res->stages[STAGE_TLS].error), "%s", err);
		set_status(s, STAGE_TLS, STATUS_FAIL);
		decide(s, OUTCOME_LOCAL_ERROR, STAGE_TLS);
		finish(s);
		return;
	}
	s->bev = bev;
	bufferevent_setcb(bev, on_read, NULL, on_event, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	result_transcriptf(s->res, 'i', "TLS handshake with %s",
	    s->p.host[0] ? s->p.host : "(no name to check)");
	enter(s, S_TLS_HANDSHAKE);
}

static void
tls_done(struct session *s)
{
	struct tlsconn_info *ti = &s->res->tls;
	struct stage_rec *st = &s->res->stages[STAGE_TLS];
	char ev[512];

	s->in_tls = true;
	s->res->tls_done = true;
	tlsconn_inspect(s->bev, s->p.host, ti);
	st->elapsed_ms = now_ms() - s->stage_start;
	result_transcriptf(s->res, 'i', "TLS %s %s, certificate %s%s%s",
	    ti->version, ti->cipher, ti->subject,
	    ti->verified ? " (verified)" : ": ",
	    ti->verified ? "" : (ti->verify_error[0] ? ti->verify_error :
	    "name does not match"));
	snprintf(ev, sizeof(ev), "subject %s; issuer %s; names %s",
	    ti->subject, ti->issuer, ti->names[0] ? ti->names : "(none)");

	set_status(s, STAGE_TLS, STATUS_OK);
	if (ti->expired) {
		result_finding(s->res, FINDING_TLS_CERT_EXPIRED, STAGE_TLS, ev,
		    "the server's certificate expired on %s", ti->not_after);
		set_status(s, STAGE_TLS, STATUS_WARN);
	}
	if (ti->name_checked && !ti->name_match) {
		result_finding(s->res, FINDING_TLS_CERT_NAME_MISMATCH,
		    STAGE_TLS, ev, "the server's certificate is not valid for "
		    "%s (it names %s)", s->p.host, ti->names[0] ? ti->names :
		    ti->subject);
		set_status(s, STAGE_TLS, STATUS_WARN);
	}
	if (!ti->chain_ok && !ti->expired) {
		result_finding(s->res, FINDING_TLS_CERT_UNTRUSTED, STAGE_TLS,
		    ev, "the server's certificate does not chain to a trusted "
		    "authority: %s", ti->verify_error);
		set_status(s, STAGE_TLS, STATUS_WARN);
	}
	if (s->p.tls_mode == TLS_REQUIRED && !ti->verified) {
		set_status(s, STAGE_TLS, STATUS_FAIL);
		decide(s, OUTCOME_TLS_REQUIRED_FAILED, STAGE_TLS);
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	/* RFC 3207 §4.2: forget what EHLO said before TLS and ask again. */
	s->res->has_caps = false;
	memset(&s->res->caps, 0, sizeof(s->res->caps));
	send_line(s, S_EHLO_TLS, "EHLO %s", s->p.helo);
}

static void
tls_failed(struct session *s, const char *why)
{
	struct stage_rec *st = &s->res->stages[STAGE_TLS];

	snprintf(st->error, sizeof(st->error), "%s", why);
	set_status(s, STAGE_TLS, STATUS_FAIL);
	result_finding(s->res, FINDING_TLS_HANDSHAKE_FAILED, STAGE_TLS, why,
	    "the TLS handshake with %s failed", s->res->server_ip);
	result_transcriptf(s->res, 'i', "TLS handshake failed: %s", why);
	decide(s, s->p.tls_mode == TLS_REQUIRED ?
	    OUTCOME_TLS_REQUIRED_FAILED : OUTCOME_TLS_RETRY_PLAIN, STAGE_TLS);
	finish(s);
}

/* ---- AUTH (RFC 4954) ---------------------------------------------------- */

static void start_mail(struct session *s);

static void
wipe_sent(const void *data, size_t len, void *arg)
{
	(void)arg;
	auth_wipe((void *)(uintptr_t)data, len);
	free((void *)(uintptr_t)data);
}

/*
 * Send a line that carries a secret: the transcript and last_cmd get
 * `shown` instead.  The bytes go to the output buffer by reference, from
 * a copy that is wiped and freed once written (or when the connection is
 * freed); line is wiped here.
 */
static void
send_secret(struct session *s, enum sstate next, const char *shown,
    char *line, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	char *copy = malloc(len + 2);

	if (copy != NULL) {
		memcpy(copy, line, len);
		memcpy(copy + len, "\r\n", 2);
	}
	auth_wipe(line, len);
	if (copy == NULL || evbuffer_add_reference(out, copy, len + 2,
	    wipe_sent, NULL) != 0) {
		if (copy != NULL)
			wipe_sent(copy, len + 2, NULL);
		snprintf(s->res->local_error_msg,
		    sizeof(s->res->local_error_msg), "out of memory");
		decide(s, OUTCOME_LOCAL_ERROR, STAGE_AUTH);
		finish(s);
		return;
	}
	snprintf(s->last_cmd, sizeof(s->last_cmd), "%s", shown);
	result_transcript(s->res, 's', shown, strlen(shown));
	s->sent_at = now_ms();
	enter(s, next);
}

/* AUTH was not possible or was refused: nothing more is asked. */
static void
auth_failed(struct session *s, const char *why)
{
	if (why != NULL)
		snprintf(s->res->stages[STAGE_AUTH].error,
		    sizeof(s->res->stages[STAGE_AUTH].error), "%s", why);
	set_status(s, STAGE_AUTH, STATUS_FAIL);
	decide(s, OUTCOME_AUTH_FAILED, STAGE_AUTH);
	send_quit(s);
}

static void
start_auth(struct session *s)
{
	const char *offered = s->res->has_caps ? s->res->caps.auth : "";
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
	    11 + (size_t)n);
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
	send_secret(s, S_AUTH, shown, line, (size_t)n);
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
		start_mail(s);
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

/* ---- --relay-test envelopes --------------------------------------------- */

void
session_txn_clear(struct session_txn *t)
{
	reply_free(t->mail.reply);
	reply_free(t->rcpt_reply.reply);
	memset(&t->mail, 0, sizeof(t->mail));
	memset(&t->rcpt_reply, 0, sizeof(t->rcpt_reply));
	t->asked = false;
}

/* The next envelope, or QUIT after the last. */
static void
start_txn(struct session *s)
{
	struct session_txn *t;

	if (s->txn >= s->p.ntxns) {
		decide(s, OUTCOME_ANSWERED, STAGE_RCPT);
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	t = &s->p.txns[s->txn];
	t->asked = true;
	send_line(s, S_TXN_MAIL, "MAIL FROM:<%s>", t->from);
}

/* A reply in an envelope of the relay test; kept in the envelope. */
static void
on_txn_reply(struct session *s, struct reply *rp)
{
	struct session_txn *t = &s->p.txns[s->txn];
	double el = now_ms() - s->sent_at;
	int code = rp->code;
	struct rec_reply tmp;

	s->res->stages[states[s->state].stage].elapsed_ms =
	    now_ms() - s->stage_start;
	switch (s->state) {
	case S_TXN_MAIL:
		result_check_reply(s->res, STAGE_MAIL, &t->mail,
		    CODES_CMD_MAIL, s->last_cmd, rp, el);
		set_status(s, STAGE_MAIL, t->mail.legality == CODES_ILLEGAL ?
		    STATUS_FAIL : STATUS_OK);
		if (code / 100 == 2 && t->mail.legality != CODES_ILLEGAL) {
			send_line(s, S_TXN_RCPT, "RCPT TO:<%s>", t->rcpt);
			return;
		}
		/* A refused MAIL opens no transaction (§4.1.1.2). */
		break;
	case S_TXN_RCPT:
		result_check_reply(s->res, STAGE_RCPT, &t->rcpt_reply,
		    CODES_CMD_RCPT, s->last_cmd, rp, el);
		set_status(s, STAGE_RCPT, t->rcpt_reply.legality ==
		    CODES_ILLEGAL ? STATUS_FAIL : STATUS_OK);
		if (code == 421)
			break;
		/* Whatever the answer, end the transaction: never DATA. */
		send_line(s, S_TXN_RSET, "RSET");
		return;
	default:	/* S_TXN_RSET */
		result_check_reply(s->res, STAGE_QUIT, &tmp, CODES_CMD_RSET,
		    s->last_cmd, rp, el);
		reply_free(rp);
		if (code / 100 != 2) {
			set_status(s, STAGE_QUIT, STATUS_WARN);
			decide(s, OUTCOME_ANSWERED, STAGE_RCPT);
			send_line(s, S_QUIT, "QUIT");
			return;
		}
		break;
	}
	if (code == 421) {
		/* The server is closing the connection. */
		decide(s, OUTCOME_GREETING_TEMPORARY, states[s->state].stage);
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	s->txn++;
	start_txn(s);
}

static void
start_mail(struct session *s)
{
	const struct ehlo_caps *c = &s->res->caps;
	bool utf8 = s->p.need_smtputf8 && s->res->has_caps && c->smtputf8;

	if (s->p.hello_only) {
		/* A self-check needs the greeting and the EHLO reply only. */
		decide(s, OUTCOME_ANSWERED, STAGE_EHLO);
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	if (!s->auth_tried && s->p.auth_user != NULL &&
	    s->p.auth_user[0] != '\0') {
		/* After the last EHLO (inside TLS when there is TLS). */
		start_auth(s);
		return;
	}
	if (s->p.ntxns > 0) {
		start_txn(s);
		return;
	}
	if (s->p.need_smtputf8 && !utf8) {
		/* RFC 6531 §3.2: a UTF-8 mailbox needs the server's
		 * SMTPUTF8; without it the address cannot be given. */
		result_finding(s->res, FINDING_RCPT_SMTPUTF8_UNSUPPORTED,
		    STAGE_RCPT, NULL, "the address has a non-ASCII local part, "
		    "and this server does not offer SMTPUTF8, so it cannot "
		    "accept mail for it");
		set_status(s, STAGE_RCPT, STATUS_FAIL);
		decide(s, OUTCOME_ANSWERED, STAGE_RCPT);
		send_quit(s);
		return;
	}
	send_line(s, S_MAIL, "MAIL FROM:<%s>%s", s->p.from,
	    utf8 ? " SMTPUTF8" : "");
}

/* After EHLO/HELO, before or after TLS: STARTTLS or MAIL next. */
static void
after_hello(struct session *s)
{
	bool offered = s->res->has_caps && s->res->caps.starttls;

	if (s->in_tls || s->p.tls_mode == TLS_NEVER) {
		start_mail(s);
		return;
	}
	if (s->p.no_starttls) {
		result_transcriptf(s->res, 'i', "not trying STARTTLS again "
		    "after the failed handshake");
		set_status(s, STAGE_STARTTLS, STATUS_WARN);
		start_mail(s);
		return;
	}
	if (!offered) {
		result_finding_sev(s->res, FINDING_STARTTLS_NOT_OFFERED,
		    s->p.tls_mode == TLS_REQUIRED ? SEV_ERROR : SEV_WARNING,
		    STAGE_STARTTLS, "RFC 3207 §4", NULL, "the server does not "
		    "offer STARTTLS, so mail to it travels unencrypted");
		if (s->p.tls_mode == TLS_REQUIRED) {
			set_status(s, STAGE_STARTTLS, STATUS_FAIL);
			decide(s, OUTCOME_TLS_REQUIRED_FAILED, STAGE_STARTTLS);
			send_quit(s);
			return;
		}
		set_status(s, STAGE_STARTTLS, STATUS_WARN);
		start_mail(s);
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
			ehlo_parse(rp, &s->res->caps);
			s->res->has_caps = true;
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

/* ---- further recipients (batch mode) ------------------------------------ */

void
session_rcpt_clear(struct session_rcpt *r)
{
	reply_free(r->reply);
	r->reply = NULL;
	r->state = RCPT_NOT_ASKED;
	r->elapsed_ms = 0;
	r->timed_out = false;
	r->why[0] = '\0';
}

/*
 * After an answered RCPT: the catch-all test once an address has been
 * accepted, else the next further recipient, else the end of the
 * transaction.  One command at a time: RCPTs are never pipelined.
 */
static void
rcpt_next(struct session *s, int last_code)
{
	if (last_code == 421) {
		/* RFC 5321 §3.8: the server is closing the channel. */
		send_line(s, S_QUIT, "QUIT");
		return;
	}
	if (last_code / 100 == 2 && s->p.catch_all &&
	    s->p.catch_all_rcpt != NULL && !s->catch_all_asked) {
		s->catch_all_asked = true;
		send_line(s, S_RCPT_CATCH_ALL, "RCPT TO:<%s>",
		    s->p.catch_all_rcpt);
		return;
	}
	if (s->more < s->p.nmore) {
		send_line(s, S_RCPT_MORE, "RCPT TO:<%s>",
		    s->p.more[s->more].mailbox);
		return;
	}
	send_quit(s);
}

/* The further recipient being asked got no reply. */
static void
rcpt_more_lost(struct session *s, bool timeout, const char *why)
{
	struct session_rcpt *r;

	if (s->more >= s->p.nmore)
		return;
	r = &s->p.more[s->more];
	r->state = RCPT_NO_ANSWER;
	r->timed_out = timeout;
	snprintf(r->why, sizeof(r->why), "%s", why);
}

/* The reply to a further recipient: kept in its record, not in res. */
static void
on_rcpt_more_reply(struct session *s, struct reply *rp)
{
	struct session_rcpt *r = &s->p.more[s->more++];
	const char *ref = NULL;
	int code = rp->code;
	bool illegal, too_many;

	illegal = (rp->deviations & REPLY_DEV_MALFORMED) != 0 ||
	    codes_check(CODES_CMD_RCPT, code, &ref) == CODES_ILLEGAL;
	/* RFC 5321 §4.5.3.1.10: a server out of recipient slots answers
	 * 452 (or 552), X.5.3 in enhanced codes (RFC 3463).  Not a failure
	 * of this address: it and the rest go to another transaction. */
	too_many = !illegal && s->accepted > 0 &&
	    ((rp->esc_subject == 5 && rp->esc_detail == 3 &&
	    rp->esc_class == code / 100) ||
	    (code == 452 && rp->esc_class == 0));
	r->elapsed_ms = now_ms() - s->sent_at;
	if (too_many) {
		r->state = RCPT_TOO_MANY;
		reply_free(rp);
		result_transcriptf(s->res, 'i', "no more recipients in this "
		    "transaction (%d); %zu address(es) left for another "
		    "connection", code, s->p.nmore - s->more + 1);
		send_quit(s);
		return;
	}
	r->reply = rp;
	r->state = code == 421 ? RCPT_CLOSED : RCPT_ANSWERED;
	if (illegal) {
		send_quit(s);
		return;
	}
	if (code / 100 == 2)
		s->accepted++;
	rcpt_next(s, code);
}

static void
on_reply(struct session *s, struct reply *rp)
{
	enum sstate state = s->state;
	enum stage st = states[state].stage;
	struct stage_rec *sr = &s->res->stages[st];
	const struct rec_reply *rr;
	int code = rp->code;
	bool illegal;

	evtimer_del(s->timer);
	if (state == S_TXN_MAIL || state == S_TXN_RCPT ||
	    state == S_TXN_RSET) {
		/* --relay-test: kept with its envelope, not in the stage. */
		on_txn_reply(s, rp);
		return;
	}
	if (state == S_RCPT_MORE) {
		/* Batch mode: the reply belongs to another address. */
		on_rcpt_more_reply(s, rp);
		return;
	}
	rr = result_add_reply(s->res, st, states[state].cmd,
	    state == S_GREETING ? NULL : s->last_cmd, rp,
	    now_ms() - (state == S_GREETING ? s->stage_start : s->sent_at));
	sr->elapsed_ms = now_ms() - s->stage_start;
	if (rr == NULL) {
		/* More replies in one stage than any dialogue of ours
		 * produces: something is badly off. */
		protocol_abort(s, NULL, "too many replies in one stage");
		return;
	}
	illegal = rr->legality == CODES_ILLEGAL;

	switch (state) {
	case S_GREETING:
		if (code / 100 == 2 && !illegal) {
			set_status(s, STAGE_GREETING, STATUS_OK);
			send_line(s, S_EHLO, "EHLO %s", s->p.helo);
			return;
		}
		set_status(s, STAGE_GREETING, STATUS_FAIL);
		if (code / 100 == 5) {
			result_finding_sev(s->res, FINDING_GREETING_REJECTED,
			    SEV_ERROR, STAGE_GREETING, code == 521 ?
			    "RFC 7504" : "RFC 5321 §3.1", NULL,
			    "the server refused the session at the greeting "
			    "with %d", code);
			decide(s, OUTCOME_GREETING_REJECTED, STAGE_GREETING);
		} else if (code / 100 == 4) {
			result_finding(s->res, FINDING_GREETING_TEMPORARY,
			    STAGE_GREETING, NULL, "the server is not taking "
			    "mail right now (%d at the greeting)", code);
			decide(s, OUTCOME_GREETING_TEMPORARY, STAGE_GREETING);
		} else {
			decide(s, OUTCOME_PROTOCOL_ERROR, STAGE_GREETING);
		}
		/* RFC 5321 §3.1: after a refusal the client should still
		 * say QUIT and wait for the reply. */
		send_line(s, S_QUIT, "QUIT");
		return;

	case S_EHLO:
	case S_HELO:
	case S_EHLO_TLS:
	case S_HELO_TLS:
		if (illegal && code / 100 == 2) {
			decide(s, OUTCOME_PROTOCOL_ERROR, st);
			set_status(s, st, STATUS_FAIL);
			send_line(s, S_QUIT, "QUIT");
			return;
		}
		on_hello_reply(s, rr);
		return;

	case S_STARTTLS:
		if (code == 220) {
			struct evbuffer *in = bufferevent_get_input(s->bev);
			size_t extra = evbuffer_get_length(in);

			set_status(s, STAGE_STARTTLS, STATUS_OK);
			if (extra > 0) {
				/* Bytes after the 220 came before TLS; taking
				 * them as replies inside TLS is the response
				 * injection of CVE-2021-22947.  Drop them. */
				char ev[128];
				size_t n = extra < 100 ? extra : 100;
				evbuffer_copyout(in, ev, n);
				ev[n] = '\0';
				for (size_t i = 0; i < n; i++)
					if ((unsigned char)ev[i] < 0x20)
						ev[i] = ' ';
				result_finding(s->res,
				    FINDING_STARTTLS_PIPELINED_DATA,
				    STAGE_STARTTLS, ev, "the server sent %zu "
				    "bytes after its 220 to STARTTLS, before "
				    "the TLS handshake; they were discarded",
				    extra);
				set_status(s, STAGE_STARTTLS, STATUS_WARN);
				evbuffer_drain(in, extra);
			}
			start_tls(s);
			return;
		}
		set_status(s, STAGE_STARTTLS, STATUS_FAIL);
		result_finding_sev(s->res, FINDING_STARTTLS_REJECTED,
		    s->p.tls_mode == TLS_REQUIRED ? SEV_ERROR : SEV_WARNING,
		    STAGE_STARTTLS, "RFC 3207 §4", NULL, "the server offered "
		    "STARTTLS but refused it with %d", code);
		if (s->p.tls_mode == TLS_REQUIRED || code == 421) {
			decide(s, code == 421 ? OUTCOME_GREETING_TEMPORARY :
			    OUTCOME_TLS_REQUIRED_FAILED, STAGE_STARTTLS);
			send_line(s, S_QUIT, "QUIT");
			return;
		}
		/* RFC 3207 §4: after 454 the client decides; we go on in
		 * plain text, as an opportunistic sender would. */
		start_mail(s);
		return;

	case S_MAIL:
		if (code / 100 == 2 && !illegal) {
			set_status(s, STAGE_MAIL, STATUS_OK);
			s->transaction = true;
			send_line(s, S_RCPT, "RCPT TO:<%s>", s->p.rcpt);
			return;
		}
		set_status(s, STAGE_MAIL, STATUS_FAIL);
		if (illegal) {
			decide(s, OUTCOME_PROTOCOL_ERROR, STAGE_MAIL);
		} else {
			result_finding(s->res, code / 100 == 4 ?
			    FINDING_MAIL_TEMPORARY : FINDING_MAIL_REJECTED,
			    STAGE_MAIL, NULL, "the server %s the sender <%s> "
			    "with %d", code / 100 == 4 ? "deferred" : "refused",
			    s->p.from, code);
			decide(s, OUTCOME_ANSWERED, STAGE_MAIL);
		}
		/* A refused MAIL opens no transaction (§4.1.1.2). */
		s->transaction = false;
		send_quit(s);
		return;

	case S_RCPT:
		if (illegal) {
			/* Never take a 3xx (or anything odd) as leave to
			 * go on: the probe sends nothing but RSET/QUIT. */
			set_status(s, STAGE_RCPT, STATUS_FAIL);
			decide(s, OUTCOME_PROTOCOL_ERROR, STAGE_RCPT);
		} else if (code / 100 == 2) {
			set_status(s, STAGE_RCPT, STATUS_OK);
			decide(s, OUTCOME_ANSWERED, STAGE_RCPT);
			s->accepted++;
		} else {
			set_status(s, STAGE_RCPT, STATUS_FAIL);
			result_finding(s->res, code / 100 == 4 ?
			    FINDING_RCPT_TEMPORARY : FINDING_RCPT_REJECTED,
			    STAGE_RCPT, NULL, "the server %s the recipient "
			    "with %d", code / 100 == 4 ? "deferred" : "refused",
			    code);
			decide(s, OUTCOME_ANSWERED, STAGE_RCPT);
		}
		/* The catch-all test, further recipients, or the end. */
		if (illegal)
			send_quit(s);
		else
			rcpt_next(s, code);
		return;

	case S_AUTH:
		on_auth_reply(s, rr);
		return;

	case S_RCPT_CATCH_ALL:
		s->catch_all_code = code;
		if (illegal)
			send_quit(s);
		else
			rcpt_next(s, code);
		return;

	case S_RSET:
		set_status(s, STAGE_QUIT, code / 100 == 2 && !illegal ?
		    STATUS_OK : STATUS_WARN);
		send_line(s, S_QUIT, "QUIT");
		return;

	case S_QUIT:
		set_status(s, STAGE_QUIT, code / 100 == 2 && !illegal ?
		    STATUS_OK : STATUS_WARN);
		finish(s);
		return;

	default:
		/* A reply nobody asked for (after the end): recorded, and
		 * otherwise ignored. */
		return;
	}
}

/* The transport failed or timed out in the current state. */
static void
transport_failure(struct session *s, bool timeout, const char *why)
{
	enum sstate state = s->state;
	enum stage st = states[state].stage;
	struct stage_rec *sr = &s->res->stages[st];

	if (state == S_RCPT_MORE) {
		/* A further recipient got no answer: its record says so;
		 * this result's own answer is in. */
		rcpt_more_lost(s, timeout, why);
		finish(s);
		return;
	}
	if (state == S_QUIT || state == S_RSET || s->outcome != OUTCOME_NONE) {
		/* The answer is in; the goodbye is a courtesy. */
		if (state == S_QUIT || state == S_RSET)
			set_status(s, STAGE_QUIT, STATUS_WARN);
		snprintf(s->res->stages[STAGE_QUIT].error,
		    sizeof(s->res->stages[STAGE_QUIT].error), "%s", why);
		finish(s);
		return;
	}
	sr->timed_out = timeout;
	snprintf(sr->error, sizeof(sr->error), "%s", why);
	sr->elapsed_ms = now_ms() - s->stage_start;
	set_status(s, st, STATUS_FAIL);
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
	enum stage st = states[s->state].stage;

	if (s->state == S_RCPT_MORE) {
		/* Not this result's reply: the further recipient's record
		 * says what happened. */
		reply_free(partial);
		rcpt_more_lost(s, false, why);
		result_transcriptf(s->res, 'i', "giving up: %s", why);
		finish(s);
		return;
	}
	if (partial != NULL)
		(void)result_add_reply(s->res, st, states[s->state].cmd,
		    s->last_cmd, partial, now_ms() - s->sent_at);
	snprintf(s->res->stages[st].error, sizeof(s->res->stages[st].error),
	    "%s", why);
	set_status(s, st, STATUS_FAIL);
	decide(s, OUTCOME_PROTOCOL_ERROR, st);
	result_transcriptf(s->res, 'i', "giving up: %s", why);
	finish(s);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[LIMIT_REPLY_LINE_HARD + 2];

	while (!s->finished && bev == s->bev && s->state != S_TLS_HANDSHAKE) {
		struct evbuffer_ptr eol;
		struct reply *rp;
		enum reply_status rs;
		size_t len;
		bool crlf;

		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > LIMIT_REPLY_LINE_HARD)
				goto too_long;
			return;
		}
		len = (size_t)eol.pos;
		if (len > LIMIT_REPLY_LINE_HARD)
			goto too_long;
		evbuffer_remove(in, line, len + 1);
		crlf = len > 0 && line[len - 1] == '\r';
		if (crlf)
			len--;
		line[len] = '\0';
		result_transcript(s->res, 'r', line, len);
		if (s->state == S_CONNECTING || s->state == S_DONE)
			continue;
		rs = reply_parser_line(&s->parser, line, len, crlf, &rp);
		switch (rs) {
		case REPLY_MORE:
			break;
		case REPLY_DONE:
			on_reply(s, rp);
			break;
		case REPLY_FATAL:
			protocol_abort(s, rp, "the server sent a line that is "
			    "not an SMTP reply");
			return;
		case REPLY_NOMEM:
			protocol_abort(s, NULL, "out of memory");
			return;
		}
	}
	return;

too_long:
	result_finding_sev(s->res, FINDING_REPLY_LINE_TOO_LONG, SEV_ERROR,
	    states[s->state].stage, "RFC 5321 §4.5.3.1.5", NULL,
	    "the server sent a line of more than %d bytes; smtpprobe stops "
	    "reading there", LIMIT_REPLY_LINE_HARD);
	protocol_abort(s, NULL, "reply line over the hard limit");
}

static void
on_connected(struct session *s)
{
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	char ip[64] = "?";
	evutil_socket_t fd = bufferevent_getfd(s->bev);

	evtimer_del(s->timer);
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&local, &ll) == 0) {
		resolver_addr_str((struct sockaddr *)&local, ip, sizeof(ip));
		s->local = local;
		s->locallen = ll;
	}
	s->res->stages[STAGE_CONNECT].elapsed_ms = now_ms() - s->stage_start;
	set_status(s, STAGE_CONNECT, STATUS_OK);
	result_transcriptf(s->res, 'i', "connected to %s port %d from %s "
	    "in %.1f ms", s->res->server_ip, s->res->server_port, ip,
	    s->res->stages[STAGE_CONNECT].elapsed_ms);
	enter(s, S_GREETING);
	s->stage_start = now_ms();
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char why[256];
	int err = EVUTIL_SOCKET_ERROR();

	if (bev != s->bev || s->finished)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == S_CONNECTING)
			on_connected(s);
		else if (s->state == S_TLS_HANDSHAKE) {
			evtimer_del(s->timer);
			tls_done(s);
			/* Replies may already wait in the TLS input. */
			if (!s->finished)
				on_read(s->bev, s);
		}
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Whatever arrived before the close is still a reply. */
		on_read(bev, s);
		if (s->finished)
			return;
		snprintf(why, sizeof(why), "the server closed the connection");
	} else if (s->state == S_TLS_HANDSHAKE)
		tlsconn_error(bev, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s",
		    err ? evutil_socket_error_to_string(err) : "network error");
	if (s->state == S_CONNECTING && !(what & BEV_EVENT_EOF))
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
	snprintf(why, sizeof(why), "%s", s->res->stages[STAGE_CONNECT].error);
	transport_failure(s, false, why);
}

struct session *
session_start(const struct session_params *params, struct probe_result *res,
    session_done_cb done, void *arg)
{
	struct session *s;
	evutil_socket_t fd = -1;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(res->local_error_msg, sizeof(res->local_error_msg),
		    "out of memory");
		return NULL;
	}
	s->p = *params;
	s->res = res;
	for (size_t i = 0; i < s->p.ntxns; i++)
		session_txn_clear(&s->p.txns[i]);
	s->done = done;
	s->done_arg = arg;
	reply_parser_init(&s->parser);
	s->timer = evtimer_new(params->base, on_timeout, s);
	if (params->source != NULL) {
		/* --source-ip: bind before connecting (the socket then
		 * belongs to the bufferevent). */
		fd = socket(params->source->ss_family, SOCK_STREAM, 0);
		if (fd < 0 || evutil_make_socket_nonblocking(fd) != 0 ||
		    bind(fd, (const struct sockaddr *)params->source,
		    params->source_len) != 0) {
			snprintf(res->local_error_msg,
			    sizeof(res->local_error_msg), "cannot use the "
			    "source address: %s",
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
			if (fd >= 0)
				evutil_closesocket(fd);
			session_free(s);
			return NULL;
		}
	}
	s->bev = bufferevent_socket_new(params->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->timer == NULL || s->bev == NULL) {
		snprintf(res->local_error_msg, sizeof(res->local_error_msg),
		    "cannot set up a connection (out of memory)");
		if (s->bev == NULL && fd >= 0)
			evutil_closesocket(fd);
		session_free(s);
		return NULL;
	}
	bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	enter(s, S_CONNECTING);
	s->stage_start = now_ms();
	result_transcriptf(res, 'i', "connecting to %s port %d%s%s%s",
	    res->server_ip, res->server_port, params->host[0] ? " (" : "",
	    params->host, params->host[0] ? ")" : "");
	if (bufferevent_socket_connect(s->bev,
	    (const struct sockaddr *)&params->addr, (int)params->addrlen) != 0) {
		int err = EVUTIL_SOCKET_ERROR();

		s->connect_errno = err;
		/* Report from the loop, as for every other outcome. */
		snprintf(res->stages[STAGE_CONNECT].error,
		    sizeof(res->stages[STAGE_CONNECT].error), "%s",
		    err ? evutil_socket_error_to_string(err) :
		    "cannot connect");
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
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->timer != NULL)
		event_free(s->timer);
	reply_parser_reset(&s->parser);
	free(s);
}

int
session_catch_all_code(const struct session *s)
{
	return s->catch_all_code;
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
	if (s->locallen == 0)
		return -1;
	*ss = s->local;
	*len = s->locallen;
	return 0;
}
