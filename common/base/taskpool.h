/*
 * taskpool: runs a check's work (an SPF evaluation, an iprev lookup, the
 * DMARC record discovery) on a thread of its own, so that the checks of
 * one message wait for their DNS answers at the same time instead of one
 * after the other.
 *
 * Threads are made on demand (the first when the first task starts, so a
 * daemon may fork before) up to max_threads and then kept. A task that
 * finds no free thread waits in a queue; whoever joins it while it still
 * waits runs it on its own thread, so a full pool never stalls a message.
 *
 * A struct task lives in its owner's memory (e.g. the check) from
 * task_start to task_join. Thread-safe; nothing here exits.
 */
#ifndef SC_TASKPOOL_H
#define SC_TASKPOOL_H

struct task_pool;

struct task {
	void (*fn)(void *);
	void *arg;
	int state;		/* taskpool.c's */
	struct task *next;
};

struct task_pool *task_pool_new(unsigned max_threads);
/* Stops the threads (after the tasks they run); queued tasks are not run. */
void task_pool_free(struct task_pool *p);

/* Queues fn(arg); a free or new thread runs it. */
void task_start(struct task_pool *p, struct task *t, void (*fn)(void *), void *arg);
/*
 * Returns once t is done or will never run: a task still queued is run
 * here by the caller when run_queued is set, else dropped. A task never
 * started (zeroed) or already joined returns at once.
 */
void task_join(struct task_pool *p, struct task *t, int run_queued);

#endif
