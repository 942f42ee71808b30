/*
 * reload: the daemon's signals and the configuration reload.
 *
 *   SIGHUP, SIGUSR1   read the configuration file again (reload)
 *   SIGTERM, SIGINT   stop (libmilter's signal thread: smfi_main returns)
 *
 * libmilter's signal thread sigwait()s on SIGHUP, SIGTERM and SIGINT and
 * stops the filter on each of them. So that SIGHUP never stops the
 * daemon, this module defines sigwait() for the process: libmilter's call
 * binds to it (symbol interposition: the executable comes first), and it
 * takes SIGHUP and SIGUSR1 out of every set it is asked to wait on. The
 * reload thread waits for those two with sigwaitinfo(), and every other
 * thread blocks them, so each SIGHUP goes to the reload thread and to no
 * one else. At start the daemon checks that libmilter's thread did come
 * through this sigwait() and says so in the log if not.
 *
 * A reload parses the whole file and builds a new engine; on any problem
 * it logs each "FILE:LINE: why" and keeps running on the old
 * configuration. Otherwise new sessions get the new generation (sessions
 * in flight finish on theirs), and the log names the options that changed
 * and those that take effect only at restart (OPTF_RESTART).
 */
#ifndef SC_RELOAD_H
#define SC_RELOAD_H

#include <stddef.h>

/* Tells the service manager (systemd, Type=notify: NOTIFY_SOCKET) a state:
 * "READY=1", "STOPPING=1"; a reload sends RELOADING=1 and READY=1 itself. */
void service_notify(const char *state);

/* Blocks the daemon's signals in the calling thread; call in main before
 * any thread is made, so that every thread inherits the mask. */
void signals_block(void);

/*
 * libmilter's listener notices a stop only between waits on its socket, up
 * to 5 seconds apart. Called in the thread that will run smfi_main(): on
 * SIGTERM and SIGINT that thread is then interrupted (a signal with a handler
 * that does nothing) until signals_stopped() is called after smfi_main
 * returns, so the daemon stops at once.
 */
void signals_wake_listener(void);
void signals_stopped(void);
/* Whether SIGTERM or SIGINT came: a stop that was asked for is a clean exit
 * even when libmilter's listener, stopped before it ran, reports a failure. */
int signals_stop_asked(void);

/* Starts the reload thread for the configuration file path (absolute).
 * Returns 0, or -1 with a reason. */
int reload_start(const char *path, char *why, size_t whylen);

/* Re-reads the configuration now (what SIGHUP does). Returns 0 if the new
 * configuration was installed. */
int reload_now(void);

#endif
