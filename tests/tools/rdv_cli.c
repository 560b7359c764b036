/*
 * rdv_cli: the rendezvous client from the shell, for tests (git's
 * test-tool).  The job secret comes from $MUSTER_JOB_SECRET (never argv);
 * the CURVE server key, if any, from $MUSTER_RDV_KEY; musterd's admin
 * secret, for create, from the file $MUSTER_ADMIN_SECRET_FILE names.
 *
 *   rdv_cli EP JOB create
 *   rdv_cli EP JOB set KEY VALUE
 *   rdv_cli EP JOB get KEY WAIT_MS
 *   rdv_cli EP JOB join KIND HOST RANK SIZE WAIT_MS [HOLD_MS]
 *   rdv_cli EP JOB abort WHY
 *   rdv_cli EP JOB status          (the server's jobs, JSON)
 *   rdv_cli EP - raw JSON         (one frame; prints the reply)
 *
 * Prints results on stdout, errors on stderr; exit 0 ok, 1 error.
 * join prints "rank R size S local_rank L local_size LS node_rank N
 * num_nodes NN generation G", then holds HOLD_MS while polling for an
 * abort (prints "aborted: WHY", exit 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "clock.h"
#include "rdv_client.h"
#include "rdv_proto.h"

static int
raw(const char *ep, const char *json)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
	int zero = 0, to = 3000, n;
	char buf[70000];

	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &to, sizeof(to));
	if (zmq_connect(s, ep) != 0 || zmq_send(s, json, strlen(json), 0) < 0 ||
	    (n = zmq_recv(s, buf, sizeof(buf) - 1, 0)) < 0) {
		fprintf(stderr, "rdv_cli: %s\n", zmq_strerror(zmq_errno()));
		return 1;
	}
	buf[n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1] = '\0';
	printf("%s\n", buf);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}

static int
hold(mst_rdv *r, int ms)
{
	uint64_t end = mst_now_ms() + (uint64_t)ms;
	char why[512];

	while (mst_now_ms() < end) {
		if (mst_rdv_poll_abort(r, why, sizeof(why)) != MUSTER_OK) {
			printf("aborted: %s\n", why);
			fflush(stdout);
			return 3;
		}
		usleep(10 * 1000);
	}
	return 0;
}

static int
run(mst_rdv *r, int argc, char **argv)
{
	const char *cmd = argv[3];
	struct mst_rdv_member m;
	muster_result rv = MUSTER_EINVAL;
	void *v;
	size_t len;

	if (strcmp(cmd, "create") == 0) {
		rv = mst_rdv_create(r);
	} else if (strcmp(cmd, "set") == 0 && argc == 6) {
		rv = mst_rdv_kv_set(r, argv[4], argv[5], strlen(argv[5]));
	} else if (strcmp(cmd, "get") == 0 && argc == 6) {
		if ((rv = mst_rdv_kv_get(r, argv[4], &v, &len,
		    atoi(argv[5]))) == MUSTER_OK) {
			printf("%.*s\n", (int)len, (char *)v);
			free(v);
		}
	} else if (strcmp(cmd, "status") == 0 && argc == 4) {
		char *json;
		if ((rv = mst_rdv_status(r, &json)) == MUSTER_OK) {
			printf("%s\n", json);
			free(json);
		}
	} else if (strcmp(cmd, "abort") == 0 && argc == 5) {
		rv = mst_rdv_abort(r, argv[4]);
	} else if (strcmp(cmd, "join") == 0 && (argc == 9 || argc == 10)) {
		rv = mst_rdv_join(r, argv[4], argv[5], atoi(argv[6]),
		    atoi(argv[7]), atoi(argv[8]), &m);
		if (rv == MUSTER_OK) {
			printf("rank %d size %d local_rank %d local_size %d "
			    "node_rank %d num_nodes %d generation %llu\n",
			    m.rank, m.size, m.local_rank, m.local_size,
			    m.node_rank, m.num_nodes,
			    (unsigned long long)m.generation);
			fflush(stdout);
			if (argc == 10)
				return hold(r, atoi(argv[9]));
		}
	} else {
		fprintf(stderr, "rdv_cli: bad command\n");
		return 2;
	}
	if (rv != MUSTER_OK) {
		fprintf(stderr, "rdv_cli: %s\n", mst_rdv_error(r));
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *secret = getenv("MUSTER_JOB_SECRET");
	struct mst_rdv_opts o = { .timeout_ms = 3000 };
	char admin[1100];
	mst_rdv *r;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: rdv_cli EP JOB CMD ARGS...\n");
		return 2;
	}
	if (strcmp(argv[3], "raw") == 0 && argc == 5)
		return raw(argv[1], argv[4]);
	o.endpoint = argv[1];
	o.job = argv[2];
	o.secret = secret ? secret : "";
	o.server_key = getenv("MUSTER_RDV_KEY");
	if (strcmp(argv[3], "create") == 0 &&
	    mst_rdv_load_admin_secret(admin, sizeof(admin)) == MUSTER_OK)
		o.admin_secret = admin;	/* only create: it changes the key */
	if (mst_rdv_open(&r, &o) != MUSTER_OK) {
		fprintf(stderr, "rdv_cli: cannot open %s\n", argv[1]);
		return 1;
	}
	rc = run(r, argc, argv);
	mst_rdv_close(r);
	return rc;
}
