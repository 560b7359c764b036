/*
 * stall_loop: a rank for the hang-forensics tests (t7100): prints a
 * line every 0.2 s from stall_loop_wait, a function whose name the
 * stack snapshots must show (built with -g, never inlined).
 *
 *	stall_loop [N]	N lines, then exit 0 (default: forever)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void stall_loop_wait(void) __attribute__((noinline));

void
stall_loop_wait(void)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	__asm__ volatile("" ::: "memory");	/* no tail call */
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : -1, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; n < 0 || i < n; i++) {
		printf("tick %ld\n", i);
		stall_loop_wait();
	}
	return 0;
}
