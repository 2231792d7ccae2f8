"""Live mode (`logclassify --follow`): a growing log (like `tail -F`) or a stream, diagnosed as it is written.

`follower` is the state machine (lines and ticks in, events out), `repeats` counts causes that come back and rate-
limits their repeats, `run` drives a follower from a live source (`read.live`) and is the command's entry point;
events are rendered by `render.events`, and tracebacks are seen ending by `parse.traceback.TracebackWatch`.
"""

from __future__ import annotations

from logclassify.follow.follower import Follower, FollowOptions, hang_limits, parse_hang_after
from logclassify.follow.run import follow, options, run

__all__ = ["FollowOptions", "Follower", "follow", "hang_limits", "options", "parse_hang_after", "run"]
