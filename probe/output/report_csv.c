/*
 * report_csv.c — batch results as CSV (--format csv): one row per
 * address with the main fields, after a header row (RFC 4180: fields
 * separated by commas, quoted when they hold a comma, a quote or a line
 * end, a quote doubled).  Server text never reaches a row raw: control
 * bytes become spaces, so a row is always one line.  The columns are
 * listed in docs/REPORT-FORMAT.md.
 */
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "report.h"

static const char csv_columns[] = "index,line,address,verdict,reason,"
    "exit_code,rcpt_code,rcpt_enhanced,mx,server,tries,duplicate_of,"
    "summary";

void
report_csv_header(FILE *out)
{
	fprintf(out, "%s\n", csv_columns);
}

/* One field: quoted when it must be, control bytes as spaces. */
static void
csv_put(FILE *out, const char *s, bool last)
{
	const unsigned char *u = (const unsigned char *)s;
	bool quote = strpbrk(s, ",\"\r\n") != NULL;

	if (quote)
		fputc('"', out);
	for (; *u != '\0'; u++) {
		if (*u == '"')
			fputs("\"\"", out);
		else
			fputc(*u < 0x20 || *u == 0x7f ? ' ' : *u, out);
	}
	if (quote)
		fputc('"', out);
	fputc(last ? '\n' : ',', out);
}

/* The last RCPT reply of r, or NULL. */
static const struct reply *
rcpt_reply(const struct probe_result *r)
{
	const struct stage_rec *sr = &r->stages[STAGE_RCPT];

	return sr->nreplies > 0 ? sr->replies[sr->nreplies - 1].reply : NULL;
}

void
report_csv_line(FILE *out, const struct probe_result *r,
    const struct batch_item_info *info)
{
	const struct reply *rp = rcpt_reply(r);
	char num[32], esc[16];

	snprintf(num, sizeof(num), "%lu", info->index);
	csv_put(out, num, false);
	if (info->line > 0)
		snprintf(num, sizeof(num), "%lu", info->line);
	else
		num[0] = '\0';
	csv_put(out, num, false);
	csv_put(out, r->input, false);
	csv_put(out, verdict_name(r->verdict), false);
	csv_put(out, reason_name(r->reason), false);
	snprintf(num, sizeof(num), "%d", r->exit_code);
	csv_put(out, num, false);
	if (rp != NULL)
		snprintf(num, sizeof(num), "%d", rp->code);
	else
		num[0] = '\0';
	csv_put(out, num, false);
	csv_put(out, rp != NULL ? reply_esc_str(rp, esc, sizeof(esc)) : "",
	    false);
	csv_put(out, r->nmx > 0 ? r->mx[0].host : "", false);
	csv_put(out, r->has_server ? r->server_ip : "", false);
	snprintf(num, sizeof(num), "%d", info->tries);
	csv_put(out, num, false);
	if (info->duplicate)
		snprintf(num, sizeof(num), "%lu", info->dup_index);
	else
		num[0] = '\0';
	csv_put(out, num, false);
	csv_put(out, r->summary, true);
}
