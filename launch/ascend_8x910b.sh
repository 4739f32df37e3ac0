#!/bin/bash
# Train on one Atlas 800T A2 (8x Ascend 910B) with openmind-cli, as seed 002 does. Read it, edit it, run it.
# `mathmind train RECIPE --hardware npu:8 --dry-run` prints the same command and variables for any recipe.
#
#   bash launch/ascend_8x910b.sh recipes/qwen2.5-7b-instruct/full_distill.yaml
set -euo pipefail
RECIPE=${1:?usage: $0 RECIPE.yaml [key=value ...]}; shift

# CANN must be in the environment of every process that touches the NPUs.
source "${ASCEND_TOOLKIT_HOME:-/usr/local/Ascend/ascend-toolkit/latest}/../set_env.sh" 2>/dev/null \
  || source /usr/local/Ascend/ascend-toolkit/set_env.sh

export ASCEND_RT_VISIBLE_DEVICES=${ASCEND_RT_VISIBLE_DEVICES:-0,1,2,3,4,5,6,7}
export HCCL_CONNECT_TIMEOUT=${HCCL_CONNECT_TIMEOUT:-1200}    # HCCL's default 120 s is shorter than loading a 7B checkpoint
export HCCL_EXEC_TIMEOUT=${HCCL_EXEC_TIMEOUT:-1800}
export PYTORCH_NPU_ALLOC_CONF=${PYTORCH_NPU_ALLOC_CONF:-expandable_segments:True}
export TASK_QUEUE_ENABLE=${TASK_QUEUE_ENABLE:-1}
# Several nodes: also NNODES, RANK (openMind reads RANK, not NODE_RANK), MASTER_ADDR, MASTER_PORT,
# and HCCL_IF_IP / HCCL_SOCKET_IFNAME for the interface the cards talk over.

# mathmind checks the recipe, renders it for the installed openMind, and notices openmind-cli's silent failures.
exec mathmind train "$RECIPE" --hardware npu:8 --launcher openmind "$@"
