#!/bin/bash
# gdask submit slurm: the merge, submitted with --dependency=afterok on the shards' array.
#SBATCH --job-name=gdask-7f3c2a-merge
#SBATCH --output=/scratch/gdask/7f3c2a/logs/merge.out
#SBATCH --partition=batch
#SBATCH --time=2:00:00
#SBATCH --mem=4608M
#SBATCH --cpus-per-task=4

set -euo pipefail
exec /usr/local/bin/gdask merge /scratch/gdask/7f3c2a --output /scratch/gdask/7f3c2a/result.csv
