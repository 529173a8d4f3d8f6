/*
 * dane.h — DANE for SMTP (RFC 7672): the TLSA records of each MX host,
 * looked up beside its address look-ups, and what they mean for the
 * handshake with it.
 *
 * Records are trusted only when the answer has the AD bit: smtpprobe does
 * not validate DNSSEC itself, the DNS server it asks must (and must be
 * reached over a path the probe can trust).  A struct dane_run belongs
 * to one probe; it outlives the probe while a look-up is out (the late
 * answer is then dropped).  Facts go into the result's findings, and
 * with dane_fill() into its MX entries (struct mx_info: dane, ntlsa,
 * tlsa, dane_detail).
 */
#ifndef SMTPPROBE_DANE_H
#define SMTPPROBE_DANE_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"
#include "session.h"
#include "tlsconn.h"

struct resolver;
struct dane_run;

/* A run for res, with mode (TLS_DANE makes failures errors); port names
 * the TLSA owner "_PORT._tcp.HOST" (RFC 7672 §2.2.1).  NULL without
 * memory (the probe then goes on without DANE). */
struct dane_run *dane_run_new(struct resolver *resolver,
    struct probe_result *res, enum tls_mode mode, int port);

/* Look up the TLSA records of host (an MX or --server name; not an IP
 * address), once per host. */
void dane_lookup(struct dane_run *dr, const char *host);

/* True when host's answer is in, or was never asked; otherwise go(arg)
 * is called from the event loop once it is, and false is returned. */
bool dane_ready(struct dane_run *dr, const char *host, void (*go)(void *),
    void *arg);

/* The authenticated records of host, for the handshake (*n of them; NULL
 * for none); *failed: the look-up failed, which --tls dane treats as a
 * server that cannot be authenticated. */
const struct tlsconn_tlsa *dane_records(struct dane_run *dr,
    const char *host, size_t *n, bool *failed);

/* A session with host ended: what its handshake found about the records
 * goes into host's MX entry. */
void dane_session_done(struct dane_run *dr, const char *host);

/* What is known of each host into the MX entries of the result (their
 * dane, ntlsa, tlsa and dane_detail), once its MX list is final. */
void dane_fill(struct dane_run *dr);

/* Let go: answers still out are dropped. */
void dane_run_release(struct dane_run *dr);

#endif
