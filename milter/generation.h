/*
 * generation: one loaded configuration and the engine built from it.
 *
 * The daemon serves one generation at a time (the current one). A session
 * takes a reference at its start and keeps its generation to the end, so
 * that a reload never changes the rules under a message in flight: every
 * message is judged with one whole configuration, old or new, never a mix.
 * A generation replaced by a reload is freed when its last session ends.
 *
 * Thread-safe: sessions take and drop references on libmilter's workers,
 * the reload thread installs new generations.
 */
#ifndef SC_GENERATION_H
#define SC_GENERATION_H

#include <stdatomic.h>
#include <stddef.h>

#include "engine.h"
#include "options.h"
#include "sbuf.h"

struct generation {
	struct sc_config cfg;
	struct engine *engine;
	unsigned number;	/* 1 at start, +1 per reload */
	atomic_uint refs;	/* sessions, and 1 while current */
};

/*
 * Loads the file at path completely and builds an engine from it, carrying
 * on prev's state (NULL at start). On problems returns NULL and appends
 * "FILE:LINE: why" lines to errs (the same as sendercheck -n prints).
 */
struct generation *generation_load(const char *path, const struct generation *prev,
    struct sbuf *errs);

/* Makes g the one new sessions get; the replaced one goes when unused. */
void generation_install(struct generation *g);

/* The current generation with a reference for the caller, or NULL before
 * the first install. */
struct generation *generation_get(void);
void generation_put(struct generation *g);

/* The current generation without a reference: for the thread that installs
 * generations (main, reload), which keeps it alive itself. */
struct generation *generation_current(void);

#endif
