/*
 * clock.h: the one clock of muster (CLOCK_MONOTONIC): deadlines, timeouts
 * and measured intervals in the launcher, the rendezvous and libmuster.
 * Shared (common/).
 */
#ifndef MST_CLOCK_H
#define MST_CLOCK_H

#include <stdint.h>

/* Seconds since an arbitrary start, nanosecond resolution. */
double   mst_now(void);
/* Milliseconds on the same clock. */
uint64_t mst_now_ms(void);

#endif /* MST_CLOCK_H */
