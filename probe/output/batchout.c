/*
 * batchout.c — the batch's results file (--output FILE) and reading it
 * back (--resume); see batchout.h.
 *
 * A record is written into a memory stream first, then handed to the
 * kernel with one write(2) on a descriptor opened O_APPEND: a process
 * killed at any moment leaves whole lines and at most one last line cut
 * short, which --resume cuts off before appending.  Reading back only
 * needs a few top-level members of our own lines (index, address,
 * verdict, reason, exit status), so a small scanner does, not a JSON
 * parser: it walks the object at depth one and skips nested values.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "batchout.h"
#include "report.h"

/* ---- reading one line back ---------------------------------------------- */

/* The end of the JSON string starting at s[i] (a quote): the index of
 * its closing quote, or len. */
static size_t
json_string_end(const char *s, size_t len, size_t i)
{
	for (i++; i < len && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i;
}

/*
 * The value of the top-level member key of the JSON object s[0..len):
 * its span (a string without its quotes: *quoted set).  Nested objects
 * and arrays are skipped.  false when the member is absent.
 */
static bool
json_member(const char *s, size_t len, const char *key, const char **val,
    size_t *vlen, bool *quoted)
{
	size_t i = 0, klen = strlen(key), e;
	int depth = 0;
	bool want_key = false;

	for (; i < len; i++) {
		char c = s[i];

		if (c == '"') {
			e = json_string_end(s, len, i);
			if (depth == 1 && want_key && e < len) {
				bool match = e - i - 1 == klen &&
				    memcmp(s + i + 1, key, klen) == 0;

				for (i = e + 1; i < len && s[i] != ':'; i++)
					;
				for (i++; i < len && s[i] == ' '; i++)
					;
				if (match && i < len) {
					*quoted = s[i] == '"';
					e = *quoted ? json_string_end(s, len,
					    i) : i;
					if (!*quoted)
						while (e < len && s[e] != ',' &&
						    s[e] != '}')
							e++;
					*val = s + i + *quoted;
					*vlen = e - i - *quoted;
					return e < len;
				}
				want_key = false;
				i--;
				continue;
			}
			i = e;
		} else if (c == '{' || c == '[') {
			depth++;
			want_key = depth == 1;
		} else if (c == '}' || c == ']')
			depth--;
		else if (c == ',' && depth == 1)
			want_key = true;
	}
	return false;
}

/* A whole number in s[0..len). */
static bool
span_number(const char *s, size_t len, unsigned long *out)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || len > 12)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (unsigned long)(s[i] - '0');
	}
	*out = n;
	return true;
}

/* The verdict and reason named s[0..len); false for a name not ours. */
static bool
span_verdict(const char *s, size_t len, enum verdict *v)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strlen(verdict_name((enum verdict)i)) == len &&
		    memcmp(verdict_name((enum verdict)i), s, len) == 0) {
			*v = (enum verdict)i;
			return true;
		}
	return false;
}

static bool
span_reason(const char *s, size_t len, enum reason *r)
{
	int i;

	for (i = 0; i < REASON_COUNT; i++)
		if (strlen(reason_name((enum reason)i)) == len &&
		    memcmp(reason_name((enum reason)i), s, len) == 0) {
			*r = (enum reason)i;
			return true;
		}
	return false;
}

/* The address as written, when it needs no unescaping (else ""). */
static void
span_address(const char *s, size_t len, bool escaped, char *out,
    size_t outlen)
{
	out[0] = '\0';
	if (escaped || len >= outlen)
		return;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* The fields a line is read back for, in the order they are read. */
enum done_field {
	DF_INDEX, DF_VERDICT, DF_REASON, DF_EXIT_CODE, DF_ADDRESS
};

/* Field k of a line: its span, and whether it holds an escape. */
typedef bool done_field_fn(const char *line, size_t len, enum done_field k,
    const char **val, size_t *vlen, bool *escaped);

/* JSON: a member; the numbers bare, the names and the address quoted. */
static bool
json_done_field(const char *line, size_t len, enum done_field k,
    const char **val, size_t *vlen, bool *escaped)
{
	static const char *const keys[] = {
		"index", "verdict", "reason", "exit_code", "address"
	};
	bool q;

	if (!json_member(line, len, keys[k], val, vlen, &q) ||
	    q != (k != DF_INDEX && k != DF_EXIT_CODE))
		return false;
	*escaped = memchr(*val, '\\', *vlen) != NULL;
	return true;
}

/* Field k of a CSV row (from 0): its span, quotes removed (*quoted says
 * whether it had them; doubled quotes inside are left as they are). */
static bool
csv_field(const char *s, size_t len, int k, const char **val, size_t *vlen,
    bool *quoted)
{
	size_t i = 0, start;

	for (;;) {
		*quoted = i < len && s[i] == '"';
		start = i + *quoted;
		if (*quoted) {
			for (i = start; i < len; i++)
				if (s[i] == '"' && (i + 1 >= len ||
				    s[i + 1] != '"'))
					break;
				else if (s[i] == '"')
					i++;
			*vlen = i - start;
			i++;	/* past the closing quote */
		} else {
			for (i = start; i < len && s[i] != ','; i++)
				;
			*vlen = i - start;
		}
		*val = s + start;
		if (k-- == 0)
			return true;
		if (i >= len || s[i] != ',')
			return false;
		i++;
	}
}

/* CSV: a column of the report_csv_header() layout, quoted or not. */
static bool
csv_done_field(const char *line, size_t len, enum done_field k,
    const char **val, size_t *vlen, bool *escaped)
{
	static const int columns[] = { 0, 3, 4, 5, 2 };
	bool q;

	if (!csv_field(line, len, columns[k], val, vlen, &q))
		return false;
	*escaped = memchr(*val, '"', *vlen) != NULL;
	return true;
}

bool
batch_done_parse(const char *line, size_t len, enum batch_format f,
    struct batch_done_line *out)
{
	done_field_fn *field = f == BATCH_FORMAT_CSV ? csv_done_field :
	    json_done_field;
	const char *v;
	size_t vl;
	bool esc;
	unsigned long n;

	memset(out, 0, sizeof(*out));
	if (!field(line, len, DF_INDEX, &v, &vl, &esc) ||
	    !span_number(v, vl, &out->index) ||
	    !field(line, len, DF_VERDICT, &v, &vl, &esc) ||
	    !span_verdict(v, vl, &out->verdict) ||
	    !field(line, len, DF_REASON, &v, &vl, &esc) ||
	    !span_reason(v, vl, &out->reason) ||
	    !field(line, len, DF_EXIT_CODE, &v, &vl, &esc) ||
	    !span_number(v, vl, &n))
		return false;
	out->exit_code = (int)n;
	if (!field(line, len, DF_ADDRESS, &v, &vl, &esc))
		return false;
	span_address(v, vl, esc, out->address, sizeof(out->address));
	return true;
}

/* ---- reading the file back -------------------------------------------- */

/* Every line of f into d; a line that is not a result is an error. */
static int
read_done(FILE *f, enum batch_format format, struct batch_done *d,
    const char *path, char *err, size_t errlen)
{
	struct batch_done_line *l;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int rc = 0;

	if ((l = malloc(sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			n--;
		if (format == BATCH_FORMAT_CSV && lineno == 1 &&
		    strncmp(line, "index,", 6) == 0)
			continue;	/* the header */
		if (!batch_done_parse(line, (size_t)n, format, l)) {
			snprintf(err, errlen, "--resume: line %lu of %s is not "
			    "a result of smtpprobe in %s form", lineno, path,
			    format == BATCH_FORMAT_CSV ? "CSV" : "JSON");
			rc = -1;
		} else if (l->reason != REASON_INTERRUPTED &&
		    !batch_done_put(d, l->index, l->verdict, l->reason,
		    l->exit_code, l->address[0] != '\0' ?
		    batch_done_check(l->address) : 0)) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "--resume: reading %s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	free(line);
	free(l);
	return rc;
}

/*
 * The file's last line, if it has no newline, was cut by a crash: cut it
 * off (d->cut says how many bytes).  Also says whether the file is empty
 * and its format from its first byte.
 */
static int
repair(int fd, struct batch_done *d, bool *empty, int *first,
    const char *path, char *err, size_t errlen)
{
	struct stat st;
	char c;
	off_t end, pos;

	if (fstat(fd, &st) != 0)
		goto fail;
	*empty = st.st_size == 0;
	*first = -1;
	if (*empty)
		return 0;
	if (pread(fd, &c, 1, 0) == 1)
		*first = (unsigned char)c;
	for (end = st.st_size; end > 0; end--) {
		if (pread(fd, &c, 1, end - 1) != 1)
			goto fail;
		if (c == '\n')
			break;
	}
	pos = end;
	if (pos < st.st_size) {
		d->cut = (unsigned long)(st.st_size - pos);
		if (ftruncate(fd, pos) != 0)
			goto fail;
		*empty = pos == 0;
	}
	return 0;
fail:
	snprintf(err, errlen, "--resume: %s: %s", path, strerror(errno));
	return -1;
}

/* ---- writing ---------------------------------------------------------- */

static bool out_flush(struct batch_out *o);

int
batch_out_open(struct batch_out *o, const char *path,
    enum batch_format format, bool resume, struct batch_done *done,
    char *err, size_t errlen)
{
	bool empty = true;
	int first = -1;
	FILE *f;

	memset(o, 0, sizeof(*o));
	o->format = format;
	o->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		snprintf(err, errlen, "--output: cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (resume && repair(o->fd, done, &empty, &first, path, err,
	    errlen) != 0)
		goto fail;
	if (resume && !empty && (first == '{') != (format !=
	    BATCH_FORMAT_CSV)) {
		snprintf(err, errlen, "--resume: %s holds %s, not %s; give "
		    "the --format it was written with", path, first == '{' ?
		    "JSON Lines" : "CSV", format == BATCH_FORMAT_CSV ? "CSV" :
		    "JSON Lines");
		goto fail;
	}
	if (resume && !empty) {
		int fd2 = dup(o->fd);

		if (fd2 < 0 || (f = fdopen(fd2, "r")) == NULL) {
			if (fd2 >= 0)
				close(fd2);
			snprintf(err, errlen, "--resume: %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		rewind(f);
		if (read_done(f, format, done, path, err, errlen) != 0) {
			fclose(f);
			goto fail;
		}
		fclose(f);
	}
	if ((o->mem = open_memstream(&o->buf, &o->len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (format == BATCH_FORMAT_CSV && (empty || !resume)) {
		struct stat st;

		if (fstat(o->fd, &st) == 0 && st.st_size == 0) {
			report_csv_header(o->mem);
			if (!out_flush(o))
				goto fail_write;
		}
	}
	return 0;
fail_write:
	snprintf(err, errlen, "--output: writing %s: %s", path,
	    strerror(errno));
fail:
	if (o->mem != NULL)
		fclose(o->mem);
	free(o->buf);
	close(o->fd);
	o->fd = -1;
	return -1;
}

/* What the memory stream holds, in one write(2); the stream is emptied. */
static bool
out_flush(struct batch_out *o)
{
	size_t off = 0;
	ssize_t n;

	if (fflush(o->mem) != 0)
		return false;
	while (off < o->len) {
		n = write(o->fd, o->buf + off, o->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	rewind(o->mem);
	o->len = 0;
	return true;
}

bool
batch_out_write(struct batch_out *o, const struct probe_result *r,
    const struct batch_item_info *info)
{
	if (r->reason == REASON_INTERRUPTED)
		return true;	/* not an answer: a resumed run asks again */
	if (o->format == BATCH_FORMAT_CSV)
		report_csv_line(o->mem, r, info);
	else
		report_json_batch(o->mem, r, info);
	return !ferror(o->mem) && out_flush(o);
}

int
batch_out_close(struct batch_out *o)
{
	int rc = 0;

	if (o->fd < 0)
		return 0;
	fclose(o->mem);
	free(o->buf);
	if (close(o->fd) != 0)
		rc = -1;
	o->fd = -1;
	return rc;
}
