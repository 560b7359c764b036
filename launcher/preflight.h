/*
 * preflight.h: `muster --check`, `--preflight` and the hidden `--probe`.
 *
 * The check reaches every host at once: a local one (this machine) by
 * forking `muster --probe`, another through ssh (remote.h, so the same
 * muster-path rule as the agents').  The probe gathers its host's facts
 * (facts.h: the address it would advertise, routed toward the address
 * this machine has toward it, --iface honoured; one free port; the
 * program checked as execvp would, in the launcher's folder) and prints
 * them as one JSON line.  Each host has --check-timeout seconds to answer.
 * A host passes when it answered, with our version, and the program (if
 * one is given) is found and executable there.
 *
 * One line per host, in the order given:
 *
 *	h2: ok: reachable (ssh), muster 0.1.0 at /opt/bin/muster, program
 *	    /usr/bin/python3, address 10.200.0.2 (eth1), free port 41234,
 *	    clock offset +2 ms
 *	h3: FAILED: ssh failed (exit 255): ssh: connect to host h3 ...
 *
 * The clock offset is the host's wall clock minus the midpoint of when
 * we asked for it and when its answer came (the probe waits for the
 * question after ssh has connected: "sync" then "go"), so it is good to
 * about half the round trip.
 */
#ifndef LCH_PREFLIGHT_H
#define LCH_PREFLIGHT_H

#include "options.h"

/* `muster --check`: 0 when every host passes, 1 when one fails, 2 bad input. */
int lch_check_main(struct lch_opts *o);

/*
 * --preflight, before a job (o finished): 0 when every host of the job
 * passes (silent, but for -v); else the failing hosts' lines on stderr and
 * -1: the caller exits 1 and launches nothing.
 */
int lch_preflight_run(const struct lch_opts *o);

/*
 * `muster --probe [--sync] [--toward ADDR] [--iface SPEC] [--cwd DIR]
 * [--ports N] [--program PROG]` (argv[0] is "--probe"): prints the facts
 * as one JSON line (with "self", this binary's path), exit 0; bad usage or
 * facts it cannot gather: a line on stderr, exit 2.  --sync: print "sync"
 * once the facts are gathered and read a line before reading the clock.
 */
int lch_probe_main(int argc, char **argv);

#endif /* LCH_PREFLIGHT_H */
