/*
 * taskpool: see taskpool.h. One mutex guards the queue and every task's
 * state; "done" is broadcast on one condition variable (few joiners wait
 * at once, and each checks its own task).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "taskpool.h"
#include "thread.h"

enum { T_IDLE = 0, T_QUEUED, T_RUNNING, T_DONE };

struct task_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;	/* a task was queued, or stop */
	pthread_cond_t done;	/* a task finished */
	struct task *head, *tail;
	unsigned max_threads;
	unsigned threads;
	unsigned idle;
	int stop;
	pthread_t *tids;
};

struct task_pool *
task_pool_new(unsigned max_threads)
{
	struct task_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if ((p->tids = calloc(max_threads ? max_threads : 1, sizeof(*p->tids))) == NULL) {
		free(p);
		return NULL;
	}
	p->max_threads = max_threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	return p;
}

static void *
worker(void *arg)
{
	struct task_pool *p = arg;
	struct task *t;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->head == NULL && !p->stop) {
			p->idle++;
			pthread_cond_wait(&p->work, &p->lock);
			p->idle--;
		}
		if (p->stop)
			break;
		t = p->head;
		if ((p->head = t->next) == NULL)
			p->tail = NULL;
		t->state = T_RUNNING;
		pthread_mutex_unlock(&p->lock);
		t->fn(t->arg);
		pthread_mutex_lock(&p->lock);
		t->state = T_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void
task_start(struct task_pool *p, struct task *t, void (*fn)(void *), void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&p->lock);
	t->state = T_QUEUED;
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
	if (p->idle > 0)
		pthread_cond_signal(&p->work);
	else if (p->threads < p->max_threads &&
	    thread_start_quiet(&p->tids[p->threads], worker, p) == 0)
		p->threads++;
	/* else: it waits, or its joiner runs it */
	pthread_mutex_unlock(&p->lock);
}

/* Takes t out of the queue (lock held). */
static void
dequeue(struct task_pool *p, struct task *t)
{
	struct task **pp, *prev = NULL;

	for (pp = &p->head; *pp != NULL; prev = *pp, pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			if (p->tail == t)
				p->tail = prev;
			return;
		}
}

void
task_join(struct task_pool *p, struct task *t, int run_queued)
{
	int run = 0;

	pthread_mutex_lock(&p->lock);
	if (t->state == T_QUEUED) {
		dequeue(p, t);
		run = run_queued;
	}
	while (t->state == T_RUNNING)
		pthread_cond_wait(&p->done, &p->lock);
	t->state = T_IDLE;
	pthread_mutex_unlock(&p->lock);
	if (run)
		t->fn(t->arg);
}

void
task_pool_free(struct task_pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->threads; i++)
		pthread_join(p->tids[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p->tids);
	free(p);
}
