"""Resumable pipelines: compress -> finetune -> calibrate -> export -> build -> eval -> bench -> report."""
