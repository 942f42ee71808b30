/*
 * thread: starting the daemon's own background threads (the statistics
 * writer, the volume saver, SharedState's Redis link, the resolver's I/O
 * thread, the task pool's workers). Such a thread takes no signals: they
 * belong to the daemon's signal thread (libmilter's sigwait), and a signal
 * delivered to a writer in a system call would only interrupt it.
 */
#ifndef SC_THREAD_H
#define SC_THREAD_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread; 0 or an errno value. */
int thread_start_quiet(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
