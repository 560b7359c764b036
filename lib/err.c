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
