/*
 * json.h — the one JSON writer of smtpprobe: every JSON report (the probe,
 * --batch, --helo-test, --relay-test, `smtpprobe explain --json`) is
 * written through it.
 *
 * The writer keeps a stack of the open objects and arrays (at most
 * JSON_DEPTH_MAX deep) and puts the commas and colons itself: callers
 * say what comes (a key, a value, an object), never the punctuation.
 * Output is compact (no blanks), one document per line.
 *
 * Strings are escaped as docs/REPORT-FORMAT.md says: '"', '\\', LF, CR
 * and tab by their short forms; other control bytes, and bytes that are
 * not valid UTF-8, as \u00XX (the byte's value); characters that are
 * valid but invisible or misleading on a terminal (utf8_invisible()) as
 * \uXXXX.  Everything else, UTF-8 included, is copied.
 *
 * A misuse — a value in an object without its key, a key in an array, a
 * closing bracket of the wrong kind, nesting past JSON_DEPTH_MAX, a
 * second document before json_finish() — is a bug of the caller: the
 * writer stops writing (so it never writes past its stack) and
 * json_finish() returns false.  Write errors are the FILE's (ferror()).
 */
#ifndef SMTPPROBE_JSON_H
#define SMTPPROBE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * The format of every JSON document smtpprobe prints, the value of the
 * "schema" key its outer object starts with.  The number is raised when
 * a program written for the old format could misread the new one
 * (docs/REPORT-FORMAT.md, "Versioned JSON"); docs/schema/ describes the
 * format (scripts/gen_schema.py reads it from here).
 */
#define JSON_SCHEMA	"smtpprobe/1"

/* The deepest report nests 8 levels (a relay test's session, its stages,
 * a stage's replies, a reply's lines). */
#define JSON_DEPTH_MAX	16

/* The state of one writer; json_init() sets it up, nothing else needs to
 * look inside. */
struct json_writer {
	FILE		*out;
	unsigned	 depth;		/* containers open */
	bool		 failed;	/* misused: writes no more */
	bool		 key_pending;	/* a key waits for its value */
	bool		 done;		/* a whole document is out */
	char		 kind[JSON_DEPTH_MAX];	/* "{" or "[" */
	bool		 members[JSON_DEPTH_MAX];	/* not empty */
};

void json_init(struct json_writer *w, FILE *out);
/* Ends the document with a newline (also after a misuse, so that the next
 * document starts on a line of its own); false when it was not one whole
 * value (containers left open, nothing written, or a misuse).  The writer
 * can then write the next document. */
bool json_finish(struct json_writer *w);

void json_object(struct json_writer *w);
/* An object that is a whole report (a document, or a probe's report
 * nested in another), opened, with "schema": JSON_SCHEMA as its first
 * member. */
void json_report_object(struct json_writer *w);
void json_object_end(struct json_writer *w);
void json_array(struct json_writer *w);
void json_array_end(struct json_writer *w);
/* The key of the next member of the current object. */
void json_key(struct json_writer *w, const char *key);

/* Values.  json_str() writes null for NULL; json_str_nonempty() also for
 * "".  json_strn() takes counted bytes, which may hold NUL.  json_ms()
 * writes a time in milliseconds with one decimal ("%.1f"), null when it
 * is not finite. */
void json_str(struct json_writer *w, const char *s);
void json_str_nonempty(struct json_writer *w, const char *s);
void json_strn(struct json_writer *w, const char *s, size_t len);
void json_int(struct json_writer *w, long long v);
void json_uint(struct json_writer *w, unsigned long long v);
void json_ms(struct json_writer *w, double v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);

/* A key and its value in one call. */
void json_kv_str(struct json_writer *w, const char *key, const char *s);
void json_kv_str_nonempty(struct json_writer *w, const char *key,
    const char *s);
void json_kv_strn(struct json_writer *w, const char *key, const char *s,
    size_t len);
void json_kv_int(struct json_writer *w, const char *key, long long v);
void json_kv_uint(struct json_writer *w, const char *key,
    unsigned long long v);
void json_kv_ms(struct json_writer *w, const char *key, double v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);
void json_kv_null(struct json_writer *w, const char *key);
/* true, false or null for v > 0, v == 0, v < 0. */
void json_kv_tri(struct json_writer *w, const char *key, int v);
/* A key whose value is an object or an array, opened. */
void json_kv_object(struct json_writer *w, const char *key);
void json_kv_array(struct json_writer *w, const char *key);
/* A key and an array of the first n strings of a char table[N][SIZE]
 * (rows: the table, size: SIZE).  JSON_KV_STR_ROWS(w, key, table, n)
 * works out rows and size from the table itself. */
void json_kv_str_rows(struct json_writer *w, const char *key,
    const char *rows, size_t size, size_t n);
#define JSON_KV_STR_ROWS(w, key, table, n)				\
	json_kv_str_rows((w), (key), (const char *)(table),		\
	    sizeof((table)[0]), (n))

/* The escaper alone: s[0..len) as a quoted JSON string. */
void json_put_string(FILE *out, const char *s, size_t len);

#endif
