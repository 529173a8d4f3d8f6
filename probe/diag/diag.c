/*
 * diag.c — from recorded facts to a verdict and plain explanations.
 *
 * The engine records what happened; this module alone decides what it
 * means.  Replies are explained through codes_classify() (basic code,
 * enhanced code, text patterns and the command they answer); failures that
 * are not replies (DNS, connection, timeouts, TLS) get our own words here.
 * A refusal at RCPT is not blamed on the recipient when the reply points at
 * the probing client: Postfix, for one, applies its client and HELO checks
 * at RCPT time (smtpd_delay_reject).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "identity.h"
#include "identity_diag.h"

static void
verdict(struct probe_result *r, enum verdict v, enum reason reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
verdict(struct probe_result *r, enum verdict v, enum reason reason,
    const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	r->reason = reason;
	va_start(ap, fmt);
	vsnprintf(r->summary, sizeof(r->summary), fmt, ap);
	va_end(ap);
	switch (v) {
	case VERDICT_DELIVERABLE:
		r->exit_code = EXIT_DELIVERABLE;
		break;
	case VERDICT_UNDELIVERABLE:
		r->exit_code = EXIT_UNDELIVERABLE;
		break;
	case VERDICT_RISKY:
		r->exit_code = EXIT_RISKY;
		break;
	default:
		r->exit_code = EXIT_UNKNOWN;
		break;
	}
}

/* The reply of a stage that explains it: the first one that is not a
 * plain success (or the last one). */
static const struct rec_reply *
deciding_reply(const struct stage_rec *s)
{
	size_t i;

	for (i = 0; i < s->nreplies; i++) {
		const struct reply *rp = s->replies[i].reply;
		if (rp->code / 100 != 2 ||
		    s->replies[i].legality == CODES_ILLEGAL)
			return &s->replies[i];
	}
	return s->nreplies > 0 ? &s->replies[s->nreplies - 1] : NULL;
}

static void
classify(const struct rec_reply *rr, struct codes_diagnosis *d)
{
	const struct reply *rp = rr->reply;
	char text[2048];

	reply_text_join_noesc(rp, text, sizeof(text));
	codes_classify(rr->cmd, rp->code, rp->esc_class, rp->esc_subject,
	    rp->esc_detail, text, d);
}

static bool
blame_is_client(enum codes_blame b)
{
	return b == CODES_BLAME_CLIENT_IP_REPUTATION ||
	    b == CODES_BLAME_CLIENT_IDENTITY;
}

/* The last reply of a stage, or NULL. */
static const struct rec_reply *
last_reply(const struct stage_rec *s)
{
	return s->nreplies > 0 ? &s->replies[s->nreplies - 1] : NULL;
}

static void
explain_reply(struct stage_rec *s, const struct rec_reply *rr)
{
	struct codes_diagnosis d;
	char meaning[512];

	classify(rr, &d);
	if (rr->legality == CODES_ILLEGAL && !(rr->reply->deviations &
	    REPLY_DEV_MALFORMED)) {
		snprintf(meaning, sizeof(meaning), "%d is not a valid reply "
		    "to %s (RFC 5321 §4.3.2), so its meaning cannot be "
		    "trusted. %s", rr->reply->code, rr->cmd ==
		    CODES_CMD_GREETING ? "the greeting" :
		    codes_cmd_name((enum codes_cmd)rr->cmd), d.meaning);
		expl_set(&s->expl, CODES_CAT_PROTOCOL_ERROR,
		    CODES_BLAME_PROTOCOL, d.permanence, meaning,
		    "The server's SMTP implementation (or a filter in front "
		    "of it) does not follow the protocol.",
		    "Report the reply to the server's administrator; "
		    "smtpprobe stopped without acting on it.");
		return;
	}
	if (rr->reply->deviations & REPLY_DEV_MALFORMED) {
		expl_set(&s->expl, CODES_CAT_PROTOCOL_ERROR,
		    CODES_BLAME_PROTOCOL, CODES_NOT_A_REPLY,
		    "The server sent text that is not an SMTP "
		    "reply.", "Something other than a mail server answers "
		    "on this port, or a proxy or filter garbles the dialogue.",
		    "Check which service listens on the port.");
		return;
	}
	expl_set(&s->expl, d.category, d.blame, d.permanence,
	    d.meaning, d.cause, d.advice);
}

/* The TLS stage warns only because a certificate that verifies ends
 * soon (finding tls.cert_expiring_soon).  True when explained. */
static bool
explain_cert_expiring(struct probe_result *r)
{
	const struct finding *f = NULL;
	char meaning[600];
	size_t i;

	if (!result_tls_info(r)->verified || result_tls_info(r)->expired)
		return false;
	for (i = 0; i < r->nfindings && f == NULL; i++)
		if (r->findings[i].id == FINDING_TLS_CERT_EXPIRING_SOON)
			f = &r->findings[i];
	if (f == NULL)
		return false;
	snprintf(meaning, sizeof(meaning), "The TLS certificate is valid, but "
	    "%s.", f->message);
	expl_set(&r->stages[STAGE_TLS].expl, DIAG_CAT_TLS_CERTIFICATE,
	    CODES_BLAME_SERVER, CODES_SUCCESS, meaning, "The certificate was "
	    "not renewed in time (automatic renewal failing, or a manual "
	    "one forgotten); once it expires, senders that check "
	    "certificates (DANE, MTA-STS, --tls required) will stop "
	    "delivering.", "Renew the certificate and reload the mail "
	    "server.");
	return true;
}

/* The TLS stage ended by DANE (RFC 7672): no TLSA record matched, or
 * with --tls dane the look-up failed.  True when explained. */
static bool
explain_dane(struct probe_result *r)
{
	struct stage_rec *s = &r->stages[STAGE_TLS];
	const struct tlsconn_info *t = result_tls_info(r);
	char meaning[512];

	if (t->dane == TLSCONN_DANE_MISMATCH) {
		snprintf(meaning, sizeof(meaning), "None of the %zu usable "
		    "TLSA records of the MX host (DNSSEC-authenticated) "
		    "matches the certificate the server presented (public "
		    "key SHA-256 %s), so DANE does not authenticate it.",
		    t->tlsa_usable, t->nchain > 0 ? t->chain[0].spki_sha256 :
		    "unknown");
		expl_set(&s->expl, DIAG_CAT_DANE_FAILED, CODES_BLAME_SERVER,
		    s->status == STATUS_FAIL ? CODES_TRANSIENT : CODES_SUCCESS,
		    meaning, "The certificate or its key was replaced without "
		    "first publishing TLSA records for the new one, or the "
		    "records are stale or were written for another host.",
		    "Publish a TLSA record for the key in use (\"3 1 1\" "
		    "with its public key's SHA-256), keeping the old and the "
		    "new records side by side during a change of key (RFC "
		    "7671 §8.1).");
		return true;
	}
	if (s->status == STATUS_FAIL &&
	    result_has_finding(r, FINDING_DANE_LOOKUP_FAILED)) {
		expl_set(&s->expl, DIAG_CAT_DANE_FAILED, CODES_BLAME_SERVER,
		    CODES_TRANSIENT, "The TLSA look-up of the MX host failed, "
		    "so with --tls dane the server cannot be authenticated "
		    "and is not used, as Postfix's dane level defers the "
		    "mail.", "The domain's DNSSEC or name servers are broken, "
		    "or the DNS server asked cannot validate.", "Check the "
		    "zone's DNSSEC signatures (for instance with dig +dnssec "
		    "TLSA _25._tcp.HOST) and the name servers.");
		return true;
	}
	return false;
}

/*
 * TLS where clear text was expected, or the other way round: a greeting
 * that is a TLS record, or implicit TLS (RFC 8314) answered by a clear
 * text greeting.  The probe's mode, not the server, has to change; true
 * when one of them is the case (stage st explained).
 */
static bool
explain_tls_mode(struct probe_result *r, enum stage st)
{
	struct stage_rec *s = &r->stages[st];

	if (st == STAGE_GREETING &&
	    result_has_finding(r, FINDING_GREETING_TLS_RECORD)) {
		expl_set(&s->expl, DIAG_CAT_TLS_MODE_MISMATCH,
		    CODES_BLAME_CLIENT_AUTH_TLS, CODES_PERMANENT, "The server "
		    "sent a TLS record where the greeting should be: it "
		    "expects TLS from the first byte (implicit TLS, RFC 8314) "
		    "and took the probe's silence, or its clear text, for a "
		    "broken handshake.", "The port serves SMTP over implicit "
		    "TLS (submissions, usually port 465), or a TLS proxy "
		    "sits in front of the server.", "Probe it with --tls "
		    "implicit, or use the port that greets in clear text "
		    "(25, or 587 with STARTTLS).");
		return true;
	}
	if (st == STAGE_TLS &&
	    result_has_finding(r, FINDING_TLS_IMPLICIT_PLAINTEXT)) {
		expl_set(&s->expl, DIAG_CAT_TLS_MODE_MISMATCH,
		    CODES_BLAME_CLIENT_AUTH_TLS, CODES_PERMANENT, "Implicit "
		    "TLS was used (port 465 or --tls implicit), but the "
		    "server greets in clear text: the handshake read its "
		    "\"220 \" as a broken TLS record.", "The port serves "
		    "SMTP with STARTTLS (25, 587), or the server's implicit "
		    "TLS is not set up on this port.", "Probe it with --tls "
		    "opportunistic (STARTTLS), or use the server's port for "
		    "implicit TLS.");
		return true;
	}
	return false;
}

/* ---- the SOCKS proxy (--proxy) ---------------------------------------------- */

/* The handshake failed before any CONNECT reply: the proxy is unusable
 * for every server alike. */
static void
explain_proxy_handshake(struct probe_result *r, struct stage_rec *s)
{
	const struct proxy_info *p = r->proxy;
	char meaning[512];

	if (p == NULL)
		return;
	snprintf(meaning, sizeof(meaning), "The SOCKS handshake with the "
	    "proxy %s failed: %s. No mail server was contacted.", p->url,
	    stage_error(s));
	if (p->not_socks)
		expl_set(&s->expl, DIAG_CAT_PROXY_NOT_SOCKS, CODES_BLAME_PROXY, CODES_PERMANENT,
		    meaning, "What answers at that address is not a SOCKS 5 "
		    "proxy: an HTTP proxy, a SOCKS 4 proxy, or another "
		    "service.", "Point --proxy at a SOCKS 5 proxy (ssh -D, "
		    "Dante, 3proxy and Tor speak SOCKS 5).");
	else if (p->method == SOCKS_METHOD_REFUSED)
		expl_set(&s->expl, DIAG_CAT_PROXY_AUTH_REQUIRED, CODES_BLAME_PROXY, CODES_PERMANENT,
		    meaning, "The proxy accepts none of the methods offered: "
		    "it wants a user name and password, or (when they were "
		    "offered) a method smtpprobe does not speak, such as "
		    "GSSAPI.", "Give the user in --proxy "
		    "socks5://USER@HOST:PORT and the password with "
		    "--proxy-password-file or SMTPPROBE_PROXY_PASSWORD.");
	else if (p->auth_status > 0)
		expl_set(&s->expl, DIAG_CAT_PROXY_AUTH_FAILED, CODES_BLAME_PROXY, CODES_PERMANENT,
		    meaning, "The user name or password is wrong, or the "
		    "account is not allowed to use the proxy (RFC 1929).",
		    "Check the user in --proxy and the password in "
		    "--proxy-password-file or SMTPPROBE_PROXY_PASSWORD.");
	else if (p->timed_out)
		expl_set(&s->expl, DIAG_CAT_PROXY_TIMEOUT, CODES_BLAME_PROXY, CODES_TRANSIENT,
		    meaning, "The proxy is overloaded, or a service that is not "
		    "a SOCKS proxy took the connection and stays silent.",
		    "Check the proxy; try again with a longer --timeout.");
	else
		expl_set(&s->expl, DIAG_CAT_PROXY_FAILED, CODES_BLAME_PROXY, CODES_TRANSIENT,
		    meaning, "The proxy closed the connection or failed in "
		    "the middle of the handshake.", "Look at the proxy's "
		    "log.");
}

/* The server as the proxy was asked for it: its address, else its name. */
static const char *
server_named(const struct probe_result *r)
{
	return r->server_ip[0] != '\0' ? r->server_ip : r->server_host;
}

/*
 * What each CONNECT reply code of RFC 1928 §6 means for a probe: why a
 * proxy sends it and what to do.  Every one came from the proxy; the
 * mail server said nothing.
 */
static const struct {
	int		 category;	/* enum diag_category */
	const char	*what;		/* the rest of the meaning */
	const char	*cause;
	const char	*action;
} proxy_reps[] = {
	[SOCKS_REP_GENERAL_FAILURE] = { DIAG_CAT_PROXY_GENERAL_FAILURE,
	    "the proxy gives no reason.",
	    "Many proxies (Dante among them) answer this when their own "
	    "connection to the server failed or timed out, or when a rule of "
	    "theirs refused it.",
	    "Look at the proxy's log; try another proxy, or probe from a "
	    "host that may connect to port 25 itself." },
	[SOCKS_REP_NOT_ALLOWED] = { DIAG_CAT_PROXY_NOT_ALLOWED,
	    "the proxy's rules forbid this connection, and the mail server "
	    "was not contacted at all.",
	    "Most proxies, VPN services and anonymity networks (Tor exits "
	    "among them) refuse outgoing connections to port 25 to keep spam "
	    "out; this is the usual answer.",
	    "Use a proxy that may connect to port 25 (one you run yourself "
	    "on a host that may send mail, e.g. ssh -D), or ask the proxy's "
	    "operator to allow it; the mail server has nothing to fix." },
	[SOCKS_REP_NET_UNREACHABLE] = { DIAG_CAT_PROXY_NETWORK_UNREACHABLE,
	    "the proxy has no route to the server's network.",
	    "The network behind the proxy does not reach that address; "
	    "often an IPv6 address asked of a proxy without IPv6.",
	    "Try the server's IPv4 address (-4), let the proxy resolve the "
	    "names (socks5h://), or use another proxy." },
	[SOCKS_REP_HOST_UNREACHABLE] = { DIAG_CAT_PROXY_HOST_UNREACHABLE,
	    "the proxy could not reach the server.",
	    "The server is down, or the network behind the proxy drops the "
	    "connection; many proxies answer this when their connection to "
	    "port 25 timed out, which is how a network that blocks port 25 "
	    "looks from the proxy.",
	    "If other mail servers fail the same way through this proxy, "
	    "its network blocks port 25: use another proxy; otherwise the "
	    "server's administrator must look." },
	[SOCKS_REP_REFUSED] = { DIAG_CAT_PROXY_CONNECTION_REFUSED,
	    "the server (or a firewall on the way) refused the proxy's "
	    "connection; the proxy only passed the refusal on.",
	    "Nothing listens on that port, or a firewall actively refuses "
	    "connections from the proxy's network to port 25.",
	    "Check whether other servers answer through this proxy; if they "
	    "do, the server's administrator must look at the service." },
	[SOCKS_REP_TTL_EXPIRED] = { DIAG_CAT_PROXY_TTL_EXPIRED,
	    "the proxy's packets to the server expired on the way.",
	    "A routing loop, or a path too long, behind the proxy.",
	    "Try again later or through another proxy." },
	[SOCKS_REP_CMD_UNSUPPORTED] = { DIAG_CAT_PROXY_COMMAND_NOT_SUPPORTED,
	    "the proxy does not make outgoing TCP connections (CONNECT).",
	    "A proxy set up for other commands only (BIND, UDP ASSOCIATE).",
	    "Use a proxy that allows CONNECT." },
	[SOCKS_REP_ATYP_UNSUPPORTED] = { DIAG_CAT_PROXY_ADDRESS_TYPE_NOT_SUPPORTED,
	    "the proxy cannot connect to this kind of address.",
	    "It takes no IPv6 addresses, or (with socks5h://) no host names.",
	    "With socks5:// the probe sends addresses, with socks5h:// "
	    "names: try the other, or -4." },
};

/* The connect stage through a proxy: the proxy itself was not reached. */
static void
explain_proxy_connect(struct probe_result *r)
{
	struct stage_rec *s = &r->stages[STAGE_CONNECT];
	char meaning[512];

	snprintf(meaning, sizeof(meaning), "No TCP connection could be made "
	    "to the SOCKS proxy %s: %s. No mail server was contacted.",
	    r->proxy->url, stage_error(s));
	expl_set(&s->expl, DIAG_CAT_PROXY_UNREACHABLE, CODES_BLAME_PROXY, CODES_TRANSIENT,
	    meaning, "The proxy is down, its host or port is wrong, or a "
	    "firewall between this host and the proxy is in the way.",
	    "Check the host and port of --proxy (or SMTPPROBE_PROXY), and "
	    "that the proxy runs and accepts connections from this host.");
}

/* The proxy stage, from the facts its handshake left. */
static void
explain_proxy(struct probe_result *r)
{
	struct stage_rec *s = &r->stages[STAGE_PROXY];
	const struct proxy_info *p = r->proxy;
	char meaning[512];

	if (p == NULL)
		return;
	if (p->reply > 0 && (size_t)p->reply < sizeof(proxy_reps) /
	    sizeof(proxy_reps[0])) {
		snprintf(meaning, sizeof(meaning), "The proxy answered the "
		    "request to connect to %s port %d with \"%s\" (SOCKS reply "
		    "%d): %s This came from the proxy, not from the mail "
		    "server.", server_named(r), r->server_port,
		    socks_rep_text(p->reply), p->reply,
		    proxy_reps[p->reply].what);
		expl_set(&s->expl, proxy_reps[p->reply].category,
		    CODES_BLAME_PROXY, CODES_TRANSIENT, meaning,
		    proxy_reps[p->reply].cause,
		    proxy_reps[p->reply].action);
	} else if (p->reply > 0) {
		snprintf(meaning, sizeof(meaning), "The proxy answered the "
		    "request to connect to %s port %d with reply code %d, "
		    "which RFC 1928 does not assign. This came from the proxy, "
		    "not from the mail server.", server_named(r),
		    r->server_port, p->reply);
		expl_set(&s->expl, DIAG_CAT_PROXY_FAILED, CODES_BLAME_PROXY, CODES_TRANSIENT,
		    meaning, "A proxy with codes of its own.",
		    "Look at the proxy's documentation or log.");
	} else if (p->timed_out && strcmp(p->step, "request") == 0) {
		snprintf(meaning, sizeof(meaning), "The proxy took the "
		    "request to connect to %s port %d but did not answer it: "
		    "%s. It could not reach the mail server in that time; the "
		    "server itself said nothing.", server_named(r),
		    r->server_port, stage_error(s));
		expl_set(&s->expl, DIAG_CAT_PROXY_CONNECT_TIMEOUT, CODES_BLAME_PROXY, CODES_TRANSIENT, meaning, "The network behind the proxy drops "
		    "outgoing connections to port 25 (common at cloud, VPN and "
		    "proxy providers), or the server is down.", "If other "
		    "servers time out the same way through this proxy, use a "
		    "proxy that may connect to port 25; otherwise try again "
		    "later, or with a longer --timeout.");
	} else
		explain_proxy_handshake(r, s);
}

static void
explain_transport(struct probe_result *r, enum stage st)
{
	struct stage_rec *s = &r->stages[st];
	char meaning[512];

	if (s->timed_out && s->unfinished) {
		snprintf(meaning, sizeof(meaning), "The server began a reply "
		    "and never finished it: %s.", stage_error(s));
		expl_set(&s->expl, DIAG_CAT_REPLY_UNFINISHED,
		    CODES_BLAME_SERVER, CODES_TRANSIENT, meaning, "The "
		    "server, or a filter or proxy in front of it, stopped in "
		    "the middle of a multi-line reply (a hung policy service "
		    "or content scanner, a broken proxy), or the connection "
		    "stalled. It is not tarpitting: that slows whole replies "
		    "down.",
		    "Try again later; if it persists, the server's "
		    "administrator should look at what answers on the port "
		    "(the transcript shows the lines that came).");
		return;
	}
	switch (st) {
	case STAGE_PROXY:
		explain_proxy(r);
		return;
	case STAGE_CONNECT:
		if (r->proxy != NULL) {
			explain_proxy_connect(r);
			return;
		}
		snprintf(meaning, sizeof(meaning), "No TCP connection could be "
		    "made to %s port %d: %s.", r->server_ip, r->server_port,
		    stage_error(s));
		expl_set(&s->expl, s->timed_out ? DIAG_CAT_CONNECT_TIMEOUT :
		    DIAG_CAT_CONNECT_FAILED, CODES_BLAME_SERVER,
		    CODES_TRANSIENT, meaning,
		    s->timed_out ? "Packets are dropped on the way: a "
		    "firewall at the server, or the local network blocking "
		    "outgoing port 25 (many home, office and cloud networks "
		    "do), or the host is down." :
		    "Nothing listens on that port (the mail service is down "
		    "or moved), or a firewall actively refuses the "
		    "connection.",
		    "Check whether this network allows outgoing connections "
		    "to port 25 (try from another host); if it does, the "
		    "server's administrator must look at the service and "
		    "firewall.");
		return;
	case STAGE_GREETING:
		if (explain_tls_mode(r, st))
			return;
		if (s->timed_out) {
			snprintf(meaning, sizeof(meaning), "The server took "
			    "the connection but sent no complete greeting: %s.",
			    stage_error(s));
			expl_set(&s->expl, DIAG_CAT_TIMEOUT, CODES_BLAME_SERVER,
			    CODES_TRANSIENT,
			    meaning, r->server_port != 25 ? "The server delays "
			    "its greeting on purpose, or is overloaded; or this "
			    "port speaks TLS from the first byte (implicit TLS, "
			    "RFC 8314, as on port 465) and waits for a "
			    "handshake." : "Some servers delay the greeting on "
			    "purpose to catch impatient spam software "
			    "(postscreen, greet_pause, Exim's delays run to "
			    "20-30 s); or the server is overloaded.",
			    r->server_port != 25 ? "Try --tls implicit if the "
			    "port is one for implicit TLS; else try again with "
			    "a longer --timeout." : "Try again with a longer "
			    "--timeout; if it persists, the server's "
			    "administrator should check its load and banner "
			    "delay.");
			return;
		}
		break;
	case STAGE_TLS:
		if (explain_tls_mode(r, st))
			return;
		snprintf(meaning, sizeof(meaning), "The TLS handshake failed: "
		    "%s.", stage_error(s));
		expl_set(&s->expl, DIAG_CAT_TLS_FAILED, CODES_BLAME_SERVER,
		    CODES_TRANSIENT,
		    meaning, "The server and smtpprobe share no protocol "
		    "version or cipher, or the server's certificate or key "
		    "is misconfigured.",
		    "Test with `openssl s_client -starttls smtp -connect "
		    "HOST:25` and check the server's TLS settings.");
		return;
	default:
		break;
	}
	if (s->timed_out) {
		snprintf(meaning, sizeof(meaning), "The server stopped "
		    "answering: %s.", stage_error(s));
		expl_set(&s->expl, DIAG_CAT_TIMEOUT, CODES_BLAME_SERVER,
		    CODES_TRANSIENT, meaning,
		    "The server is overloaded, or deliberately slows down "
		    "clients it distrusts (tarpitting).",
		    "Try again later, or with a longer --timeout.");
	} else {
		snprintf(meaning, sizeof(meaning), "The connection ended "
		    "early: %s.", stage_error(s)[0] ? stage_error(s) :
		    "closed");
		expl_set(&s->expl, DIAG_CAT_CONNECTION_LOST, CODES_BLAME_SERVER,
		    CODES_TRANSIENT,
		    meaning, "Servers drop sessions they do not like without "
		    "a word (too many connections, a blocklisted client, a "
		    "policy service failing), or the server crashed.",
		    "Retry later; the server's logs will say why it closed "
		    "the connection.");
	}
}

/*
 * RCPT was accepted, but the reply itself casts doubt on it: 252 ("cannot
 * verify the user, but will accept the message", RFC 5321 §3.5.3: the
 * mailbox is not confirmed), or a reply that contradicts itself
 * (reply_contradicts(): another class on another line, or in the enhanced
 * code).  The rcpt stage warns.
 */
static bool
doubtful_accept(const struct rec_reply *rr)
{
	const struct reply *rp = rr->reply;

	if (rp->code / 100 != 2 || rr->legality == CODES_ILLEGAL)
		return false;
	return rp->code == 252 || reply_contradicts(rp);
}

/* "a permanent failure", "a success", ... for a class digit. */
static const char *
class_words(int cls)
{
	switch (cls) {
	case 2: return "a success";
	case 3: return "an intermediate reply";
	case 4: return "a temporary failure";
	case 5: return "a permanent failure";
	default: return "no valid class";
	}
}

/*
 * A reply that contradicts itself (reply_contradicts()): RFC 5321 §4.2.1
 * wants one code on every line of a reply, RFC 3463 §2 an enhanced code
 * of the reply code's class.  The session acted on the reply code (the
 * last line's), as clients must; the diagnosis draws no verdict from it
 * (the rule is in docs/ARCHITECTURE.md, "Diagnosis").
 */
static void
explain_contradiction(struct stage_rec *s, const struct rec_reply *rr)
{
	const struct reply *rp = rr->reply;
	char meaning[EXPL_TEXT_MAX];

	if (rp->classes & ~(1u << (rp->code / 100)))
		snprintf(meaning, sizeof(meaning), "The server's reply "
		    "contradicts itself: its first line carries %d (%s) and "
		    "its last line %d (%s), where every line of a reply must "
		    "carry the same code (RFC 5321 §4.2.1). The server acts "
		    "on the last line, but neither line can be trusted as the "
		    "answer.", rp->first_code,
		    class_words(rp->first_code / 100), rp->code,
		    class_words(rp->code / 100));
	else
		snprintf(meaning, sizeof(meaning), "The server's reply "
		    "contradicts itself: its code %d is %s, its enhanced code "
		    "%d.%d.%d %s (RFC 3463 §2). The server acts on the reply "
		    "code, but the reply cannot be trusted as the answer.",
		    rp->code, class_words(rp->code / 100), rp->esc_class,
		    rp->esc_subject, rp->esc_detail,
		    class_words(rp->esc_class));
	s->expl.present = false;
	expl_set(&s->expl, DIAG_CAT_CONTRADICTORY_REPLY, CODES_BLAME_PROTOCOL,
	    rp->code / 100 == 2 ? CODES_SUCCESS : rp->code / 100 == 4 ?
	    CODES_TRANSIENT : CODES_PERMANENT, meaning, "A filter or proxy in "
	    "front of the mail server splices or rewrites its replies, or "
	    "the server's reply templates are wrong.", "Report the reply to "
	    "the server's administrator; the address could not be judged "
	    "from it.");
}

static void
explain_unverified(struct stage_rec *s)
{
	expl_set(&s->expl, DIAG_CAT_ACCEPTED_UNVERIFIED, CODES_BLAME_NONE,
	    CODES_SUCCESS, "The server takes mail for the address (252) but "
	    "says it cannot confirm that such a mailbox exists.", "A gateway "
	    "or filter that cannot see the list of mailboxes behind it, or a "
	    "server that will not reveal which users exist.", "Treat the "
	    "address as unconfirmed: only a real delivery, or its bounce, "
	    "will tell.");
}

/* The reply that decides the verdict, when the session ended with an
 * answer at MAIL or RCPT; NULL otherwise. */
static const struct rec_reply *
envelope_reply(const struct probe_result *r, enum stage *st)
{
	const struct stage_rec *m = &r->stages[STAGE_MAIL];
	const struct stage_rec *rc = &r->stages[STAGE_RCPT];

	if (r->outcome != OUTCOME_ANSWERED)
		return NULL;
	*st = m->status == STATUS_FAIL ? STAGE_MAIL : STAGE_RCPT;
	if (*st == STAGE_MAIL)
		return deciding_reply(m);
	/* At RCPT the first reply is the address's own; a second one is
	 * the --catch-all control's, which must not decide. */
	return rc->nreplies > 0 ? &rc->replies[0] : NULL;
}

/* The deciding reply contradicts itself: its stage says so. */
static void
explain_contradictory_envelope(struct probe_result *r)
{
	const struct rec_reply *rr;
	enum stage st;

	if ((rr = envelope_reply(r, &st)) == NULL ||
	    rr->legality == CODES_ILLEGAL || !reply_contradicts(rr->reply))
		return;
	if (r->stages[st].status == STATUS_OK)
		r->stages[st].status = STATUS_WARN;
	explain_contradiction(&r->stages[st], rr);
}

static bool
explain_starttls_stage(struct probe_result *r, struct stage_rec *s)
{
	if (result_has_finding(r, FINDING_STARTTLS_NOT_OFFERED))
		expl_set(&s->expl,
		    DIAG_CAT_STARTTLS_NOT_OFFERED,
		    CODES_BLAME_SERVER, CODES_SUCCESS,
		    "The server does not "
		    "offer STARTTLS: mail to it crosses the "
		    "network unencrypted.", "TLS is not "
		    "configured on the server, or a middlebox "
		    "strips the STARTTLS keyword.",
		    "Install a certificate and enable STARTTLS "
		    "on the server (in Postfix: "
		    "smtpd_tls_security_level = may).");
	else if (result_has_finding(r,
	    FINDING_STARTTLS_PIPELINED_DATA))
		expl_set(&s->expl, DIAG_CAT_STARTTLS_INJECTION,
		    CODES_BLAME_SERVER, CODES_SUCCESS,
		    "The server sent data "
		    "after its 220 to STARTTLS, before the "
		    "handshake; smtpprobe discarded it.",
		    "A buggy server or a man-in-the-middle "
		    "trying to inject replies into the "
		    "encrypted session.", "Have the server "
		    "checked; a correct server sends nothing "
		    "after 220 until the handshake.");
	else
		expl_set(&s->expl, DIAG_CAT_STARTTLS_SKIPPED,
		    CODES_BLAME_SERVER, CODES_SUCCESS,
		    "STARTTLS was not "
		    "used on this connection after a failed "
		    "handshake on the previous one.",
		    "See the tls stage of the previous attempt.",
		    "Fix the server's TLS configuration.");
	return true;
}

static bool
explain_tls_stage(struct probe_result *r, struct stage_rec *s)
{
	if (stage_error(s)[0] == '\0' && (explain_dane(r) ||
	    explain_cert_expiring(r)))
		return true;
	if (stage_error(s)[0] == '\0') {
		const struct tlsconn_info *t = result_tls_info(r);
		char meaning[512];

		snprintf(meaning, sizeof(meaning), "The TLS "
		    "certificate is not valid for this server "
		    "(%s%s%s).", t->verify_error[0] ?
		    t->verify_error : "",
		    t->verify_error[0] && t->name_checked &&
		    !t->name_match ? "; " : "",
		    t->name_checked && !t->name_match ?
		    "the name does not match" : "");
		expl_set(&s->expl, DIAG_CAT_TLS_CERTIFICATE,
		    CODES_BLAME_SERVER, CODES_SUCCESS,
		    meaning, "A self-signed or "
		    "expired certificate, a missing "
		    "intermediate certificate, or one issued "
		    "for another host name than the MX name.",
		    "Install a certificate from a public CA "
		    "that names the MX host, with its full "
		    "chain.");
		return true;
	}
	return false;
}

static bool
explain_ehlo_stage(struct probe_result *r, struct stage_rec *s)
{
	if (s->status == STATUS_WARN) {
		expl_set(&s->expl, DIAG_CAT_EHLO_REJECTED,
		    CODES_BLAME_SERVER, CODES_SUCCESS,
		    "The server refused EHLO and "
		    "accepted HELO, so no SMTP extension "
		    "(STARTTLS, SIZE, SMTPUTF8, ...) can be "
		    "used.", "A very old or minimal server, "
		    "or a firewall that filters ESMTP.",
		    "Enable ESMTP on the server, or remove "
		    "the filtering device.");
		return true;
	}
	return false;
}

static bool
explain_rcpt_stage(struct probe_result *r, struct stage_rec *s)
{
	if (s->nreplies > 0 && s->replies[0].reply->code ==
	    252) {
		explain_unverified(s);
		return true;
	}
	if (result_has_finding(r,
	    FINDING_RCPT_SMTPUTF8_UNSUPPORTED)) {
		expl_set(&s->expl, DIAG_CAT_SMTPUTF8_REQUIRED,
		    CODES_BLAME_RECIPIENT_ADDRESS,
		    CODES_PERMANENT, "The "
		    "address has a non-ASCII local part, and "
		    "the server does not offer SMTPUTF8 (RFC "
		    "6531), so it cannot be given to it.",
		    "The server has no internationalized "
		    "email support.", "Use an ASCII address "
		    "for this recipient, or have the server "
		    "enable SMTPUTF8.");
		return true;
	}
	return false;
}

static bool
explain_dns_stage(struct probe_result *r, struct stage_rec *s)
{
	if (s->status == STATUS_WARN) {
		/* Mail still has a way in; the findings name
		 * what is wrong. */
		expl_set(&s->expl, DIAG_CAT_DNS_MISCONFIGURED,
		    CODES_BLAME_SERVER, CODES_SUCCESS,
		    "Part of "
		    "the domain's mail DNS is not right (see "
		    "the findings), but a usable mail server "
		    "was found.", "An MX record that names an "
		    "alias (CNAME), an IP address or a host "
		    "without an address, or a look-up that "
		    "failed for now.", "The domain's DNS "
		    "administrator should make every MX record "
		    "name a host that has its own A/AAAA "
		    "records.");
		return true;
	}
	return false;
}

static bool
explain_auth_stage(struct probe_result *r, struct stage_rec *s)
{
	if (result_has_finding(r, FINDING_AUTH_NOT_ENCRYPTED))
		expl_set(&s->expl, DIAG_CAT_AUTH_NOT_ENCRYPTED,
		    CODES_BLAME_CLIENT_AUTH_TLS,
		    CODES_PERMANENT, "smtpprobe "
		    "did not send AUTH: the connection is not "
		    "encrypted, and the password would have "
		    "crossed the network in the clear.",
		    "The server does not offer STARTTLS on "
		    "this port, the TLS handshake failed, or "
		    "--tls never was given.", "Enable STARTTLS "
		    "on the server (the submission port 587 "
		    "should offer it); only on a network you "
		    "trust, pass --auth-plaintext.");
	else if (result_has_finding(r,
	    FINDING_AUTH_NOT_OFFERED))
		expl_set(&s->expl, DIAG_CAT_AUTH_NOT_OFFERED,
		    CODES_BLAME_CLIENT_AUTH_TLS,
		    CODES_PERMANENT, "The "
		    "server does not announce AUTH in its "
		    "EHLO reply, so nobody can log in on this "
		    "connection.", "AUTH is switched off on "
		    "this port (MX servers on port 25 seldom "
		    "offer it), or it is offered only after "
		    "STARTTLS (common on port 587), or only to "
		    "some client networks.", "Use the "
		    "submission port (587 with STARTTLS) and "
		    "check the server's SASL settings (Postfix: "
		    "smtpd_sasl_auth_enable, "
		    "smtpd_tls_auth_only).");
	else if (result_has_finding(r,
	    FINDING_AUTH_NO_MECHANISM))
		expl_set(&s->expl, DIAG_CAT_AUTH_NO_MECHANISM,
		    CODES_BLAME_CLIENT_AUTH_TLS,
		    CODES_PERMANENT, "The "
		    "server offers no AUTH mechanism smtpprobe "
		    "can use (PLAIN, LOGIN, CRAM-MD5), or not "
		    "the one chosen with --auth-mech.", "The "
		    "server allows only other mechanisms "
		    "(XOAUTH2, OAUTHBEARER, GSSAPI, NTLM).",
		    "Choose another --auth-mech, or test with "
		    "a client that speaks the server's "
		    "mechanism.");
	else
		return false;
	return true;
}

static bool
explain_quit_stage(struct probe_result *r, struct stage_rec *s)
{
	expl_set(&s->expl, DIAG_CAT_QUIT_UNCLEAN,
	    CODES_BLAME_SERVER, CODES_SUCCESS,
	    "The server did not end the session cleanly.",
	    stage_error(s)[0] ? stage_error(s) : "An unexpected reply to "
	    "RSET or QUIT.", "Nothing to do for delivery; "
	    "the answer above stands.");
	return true;
}

/* What a stage that did not fail on a reply of its own means; false
 * when nothing is known beyond the transport's error. */
static bool
explain_own_stage(struct probe_result *r, enum stage st,
    struct stage_rec *s)
{
	switch (st) {
	case STAGE_STARTTLS:
		return explain_starttls_stage(r, s);
	case STAGE_TLS:
		return explain_tls_stage(r, s);
	case STAGE_EHLO:
		return explain_ehlo_stage(r, s);
	case STAGE_RCPT:
		return explain_rcpt_stage(r, s);
	case STAGE_DNS:
		return explain_dns_stage(r, s);
	case STAGE_AUTH:
		return explain_auth_stage(r, s);
	case STAGE_QUIT:
		return explain_quit_stage(r, s);
	default:
		return false;
	}
}

/*
 * Stages that went wrong through something the session itself noticed
 * and named with a finding, rather than through a reply's meaning: the
 * finding's message says what happened, this table why and what to do.
 */
static const struct {
	enum finding_id	 id;
	enum severity	 sev;		/* the finding at least this grave */
	int		 category;
	const char	*cause;
	const char	*action;
} finding_expl[] = {
	{ FINDING_SESSION_UNSOLICITED_REPLY, SEV_ERROR, DIAG_CAT_OUT_OF_STEP,
	  "A server or proxy that answers twice, sends replies before the "
	  "commands (pipelining the client did not ask for), or a man in the "
	  "middle injecting text into the dialogue.",
	  "Report the transcript (the early lines are marked) to the "
	  "server's administrator; the address could not be checked on "
	  "this connection." },
	{ FINDING_REPLY_OUT_OF_STEP, SEV_ERROR, DIAG_CAT_OUT_OF_STEP,
	  "The server had sent a reply nobody asked for, so from there each "
	  "reply may answer the command before or after the one it seems "
	  "to answer.",
	  "Do not rely on this answer; report the transcript to the "
	  "server's administrator." },
	{ FINDING_SESSION_UNEXPECTED_INTERMEDIATE, SEV_ERROR,
	  CODES_CAT_PROTOCOL_ERROR,
	  "A broken server, a proxy that lost track of the dialogue, or a "
	  "server trying to make clients send text it can take as a "
	  "message.",
	  "Report the reply to the server's administrator; nothing more "
	  "was sent on that connection." },
	{ FINDING_REPLY_OVER_LIMIT, SEV_ERROR, DIAG_CAT_REPLY_OVER_LIMIT,
	  "RFC 5321 sets no limit on the lines of a reply, but no honest "
	  "reply comes near this one (the longest, to EHLO, are a few dozen "
	  "lines): a server sending an endless multi-line reply, by fault "
	  "or to tie clients up.",
	  "Report the transcript to the server's administrator; the address "
	  "could not be checked on this server." },
	{ FINDING_REPLY_LINE_TOO_LONG, SEV_ERROR, DIAG_CAT_REPLY_OVER_LIMIT,
	  "RFC 5321 §4.5.3.1.5 allows 512 octets a line; a server that sends "
	  "thousands without a line end is broken, or something other than "
	  "a mail server answers on the port.",
	  "Check what listens on the port, and report the transcript to the "
	  "server's administrator." },
};

/* The explanation of stage st from a finding of finding_expl; false when
 * it has none. */
static bool
explain_from_finding(struct probe_result *r, enum stage st)
{
	char meaning[512];
	size_t i, k;

	for (i = 0; i < r->nfindings; i++) {
		const struct finding *f = &r->findings[i];

		if (f->stage != st)
			continue;
		for (k = 0; k < sizeof(finding_expl) /
		    sizeof(finding_expl[0]); k++)
			if (f->id == finding_expl[k].id)
				break;
		if (k == sizeof(finding_expl) / sizeof(finding_expl[0]) ||
		    f->severity < finding_expl[k].sev)
			continue;
		snprintf(meaning, sizeof(meaning), "%c%s.",
		    f->message[0] >= 'a' && f->message[0] <= 'z' ?
		    f->message[0] - 'a' + 'A' : f->message[0],
		    f->message[0] != '\0' ? f->message + 1 : "");
		expl_set(&r->stages[st].expl, finding_expl[k].category,
		    CODES_BLAME_PROTOCOL, CODES_TRANSIENT, meaning,
		    finding_expl[k].cause, finding_expl[k].action);
		return true;
	}
	return false;
}

static void
explain_stages(struct probe_result *r)
{
	int st;

	for (st = 0; st < STAGE_COUNT; st++) {
		struct stage_rec *s = &r->stages[st];
		const struct rec_reply *rr;

		if (s->status != STATUS_WARN && s->status != STATUS_FAIL)
			continue;
		if (s->expl.present || explain_from_finding(r, st))
			continue;
		/* AUTH: the last reply decides (334 prompts come first). */
		rr = st == STAGE_AUTH && s->nreplies > 0 ?
		    &s->replies[s->nreplies - 1] : deciding_reply(s);
		/* RCPT: the address's own reply, not the --catch-all
		 * test's that follows it. */
		if (st == STAGE_RCPT && s->nreplies > 0)
			rr = &s->replies[0];
		if (rr != NULL && (rr->reply->code / 100 != 2 ||
		    rr->legality == CODES_ILLEGAL) && !s->timed_out &&
		    stage_error(s)[0] == '\0') {
			explain_reply(s, rr);
			continue;
		}
		if (!explain_own_stage(r, (enum stage)st, s))
			explain_transport(r, (enum stage)st);
	}
}

/*
 * A 530 "Must issue a STARTTLS command first" at MAIL or RCPT: who can fix
 * it depends on why the session was not encrypted.  A server that demands
 * STARTTLS without offering it in its EHLO reply is misconfigured (no
 * client can comply); one that offers it to a probe run with --tls never
 * was not given the chance.
 */
static void
explain_starttls_demand(struct probe_result *r, enum stage st)
{
	struct stage_rec *s = &r->stages[st];
	bool offered = r->caps != NULL && r->caps->starttls;

	if (s->status != STATUS_FAIL || !s->expl.present ||
	    s->expl.category != CODES_CAT_STARTTLS_REQUIRED || r->tls_done)
		return;
	if (!offered)
		expl_set(&s->expl, CODES_CAT_STARTTLS_REQUIRED,
		    CODES_BLAME_SERVER, CODES_PERMANENT,
		    "The server demands STARTTLS before this command, but its "
		    "EHLO reply does not offer STARTTLS, so no client can do "
		    "what it asks.", "A misconfigured server: encryption is "
		    "made mandatory (in Postfix, smtpd_tls_security_level = "
		    "encrypt) while TLS is not set up, or a firewall strips "
		    "STARTTLS from the EHLO reply.", "The server's "
		    "administrator must offer STARTTLS (install a certificate) "
		    "or stop requiring it; mail from other senders fails the "
		    "same way.");
	else if (r->stages[STAGE_STARTTLS].status == STATUS_SKIPPED)
		expl_set(&s->expl, CODES_CAT_STARTTLS_REQUIRED,
		    CODES_BLAME_CLIENT_AUTH_TLS, CODES_PERMANENT,
		    "The server demands STARTTLS before this "
		    "command; it offers STARTTLS, but this probe did not use "
		    "it.", "The probe was run with --tls never.", "Probe again "
		    "without --tls never (the default uses STARTTLS when it "
		    "is offered).");
	else
		expl_set(&s->expl, CODES_CAT_STARTTLS_REQUIRED,
		    CODES_BLAME_SERVER, CODES_PERMANENT,
		    "The server demands STARTTLS before this command, and TLS "
		    "could not be set up on this connection (see the starttls "
		    "and tls stages, and the earlier attempt).", "The TLS "
		    "handshake with the server failed, so the session went on "
		    "unencrypted.", "The server's administrator must fix its "
		    "TLS set-up (certificate, protocol versions, ciphers).");
}

/*
 * 521 at the greeting (RFC 7504): the host says it takes no mail at all.
 * The verdict stays "unknown" (reason greeting_rejected): the mailbox was
 * never asked, postscreen and some filters also answer 521 to clients
 * they turn away, and an MTA defers rather than bounces on a refused
 * greeting (Postfix: smtp_skip_5xx_greeting).  The domain-wide "takes no
 * mail" statement is the null MX (RFC 7505), which the DNS stage reads.
 */
static bool
greeting_is_no_mail(const struct probe_result *r)
{
	const struct stage_rec *s = &r->stages[STAGE_GREETING];
	const struct rec_reply *rr = last_reply(s);
	struct codes_diagnosis d;

	if (s->status != STATUS_FAIL || rr == NULL || rr->reply->code != 521)
		return false;
	classify(rr, &d);
	return !blame_is_client(d.blame) && d.blame != CODES_BLAME_PROTOCOL &&
	    d.blame != CODES_BLAME_RATE_LIMIT &&
	    d.blame != CODES_BLAME_SENDER_ADDRESS;
}

static void
explain_greeting_521(struct probe_result *r)
{
	if (!greeting_is_no_mail(r))
		return;
	expl_set(&r->stages[STAGE_GREETING].expl, DIAG_CAT_NO_MAIL_SERVICE,
	    CODES_BLAME_RECIPIENT_ADDRESS, CODES_PERMANENT,
	    "The server answered the "
	    "connection with 521: by RFC 7504 this host does not accept "
	    "mail at all.", "The domain's MX record points at a host that "
	    "takes no mail, on purpose (a domain that only sends) or by "
	    "mistake. Postfix postscreen and some filters also answer 521 "
	    "to clients they turn away, so the mailbox itself was not "
	    "judged.", "If every mail server of the domain answers this "
	    "way, the domain receives no mail: ask the recipient for "
	    "another address. A domain that takes no mail should publish a "
	    "null MX (RFC 7505) instead.");
}

/* The server closed after a 421 ("closing transmission channel", RFC
 * 5321 §3.8): RSET and QUIT going unanswered is then expected. */
static void
explain_quit_after_421(struct probe_result *r)
{
	struct stage_rec *q = &r->stages[STAGE_QUIT];
	int st;

	if (q->status != STATUS_WARN || q->nreplies > 0)
		return;
	for (st = STAGE_GREETING; st < STAGE_QUIT; st++) {
		const struct rec_reply *rr = last_reply(&r->stages[st]);

		if (rr != NULL && st == STAGE_GREETING &&
		    rr->reply->code / 100 == 5) {
			expl_set(&q->expl, DIAG_CAT_CLOSED_AFTER_REFUSAL,
			    CODES_BLAME_NONE, CODES_SUCCESS,
			    "The server closed the connection "
			    "after refusing the session at the greeting, "
			    "without waiting for QUIT.", "RFC 5321 §3.1 asks "
			    "the server to wait for QUIT, but hosts that "
			    "refuse at the greeting often hang up at once.",
			    "Nothing to do; the answer above stands.");
			return;
		}
		if (rr != NULL && rr->reply->code == 421) {
			expl_set(&q->expl, DIAG_CAT_CLOSED_AFTER_421,
			    CODES_BLAME_NONE, CODES_SUCCESS,
			    "The server had announced with 421 "
			    "that it was closing the connection, so the "
			    "goodbye (RSET, QUIT) went unanswered.", "That "
			    "is what 421 means (RFC 5321 §3.8); nothing is "
			    "wrong here.", "Nothing to do; the answer above "
			    "stands.");
			return;
		}
	}
}

/*
 * A content or spam verdict at MAIL or RCPT (Gmail: "this message is
 * likely unsolicited mail"): no message was sent, so the filter judged
 * the sending host and the sender, not a message and not the mailbox.
 */
static void
explain_spam_verdict(struct probe_result *r, enum stage st)
{
	struct stage_rec *s = &r->stages[st];

	if (s->status != STATUS_FAIL || !s->expl.present ||
	    s->expl.category != CODES_CAT_CONTENT_REJECTED)
		return;
	expl_set(&s->expl, CODES_CAT_CONTENT_REJECTED,
	    CODES_BLAME_CLIENT_IP_REPUTATION,
	    s->expl.permanence, st == STAGE_MAIL ? "The server's spam filter "
	    "refused the probe at MAIL FROM, before any message was sent: it "
	    "judged the sending host or the sender, not a message." :
	    "The server's spam filter refused the probe at RCPT TO, before "
	    "any message was sent: it judged the sending host or the sender, "
	    "not a message and not the mailbox.", "Filters score the "
	    "client's IP address and its network, its reverse DNS and HELO "
	    "name, and the sender domain; a new or shared address, or one "
	    "that sent unwanted mail, is refused this way.", "Check the "
	    "sending address's reputation with the provider's postmaster "
	    "tools and probe from a host with a clean, static address and "
	    "matching reverse DNS; the recipient address was not judged.");
}

/* The address the reply of rr points to instead of the recipient
 * (codes_text_address()). */
static bool
other_address(const struct rec_reply *rr, const char *rcpt, char *buf,
    size_t len)
{
	char text[2048];

	reply_text_join_noesc(rr->reply, text, sizeof(text));
	return codes_text_address(text, rcpt, buf, len);
}

/* The recipient of the RCPT command recorded in rr ("RCPT TO:<x>"). */
static void
rcpt_of(const struct rec_reply *rr, char *buf, size_t len)
{
	const char *lt = strchr(rr->command, '<'), *gt;

	buf[0] = '\0';
	if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
		snprintf(buf, len, "%.*s", (int)(gt - lt - 1), lt + 1);
}

/* A moved mailbox (551, X.1.6): the stage quotes the new address. */
static void
explain_moved(struct probe_result *r)
{
	struct stage_rec *s = &r->stages[STAGE_RCPT];
	char rcpt[LIMIT_ADDRESS * 4 + 8], to[LIMIT_ADDRESS * 4 + 8];
	char meaning[EXPL_TEXT_MAX];

	if (s->status != STATUS_FAIL || s->nreplies == 0 ||
	    !s->expl.present || s->expl.category != CODES_CAT_MAILBOX_MOVED)
		return;
	rcpt_of(&s->replies[0], rcpt, sizeof(rcpt));
	if (!other_address(&s->replies[0], rcpt, to, sizeof(to)))
		return;
	snprintf(meaning, sizeof(meaning), "The recipient has moved: the "
	    "server no longer takes mail for this address, and names the new "
	    "one: %s.", to);
	expl_set(&s->expl, CODES_CAT_MAILBOX_MOVED, s->expl.blame,
	    s->expl.permanence, meaning, s->expl.cause, "Check the new "
	    "address with the recipient by another channel, then write to "
	    "it; the old one will keep failing.");
}

/* MAIL FROM was not accepted: the recipient was never asked. */
static void
verdict_mail(struct probe_result *r, int code,
    const struct codes_diagnosis *d)
{
	const char *dom = r->addr.domain;

	if (blame_is_client(d->blame) ||
	    d->blame == CODES_BLAME_CLIENT_AUTH_TLS ||
	    (code / 100 == 5 && d->blame == CODES_BLAME_CONTENT))
		verdict(r, VERDICT_UNKNOWN, REASON_CLIENT_REJECTED, "The "
		    "server for %s refused this probing host at MAIL FROM "
		    "(%d), so the recipient was never asked.", dom, code);
	else if (d->category == CODES_CAT_GREYLISTED)
		verdict(r, VERDICT_UNKNOWN, REASON_GREYLISTED, "The server "
		    "for %s greylisted the sender (%d); the recipient was not "
		    "asked.", dom, code);
	else if (code / 100 == 4 &&
	    d->blame != CODES_BLAME_SENDER_ADDRESS &&
	    d->blame != CODES_BLAME_SENDER_AUTHENTICATION)
		verdict(r, VERDICT_UNKNOWN, REASON_TEMPORARY_FAILURE, "The "
		    "server for %s deferred the probe at MAIL FROM (%d), "
		    "before the recipient was asked; try again later.", dom,
		    code);
	else if (code / 100 == 5 && (d->blame == CODES_BLAME_RATE_LIMIT ||
	    d->blame == CODES_BLAME_SERVER))
		verdict(r, VERDICT_UNKNOWN, REASON_POLICY_REJECTED, "The "
		    "server for %s refused the probe at MAIL FROM (%d) for a "
		    "reason that is not the sender address: %s", dom, code,
		    d->meaning);
	else
		verdict(r, VERDICT_UNKNOWN, REASON_SENDER_REJECTED, "The "
		    "server for %s refused the sender address at MAIL FROM "
		    "(%d), so the recipient was never asked.", dom, code);
}

/* RCPT was accepted (2xx). */
static void
verdict_accepted(struct probe_result *r, const struct rec_reply *rr,
    int catch_all_code)
{
	const char *dom = r->addr.domain;
	char to[LIMIT_ADDRESS * 4 + 8];
	int code = rr->reply->code;

	if (catch_all_code / 100 == 2)
		verdict(r, VERDICT_RISKY, REASON_ACCEPT_ALL, "The server for "
		    "%s accepts the address, but it also accepts a made-up "
		    "address: it takes everything, so acceptance proves "
		    "nothing.", dom);
	else if (code == 252)
		verdict(r, VERDICT_RISKY, REASON_ACCEPTED_UNVERIFIED, "The "
		    "server for %s takes mail for this address but says it "
		    "cannot verify the mailbox (252).", dom);
	else if (code == 251 && other_address(rr, r->addr.mailbox, to,
	    sizeof(to)))
		/* RFC 5321 §3.4: "User not local; will forward to". */
		verdict(r, VERDICT_DELIVERABLE, REASON_ACCEPTED, "The server "
		    "for %s accepts mail for this address and will forward it "
		    "to %s (251).", dom, to);
	else
		verdict(r, VERDICT_DELIVERABLE, REASON_ACCEPTED, "The server "
		    "for %s accepts mail for this address.", dom);
}

/* RCPT was refused for a reason that does not say the address is bad:
 * true when a verdict was given. */
static bool
verdict_refused_not_address(struct probe_result *r, int code,
    const struct codes_diagnosis *d)
{
	const char *dom = r->addr.domain;

	if (blame_is_client(d->blame) ||
	    d->blame == CODES_BLAME_CLIENT_AUTH_TLS)
		verdict(r, VERDICT_UNKNOWN, REASON_CLIENT_REJECTED, "The "
		    "server for %s refused this probing host (%d), not the "
		    "address: %s", dom, code, d->meaning);
	else if (d->blame == CODES_BLAME_SENDER_ADDRESS ||
	    d->blame == CODES_BLAME_SENDER_AUTHENTICATION)
		verdict(r, VERDICT_UNKNOWN, REASON_SENDER_REJECTED, "The "
		    "server for %s refused the probe because of the sender "
		    "(%d), not the recipient.", dom, code);
	else if (d->category == CODES_CAT_GREYLISTED)
		verdict(r, VERDICT_UNKNOWN, REASON_GREYLISTED, "The server "
		    "for %s greylisted the probe (%d): it asks senders to come "
		    "back later, so the address could not be checked now.",
		    dom, code);
	else if (d->category == CODES_CAT_MAILBOX_FULL)
		verdict(r, VERDICT_UNKNOWN, REASON_MAILBOX_FULL, "The mailbox "
		    "at %s exists but is full (%d).", dom, code);
	else if (d->category == CODES_CAT_BAD_SEQUENCE ||
	    d->category == CODES_CAT_COMMAND_NOT_IMPLEMENTED ||
	    d->category == CODES_CAT_PROTOCOL_ERROR)
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "The server "
		    "for %s did not take the probe's RCPT command (%d).", dom,
		    code);
	else if (code / 100 == 4)
		verdict(r, VERDICT_UNKNOWN, REASON_TEMPORARY_FAILURE, "The "
		    "server for %s deferred the address (%d); try again "
		    "later.", dom, code);
	else if (d->category == CODES_CAT_CONTENT_REJECTED)
		/* Spam filters answer RCPT too, but they judge the
		 * traffic, not the mailbox. */
		verdict(r, VERDICT_UNKNOWN, REASON_CLIENT_REJECTED, "The "
		    "server for %s refused the probe (%d) with a spam verdict "
		    "on the sending host or sender, before any message was "
		    "sent; the address was not judged.", dom, code);
	else if (d->blame == CODES_BLAME_RECIPIENT_MAILBOX &&
	    d->category == CODES_CAT_RATE_LIMITED)
		verdict(r, VERDICT_UNKNOWN, REASON_POLICY_REJECTED, "The "
		    "mailbox at %s is receiving more mail than it accepts for "
		    "now (%d); the address itself was not judged.", dom, code);
	else if (d->blame == CODES_BLAME_CONTENT ||
	    d->blame == CODES_BLAME_RATE_LIMIT ||
	    d->blame == CODES_BLAME_SERVER)
		/* Rate limits and server faults judge the traffic or the
		 * server, not the mailbox. */
		verdict(r, VERDICT_UNKNOWN, REASON_POLICY_REJECTED, "The "
		    "server for %s refused the probe (%d) for a reason that is "
		    "not about the address: %s", dom, code, d->meaning);
	else
		return false;
	return true;
}

/* RCPT was refused (4xx, 5xx). */
static void
verdict_refused(struct probe_result *r, const struct rec_reply *rr,
    const struct codes_diagnosis *d)
{
	const char *dom = r->addr.domain;
	char to[LIMIT_ADDRESS * 4 + 8];
	int code = rr->reply->code;

	if (verdict_refused_not_address(r, code, d))
		return;
	if (d->category == CODES_CAT_USER_UNKNOWN)
		verdict(r, VERDICT_UNDELIVERABLE, REASON_USER_UNKNOWN, "The "
		    "server for %s says this mailbox does not exist (%d).",
		    dom, code);
	else if (d->category == CODES_CAT_MAILBOX_MOVED)
		verdict(r, VERDICT_UNDELIVERABLE, REASON_MAILBOX_MOVED, "The "
		    "server for %s says this mailbox has moved (%d)%s%s.", dom,
		    code, other_address(rr, r->addr.mailbox, to, sizeof(to)) ?
		    "; the new address it names is " : "", to);
	else if (d->category == CODES_CAT_MAILBOX_DISABLED)
		verdict(r, VERDICT_UNDELIVERABLE, REASON_MAILBOX_DISABLED,
		    "The mailbox at %s exists but is disabled (%d).", dom,
		    code);
	else if (d->category == CODES_CAT_RELAY_DENIED)
		verdict(r, VERDICT_UNDELIVERABLE, REASON_RELAY_DENIED, "The "
		    "server does not take mail for %s (relay denied, %d): it "
		    "is not the domain's mail server, or it does not know the "
		    "domain.", dom, code);
	else if (d->category == CODES_CAT_NULL_MX)
		verdict(r, VERDICT_UNDELIVERABLE, REASON_NULL_MX, "The server "
		    "says %s takes no mail (%d).", dom, code);
	else
		verdict(r, VERDICT_UNDELIVERABLE, REASON_REJECTED, "The server "
		    "for %s refused the address (%d): %s", dom, code,
		    d->meaning);
}

/*
 * A refusal that only says "log in first": the recipient was not judged.
 * RFC 6409 §4.3: a submission server (587, and 465 with implicit TLS,
 * RFC 8314) relays only for users who authenticate, and answers anyone
 * else with a relay or access refusal (Postfix: "Relay access denied" from
 * reject_unauth_destination, "Access denied" from permit_sasl_authenticated,
 * reject).  The same refusal from a server that offers AUTH means the
 * same.  Not when the session did authenticate.
 */
static bool
needs_login(const struct probe_result *r, const struct rec_reply *rr,
    const struct codes_diagnosis *d)
{
	bool submission = r->server_port == 587 || r->server_port == 465;
	bool offered = r->caps != NULL && r->caps->auth[0] != '\0';
	bool access;

	if (r->stages[STAGE_AUTH].status == STATUS_OK ||
	    rr->reply->code / 100 != 5)
		return false;
	if (d->category == CODES_CAT_AUTH_REQUIRED)
		return true;
	/* A relay refusal, or a bare access refusal: no text that names
	 * another cause (a policy-reasons pattern, the recipient...). */
	access = d->category == CODES_CAT_RELAY_DENIED ||
	    (d->category == CODES_CAT_POLICY_REJECTED &&
	    d->blame == CODES_BLAME_RELAY_POLICY &&
	    (d->rule[0] == '\0' || strncmp(d->rule, "weak-", 5) == 0)) ||
	    (d->category == CODES_CAT_RECIPIENT_REJECTED &&
	    rr->reply->esc_subject == 7);
	return access && (submission || offered);
}

static void
explain_needs_login(struct probe_result *r, enum stage st)
{
	struct stage_rec *s = &r->stages[st];
	char meaning[EXPL_TEXT_MAX];

	snprintf(meaning, sizeof(meaning), "The server refused %s because "
	    "this session did not log in: %s, and such a refusal of an "
	    "unauthenticated client says nothing about the mailbox.",
	    st == STAGE_MAIL ? "the sender" : "the recipient",
	    r->server_port == 587 || r->server_port == 465 ? "this is a "
	    "submission port, where a server takes mail only from its users" :
	    "the server offers AUTH and takes this mail only from users who "
	    "log in");
	s->expl.present = false;
	expl_set(&s->expl, CODES_CAT_AUTH_REQUIRED, CODES_BLAME_CLIENT_AUTH_TLS,
	    CODES_PERMANENT, meaning, "A submission server (RFC 6409 §4.3, "
	    "ports 587 and 465) relays only for authenticated users and "
	    "refuses anyone else, whatever the recipient (Postfix: \"Relay "
	    "access denied\", or \"Access denied\" from "
	    "permit_sasl_authenticated, reject).", "To check the mailbox, "
	    "probe the domain's MX on port 25; to test this server, log in "
	    "with --auth-user USER and --auth-password-file FILE.");
}

/* Verdict from the reply at MAIL or RCPT. */
static void
verdict_from_envelope(struct probe_result *r, enum stage st,
    int catch_all_code)
{
	struct stage_rec *s = &r->stages[st];
	/* At RCPT the first reply is the address's own; a second one is
	 * the --catch-all test's made-up address, which must not decide. */
	const struct rec_reply *rr = st == STAGE_RCPT && s->nreplies > 0 ?
	    &s->replies[0] : deciding_reply(s);
	const char *dom = r->addr.domain;
	struct codes_diagnosis d;
	int code;

	if (rr == NULL) {
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "The server "
		    "gave no usable answer at %s.", stage_name(st));
		return;
	}
	code = rr->reply->code;
	if (rr->untrusted) {
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "The mail "
		    "server for %s sent a reply nobody asked for: its answer "
		    "%d to %s may belong to another command, so the address "
		    "could not be checked.", dom, code, st == STAGE_MAIL ?
		    "MAIL FROM" : "RCPT TO");
		return;
	}
	classify(rr, &d);
	if (rr->legality == CODES_ILLEGAL || (code / 100 != 2 &&
	    code / 100 != 4 && code / 100 != 5)) {
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "The server "
		    "answered %s with %d, which is not a valid reply; the "
		    "result cannot be trusted.", st == STAGE_MAIL ? "MAIL" :
		    "RCPT", code);
		return;
	}
	if (reply_contradicts(rr->reply)) {
		/* One rule for every reply that contradicts itself: no
		 * verdict rests on it (docs/ARCHITECTURE.md). */
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "The server "
		    "for %s answered %s with a reply that contradicts itself "
		    "(%d%s%s): the address could not be judged.", dom,
		    st == STAGE_MAIL ? "MAIL FROM" : "RCPT TO", code,
		    rr->reply->first_code != code ? " after a line with " :
		    " with the enhanced code of another class",
		    rr->reply->first_code != code ? "another code" : "");
		return;
	}
	if (needs_login(r, rr, &d)) {
		explain_needs_login(r, st);
		verdict(r, VERDICT_UNKNOWN, REASON_AUTH_REQUIRED, "The server "
		    "for %s on port %d takes this mail only from users who log "
		    "in (%d at %s), so the address was not judged; use "
		    "--auth-user, or probe the domain's MX on port 25.", dom,
		    r->server_port, code, st == STAGE_MAIL ? "MAIL FROM" :
		    "RCPT TO");
		return;
	}
	if (code / 100 != 2 && d.category == CODES_CAT_STARTTLS_REQUIRED) {
		/* 530 "Must issue a STARTTLS command first": the session
		 * lacked TLS; explain_starttls_demand() says why. */
		verdict(r, VERDICT_UNKNOWN, REASON_TLS_FAILED, "The server "
		    "for %s demands STARTTLS before %s (%d), and this session "
		    "was not encrypted%s, so the address could not be "
		    "checked.", dom, st == STAGE_MAIL ? "MAIL FROM" :
		    "RCPT TO", code, !(r->caps != NULL && r->caps->starttls) ?
		    " (the server does not even offer STARTTLS)" : "");
		return;
	}
	if (st == STAGE_MAIL)
		verdict_mail(r, code, &d);
	else if (code / 100 == 2)
		verdict_accepted(r, rr, catch_all_code);
	else
		verdict_refused(r, rr, &d);
}

/* Both EHLO and HELO refused: say what the refusal names (Postfix can
 * apply client and DNSBL checks at HELO when smtpd_delay_reject = no). */
static void
verdict_helo_rejected(struct probe_result *r, const char *dom)
{
	const struct rec_reply *rr =
	    last_reply(&r->stages[r->outcome_stage]);
	struct codes_diagnosis d;

	memset(&d, 0, sizeof(d));
	d.category = CODES_CAT_UNKNOWN;
	if (rr != NULL)
		classify(rr, &d);
	if (rr != NULL && d.blame == CODES_BLAME_CLIENT_IP_REPUTATION)
		verdict(r, VERDICT_UNKNOWN, REASON_CLIENT_REJECTED, "The "
		    "mail server for %s refused EHLO and HELO because "
		    "of this probing host's IP address (a blocklist or "
		    "its reputation), not because of the address.",
		    dom);
	else if (rr != NULL && d.category == CODES_CAT_RDNS_MISSING)
		verdict(r, VERDICT_UNKNOWN, REASON_CLIENT_REJECTED, "The "
		    "mail server for %s refused EHLO and HELO because "
		    "of this probing host's reverse DNS.", dom);
	else if (rr == NULL || d.category == CODES_CAT_HELO_REJECTED
	    || d.blame == CODES_BLAME_CLIENT_IDENTITY ||
	    d.blame == CODES_BLAME_PROTOCOL)
		verdict(r, VERDICT_UNKNOWN, REASON_CLIENT_REJECTED, "The "
		    "mail server for %s refused the HELO name of this "
		    "probing host.", dom);
	else
		verdict(r, VERDICT_UNKNOWN, REASON_CLIENT_REJECTED, "The "
		    "mail server for %s refused both EHLO and HELO "
		    "(%d), so the address was not asked.", dom,
		    rr->reply->code);
}

/* The DNS stage failed: why, and what it says of the address. */
static void
verdict_dns_failed(struct probe_result *r, const char *dom)
{
	struct explanation *e = &r->stages[STAGE_DNS].expl;
	char m[512];

	if (result_has_finding(r, FINDING_DNS_NXDOMAIN)) {
		snprintf(m, sizeof(m), "The domain %s does not exist "
		    "in DNS (NXDOMAIN).", dom);
		expl_set(e, DIAG_CAT_DOMAIN_NOT_FOUND,
		    CODES_BLAME_RECIPIENT_ADDRESS, CODES_PERMANENT,
		    m, "A typo in the domain, or a domain "
		    "that has expired or was never registered.",
		    "Check the spelling of the domain; ask the "
		    "recipient for a working address.");
		verdict(r, VERDICT_UNDELIVERABLE, REASON_DOMAIN_NOT_FOUND,
		    "The domain %s does not exist.", dom);
	} else if (r->null_mx) {
		snprintf(m, sizeof(m), "%s publishes a null MX record "
		    "(RFC 7505): it states that it accepts no email "
		    "at all.", dom);
		expl_set(e, CODES_CAT_NULL_MX, CODES_BLAME_RECIPIENT_ADDRESS,
		    CODES_PERMANENT,
		    m, "The domain is used for a web site or other "
		    "services only, or is parked.", "Use another "
		    "address for this recipient.");
		verdict(r, VERDICT_UNDELIVERABLE, REASON_NULL_MX,
		    "%s accepts no email (null MX).", dom);
	} else if (result_has_finding(r, FINDING_DNS_CNAME_LOOP)) {
		/* A loop is a fault of the domain's DNS that its owner can
		 * fix, not a statement that the domain takes no mail: MTAs
		 * defer on it (resolvers answer SERVFAIL or an endless chain),
		 * so the verdict is unknown, not undeliverable. */
		snprintf(m, sizeof(m), "The DNS names of %s's mail lead into a "
		    "loop of aliases (CNAME records that point back to each "
		    "other), so no mail server can be found.", dom);
		expl_set(e, DIAG_CAT_DNS_CNAME_LOOP, CODES_BLAME_SERVER,
		    CODES_TRANSIENT, m, "A mistake in the domain's DNS: an "
		    "alias that points, directly or through other aliases, "
		    "back to itself.",
		    "The domain's DNS administrator must break the loop "
		    "(compare `dig CNAME NAME` along the chain); until then "
		    "mail to the domain cannot be delivered.");
		verdict(r, VERDICT_UNKNOWN, REASON_DNS_MISCONFIGURED, "The DNS "
		    "of %s has a CNAME loop, so its mail server cannot be "
		    "found; the address could not be checked.", dom);
	} else if (result_has_finding(r, FINDING_DNS_NO_MAIL_HOST)) {
		snprintf(m, sizeof(m), "No mail server for %s can be "
		    "found: no usable MX host and no address.", dom);
		expl_set(e, DIAG_CAT_NO_MAIL_HOST,
		    CODES_BLAME_RECIPIENT_ADDRESS, CODES_PERMANENT,
		    m, "The domain's DNS has no mail "
		    "setup, or its MX records name hosts that do not "
		    "exist.", "The domain's owner must publish MX "
		    "records naming hosts with A/AAAA records.");
		verdict(r, VERDICT_UNDELIVERABLE, REASON_NO_MAIL_HOST,
		    "%s has no mail server.", dom);
	} else {
		snprintf(m, sizeof(m), "The DNS look-up for %s did not "
		    "complete (%s%s%s).", dom,
		    resolver_status_name(r->dns_status),
		    r->dns_detail[0] ? ": " : "", r->dns_detail);
		expl_set(e, DIAG_CAT_DNS_TEMPORARY, CODES_BLAME_SERVER,
		    CODES_TRANSIENT, m,
		    "The domain's name servers are down, unreachable "
		    "or misconfigured (a DNSSEC error looks like "
		    "this too), or the local resolver failed.",
		    "Try again later; compare with `dig MX DOMAIN` "
		    "against another resolver (--dns-server).");
		verdict(r, VERDICT_UNKNOWN, REASON_DNS_TEMPORARY, "The DNS "
		    "look-up for %s failed for now; the address could "
		    "not be checked.", dom);
	}
}

/* --quit-after before RCPT: was the address left unasked? */
static bool
stopped_before_rcpt(const struct probe_result *r)
{
	return r->stop_after != STAGE_ADDRESS && r->stop_after < STAGE_RCPT;
}

/* The stages after the stop point were not asked (AUTH and PROXY, which
 * only --auth-user and --proxy ask for, stay skipped; QUIT still
 * comes). */
static void
mark_not_asked(struct probe_result *r)
{
	int st;

	if (!stopped_before_rcpt(r))
		return;
	for (st = r->stop_after + 1; st < STAGE_QUIT; st++)
		if (st != STAGE_AUTH && st != STAGE_PROXY &&
		    r->stages[st].status == STATUS_SKIPPED)
			r->stages[st].status = STATUS_NOT_ASKED;
}

/* "a, b and c" of the stages from `from` to `to` whose status is want
 * (ok or warn for STATUS_OK). */
static void
stage_list(const struct probe_result *r, int from, int to,
    enum stage_status want, char *buf, size_t len)
{
	size_t n = 0, total = 0, i = 0;
	int st;

	for (st = from; st <= to; st++) {
		enum stage_status s = r->stages[st].status;

		if (s == want || (want == STATUS_OK && s == STATUS_WARN))
			total++;
	}
	buf[0] = '\0';
	for (st = from; st <= to && n < len; st++) {
		enum stage_status s = r->stages[st].status;

		if (s != want && !(want == STATUS_OK && s == STATUS_WARN))
			continue;
		i++;
		n += snprintf(buf + n, len - n, "%s%s", i == 1 ? "" :
		    i == total ? " and " : ", ", stage_name((enum stage)st));
	}
}

/*
 * The session stopped where --quit-after asked it to, before RCPT: the
 * mailbox was not asked, so there is no verdict about the address
 * (reason not_checked).  The summary says which stages went through and
 * which were not asked.  The exit status is 0: everything asked went
 * through (a failure before the stop point has its own verdict).
 */
static void
verdict_not_checked(struct probe_result *r, const char *dom)
{
	char done[160], left[160];

	/* Up to where the session stopped: through a proxy, --quit-after
	 * connect stops once the proxy has connected to the server. */
	stage_list(r, STAGE_CONNECT, r->outcome_stage > r->stop_after ?
	    r->outcome_stage : r->stop_after, STATUS_OK, done, sizeof(done));
	stage_list(r, r->stop_after + 1, STAGE_RCPT, STATUS_NOT_ASKED, left,
	    sizeof(left));
	verdict(r, VERDICT_UNKNOWN, REASON_NOT_CHECKED, "Stopped after the %s "
	    "stage, as asked: with the mail server for %s, %s went through; "
	    "%s %s not asked, so the address was not checked.",
	    stage_name(r->stop_after), dom, done[0] ? done : "nothing",
	    left[0] ? left : "nothing more", strchr(left, ' ') != NULL ?
	    "were" : "was");
	r->exit_code = EXIT_DELIVERABLE;
}

/*
 * A 5xx greeting: the summary says what the greeting stage explains, so
 * that both name the same culprit (the explanation's blame).
 */
static void
verdict_greeting_refused(struct probe_result *r, const char *dom)
{
	const struct explanation *e = &r->stages[STAGE_GREETING].expl;
	const struct rec_reply *rr = last_reply(&r->stages[STAGE_GREETING]);
	int code = rr != NULL ? rr->reply->code : 0;
	const char *many = r->nattempts > 1 ? "s" : "";

	if (greeting_is_no_mail(r))
		verdict(r, VERDICT_UNKNOWN, REASON_GREETING_REJECTED, "The "
		    "mail server for %s answered 521: it says it does not "
		    "accept mail at all (RFC 7504). The address was not asked; "
		    "if every mail server of the domain says so, the domain "
		    "takes no mail.", dom);
	else if (!e->present || blame_is_client(e->blame))
		verdict(r, VERDICT_UNKNOWN, REASON_GREETING_REJECTED, "The "
		    "mail server%s for %s refused to talk to this probing host "
		    "at the greeting (%d); the address was not asked.", many,
		    dom, code);
	else
		verdict(r, VERDICT_UNKNOWN, REASON_GREETING_REJECTED, "The "
		    "mail server%s for %s refused the session at the greeting "
		    "(%d), before the address was asked: %s", many, dom, code,
		    e->meaning);
}

/*
 * The server turned the probe away for now before any recipient was
 * asked: 421 or another 4xx at the greeting, EHLO, STARTTLS or AUTH.
 * One answer whether it came once (a single probe) or on every try of a
 * batch (tries > 0): the reply's own diagnosis picks the reason, so that
 * the same 421 gets the same reason in both modes.
 */
static void
verdict_turned_away(struct probe_result *r, const char *dom, int tries)
{
	const struct rec_reply *rr = last_reply(&r->stages[r->outcome_stage]);
	const char *many = r->nattempts > 1 ? "s" : "";
	struct codes_diagnosis d;
	char when[64];

	memset(&d, 0, sizeof(d));
	d.category = CODES_CAT_UNKNOWN;
	d.meaning = "";
	if (rr != NULL)
		classify(rr, &d);
	if (tries > 0)
		snprintf(when, sizeof(when), " on each of %d tr%s", tries,
		    tries == 1 ? "y" : "ies");
	else
		when[0] = '\0';
	if (rr != NULL && blame_is_client(d.blame))
		verdict(r, VERDICT_UNKNOWN, REASON_CLIENT_REJECTED, "The mail "
		    "server%s for %s turned this probing host away for now "
		    "(%d at %s)%s: %s", many, dom, rr->reply->code,
		    stage_name(r->outcome_stage), when, d.meaning);
	else if (rr != NULL && d.category == CODES_CAT_GREYLISTED)
		verdict(r, VERDICT_UNKNOWN, REASON_GREYLISTED, "The mail "
		    "server%s for %s greylisted the connection (%d at %s)%s; "
		    "try again in a few minutes.", many, dom, rr->reply->code,
		    stage_name(r->outcome_stage), when);
	else
		verdict(r, VERDICT_UNKNOWN, REASON_RATE_LIMITED, "The mail "
		    "server%s for %s turned the probe away for now%s (%d at "
		    "%s: busy, too many connections or a rate limit); try "
		    "again later%s.", many, dom, when, rr != NULL ?
		    rr->reply->code : 0, stage_name(r->outcome_stage),
		    tries > 0 ? ", or with a longer --delay" : "");
}

/* The finding that says a reply went past one of smtpprobe's own limits
 * (its evidence names the limit), or NULL. */
static const struct finding *
limit_finding(const struct probe_result *r)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if ((r->findings[i].id == FINDING_REPLY_OVER_LIMIT ||
		    r->findings[i].id == FINDING_REPLY_LINE_TOO_LONG) &&
		    r->findings[i].severity == SEV_ERROR)
			return &r->findings[i];
	return NULL;
}

/* The session gave up on the server's dialogue: say how. */
static void
verdict_protocol_error(struct probe_result *r, const char *dom)
{
	const char *st = stage_name(r->outcome_stage);
	const struct finding *lim;

	if (result_has_finding(r, FINDING_SESSION_UNEXPECTED_INTERMEDIATE))
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "The mail "
		    "server for %s answered with a reply that asks for message "
		    "text (%s stage); smtpprobe closed the connection at once, "
		    "and the address was not checked.", dom, st);
	else if ((lim = limit_finding(r)) != NULL)
		/* Our limit, not a fault of the reply's form: say which. */
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "A reply of "
		    "the mail server for %s went on past smtpprobe's limit of "
		    "%s (%s stage) and was cut there, so the address was not "
		    "checked.", dom, lim->evidence, st);
	else if (result_has_finding(r, FINDING_SESSION_UNSOLICITED_REPLY))
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "The mail "
		    "server for %s sent a reply nobody asked for (%s stage): "
		    "its replies no longer matched the commands, so the "
		    "address was not checked.", dom, st);
	else
		verdict(r, VERDICT_UNKNOWN, REASON_PROTOCOL_ERROR, "The mail "
		    "server for %s broke the SMTP protocol (%s stage).", dom,
		    st);
}

/* No server reached, and the proxy said why: the refusals are the
 * proxy's, not the mail servers'. */
static void
verdict_through_proxy(struct probe_result *r, const char *dom)
{
	if (r->proxy->reply == SOCKS_REP_NOT_ALLOWED)
		verdict(r, VERDICT_UNKNOWN, REASON_PROXY_REFUSED, "The proxy %s "
		    "refuses connections to port %d (connection not allowed by "
		    "ruleset), so no mail server for %s was asked; the refusal "
		    "came from the proxy, not from the mail server.",
		    r->proxy->url, r->server_port, dom);
	else
		verdict(r, VERDICT_UNKNOWN, REASON_CONNECT_FAILED, "No mail "
		    "server for %s could be reached through the proxy %s (%zu "
		    "attempt%s); the failures were reported by the proxy, not "
		    "by the mail servers.", dom, r->proxy->url, r->nattempts,
		    r->nattempts == 1 ? "" : "s");
}

/* The verdict from how the last session ended. */
static void
verdict_outcome(struct probe_result *r, const char *dom, int catch_all_code)
{
	switch (r->outcome) {
	case OUTCOME_ANSWERED:
		if (r->stages[STAGE_MAIL].status == STATUS_FAIL)
			verdict_from_envelope(r, STAGE_MAIL, 0);
		else if (stopped_before_rcpt(r))
			verdict_not_checked(r, dom);
		else if (result_has_finding(r,
		    FINDING_RCPT_SMTPUTF8_UNSUPPORTED))
			verdict(r, VERDICT_UNDELIVERABLE,
			    REASON_SMTPUTF8_REQUIRED,
			    "The address has a non-ASCII local part and the "
			    "server for %s does not support SMTPUTF8.", dom);
		else
			verdict_from_envelope(r, STAGE_RCPT, catch_all_code);
		return;
	case OUTCOME_CONNECT_FAILED:
	case OUTCOME_CONNECT_TIMEOUT:
		if (r->outcome_stage == STAGE_PROXY) {
			verdict_through_proxy(r, dom);
			return;
		}
		verdict(r, VERDICT_UNKNOWN, REASON_CONNECT_FAILED,
		    "No mail server "
		    "for %s could be reached (%zu attempt%s).", dom,
		    r->nattempts, r->nattempts == 1 ? "" : "s");
		return;
	case OUTCOME_PROXY_FAILED:
		verdict(r, VERDICT_UNKNOWN, REASON_PROXY_FAILED, "The SOCKS "
		    "proxy %s could not be used (%s stage: %s), so no mail "
		    "server for %s was contacted.", r->proxy != NULL ?
		    r->proxy->url : "",
		    stage_name(r->outcome_stage),
		    stage_error(&r->stages[r->outcome_stage]), dom);
		return;
	case OUTCOME_GREETING_REJECTED:
		verdict_greeting_refused(r, dom);
		return;
	case OUTCOME_GREETING_TEMPORARY:
		verdict_turned_away(r, dom, 0);
		return;
	case OUTCOME_TIMEOUT:
		if (r->stages[r->outcome_stage].unfinished)
			verdict(r, VERDICT_UNKNOWN, REASON_TIMEOUT, "The mail "
			    "server for %s began a reply and never finished "
			    "it (%s stage).", dom,
			    stage_name(r->outcome_stage));
		else
			verdict(r, VERDICT_UNKNOWN, REASON_TIMEOUT, "The mail "
			    "server for %s stopped answering (%s stage).", dom,
			    stage_name(r->outcome_stage));
		return;
	case OUTCOME_LOST:
		verdict(r, VERDICT_UNKNOWN, REASON_CONNECTION_LOST, "The mail "
		    "server for %s closed the connection during the %s "
		    "stage.", dom, stage_name(r->outcome_stage));
		return;
	case OUTCOME_TLS_RETRY_PLAIN:
	case OUTCOME_TLS_REQUIRED_FAILED:
		verdict(r, VERDICT_UNKNOWN, REASON_TLS_FAILED,
		    "TLS with the mail "
		    "server for %s could not be established as required.",
		    dom);
		return;
	case OUTCOME_HELO_REJECTED:
		verdict_helo_rejected(r, dom);
		return;
	case OUTCOME_PROTOCOL_ERROR:
		verdict_protocol_error(r, dom);
		return;
	case OUTCOME_LOCAL_ERROR:
		verdict(r, VERDICT_UNKNOWN, REASON_LOCAL_ERROR,
		    "smtpprobe could "
		    "not finish: %s.", r->local_error_msg);
		r->exit_code = EXIT_LOCAL_ERROR;
		return;
	case OUTCOME_AUTH_FAILED:
		verdict(r, VERDICT_UNKNOWN, REASON_AUTH_FAILED,
		    "Authentication "
		    "with the mail server for %s failed or could not be "
		    "tried (see the auth stage), so the address was not "
		    "asked.", dom);
		return;
	case OUTCOME_NONE:
	default:
		verdict(r, VERDICT_UNKNOWN, REASON_CONNECT_FAILED,
		    "No mail server "
		    "for %s was tried.", dom);
		return;
	}
}
static void
diag_finish_address(struct probe_result *r, int catch_all_code)
{
	const char *dom = r->addr.domain[0] ? r->addr.domain : "the domain";

	/* A --catch-all control whose reply contradicts itself says
	 * nothing about the domain. */
	if (r->stages[STAGE_RCPT].nreplies > 1 &&
	    reply_contradicts(r->stages[STAGE_RCPT].replies[1].reply))
		catch_all_code = 0;
	/* An accepted RCPT whose reply casts doubt on it warns. */
	if (r->outcome == OUTCOME_ANSWERED &&
	    r->stages[STAGE_RCPT].status == STATUS_OK &&
	    r->stages[STAGE_RCPT].nreplies > 0 &&
	    doubtful_accept(&r->stages[STAGE_RCPT].replies[0]))
		r->stages[STAGE_RCPT].status = STATUS_WARN;
	explain_quit_after_421(r);
	explain_stages(r);
	explain_contradictory_envelope(r);
	explain_starttls_demand(r, STAGE_MAIL);
	explain_starttls_demand(r, STAGE_RCPT);
	explain_spam_verdict(r, STAGE_MAIL);
	explain_spam_verdict(r, STAGE_RCPT);
	explain_greeting_521(r);
	explain_moved(r);
	mark_not_asked(r);

	if (r->local_error) {
		verdict(r, VERDICT_UNKNOWN, REASON_LOCAL_ERROR,
		    "smtpprobe could "
		    "not finish: %s.", r->local_error_msg);
		r->exit_code = EXIT_LOCAL_ERROR;
		return;
	}
	if (r->addr_error != ADDRESS_OK) {
		expl_set(&r->stages[STAGE_ADDRESS].expl,
		    DIAG_CAT_INVALID_ADDRESS, CODES_BLAME_RECIPIENT_ADDRESS,
		    CODES_PERMANENT, r->addr_why,
		    "The address is mistyped, or is not an email address.",
		    "Correct the address; nothing was sent to any server.");
		verdict(r, VERDICT_UNDELIVERABLE, REASON_INVALID_ADDRESS,
		    "The address is not valid: %s.", r->addr_why);
		r->exit_code = EXIT_BAD_ADDRESS;
		return;
	}

	if (r->stages[STAGE_DNS].status == STATUS_FAIL) {
		verdict_dns_failed(r, dom);
		return;
	}
	if (result_has_finding(r, FINDING_CONNECT_NO_ADDRESS_IN_FAMILY)) {
		const struct finding *f = NULL;
		size_t i;

		for (i = 0; i < r->nfindings; i++)
			if (r->findings[i].id ==
			    FINDING_CONNECT_NO_ADDRESS_IN_FAMILY)
				f = &r->findings[i];
		expl_set(&r->stages[STAGE_CONNECT].expl,
		    DIAG_CAT_NO_ADDRESS_IN_FAMILY, CODES_BLAME_SERVER,
		    CODES_PERMANENT,
		    f != NULL ? f->message : "No address of the chosen family.",
		    "The probe was limited to one address family (-4, -6, "
		    "or the family of --source-ip), and the mail servers "
		    "have addresses of the other family only.",
		    "Probe without the restriction, from a host that can "
		    "reach the servers' family; if senders that have only "
		    "this family must reach the domain, its owner must give "
		    "the mail hosts addresses of this family too.");
		verdict(r, VERDICT_UNKNOWN, REASON_NO_ADDRESS_IN_FAMILY,
		    "No mail "
		    "server for %s has an address of the chosen family; "
		    "nothing was tried.", dom);
		return;
	}

	verdict_outcome(r, dom, catch_all_code);
}

static void server_stalled(struct probe_result *r, size_t skipped,
    bool decide);

/* The verdict of a self-check: the client audit decides; offline, no
 * server was asked at all. */
static void
self_check_verdict(struct probe_result *r, bool offline)
{
	int st;

	if (r->local_error)
		return;
	if (!offline && r->outcome != OUTCOME_ANSWERED) {
		r->exit_code = EXIT_UNKNOWN;	/* no server answered: keep the
						 * reason that says why */
		return;
	}
	st = identity_client_status(r);
	verdict(r, VERDICT_UNKNOWN, REASON_SELF_CHECK, "%s", st == 0 ?
	    "Self-check: nothing wrong found with this host's address, "
	    "reverse DNS or HELO name." : st == 1 ? "Self-check: this host's "
	    "identity has problems that make servers refuse or distrust it "
	    "(see the findings)." : "Self-check: this host's address or its "
	    "reverse DNS could not be checked.");
	r->exit_code = st;
}

/* The answers came from whatever intercepts the connections (finding
 * network.intercepted): the verdict says so instead of taking them for
 * the destination's. */
static void
verdict_intercepted(struct probe_result *r)
{
	char was[64];

	if (!result_has_finding(r, FINDING_NETWORK_INTERCEPTED) ||
	    r->local_error || r->addr_error != ADDRESS_OK ||
	    r->reason == REASON_INTERCEPTED)
		return;
	snprintf(was, sizeof(was), "%s, %s", verdict_name(r->verdict),
	    reason_name(r->reason));
	verdict(r, VERDICT_UNKNOWN, REASON_INTERCEPTED, "The connection to the "
	    "mail server for %s appears to be intercepted by the local network "
	    "(finding network.intercepted): the answer (%s) is probably not "
	    "the destination server's.", r->addr.domain[0] ? r->addr.domain :
	    "the domain", was);
}

static void port_blocked(struct probe_result *r, size_t nservers);
static void check_interception(struct probe_result *r);
static void reachability(struct probe_result *r);

void
diag_finish(struct probe_result *r, int catch_all_code)
{
	size_t nservers;

	if (r->kind != RESULT_SELF_CHECK_LOCAL)
		diag_finish_address(r, catch_all_code);
	if (r->skipped_stalled > 0)
		server_stalled(r, r->skipped_stalled,
		    r->outcome == OUTCOME_NONE && !r->local_error &&
		    r->stages[STAGE_DNS].status != STATUS_FAIL);
	/* Every connection failed while DNS worked: port 25 may be blocked
	 * on the way out. */
	if (r->kind != RESULT_SELF_CHECK_LOCAL &&
	    diag_connect_all_failed(r, &nservers))
		port_blocked(r, nservers);
	/* What the client's own identity adds to the explanations (its
	 * reverse DNS and HELO name, when a refusal is about them), and
	 * what the servers' names say about the network. */
	if (r->identity_checked) {
		identity_explain(r);
		check_interception(r);
	}
	verdict_intercepted(r);
	switch (r->kind) {
	case RESULT_RELAY_PASS:
		/* The relay test's forms carry the answers (relaytest.c);
		 * this connection asked no recipient of its own. */
		if (r->outcome == OUTCOME_ANSWERED)
			verdict(r, VERDICT_UNKNOWN, REASON_RELAY_TEST, "The "
			    "envelopes of the relay test were asked; see "
			    "relay_test.");
		break;
	case RESULT_SELF_CHECK:
		self_check_verdict(r, false);
		reachability(r);
		break;
	case RESULT_SELF_CHECK_LOCAL:
		self_check_verdict(r, true);
		reachability(r);
		break;
	default:
		break;
	}
}

/* ---- the network between this host and the servers ---------------------- */

bool
diag_connect_all_failed(const struct probe_result *r, size_t *nservers)
{
	size_t i;

	*nservers = 0;
	/* A proxy that refuses by its rules, or cannot make such a
	 * connection at all, says nothing about the network. */
	if (r->local_error || r->addr_error != ADDRESS_OK ||
	    r->stages[STAGE_DNS].status == STATUS_FAIL ||
	    (r->proxy != NULL && (r->proxy->reply == SOCKS_REP_NOT_ALLOWED ||
	    r->proxy->reply == SOCKS_REP_CMD_UNSUPPORTED ||
	    r->proxy->reply == SOCKS_REP_ATYP_UNSUPPORTED)))
		return false;
	for (i = 0; i < r->nattempts; i++) {
		const char *o = r->attempts[i].outcome;

		if (strcmp(o, "connect_failed") != 0 &&
		    strcmp(o, "connect_timeout") != 0 &&
		    strcmp(o, "skipped_stalled") != 0)
			return false;
	}
	*nservers = r->nattempts;
	return r->nattempts > 0;
}

void
diag_port_blocked_text(char *buf, size_t len, int port, bool proxy,
    size_t nservers, size_t ndomains)
{
	snprintf(buf, len, "outbound port %d appears to be blocked from %s: "
	    "%zu server%s of %zu domain%s did not answer; this is usual on %s. "
	    "What to do: %s%s", port, proxy ? "the proxy" : "this host",
	    nservers, nservers == 1 ? "" : "s", ndomains,
	    ndomains == 1 ? "" : "s", proxy ? "proxy and VPN networks" :
	    "cloud and home networks", proxy ? "use a proxy that may connect "
	    "to port 25, or probe from a mail server" : "probe through a "
	    "SOCKS proxy that may connect to port 25 (--proxy), ask the "
	    "provider to unblock outgoing port 25, or probe from a mail "
	    "server", ndomains == 1 ? " (one domain alone cannot tell this "
	    "from servers that are down: probe another, unrelated one)" : "");
}

/* This domain's servers alone: the finding, and a sentence in the
 * summary. */
static void
port_blocked(struct probe_result *r, size_t nservers)
{
	char text[512];
	size_t n = strlen(r->summary);

	if (!result_has_finding(r, FINDING_NETWORK_PORT_BLOCKED)) {
		diag_port_blocked_text(text, sizeof(text), r->server_port,
		    r->proxy != NULL, nservers, 1);
		result_finding(r, FINDING_NETWORK_PORT_BLOCKED, STAGE_CONNECT,
		    NULL, "%s", text);
	}
	snprintf(r->summary + n, sizeof(r->summary) - n, " Outbound port %d "
	    "appears to be blocked from %s, as is usual on %s (see "
	    "network.port_blocked for what to do).", r->server_port,
	    r->proxy != NULL ? "the proxy" : "this host", r->proxy != NULL ?
	    "proxy and VPN networks" : "cloud and home networks");
}

/* The last two labels of a host name: what ties names to one operator
 * (mx1.example.com and mx2.example.com), roughly. */
static const char *
parent_domain(const char *name)
{
	size_t n = strlen(name);
	int dots = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	while (n > 0) {
		if (name[n - 1] == '.' && ++dots == 2)
			return name + n;
		n--;
	}
	return name;
}

static bool
same_parent(const char *a, const char *b)
{
	return a[0] != '\0' && b[0] != '\0' &&
	    identity_name_eq(parent_domain(a), parent_domain(b));
}

size_t
diag_greeters(const struct probe_result *r, struct greeter *out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < r->ident.nservers && n < max; i++) {
		const struct ident_server *sv = &r->ident.servers[i];
		const struct ident_rdns *rd = &sv->rdns;
		struct greeter *g = &out[n];

		if (!sv->greeted || sv->banner_name[0] == '\0' ||
		    rd->ip[0] == '\0')
			continue;
		memset(g, 0, sizeof(*g));
		snprintf(g->domain, sizeof(g->domain), "%s",
		    r->addr.domain_ascii);
		snprintf(g->mx, sizeof(g->mx), "%s", sv->host);
		snprintf(g->ip, sizeof(g->ip), "%s", rd->ip);
		snprintf(g->banner, sizeof(g->banner), "%s", sv->banner_name);
		if (rd->ptr_status == RESOLVER_OK && rd->nptr > 0)
			snprintf(g->ptr, sizeof(g->ptr), "%s", rd->ptr[0]);
		for (j = 0; j < rd->nptr; j++)
			if (identity_name_eq(rd->ptr[j], sv->banner_name))
				g->banner_is_ptr = true;
		if (r->tls_done && strcmp(rd->ip, r->server_ip) == 0)
			snprintf(g->cert, sizeof(g->cert), "%s",
			    result_tls_info(r)->subject);
		n++;
	}
	return n;
}

bool
diag_intercepted_pair(const struct greeter *a, const struct greeter *b)
{
	const char *an[2] = { a->mx, a->ptr }, *bn[2] = { b->mx, b->ptr };
	size_t i, j;

	if (strcmp(a->ip, b->ip) == 0 || identity_name_eq(a->mx, b->mx) ||
	    !identity_name_eq(a->banner, b->banner) ||
	    !identity_hostname_valid(a->banner) || a->ptr[0] == '\0' ||
	    b->ptr[0] == '\0' || a->banner_is_ptr || b->banner_is_ptr)
		return false;
	/* Nothing else links them: one provider's servers share a parent
	 * domain in their names (mx.google.com greets for every Google
	 * MX), an interceptor's name shares none with its victims. */
	for (i = 0; i < 2; i++) {
		if (same_parent(an[i], a->banner) ||
		    same_parent(bn[i], a->banner))
			return false;
		for (j = 0; j < 2; j++)
			if (same_parent(an[i], bn[j]))
				return false;
	}
	return true;
}

void
diag_intercepted_text(char *buf, size_t len, const struct greeter *a,
    const struct greeter *b)
{
	bool cert = a->cert[0] != '\0' && strcmp(a->cert, b->cert) == 0;

	snprintf(buf, len, "the connections appear to be intercepted by the "
	    "local network: %s (%s, MX of %s) and %s (%s, MX of %s) both greet "
	    "as %s, which is neither's reverse DNS name (%s, %s)%s%s; the "
	    "answers are probably not the destination servers'. Probe from "
	    "another network or through a proxy (--proxy)", a->mx, a->ip,
	    a->domain, b->mx, b->ip, b->domain, a->banner, a->ptr, b->ptr,
	    cert ? ", with the same certificate: " : "", cert ? a->cert : "");
}

void
diag_intercepted(struct probe_result *r, const struct greeter *a,
    const struct greeter *b, bool across_domains)
{
	char text[512];

	if (result_has_finding(r, FINDING_NETWORK_INTERCEPTED))
		return;
	diag_intercepted_text(text, sizeof(text), a, b);
	result_finding(r, FINDING_NETWORK_INTERCEPTED, STAGE_GREETING,
	    a->banner, "%s (seen %s)", text, across_domains ?
	    "across domains" : "across the MX hosts of one domain");
	verdict_intercepted(r);
}

/* A single probe: two of its own servers that show it (it seldom greets
 * two: it stops at the first that answers). */
static void
check_interception(struct probe_result *r)
{
	struct greeter g[4];
	size_t n = diag_greeters(r, g, 4), i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (diag_intercepted_pair(&g[i], &g[j])) {
				diag_intercepted(r, &g[i], &g[j], false);
				return;
			}
}

/* What the first line from the server says about what answers. */
static const char *
first_bytes_kind(const struct probe_result *r, bool *smtp)
{
	const char *b = r->first_bytes;

	*smtp = r->first_bytes_len >= 3 && b[0] >= '2' && b[0] <= '5' &&
	    b[1] >= '0' && b[1] <= '9' && b[2] >= '0' && b[2] <= '9' &&
	    (b[3] == ' ' || b[3] == '-' || b[3] == '\0');
	if (r->first_bytes_len == 0)
		return "nothing came, no complete line";
	if (*smtp && b[0] == '2')
		return "an SMTP greeting";
	if (*smtp)
		return "an SMTP refusal or deferral";
	return "not SMTP: something else answers on this port";
}

/* --self-check: could port 25 be opened, and what came first. */
static void
reachability(struct probe_result *r)
{
	struct reachability *re;
	const char *via = r->proxy != NULL ? "through the proxy" :
	    "directly from this host";
	size_t n;

	/* Without memory for it the report has no such line. */
	if (r->reach == NULL && (r->reach = calloc(1, sizeof(*r->reach))) ==
	    NULL)
		return;
	re = r->reach;
	memset(re, 0, sizeof(*re));
	if (!r->has_server) {
		snprintf(re->text, sizeof(re->text), "not checked: %s",
		    r->dns_done ? "no server address to connect to (see the "
		    "dns and connect stages)" : "give a domain (smtpprobe "
		    "--self-check example.com) to test whether port 25 of its "
		    "mail servers can be opened");
		return;
	}
	re->checked = true;
	re->reachable = r->stages[STAGE_CONNECT].status == STATUS_OK &&
	    (r->proxy == NULL || r->stages[STAGE_PROXY].status == STATUS_OK);
	if (re->reachable) {
		const char *kind = first_bytes_kind(r, &re->smtp);

		snprintf(re->text, sizeof(re->text), "port %d of %s%s%s%s was "
		    "opened %s; the first bytes were \"%.100s\": %s",
		    r->server_port, r->server_host[0] ? r->server_host :
		    r->server_ip, r->server_host[0] && r->server_ip[0] ?
		    " (" : "", r->server_host[0] ? r->server_ip : "",
		    r->server_host[0] && r->server_ip[0] ? ")" : "", via,
		    r->first_bytes, kind);
		return;
	}
	if (r->outcome == OUTCOME_PROXY_FAILED) {
		re->checked = false;
		snprintf(re->text, sizeof(re->text), "not checked: the proxy "
		    "%s could not be used (see the %s stage)", r->proxy != NULL ?
		    r->proxy->url : "",
		    stage_name(r->outcome_stage));
		return;
	}
	snprintf(re->text, sizeof(re->text), "port %d could not be opened %s "
	    "to %s%zu server address%s tried%s", r->server_port, via,
	    r->nattempts == 1 ? "the " : "any of the ", r->nattempts,
	    r->nattempts == 1 ? "" : "es", diag_connect_all_failed(r, &n) ?
	    ": the port appears to be blocked (see network.port_blocked)" :
	    "");
}

void
diag_rate_limited(struct probe_result *r, int tries)
{
	const char *dom = r->addr.domain_ascii[0] != '\0' ?
	    r->addr.domain_ascii : r->input;

	result_finding(r, FINDING_BATCH_RATE_LIMITED, r->outcome_stage, NULL,
	    "the server %s kept answering with a temporary refusal (such as "
	    "421 \"too many connections\") over %d tr%s with growing pauses "
	    "between them", r->server_ip[0] != '\0' ? r->server_ip : dom, tries,
	    tries == 1 ? "y" : "ies");
	verdict_turned_away(r, dom, tries);
}

void
diag_duplicate(struct probe_result *r, enum verdict v, enum reason why,
    int exit_code, unsigned long dup_index, unsigned long dup_line)
{
	r->verdict = v;
	r->reason = why;
	r->exit_code = exit_code;
	snprintf(r->summary, sizeof(r->summary), "A duplicate of %s %lu, "
	    "which was probed once: %s (%s).", dup_line > 0 ? "line" : "entry",
	    dup_line > 0 ? dup_line : dup_index, verdict_name(v),
	    reason_name(why));
}

void
diag_client_refused(struct probe_result *r, const char *host, const char *ip,
    const char *evidence, int n)
{
	result_finding(r, FINDING_BATCH_CLIENT_REFUSED, STAGE_CONNECT, evidence,
	    "the server %s%s%s refused this probing host for %d addresses in "
	    "a row earlier in this run; it was not asked again", host,
	    host[0] != '\0' ? " " : "", ip, n);
	r->verdict = VERDICT_UNKNOWN;
	r->reason = REASON_CLIENT_REJECTED;
	r->exit_code = EXIT_UNKNOWN;
	snprintf(r->summary, sizeof(r->summary), "Not asked: the server "
	    "%s%s%s refused this probing host (not the addresses) for %d "
	    "addresses in a row earlier in this run, so the address could not "
	    "be judged there. Its block is about this host's IP address, "
	    "reverse DNS, HELO name or reputation (see the evidence); probe "
	    "from a host it accepts.", host, host[0] != '\0' ? " " : "", ip,
	    n);
}

void
diag_unfinished(struct probe_result *r, enum reason why, const char *summary)
{
	r->verdict = VERDICT_UNKNOWN;
	r->reason = why;
	r->exit_code = EXIT_UNKNOWN;
	snprintf(r->summary, sizeof(r->summary), "%s", summary);
}

static void
server_stalled(struct probe_result *r, size_t skipped, bool decide)
{
	const char *dom = r->addr.domain_ascii[0] != '\0' ?
	    r->addr.domain_ascii : r->input;

	result_finding(r, FINDING_BATCH_SERVER_STALLED, STAGE_CONNECT, NULL,
	    "%zu server address%s of %s %s not tried: %s did not answer an "
	    "earlier address of this run in time", skipped, skipped == 1 ? "" :
	    "es", dom, skipped == 1 ? "was" : "were", skipped == 1 ? "it" :
	    "they");
	if (!decide)
		return;
	r->stages[STAGE_CONNECT].status = STATUS_FAIL;
	result_stage_error(r, STAGE_CONNECT, "not tried: the server timed "
	    "out earlier in this run");
	r->stages[STAGE_CONNECT].timed_out = true;
	r->stages[STAGE_CONNECT].expl.present = false;
	expl_set(&r->stages[STAGE_CONNECT].expl, DIAG_CAT_TIMEOUT,
	    CODES_BLAME_SERVER, CODES_TRANSIENT,
	    "Every mail server of the domain timed out for an "
	    "earlier address of this batch, so this one was not sent to "
	    "them again.", "The servers are overloaded, drop packets from "
	    "this host, or deliberately slow clients down (tarpitting).",
	    "Probe this address again later, or with a longer --timeout.");
	verdict(r, VERDICT_UNKNOWN, REASON_TIMEOUT, "The mail server%s for %s "
	    "did not answer earlier addresses of this run in time, so this "
	    "one was not tried.", skipped == 1 ? "" : "s", dom);
}

static int
exit_rank(int code)
{
	switch (code) {
	case EXIT_LOCAL_ERROR: return 6;
	case EXIT_BAD_ADDRESS: return 5;
	case EXIT_UNKNOWN: return 4;
	case EXIT_UNDELIVERABLE: return 3;
	case EXIT_RISKY: return 2;
	case EXIT_DELIVERABLE: return 1;
	default: return 7;
	}
}

int
diag_exit_combine(int a, int b)
{
	return exit_rank(a) >= exit_rank(b) ? a : b;
}
