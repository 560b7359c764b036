/* reply.c: see reply.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "reply.h"

cJSON *
rdv_reply_new(struct rdv_core *c, double req_id)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "v", RDV_VERSION);
	cJSON_AddNumberToObject(o, "id", req_id);
	cJSON_AddBoolToObject(o, "ok", 1);
	cJSON_AddStringToObject(o, "sid", c->sid_str);
	return o;
}

void
rdv_send_json(struct rdv_core *c, const struct rdv_id *to, cJSON *o)
{
	char *s;

	if (o == NULL)
		return;
	if ((s = cJSON_PrintUnformatted(o)) != NULL) {
		/* requests are valid UTF-8, but a cut ("%.32s") may split a
		 * character: what goes out is valid UTF-8 JSON all the same */
		mst_utf8_fix(s, strlen(s));
		c->send(c->send_arg, to, s, strlen(s));
		cJSON_free(s);
	}
	cJSON_Delete(o);
}

void
rdv_reply_ok(struct rdv_core *c, const struct rdv_id *to, double req_id)
{
	rdv_send_json(c, to, rdv_reply_new(c, req_id));
}

void
rdv_reply_err(struct rdv_core *c, const struct rdv_id *to, double req_id,
	      const char *code, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	cJSON *o;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if ((o = rdv_reply_new(c, req_id)) == NULL)
		return;
	cJSON_ReplaceItemInObject(o, "ok", cJSON_CreateBool(0));
	cJSON_AddStringToObject(o, "code", code);
	cJSON_AddStringToObject(o, "error", text);
	rdv_send_json(c, to, o);
}

void
rdv_reply_val(struct rdv_core *c, const struct rdv_id *to, double req_id,
	      const char *val)
{
	cJSON *o;

	if ((o = rdv_reply_new(c, req_id)) == NULL)
		return;
	cJSON_AddStringToObject(o, "val", val);
	rdv_send_json(c, to, o);
}

void
rdv_reply_join(struct rdv_core *c, struct rdv_member *m, struct rdv_waiter *w)
{
	struct rdv_group *g = &m->job->groups[m->kind];
	cJSON *o = rdv_reply_new(c, w->req_id);
	char mid[48];

	if (o == NULL)
		return;
	snprintf(mid, sizeof(mid), "%zx.%llx", m->slot,
	    (unsigned long long)m->token);
	cJSON_AddNumberToObject(o, "rank", m->rank);
	cJSON_AddNumberToObject(o, "size", g->size);
	cJSON_AddNumberToObject(o, "local_rank", m->local_rank);
	cJSON_AddNumberToObject(o, "local_size", m->local_size);
	cJSON_AddNumberToObject(o, "node_rank", m->node_rank);
	cJSON_AddNumberToObject(o, "num_nodes", m->num_nodes);
	cJSON_AddNumberToObject(o, "generation", (double)g->generation);
	cJSON_AddNumberToObject(o, "hb_ms", c->heartbeat_ms);
	cJSON_AddStringToObject(o, "mid", mid);
	rdv_send_json(c, &w->to, o);
}

void
rdv_reply_peers(struct rdv_core *c, const struct rdv_id *to, double req_id,
		const struct rdv_group *g)
{
	cJSON *o, *a;
	int i;

	if ((o = rdv_reply_new(c, req_id)) == NULL ||
	    (a = cJSON_AddArrayToObject(o, "hosts")) == NULL) {
		cJSON_Delete(o);
		return;
	}
	for (i = 0; i < g->size; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(g->m[i]->host));
	rdv_send_json(c, to, o);
}

/* Size, joined and complete of each group, as "nodes" and "workers". */
static void
status_groups(cJSON *o, const struct rdv_job *j)
{
	char name[32];
	cJSON *g;
	int k;

	for (k = 0; k < RDV_KINDS; k++) {
		snprintf(name, sizeof(name), "%ss", rdv_kind_name(k));
		g = cJSON_AddObjectToObject(o, name);
		cJSON_AddNumberToObject(g, "size", j->groups[k].size);
		cJSON_AddNumberToObject(g, "joined", j->groups[k].joined);
		cJSON_AddBoolToObject(g, "complete", j->groups[k].complete);
	}
}

static cJSON *
status_member(const struct rdv_core *c, const struct rdv_member *p)
{
	cJSON *m;

	if ((m = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(m, "kind", rdv_kind_name(p->kind));
	cJSON_AddNumberToObject(m, "rank", p->rank);
	cJSON_AddStringToObject(m, "host", p->host);
	cJSON_AddNumberToObject(m, "idle_ms", (double)(c->now - p->last_seen));
	cJSON_AddBoolToObject(m, "left", p->left);
	return m;
}

static cJSON *
status_job(const struct rdv_core *c, const struct rdv_job *j)
{
	cJSON *o = cJSON_CreateObject(), *a, *m;
	size_t i;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "job", j->name);
	cJSON_AddNumberToObject(o, "generation",
	    (double)j->groups[RDV_KIND_WORKER].generation);
	cJSON_AddBoolToObject(o, "aborted", j->aborted);
	if (j->why)
		cJSON_AddStringToObject(o, "why", j->why);
	cJSON_AddNumberToObject(o, "keys", (double)j->kv_n);
	status_groups(o, j);
	a = cJSON_AddArrayToObject(o, "members");
	for (i = 0; a && i < j->nall; i++)
		if (j->all[i] && (m = status_member(c, j->all[i])) != NULL)
			cJSON_AddItemToArray(a, m);
	return o;
}

void
rdv_reply_status(struct rdv_core *c, const struct rdv_id *to, double req_id)
{
	cJSON *o = rdv_reply_new(c, req_id), *a;
	struct rdv_job *j;

	if (o == NULL)
		return;
	cJSON_AddNumberToObject(o, "heartbeat_ms", c->heartbeat_ms);
	cJSON_AddNumberToObject(o, "messages", (double)c->msgs);
	cJSON_AddNumberToObject(o, "bad_messages", (double)c->bad);
	cJSON_AddNumberToObject(o, "expired_jobs", (double)c->expired);
	cJSON_AddNumberToObject(o, "members", c->nmembers);
	a = cJSON_AddArrayToObject(o, "jobs");
	for (j = c->jobs; a && j; j = j->next)
		cJSON_AddItemToArray(a, status_job(c, j));
	rdv_send_json(c, to, o);
}

void
rdv_event_abort(struct rdv_core *c, const struct rdv_member *m,
		const struct rdv_job *j)
{
	cJSON *ev;

	if ((ev = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddNumberToObject(ev, "v", RDV_VERSION);
	cJSON_AddStringToObject(ev, "ev", "abort");
	cJSON_AddStringToObject(ev, "job", j->name);
	cJSON_AddStringToObject(ev, "why", j->why ? j->why : "aborted");
	rdv_send_json(c, &m->id, ev);
}
