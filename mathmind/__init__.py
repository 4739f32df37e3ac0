"""mathmind: distil a reasoning teacher into a small math model.

Sub-packages (each a top-level folder of the repository):
  mathmind.hardware  NPU / CUDA / CPU detection and launch environment (the only device-aware code)
  mathmind.distill   questions -> teacher answers over an OpenAI-compatible API
  mathmind.launch    openmind-cli / torchrun / Slurm launch rendering
  mathmind.eval      lm-evaluation-harness runs and reports
  mathmind.recipes   prompts, training recipes and pipelines as data files
"""

__version__ = "0.1.0"
