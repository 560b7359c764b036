#!/bin/sh
# Bad input: one clear line naming the input, exit 2, nothing started.
. "$(dirname "$0")/lib.sh"

bad "-n 'x'" -n x -- $P
bad "-n '0'" -n 0 -- $P
bad "-n '-3'" -n -3 -- $P
bad "-np '99999999999'" -np 99999999999 -- $P
bad "needs a value" -n
bad "unknown option '--frobnicate'" --frobnicate -- $P
bad "--ssh ' ': expected a command" --ssh ' ' -H a,b -- $P
bad "'-oProxyCommand=x': not a valid host name" -H a,-oProxyCommand=x -- $P
bad "'--dry-run' takes no value" --dry-run=yes -- $P
bad "no program given" -n 2
bad "--nodes '0'" --nodes 0 -- $P
bad "--procs-per-node 'two'" --procs-per-node two -- $P
bad "-n 5: not a multiple of --nodes 2" -n 5 --nodes 2 -- $P
bad "-n 5: --nodes 2 x --procs-per-node 2 gives 4" -n 5 --nodes 2 --procs-per-node 2 -- $P
bad "-H: 'a:0'" -H a:0 -- $P
bad "-H: 'a:x'" -H a:x -- $P
bad "empty host name" -H a,,b -- $P
bad "'-oProxyCommand=x': not a valid host name" -H -oProxyCommand=x -- $P
bad "-n 9: the hosts give only 8 slots" -n 9 -H a:4,b:4 -- $P
bad "--nodes 3: only 2 hosts given" --nodes 3 -H a:4,b:4 -- $P
bad "hostfile '$T/nohosts'" --hostfile $T/nohosts -- $P
printf 'node1 slots=4\nnode2 slots=lots\n' > $T/hf
bad "hostfile '$T/hf' line 2: 'slots=lots'" --hostfile $T/hf -- $P
printf 'node1 cpus=4\n' > $T/hf2
bad "hostfile '$T/hf2' line 1: unexpected 'cpus=4'" --hostfile $T/hf2 -- $P
bad "-H or --hostfile, not both" -H a --hostfile $T/hf -- $P
bad "--timeout 'soon'" --timeout soon -- $P
bad "--timeout '-1'" --timeout -1 -- $P
bad "--grace 'x'" --grace x -- $P
bad "--max-restarts '-1'" --max-restarts -1 -- $P
bad "-x '1BAD'" -x 1BAD -- $P
bad "-x '=v'" -x =v -- $P
bad "--rendezvous 'http://x'" --rendezvous http://x -- $P
bad "--master-port '70000'" --master-port 70000 -- $P
bad "--job-id 'a b'" --job-id "a b" -- $P
bad "-n 3: parameter-server mode runs 4 tasks" -n 3 --ps 1 --workers 2 --chief -- $P
bad "--workers 0: parameter-server mode needs" --ps 1 --workers 0 -- $P
bad "--mpi: not available in parameter-server mode" --mpi --ps 1 --workers 1 -- $P
bad "config '$T/none.json'" --config $T/none.json -- $P
printf '{"np": 2,' > $T/trunc.json
bad "config '$T/trunc.json': invalid JSON" --config $T/trunc.json -- $P
printf '[1,2]' > $T/arr.json
bad "config '$T/arr.json': expected a JSON object" --config $T/arr.json -- $P
printf '{"np": "many"}' > $T/np.json
bad "config '$T/np.json': \"np\" 'many'" --config $T/np.json -- $P
printf '{"np": 2.5}' > $T/np2.json
bad "config '$T/np2.json': \"np\": expected a string or a whole number" --config $T/np2.json -- $P
printf '{"colour": "red"}' > $T/key.json
bad "config '$T/key.json': unknown key \"colour\"" --config $T/key.json -- $P
printf '{"program": "ls"}' > $T/prog.json
bad "\"program\" must be a non-empty list" --config $T/prog.json
printf '{"chief": "yes"}' > $T/chief.json
bad "\"chief\": expected true or false" --config $T/chief.json -- $P
printf '{"env": [1]}' > $T/env.json
bad "\"env\": expected strings" --config $T/env.json -- $P
head -c 2000000 /dev/zero | tr '\0' ' ' > $T/big.json
bad "expected a regular file under" --config $T/big.json -- $P
bad "config '/dev/null'" --config /dev/null -- $P
bad "config '-': No such file" --config - -- $P

# the messages are one line each, even for a NUL in a hostfile
printf 'node1\0 slots=2\n' > $T/nul
bad "hostfile '$T/nul' line 1" --hostfile $T/nul -- $P
done_testing
