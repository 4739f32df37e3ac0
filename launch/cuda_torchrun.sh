#!/bin/bash
# Train on one CUDA machine with torchrun and mathmind's TRL trainer. Read it, edit it, run it.
# `mathmind train RECIPE --hardware cuda:8 --dry-run` prints the same command for any recipe.
#
#   bash launch/cuda_torchrun.sh recipes/qwen2.5-7b-instruct/lora_distill.yaml 8
set -euo pipefail
RECIPE=${1:?usage: $0 RECIPE.yaml [GPUS] [key=value ...]}; GPUS=${2:-8}; shift $(( $# > 1 ? 2 : 1 ))

export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-$(seq -s, 0 $((GPUS - 1)))}
export TORCH_NCCL_ASYNC_ERROR_HANDLING=${TORCH_NCCL_ASYNC_ERROR_HANDLING:-1}
export PYTORCH_CUDA_ALLOC_CONF=${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}

exec mathmind train "$RECIPE" --hardware "cuda:$GPUS" --launcher torchrun "$@"
