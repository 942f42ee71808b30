/*
 * verdict: names of the verdict's enumerations; see verdict.h.
 */
#include "config.h"

#include "verdict.h"

const char *
action_str(enum action a)
{
	static const char *const names[ACT_COUNT] = { "accept", "reject", "tempfail", "quarantine" };

	return (unsigned)a < ACT_COUNT ? names[a] : "accept";
}
