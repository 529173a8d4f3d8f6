/*
 * cli.c — command-line parsing (getopt_long) into struct cli.
 *
 * Every value is checked here, so that the engine only ever sees sane
 * ones: ports in range, timeouts positive and bounded, names without
 * control characters, at most RESOLVER_MAX_SERVERS DNS servers.  One
 * table (options[]) names every option, says whether it takes a value and
 * which handler checks and stores it; getopt_long()'s tables are built
 * from it.  The rules between options come after all of them are read.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The help text, in pieces of a screen or less. */
static const char usage_synopsis[] =
"usage: smtpprobe [OPTIONS] ADDRESS...\n"
"       smtpprobe --batch FILE [OPTIONS] [ADDRESS...]\n"
"       smtpprobe explain [--after COMMAND] [--json] [REPLY...]\n"
"\n"
"Asks the mail servers of each ADDRESS whether they would accept mail for\n"
"it, without sending any: DNS (MX), connection, greeting, EHLO, STARTTLS,\n"
"MAIL FROM, RCPT TO, then RSET and QUIT.  Never DATA.  Explains every\n"
"stage that fails.\n"
"\n";

static const char usage_options[] =
"options:\n"
"  --from ADDR          envelope sender (default postmaster@HELO-NAME;\n"
"                       '' for the null sender <>)\n"
"  --helo NAME          name for EHLO/HELO (default: this host's FQDN)\n"
"  --server HOST[:PORT] probe this server instead of the domain's MX\n"
"  --port N             SMTP port (default 25)\n"
"  --dns-server IP[:PORT]  DNS server to use (repeatable; [IPv6]:PORT)\n"
"  --timeout SECONDS    timeout of every stage (default: DNS 10, connect\n"
"                       15, greeting 60, EHLO 60, TLS 30, MAIL/RCPT 120)\n"
"  --tls MODE           opportunistic (default), required, dane, implicit, never\n"
"                       opportunistic: STARTTLS when offered, the\n"
"                       certificate checked and reported; required: TLS\n"
"                       with a verified certificate, or stop; dane: as\n"
"                       Postfix's dane level, authenticated TLSA records\n"
"                       (RFC 7672; the DNS server must validate DNSSEC)\n"
"                       must match; implicit: TLS from the first byte\n"
"                       (RFC 8314), the default on port 465\n"
"  --ca-file FILE       trust anchors for the certificate checks (the\n"
"                       servers' and the MTA-STS policy host's)\n"
"  --no-mta-sts         do not fetch the domain's MTA-STS policy (its DNS\n"
"                       record is still looked up and reported)\n"
"  --catch-all          also ask for a made-up address at the same\n"
"                       domain; if it is accepted too, say 'risky'\n"
"  --quit-after STAGE   stop politely (QUIT) after STAGE: connect (close\n"
"                       before the greeting), greeting, ehlo, tls, auth,\n"
"                       mail (MAIL FROM, no RCPT) or rcpt.  Before rcpt\n"
"                       the address is not checked (reason not_checked,\n"
"                       exit 0 when every stage asked went through), and\n"
"                       a bare DOMAIN, or nothing with --server, will do\n";

static const char usage_modes[] =
"  --helo-test          instead of probing addresses: which HELO names does\n"
"                       one server accept?  One connection per name (the\n"
"                       configured name, the FQDN, an address literal,\n"
"                       localhost, an unqualified and an unresolvable name,\n"
"                       the server's own name), each up to RCPT, never\n"
"                       DATA.  Takes at most one ADDRESS or a bare domain\n"
"                       (its first MX is asked), or none with --server\n"
"                       (RCPT TO:<postmaster>); exit 0 when it ran, 2 when\n"
"                       no name got an answer\n"
"  --source-ip ADDR     connect from this local address (IPv4 or IPv6;\n"
"                       only servers of that family are tried)\n"
"  --self-check         audit this host as mail servers see it: its\n"
"                       address (and the one a server states), reverse\n"
"                       DNS, forward confirmation, HELO name.  With no\n"
"                       ADDRESS: locally (or greet --server); with a bare\n"
"                       domain: greet its MX (EHLO, no MAIL); with an\n"
"                       address: probe it and show the full audit.\n"
"                       Exit 0 nothing wrong, 1 a problem, 2 not checked\n";

static const char usage_batch[] =
"  --batch FILE         probe every address of FILE ('-': standard input),\n"
"                       one per line ('#' comments, blank lines skipped),\n"
"                       and any ADDRESS given, concurrently and politely:\n"
"                       one address per domain and one connection per\n"
"                       server at a time, a back-off after 421; duplicates\n"
"                       probed once.  One line per address (text) or one\n"
"                       JSON object each as it finishes, then a summary\n"
"                       (docs/BATCH.md)\n"
"  --parallel N         batch: connections open at once, over all servers\n"
"                       (default 32, max 500)\n"
"  --per-server N       batch: connections at once to one server address,\n"
"                       the most the adaptive rule allows (default 2)\n"
"  --delay SECONDS      batch: the least pause between connections to one\n"
"                       server (default 0; the adaptive pause starts at\n"
"                       0.05)\n"
"  --rate N             batch: ask at most N recipients per second over\n"
"                       the whole run (default: no cap)\n"
"  --retries N          batch: tries more after a 421 / 4xx greeting, with\n"
"                       a growing back-off (default 3, max 10)\n"
"  --backoff SECONDS    batch: the first back-off (default 5; doubles on\n"
"                       each refusal, at most 300)\n"
"  --progress           batch: a progress line on stderr\n"
"  --rcpt-per-transaction K\n"
"                       batch: addresses of one domain asked in one SMTP\n"
"                       transaction (default 50, max 100); a connection\n"
"                       asks one transaction per domain of its server\n"
"  --rcpt-per-connection K\n"
"                       the old name of --rcpt-per-transaction\n"
"  --error-budget N     batch: refused recipients after which a connection\n"
"                       stops and a fresh one goes on (default 8, under\n"
"                       the servers' own error limits)\n"
"  --greylist-retry SECONDS\n"
"                       batch: try greylisted addresses once more after\n"
"                       SECONDS (e.g. 300; default: no second try)\n"
"  --output FILE        batch: append the results to FILE, one line each,\n"
"                       written as each is known (JSON Lines, or CSV with\n"
"                       --format csv); stdout keeps the summary\n"
"  --resume             batch: read --output FILE first and skip the\n"
"                       addresses answered there (after a crash or a\n"
"                       kill), then append the rest\n"
"  --column NAME        batch: the list is CSV with a header row; the\n"
"                       addresses are in column NAME\n"
"  --shard K/N          batch: only the addresses whose domain falls in\n"
"                       shard K of N (0 <= K < N), for running one list\n"
"                       on N machines (docs/BATCH.md)\n"
"  --keep-going         batch: probe the whole list even when outbound\n"
"                       port 25 looks blocked (by default the batch stops\n"
"                       once the first few unrelated domains show it)\n";

static const char usage_auth[] =
"  --auth-user USER     authenticate (SMTP AUTH) after EHLO, inside TLS;\n"
"                       the auth stage reports the result\n"
"  --auth-password-file FILE\n"
"                       the password: the first line of FILE; else the\n"
"                       environment variable SMTPPROBE_PASSWORD.  There is\n"
"                       no option taking the password itself: other users\n"
"                       could read it in the process list (ps)\n"
"  --auth-mech MECH     PLAIN, LOGIN or CRAM-MD5 (default: the best the\n"
"                       server offers)\n"
"  --auth-plaintext     allow AUTH on a connection without TLS (a warning);\n"
"                       without it AUTH is never sent unencrypted\n";

static const char usage_proxy[] =
"  --proxy URL          connect through this SOCKS 5 proxy:\n"
"                       socks5://[USER@]HOST:PORT (the probe resolves the\n"
"                       servers and asks for an address) or\n"
"                       socks5h://[USER@]HOST:PORT (the proxy resolves\n"
"                       the server names); default $SMTPPROBE_PROXY\n"
"  --proxy-password-file FILE\n"
"                       the proxy password for USER: the first line of\n"
"                       FILE; else $SMTPPROBE_PROXY_PASSWORD.  Never in\n"
"                       the URL: others could read it (ps)\n";

static const char usage_relay[] =
"  --relay-test         instead of probing addresses: does the server\n"
"                       (--server, or the MX of DOMAIN) relay mail to\n"
"                       outside domains?  MAIL FROM --from and RCPT TO an\n"
"                       outside address in several forms (plain, %-hack,\n"
"                       bang path, quoted, source route), RSET between,\n"
"                       never DATA; unauthenticated, and authenticated\n"
"                       with --auth-user.  Exit 0 no open relay, 1 open\n"
"                       relay, 2 could not tell\n"
"  --relay-rcpt ADDR    the outside recipient (default\n"
"                       relay-test@example.net; nothing is delivered)\n"
"  --relay-domain DOMAIN\n"
"                       relay test: the server's own mail domain, for the\n"
"                       forms at it (%-hack, bang path, quoted); default:\n"
"                       the domain given, or with --server alone the name\n"
"                       the server gives in its greeting\n"
"  -4, -6               IPv4 only, IPv6 only\n"
"  --json               one JSON object per address (docs/REPORT-FORMAT.md)\n"
"  --format FORMAT      text (default), json (as --json), csv (--batch:\n"
"                       one row per address), or, for\n"
"                       monitoring one ADDRESS (or a DOMAIN or --server\n"
"                       alone with --quit-after): nagios (a plugin's\n"
"                       status line and performance data; exit 0 OK,\n"
"                       1 WARNING, 2 CRITICAL, 3 UNKNOWN) or prometheus\n"
"                       (the same figures as metrics; exit 0)\n"
"  --warning SECONDS    nagios, prometheus: WARNING when the whole probe\n"
"                       takes longer\n"
"  --critical SECONDS   nagios, prometheus: CRITICAL when it takes longer\n"
"  --warning-days DAYS  nagios, prometheus: WARNING when the server's\n"
"                       certificate has fewer days left\n"
"  --critical-days DAYS\n"
"                       nagios, prometheus: CRITICAL when it has fewer\n"
"                       days left\n"
"  -v, --verbose        add the SMTP transcript to the text report\n"
"  -h, --help           this help\n"
"  --version            the version\n"
"\n";

static const char usage_explain[] =
"explain: explains SMTP replies offline (a raw reply, a line from a\n"
"bounce, or an enhanced code such as 5.7.1; stdin when no REPLY is given):\n"
"meaning, permanence, who must act, what to do, and with --after whether\n"
"the code is legal for the command.  See 'smtpprobe explain --help' and\n"
"docs/EXPLAIN.md.\n"
"\n"
"exit status:\n"
"  0   every address is deliverable\n"
"  1   an address is undeliverable (permanent answer)\n"
"  2   an address is unknown (temporary failure, timeout, greylisting,\n"
"      the probe itself refused)\n"
"  3   an address is risky (the server accepts any address)\n"
"  64  usage error\n"
"  65  an address is not valid; nothing was sent for it\n"
"  70  local error\n"
"  With several addresses the worst status wins (70, 65, 2, 1, 3, 0).\n";

void
cli_usage(FILE *out)
{
	static const char *const parts[] = {
		usage_synopsis, usage_options, usage_modes, usage_batch,
		usage_auth, usage_proxy, usage_relay, usage_explain
	};
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		fputs(parts[i], out);
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/*
 * The checked number parsers of every option.  A whole number from min
 * to max (strtol: leading blanks and a sign allowed, nothing after), or
 * a decimal number of seconds (strtod) from 0, or above 0 with positive,
 * to max_ms milliseconds, as milliseconds: a positive one is at least 1.
 */
static bool
number_in_range(const char *s, long min, long max, long *out)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || l < min || l > max)
		return false;
	*out = l;
	return true;
}

static bool
seconds_in_range(const char *s, bool positive, long max_ms, int *ms)
{
	char *end;
	double secs;

	secs = strtod(s, &end);
	if (end == s || *end != '\0' || !(positive ? secs > 0 : secs >= 0) ||
	    secs * 1000 > max_ms)
		return false;
	*ms = (int)(secs * 1000);
	if (positive && *ms < 1)
		*ms = 1;
	return true;
}

int
cli_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	unsigned char buf[16];
	size_t n;
	long p;

	*port = 0;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return -1;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, buf) != 1 &&
		    inet_pton(AF_INET, host, buf) != 1)
			return -1;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (colon == NULL && close[1] != '\0')
			return -1;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon) {
			/* More than one colon: a bare IPv6 address. */
			if (strlen(s) >= hostlen ||
			    inet_pton(AF_INET6, s, buf) != 1)
				return -1;
			snprintf(host, hostlen, "%s", s);
			return 0;
		}
		n = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
	}
	if (colon != NULL) {
		if (!number_in_range(colon + 1, 1, 65535, &p))
			return -1;
		*port = (int)p;
	}
	return 0;
}

static void
default_helo(char *buf, size_t len)
{
	char host[256];
	struct addrinfo hints, *ai = NULL;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, len, "%s", host);
	if (strchr(host, '.') != NULL)
		return;
	/* The canonical name from the hosts file or DNS, as `hostname -f`
	 * does. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_family = AF_UNSPEC;
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai != NULL &&
	    ai->ai_canonname != NULL && strchr(ai->ai_canonname, '.') != NULL)
		snprintf(buf, len, "%s", ai->ai_canonname);
	if (ai != NULL)
		freeaddrinfo(ai);
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Where a password comes from: the option naming its file, the
 * environment variable, the option that needs it. */
struct secret_source {
	const char	*file_opt;	/* "--auth-password-file" */
	const char	*env;		/* "SMTPPROBE_PASSWORD" */
	const char	*needed_by;	/* "--auth-user" */
};

/*
 * A password: the first line of file (without its CR LF), else the
 * environment variable src->env.  At most pwlen - 1 bytes.  0, or -1
 * with a message that never quotes the password.  The read buffer is
 * wiped.
 */
static int
read_password(const struct secret_source *src, const char *file, char *pw,
    size_t pwlen, char *err, size_t errlen)
{
	char buf[(AUTH_PASSWORD_MAX > SOCKS_PASSWORD_MAX ? AUTH_PASSWORD_MAX :
	    SOCKS_PASSWORD_MAX) + 3];
	const char *env;
	size_t n;
	FILE *f;

	if (pwlen > sizeof(buf) - 2)
		pwlen = sizeof(buf) - 2;
	if (file == NULL) {
		if ((env = getenv(src->env)) == NULL)
			return fail(err, errlen, "%s needs a password: %s FILE "
			    "or the environment variable %s", src->needed_by,
			    src->file_opt, src->env);
		if (strlen(env) >= pwlen || env[0] == '\0' || strpbrk(env,
		    "\r\n") != NULL)
			return fail(err, errlen, "%s: empty, longer than %zu "
			    "bytes, or with a line break", src->env, pwlen - 1);
		snprintf(pw, pwlen, "%s", env);
		return 0;
	}
	if ((f = fopen(file, "r")) == NULL)
		return fail(err, errlen, "%s: cannot open %s: %s",
		    src->file_opt, has_control(file) ? "the file" : file,
		    strerror(errno));
	memset(buf, 0, sizeof(buf));
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n == 0 || n >= pwlen || strpbrk(buf, "\r\n") != NULL) {
		auth_wipe(buf, sizeof(buf));
		return fail(err, errlen, "%s: the first line must hold the "
		    "password (1-%zu bytes)", src->file_opt, pwlen - 1);
	}
	memcpy(pw, buf, n + 1);
	auth_wipe(buf, sizeof(buf));
	return 0;
}


/* The state of one cli_parse() call, shared by the option handlers. */
struct parse {
	struct cli	*cli;
	const char	*pwfile;	/* --auth-password-file */
	const char	*proxy_pwfile;	/* --proxy-password-file */
	bool		 auth_opt;	/* an option that needs --auth-user */
	bool		 batch_opt;	/* an option that needs --batch */
	bool		 monitor_opt;	/* one that needs a monitoring format */
	bool		 from_set;
	bool		 tls_set;	/* --tls given */
	bool		 tls_implicit;	/* --tls implicit */
	char		*err;
	size_t		 errlen;
};

struct cli_option;
typedef int (*option_handler)(struct parse *, const struct cli_option *,
    const char *);

/*
 * One command-line option: its names, whether it takes a value, what it
 * needs, and the handler that checks the value and stores it.  off, min
 * and max are the handler's: the field of struct cli it writes (a bool
 * for opt_flag, an int for opt_number and opt_seconds), and the range
 * (opt_seconds: max in milliseconds).
 */
struct cli_option {
	const char	*name;		/* without "--"; NULL: short only */
	char		 short_name;	/* 0: long only */
	int		 has_arg;	/* no_argument or required_argument */
	unsigned	 flags;
	option_handler	 handle;
	size_t		 off;
	long		 min, max;
};

#define NEEDS_BATCH	0x1u	/* meaningless without --batch */
#define NEEDS_AUTH	0x2u	/* meaningless without --auth-user */
#define POSITIVE	0x4u	/* opt_seconds: 0 is refused; 1 ms at least */
#define NEEDS_MONITOR	0x8u	/* meaningless without --format nagios or
				 * prometheus */

#define CLI_FIELD(f)	offsetof(struct cli, f)

/* The value as it may appear in a message: never a control character. */
static const char *
shown(const char *arg)
{
	return has_control(arg) ? "" : arg;
}

static int
opt_flag(struct parse *p, const struct cli_option *o, const char *arg)
{
	(void)arg;
	*(bool *)(void *)((char *)p->cli + o->off) = true;
	return 0;
}

static int
opt_family(struct parse *p, const struct cli_option *o, const char *arg)
{
	(void)arg;
	p->cli->cfg.family = o->short_name == '4' ? AF_INET : AF_INET6;
	return 0;
}

static const char *const format_names[] = {
	"text", "json", "nagios", "prometheus", "csv"
};

static int
opt_format(struct parse *p, const struct cli_option *o, const char *arg)
{
	size_t i;

	(void)o;
	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(arg, format_names[i]) == 0) {
			p->cli->format = (enum output_format)i;
			return 0;
		}
	return fail(p->err, p->errlen, "--format: \"%s\" is not text, json, "
	    "csv, nagios or prometheus", shown(arg));
}

/* --quit-after: the stages a session can stop after (STARTTLS is part
 * of tls). */
static int
opt_quit_after(struct parse *p, const struct cli_option *o, const char *arg)
{
	int st;

	(void)o;
	for (st = STAGE_CONNECT; st <= STAGE_RCPT; st++)
		if (st != STAGE_STARTTLS &&
		    strcmp(arg, stage_name((enum stage)st)) == 0) {
			p->cli->cfg.quit_after = (enum stage)st;
			return 0;
		}
	return fail(p->err, p->errlen, "--quit-after: \"%s\" is not connect, "
	    "greeting, ehlo, tls, auth, mail or rcpt", shown(arg));
}

/* --parallel, --per-server, --retries, --rcpt-per-transaction,
 * --error-budget. */
static int
opt_number(struct parse *p, const struct cli_option *o, const char *arg)
{
	long l;

	if (!number_in_range(arg, o->min, o->max, &l))
		return fail(p->err, p->errlen, "--%s: \"%s\" is not a number "
		    "from %ld to %ld", o->name, shown(arg), o->min, o->max);
	*(int *)(void *)((char *)p->cli + o->off) = (int)l;
	return 0;
}

/* --rate: a positive number (of recipients per second). */
static int
opt_rate(struct parse *p, const struct cli_option *o, const char *arg)
{
	char *end;
	double d;

	d = strtod(arg, &end);
	if (end == arg || *end != '\0' || !(d > 0) || d > o->max)
		return fail(p->err, p->errlen, "--%s: \"%s\" is not a number "
		    "above 0 and at most %ld", o->name, shown(arg), o->max);
	*(double *)(void *)((char *)p->cli + o->off) = d;
	return 0;
}

/* --delay, --backoff, --greylist-retry. */
static int
opt_seconds(struct parse *p, const struct cli_option *o, const char *arg)
{
	int ms;

	if (!seconds_in_range(arg, (o->flags & POSITIVE) != 0, o->max, &ms))
		return fail(p->err, p->errlen, "--%s: \"%s\" is not a number "
		    "of seconds (0-%ld)", o->name, shown(arg), o->max / 1000);
	*(int *)(void *)((char *)p->cli + o->off) = ms;
	return 0;
}

static int
opt_timeout(struct parse *p, const struct cli_option *o, const char *arg)
{
	int i, ms;

	if (!seconds_in_range(arg, true, o->max, &ms))
		return fail(p->err, p->errlen, "--timeout: \"%s\" is not a "
		    "number of seconds (0-%ld)", arg, o->max / 1000);
	for (i = 0; i < STAGE_COUNT; i++)
		p->cli->cfg.timeout_ms[i] = ms;
	return 0;
}

static int
opt_port(struct parse *p, const struct cli_option *o, const char *arg)
{
	long l;

	if (!number_in_range(arg, o->min, o->max, &l))
		return fail(p->err, p->errlen, "--port: \"%s\" is not a port "
		    "number (%ld-%ld)", arg, o->min, o->max);
	p->cli->cfg.port = (int)l;
	return 0;
}

static int
opt_source_ip(struct parse *p, const struct cli_option *o, const char *arg)
{
	struct probe_config *cfg = &p->cli->cfg;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->source;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg->source;

	(void)o;
	memset(&cfg->source, 0, sizeof(cfg->source));
	if (strlen(arg) < sizeof(cfg->source_ip) &&
	    inet_pton(AF_INET, arg, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		cfg->source_len = sizeof(*sin);
	} else if (strlen(arg) < sizeof(cfg->source_ip) &&
	    inet_pton(AF_INET6, arg, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		cfg->source_len = sizeof(*sin6);
	} else
		return fail(p->err, p->errlen, "--source-ip: \"%s\" is not an "
		    "IPv4 or IPv6 address", shown(arg));
	snprintf(cfg->source_ip, sizeof(cfg->source_ip), "%s", arg);
	return 0;
}

static int
opt_batch(struct parse *p, const struct cli_option *o, const char *arg)
{
	(void)o;
	if (p->cli->batch)
		return fail(p->err, p->errlen, "--batch: give one list (the "
		    "command line may add addresses)");
	if (arg[0] == '\0')
		return fail(p->err, p->errlen, "--batch: give a file name, or "
		    "- for standard input");
	p->cli->batch = true;
	p->cli->batch_file = arg;
	return 0;
}

static int
opt_output(struct parse *p, const struct cli_option *o, const char *arg)
{
	(void)o;
	if (arg[0] == '\0')
		return fail(p->err, p->errlen, "--output: give a file name");
	p->cli->output = arg;
	return 0;
}

static int
opt_column(struct parse *p, const struct cli_option *o, const char *arg)
{
	(void)o;
	if (arg[0] == '\0' || has_control(arg) || strlen(arg) > 256)
		return fail(p->err, p->errlen, "--column: give the name of the "
		    "column in the header row");
	p->cli->bopt.column = arg;
	return 0;
}

/* --shard K/N: 0 <= K < N <= BATCH_SHARDS_MAX. */
static int
opt_shard(struct parse *p, const struct cli_option *o, const char *arg)
{
	char k[16];
	const char *slash = strchr(arg, '/');
	long lk, ln;

	(void)o;
	if (slash == NULL || (size_t)(slash - arg) >= sizeof(k))
		return fail(p->err, p->errlen, "--shard: \"%s\" is not K/N",
		    shown(arg));
	memcpy(k, arg, (size_t)(slash - arg));
	k[slash - arg] = '\0';
	if (!number_in_range(slash + 1, 1, BATCH_SHARDS_MAX, &ln) ||
	    !number_in_range(k, 0, ln - 1, &lk))
		return fail(p->err, p->errlen, "--shard: \"%s\" is not K/N "
		    "with 0 <= K < N <= %d", shown(arg), BATCH_SHARDS_MAX);
	p->cli->bopt.shard_k = (unsigned long)lk;
	p->cli->bopt.shard_n = (unsigned long)ln;
	return 0;
}

static int
opt_auth_user(struct parse *p, const struct cli_option *o, const char *arg)
{
	(void)o;
	if (arg[0] == '\0' || has_control(arg) || strlen(arg) > AUTH_USER_MAX)
		return fail(p->err, p->errlen, "--auth-user: give a user name "
		    "of 1-%d bytes without control characters", AUTH_USER_MAX);
	snprintf(p->cli->cfg.auth_user, sizeof(p->cli->cfg.auth_user), "%s",
	    arg);
	return 0;
}

static int
opt_auth_password_file(struct parse *p, const struct cli_option *o,
    const char *arg)
{
	(void)o;
	p->pwfile = arg;
	return 0;
}

/* --proxy, or SMTPPROBE_PROXY when the option is not given. */
static int
opt_proxy(struct parse *p, const struct cli_option *o, const char *arg)
{
	struct probe_config *cfg = &p->cli->cfg;

	(void)o;
	if (has_control(arg) || socks_url_parse(arg, &cfg->proxy, p->err,
	    p->errlen) != 0) {
		if (has_control(arg))
			fail(p->err, p->errlen, "--proxy: control characters "
			    "in the URL");
		return -1;
	}
	cfg->use_proxy = true;
	return 0;
}

static int
opt_proxy_password_file(struct parse *p, const struct cli_option *o,
    const char *arg)
{
	(void)o;
	p->proxy_pwfile = arg;
	return 0;
}

static int
opt_auth_mech(struct parse *p, const struct cli_option *o, const char *arg)
{
	int m = auth_mech_parse(arg);

	(void)o;
	if (m <= AUTH_MECH_AUTO)
		return fail(p->err, p->errlen, "--auth-mech: \"%s\" is not "
		    "PLAIN, LOGIN or CRAM-MD5", shown(arg));
	p->cli->cfg.auth_mech = (enum auth_mech)m;
	return 0;
}

static int
opt_relay_rcpt(struct parse *p, const struct cli_option *o, const char *arg)
{
	struct address a;
	char why[256];

	(void)o;
	if (address_parse(arg, &a, why, sizeof(why)) != ADDRESS_OK ||
	    a.literal || a.local_utf8)
		return fail(p->err, p->errlen, "--relay-rcpt: %s", why[0] ?
		    why : "give an ASCII mailbox at a domain name, such as "
		    "relay-test@example.net");
	snprintf(p->cli->relay_rcpt, sizeof(p->cli->relay_rcpt), "%s",
	    a.mailbox);
	return 0;
}

static int
opt_relay_domain(struct parse *p, const struct cli_option *o,
    const char *arg)
{
	struct address a;
	char buf[LIMIT_DOMAIN * 4 + 32], why[256];

	(void)o;
	snprintf(buf, sizeof(buf), "postmaster@%s", arg);
	if (arg[0] == '\0' || strchr(arg, '@') != NULL ||
	    address_parse(buf, &a, why, sizeof(why)) != ADDRESS_OK)
		return fail(p->err, p->errlen, "--relay-domain: %s",
		    arg[0] != '\0' && strchr(arg, '@') == NULL ? why : "give "
		    "a domain such as example.com");
	snprintf(p->cli->relay_domain, sizeof(p->cli->relay_domain), "%s",
	    arg);
	return 0;
}

static int
opt_from(struct parse *p, const struct cli_option *o, const char *arg)
{
	struct probe_config *cfg = &p->cli->cfg;
	struct address a;
	char why[256];

	(void)o;
	if (arg[0] != '\0' && (address_parse(arg, &a, why, sizeof(why)) !=
	    ADDRESS_OK || a.literal))
		return fail(p->err, p->errlen, "--from: %s", why[0] ? why :
		    "give a mailbox such as postmaster@example.com");
	snprintf(cfg->from, sizeof(cfg->from), "%s", arg[0] != '\0' ?
	    a.mailbox : "");
	p->from_set = true;
	return 0;
}

static int
opt_helo(struct parse *p, const struct cli_option *o, const char *arg)
{
	(void)o;
	if (has_control(arg) || arg[0] == '\0' ||
	    strlen(arg) > LIMIT_HELO_NAME || strchr(arg, ' ') != NULL)
		return fail(p->err, p->errlen, "--helo: \"%s\" is not a host "
		    "name or address literal", "");
	snprintf(p->cli->cfg.helo, sizeof(p->cli->cfg.helo), "%s", arg);
	return 0;
}

static int
opt_server(struct parse *p, const struct cli_option *o, const char *arg)
{
	struct probe_config *cfg = &p->cli->cfg;

	(void)o;
	if (has_control(arg) || cli_parse_hostport(arg, cfg->server_host,
	    sizeof(cfg->server_host), &cfg->server_port) != 0)
		return fail(p->err, p->errlen, "--server: cannot parse "
		    "\"%s\"; use HOST, HOST:PORT or [IPv6]:PORT", shown(arg));
	cfg->use_server = true;
	return 0;
}

static int
opt_dns_server(struct parse *p, const struct cli_option *o, const char *arg)
{
	struct resolver_config *dns = &p->cli->cfg.dns;
	unsigned char buf[16];
	char host[64];
	int port;

	(void)o;
	if (dns->nservers >= RESOLVER_MAX_SERVERS)
		return fail(p->err, p->errlen, "--dns-server: at most %d "
		    "servers", RESOLVER_MAX_SERVERS);
	if (cli_parse_hostport(arg, host, sizeof(host), &port) != 0 ||
	    (inet_pton(AF_INET, host, buf) != 1 &&
	    inet_pton(AF_INET6, host, buf) != 1))
		return fail(p->err, p->errlen, "--dns-server: \"%s\" is not "
		    "IP, IP:PORT or [IPv6]:PORT", shown(arg));
	dns->servers[dns->nservers++] = arg;
	return 0;
}

static int
opt_tls(struct parse *p, const struct cli_option *o, const char *arg)
{
	struct probe_config *cfg = &p->cli->cfg;

	(void)o;
	p->tls_set = true;
	p->tls_implicit = false;
	if (strcmp(arg, "opportunistic") == 0 || strcmp(arg, "may") == 0)
		cfg->tls_mode = TLS_OPPORTUNISTIC;
	else if (strcmp(arg, "required") == 0 || strcmp(arg, "require") == 0)
		cfg->tls_mode = TLS_REQUIRED;
	else if (strcmp(arg, "never") == 0 || strcmp(arg, "none") == 0)
		cfg->tls_mode = TLS_NEVER;
	else if (strcmp(arg, "dane") == 0)
		cfg->tls_mode = TLS_DANE;
	else if (strcmp(arg, "implicit") == 0) {
		cfg->tls_mode = TLS_OPPORTUNISTIC;
		p->tls_implicit = true;
	} else
		return fail(p->err, p->errlen, "--tls: \"%s\" is not "
		    "opportunistic, required, dane, implicit or never",
		    shown(arg));
	return 0;
}

static int
opt_ca_file(struct parse *p, const struct cli_option *o, const char *arg)
{
	(void)o;
	if (access(arg, R_OK) != 0)
		return fail(p->err, p->errlen, "--ca-file: cannot read %s",
		    arg);
	p->cli->cfg.ca_file = arg;
	return 0;
}

/* In the order of the usage text; getopt_long() takes unambiguous
 * abbreviations of the long names. */
static const struct cli_option options[] = {
	{ "from", 0, required_argument, 0, opt_from, 0, 0, 0 },
	{ "helo", 0, required_argument, 0, opt_helo, 0, 0, 0 },
	{ "server", 0, required_argument, 0, opt_server, 0, 0, 0 },
	{ "port", 0, required_argument, 0, opt_port, 0, 1, 65535 },
	{ "dns-server", 0, required_argument, 0, opt_dns_server, 0, 0, 0 },
	{ "timeout", 0, required_argument, 0, opt_timeout, 0, 0, 3600000 },
	{ "tls", 0, required_argument, 0, opt_tls, 0, 0, 0 },
	{ "ca-file", 0, required_argument, 0, opt_ca_file, 0, 0, 0 },
	{ "no-mta-sts", 0, no_argument, 0, opt_flag, CLI_FIELD(cfg.no_mta_sts),
	    0, 0 },
	{ "json", 0, no_argument, 0, opt_flag, CLI_FIELD(json), 0, 0 },
	{ "format", 0, required_argument, 0, opt_format, 0, 0, 0 },
	{ "warning", 0, required_argument, NEEDS_MONITOR | POSITIVE,
	    opt_seconds, CLI_FIELD(limits.warning_ms), 0, 3600000 },
	{ "critical", 0, required_argument, NEEDS_MONITOR | POSITIVE,
	    opt_seconds, CLI_FIELD(limits.critical_ms), 0, 3600000 },
	{ "warning-days", 0, required_argument, NEEDS_MONITOR, opt_number,
	    CLI_FIELD(limits.warning_days), 0, 3650 },
	{ "critical-days", 0, required_argument, NEEDS_MONITOR, opt_number,
	    CLI_FIELD(limits.critical_days), 0, 3650 },
	{ "catch-all", 0, no_argument, 0, opt_flag,
	    CLI_FIELD(cfg.catch_all), 0, 0 },
	{ "quit-after", 0, required_argument, 0, opt_quit_after, 0, 0, 0 },
	{ "self-check", 0, no_argument, 0, opt_flag,
	    CLI_FIELD(cfg.self_check), 0, 0 },
	{ "source-ip", 0, required_argument, 0, opt_source_ip, 0, 0, 0 },
	{ "helo-test", 0, no_argument, 0, opt_flag, CLI_FIELD(helo_test), 0,
	    0 },
	{ "batch", 0, required_argument, 0, opt_batch, 0, 0, 0 },
	{ "parallel", 0, required_argument, NEEDS_BATCH, opt_number,
	    CLI_FIELD(bopt.parallel), 1, BATCH_PARALLEL_MAX },
	{ "per-server", 0, required_argument, NEEDS_BATCH, opt_number,
	    CLI_FIELD(bopt.per_server), 1, BATCH_PER_SERVER_MAX },
	{ "delay", 0, required_argument, NEEDS_BATCH, opt_seconds,
	    CLI_FIELD(bopt.delay_ms), 0, BATCH_DELAY_MAX_MS },
	{ "rate", 0, required_argument, NEEDS_BATCH, opt_rate,
	    CLI_FIELD(bopt.rate), 0, BATCH_RATE_MAX },
	{ "retries", 0, required_argument, NEEDS_BATCH, opt_number,
	    CLI_FIELD(bopt.retries), 0, BATCH_RETRIES_MAX },
	{ "backoff", 0, required_argument, NEEDS_BATCH | POSITIVE,
	    opt_seconds, CLI_FIELD(bopt.backoff_ms), 0,
	    BATCH_BACKOFF_MAX_MS },
	{ "progress", 0, no_argument, NEEDS_BATCH, opt_flag,
	    CLI_FIELD(bopt.progress), 0, 0 },
	{ "rcpt-per-transaction", 0, required_argument, NEEDS_BATCH,
	    opt_number, CLI_FIELD(bopt.rcpt_per_txn), 1, BATCH_RCPT_MAX },
	{ "rcpt-per-connection", 0, required_argument, NEEDS_BATCH,
	    opt_number, CLI_FIELD(bopt.rcpt_per_txn), 1, BATCH_RCPT_MAX },
	{ "error-budget", 0, required_argument, NEEDS_BATCH, opt_number,
	    CLI_FIELD(bopt.error_budget), 1, BATCH_ERROR_BUDGET_MAX },
	{ "greylist-retry", 0, required_argument, NEEDS_BATCH, opt_seconds,
	    CLI_FIELD(bopt.greylist_ms), 0, BATCH_GREYLIST_MAX_MS },
	{ "output", 0, required_argument, NEEDS_BATCH, opt_output, 0, 0, 0 },
	{ "resume", 0, no_argument, NEEDS_BATCH, opt_flag, CLI_FIELD(resume),
	    0, 0 },
	{ "column", 0, required_argument, NEEDS_BATCH, opt_column, 0, 0, 0 },
	{ "shard", 0, required_argument, NEEDS_BATCH, opt_shard, 0, 0, 0 },
	{ "keep-going", 0, no_argument, NEEDS_BATCH, opt_flag,
	    CLI_FIELD(bopt.keep_going), 0, 0 },
	{ "auth-user", 0, required_argument, 0, opt_auth_user, 0, 0, 0 },
	{ "auth-password-file", 0, required_argument, NEEDS_AUTH,
	    opt_auth_password_file, 0, 0, 0 },
	{ "auth-mech", 0, required_argument, NEEDS_AUTH, opt_auth_mech, 0, 0,
	    0 },
	{ "auth-plaintext", 0, no_argument, NEEDS_AUTH, opt_flag,
	    CLI_FIELD(cfg.auth_plaintext), 0, 0 },
	{ "proxy", 0, required_argument, 0, opt_proxy, 0, 0, 0 },
	{ "proxy-password-file", 0, required_argument, 0,
	    opt_proxy_password_file, 0, 0, 0 },
	{ "relay-test", 0, no_argument, 0, opt_flag, CLI_FIELD(relay_test), 0,
	    0 },
	{ "relay-rcpt", 0, required_argument, 0, opt_relay_rcpt, 0, 0, 0 },
	{ "relay-domain", 0, required_argument, 0, opt_relay_domain, 0, 0,
	    0 },
	{ "verbose", 'v', no_argument, 0, opt_flag, CLI_FIELD(verbose), 0, 0 },
	{ "help", 'h', no_argument, 0, opt_flag, CLI_FIELD(help), 0, 0 },
	{ "version", 0, no_argument, 0, opt_flag, CLI_FIELD(version), 0, 0 },
	{ NULL, '4', no_argument, 0, opt_family, 0, 0, 0 },
	{ NULL, '6', no_argument, 0, opt_family, 0, 0, 0 },
};

#define NOPTIONS	(sizeof(options) / sizeof(options[0]))
#define LONG_VAL	256	/* getopt_long's value for options[i]: LONG_VAL + i */

/* getopt_long()'s tables, built from options[]. */
static void
getopt_tables(struct option *longopts, char *shortopts)
{
	size_t i, n = 0;

	*shortopts++ = ':';	/* ':' for a missing value, not '?' */
	for (i = 0; i < NOPTIONS; i++) {
		if (options[i].short_name != 0) {
			*shortopts++ = options[i].short_name;
			if (options[i].has_arg == required_argument)
				*shortopts++ = ':';
		}
		if (options[i].name == NULL)
			continue;
		longopts[n].name = options[i].name;
		longopts[n].has_arg = options[i].has_arg;
		longopts[n].flag = NULL;
		longopts[n].val = options[i].short_name != 0 ?
		    options[i].short_name : LONG_VAL + (int)i;
		n++;
	}
	*shortopts = '\0';
	memset(&longopts[n], 0, sizeof(longopts[n]));
}

/* The entry for getopt_long()'s return value c; NULL for none. */
static const struct cli_option *
option_for(int c)
{
	size_t i;

	if (c >= LONG_VAL && (size_t)(c - LONG_VAL) < NOPTIONS)
		return &options[c - LONG_VAL];
	for (i = 0; i < NOPTIONS; i++)
		if (c != 0 && options[i].short_name == c)
			return &options[i];
	return NULL;
}

/* Every option in turn; 0, or -1 with the message in p->err. */
static int
parse_options(struct parse *p, int argc, char **argv)
{
	struct option longopts[NOPTIONS + 1];
	char shortopts[2 * NOPTIONS + 2];
	const struct cli_option *o;
	int c;

	getopt_tables(longopts, shortopts);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	    -1) {
		if (c == ':')
			return fail(p->err, p->errlen, "option %s needs a value",
			    argv[optind - 1]);
		if ((o = option_for(c)) == NULL)
			return fail(p->err, p->errlen, "unknown option %s",
			    argv[optind - 1]);
		if (o->handle(p, o, optarg) != 0)
			return -1;
		if (o->flags & NEEDS_BATCH)
			p->batch_opt = true;
		if (o->flags & NEEDS_AUTH)
			p->auth_opt = true;
		if (o->flags & NEEDS_MONITOR)
			p->monitor_opt = true;
	}
	return 0;
}

/* --quit-after: a probe of its own, and a bare DOMAIN (or nothing with
 * --server) when it stops before MAIL. */
static bool
quit_early(const struct cli *cli)
{
	return cli->cfg.quit_after != STAGE_ADDRESS &&
	    cli->cfg.quit_after < STAGE_MAIL;
}

static int
check_quit_after(struct parse *p)
{
	const struct cli *cli = p->cli;
	const struct probe_config *cfg = &cli->cfg;

	if (cfg->quit_after == STAGE_ADDRESS)
		return 0;
	if (cli->batch || cli->helo_test || cli->relay_test || cfg->self_check)
		return fail(p->err, p->errlen, "--quit-after cannot be combined "
		    "with %s", cli->batch ? "--batch" : cli->helo_test ?
		    "--helo-test" : cli->relay_test ? "--relay-test" :
		    "--self-check");
	if (cfg->catch_all && cfg->quit_after < STAGE_RCPT)
		return fail(p->err, p->errlen, "--catch-all needs RCPT: it "
		    "cannot be combined with --quit-after %s",
		    stage_name(cfg->quit_after));
	return 0;
}

/* --json and --format; csv is a batch's; the monitoring formats report
 * one probe, and their thresholds need them. */
static int
check_format(struct parse *p, int nargs)
{
	struct cli *cli = p->cli;
	const struct monitor_limits *l = &cli->limits;
	bool monitor = cli->format == FORMAT_NAGIOS ||
	    cli->format == FORMAT_PROMETHEUS;

	if (cli->json && cli->format != FORMAT_TEXT &&
	    cli->format != FORMAT_JSON)
		return fail(p->err, p->errlen, "--json and --format %s "
		    "exclude each other", format_names[cli->format]);
	if (cli->json)
		cli->format = FORMAT_JSON;
	cli->json = cli->format == FORMAT_JSON;
	if (cli->format == FORMAT_CSV && !cli->batch)
		return fail(p->err, p->errlen, "--format csv needs --batch");
	if (p->monitor_opt && !monitor)
		return fail(p->err, p->errlen, "--warning, --critical, "
		    "--warning-days and --critical-days need --format nagios "
		    "or prometheus");
	if (!monitor)
		return 0;
	if (cli->batch || cli->helo_test || cli->relay_test ||
	    cli->cfg.self_check || nargs > 1)
		return fail(p->err, p->errlen, "--format %s reports one probe "
		    "of one ADDRESS (or DOMAIN): not %s",
		    format_names[cli->format], nargs > 1 ? "several" :
		    cli->batch ? "--batch" : cli->helo_test ? "--helo-test" :
		    cli->relay_test ? "--relay-test" : "--self-check");
	if ((l->warning_days >= 0 || l->critical_days >= 0) &&
	    (cli->cfg.tls_mode == TLS_NEVER || (quit_early(cli) &&
	    cli->cfg.quit_after < STAGE_TLS)))
		return fail(p->err, p->errlen, "--warning-days and "
		    "--critical-days need the TLS stage (not --tls never, nor "
		    "--quit-after before tls)");
	if (l->warning_ms > 0 && l->critical_ms > 0 &&
	    l->warning_ms > l->critical_ms)
		return fail(p->err, p->errlen, "--warning is above --critical");
	if (l->warning_days >= 0 && l->critical_days >= 0 &&
	    l->warning_days < l->critical_days)
		return fail(p->err, p->errlen, "--warning-days is below "
		    "--critical-days");
	return 0;
}

/* The options that exclude or need each other, and the count of
 * addresses each mode takes; nargs is the number of operands. */
static int
check_combinations(struct parse *p, int nargs)
{
	const struct cli *cli = p->cli;
	const struct probe_config *cfg = &cli->cfg;

	if (p->auth_opt && cfg->auth_user[0] == '\0')
		return fail(p->err, p->errlen, "--auth-password-file, "
		    "--auth-mech and --auth-plaintext need --auth-user");
	if (cfg->auth_user[0] != '\0' && cli->helo_test)
		return fail(p->err, p->errlen, "--auth-user cannot be "
		    "combined with --helo-test");
	if ((cli->relay_rcpt[0] != '\0' || cli->relay_domain[0] != '\0') &&
	    !cli->relay_test)
		return fail(p->err, p->errlen, "%s needs --relay-test",
		    cli->relay_rcpt[0] != '\0' ? "--relay-rcpt" :
		    "--relay-domain");
	if (cli->relay_test && (cli->batch || cli->helo_test ||
	    cfg->self_check || cfg->catch_all))
		return fail(p->err, p->errlen, "--relay-test cannot be "
		    "combined with %s", cli->batch ? "--batch" :
		    cli->helo_test ? "--helo-test" : cfg->self_check ?
		    "--self-check" : "--catch-all");
	if (cli->relay_test && (nargs > 1 || (nargs == 0 &&
	    !cfg->use_server)))
		return fail(p->err, p->errlen, "--relay-test takes one domain "
		    "(or address) whose MX is tested, or --server");
	if (p->batch_opt && !cli->batch)
		return fail(p->err, p->errlen, "--parallel, --per-server, "
		    "--delay, --rate, --retries, --backoff, --progress, "
		    "--rcpt-per-transaction, --error-budget, --greylist-retry, "
		    "--output, --resume, --column, --shard and --keep-going "
		    "need --batch");
	if (cli->resume && cli->output == NULL)
		return fail(p->err, p->errlen, "--resume needs --output FILE "
		    "(the file to read back and append to)");
	if (cli->batch && (cli->helo_test || cfg->self_check))
		return fail(p->err, p->errlen, "--batch cannot be combined "
		    "with %s", cli->helo_test ? "--helo-test" :
		    "--self-check");
	if (check_quit_after(p) != 0 || check_format(p, nargs) != 0)
		return -1;
	if (nargs == 0 && !cli->batch &&
	    !(cli->helo_test && cfg->use_server) &&
	    !(quit_early(cli) && cfg->use_server) &&
	    !(cli->relay_test && cfg->use_server) &&
	    !(cfg->self_check && !cli->helo_test))
		return fail(p->err, p->errlen, "%s", cli->helo_test ?
		    "--helo-test needs an address, a domain or --server" :
		    "no address given");
	if (cli->helo_test && cfg->self_check)
		return fail(p->err, p->errlen, "--helo-test and --self-check "
		    "cannot be combined");
	if (cli->helo_test && nargs > 1)
		return fail(p->err, p->errlen, "--helo-test takes at most one "
		    "address or domain");
	return 0;
}

/* The proxy: SMTPPROBE_PROXY when --proxy was not given, and the rules
 * between it and the other options.  0, or -1 with the message in
 * p->err. */
static int
proxy_settings(struct parse *p)
{
	struct probe_config *cfg = &p->cli->cfg;
	const char *env = getenv("SMTPPROBE_PROXY");

	if (!cfg->use_proxy && env != NULL && env[0] != '\0') {
		if (opt_proxy(p, NULL, env) != 0) {
			char why[400];

			snprintf(why, sizeof(why), "%s", p->err);
			return fail(p->err, p->errlen, "SMTPPROBE_PROXY: %s",
			    why);
		}
	}
	if (p->proxy_pwfile != NULL && (!cfg->use_proxy ||
	    cfg->proxy.user[0] == '\0'))
		return fail(p->err, p->errlen, "--proxy-password-file needs "
		    "--proxy socks5://USER@HOST:PORT (a user name)");
	if (cfg->use_proxy && cfg->proxy.remote_dns &&
	    cfg->family != AF_UNSPEC)
		return fail(p->err, p->errlen, "-4 and -6 cannot be combined "
		    "with socks5h://: the proxy resolves the server names and "
		    "picks the address; use socks5:// to choose the family");
	return 0;
}

int
cli_parse(int argc, char **argv, struct cli *cli, char *err, size_t errlen)
{
	static const struct secret_source auth_src = {
		"--auth-password-file", "SMTPPROBE_PASSWORD", "--auth-user"
	}, proxy_src = {
		"--proxy-password-file", "SMTPPROBE_PROXY_PASSWORD",
		"--proxy with a user name"
	};
	struct probe_config *cfg = &cli->cfg;
	struct parse p;

	memset(cli, 0, sizeof(*cli));
	cli->limits.warning_days = cli->limits.critical_days = -1;
	probe_config_defaults(cfg);
	batch_options_defaults(&cli->bopt);
	memset(&p, 0, sizeof(p));
	p.cli = cli;
	p.err = err;
	p.errlen = errlen;
	if (parse_options(&p, argc, argv) != 0)
		return -1;
	if (cli->help || cli->version)
		return 0;
	if (check_combinations(&p, argc - optind) != 0 ||
	    proxy_settings(&p) != 0)
		return -1;
	if (cli->batch)
		/* One MX and address look-up per domain for the whole run. */
		cfg->dns.cache_entries = BATCH_DNS_CACHE;
	/* RFC 8314 §3.3: port 465 speaks TLS from the first byte; --tls
	 * opportunistic or never given there means STARTTLS or clear
	 * text, required and dane their checks inside implicit TLS. */
	cfg->implicit_tls = p.tls_implicit || ((cfg->use_server &&
	    cfg->server_port > 0 ? cfg->server_port : cfg->port) == 465 &&
	    (!p.tls_set || cfg->tls_mode == TLS_REQUIRED ||
	    cfg->tls_mode == TLS_DANE));
	cli->addresses = argv + optind;
	cli->naddresses = argc - optind;
	if (cfg->helo[0] == '\0')
		default_helo(cfg->helo, sizeof(cfg->helo));
	if (cli->helo_test)
		default_helo(cli->machine_fqdn, sizeof(cli->machine_fqdn));
	if (!p.from_set)
		snprintf(cfg->from, sizeof(cfg->from), "postmaster@%s",
		    cfg->helo);
	/* Last, so that no usage error leaves a password in memory. */
	if (cfg->auth_user[0] != '\0' && read_password(&auth_src, p.pwfile,
	    cfg->auth_password, sizeof(cfg->auth_password), err, errlen) != 0)
		return -1;
	if (cfg->use_proxy && cfg->proxy.user[0] != '\0' &&
	    read_password(&proxy_src, p.proxy_pwfile, cfg->proxy_password,
	    sizeof(cfg->proxy_password), err, errlen) != 0)
		return -1;
	return 0;
}

bool
cli_wants_nagios(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--format=nagios") == 0 ||
		    (strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
		    strcmp(argv[i + 1], "nagios") == 0))
			return true;
	return false;
}
