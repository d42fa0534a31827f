#!/bin/bash
# gdask submit slurm: a 3-shard run, one array task per shard; the task id is the shard index.
#SBATCH --job-name=nightly.trips_2026-11-25
#SBATCH --array=0-2
#SBATCH --output="/home/ana/runs/100%% done #2/logs/shard-%a.out"
#SBATCH --partition=short,long
#SBATCH --time=1-12:01:00
#SBATCH --mem=954M
#SBATCH --account=lab
#SBATCH --comment='nightly run'

set -euo pipefail
exec '/opt/gdask tools/gdask' filter '/data/it'\''s.csv' --where 'note == "$HOME" or name == '\''x'\'' and `date` != '\''\n'\''' -o csv '' '~' 'a
b' '*' --shard "$SLURM_ARRAY_TASK_ID/3" --state-out '/home/ana/runs/it'\''s "here"' --shard-attempt "${SLURM_RESTART_COUNT:-0}"
