/*
 * report_monitor.c — a probe for monitoring systems: the status line and
 * performance data of a Nagios plugin (--format nagios, the
 * monitoring-plugins conventions), and the same figures in the
 * Prometheus text exposition format (--format prometheus).
 *
 * Owns nothing; reads a probe_result and the thresholds.  The status
 * (OK, WARNING, CRITICAL, UNKNOWN) follows from the verdict and reason
 * diag.c gave, the stages that warn or fail, the whole probe's time and
 * the days the server's certificate has left (from its notAfter).  Text
 * from servers and users goes through report_put_text(), with '|' (the
 * start of Nagios performance data) replaced.
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "utf8.h"

static const char *const status_names[] = {
	"OK", "WARNING", "CRITICAL", "UNKNOWN"
};

/* What the status is and why: the notes name what raised it. */
struct monitor {
	enum monitor_status	 status;
	char			 notes[768];
	size_t			 len;
	bool			 has_expiry;	/* a certificate was seen */
	size_t			 cert;		/* the first to expire, in the chain */
	long			 days;		/* its whole days left, < 0 expired */
	bool			 has_time;	/* its notAfter read */
	time_t			 expiry;
};

/* Worse of two statuses: OK < UNKNOWN < WARNING < CRITICAL, as the
 * monitoring plugins' max_state_alt(). */
static int
rank(enum monitor_status s)
{
	switch (s) {
	case MONITOR_OK: return 0;
	case MONITOR_UNKNOWN: return 1;
	case MONITOR_WARNING: return 2;
	default: return 3;
	}
}

static void
raise_to(struct monitor *m, enum monitor_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
raise_to(struct monitor *m, enum monitor_status st, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (rank(st) > rank(m->status))
		m->status = st;
	if (m->len + 3 >= sizeof(m->notes))
		return;
	if (m->len > 0) {
		memcpy(m->notes + m->len, "; ", 3);
		m->len += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(m->notes + m->len, sizeof(m->notes) - m->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->len += (size_t)n < sizeof(m->notes) - m->len ? (size_t)n :
		    sizeof(m->notes) - m->len - 1;
}

/*
 * The status of the verdict alone.  UNKNOWN when the probe could not
 * tell anything about the service: our own failure, a check set up
 * wrongly (an invalid address, -4/-6 against the other family), this
 * host refused for what it is, or a path to the server that is not the
 * server's (a proxy that failed or refuses port 25, a network that
 * intercepts the connections).
 */
static enum monitor_status
verdict_status(const struct probe_result *r)
{
	switch (r->reason) {
	case REASON_ACCEPTED:
	case REASON_NOT_CHECKED:
		return MONITOR_OK;
	case REASON_GREYLISTED:
	case REASON_TEMPORARY_FAILURE:
	case REASON_MAILBOX_FULL:
	case REASON_RATE_LIMITED:
		return MONITOR_WARNING;
	case REASON_NONE:
	case REASON_LOCAL_ERROR:
	case REASON_INVALID_ADDRESS:
	case REASON_INTERRUPTED:
	case REASON_CLIENT_REJECTED:
	case REASON_NO_ADDRESS_IN_FAMILY:
	case REASON_SELF_CHECK:
	case REASON_RELAY_TEST:
	case REASON_PROXY_FAILED:
	case REASON_PROXY_REFUSED:
	case REASON_INTERCEPTED:
		return MONITOR_UNKNOWN;
	default:
		return r->verdict == VERDICT_RISKY ? MONITOR_WARNING :
		    MONITOR_CRITICAL;
	}
}

/*
 * The certificate that expires first in the chain the server presented
 * (the leaf when the chain was not kept): its whole days left, from the
 * TLS facts, and its notAfter as a time, from their ISO 8601 UTC form
 * ("2027-01-01T00:00:00Z").  The blackbox exporter's "earliest expiry"
 * is the same idea: an intermediate that runs out breaks delivery too.
 */
static void
read_expiry(struct monitor *m, const struct probe_result *r)
{
	const struct tlsconn_info *t = result_tls_info(r);
	const char *at;
	struct tm tm;
	size_t i;
	int n = 0;

	if (!r->tls_done || t->nchain == 0)
		return;
	m->cert = 0;
	for (i = 1; i < t->nchain; i++)
		if (t->chain[i].days_left < t->chain[m->cert].days_left)
			m->cert = i;
	m->days = t->chain[m->cert].days_left;
	m->has_expiry = true;
	at = t->chain[m->cert].not_after;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(at, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    at[n] != '\0')
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	m->expiry = timegm(&tm);
	m->has_time = m->expiry != (time_t)-1;
}

/* "the certificate", or for another one of the chain its subject. */
static const char *
cert_named(const struct monitor *m, const struct probe_result *r,
    char *buf, size_t len)
{
	if (m->cert == 0)
		return "the certificate";
	snprintf(buf, len, "the chain's certificate %s",
	    result_tls_info(r)->chain[m->cert].subject);
	return buf;
}

/* The certificate's days left against the thresholds (set ones only). */
static void
check_certificate(struct monitor *m, const struct probe_result *r,
    const struct monitor_limits *lim)
{
	char name[300];
	const char *which;

	if ((lim->warning_days < 0 && lim->critical_days < 0) ||
	    rank(m->status) >= rank(MONITOR_CRITICAL))
		return;
	if (!r->tls_done) {
		raise_to(m, MONITOR_CRITICAL, "no TLS certificate to check (%s)",
		    r->caps != NULL && !r->caps->starttls ? "the server does "
		    "not offer STARTTLS" : "no TLS handshake");
		return;
	}
	if (!m->has_expiry) {
		raise_to(m, MONITOR_UNKNOWN, "the certificate was not kept");
		return;
	}
	which = cert_named(m, r, name, sizeof(name));
	if (m->days < 0)
		raise_to(m, MONITOR_CRITICAL, "%s expired %ld day%s ago", which,
		    -m->days, m->days == -1 ? "" : "s");
	else if (lim->critical_days >= 0 && m->days < lim->critical_days)
		raise_to(m, MONITOR_CRITICAL, "%s expires in %ld day%s "
		    "(critical below %d)", which, m->days, m->days == 1 ? "" :
		    "s", lim->critical_days);
	else if (lim->warning_days >= 0 && m->days < lim->warning_days)
		raise_to(m, MONITOR_WARNING, "%s expires in %ld day%s (warning "
		    "below %d)", which, m->days, m->days == 1 ? "" : "s",
		    lim->warning_days);
}

/* Does the tls stage warn only because a valid certificate ends soon? */
static bool
only_expiring(const struct probe_result *r)
{
	size_t i;

	if (!result_tls_info(r)->verified || result_tls_info(r)->expired ||
	    r->stages[STAGE_TLS].status != STATUS_WARN)
		return false;
	for (i = 0; i < r->nfindings; i++)
		if (r->findings[i].id == FINDING_TLS_CERT_EXPIRING_SOON)
			return true;
	return false;
}

/* The status of a result and what made it so. */
static void
monitor_judge(struct monitor *m, const struct probe_result *r,
    const struct monitor_limits *lim)
{
	int st;

	memset(m, 0, sizeof(*m));
	read_expiry(m, r);
	m->status = verdict_status(r);
	if (m->status == MONITOR_UNKNOWN)
		return;		/* nothing else means anything then */
	/* A stage that warns or fails while the verdict still holds (a
	 * certificate that does not verify, no STARTTLS, a failed
	 * handshake retried in plain text, EHLO refused): WARNING.  QUIT
	 * comes after the answer. */
	for (st = STAGE_DNS; st < STAGE_QUIT && m->status == MONITOR_OK;
	    st++) {
		const struct stage_rec *s = &r->stages[st];
		const char *why = s->expl.present ? s->expl.meaning :
		    stage_error(s);
		size_t n = strlen(why);

		/* A certificate that verifies but ends within 14 days
		 * makes the tls stage warn; the user's day thresholds, when
		 * given, judge its days instead. */
		if (st == STAGE_TLS && only_expiring(r) &&
		    (lim->warning_days >= 0 || lim->critical_days >= 0))
			continue;

		/* The notes are joined with "; ": no full stop before. */
		if (n > 0 && why[n - 1] == '.')
			n--;
		if (s->status == STATUS_WARN || s->status == STATUS_FAIL)
			raise_to(m, MONITOR_WARNING, "%s %s: %.*s",
			    stage_name((enum stage)st), s->status ==
			    STATUS_WARN ? "warns" : "fails", (int)n, why);
	}
	if (lim->critical_ms > 0 && r->elapsed_ms > lim->critical_ms)
		raise_to(m, MONITOR_CRITICAL, "the probe took %.3f s "
		    "(critical above %g s)", r->elapsed_ms / 1000,
		    lim->critical_ms / 1000.0);
	else if (lim->warning_ms > 0 && r->elapsed_ms > lim->warning_ms)
		raise_to(m, MONITOR_WARNING, "the probe took %.3f s "
		    "(warning above %g s)", r->elapsed_ms / 1000,
		    lim->warning_ms / 1000.0);
	check_certificate(m, r, lim);
}

/* Text for a plugin's output: escaped as in the text report, and '|'
 * (which starts the performance data) shown as '/'. */
static void
put_plugin_text(FILE *out, const char *s)
{
	const char *bar;

	while ((bar = strchr(s, '|')) != NULL) {
		report_put_text(out, s, (size_t)(bar - s));
		fputc('/', out);
		s = bar + 1;
	}
	report_put_cstr(out, s);
}

/* A threshold of the performance data: "" when not set. */
static void
put_seconds_limit(FILE *out, int ms)
{
	if (ms > 0)
		fprintf(out, "%g", ms / 1000.0);
}

/* Performance data: the whole probe's time, each stage's, the
 * certificate's days left ("30:" is the plugins' range for "30 or
 * more"). */
static void
nagios_perfdata(FILE *out, const struct probe_result *r,
    const struct monitor *m, const struct monitor_limits *lim)
{
	int st;

	fprintf(out, "time=%.3fs;", r->elapsed_ms / 1000);
	put_seconds_limit(out, lim->warning_ms);
	fputc(';', out);
	put_seconds_limit(out, lim->critical_ms);
	fputs(";0", out);
	for (st = STAGE_DNS; st < STAGE_COUNT; st++)
		if (r->stages[st].elapsed_ms > 0)
			fprintf(out, " time_%s=%.3fs;;;0",
			    stage_name((enum stage)st),
			    r->stages[st].elapsed_ms / 1000);
	if (!m->has_expiry)
		return;
	fprintf(out, " cert_days=%ld;", m->days);
	if (lim->warning_days >= 0)
		fprintf(out, "%d:", lim->warning_days);
	fputc(';', out);
	if (lim->critical_days >= 0)
		fprintf(out, "%d:", lim->critical_days);
}

int
report_nagios(FILE *out, const struct probe_result *r,
    const struct monitor_limits *lim)
{
	struct monitor m;
	int st;

	monitor_judge(&m, r, lim);
	fprintf(out, "SMTPPROBE %s - ", status_names[m.status]);
	put_plugin_text(out, r->input[0] != '\0' ? r->input : "(none)");
	fputs(": ", out);
	if (m.len > 0) {
		put_plugin_text(out, m.notes);
		fputs("; ", out);
	}
	fprintf(out, "%s (%s): ", verdict_name(r->verdict),
	    reason_name(r->reason));
	put_plugin_text(out, r->summary);
	fputs(" | ", out);
	nagios_perfdata(out, r, &m, lim);
	fputc('\n', out);
	/* The long output: every stage that warns or fails, explained. */
	for (st = 0; st < STAGE_COUNT; st++) {
		const struct stage_rec *s = &r->stages[st];

		if ((s->status != STATUS_WARN && s->status != STATUS_FAIL) ||
		    !s->expl.present)
			continue;
		fprintf(out, "%s %s: ", stage_name((enum stage)st),
		    stage_status_name(s->status));
		put_plugin_text(out, s->expl.meaning);
		if (s->expl.action != NULL && s->expl.action[0] != '\0') {
			fputc(' ', out);
			put_plugin_text(out, s->expl.action);
		}
		fputc('\n', out);
	}
	return (int)m.status;
}

void
report_nagios_unknown(FILE *out, const char *why)
{
	fputs("SMTPPROBE UNKNOWN - ", out);
	put_plugin_text(out, why);
	fputc('\n', out);
}

/* ---- Prometheus ----------------------------------------------------------- */

/* A label value: '\\', '"' and line feeds escaped as the exposition
 * format asks; control bytes and bytes that are not UTF-8 as '?'. */
static void
put_label(FILE *out, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n = strlen(s), l;
	unsigned cp;

	while (i < n) {
		if (u[i] == '\\' || u[i] == '"') {
			fprintf(out, "\\%c", u[i++]);
			continue;
		}
		if (u[i] == '\n') {
			fputs("\\n", out);
			i++;
			continue;
		}
		l = utf8_decode(u + i, n - i, &cp);
		if (u[i] < 0x20 || u[i] == 0x7f || l == 0 ||
		    utf8_invisible(cp)) {
			fputc('?', out);
			i += l > 0 ? l : 1;
			continue;
		}
		fwrite(u + i, 1, l, out);
		i += l;
	}
}

/* "# HELP" and "# TYPE" of a gauge, then its name and target label; the
 * caller adds labels and the value. */
static void
gauge(FILE *out, const char *name, const char *help,
    const struct probe_result *r)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	fprintf(out, "%s{target=\"", name);
	put_label(out, r->input);
	fputc('"', out);
}

int
report_prometheus(FILE *out, const struct probe_result *r,
    const struct monitor_limits *lim)
{
	struct monitor m;
	int st;

	monitor_judge(&m, r, lim);
	gauge(out, "smtpprobe_success", "1 when the status is OK, as "
	    "blackbox_exporter's probe_success.", r);
	fprintf(out, "} %d\n", m.status == MONITOR_OK);
	gauge(out, "smtpprobe_status", "The status of a Nagios plugin: 0 OK, "
	    "1 WARNING, 2 CRITICAL, 3 UNKNOWN.", r);
	fprintf(out, "} %d\n", (int)m.status);
	gauge(out, "smtpprobe_verdict", "The verdict and its reason, as "
	    "labels.", r);
	fprintf(out, ",verdict=\"%s\",reason=\"%s\"} 1\n",
	    verdict_name(r->verdict), reason_name(r->reason));
	gauge(out, "smtpprobe_exit_code", "The exit status of the probe "
	    "alone.", r);
	fprintf(out, "} %d\n", r->exit_code);
	gauge(out, "smtpprobe_duration_seconds", "The whole probe.", r);
	fprintf(out, "} %.6f\n", r->elapsed_ms / 1000);
	fprintf(out, "# HELP smtpprobe_stage_duration_seconds Each stage that "
	    "took time.\n# TYPE smtpprobe_stage_duration_seconds gauge\n");
	for (st = STAGE_DNS; st < STAGE_COUNT; st++) {
		if (r->stages[st].elapsed_ms <= 0)
			continue;
		fputs("smtpprobe_stage_duration_seconds{target=\"", out);
		put_label(out, r->input);
		fprintf(out, "\",stage=\"%s\"} %.6f\n",
		    stage_name((enum stage)st),
		    r->stages[st].elapsed_ms / 1000);
	}
	if (!r->tls_done)
		return (int)m.status;
	gauge(out, "smtpprobe_tls_verified", "1 when the server's certificate "
	    "chains to a trusted authority and names the server.", r);
	fprintf(out, "} %d\n", result_tls_info(r)->verified);
	if (m.has_time) {
		gauge(out, "smtpprobe_tls_cert_expiry_timestamp_seconds", "When "
		    "the server's certificate expires (its notAfter), as "
		    "blackbox_exporter's probe_ssl_earliest_cert_expiry.", r);
		fprintf(out, "} %lld\n", (long long)m.expiry);
	}
	return (int)m.status;
}
