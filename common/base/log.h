/*
 * log: one logging sink for the daemon, the offline checker and the
 * libraries we wrap (libspf2, libopendkim). Messages go to syslog or to
 * stderr; levels below the configured one are dropped. Thread-safe.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* use_syslog: 0 = stderr. facility: a LOG_* facility of <syslog.h>. */
void log_open(const char *ident, int use_syslog, int facility, enum log_level level);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Parses "error|warning|notice|info|debug"; -1 if unknown. */
int log_level_parse(const char *s);
/* Parses a syslog facility name ("mail", "local0", ...); -1 if unknown. */
int log_facility_parse(const char *s);

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
