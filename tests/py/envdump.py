# Prints this rank's launcher-set environment as one JSON line.
import json, os
keys = [k for k in os.environ if k.startswith(("MUSTER_", "HOROVOD_", "AZ_BATCH",
        "TORCHELASTIC_", "OMPI_COMM_WORLD_"))] + [
        "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK",
        "GROUP_WORLD_SIZE", "ROLE_RANK", "ROLE_WORLD_SIZE", "ROLE_NAME",
        "MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "OMP_NUM_THREADS", "TF_CONFIG",
        "MY_VAR", "FWD_VAR"]
print(json.dumps({k: os.environ.get(k) for k in keys}), flush=True)
