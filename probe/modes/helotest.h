/*
 * helotest.h — `--helo-test`: which HELO names does a server accept?
 *
 * One server (--server, or the first MX of the domain that greets) is asked the same
 * envelope (MAIL FROM, RCPT TO) once per candidate HELO name, one
 * connection after another with a pause between them, never DATA.  The
 * candidates are the configured name, the machine's FQDN, an address
 * literal of the local address, "localhost", an unqualified name, a name
 * that cannot resolve and the server's own name; names that coincide are
 * tested once.  Each candidate keeps its own probe_result (every reply,
 * the transcript); the diagnosis (diag_helo_test()) then decides per
 * candidate whether the name was accepted, and sums it up in one
 * sentence.
 *
 * Many servers judge the HELO name only at RCPT (Postfix evaluates
 * smtpd_helo_restrictions there by default), so a name counts as accepted
 * only when RCPT is.
 */
#ifndef SMTPPROBE_HELOTEST_H
#define SMTPPROBE_HELOTEST_H

#include <stdbool.h>

#include "helofacts.h"
#include "probe.h"

/*
 * Run the test against one server; target is an address, a bare domain
 * or NULL (then --server must be set and RCPT asks for "postmaster").
 * machine_fqdn is this host's name.  Runs the event loop until done.
 * Free with helotest_clear().
 */
void helotest_run(struct probe_ctx *ctx, const char *target,
    const char *machine_fqdn, struct helotest_result *ht);
void helotest_clear(struct helotest_result *ht);

#endif
