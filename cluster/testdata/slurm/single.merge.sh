#!/bin/bash
# gdask submit slurm: the merge, submitted with --dependency=afterok on the shards' array.
#SBATCH --job-name=g1-merge
#SBATCH --output=/home/ana/state/logs/merge.out

set -euo pipefail
exec gdask merge /home/ana/state
