#!/bin/bash
# gdask submit slurm: the merge, submitted with --dependency=afterok on the shards' array.
#SBATCH --job-name=nightly.trips_2026-11-25-merge
#SBATCH --output="/home/ana/runs/100%% done #2/logs/merge.out"
#SBATCH --partition=short,long
#SBATCH --time=1-12:01:00
#SBATCH --mem=954M
#SBATCH --account=lab
#SBATCH --comment='nightly run'

set -euo pipefail
exec '/opt/gdask tools/gdask' merge '/home/ana/runs/it'\''s "here"' --output '/home/ana/$USER.csv'
