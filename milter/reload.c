/*
 * reload: signals and configuration reload; see reload.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "generation.h"
#include "log.h"
#include "reload.h"

static char conf_path[4096];
/* the thread in libmilter's listener loop, woken on SIGTERM (see reload.h) */
static pthread_t listener;
static atomic_int listener_known, stopped, stop_asked;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
/* libmilter's signal thread came through our sigwait() */
static atomic_int libmilter_seen;

void
service_notify(const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	int rc = sd_notify(0, state);

	if (rc < 0)
		log_warn("sd_notify %s: %s", state, strerror(-rc));
#else
	(void)state;
#endif
}

void
signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* SIGRTMIN + 1: a signal nobody else sends; only interrupts a wait */
#define SIG_WAKE (SIGRTMIN + 1)

static void
on_wake(int sig)
{
	(void)sig;
}

void
signals_wake_listener(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;
	sa.sa_flags = SA_RESTART;	/* elsewhere: no EINTR where restarting works */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_WAKE, &sa, NULL) != 0)
		return;
	listener = pthread_self();
	atomic_store(&listener_known, 1);
}

void
signals_stopped(void)
{
	atomic_store(&stopped, 1);
}

int
signals_stop_asked(void)
{
	return atomic_load(&stop_asked);
}

/*
 * libmilter's stop flag (exported by libmilter, not in mfapi.h): nonzero
 * once its signal thread has asked the listener to stop. Waking the
 * listener before that would only send it round its loop again, through
 * a window where the signal thread can close the socket under it (and
 * smfi_main then reports a failure).
 */
int mi_stop(void);

/* Interrupts the listener's wait every 20 ms, once it is to stop, until
 * the daemon has stopped. */
static void *
wake_listener(void *arg)
{
	struct timespec step = { 0, 20 * 1000 * 1000 };

	(void)arg;
	for (int i = 0; i < 500 && !atomic_load(&stopped); i++) {
		if (mi_stop() != 0)
			pthread_kill(listener, SIG_WAKE);
		nanosleep(&step, NULL);
	}
	return NULL;
}

static void
stop_soon(void)
{
	pthread_t t;

	if (atomic_load(&listener_known) && pthread_create(&t, NULL, wake_listener, NULL) == 0)
		pthread_detach(t);
}

/*
 * sigwait() for the whole process: waits as POSIX says, but never for
 * SIGHUP or SIGUSR1, which belong to the reload thread. libmilter's signal
 * thread calls this one (see reload.h); its set holds SIGTERM.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t mine = *set;
	int s;

	sigdelset(&mine, SIGHUP);
	sigdelset(&mine, SIGUSR1);
	if (sigismember(&mine, SIGTERM))
		atomic_store(&libmilter_seen, 1);
	while ((s = sigwaitinfo(&mine, NULL)) < 0)
		if (errno != EINTR)
			return errno;
	if (s == SIGTERM || s == SIGINT) {
		atomic_store(&stop_asked, 1);
		stop_soon();
	}
	*sig = s;
	return 0;
}

/* Restart-only options keep their running values; the log names those
 * that the file changes. Returns -1 when out of memory. */
static int
keep_restart_options(struct generation *g, const struct generation *old)
{
	for (size_t i = 0; i < config_n_options; i++) {
		const struct config_option *o = &config_options[i];

		if (!(o->flags & OPTF_RESTART) || config_option_equal(o, &g->cfg, &old->cfg))
			continue;
		if (o->type == OPT_STRING || o->type == OPT_SOCKET)
			log_warn("reload: %s changed in %s: takes effect at restart; still \"%s\"",
			    o->name, conf_path, *(char *const *)((const char *)&old->cfg + o->offset));
		else
			log_warn("reload: %s changed in %s: takes effect at restart; the running value stays",
			    o->name, conf_path);
		if (config_option_copy(o, &g->cfg, &old->cfg) < 0)
			return -1;
	}
	return 0;
}

/* "A, B, C" of the options whose values differ, or "nothing". */
static void
changed_options(const struct generation *a, const struct generation *b, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < config_n_options && used < len; i++)
		if (!config_option_equal(&config_options[i], &a->cfg, &b->cfg))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
			    config_options[i].name);
	if (buf[0] == '\0')
		snprintf(buf, len, "nothing");
}

/* systemd wants the time the reload began with RELOADING=1 */
static void
reload_notify_start(void)
{
	struct timespec now;
	char state[64];

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000);
	service_notify(state);
}

int
reload_now(void)
{
	struct generation *old, *g;
	struct sbuf errs;
	char changed[1024];
	int rc = -1;

	pthread_mutex_lock(&reload_lock);
	reload_notify_start();
	old = generation_current();
	sbuf_init(&errs, 1 << 16);
	g = generation_load(conf_path, old, &errs);
	if (g == NULL) {
		for (const char *line = errs.s; *line;) {
			size_t n = strcspn(line, "\n");

			log_err("reload: %.*s", (int)n, line);
			line += n + (line[n] == '\n');
		}
		log_err("reload of %s failed: still running configuration #%u", conf_path,
		    old != NULL ? old->number : 0);
	} else if (keep_restart_options(g, old) < 0) {
		log_err("reload of %s failed: out of memory; still running configuration #%u",
		    conf_path, old->number);
		generation_put(g);
	} else {
		changed_options(old, g, changed, sizeof(changed));
		log_set_level((enum log_level)g->cfg.log_level);
		generation_install(g);
		log_notice("reloaded %s: configuration #%u for new sessions (changed: %s)",
		    conf_path, g->number, changed);
		rc = 0;
	}
	sbuf_free(&errs);
	service_notify("READY=1");
	pthread_mutex_unlock(&reload_lock);
	return rc;
}

static void *
reload_thread(void *arg)
{
	struct timespec step = { 0, 50 * 1000 * 1000 };
	siginfo_t info;
	sigset_t set;
	int sig;

	(void)arg;
	/* libmilter's signal thread starts in smfi_main(), just after this one;
	 * signals that come meanwhile wait, blocked, for the loop below */
	for (int i = 0; i < 200 && !atomic_load(&libmilter_seen); i++)
		nanosleep(&step, NULL);
	if (!atomic_load(&libmilter_seen))
		log_err("libmilter's signal thread did not come through sendercheck's sigwait(): "
		    "SIGHUP may stop the daemon; reload with SIGUSR1");
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		if ((sig = sigwaitinfo(&set, &info)) < 0)
			continue;	/* EINTR */
		log_notice("%s from pid %ld: reading %s again", sig == SIGHUP ? "SIGHUP" : "SIGUSR1",
		    (long)info.si_pid, conf_path);
		reload_now();
	}
	return NULL;
}

int
reload_start(const char *path, char *why, size_t whylen)
{
	pthread_t t;
	int rc;

	snprintf(conf_path, sizeof(conf_path), "%s", path);
	if ((rc = pthread_create(&t, NULL, reload_thread, NULL)) != 0 ||
	    (rc = pthread_detach(t)) != 0) {
		snprintf(why, whylen, "cannot start the reload thread: %s", strerror(rc));
		return -1;
	}
	return 0;
}
