/*
 * relaytest.h — `--relay-test`: does a server relay mail to outside
 * domains?
 *
 * One server (--server, or the MX of a domain found as an ordinary probe
 * finds it) is asked, on one connection, a short fixed list of envelopes:
 * MAIL FROM the configured sender, RCPT TO an outside address in the forms
 * open-relay testers use (plain, the %-hack, a bang path, a quoted local
 * part, a source route), RSET after each.  Never DATA: nothing can be
 * delivered.  Without --auth-user that is one connection; with it, a
 * second one authenticates first.  Only an outside recipient accepted as
 * such (the plain form, or a source route to it) without authentication
 * proves an open relay.  The %-hack, the bang path and the quoted local
 * part are local parts at the server's own domain: a made-up local part
 * there is asked as a control after each of them is accepted, and when
 * the control is accepted too, the domain takes any local part and these
 * forms prove nothing.  A form refused as syntax (a domain literal the
 * server will not take) is not a relay refusal either: with --server
 * alone, the forms are built at the name the server gives in its greeting
 * (learnt on a first connection) or at --relay-domain.
 */
#ifndef SMTPPROBE_RELAYTEST_H
#define SMTPPROBE_RELAYTEST_H

#include <stdbool.h>

#include "probe.h"
#include "relayfacts.h"

/*
 * Run the test; target is a domain or an address (its domain's MX is
 * tested) or NULL with --server.  outside is --relay-rcpt, or NULL for
 * relay-test@example.net; domain is --relay-domain, or NULL.  Runs the
 * event loop until done.  Free with relaytest_clear().
 */
void relaytest_run(struct probe_ctx *ctx, const char *target,
    const char *outside, const char *domain, struct relaytest_result *rt);
void relaytest_clear(struct relaytest_result *rt);

#endif
