/* records.c: see records.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "num.h"
#include "records.h"
#include "util.h"

#define PLAN_READ 4096		/* read the plan at least this much at a time */

static void
add_strings(cJSON *arr, char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
}

static char *
print_json(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	if (s == NULL)
		lch_oom();
	cJSON_Delete(j);
	return s;
}

static void
add_str(cJSON *j, const char *name, const char *v)
{
	if (v)
		cJSON_AddStringToObject(j, name, v);
}

char *
lch_rec_hello_encode(const struct lch_rec_hello *h)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "hello", LCH_REC_HELLO_VERSION);
	cJSON_AddNumberToObject(j, "node", h->node);
	add_str(j, "host", h->host);
	add_str(j, "version", h->version);
	add_str(j, "toward", h->toward);
	add_str(j, "iface", h->iface);
	cJSON_AddNumberToObject(j, "ports", h->ports);
	add_str(j, "ssh", h->ssh);
	add_str(j, "remote_muster", h->remote_muster);
	add_str(j, "self", h->self);
	if (h->tree)
		cJSON_AddItemToObject(j, "tree",
		    cJSON_Duplicate((const cJSON *)h->tree, 1));
	return print_json(j);
}

/* A PLAN's "place": what differs from the defaults; none when nothing. */
static void
add_place(cJSON *j, const struct lch_place_opts *po)
{
	cJSON *o = cJSON_CreateObject();

	if (po->bind != LCH_BIND_AUTO)
		cJSON_AddStringToObject(o, "bind", lch_bind_name(po->bind));
	if (po->map != LCH_MAP_AUTO)
		cJSON_AddStringToObject(o, "map", lch_map_name(po->map));
	if (po->gpus_per_proc >= 0)
		cJSON_AddNumberToObject(o, "gpus_per_proc", po->gpus_per_proc);
	add_str(o, "topology", po->topology);
	if (po->report)
		cJSON_AddNumberToObject(o, "report", 1);
	if (po->verbose)
		cJSON_AddNumberToObject(o, "verbose", 1);
	if (po->omp_user)
		cJSON_AddNumberToObject(o, "omp_user", 1);
	if (cJSON_GetArraySize(o) > 0)
		cJSON_AddItemToObject(j, "place", o);
	else
		cJSON_Delete(o);
}

char *
lch_rec_plan_encode(const struct lch_plan *p, const struct lch_node *n,
		    const struct lch_rec_plan_opts *po)
{
	cJSON *j = cJSON_CreateObject(), *ranks, *rk;
	size_t argc = 0;
	int r;

	cJSON_AddNumberToObject(j, "node", n->index);
	cJSON_AddStringToObject(j, "host", n->host);
	if (po->cwd)
		cJSON_AddStringToObject(j, "cwd", po->cwd);
	cJSON_AddNumberToObject(j, "grace_ms", (double)po->grace_ms);
	if (po->log_dir)
		cJSON_AddStringToObject(j, "log_dir", po->log_dir);
	if (po->outputs)
		cJSON_AddStringToObject(j, "outputs", po->outputs);
	if (po->metrics)
		cJSON_AddNumberToObject(j, "metrics", 1);
	if (po->flight)
		cJSON_AddNumberToObject(j, "flight", 1);
	if (po->beat_ms > 0)
		cJSON_AddNumberToObject(j, "beat_ms", (double)po->beat_ms);
	add_place(j, &p->place);
	while (p->argv[argc])
		argc++;
	add_strings(cJSON_AddArrayToObject(j, "argv"), p->argv, argc);
	ranks = cJSON_AddArrayToObject(j, "ranks");
	for (r = n->first_rank; r < n->first_rank + n->nprocs; r++) {
		rk = cJSON_CreateObject();
		cJSON_AddNumberToObject(rk, "rank", r);
		add_strings(cJSON_AddArrayToObject(rk, "env"),
		    p->ranks[r].env.kv.v, p->ranks[r].env.kv.n);
		cJSON_AddItemToArray(ranks, rk);
	}
	return print_json(j);
}

void
lch_rec_ctl_encode(char *buf, enum lch_rec_ctl cmd, int sig)
{
	if (cmd == LCH_REC_TERM)
		snprintf(buf, LCH_REC_CTL_MAX, "term\n");
	else if (cmd == LCH_REC_KILL)
		snprintf(buf, LCH_REC_CTL_MAX, "kill\n");
	else if (cmd == LCH_REC_GATHER_GO)
		snprintf(buf, LCH_REC_CTL_MAX, "gather %d\n", sig);
	else if (cmd == LCH_REC_FLIGHT_GO)
		snprintf(buf, LCH_REC_CTL_MAX, "flight\n");
	else if (cmd == LCH_REC_STACKS)
		snprintf(buf, LCH_REC_CTL_MAX, "stacks\n");
	else if (cmd == LCH_REC_BEAT)
		snprintf(buf, LCH_REC_CTL_MAX, "beat\n");
	else
		snprintf(buf, LCH_REC_CTL_MAX, "sig %d\n", sig);
}

int
lch_rec_ctl_decode(const char *line, enum lch_rec_ctl *cmd, int *sig)
{
	long v;

	*sig = 0;
	if (strcmp(line, "term") == 0)
		*cmd = LCH_REC_TERM;
	else if (strcmp(line, "kill") == 0)
		*cmd = LCH_REC_KILL;
	else if (strcmp(line, "flight") == 0)
		*cmd = LCH_REC_FLIGHT_GO;
	else if (strcmp(line, "stacks") == 0)
		*cmd = LCH_REC_STACKS;
	else if (strcmp(line, "beat") == 0)
		*cmd = LCH_REC_BEAT;
	else if (strncmp(line, "sig ", 4) == 0 &&
	    mst_parse_long(line + 4, 1, 64, &v) == 0) {
		*cmd = LCH_REC_SIG;
		*sig = (int)v;
	} else if (strncmp(line, "gather ", 7) == 0 &&
	    mst_parse_long(line + 7, 0, INT_MAX, &v) == 0) {
		*cmd = LCH_REC_GATHER_GO;
		*sig = (int)v;
	} else
		return -1;
	return 0;
}

/*
 * "[R] " at line[1..]: the rank as strtol(3) reads it (so blanks and a
 * sign before the digits pass, as they always did) but within the n
 * bytes; the offset of the text after "] ", or 0 when there is none.
 */
static size_t
decode_rank(const char *line, size_t n, long *rank)
{
	char num[32];
	size_t i = 2, k = 0;
	char *end;

	while (i < n && isspace((unsigned char)line[i]) && k < sizeof(num) - 1)
		num[k++] = line[i++];
	while (i < n && (isdigit((unsigned char)line[i]) || line[i] == '+' ||
	    line[i] == '-') && k < sizeof(num) - 1)
		num[k++] = line[i++];
	num[k] = '\0';
	*rank = strtol(num, &end, 10);
	i = 2 + (size_t)(end - num);
	if (i + 1 >= n || line[i] != ']' || line[i + 1] != ' ')
		return 0;
	return i + 2;
}

/* The two numbers of s, F, x and f records, as sscanf "%d %d" reads them. */
static void
decode_nums(struct lch_rec *r)
{
	char num[64];
	size_t k = r->text_len < sizeof(num) ? r->text_len : sizeof(num) - 1;

	memcpy(num, r->text, k);
	num[k] = '\0';
	r->nums = sscanf(num, "%d %d", &r->num[0], &r->num[1]);
}

int
lch_rec_decode(const char *line, size_t n, int np, struct lch_rec *r)
{
	long rank = -1;
	size_t off = 0;

	if (n >= 4 && line[1] == '[')
		off = decode_rank(line, n, &rank);
	if (off == 0 || rank < 0 || rank >= np)
		return -1;
	memset(r, 0, sizeof(*r));
	r->type = (unsigned char)line[0];
	r->rank = (int)rank;
	r->tag = line + 1;
	r->tag_len = n - 1;
	r->text = line + off;
	r->text_len = n - off;
	if (strchr("sFxfzw", r->type) != NULL && r->type != '\0')
		decode_nums(r);
	return 0;
}

int
lch_rec_decode_node(const char *line, size_t n, int nnodes, struct lch_rec *r)
{
	size_t i;

	if (n < 4 || strchr("hngbGy", line[0]) == NULL || line[0] == '\0' ||
	    lch_rec_decode(line, n, nnodes, r) != 0)
		return -1;
	if (r->type == LCH_REC_LOST) {
		decode_nums(r);
		if (r->nums != 2)
			return -1;
		/* TEXT: after the two numbers and one blank */
		for (i = 0; i < r->text_len && r->text[i] == ' '; i++)
			;
		for (; i < r->text_len && r->text[i] != ' '; i++)
			;
		for (; i < r->text_len && r->text[i] == ' '; i++)
			;
		for (; i < r->text_len && r->text[i] != ' '; i++)
			;
		i += i < r->text_len;
		r->more = r->text + i;
		r->more_len = r->text_len - i;
	}
	return 0;
}

/* Room for the next read: the buffer doubles up to LCH_REC_PLAN_MAX. */
static int
plan_room(struct lch_strbuf *sb)
{
	if (sb->len + PLAN_READ < sb->alloc)
		return 1;
	if (sb->alloc >= (size_t)LCH_REC_PLAN_MAX)
		return 0;
	lch_strbuf_grow(sb, sb->alloc * 2 - sb->len - 1);
	return 1;
}

/* The first line of sb, cut off: the rest goes to *rest. */
static char *
take_line(struct lch_strbuf *sb, char *nl, char **rest, size_t *rest_len)
{
	*rest_len = sb->len - (size_t)(nl + 1 - sb->buf);
	*rest = lch_xmalloc(*rest_len + 1);
	memcpy(*rest, nl + 1, *rest_len);
	lch_strbuf_setlen(sb, (size_t)(nl - sb->buf));
	return sb->buf;
}

char *
lch_rec_plan_read(int fd, char **rest, size_t *rest_len)
{
	struct lch_strbuf sb;
	size_t old;
	ssize_t n;
	char *nl;

	lch_strbuf_init(&sb, 65536 - 1);
	if (*rest) {
		lch_strbuf_add(&sb, *rest, *rest_len);
		free(*rest);
		*rest = NULL;
		*rest_len = 0;
		if ((nl = memchr(sb.buf, '\n', sb.len)) != NULL)
			return take_line(&sb, nl, rest, rest_len);
	}
	while (sb.len < (size_t)LCH_REC_PLAN_MAX && plan_room(&sb)) {
		old = sb.len;
		n = lch_strbuf_read_once(&sb, fd, sb.alloc - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((nl = memchr(sb.buf + old, '\n', (size_t)n)) != NULL)
			return take_line(&sb, nl, rest, rest_len);
	}
	lch_strbuf_release(&sb);
	return NULL;
}

/* A non-empty array of strings as a NULL-ended vector; NULL otherwise. */
static char **
json_strv(const cJSON *arr)
{
	int n = cJSON_GetArraySize(arr), i = 0;
	char **v;
	const cJSON *e;

	if (!cJSON_IsArray(arr) || n == 0)
		return NULL;
	v = lch_xcalloc((size_t)n + 1, sizeof(*v));
	cJSON_ArrayForEach(e, arr) {
		if (!cJSON_IsString(e)) {
			free(v);
			return NULL;
		}
		v[i++] = e->valuestring;
	}
	return v;
}

static const char *
json_str(const cJSON *o, const char *name, const char *dflt)
{
	const cJSON *it = cJSON_GetObjectItem(o, name);

	return cJSON_IsString(it) ? it->valuestring : dflt;
}

static int
decode_ranks(const cJSON *ranks, struct lch_rec_plan *p)
{
	const cJSON *r, *it;

	p->ranks = lch_xcalloc((size_t)cJSON_GetArraySize(ranks) + 1,
	    sizeof(*p->ranks));
	cJSON_ArrayForEach(r, ranks) {
		struct lch_rec_plan_rank *pr = &p->ranks[p->nranks];

		it = cJSON_GetObjectItem(r, "rank");
		pr->env = json_strv(cJSON_GetObjectItem(r, "env"));
		if (!cJSON_IsNumber(it) || pr->env == NULL)
			return -1;
		pr->rank = it->valueint;
		p->nranks++;
	}
	return 0;
}

static int
json_int(const cJSON *o, const char *name, int dflt)
{
	const cJSON *it = cJSON_GetObjectItem(o, name);

	return cJSON_IsNumber(it) && it->valuedouble >= -1e9 &&
	    it->valuedouble <= 1e9 ? it->valueint : dflt;
}

int
lch_rec_hello_decode(const char *line, struct lch_rec_hello *h)
{
	cJSON *j, *tree;

	memset(h, 0, sizeof(*h));
	if ((h->json = j = cJSON_Parse(line)) == NULL)
		return -1;
	if (!cJSON_IsObject(j) || json_int(j, "hello", 0) < 1)
		return -2;
	h->node = json_int(j, "node", -1);
	h->ports = json_int(j, "ports", -1);
	h->host = json_str(j, "host", "localhost");
	h->version = json_str(j, "version", NULL);
	h->toward = json_str(j, "toward", NULL);
	h->iface = json_str(j, "iface", NULL);
	h->ssh = json_str(j, "ssh", NULL);
	h->remote_muster = json_str(j, "remote_muster", NULL);
	h->self = json_str(j, "self", NULL);
	tree = cJSON_GetObjectItem(j, "tree");
	h->tree = cJSON_IsArray(tree) ? tree : NULL;
	if (h->node < 0 || h->ports < 0)
		return -2;
	return 0;
}

void
lch_rec_hello_release(struct lch_rec_hello *h)
{
	cJSON_Delete(h->json);
	memset(h, 0, sizeof(*h));
}

/* A PLAN's "place" (absent: the defaults); -1 when malformed. */
static int
decode_place(const cJSON *o, struct lch_place_opts *po)
{
	const char *b, *m;
	char err[128];

	memset(po, 0, sizeof(*po));
	po->gpus_per_proc = -1;
	if (o == NULL)
		return 0;
	if (!cJSON_IsObject(o))
		return -1;
	b = json_str(o, "bind", NULL);
	m = json_str(o, "map", NULL);
	if ((b && lch_bind_parse(b, &po->bind, err, sizeof(err)) != 0) ||
	    (m && lch_map_parse(m, &po->map, err, sizeof(err)) != 0))
		return -1;
	po->gpus_per_proc = json_int(o, "gpus_per_proc", -1);
	if (po->gpus_per_proc < -1)
		return -1;
	po->topology = json_str(o, "topology", NULL);
	po->report = json_int(o, "report", 0) != 0;
	po->verbose = json_int(o, "verbose", 0) != 0;
	po->omp_user = json_int(o, "omp_user", 0) != 0;
	return 0;
}

int
lch_rec_plan_decode(const char *line, struct lch_rec_plan *p)
{
	cJSON *ranks, *it;

	memset(p, 0, sizeof(*p));
	p->node = -1;
	if ((p->json = cJSON_Parse(line)) == NULL)
		return -1;
	ranks = cJSON_GetObjectItem(p->json, "ranks");
	p->argv = json_strv(cJSON_GetObjectItem(p->json, "argv"));
	if (!cJSON_IsArray(ranks) || p->argv == NULL)
		return -2;
	p->host = json_str(p->json, "host", "localhost");
	p->node = json_int(p->json, "node", -1);
	it = cJSON_GetObjectItem(p->json, "grace_ms");
	p->grace_ms = cJSON_IsNumber(it) ? it->valueint : 3000;
	p->cwd = json_str(p->json, "cwd", NULL);
	p->log_dir = json_str(p->json, "log_dir", NULL);
	p->outputs = json_str(p->json, "outputs", NULL);
	p->metrics = json_int(p->json, "metrics", 0) != 0;
	p->flight = json_int(p->json, "flight", 0) != 0;
	p->beat_ms = json_int(p->json, "beat_ms", 0);
	if (p->beat_ms < 0)
		p->beat_ms = 0;
	if (decode_place(cJSON_GetObjectItem(p->json, "place"),
	    &p->place) != 0)
		return -2;
	return decode_ranks(ranks, p) == 0 ? 0 : -2;
}

void
lch_rec_plan_release(struct lch_rec_plan *p)
{
	int i;

	if (p->ranks)
		for (i = 0; i <= p->nranks; i++)
			free(p->ranks[i].env);
	free(p->ranks);
	free(p->argv);
	cJSON_Delete(p->json);
	memset(p, 0, sizeof(*p));
}

void
lch_rec_prefix(char buf[LCH_REC_PREFIX_MAX], int stream, int rank)
{
	snprintf(buf, LCH_REC_PREFIX_MAX, "%c[%d] ",
	    stream ? LCH_REC_ERR : LCH_REC_OUT, rank);
}

void
lch_rec_tag(char buf[LCH_REC_PREFIX_MAX], int rank)
{
	snprintf(buf, LCH_REC_PREFIX_MAX, "[%d] ", rank);
}

void
lch_rec_add_start(struct lch_strbuf *sb, int rank, int pid)
{
	lch_strbuf_addf(sb, "%c[%d] %d\n", LCH_REC_START, rank, pid);
}

void
lch_rec_add_end(struct lch_strbuf *sb, int type, int rank, int num, int code)
{
	lch_strbuf_addf(sb, "%c[%d] %d %d\n", type, rank, num, code);
}

void
lch_rec_add_facts(struct lch_strbuf *sb, int node, const char *json)
{
	lch_strbuf_addf(sb, "%c[%d] %s\n", LCH_REC_FACTS, node, json);
}

void
lch_rec_add_lost(struct lch_strbuf *sb, int node, int kind, int code,
		 const char *text, size_t n)
{
	size_t i, start;

	lch_strbuf_addf(sb, "%c[%d] %d %d ", LCH_REC_LOST, node, kind, code);
	start = sb->len;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	for (i = 0; i < n && sb->len - start < LCH_REC_LOST_TEXT; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n')
			lch_strbuf_add(sb, "; ", 2);
		else
			lch_strbuf_addch(sb, c < 0x20 || c == 0x7f ? ' ' :
			    (char)c);
	}
	if (sb->len - start > LCH_REC_LOST_TEXT)
		lch_strbuf_setlen(sb, start + LCH_REC_LOST_TEXT);
	lch_strbuf_addch(sb, '\n');
}
