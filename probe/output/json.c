/*
 * json.c — the JSON writer: a bounded stack of open containers, the
 * commas and colons, and the string escaper (json.h says what is
 * escaped and how).
 *
 * Owns nothing but its stack; writes to the caller's FILE.  Limits:
 * JSON_DEPTH_MAX levels; a misuse stops the writer rather than write
 * malformed JSON or past the stack.
 */
#include <math.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

void
json_put_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;
	unsigned cp;

	fputc('"', out);
	while (i < len) {
		unsigned char c = u[i];

		switch (c) {
		case '"': fputs("\\\"", out); i++; continue;
		case '\\': fputs("\\\\", out); i++; continue;
		case '\n': fputs("\\n", out); i++; continue;
		case '\r': fputs("\\r", out); i++; continue;
		case '\t': fputs("\\t", out); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		l = utf8_decode(u + i, len - i, &cp);
		if (l == 0) {
			/* Not UTF-8: keep the byte's value visible. */
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		if (utf8_invisible(cp)) {
			/* Past U+FFFF as a surrogate pair (RFC 8259 §7). */
			if (cp > 0xffff)
				fprintf(out, "\\u%04x\\u%04x",
				    0xd800 + ((cp - 0x10000) >> 10),
				    0xdc00 + ((cp - 0x10000) & 0x3ff));
			else
				fprintf(out, "\\u%04x", cp);
			i += l;
			continue;
		}
		fwrite(u + i, 1, l, out);
		i += l;
	}
	fputc('"', out);
}

void
json_init(struct json_writer *w, FILE *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

bool
json_finish(struct json_writer *w)
{
	bool ok = !w->failed && w->done && w->depth == 0 && !w->key_pending;

	fputc('\n', w->out);
	w->depth = 0;
	w->failed = false;
	w->key_pending = false;
	w->done = false;
	return ok;
}

/* Where a value may go: after a key in an object, anywhere in an array
 * (after a comma unless it is the first), or as the whole document. */
static bool
value_start(struct json_writer *w)
{
	if (w->failed)
		return false;
	if (w->depth == 0) {
		if (w->done) {
			w->failed = true;
			return false;
		}
		return true;
	}
	if (w->kind[w->depth - 1] == '{') {
		if (!w->key_pending) {
			w->failed = true;
			return false;
		}
		w->key_pending = false;
		return true;
	}
	if (w->members[w->depth - 1])
		fputc(',', w->out);
	w->members[w->depth - 1] = true;
	return true;
}

/* A scalar was written: at the top it is the whole document. */
static void
value_end(struct json_writer *w)
{
	if (w->depth == 0)
		w->done = true;
}

static void
open_container(struct json_writer *w, char kind)
{
	if (!value_start(w))
		return;
	if (w->depth == JSON_DEPTH_MAX) {
		w->failed = true;
		return;
	}
	fputc(kind, w->out);
	w->kind[w->depth] = kind;
	w->members[w->depth] = false;
	w->depth++;
}

static void
close_container(struct json_writer *w, char kind)
{
	if (w->failed)
		return;
	if (w->depth == 0 || w->kind[w->depth - 1] != kind ||
	    w->key_pending) {
		w->failed = true;
		return;
	}
	fputc(kind == '{' ? '}' : ']', w->out);
	w->depth--;
	value_end(w);
}

void
json_object(struct json_writer *w)
{
	open_container(w, '{');
}

void
json_report_object(struct json_writer *w)
{
	json_object(w);
	json_kv_str(w, "schema", JSON_SCHEMA);
}

void
json_object_end(struct json_writer *w)
{
	close_container(w, '{');
}

void
json_array(struct json_writer *w)
{
	open_container(w, '[');
}

void
json_array_end(struct json_writer *w)
{
	close_container(w, '[');
}

void
json_key(struct json_writer *w, const char *key)
{
	if (w->failed)
		return;
	if (w->depth == 0 || w->kind[w->depth - 1] != '{' ||
	    w->key_pending || key == NULL) {
		w->failed = true;
		return;
	}
	if (w->members[w->depth - 1])
		fputc(',', w->out);
	w->members[w->depth - 1] = true;
	json_put_string(w->out, key, strlen(key));
	fputc(':', w->out);
	w->key_pending = true;
}

void
json_strn(struct json_writer *w, const char *s, size_t len)
{
	if (!value_start(w))
		return;
	json_put_string(w->out, s, len);
	value_end(w);
}

/* A literal (number, true, false, null) as a value. */
static void
literal(struct json_writer *w, const char *text)
{
	if (!value_start(w))
		return;
	fputs(text, w->out);
	value_end(w);
}

void
json_str(struct json_writer *w, const char *s)
{
	if (s == NULL)
		literal(w, "null");
	else
		json_strn(w, s, strlen(s));
}

void
json_str_nonempty(struct json_writer *w, const char *s)
{
	json_str(w, s != NULL && *s != '\0' ? s : NULL);
}

void
json_int(struct json_writer *w, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	literal(w, buf);
}

void
json_uint(struct json_writer *w, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	literal(w, buf);
}

void
json_ms(struct json_writer *w, double v)
{
	char buf[64];

	/* "%.1f" of an infinity or a NaN is not JSON. */
	if (!isfinite(v)) {
		literal(w, "null");
		return;
	}
	snprintf(buf, sizeof(buf), "%.1f", v);
	literal(w, buf);
}

void
json_bool(struct json_writer *w, bool v)
{
	literal(w, v ? "true" : "false");
}

void
json_null(struct json_writer *w)
{
	literal(w, "null");
}

void
json_kv_str(struct json_writer *w, const char *key, const char *s)
{
	json_key(w, key);
	json_str(w, s);
}

void
json_kv_str_nonempty(struct json_writer *w, const char *key, const char *s)
{
	json_key(w, key);
	json_str_nonempty(w, s);
}

void
json_kv_strn(struct json_writer *w, const char *key, const char *s,
    size_t len)
{
	json_key(w, key);
	json_strn(w, s, len);
}

void
json_kv_int(struct json_writer *w, const char *key, long long v)
{
	json_key(w, key);
	json_int(w, v);
}

void
json_kv_uint(struct json_writer *w, const char *key, unsigned long long v)
{
	json_key(w, key);
	json_uint(w, v);
}

void
json_kv_ms(struct json_writer *w, const char *key, double v)
{
	json_key(w, key);
	json_ms(w, v);
}

void
json_kv_bool(struct json_writer *w, const char *key, bool v)
{
	json_key(w, key);
	json_bool(w, v);
}

void
json_kv_null(struct json_writer *w, const char *key)
{
	json_key(w, key);
	json_null(w);
}

void
json_kv_tri(struct json_writer *w, const char *key, int v)
{
	json_key(w, key);
	literal(w, v > 0 ? "true" : v == 0 ? "false" : "null");
}

void
json_kv_object(struct json_writer *w, const char *key)
{
	json_key(w, key);
	json_object(w);
}

void
json_kv_array(struct json_writer *w, const char *key)
{
	json_key(w, key);
	json_array(w);
}

void
json_kv_str_rows(struct json_writer *w, const char *key, const char *rows,
    size_t size, size_t n)
{
	size_t i;

	json_kv_array(w, key);
	for (i = 0; i < n; i++)
		json_str(w, rows + i * size);
	json_array_end(w);
}
