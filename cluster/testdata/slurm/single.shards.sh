#!/bin/bash
# gdask submit slurm: a 1-shard run, one array task per shard; the task id is the shard index.
#SBATCH --job-name=g1
#SBATCH --array=0
#SBATCH --output=/home/ana/state/logs/shard-%a.out

set -euo pipefail
exec gdask count in.csv --shard "$SLURM_ARRAY_TASK_ID/1" --state-out /home/ana/state --shard-attempt "${SLURM_RESTART_COUNT:-0}"
