/*
 * identity_run.h — the look-ups behind the identity facts (identity.h):
 * reverse DNS of each server address and of the client's, forward
 * confirmation of the PTR names, the HELO name's addresses, and what the
 * servers' greetings and EHLO replies say.  They run on the caller's
 * event loop through the resolver, concurrently with the SMTP sessions;
 * a struct identity_run outlives its probe while a look-up is out (the
 * late answer is then dropped).
 */
#ifndef SMTPPROBE_IDENTITY_RUN_H
#define SMTPPROBE_IDENTITY_RUN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "identity.h"

struct event_base;
struct probe_result;

struct identity_run;

/* Start tracking look-ups for res; the HELO name is looked up at once.
 * family limits forward look-ups of the HELO name (AF_UNSPEC for both).
 * NULL without memory (identity is then simply not checked). */
struct identity_run *identity_run_new(struct event_base *base,
    struct resolver *resolver, struct probe_result *res, const char *helo,
    const char *source_ip, int family);

/* A session to host/addr starts: look up the PTR of addr (once per
 * address; addr NULL: only a proxy knows the address, the entry is the
 * host's and nothing is looked up).  Returns the index of the server
 * entry, or -1. */
int identity_server_start(struct identity_run *ir, const char *host,
    const struct sockaddr *addr);

/* Our end of the connection to server entry idx; starts the local
 * address' reverse look-up the first time. */
void identity_connected(struct identity_run *ir, int idx,
    const struct sockaddr *local);

/* The session of server entry idx ended: read the greeting and EHLO names
 * and the address the server states for us from the stage replies in res
 * (before they are reset for the next session). */
void identity_session_done(struct identity_run *ir, int idx);

/* True while look-ups are out. */
bool identity_pending(const struct identity_run *ir);

/* Call done(arg) once, from the event loop, when no look-up is out any
 * more, or after timeout_ms at most (what is still out is then reported
 * as "could not check").  done may be called before this returns when
 * nothing is pending. */
void identity_when_idle(struct identity_run *ir, int timeout_ms,
    void (*done)(void *), void *arg);

/* Stop writing into res; frees ir once its last look-up returns. */
void identity_run_release(struct identity_run *ir);

/* Turn the facts into findings (server identity, client audit).  Call
 * once, after the look-ups, before diag_finish(). */
void identity_findings(struct probe_result *res);

#endif
