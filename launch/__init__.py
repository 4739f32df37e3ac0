"""Launching training: which launcher, with which command and environment."""
