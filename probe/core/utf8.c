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

/*
 * The C1 controls (Cc), the line and paragraph separators (Zl, Zp) and
 * every format character (Cf, Unicode 15.1: the soft hyphen, the Arabic
 * number signs, the zero-width characters, the bidirectional controls,
 * the invisible operators, the byte-order mark, the interlinear
 * annotation, the tag characters, ...): none shows what it does.
 */
static const struct {
	unsigned	lo, hi;
} invisible[] = {
	{ 0x0080, 0x009f }, { 0x00ad, 0x00ad }, { 0x0600, 0x0605 },
	{ 0x061c, 0x061c }, { 0x06dd, 0x06dd }, { 0x070f, 0x070f },
	{ 0x0890, 0x0891 }, { 0x08e2, 0x08e2 }, { 0x180e, 0x180e },
	{ 0x200b, 0x200f }, { 0x2028, 0x202e }, { 0x2060, 0x2064 },
	{ 0x2066, 0x206f }, { 0xfeff, 0xfeff }, { 0xfff9, 0xfffb },
	{ 0x110bd, 0x110bd }, { 0x110cd, 0x110cd }, { 0x13430, 0x1343f },
	{ 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 },
	{ 0xe0020, 0xe007f },
};

bool
utf8_invisible(unsigned cp)
{
	size_t i;

	for (i = 0; i < sizeof(invisible) / sizeof(invisible[0]) &&
	    cp >= invisible[i].lo; i++)
		if (cp <= invisible[i].hi)
			return true;
	return false;
}
