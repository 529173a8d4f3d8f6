/*
 * helofacts.c — the names of the HELO test's candidates and answers
 * (helofacts.h).
 */
#include "helofacts.h"
#include "names.h"

static const char *const kind_names[HT_KIND_COUNT] = {
	"configured", "fqdn", "address_literal", "localhost", "unqualified",
	"unresolvable", "server_name",
};
static const char *const kind_labels[HT_KIND_COUNT] = {
	"configured name", "FQDN", "address literal", "localhost",
	"unqualified name", "unresolvable name", "server's own name",
};

const char *
helotest_kind_name(enum helotest_kind k)
{
	return NAME_OF(kind_names, k, "unknown");
}

const char *
helotest_kind_label(enum helotest_kind k)
{
	return NAME_OF(kind_labels, k, "unknown");
}

const char *
helotest_status_name(enum helotest_status s)
{
	switch (s) {
	case HT_ACCEPTED: return "accepted";
	case HT_REJECTED: return "rejected";
	default: return "unknown";
	}
}
