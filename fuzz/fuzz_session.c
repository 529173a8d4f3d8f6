/*
 * fuzz_session.c — the session's reply dispatch (probe/engine/session.c) against
 * a scripted server whose every byte is the fuzz input.
 *
 * The session connects over a Unix-domain stream socket (to an abstract
 * name, so that it goes through conn_connect() as every session does) to
 * a server that runs on the same event loop.  The input's first byte shapes the
 * session (below); the rest is the server's script, segments split at
 * byte 0xff: the first is sent when the connection is accepted (the
 * greeting), each next one when the client has sent a line, or when
 * neither side has anything left to do (the client waits for the rest of
 * a reply), so that a segment can hold one reply, half of one, or
 * several.  A byte 0xfe in a segment stands for the client's last line
 * (a server that echoes the AUTH line).  With the script used up, the
 * server closes the connection.  Then the plan's records are filed and
 * the verdict made, as the probe does.
 *
 * First byte: bits 0-1 recipients (0: no transaction), bit 2 the last of
 * several is a --catch-all control, bit 3 AUTH (without TLS), bits 4-5
 * its mechanism (auto, PLAIN, LOGIN, CRAM-MD5), bit 6 a second
 * transaction, bit 7 STARTTLS when offered.
 *
 * Checked beyond the sanitizers: the session always ends; it never sends
 * DATA or BDAT; it sends nothing after bytes nobody asked for (early
 * bytes in the transcript) nor after a 3yz reply other than 334 to an
 * AUTH line; no form of the user name or password reaches the
 * transcript, a reply, a finding or the verdict; a deliverable verdict
 * rests on a whole 2xx answer to the address's own RCPT that came in
 * step.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "address.h"
#include "auth.h"
#include "diag.h"
#include "fuzz.h"
#include "record.h"
#include "session.h"
#include "tlsconn.h"

#define SCRIPT_SEP	0xff	/* between two segments of the script */
#define SCRIPT_ECHO	0xfe	/* the client's last line */
#define SEG_OUT_MAX	16384	/* bytes one segment may grow to by echoes */
#define LINE_MAX_IN	4096	/* a longer client line is taken whole */
#define HANG_MS		3000.0	/* still running this long after the close */

static const char user[] = "fuzz-user-7";
static const char password[] = "Fz-secret-93!";

/* The server's side of one run. */
struct server {
	struct event_base	*base;
	struct event		*accept_ev, *read_ev, *idle_ev;
	int			 fd;
	const uint8_t		*script;
	size_t			 len, pos;	/* script[pos..len) not sent */
	bool			 started, closed;
	double			 closed_at;
	char			 line[LINE_MAX_IN + 1];
	size_t			 linelen;
	char			 last[LINE_MAX_IN + 1];	/* last whole line */
	bool			 done;		/* the session reported */
};

static int listen_fd = -1;
static struct sockaddr_un listen_addr;
static socklen_t listen_len;
static SSL_CTX *ssl_ctx;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Once per process: the listening socket (abstract name) and TLS. */
static void
setup(void)
{
	char err[256];

	if (listen_fd >= 0)
		return;
	memset(&listen_addr, 0, sizeof(listen_addr));
	listen_addr.sun_family = AF_UNIX;
	snprintf(listen_addr.sun_path + 1, sizeof(listen_addr.sun_path) - 1,
	    "smtpprobe-fuzz-session-%ld", (long)getpid());
	listen_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(listen_addr.sun_path + 1));
	if ((listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    evutil_make_socket_nonblocking(listen_fd) != 0 ||
	    bind(listen_fd, (struct sockaddr *)&listen_addr, listen_len) != 0 ||
	    listen(listen_fd, 4) != 0) {
		perror("fuzz_session: listen");
		abort();
	}
	if ((ssl_ctx = tlsconn_ctx_new(NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_session: %s\n", err);
		abort();
	}
}

static void
server_close(struct server *sv)
{
	if (sv->fd >= 0) {
		event_del(sv->read_ev);
		close(sv->fd);
		sv->fd = -1;
	}
	if (!sv->closed) {
		sv->closed = true;
		sv->closed_at = now_ms();
	}
}

/* The next segment of the script, echoes put in, onto the connection;
 * the connection is closed when the script is used up. */
static void
send_segment(struct server *sv)
{
	static char out[SEG_OUT_MAX];
	size_t n = 0, k, ll;

	if (sv->fd < 0)
		return;
	if (sv->pos >= sv->len) {
		server_close(sv);
		return;
	}
	for (k = sv->pos; k < sv->len && sv->script[k] != SCRIPT_SEP; k++) {
		if (sv->script[k] != SCRIPT_ECHO) {
			if (n < sizeof(out))
				out[n++] = (char)sv->script[k];
			continue;
		}
		ll = strlen(sv->last);
		if (ll > sizeof(out) - n)
			ll = sizeof(out) - n;
		memcpy(out + n, sv->last, ll);
		n += ll;
	}
	sv->pos = k + 1;
	/* A client that stopped reading fills the socket: that ends it. */
	if (n > 0 && send(sv->fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)n)
		server_close(sv);
}

/* One whole line from the client. */
static void
client_line(struct server *sv, const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	/* A probe never sends a message. */
	FUZZ_ASSERT(!(len - i >= 4 && (strncasecmp(line + i, "DATA", 4) == 0 ||
	    strncasecmp(line + i, "BDAT", 4) == 0)));
	memcpy(sv->last, line, len);
	sv->last[len] = '\0';
	if (len > 0 && sv->last[len - 1] == '\r')
		sv->last[len - 1] = '\0';
	send_segment(sv);
}

static void
on_server_read(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;
	char buf[8192];
	ssize_t got;
	size_t i;

	(void)what;
	got = recv(fd, buf, sizeof(buf), 0);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		server_close(sv);
		return;
	}
	for (i = 0; i < (size_t)got && sv->fd >= 0; i++) {
		if (buf[i] == '\n' || sv->linelen == LINE_MAX_IN) {
			client_line(sv, sv->line, sv->linelen);
			sv->linelen = 0;
			if (buf[i] == '\n')
				continue;
		}
		sv->line[sv->linelen++] = buf[i];
	}
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;
	int c;

	(void)what;
	if ((c = accept(fd, NULL, NULL)) < 0)
		return;
	if (sv->started) {
		close(c);	/* one connection a run */
		return;
	}
	evutil_make_socket_nonblocking(c);
	sv->fd = c;
	sv->started = true;
	sv->read_ev = event_new(sv->base, c, EV_READ | EV_PERSIST,
	    on_server_read, sv);
	if (sv->read_ev == NULL || event_add(sv->read_ev, NULL) != 0)
		abort();
	send_segment(sv);
}

/*
 * The idle event is a timer of no time at the lowest priority: it comes
 * due at the next turn of the loop, after the poll, and libevent runs it
 * only when no event of a higher priority (every other one) is active.
 * (Made active by hand from its own callback it would run again in the
 * same turn, before the poll, and starve the session.)
 */
static void
idle_again(struct server *sv)
{
	static const struct timeval zero = { 0, 0 };

	if (event_add(sv->idle_ev, &zero) != 0)
		abort();
}

/*
 * Nothing of higher priority is ready: both sides wait.  The client has
 * taken every byte sent and wants more (the rest of a reply), so the
 * next segment goes out, or the connection is closed.
 */
static void
on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;

	(void)fd;
	(void)what;
	if (sv->done)
		return;
	if (sv->started && sv->fd >= 0)
		send_segment(sv);
	/* The session must end once the server has gone. */
	FUZZ_ASSERT(!sv->closed || now_ms() - sv->closed_at < HANG_MS);
	idle_again(sv);
}

static void
on_done(void *arg, struct session *s, enum session_outcome o)
{
	struct server *sv = arg;

	(void)s;
	(void)o;
	sv->done = true;
	event_base_loopbreak(sv->base);
}

/* The forms of the credentials that must never be shown. */
static size_t
secret_forms(char forms[][128])
{
	size_t n = 0;

	snprintf(forms[n++], 128, "%s", user);
	snprintf(forms[n++], 128, "%s", password);
	FUZZ_ASSERT(auth_b64_encode((const unsigned char *)user,
	    strlen(user), forms[n++], 128) > 0);
	FUZZ_ASSERT(auth_b64_encode((const unsigned char *)password,
	    strlen(password), forms[n++], 128) > 0);
	FUZZ_ASSERT(auth_plain_response(user, password, forms[n++], 128) >
	    0);
	return n;
}

static void
no_secret(const char *s, size_t len)
{
	static char forms[5][128];
	static size_t nforms;
	size_t i;

	if (nforms == 0)
		nforms = secret_forms(forms);
	for (i = 0; s != NULL && i < nforms; i++)
		FUZZ_ASSERT(memmem(s, len, forms[i], strlen(forms[i])) == NULL);
}

/* Every text of the result that holds server words. */
static void
check_secrets(const struct probe_result *r)
{
	size_t i, j, k;

	for (i = 0; i < r->ntranscript; i++)
		no_secret(r->transcript[i].text, r->transcript[i].len);
	for (i = 0; i < STAGE_COUNT; i++) {
		const struct stage_rec *st = &r->stages[i];

		no_secret(stage_error(st), strlen(stage_error(st)));
		if (st->expl.present)
			no_secret(st->expl.meaning, strlen(st->expl.meaning));
		for (j = 0; j < st->nreplies; j++)
			for (k = 0; k < st->replies[j].reply->nlines; k++)
				no_secret(st->replies[j].reply->lines[k].text,
				    st->replies[j].reply->lines[k].len);
	}
	for (i = 0; i < r->nfindings; i++) {
		no_secret(r->findings[i].message,
		    strlen(r->findings[i].message));
		no_secret(r->findings[i].evidence,
		    strlen(r->findings[i].evidence));
	}
	no_secret(r->summary, strlen(r->summary));
}

/*
 * In the transcript, nothing is sent after bytes nobody asked for, nor
 * after the last line of a reply with a 3yz code, unless that is a 334
 * to an AUTH line (RFC 4954 §4): the session must close at once.
 */
static void
check_order(const struct probe_result *r)
{
	bool stop = false, auth = false;
	size_t i;

	for (i = 0; i < r->ntranscript; i++) {
		const struct transcript_entry *e = &r->transcript[i];
		const char *t = e->text;

		if (e->dir == 's') {
			FUZZ_ASSERT(!stop);
			auth = (e->len >= 5 && memcmp(t, "AUTH ", 5) == 0) ||
			    (e->len > 0 && (t[0] == '<' || t[0] == '*'));
		} else if (e->dir == 'e')
			stop = true;
		else if (e->dir == 'r' && e->len >= 3 && t[0] == '3' &&
		    t[1] >= '0' && t[1] <= '9' && t[2] >= '0' && t[2] <= '9' &&
		    (e->len == 3 || t[3] != '-') &&
		    !(auth && memcmp(t, "334", 3) == 0))
			stop = true;
	}
}

/* The plan the first byte asks for (the arrays are the caller's). */
static void
make_plan(uint8_t flags, struct plan *p, struct plan_txn *t,
    struct plan_rcpt *r)
{
	static const char *const rcpt[] = { "user@fuzz.invalid",
	    "second@fuzz.invalid", "made-up-1234@fuzz.invalid",
	    "other@elsewhere.invalid" };
	size_t n = flags & 3, i;

	memset(p, 0, sizeof(*p));
	memset(t, 0, 2 * sizeof(*t));
	memset(r, 0, 4 * sizeof(*r));
	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		r[i].mailbox = rcpt[i];
	r[n - 1].if_accepted = n > 1 && (flags & 4) != 0;
	t[0].from = "probe@fuzz.invalid";
	t[0].rcpts = r;
	t[0].nrcpts = n;
	p->txns = t;
	p->ntxns = 1;
	if (flags & 0x40) {
		r[3].mailbox = rcpt[3];
		t[1].from = "";
		t[1].rcpts = &r[3];
		t[1].nrcpts = 1;
		p->ntxns = 2;
	}
}

static void
make_params(uint8_t flags, struct event_base *base, struct plan *plan,
    struct session_params *sp)
{
	int st;

	memset(sp, 0, sizeof(*sp));
	sp->base = base;
	sp->ssl_ctx = ssl_ctx;
	memcpy(&sp->addr, &listen_addr, sizeof(listen_addr));
	sp->addrlen = listen_len;
	sp->helo = "probe.fuzz.invalid";
	sp->plan = plan;
	sp->tls_mode = flags & 0x80 ? TLS_OPPORTUNISTIC : TLS_NEVER;
	for (st = 0; st < STAGE_COUNT; st++)
		sp->timeout_ms[st] = 1000;
	if (flags & 8) {
		sp->auth_user = user;
		sp->auth_password = password;
		sp->auth_mech = (enum auth_mech)((flags >> 4) & 3);
		sp->auth_plaintext = true;
	}
}

/* Run the session against the script to its end. */
static void
run(struct server *sv, const struct session_params *sp,
    struct probe_result *res)
{
	struct session *s;

	if ((s = session_start(sp, res, on_done, sv)) != NULL) {
		idle_again(sv);
		(void)event_base_dispatch(sv->base);
		FUZZ_ASSERT(sv->done);
		session_free(s);
	}
	if (sv->fd >= 0)
		server_close(sv);
	if (sv->read_ev != NULL)
		event_free(sv->read_ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct probe_result res;
	struct plan plan;
	struct plan_txn txns[2];
	struct plan_rcpt rcpts[4], *r0;
	struct session_params sp;
	struct server sv;
	bool whole;

	if (size == 0)
		return 0;
	setup();
	memset(&sv, 0, sizeof(sv));
	sv.fd = -1;
	sv.script = data + 1;
	sv.len = size - 1;
	if ((sv.base = event_base_new()) == NULL ||
	    event_base_priority_init(sv.base, 3) != 0 ||
	    (sv.accept_ev = event_new(sv.base, listen_fd, EV_READ | EV_PERSIST,
	    on_accept, &sv)) == NULL ||
	    event_add(sv.accept_ev, NULL) != 0 ||
	    (sv.idle_ev = event_new(sv.base, -1, 0, on_idle, &sv)) == NULL ||
	    event_priority_set(sv.idle_ev, 2) != 0)
		abort();
	make_plan(data[0], &plan, txns, rcpts);
	make_params(data[0], sv.base, &plan, &sp);
	result_init(&res, "user@fuzz.invalid");
	res.addr_error = address_parse(res.input, &res.addr, res.addr_why,
	    sizeof(res.addr_why));
	res.has_server = true;
	snprintf(res.server_ip, sizeof(res.server_ip), "fuzz");
	run(&sv, &sp, &res);

	check_order(&res);
	r0 = plan.ntxns > 0 ? &txns[0].rcpts[0] : NULL;
	whole = r0 != NULL && r0->state == PLAN_RCPT_ANSWERED &&
	    r0->reply.reply != NULL && r0->reply.reply->code / 100 == 2 &&
	    !r0->reply.untrusted && !r0->reply.reply->incomplete;
	record_address(&res, &plan);
	diag_finish(&res, 0);
	FUZZ_ASSERT(res.verdict != VERDICT_DELIVERABLE || whole);
	if (data[0] & 8)
		check_secrets(&res);

	plan_clear(&plan);
	result_clear(&res);
	event_free(sv.idle_ev);
	event_free(sv.accept_ev);
	event_base_free(sv.base);
	return 0;
}
