/*
 * relayfacts.c — the names of the relay test's forms and answers
 * (relayfacts.h).
 */
#include <stdbool.h>

#include "names.h"
#include "relayfacts.h"

static const char *const variant_names[RV_COUNT] = {
	"plain", "percent_hack", "bang_path", "quoted", "source_route",
};
static const char *const variant_labels[RV_COUNT] = {
	"outside address", "%-hack", "bang path", "quoted local part",
	"source route",
};

const char *
relaytest_variant_name(enum relay_variant v)
{
	return NAME_OF(variant_names, v, "unknown");
}

const char *
relaytest_variant_label(enum relay_variant v)
{
	return NAME_OF(variant_labels, v, "unknown");
}

bool
relaytest_variant_outside(enum relay_variant v)
{
	return v == RV_PLAIN || v == RV_SOURCE_ROUTE;
}

const char *
relaytest_domain_source_name(enum relay_domain_source s)
{
	switch (s) {
	case RD_TARGET: return "target";
	case RD_OPTION: return "option";
	case RD_GREETING: return "greeting";
	default: return "server";
	}
}

const char *
relaytest_status_name(enum relay_status s)
{
	switch (s) {
	case RELAY_ACCEPTED: return "accepted";
	case RELAY_REFUSED: return "refused";
	default: return "unknown";
	}
}
