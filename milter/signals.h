/*
 * signals: the daemon's signal thread, the configuration reload and the
 * stop.
 *
 *   SIGHUP, SIGUSR1   read the configuration file again (reload)
 *   SIGTERM, SIGINT   stop
 *
 * libmilter runs a signal thread of its own that sigwait()s on SIGHUP,
 * SIGTERM and SIGINT and stops the filter on each of them: SIGHUP stopped
 * the daemon, and its stop races with its own listener and worker pool
 * (mutexes destroyed while other threads still use them). This module
 * defines sigwait() for the process: libmilter's call binds to it (symbol
 * interposition: the executable comes first) and never waits for any of
 * the four, which every thread blocks from the start and this module's
 * thread alone takes with sigwaitinfo(). At start it checks that
 * libmilter's thread did come through this sigwait() and logs an error if
 * not (then SIGHUP could stop the daemon: use SIGUSR1).
 *
 * A reload parses the whole file and builds a new engine; on any problem
 * it logs each "FILE:LINE: why" and keeps running on the old
 * configuration. Otherwise new sessions get the new generation (sessions
 * in flight finish on theirs), and the log names the options that changed
 * and those that take effect only at restart (OPTF_RESTART).
 *
 * A stop runs the daemon's stop function in the signal thread; it ends the
 * process (libmilter is not unwound: sessions in flight are cut, as its
 * own stop would, and the MTA applies its milter_default_action).
 */
#ifndef SC_SIGNALS_H
#define SC_SIGNALS_H

#include <stddef.h>

/* Tells the service manager (systemd, Type=notify: NOTIFY_SOCKET) a state:
 * "READY=1", "STOPPING=1"; a reload sends RELOADING=1 and READY=1 itself. */
void service_notify(const char *state);

/* Blocks the daemon's signals in the calling thread; call in main before
 * any thread is made, so that every thread inherits the mask. */
void signals_block(void);

/* Starts the signal thread: reloads from path (absolute), and calls stop
 * (which must end the process) on SIGTERM or SIGINT. 0, or -1 with why. */
int signals_start(const char *path, void (*stop)(int sig), char *why, size_t whylen);

/* Re-reads the configuration now (what SIGHUP does). Returns 0 if the new
 * configuration was installed. */
int reload_now(void);

#endif
