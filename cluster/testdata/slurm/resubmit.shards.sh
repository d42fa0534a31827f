#!/bin/bash
# gdask submit slurm: a 16-shard run, one array task per shard; the task id is the shard index.
#SBATCH --job-name=gdask-7f3c2a
#SBATCH --array=1,5-7,9%4
#SBATCH --output=/scratch/gdask/7f3c2a/logs/shard-%a.out
#SBATCH --partition=batch
#SBATCH --time=2:00:00
#SBATCH --mem=4608M
#SBATCH --cpus-per-task=4

set -euo pipefail
exec /usr/local/bin/gdask groupby '/data/trips/*.csv' --by payment_type --mean tip_amount --memory-limit 4GiB --workers 4 --shard "$SLURM_ARRAY_TASK_ID/16" --state-out /scratch/gdask/7f3c2a --shard-attempt "${SLURM_RESTART_COUNT:-0}"
