/*
 * test_batchout.c — reading a batch results file back (--resume): the
 * members a JSON line and the fields a CSV row give, lines that are not
 * results, the check byte; and the shard of a domain (--shard).
 */
#include <string.h>

#include "batch.h"
#include "batchout.h"
#include "check.h"

static void
test_json(void)
{
	static const char line[] = "{\"address\":\"a@example.test\","
	    "\"index\":12,\"line\":13,\"duplicate_of\":{\"index\":3,"
	    "\"line\":4},\"tries\":1,\"domain\":\"example.test\","
	    "\"verdict\":\"undeliverable\",\"reason\":\"user_unknown\","
	    "\"summary\":\"x \\\"index\\\":99, y\",\"exit_code\":1,"
	    "\"findings\":[{\"id\":\"a\",\"reason\":\"accepted\"}]}";
	static const char escaped[] = "{\"address\":\"a\\u0000b@x.test\","
	    "\"index\":7,\"verdict\":\"unknown\",\"reason\":\"timeout\","
	    "\"exit_code\":2}";
	struct batch_done_line l;

	CHECK(batch_done_parse(line, strlen(line), BATCH_FORMAT_JSON, &l));
	CHECK_INT(l.index, 12);
	CHECK_STR(l.address, "a@example.test");
	CHECK_INT(l.verdict, VERDICT_UNDELIVERABLE);
	CHECK_INT(l.reason, REASON_USER_UNKNOWN);
	CHECK_INT(l.exit_code, 1);
	/* Escaped addresses are not compared: no check. */
	CHECK(batch_done_parse(escaped, strlen(escaped), BATCH_FORMAT_JSON,
	    &l));
	CHECK_INT(l.index, 7);
	CHECK_STR(l.address, "");
	/* Not results: cut short, or another document. */
	CHECK(!batch_done_parse(line, 60, BATCH_FORMAT_JSON, &l));
	CHECK(!batch_done_parse("{\"index\":1}", 11, BATCH_FORMAT_JSON, &l));
	CHECK(!batch_done_parse("", 0, BATCH_FORMAT_JSON, &l));
	CHECK(!batch_done_parse("{\"address\":\"a@b.test\",\"index\":-1,"
	    "\"verdict\":\"risky\",\"reason\":\"accept_all\",\"exit_code\":3}",
	    85, BATCH_FORMAT_JSON, &l));
}

static void
test_csv(void)
{
	static const char row[] = "5,6,b@example.test,deliverable,accepted,0,"
	    "250,2.1.5,mx.example.test,192.0.2.1,1,,\"The server, says \"\"ok"
	    "\"\"\"";
	static const char quoted[] = "9,,\"\"\"c,d\"\"@example.test\",risky,"
	    "accept_all,3,250,,,,1,,x";
	struct batch_done_line l;

	CHECK(batch_done_parse(row, strlen(row), BATCH_FORMAT_CSV, &l));
	CHECK_INT(l.index, 5);
	CHECK_STR(l.address, "b@example.test");
	CHECK_INT(l.verdict, VERDICT_DELIVERABLE);
	CHECK_INT(l.reason, REASON_ACCEPTED);
	CHECK(batch_done_parse(quoted, strlen(quoted), BATCH_FORMAT_CSV, &l));
	CHECK_INT(l.index, 9);
	CHECK_INT(l.exit_code, 3);
	CHECK(!batch_done_parse("5,6,b@example.test,maybe,accepted,0", 35,
	    BATCH_FORMAT_CSV, &l));
	CHECK(!batch_done_parse("index,line,address", 18, BATCH_FORMAT_CSV,
	    &l));
}

static void
test_check_and_shard(void)
{
	unsigned long counts[4] = { 0, 0, 0, 0 };
	char d[32];
	int i;

	CHECK(batch_done_check("a@example.test") != 0);
	CHECK_INT(batch_done_check("a@example.test"),
	    batch_done_check("a@example.test"));
	CHECK(batch_done_check("a@example.test") !=
	    batch_done_check("b@example.test") ||
	    batch_done_check("a@example.test") !=
	    batch_done_check("c@example.test"));
	/* Stable: the same shard on every machine and in every version. */
	CHECK_INT(batch_shard("example.test", 4),
	    batch_shard("example.test", 4));
	CHECK_INT(batch_shard("example.test", 1), 0);
	/* FNV-1a 64 of "example.com", modulo N (docs/BATCH.md). */
	CHECK_INT(batch_shard("example.com", 1000), 350);
	CHECK_INT(batch_shard("example.com", 4), 2);
	for (i = 0; i < 4000; i++) {
		snprintf(d, sizeof(d), "d%d.example", i);
		counts[batch_shard(d, 4)]++;
	}
	for (i = 0; i < 4; i++)
		CHECK(counts[i] > 800 && counts[i] < 1200);
}

int
main(void)
{
	test_json();
	test_csv();
	test_check_and_shard();
	return check_report("test_batchout");
}
