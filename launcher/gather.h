/*
 * gather.h: each node's outputs folder, gathered into the head's run
 * directory (runrec.h: outputs/) once the node's ranks have ended.
 *
 * The head names, in the plan of the first node of each host (all the
 * virtual nodes of this machine share its folders: node 0 alone), the
 * folder to gather: "outputs": DIR, --output-dir when given, else
 * "outputs", relative to the workers' cwd or absolute.  Such an agent
 *
 *	- takes its clock (CLOCK_REALTIME_COARSE, the clock file times are
 *	  stamped with) when the plan arrives;
 *	- makes DIR (mkdir -p) before its ranks start and sets
 *	  MUSTER_OUTPUT_DIR=DIR (absolute) in each rank's environment,
 *	  unless the plan's environment of the rank has it (--output-dir,
 *	  -x);
 *	- once every rank ended (however: normally, failed, stopped by the
 *	  head), before it exits, walks DIR and sends each regular file
 *	  whose st_ctime is not before that clock (files of earlier runs
 *	  left in DIR are not sent again, only counted), on its stdout:
 *
 *	g[I] {"path":REL, "size":N, "mode":"0644"}
 *	b[I] BASE64		the file's next bytes, at most LCH_GATHER_CHUNK
 *				of them (RFC 4648, with padding); as many b
 *				records as it takes, none for an empty file
 *	...			then the next file's g record, and so on
 *	G[I] {"files":N, "bytes":B, "skipped_old":K,
 *	      "errors":[{"path":REL, "error":TEXT}, ...], "errors_more":M}
 *
 * I is the node index (records.h: by node), REL the path below DIR
 * ('/' between its parts; in JSON, so any byte but '\0' and '/' in a
 * name passes, escaped), N the size when it was opened, mode its
 * permission bits in octal.  A file ends at the next g or G record of
 * its node: what came is the file.  One that changed size while it was
 * read goes as read (at most N bytes), and G's errors say so; so do
 * they for what was not sent: a symbolic link (never followed, in or
 * out of DIR), a device, FIFO or socket, a file that cannot be read, a
 * name that is not UTF-8 or has control characters, a folder deeper than
 * LCH_GATHER_DEPTH.  errors holds at most LCH_GATHER_ERRORS entries,
 * errors_more counts the others.  The agent writes with poll(2) for
 * POLLOUT between writes: a slow head slows it, it never holds more
 * than one chunk.  Relays pass these records on as they do every line;
 * the head takes them for the nodes of the connection they came on.
 *
 * The head (lch_gather_rx) writes a file to outputs/REL.  When REL came
 * from another node already, the file goes to outputs/node.I/REL; once
 * complete, if it holds the same bytes as outputs/REL it is removed (kept
 * once, listed once, with the first node).  It refuses REL when it is
 * empty, absolute, has a "." or ".." part, an empty part, control
 * characters, or is longer than PATH_MAX.  Files are created with
 * O_EXCL | O_NOFOLLOW, each folder entered with O_NOFOLLOW (no write
 * through a symbolic link), mode 0600 while written, then the sender's
 * 0755 when the sender's owner could run it, else 0644.  A write error (a full disk) is said once on
 * stderr and counted in errors; the job's exit status stays as it is.
 * A file whose node's connection ended before its next record
 * (lch_gather_rx_finish) is incomplete: removed, and an error.
 */
#ifndef LCH_GATHER_H
#define LCH_GATHER_H

#include <stddef.h>
#include <sys/types.h>

#include <cJSON.h>

#include "records.h"

#define LCH_GATHER_CHUNK (48 * 1024)	/* raw bytes per b record */
#define LCH_GATHER_ERRORS 100		/* error entries in a G record */
#define LCH_GATHER_DEPTH 64		/* folders below DIR, at most */
#define LCH_GATHER_RX_ERRORS 1000	/* error entries the head keeps */

/* --- the agent's side --- */

/* The clock file times are stamped with, in nanoseconds. */
long long lch_gather_clock(void);
/*
 * Makes dir and its parents (relative to the cwd, or absolute): its
 * absolute path, malloc'ed (the folder may not exist if it could not be
 * made: lch_gather_send then says why).
 */
char *lch_gather_prepare(const char *dir);
/*
 * Sends node's g, b and G records for dir (absolute) on fd: the files
 * changed since since_ns.  0, or -1 when fd failed (the head is gone).
 */
int   lch_gather_send(int fd, int node, const char *dir, long long since_ns);

/* --- the head's side --- */

struct lch_gather_rx;

/*
 * A receiver writing into outputs_dir (which must exist) for nnodes
 * nodes; NULL after a message when that folder cannot be opened.
 */
struct lch_gather_rx *lch_gather_rx_new(const char *outputs_dir, int nnodes);
/* Node is to send its outputs (its plan names them): a G must come. */
void  lch_gather_rx_expect(struct lch_gather_rx *rx, int node);
/* A g, b or G record (lch_rec_decode_node's), of a node below nnodes. */
void  lch_gather_rx_record(struct lch_gather_rx *rx, const struct lch_rec *r);
/*
 * The connections ended: files still open are incomplete (removed),
 * expected nodes without their G are errors.
 */
void  lch_gather_rx_finish(struct lch_gather_rx *rx);
/*
 * run.json's "outputs": {"files":N, "bytes":B, "skipped_old":K,
 * "list":[{"path":P, "size":S, "node":I}], "errors":[{"node":I,
 * "path":P, "error":TEXT}], "errors_more":M}.  The caller frees it.
 */
cJSON *lch_gather_rx_json(const struct lch_gather_rx *rx);
/* Errors so far, and the first as one line (for the end's message). */
int   lch_gather_rx_errors(const struct lch_gather_rx *rx, char *first,
			   size_t len);
void  lch_gather_rx_free(struct lch_gather_rx *rx);

/* --- shared (tests) --- */

/* n bytes as base64 into dst (4 * ((n + 2) / 3) + 1 bytes); its length. */
size_t  lch_b64_encode(char *dst, const void *src, size_t n);
/* base64 text (n bytes) into dst (3 * n / 4 bytes): the bytes, or -1. */
ssize_t lch_b64_decode(void *dst, const char *src, size_t n);
/* NULL when rel is a path the head takes, else why not. */
const char *lch_gather_path_check(const char *rel);

#endif /* LCH_GATHER_H */
