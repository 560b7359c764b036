/* main.c: muster's entry point. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "dial.h"
#include "head.h"
#include "join.h"
#include "mpi.h"
#include "muster.h"
#include "options.h"
#include "preflight.h"
#include "runs.h"

int
main(int argc, char **argv)
{
	struct lch_opts o;
	int code;

	/* hidden, and parsed apart: the other end of --check (preflight.h) */
	if (argc > 1 && strcmp(argv[1], "--probe") == 0)
		return lch_probe_main(argc - 1, argv + 1);
	/* muster runs|show|plot|compare: the run records (runs.h); a
	   program of such a name runs with `muster -- show` */
	if (argc > 1 && lch_runs_is_command(argv[1]))
		return lch_runs_main(argc - 1, argv + 1);
	lch_opts_init(&o);
	if (lch_opts_parse(&o, argc, argv) != 0) {
		lch_opts_release(&o);
		return 2;
	}
	switch (o.mode) {
	case LCH_HELP:
		lch_usage(0);
		code = 0;
		break;
	case LCH_VERSION:
		printf("muster %s\n", MUSTER_VERSION_STRING);
		code = 0;
		break;
	case LCH_AGENT:
		/* in a Slurm step: connect back to the head first (slurm.h) */
		lch_agent_dialled = o.dial != NULL;
		if (o.dial && lch_dial_agent(o.dial, lch_node_name()) != 0)
			code = 2;
		else
			code = lch_agent_main();
		break;
	case LCH_MPI_RANK:
		code = lch_mpi_rank_main(&o);
		break;
	case LCH_JOIN:
		code = lch_opts_finish_join(&o) != 0 ? 2 : lch_join_main(&o);
		break;
	case LCH_CHECK:
		code = lch_check_main(&o);
		break;
	default:
		if (lch_opts_finish(&o) != 0)
			code = 2;
		else if (o.preflight && lch_preflight_run(&o) != 0)
			code = 1;	/* the failing hosts are named */
		else
			code = lch_head_run(&o);
		break;
	}
	lch_opts_release(&o);
	return code;
}
