/*
 * utf8.h — the one UTF-8 decoder of smtpprobe, and the set of characters
 * the reports never show as they are.
 *
 * Pure: no I/O, no allocation.  Used by the address checks (is a local
 * part valid UTF-8, RFC 6531 §3.3) and by the report escapers (text and
 * JSON), so that both agree on what is valid.
 */
#ifndef SMTPPROBE_UTF8_H
#define SMTPPROBE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length of the valid UTF-8 sequence at s[0..n), or 0 when there is none
 * (n == 0, a stray continuation byte, a cut sequence, an overlong form, a
 * surrogate, a code point past U+10FFFF: RFC 3629 §3-4).  When cpp is not
 * NULL, the code point goes to *cpp (the byte's value when 0 is returned
 * and n > 0).
 */
size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cpp);

/*
 * Characters that are valid UTF-8 but must not reach a terminal or a log
 * as they are: C1 controls (U+0080-U+009F; U+009B is CSI to some
 * terminals), the line and paragraph separators, and every format
 * character (Unicode category Cf): the soft hyphen, zero-width
 * characters, the bidirectional controls that can make server text read
 * differently from what it is, the interlinear annotation and tag
 * characters.
 */
bool utf8_invisible(unsigned cp);

#endif
