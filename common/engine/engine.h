/*
 * engine: one message in, one verdict out. Shared by the milter and the
 * offline checker; knows nothing of libmilter.
 *
 * An engine holds what lives for the whole process (config, resolver,
 * SPF engine, DKIM verifier) and is shared by all threads. A check is one
 * message: the front end gives it the envelope and macros, the header
 * fields, the end of headers and the body chunks as they arrive, then
 * check_finish runs the checks and returns the verdict: per-method
 * results, the action with its SMTP reply, the header fields to add and
 * the forged ones to remove, and the log line. A check is used by one
 * thread at a time.
 */
#ifndef SC_ENGINE_H
#define SC_ENGINE_H

#include <stddef.h>

#include "header.h"
#include "options.h"
#include "verdict.h"

struct engine;
struct check;

/* ENGINE_READ_ONLY: never write state files (the offline checker). */
#define ENGINE_READ_ONLY 1
struct engine *engine_new(const struct sc_config *cfg, unsigned flags, char *why, size_t whylen);
/*
 * A new engine for cfg (a reloaded configuration) that carries on prev's
 * state: the volume counts and the fleet's shared state stay one set,
 * kept running by prev's engine_start, so no engine_start is needed.
 * Checks may still run on prev; free each engine when its last check is
 * done, in any order.
 */
struct engine *engine_renew(const struct engine *prev, const struct sc_config *cfg,
    char *why, size_t whylen);
/* Starts background work (saving volume counts, SharedState's thread, after
 * one connection to Redis: a refused one is an error); after any fork. */
int engine_start(struct engine *e, char *why, size_t whylen);
/* Ends background work and saves state; checks may still run (shutdown). */
void engine_stop(struct engine *e);
void engine_free(struct engine *e);
const struct sc_config *engine_config(const struct engine *e);
/* The fleet's shared counts (SharedState), for the metrics; NULL when off. */
struct sharedstate *engine_sharedstate(const struct engine *e);

struct check *check_new(struct engine *e);
void check_free(struct check *c);

/*
 * A connection (one SMTP session) before any message. Made at connect,
 * it starts the client's iprev check at once (inbound mode, a client not
 * in InternalHosts), so the PTR and address records are asked while the
 * client is still at HELO and MAIL FROM; every message of the connection
 * made with check_new_in takes that result. Free it at close, after its
 * last check (what is still pending is cancelled). NULL when there is
 * nothing to do early (then check_new_in is check_new).
 */
struct check_conn;
struct check_conn *check_conn_new(struct engine *e, const char *ip);
void check_conn_free(struct check_conn *cc);
struct check *check_new_in(struct engine *e, struct check_conn *cc);

/* Envelope and macros; each value is copied, over-long ones are cut and noted. */
void check_set_client(struct check *c, const char *ip, const char *hostname);
void check_set_helo(struct check *c, const char *helo);
/* The MAIL FROM argument with or without <>; "<>" or "" is the null sender. */
void check_set_mail_from(struct check *c, const char *mail_from);
void check_add_rcpt(struct check *c, const char *rcpt);
void check_set_queue_id(struct check *c, const char *qid);
/* TLS as the MTA reports it: a version (TLS used), or known not used
 * (check_set_no_tls changes nothing once a version was set). */
void check_set_tls(struct check *c, const char *tls_version, const char *cipher);
void check_set_no_tls(struct check *c);

/* Whether messages get our ARC set (ARCSign), internal ones too. */
int engine_seals(const struct engine *e);
/* Whether this client's mail is checked at all (InternalHosts). */
int check_is_internal(const struct check *c);
int engine_client_internal(const struct engine *e, const char *ip);

/* name without colon, value as received (leading space kept). */
void check_header(struct check *c, const char *name, const char *value, size_t len);
void check_eoh(struct check *c);
void check_body(struct check *c, const unsigned char *p, size_t n);
const struct verdict *check_finish(struct check *c);

#endif
