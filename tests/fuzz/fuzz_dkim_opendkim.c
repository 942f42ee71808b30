/* libFuzzer target: fuzz_dkim_verify.c through libopendkim
 * (dkim_opendkim.c, DKIMEngine libopendkim) instead of the builtin
 * verifier: the same message split, keys from keyserver.h and checks -
 * every signature gets one of the results and a reason, nothing passes
 * (the private keys are thrown away). */
#define FUZZ_DKIM_OPENDKIM 1
#include "fuzz_dkim_verify.c"
