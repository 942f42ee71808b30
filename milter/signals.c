/*
 * signals: the signal thread, reload and stop; see signals.h.
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
#include "signals.h"

static char conf_path[4096];
static void (*stop_fn)(int sig);
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

/* The signals this module's thread alone takes. */
static void
daemon_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

void
signals_block(void)
{
	sigset_t set;

	daemon_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * sigwait() for the whole process: waits as POSIX says, but never for the
 * daemon's signals, which belong to the signal thread. libmilter's signal
 * thread calls this one (see signals.h): its set holds SIGTERM and nothing
 * else, so it waits here for good.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t mine = *set;
	int s;

	if (sigismember(&mine, SIGTERM))
		atomic_store(&libmilter_seen, 1);
	sigdelset(&mine, SIGHUP);
	sigdelset(&mine, SIGUSR1);
	sigdelset(&mine, SIGTERM);
	sigdelset(&mine, SIGINT);
	while ((s = sigwaitinfo(&mine, NULL)) < 0)
		if (errno != EINTR)
			return errno;
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
		if (OPT_IS_TEXT(o->type))
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
signal_thread(void *arg)
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
	daemon_signals(&set);
	for (;;) {
		if ((sig = sigwaitinfo(&set, &info)) < 0)
			continue;	/* EINTR */
		if (sig == SIGTERM || sig == SIGINT) {
			log_notice("%s from pid %ld: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT",
			    (long)info.si_pid);
			stop_fn(sig);
			continue;	/* not reached: stop_fn ends the process */
		}
		log_notice("%s from pid %ld: reading %s again", sig == SIGHUP ? "SIGHUP" : "SIGUSR1",
		    (long)info.si_pid, conf_path);
		reload_now();
	}
	return NULL;
}

int
signals_start(const char *path, void (*stop)(int sig), char *why, size_t whylen)
{
	pthread_t t;
	int rc;

	snprintf(conf_path, sizeof(conf_path), "%s", path);
	stop_fn = stop;
	if ((rc = pthread_create(&t, NULL, signal_thread, NULL)) != 0 ||
	    (rc = pthread_detach(t)) != 0) {
		snprintf(why, whylen, "cannot start the signal thread: %s", strerror(rc));
		return -1;
	}
	return 0;
}
