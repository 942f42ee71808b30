/*
 * pidfile: the daemon's PID file (PidFile), written as root and removed at
 * exit even when the daemon runs as UserID by then.
 *
 * The file is written before privileges are dropped, never through a
 * symlink, and stays owned by root (so that the unprivileged daemon cannot
 * point it at another process). Its directory is usually not writable by
 * UserID, so the daemon could not remove it: pidfile_keep() forks a small
 * root process before the drop that holds an open handle on the directory
 * and a pipe from the daemon, and does nothing else; when the daemon ends,
 * however it ends, the pipe reaches end-of-file and the keeper removes the
 * file (unlinkat in the directory it opened, so no later rename or symlink
 * can redirect it) if it still holds the daemon's process id.
 */
#ifndef SC_PIDFILE_H
#define SC_PIDFILE_H

#include <stddef.h>

/* Writes getpid() to path. Returns 0, or -1 with a reason. */
int pidfile_write(const char *path, char *why, size_t whylen);
/* Starts the keeper (as root, before dropping privileges). 0 or -1 with why. */
int pidfile_keep(char *why, size_t whylen);
/* At a clean exit: removes the file if this process may; else the keeper will. */
void pidfile_remove(void);

#endif
