#!/bin/sh
# --config with Azure ML's ScriptRunConfig / Estimator names, each mapped
# onto muster's options: checked in the --dry-run plan, and by real runs
# where the plan cannot show it (the time limit, the ranks' folder).
. "$(dirname "$0")/lib.sh"

mkdir -p $T/job/src $T/job/deep
printf '#!/bin/sh\npwd; echo "FOO=$FOO"\n' > $T/job/src/run.sh
chmod +x $T/job/src/run.sh
echo 'print("hi")' > $T/job/src/train.py
SRC=$(cd $T/job/src && pwd -P)

# plan FILE [muster args]: the dry run, one line per rank, as FIELDS
# (a python expression over the rank's object e)
plan() {
	pl_file=$1 pl_expr=$2
	shift 2
	$MUSTER --config $pl_file --dry-run "$@" > $T/plan 2> $T/plan.err ||
	    { echo "dry run failed: $(cat $T/plan.err)"; return; }
	$PY -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l); env = e["env"]
    print(eval(sys.argv[2]))' $T/plan "$pl_expr" | tr '\n' ';'
}
cfg() { cat > $T/job/$1; }

# ScriptRunConfig: source_directory (from the file's folder), a .py
# script under python3, its arguments as Python's str() writes them
cfg a.json <<'EOF'
{"source_directory": "src", "script": "train.py",
 "arguments": ["--epochs", 3, "--lr", 0.1, "--x", 2.5e-7, "--cuda", true, "--no", false, "-s", "a b"]}
EOF
is "script + arguments: python3, the script in source_directory" \
	"$(plan $T/job/a.json 'e["argv"], e["cwd"]')" \
	"(['python3', '$SRC/train.py', '--epochs', '3', '--lr', '0.1', '--x', '2.5e-07', '--cuda', 'True', '--no', 'False', '-s', 'a b'], '$SRC');"
# not a .py: the script itself; without source_directory, from here
cfg b.json <<'EOF'
{"script": "run.sh", "arguments": []}
EOF
is "a script that is no .py runs as a program, from this folder" \
	"$(cd $T/job/src && plan ../b.json 'e["argv"], "cwd" in e')" "(['./run.sh'], False);"
cfg b2.json <<'EOF'
{"source_directory": "./src/../src", "script": "run.sh"}
EOF
is "a script that is no .py, in source_directory" \
	"$(plan $T/job/b2.json 'e["argv"], e["cwd"]')" "(['$SRC/run.sh'], '$SRC');"
# Estimator: entry_script + script_params ({"--flag": value}; null: the flag alone)
cfg c.json <<'EOF'
{"source_directory": "src", "entry_script": "train.py",
 "script_params": {"--data-folder": "/data", "--reg": 0.5, "--verbose": null, "--n": 10}}
EOF
is "entry_script + script_params" "$(plan $T/job/c.json 'e["argv"][2:]')" \
	"['--data-folder', '/data', '--reg', '0.5', '--verbose', '--n', '10'];"

# counts: node_count x process_count_per_node
cfg d.json <<'EOF'
{"script": "train.py", "node_count": 2, "process_count_per_node": 3}
EOF
is "node_count, process_count_per_node" "$(plan $T/job/d.json 'e["rank"], e["node_rank"]')" \
	"(0, 0);(1, 0);(2, 0);(3, 1);(4, 1);(5, 1);"
# mpi (Horovod-style): plain muster launching, Horovod's names set
cfg e.json <<'EOF'
{"script": "train.py", "distributed_job_config": {"type": "mpi", "process_count_per_node": 2, "node_count": 2}}
EOF
is "type mpi: plain launching with HOROVOD_* names" \
	"$(plan $T/job/e.json 'e["launcher"], e["node_rank"], env["HOROVOD_RANK"], env["HOROVOD_LOCAL_SIZE"]')" \
	"('local', 0, '0', '2');('local', 0, '1', '2');('local', 1, '2', '2');('local', 1, '3', '2');"
cfg e2.json <<'EOF'
{"script": "train.py", "node_count": 2, "distributed_training": {"_distributed_training_type": "MpiConfiguration", "process_count_per_node": 1}}
EOF
is "MpiConfiguration under distributed_training, node_count at the top" \
	"$(plan $T/job/e2.json 'e["node_rank"]')" "0;1;"
cfg e3.json <<'EOF'
{"script": "train.py", "distributed_training": "mpi", "process_count_per_node": 2}
EOF
is "distributed_training as a string" "$(plan $T/job/e3.json 'e["rank"]')" "0;1;"
# parameter_server: TF_CONFIG tasks
cfg f.json <<'EOF'
{"script": "train.py", "distributed_job_config": {"type": "parameter_server", "worker_count": 2, "parameter_server_count": 1}}
EOF
is "type parameter_server: workers and ps" \
	"$(plan $T/job/f.json 'json.loads(env["TF_CONFIG"])["task"]["type"]')" "worker;worker;ps;"
cfg f2.json <<'EOF'
{"script": "train.py", "distributed_training": {"type": "TensorflowConfiguration"}}
EOF
is "TensorflowConfiguration's defaults: a worker and a server" \
	"$(plan $T/job/f2.json 'json.loads(env["TF_CONFIG"])["task"]["type"]')" "worker;ps;"
# pytorch: process_count over node_count
cfg g.json <<'EOF'
{"script": "train.py", "distributed_job_config": {"_distributed_training_type": "PyTorchConfiguration", "process_count": 4, "node_count": 2, "communication_backend": "nccl"}}
EOF
is "type pytorch: process_count over node_count" \
	"$(plan $T/job/g.json 'e["node_rank"], env["WORLD_SIZE"], env["LOCAL_WORLD_SIZE"]')" \
	"(0, '4', '2');(0, '4', '2');(1, '4', '2');(1, '4', '2');"
# environment_variables: -x K=V
cfg h.json <<'EOF'
{"script": "train.py", "environment_variables": {"FOO": "bar baz", "N": "1"}, "env": {"N": "1"}}
EOF
is "environment_variables (and env saying the same)" \
	"$(plan $T/job/h.json 'env["FOO"], env["N"]')" "('bar baz', '1');"
# the same thing said twice, alike: fine
cfg i.json <<'EOF'
{"script": "train.py", "node_count": 2, "nodes": 2, "process_count_per_node": 1,
 "distributed_job_config": {"type": "mpi", "process_count_per_node": 1}, "procs_per_node": "1"}
EOF
is "node_count and nodes alike" "$(plan $T/job/i.json 'e["node_rank"]')" "0;1;"
# the command line wins over the file
is "command-line counts and program win" \
	"$(plan $T/job/d.json 'e["argv"], e["node_rank"]' --nodes 1 --procs-per-node 2 -- echo hi)" \
	"(['echo', 'hi'], 0);(['echo', 'hi'], 0);"

# Azure-only keys: ignored, one note with -v, nothing without
cfg j.json <<'EOF'
{"script": "train.py", "compute_target": "gpu-cluster", "environment": {"name": "AzureML-Minimal"},
 "docker": {"enabled": true}, "distributed_job_config": {"type": "pytorch", "communication_backend": "nccl"}}
EOF
$MUSTER --config $T/job/j.json --dry-run > /dev/null 2> $T/err
is "Azure-only keys: silent without -v" "$?:$(cat $T/err)" "0:"
$MUSTER --config $T/job/j.json --dry-run -v > /dev/null 2> $T/err
is "Azure-only keys: one note with -v" "$(grep -c 'Azure ML keys ignored' $T/err):$(grep 'Azure ML keys ignored' $T/err)" \
	"1:muster: config '$T/job/j.json': Azure ML keys ignored (muster runs on the hosts and software it is given): compute_target, environment, docker, distributed_job_config.communication_backend"

# real runs: the ranks run in source_directory with the variables;
# max_run_duration_seconds is the time limit
cfg k.json <<'EOF'
{"source_directory": "src", "script": "run.sh", "node_count": 2, "environment_variables": {"FOO": "from-azure"}}
EOF
(cd $T && $MUSTER --no-record --config $T/job/k.json) > $T/out 2>&1
is "a run: each rank in source_directory, with its variables" "$?:$(sort $T/out | tr '\n' ';')" \
	"0:[0] $SRC;[0] FOO=from-azure;[1] $SRC;[1] FOO=from-azure;"
cfg l.json <<'EOF'
{"script": "sleep", "arguments": [30], "max_run_duration_seconds": 0.5}
EOF
printf '#!/bin/sh\nexec sleep "$@"\n' > $T/sleep
chmod +x $T/sleep
start=$(now_ms)
(cd $T && $MUSTER --no-record --config $T/job/l.json) > $T/out 2>&1
rc=$?
ms=$(($(now_ms) - start))
is "max_run_duration_seconds: the time limit (exit 124 after ${ms} ms)" "$rc" 124
ok_if "max_run_duration_seconds: stopped in time" [ $ms -lt 5000 ]
# the example in examples/ (its script falls back to $MUSTER_METRICS lines)
is "examples/azureml-job.json plans 4 ranks on 2 nodes in examples/" \
	"$(plan examples/azureml-job.json 'e["node_rank"], e["argv"][:2] == ["python3", e["cwd"] + "/azureml_train.py"], e["cwd"] == "'"$ROOT"'/examples"')" \
	"(0, True, True);(0, True, True);(1, True, True);(1, True, True);"
cp -r examples $T/ex
(cd $T && $MUSTER --no-record --config $T/ex/azureml-job.json -x MUSTER_METRICS=$T/m.txt) > $T/out 2>&1
is "examples/azureml-job.json runs" "$?:$(grep -c 'rank [0-3]/4: w=' $T/out)" "0:4"
ok_if "examples: rank 0 saved its model" [ -s $T/ex/outputs/model.json ]
ok_if "examples: metric lines (muster.run's JSON, or the text form)" \
	grep -Eq '^loss [0-9.e-]* 19$|^\{"name":"loss","value":[0-9.e-]*,' $T/m.txt

# bad input: one line naming the keys, exit 2
# b JSON WANT: the file refused, naming WANT
nbad=0
b() {
	nbad=$((nbad + 1))
	printf '%s\n' "$1" > $T/job/bad$nbad.json
	bad "$2" --config $T/job/bad$nbad.json --dry-run
}
b '{"script": "train.py", "node_count": 2, "nodes": 3}' \
	"config '$T/job/bad1.json': \"node_count\" 2 and \"nodes\" 3 differ (give one)"
b '{"script": "t.py", "process_count_per_node": 2, "distributed_job_config": {"type": "mpi", "process_count_per_node": 4}}' \
	"\"process_count_per_node\" 2 and \"distributed_job_config.process_count_per_node\" 4 differ"
b '{"script": "t.py", "timeout": 5, "max_run_duration_seconds": 6}' \
	"\"max_run_duration_seconds\" 6 and \"timeout\" 5 differ"
b '{"script": "t.py", "np": 2, "distributed_job_config": {"type": "pytorch", "process_count": 4}}' \
	"\"distributed_job_config.process_count\" 4 and \"np\" 2 differ"
b '{"script": "t.py", "environment_variables": {"A": "1"}, "env": ["A=2"]}' \
	"\"environment_variables\" A=1 and \"env\" A=2 differ"
b '{"script": "t.py", "distributed_training": {"type": "mpi"}, "distributed_job_config": {"type": "mpi"}}' \
	"give \"distributed_training\" or \"distributed_job_config\", not both"
b '{"script": "t.py", "distributed_job_config": {"type": "horovod2"}}' \
	"\"distributed_job_config\": type 'horovod2': expected mpi, parameter_server or pytorch"
b '{"script": "t.py", "distributed_job_config": {"type": 3}}' \
	"type (not a string): expected mpi"
b '{"script": "t.py", "distributed_job_config": {"type": "mpi", "worker_count": 2}}' \
	"\"distributed_job_config\": unknown key \"worker_count\" for type mpi"
b '{"script": "t.py", "distributed_job_config": [1]}' \
	"\"distributed_job_config\": expected an object"
b '{"script": "t.py", "distributed_job_config": {"type": "pytorch", "process_count": "four"}}' \
	"\"distributed_job_config.process_count\" 'four': expected a whole number"
b '{"script": "t.py", "entry_script": "u.py"}' \
	"give \"script\" or \"entry_script\", not both"
b '{"script": "t.py", "program": ["x"]}' \
	"give \"program\" or \"script\", not both"
b '{"arguments": ["--a"]}' \
	"\"arguments\" without \"script\" or \"entry_script\""
b '{"script": "t.py", "arguments": "--a 1"}' \
	"\"arguments\": expected a list"
b '{"script": "t.py", "arguments": ["--a", {"b": 1}]}' \
	"\"arguments\" item 1: expected a string, a number or true/false"
b '{"script": "t.py", "arguments": [null]}' \
	"\"arguments\" item 0: expected a string"
b '{"entry_script": "t.py", "script_params": ["--a"]}' \
	"\"script_params\": expected an object"
b '{"entry_script": "t.py", "script_params": {"--a": [1]}}' \
	"\"script_params\" \"--a\": expected a string"
b '{"script": ""}' \
	"\"script\": expected the script's file name"
b '{"script": 7}' \
	"\"script\": expected the script's file name"
b '{"script": "t.py", "source_directory": "nowhere"}' \
	"\"source_directory\" '$T/job/nowhere': No such file or directory"
b '{"script": "t.py", "source_directory": "src/train.py"}' \
	"\"source_directory\" '$T/job/src/train.py': not a directory"
b '{"script": "t.py", "source_directory": 1}' \
	"\"source_directory\": expected a directory"
b '{"script": "t.py", "max_run_duration_seconds": "soon"}' \
	"\"max_run_duration_seconds\" 'soon': expected seconds"
b '{"script": "t.py", "node_count": 0}' \
	"\"node_count\" '0': expected a whole number from 1"
b '{"script": "t.py", "environment_variables": {"1X": "a"}}' \
	"\"environment_variables\": \"1X\": expected a variable name"
b '{"script": "t.py", "environment_variables": {"X": 1}}' \
	"\"environment_variables\": value of \"X\" must be a string"
b '{"script": "t.py", "compute_targt": "x"}' \
	"unknown key \"compute_targt\""
done_testing
