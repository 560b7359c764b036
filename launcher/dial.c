/* dial.c: see dial.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

#include "clock.h"
#include "dial.h"
#include "num.h"
#include "slurm.h"
#include "util.h"

#define DIAL_RETRY_MS 10000	/* a refused connection is tried this long */

int
lch_dial_listen(const char *addr, int *port, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "'%s': not an IPv4 address", addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int
lch_dial_token(char tok[LCH_DIAL_TOKEN_LEN + 1])
{
	return lch_random_hex(tok, LCH_DIAL_TOKEN_LEN / 2);
}

/* Compares without a timing that tells how much of the token matched. */
static int
same_token(const char *a, const char *b)
{
	size_t n = strlen(b), i;
	unsigned char d = 0;

	if (strlen(a) != n)
		return 0;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int
lch_dial_check(const char *line, size_t n, const char *tok, char *host,
	       size_t hostlen, char *err, size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(line, n);
	const cJSON *d, *t, *h;
	int rc = -1;

	if (j == NULL || !cJSON_IsObject(j)) {
		snprintf(err, errlen, "its first line is not a JSON object");
		goto out;
	}
	d = cJSON_GetObjectItemCaseSensitive(j, "dial");
	t = cJSON_GetObjectItemCaseSensitive(j, "token");
	h = cJSON_GetObjectItemCaseSensitive(j, "host");
	if (!cJSON_IsNumber(d) || d->valuedouble != 1) {
		snprintf(err, errlen, "its first line has no \"dial\":1");
		goto out;
	}
	if (!cJSON_IsString(t) || !same_token(t->valuestring, tok)) {
		snprintf(err, errlen, "wrong token");
		goto out;
	}
	if (!cJSON_IsString(h) || h->valuestring[0] == '\0' ||
	    strlen(h->valuestring) >= hostlen) {
		snprintf(err, errlen, "no \"host\" (a node name)");
		goto out;
	}
	snprintf(host, hostlen, "%s", h->valuestring);
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

/* "ADDR:PORT" into sa; -1 when it is not that. */
static int
parse_where(const char *where, struct sockaddr_in *sa)
{
	char addr[64];
	long port;

	if (lch_addr_port(where, addr, sizeof(addr), &port) != 0)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Keepalive probes: a head whose host vanished is noticed in ~30 s. */
static void
keepalive(int fd)
{
	int on = 1, idle = 15, intvl = 5, cnt = 3;

	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

int
lch_dial_agent(const char *where, const char *host)
{
	const char *tok = getenv(LCH_DIAL_TOKEN_ENV);
	long long until = (long long)mst_now_ms() + DIAL_RETRY_MS;
	struct sockaddr_in sa;
	cJSON *j;
	char *line;
	int fd = -1, rc;

	if (parse_where(where, &sa) != 0) {
		lch_msg("%s: --dial '%s': expected ADDR:PORT", host, where);
		return -1;
	}
	if (tok == NULL || *tok == '\0') {
		lch_msg("%s: --dial: no %s in the environment", host,
		    LCH_DIAL_TOKEN_ENV);
		return -1;
	}
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			lch_msg("%s: socket: %s", host, strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		rc = errno;
		close(fd);
		if ((rc != ECONNREFUSED && rc != EINTR) ||
		    (long long)mst_now_ms() >= until) {
			lch_msg("%s: cannot connect to the head at %s: %s",
			    host, where, strerror(rc));
			return -1;
		}
		(void)lch_poll_ms(100);
	}
	keepalive(fd);
	j = cJSON_CreateObject();
	if (j == NULL || !cJSON_AddNumberToObject(j, "dial", 1) ||
	    !cJSON_AddStringToObject(j, "token", tok) ||
	    !cJSON_AddStringToObject(j, "host", host) ||
	    !cJSON_AddNumberToObject(j, "pid", (double)getpid()) ||
	    (line = cJSON_PrintUnformatted(j)) == NULL)
		lch_oom();
	cJSON_Delete(j);
	rc = lch_write_all(fd, line, strlen(line)) != 0 ||
	    lch_write_all(fd, "\n", 1) != 0 ? -1 : 0;
	free(line);
	unsetenv(LCH_DIAL_TOKEN_ENV);	/* not for the workers */
	if (rc != 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0) {
		lch_msg("%s: the connection to the head at %s: %s", host,
		    where, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

const char *
lch_node_name(void)
{
	static char name[256];
	const char *s = getenv("SLURMD_NODENAME");

	if (s && *s)
		return s;
	if (gethostname(name, sizeof(name) - 1) != 0)
		snprintf(name, sizeof(name), "localhost");
	return name;
}
