/*
 * identity_diag.h — the client self-audit as the diagnosis reads it.
 */
#ifndef SMTPPROBE_IDENTITY_DIAG_H
#define SMTPPROBE_IDENTITY_DIAG_H

struct probe_result;

/* After diag_finish(): add the self-audit facts to the explanations and
 * summary of refusals that are about the probing host. */
void identity_explain(struct probe_result *res);

/* Problems found in the client audit (for the --self-check exit status):
 * 0 none, 1 a problem, 2 the address could not be checked. */
int identity_client_status(const struct probe_result *res);

#endif
