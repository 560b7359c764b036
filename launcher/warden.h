/*
 * warden.h: the agent's warden, so that nothing a job starts outlives it
 * (agent.h tells the whole story).
 */
#ifndef LCH_WARDEN_H
#define LCH_WARDEN_H

#include <sys/types.h>

/*
 * Splits this process in two.  Returns in the child, the agent proper,
 * with a pipe in *pids_fd on which it writes each worker's pid (a pid_t
 * in binary, see lch_warden_tell); never returns in the parent, which
 * becomes the warden and exits as the agent does.  The agent gets
 * SIGTERM if the warden dies.  Returns -1 (and no warden) when the split
 * cannot be made: the caller goes on alone.  metrics_dir, when not NULL,
 * is the agent's directory of metrics FIFOs (metrics.h), flight
 * records (flight.h) and the ranks' folders for Python frames
 * (pystacks.h): the warden removes it once the agent ended,
 * however it ended.
 */
int  lch_warden_split(int grace_ms, const char *metrics_dir, int *pids_fd);
/* Tells the warden of a worker's pid (fd -1: no warden). */
void lch_warden_tell(int fd, pid_t pid);

#endif /* LCH_WARDEN_H */
