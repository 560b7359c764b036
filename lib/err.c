/*
 * err.c: the error text (see err.h), and
 * muster_comm_last_error, which reads it back; the backends' fault
 * setter (backend.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include "backend.h"
#include "comm.h"
#include "err.h"

/* Errors of calls that have no communicator (init, group calls). */
static __thread char tls_err[MST_ERRLEN];

muster_result
mst_vfail(muster_comm *c, muster_result rv, const char *fmt, va_list ap)
{
	char *buf = c ? c->err : tls_err;
	size_t n = c ? sizeof(c->err) : sizeof(tls_err);

	vsnprintf(buf, n, fmt, ap);
	return rv;
}

muster_result
mst_fail(muster_comm *c, muster_result rv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mst_vfail(c, rv, fmt, ap);
	va_end(ap);
	return rv;
}

char *
mst_thread_err(void)
{
	return tls_err;
}

const char *
muster_comm_last_error(const muster_comm *comm)
{
	return comm ? comm->err : tls_err;
}

muster_result
mst_fault_set(struct mst_fault *f, enum mst_fault_kind kind,
	      muster_result code, int rank, const char *fmt, ...)
{
	va_list ap;

	f->code = code;
	f->kind = kind;
	f->rank = rank;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return code;
}

static const char *
dtype_name(unsigned dt)
{
	static const char *const n[] = { "int8", "uint8", "int32", "uint32",
	    "int64", "uint64", "float16", "bfloat16", "float32", "float64" };

	return dt < sizeof(n) / sizeof(n[0]) ? n[dt] : "?";
}

static const char *
op_name(unsigned op)
{
	static const char *const n[] = { "sum", "prod", "min", "max", "avg" };

	return op < sizeof(n) / sizeof(n[0]) ? n[op] : "?";
}

/* "allreduce(1000 x float32, sum)" and the like. */
static void
desc_text(char *b, size_t n, const struct mst_desc *d)
{
	unsigned long long cnt = (unsigned long long)d->count;

	switch (d->kind) {
	case MST_K_ALLREDUCE:
		snprintf(b, n, "allreduce(%llu x %s, %s)", cnt,
		    dtype_name(d->dtype), op_name(d->op));
		break;
	case MST_K_BROADCAST:
		snprintf(b, n, "broadcast(%llu x %s, root %d)", cnt,
		    dtype_name(d->dtype), (int)d->extra);
		break;
	case MST_K_ALLGATHER:
		snprintf(b, n, "allgather(%llu x %s)", cnt,
		    dtype_name(d->dtype));
		break;
	case MST_K_BARRIER:
		snprintf(b, n, "barrier()");
		break;
	case MST_K_GROUP:
		snprintf(b, n, "a group of %u%s allreduces(%llu x %s in all, "
		    "%s, sizes #%08x)", (unsigned)d->nops, d->nops == 255 ?
		    "+" : "", cnt, dtype_name(d->dtype), op_name(d->op),
		    (unsigned)d->extra);
		break;
	default:
		snprintf(b, n, "an unknown collective (%u)", (unsigned)d->kind);
	}
}

muster_result
mst_fault_mismatch(struct mst_fault *f, int a, const struct mst_desc *da,
		   int b, const struct mst_desc *db)
{
	char ta[128], tb[128];

	if (a < b) {
		const struct mst_desc *dt = da;
		int t = a;
		a = b;
		b = t;
		da = db;
		db = dt;
	}
	desc_text(ta, sizeof(ta), da);
	desc_text(tb, sizeof(tb), db);
	return mst_fault_set(f, MST_FAULT_MISMATCH, MUSTER_EINVAL, a,
	    "mismatched collective: rank %d called %s, rank %d %s", a, ta, b,
	    tb);
}
