/*
 * cli.c — command-line parsing (getopt_long) into struct cli.
 *
 * Every value is checked here, so that the engine only ever sees sane
 * ones: ports in range, timeouts positive and bounded, names without
 * control characters, at most RESOLVER_MAX_SERVERS DNS servers.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
	OPT_FROM = 256,
	OPT_HELO,
	OPT_SERVER,
	OPT_PORT,
	OPT_DNS,
	OPT_TIMEOUT,
	OPT_TLS,
	OPT_CAFILE,
	OPT_JSON,
	OPT_CATCH_ALL,
	OPT_SELF_CHECK,
	OPT_SOURCE_IP,
	OPT_HELO_TEST,
	OPT_BATCH,
	OPT_PARALLEL,
	OPT_DELAY,
	OPT_RETRIES,
	OPT_BACKOFF,
	OPT_PROGRESS,
	OPT_RCPT_PER_CONN,
	OPT_GREYLIST_RETRY,
	OPT_AUTH_USER,
	OPT_AUTH_PASSWORD_FILE,
	OPT_AUTH_MECH,
	OPT_AUTH_PLAINTEXT,
	OPT_RELAY_TEST,
	OPT_RELAY_RCPT,
	OPT_VERSION
};

static const struct option long_options[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "dns-server", required_argument, NULL, OPT_DNS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "tls", required_argument, NULL, OPT_TLS },
	{ "ca-file", required_argument, NULL, OPT_CAFILE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "catch-all", no_argument, NULL, OPT_CATCH_ALL },
	{ "self-check", no_argument, NULL, OPT_SELF_CHECK },
	{ "source-ip", required_argument, NULL, OPT_SOURCE_IP },
	{ "helo-test", no_argument, NULL, OPT_HELO_TEST },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "backoff", required_argument, NULL, OPT_BACKOFF },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "rcpt-per-connection", required_argument, NULL, OPT_RCPT_PER_CONN },
	{ "greylist-retry", required_argument, NULL, OPT_GREYLIST_RETRY },
	{ "auth-user", required_argument, NULL, OPT_AUTH_USER },
	{ "auth-password-file", required_argument, NULL,
	    OPT_AUTH_PASSWORD_FILE },
	{ "auth-mech", required_argument, NULL, OPT_AUTH_MECH },
	{ "auth-plaintext", no_argument, NULL, OPT_AUTH_PLAINTEXT },
	{ "relay-test", no_argument, NULL, OPT_RELAY_TEST },
	{ "relay-rcpt", required_argument, NULL, OPT_RELAY_RCPT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

void
cli_usage(FILE *out)
{
	fputs(
"usage: smtpprobe [OPTIONS] ADDRESS...\n"
"       smtpprobe --batch FILE [OPTIONS] [ADDRESS...]\n"
"       smtpprobe explain [--after COMMAND] [--json] [REPLY...]\n"
"\n"
"Asks the mail servers of each ADDRESS whether they would accept mail for\n"
"it, without sending any: DNS (MX), connection, greeting, EHLO, STARTTLS,\n"
"MAIL FROM, RCPT TO, then RSET and QUIT.  Never DATA.  Explains every\n"
"stage that fails.\n"
"\n"
"options:\n"
"  --from ADDR          envelope sender (default postmaster@HELO-NAME;\n"
"                       '' for the null sender <>)\n"
"  --helo NAME          name for EHLO/HELO (default: this host's FQDN)\n"
"  --server HOST[:PORT] probe this server instead of the domain's MX\n"
"  --port N             SMTP port (default 25)\n"
"  --dns-server IP[:PORT]  DNS server to use (repeatable; [IPv6]:PORT)\n"
"  --timeout SECONDS    timeout of every stage (default: DNS 10, connect\n"
"                       15, greeting 60, EHLO 60, TLS 30, MAIL/RCPT 120)\n"
"  --tls MODE           opportunistic (default), required, or never\n"
"  --ca-file FILE       trust anchors for the certificate check\n"
"  --catch-all          also ask for a made-up address at the same\n"
"                       domain; if it is accepted too, say 'risky'\n"
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
"                       Exit 0 nothing wrong, 1 a problem, 2 not checked\n"
"  --batch FILE         probe every address of FILE ('-': standard input),\n"
"                       one per line ('#' comments, blank lines skipped),\n"
"                       and any ADDRESS given, concurrently and politely:\n"
"                       one address per domain and one connection per\n"
"                       server at a time, a back-off after 421; duplicates\n"
"                       probed once.  One line per address (text) or one\n"
"                       JSON object each as it finishes, then a summary\n"
"                       (docs/BATCH.md)\n"
"  --parallel N         batch: addresses in flight (default 10, max 100)\n"
"  --delay SECONDS      batch: pause between connections to one server\n"
"                       (default 1)\n"
"  --retries N          batch: tries more after a 421 / 4xx greeting, with\n"
"                       a growing back-off (default 3, max 10)\n"
"  --backoff SECONDS    batch: the first back-off (default 5; doubles on\n"
"                       each refusal, at most 300)\n"
"  --progress           batch: a progress line on stderr\n"
"  --rcpt-per-connection K\n"
"                       batch: addresses of one domain asked in one SMTP\n"
"                       transaction, one RCPT at a time (default 5, max\n"
"                       100; 1 for a connection per address)\n"
"  --greylist-retry SECONDS\n"
"                       batch: try greylisted addresses once more after\n"
"                       SECONDS (e.g. 300; default: no second try)\n"
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
"                       without it AUTH is never sent unencrypted\n"
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
"  -4, -6               IPv4 only, IPv6 only\n"
"  --json               one JSON object per address (docs/REPORT-FORMAT.md)\n"
"  -v, --verbose        add the SMTP transcript to the text report\n"
"  -h, --help           this help\n"
"  --version            the version\n"
"\n"
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
"  With several addresses the worst status wins (70, 65, 2, 1, 3, 0).\n",
	    out);
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int
cli_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	unsigned char buf[16];
	size_t n;
	char *end;
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
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == colon + 1 || p < 1 ||
		    p > 65535)
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

/*
 * The password: the first line of file (without its CR LF), else the
 * environment variable SMTPPROBE_PASSWORD.  0, or -1 with a message that
 * never quotes the password.  The read buffer is wiped.
 */
static int
read_password(const char *file, char *pw, size_t pwlen, char *err,
    size_t errlen)
{
	char buf[AUTH_PASSWORD_MAX + 3];
	const char *env;
	size_t n;
	FILE *f;

	if (file == NULL) {
		if ((env = getenv("SMTPPROBE_PASSWORD")) == NULL)
			return fail(err, errlen, "--auth-user needs a password: "
			    "--auth-password-file FILE or the environment "
			    "variable SMTPPROBE_PASSWORD");
		if (strlen(env) >= pwlen || env[0] == '\0' || strpbrk(env,
		    "\r\n") != NULL)
			return fail(err, errlen, "SMTPPROBE_PASSWORD: empty, "
			    "longer than %d bytes, or with a line break",
			    AUTH_PASSWORD_MAX);
		snprintf(pw, pwlen, "%s", env);
		return 0;
	}
	if ((f = fopen(file, "r")) == NULL)
		return fail(err, errlen, "--auth-password-file: cannot open "
		    "%s: %s", has_control(file) ? "the file" : file,
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
		return fail(err, errlen, "--auth-password-file: the first "
		    "line must hold the password (1-%d bytes)",
		    AUTH_PASSWORD_MAX);
	}
	memcpy(pw, buf, n + 1);
	auth_wipe(buf, sizeof(buf));
	return 0;
}

int
cli_parse(int argc, char **argv, struct cli *cli, char *err, size_t errlen)
{
	const char *pwfile = NULL;
	bool auth_opt = false;
	struct probe_config *cfg = &cli->cfg;
	bool from_set = false, batch_opt = false;
	int c, i;
	char *end;
	double secs;
	long l;

	memset(cli, 0, sizeof(*cli));
	probe_config_defaults(cfg);
	batch_options_defaults(&cli->bopt);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hv46", long_options, NULL)) !=
	    -1) {
		switch (c) {
		case 'h':
			cli->help = true;
			break;
		case OPT_VERSION:
			cli->version = true;
			break;
		case 'v':
			cli->verbose = true;
			break;
		case '4':
			cfg->family = AF_INET;
			break;
		case '6':
			cfg->family = AF_INET6;
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_CATCH_ALL:
			cfg->catch_all = true;
			break;
		case OPT_SELF_CHECK:
			cfg->self_check = true;
			break;
		case OPT_SOURCE_IP: {
			struct sockaddr_in *sin =
			    (struct sockaddr_in *)&cfg->source;
			struct sockaddr_in6 *sin6 =
			    (struct sockaddr_in6 *)&cfg->source;

			memset(&cfg->source, 0, sizeof(cfg->source));
			if (strlen(optarg) < sizeof(cfg->source_ip) &&
			    inet_pton(AF_INET, optarg, &sin->sin_addr) == 1) {
				sin->sin_family = AF_INET;
				cfg->source_len = sizeof(*sin);
			} else if (strlen(optarg) < sizeof(cfg->source_ip) &&
			    inet_pton(AF_INET6, optarg, &sin6->sin6_addr) ==
			    1) {
				sin6->sin6_family = AF_INET6;
				cfg->source_len = sizeof(*sin6);
			} else
				return fail(err, errlen, "--source-ip: \"%s\" "
				    "is not an IPv4 or IPv6 address",
				    has_control(optarg) ? "" : optarg);
			snprintf(cfg->source_ip, sizeof(cfg->source_ip), "%s",
			    optarg);
			break;
		}
		case OPT_HELO_TEST:
			cli->helo_test = true;
			break;
		case OPT_BATCH:
			if (cli->batch)
				return fail(err, errlen, "--batch: give one list "
				    "(the command line may add addresses)");
			if (optarg[0] == '\0')
				return fail(err, errlen, "--batch: give a file "
				    "name, or - for standard input");
			cli->batch = true;
			cli->batch_file = optarg;
			break;
		case OPT_PARALLEL:
			l = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || l < 1 ||
			    l > BATCH_PARALLEL_MAX)
				return fail(err, errlen, "--parallel: \"%s\" is "
				    "not a number from 1 to %d", has_control(
				    optarg) ? "" : optarg, BATCH_PARALLEL_MAX);
			cli->bopt.parallel = (int)l;
			batch_opt = true;
			break;
		case OPT_DELAY:
			secs = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(secs >= 0) ||
			    secs * 1000 > BATCH_DELAY_MAX_MS)
				return fail(err, errlen, "--delay: \"%s\" is not "
				    "a number of seconds (0-%d)", has_control(
				    optarg) ? "" : optarg,
				    BATCH_DELAY_MAX_MS / 1000);
			cli->bopt.delay_ms = (int)(secs * 1000);
			batch_opt = true;
			break;
		case OPT_RETRIES:
			l = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || l < 0 ||
			    l > BATCH_RETRIES_MAX)
				return fail(err, errlen, "--retries: \"%s\" is "
				    "not a number from 0 to %d", has_control(
				    optarg) ? "" : optarg, BATCH_RETRIES_MAX);
			cli->bopt.retries = (int)l;
			batch_opt = true;
			break;
		case OPT_BACKOFF:
			secs = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(secs > 0) ||
			    secs * 1000 > BATCH_BACKOFF_MAX_MS)
				return fail(err, errlen, "--backoff: \"%s\" is "
				    "not a number of seconds (0-%d)", has_control(
				    optarg) ? "" : optarg,
				    BATCH_BACKOFF_MAX_MS / 1000);
			cli->bopt.backoff_ms = (int)(secs * 1000) > 0 ?
			    (int)(secs * 1000) : 1;
			batch_opt = true;
			break;
		case OPT_PROGRESS:
			cli->bopt.progress = true;
			batch_opt = true;
			break;
		case OPT_RCPT_PER_CONN:
			l = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || l < 1 ||
			    l > BATCH_RCPT_MAX)
				return fail(err, errlen, "--rcpt-per-connection: "
				    "\"%s\" is not a number from 1 to %d",
				    has_control(optarg) ? "" : optarg,
				    BATCH_RCPT_MAX);
			cli->bopt.rcpt_per_conn = (int)l;
			batch_opt = true;
			break;
		case OPT_GREYLIST_RETRY:
			secs = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(secs >= 0) ||
			    secs * 1000 > BATCH_GREYLIST_MAX_MS)
				return fail(err, errlen, "--greylist-retry: \"%s\" "
				    "is not a number of seconds (0-%d)",
				    has_control(optarg) ? "" : optarg,
				    BATCH_GREYLIST_MAX_MS / 1000);
			cli->bopt.greylist_ms = (int)(secs * 1000);
			batch_opt = true;
			break;
		case OPT_AUTH_USER:
			if (optarg[0] == '\0' || has_control(optarg) ||
			    strlen(optarg) > AUTH_USER_MAX)
				return fail(err, errlen, "--auth-user: give a "
				    "user name of 1-%d bytes without control "
				    "characters", AUTH_USER_MAX);
			snprintf(cfg->auth_user, sizeof(cfg->auth_user), "%s",
			    optarg);
			break;
		case OPT_AUTH_PASSWORD_FILE:
			pwfile = optarg;
			auth_opt = true;
			break;
		case OPT_AUTH_MECH: {
			int m = auth_mech_parse(optarg);

			if (m <= AUTH_MECH_AUTO)
				return fail(err, errlen, "--auth-mech: \"%s\" is "
				    "not PLAIN, LOGIN or CRAM-MD5",
				    has_control(optarg) ? "" : optarg);
			cfg->auth_mech = (enum auth_mech)m;
			auth_opt = true;
			break;
		}
		case OPT_AUTH_PLAINTEXT:
			cfg->auth_plaintext = true;
			auth_opt = true;
			break;
		case OPT_RELAY_TEST:
			cli->relay_test = true;
			break;
		case OPT_RELAY_RCPT: {
			struct address a;
			char why[256];

			if (address_parse(optarg, &a, why, sizeof(why)) !=
			    ADDRESS_OK || a.literal || a.local_utf8)
				return fail(err, errlen, "--relay-rcpt: %s",
				    why[0] ? why : "give an ASCII mailbox at a "
				    "domain name, such as relay-test@example.net");
			snprintf(cli->relay_rcpt, sizeof(cli->relay_rcpt),
			    "%s", a.mailbox);
			break;
		}
		case OPT_FROM: {
			struct address a;
			char why[256];

			if (optarg[0] != '\0' && (address_parse(optarg, &a,
			    why, sizeof(why)) != ADDRESS_OK || a.literal))
				return fail(err, errlen, "--from: %s", why[0] ?
				    why : "give a mailbox such as "
				    "postmaster@example.com");
			snprintf(cfg->from, sizeof(cfg->from), "%s",
			    optarg[0] != '\0' ? a.mailbox : "");
			from_set = true;
			break;
		}
		case OPT_HELO:
			if (has_control(optarg) || optarg[0] == '\0' ||
			    strlen(optarg) > LIMIT_HELO_NAME ||
			    strchr(optarg, ' ') != NULL)
				return fail(err, errlen, "--helo: \"%s\" is not "
				    "a host name or address literal", "");
			snprintf(cfg->helo, sizeof(cfg->helo), "%s", optarg);
			break;
		case OPT_SERVER:
			if (has_control(optarg) ||
			    cli_parse_hostport(optarg, cfg->server_host,
			    sizeof(cfg->server_host), &cfg->server_port) != 0)
				return fail(err, errlen, "--server: cannot "
				    "parse \"%s\"; use HOST, HOST:PORT or "
				    "[IPv6]:PORT", has_control(optarg) ? "" :
				    optarg);
			cfg->use_server = true;
			break;
		case OPT_PORT:
			l = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || l < 1 || l > 65535)
				return fail(err, errlen, "--port: \"%s\" is not "
				    "a port number (1-65535)", optarg);
			cfg->port = (int)l;
			break;
		case OPT_DNS: {
			char host[64];
			int port;

			if (cfg->dns.nservers >= RESOLVER_MAX_SERVERS)
				return fail(err, errlen, "--dns-server: at most "
				    "%s servers", "8");
			if (cli_parse_hostport(optarg, host, sizeof(host),
			    &port) != 0 || (inet_pton(AF_INET, host,
			    (unsigned char[16]){0}) != 1 &&
			    inet_pton(AF_INET6, host,
			    (unsigned char[16]){0}) != 1))
				return fail(err, errlen, "--dns-server: \"%s\" "
				    "is not IP, IP:PORT or [IPv6]:PORT",
				    has_control(optarg) ? "" : optarg);
			cfg->dns.servers[cfg->dns.nservers++] = optarg;
			break;
		}
		case OPT_TIMEOUT:
			secs = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(secs > 0) ||
			    secs > 3600)
				return fail(err, errlen, "--timeout: \"%s\" is "
				    "not a number of seconds (0-3600)", optarg);
			for (i = 0; i < STAGE_COUNT; i++)
				cfg->timeout_ms[i] = (int)(secs * 1000) > 0 ?
				    (int)(secs * 1000) : 1;
			break;
		case OPT_TLS:
			if (strcmp(optarg, "opportunistic") == 0 ||
			    strcmp(optarg, "may") == 0)
				cfg->tls_mode = TLS_OPPORTUNISTIC;
			else if (strcmp(optarg, "required") == 0 ||
			    strcmp(optarg, "require") == 0)
				cfg->tls_mode = TLS_REQUIRED;
			else if (strcmp(optarg, "never") == 0 ||
			    strcmp(optarg, "none") == 0)
				cfg->tls_mode = TLS_NEVER;
			else
				return fail(err, errlen, "--tls: \"%s\" is not "
				    "opportunistic, required or never", optarg);
			break;
		case OPT_CAFILE:
			if (access(optarg, R_OK) != 0)
				return fail(err, errlen, "--ca-file: cannot "
				    "read %s", optarg);
			cfg->ca_file = optarg;
			break;
		case ':':
			snprintf(err, errlen, "option %s needs a value",
			    argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen, "unknown option %s",
			    argv[optind - 1]);
			return -1;
		}
	}
	if (cli->help || cli->version)
		return 0;
	if (auth_opt && cfg->auth_user[0] == '\0') {
		snprintf(err, errlen, "--auth-password-file, --auth-mech and "
		    "--auth-plaintext need --auth-user");
		return -1;
	}
	if (cfg->auth_user[0] != '\0' && cli->helo_test) {
		snprintf(err, errlen, "--auth-user cannot be combined with "
		    "--helo-test");
		return -1;
	}
	if (cli->relay_rcpt[0] != '\0' && !cli->relay_test) {
		snprintf(err, errlen, "--relay-rcpt needs --relay-test");
		return -1;
	}
	if (cli->relay_test && (cli->batch || cli->helo_test ||
	    cfg->self_check || cfg->catch_all)) {
		snprintf(err, errlen, "--relay-test cannot be combined with %s",
		    cli->batch ? "--batch" : cli->helo_test ? "--helo-test" :
		    cfg->self_check ? "--self-check" : "--catch-all");
		return -1;
	}
	if (cli->relay_test && (argc - optind > 1 || (argc - optind == 0 &&
	    !cfg->use_server))) {
		snprintf(err, errlen, "--relay-test takes one domain (or "
		    "address) whose MX is tested, or --server");
		return -1;
	}
	if (batch_opt && !cli->batch) {
		snprintf(err, errlen, "--parallel, --delay, --retries, "
		    "--backoff, --progress, --rcpt-per-connection and "
		    "--greylist-retry need --batch");
		return -1;
	}
	if (cli->batch && (cli->helo_test || cfg->self_check)) {
		snprintf(err, errlen, "--batch cannot be combined with %s",
		    cli->helo_test ? "--helo-test" : "--self-check");
		return -1;
	}
	if (cli->batch)
		/* One MX and address look-up per domain for the whole run. */
		cfg->dns.cache_entries = BATCH_DNS_CACHE;
	if (optind >= argc && !cli->batch &&
	    !(cli->helo_test && cfg->use_server) &&
	    !(cli->relay_test && cfg->use_server) &&
	    !(cfg->self_check && !cli->helo_test)) {
		snprintf(err, errlen, cli->helo_test ? "--helo-test needs an "
		    "address, a domain or --server" : "no address given");
		return -1;
	}
	if (cli->helo_test && cfg->self_check) {
		snprintf(err, errlen, "--helo-test and --self-check cannot be "
		    "combined");
		return -1;
	}
	if (cli->helo_test && argc - optind > 1) {
		snprintf(err, errlen, "--helo-test takes at most one address "
		    "or domain");
		return -1;
	}
	cli->addresses = argv + optind;
	cli->naddresses = argc - optind;
	if (cfg->helo[0] == '\0')
		default_helo(cfg->helo, sizeof(cfg->helo));
	if (cli->helo_test)
		default_helo(cli->machine_fqdn, sizeof(cli->machine_fqdn));
	if (!from_set)
		snprintf(cfg->from, sizeof(cfg->from), "postmaster@%s",
		    cfg->helo);
	/* Last, so that no usage error leaves the password in memory. */
	if (cfg->auth_user[0] != '\0' && read_password(pwfile,
	    cfg->auth_password, sizeof(cfg->auth_password), err, errlen) != 0)
		return -1;
	return 0;
}
