#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"
#include "sbuf.h"

static int log_syslog;
/* set by a reload while other threads log: atomic */
static _Atomic int log_level = LOG_LVL_INFO;
static const char *log_ident = "sendercheck";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void
log_open(const char *ident, int use_syslog, int facility, enum log_level level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void
log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/*
 * "ident: level: message\n" as one write (stderr is unbuffered: pieces
 * written apart cost a system call each and can interleave).
 */
static void
stderr_line(const char *level, const char *fmt, va_list ap)
{
	char small[1024], *line = small;
	int head = str_format(small, sizeof(small), "%s: %s: ", log_ident, level), n;
	va_list again;

	if (head < 0 || (size_t)head >= sizeof(small) - 1)
		return;
	va_copy(again, ap);
	n = str_vformat(small + head, sizeof(small) - (size_t)head, fmt, ap);
	if (n >= 0 && (size_t)(head + n) + 1 >= sizeof(small) &&
	    (line = malloc((size_t)(head + n) + 2)) != NULL) {
		memcpy(line, small, (size_t)head);
		str_vformat(line + head, (size_t)n + 1, fmt, again);
	} else if (line == NULL) {
		line = small;	/* out of memory: the line as it was cut */
		n = (int)(sizeof(small) - (size_t)head - 2);
	}
	va_end(again);
	if (n < 0)
		n = 0;
	line[head + n] = '\n';
	pthread_mutex_lock(&log_lock);
	fwrite(line, 1, (size_t)(head + n) + 1, stderr);
	pthread_mutex_unlock(&log_lock);
	if (line != small)
		free(line);
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "notice", "info", "debug" };

	if (!log_enabled(level))
		return;
	if (log_syslog) {
		vsyslog(prio[level], fmt, ap);
		return;
	}
	stderr_line(name[level], fmt, ap);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

int
log_level_parse(const char *s)
{
	static const char *const names[] = { "error", "warning", "notice", "info", "debug" };

	for (int i = 0; i < 5; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
log_facility_parse(const char *s)
{
	static const struct { const char *name; int fac; } tab[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(s, tab[i].name) == 0)
			return tab[i].fac;
	return -1;
}
