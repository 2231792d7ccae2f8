#!/usr/bin/env python3
"""A support bot's core: read a GitHub issue body, print the Markdown reply to post under it.

    python examples/issue_bot.py examples/issue-example.md
    gh issue view 12345 -R vllm-project/vllm --json body -q .body | python examples/issue_bot.py

The reply names the most likely cause with its fix steps, evidence folded in <details> and docs links; for a failure
no rule knows, it gives the fingerprint (to find duplicate reports) and look-alike known causes. Secrets in the
issue (tokens, API keys, passwords, e-mail addresses) never reach the reply; --hosts also masks IPs and host names.
When the issue holds no log with a failure, the reply asks for one instead.
"""

from __future__ import annotations

import argparse
import sys

import logclassify
from logclassify.render.markdown import render_markdown

ASK_FOR_LOGS = """\
I could not find a failure in the logs of this issue. Could you paste the full output of the vLLM server,
from the start command to the error, inside a ```text code block? Please also fill in "Your current environment"
with the output of `python collect_env.py`.
"""
SIGNATURE = "\n<sub>Automated answer by logclassify {version}: a suggestion, please check it before acting on it.</sub>\n"


def reply(body: str, *, hosts: bool = False) -> str:
    """The Markdown reply for one issue body."""
    report = logclassify.classify_issue(body, redact_hosts=hosts)
    text = render_markdown(report) if report.alarms or report.unrecognized else ASK_FOR_LOGS
    return text + SIGNATURE.format(version=logclassify.__version__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("issue", nargs="?", help="a file with the issue body (Markdown); stdin when omitted or '-'")
    parser.add_argument("--hosts", action="store_true", help="also mask IP addresses and host names")
    args = parser.parse_args(argv)
    if args.issue in (None, "-"):
        body = sys.stdin.read()
    else:
        with open(args.issue, encoding="utf-8", errors="replace") as fh:
            body = fh.read()
    sys.stdout.write(reply(body, hosts=args.hosts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
