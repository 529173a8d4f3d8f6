/*
 * utf8.c — the UTF-8 decoder (RFC 3629) and the invisible-character set
 * shared by the address checks and the report escapers.
 *
 * Owns nothing.  Reads at most n bytes; never allocates.
 */
#include "utf8.h"

size_t
utf8_decode(const unsigned char *s, size_t n, unsigned *cpp)
{
	size_t len, i;
	unsigned cp;

	if (n == 0)
		return 0;
	if (cpp != NULL)
		*cpp = s[0];
	if (s[0] < 0x80)
		return 1;
	/* RFC 3629 §4: C0, C1 and F5-FF never start a sequence (C0 and C1
	 * could only give overlong forms of ASCII). */
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates (RFC 3629 §3), beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	if (cpp != NULL)
		*cpp = cp;
	return len;
}

bool
utf8_invisible(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff ||
	    (cp >= 0xfff9 && cp <= 0xfffb);
}
