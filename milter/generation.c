/*
 * generation: configuration + engine, reference counted; see generation.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "generation.h"
#include "log.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct generation *current;

static void
generation_free(struct generation *g)
{
	if (g->engine != NULL)
		engine_free(g->engine);
	config_free(&g->cfg);
	free(g);
}

struct generation *
generation_load(const char *path, const struct generation *prev, struct sbuf *errs)
{
	struct generation *g = calloc(1, sizeof(*g));
	char why[512];

	if (g == NULL) {
		sbuf_printf(errs, "%s:0: out of memory\n", path);
		return NULL;
	}
	if (config_load(&g->cfg, path, errs) > 0) {
		generation_free(g);
		return NULL;
	}
	g->engine = prev != NULL ? engine_renew(prev->engine, &g->cfg, why, sizeof(why)) :
	    engine_new(&g->cfg, 0, why, sizeof(why));
	if (g->engine == NULL) {
		sbuf_printf(errs, "%s:0: %s\n", path, why);
		generation_free(g);
		return NULL;
	}
	g->number = prev != NULL ? prev->number + 1 : 1;
	atomic_init(&g->refs, 1);
	return g;
}

void
generation_install(struct generation *g)
{
	struct generation *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = g;
	pthread_mutex_unlock(&current_lock);
	if (old != NULL)
		generation_put(old);
}

struct generation *
generation_get(void)
{
	struct generation *g;

	pthread_mutex_lock(&current_lock);
	g = current;
	if (g != NULL)
		atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&current_lock);
	return g;
}

void
generation_put(struct generation *g)
{
	if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) > 1)
		return;
	log_debug("configuration #%u: its last session ended, freed", g->number);
	generation_free(g);
}

struct generation *
generation_current(void)
{
	struct generation *g;

	pthread_mutex_lock(&current_lock);
	g = current;
	pthread_mutex_unlock(&current_lock);
	return g;
}
