/*
 * redact.h — credentials kept out of server text.
 *
 * A server may echo what the client sent ("535 5.7.8 AUTH PLAIN
 * AGFsaWNl... rejected"), or the user name and password it decoded from
 * it.  The session registers every form of its secrets here — the user
 * name and the password as given, their base64, and each SASL response it
 * sends (the PLAIN blob, the LOGIN answers, the CRAM-MD5 response and the
 * digest in it) — and passes each line of server text through
 * redact_apply() before it is recorded anywhere (transcript, replies,
 * evidence), so that no report or output can show them.
 *
 * What is replaced by "<redacted>": every occurrence of a plain form,
 * without regard to ASCII case (a form of one or two bytes only as a
 * whole word); every run of REDACT_B64_RUN bytes of a base64 form (an echo
 * cut short still leaks the bytes it shows); every run of REDACT_PLAIN_RUN
 * bytes of a plain form.  The three digits of a reply code that starts a
 * line are never replaced, so that a secret made of digits cannot turn a
 * reply into another.  Pure: no I/O.  The forms are wiped when freed.
 */
#ifndef SMTPPROBE_REDACT_H
#define SMTPPROBE_REDACT_H

#include <stddef.h>

#define REDACT_B64_RUN		6
#define REDACT_PLAIN_RUN	8
/* Forms kept: user and password with their base64, the SASL responses
 * of one exchange and what they carry, with room to spare. */
#define REDACT_FORMS_MAX	16
#define REDACT_MARK		"<redacted>"

struct redact;

struct redact *redact_new(void);
/* Wipe the forms and free; r may be NULL. */
void redact_free(struct redact *r);

/* Register secret s[0..n): itself as a plain form and its base64.  -1
 * without memory or room; n == 0 is ignored. */
int redact_add_secret(struct redact *r, const char *s, size_t n);
/* Register a plain form only (matched without regard to case). */
int redact_add_plain(struct redact *r, const char *s, size_t n);
/* Register a base64 string the client sends (matched exactly). */
int redact_add_b64(struct redact *r, const char *s, size_t n);
/* Register a SASL response the client sends: the base64 s[0..n), what it
 * decodes to, and for "user digest" (CRAM-MD5) the digest alone.  A form
 * registered before is not added again. */
int redact_add_response(struct redact *r, const char *s, size_t n);

/* text[0..len) with the forms replaced into out (NUL-terminated; what
 * does not fit in outlen - 1 bytes is left out, never part of a form);
 * the length written.  A NULL r copies. */
size_t redact_apply(const struct redact *r, const char *text, size_t len,
    char *out, size_t outlen);

#endif
