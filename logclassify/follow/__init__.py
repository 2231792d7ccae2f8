"""Live mode (`logclassify --follow`): a growing log (like `tail -F`) or a stream, diagnosed as it is written.

`follower` is the state machine (lines and ticks in, events out), `repeats` counts causes that come back and rate-
limits their repeats, `hub` routes many inputs to one follower each, `watch` lists the files of folders and globs
as they come and go, `records` splits a collector's JSON records by pod, `metrics` exports the hub's counts to
Prometheus (prometheus_client only there), `run` is the command's entry point; events are rendered by
`render.events`, tracebacks are seen ending by `parse.traceback.TracebackWatch`, files are tailed by `read.live`.
"""

from __future__ import annotations

from logclassify.follow.follower import Follower, FollowOptions, hang_limits, parse_hang_after
from logclassify.follow.hub import Hub
from logclassify.follow.metrics import metrics_server
from logclassify.follow.run import follow, options, run

__all__ = ["FollowOptions", "Follower", "Hub", "follow", "hang_limits", "metrics_server", "options", "parse_hang_after",
           "run"]
