"""Alerts: a failed or conflicted month POSTs one JSON message to a webhook
(docs/operations.md#alerts).

The message says which month failed, with which exit code and why, and where to look; it
never holds a coupon code or the coupon key (both are scrubbed from the reason, which never
should contain them anyway). Sending is bounded (a timeout per try, one retry) and never
changes the run's own outcome: a failure to notify is one line on stderr.
"""

import http.client
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from transforms.coupon_codes import KEY_ENVIRONMENT_VARIABLE
from transforms.errors import UsageError
from transforms.summary import progress

TIMEOUT_S = 5
RETRY_DELAYS_S = (2,)  # one retry, 2 s after the first try
# the whole alert, tries and retry included: a server that trickles its answer byte by byte
# resets a per-read timeout forever, so the alert as a whole has a deadline
TOTAL_S = 20

OUTCOMES = {
    1: "failed",
    2: "usage error",
    3: "invalid or missing input",
    4: "state conflict",
    5: "an output invariant failed",
    6: "the environment refused (disk, path, orchestrator)",
    7: "internal error",
}

# where an operator looks first, by exit code (docs/operations.md#exit-codes), unless the
# failure names a better place (CreditflowError.where: the quarantine, for rejected rows)
WHERE_TO_LOOK = {
    2: "the command line, the rules file and CREDITFLOW_COUPON_KEY",
    3: "the input file or folder named in the reason (docs/data-contract.md)",
    4: "{out}/batches/ (published months) and any other run on {out}",
    5: "{out}/reports/{month}/index.html",
    6: "the path or device named in the reason, the Prefect server at PREFECT_API_URL, "
    "or the machine's load",
    7: "{out}/logs/ (the traceback named in the reason)",
}
# how loud an alert is: a failure is an error; waiting for a late billing export is a
# warning; giving up on it, which leaves the month unsettled, is critical
SEVERITIES = ("warning", "error", "critical")
# the environment variable that holds the webhook URL for scheduled runs (a deployment
# parameter names it; the URL itself is a secret: chat webhooks embed a token)
NOTIFY_URL_VARIABLE = "CREDITFLOW_NOTIFY_URL"

_COUPON_CODE = re.compile(r"\b(?:RAF|DEV)-[A-Z2-7]{4}(?:-[A-Z2-7]{1,4})+\b")


def scrub(text: str, environ=None) -> str:
    """The text without anything that looks like a coupon code or is the coupon key."""
    environ = os.environ if environ is None else environ
    text = _COUPON_CODE.sub("[coupon code]", text)
    key = environ.get(KEY_ENVIRONMENT_VARIABLE, "")
    return text.replace(key, "[coupon key]") if key else text


def alert_message(
    command: str,
    month: str,
    exit_code: int | None,
    reason: str,
    out_dir,
    environ=None,
    *,
    where: str | None = None,
    outcome: str | None = None,
    severity: str = "error",
) -> dict:
    """The JSON body of an alert. `text` makes it a valid Slack or Teams incoming-webhook
    message as it is; the other keys are for relays and automations that route on them.
    exit_code None: the run goes on (it waits for its input), `outcome` says what for."""
    assert severity in SEVERITIES, severity
    outcome = outcome or OUTCOMES.get(exit_code, "failed")
    where = where or WHERE_TO_LOOK.get(exit_code, "{out}/logs/").format(out=out_dir, month=month)
    reason = scrub(reason, environ)
    host = socket.gethostname()
    status = f"exit {exit_code}" if exit_code is not None else "still running"
    loud = "CRITICAL: " if severity == "critical" else ""
    return {
        "source": "creditflow",
        "severity": severity,
        "command": command,
        "month": month,
        "exit_code": exit_code,
        "outcome": outcome,
        "reason": reason,
        "where_to_look": where,
        "runbook": "docs/operations.md#exit-codes",
        "host": host,
        "text": (
            f"{loud}creditflow {command} {month} on {host}: {status} ({outcome}). "
            f"{reason} Look at: {where}."
        ),
    }


def notify_url(given: str | None, environ=None) -> str | None:
    """The webhook: --notify, else the environment's CREDITFLOW_NOTIFY_URL (how a scheduled
    run gets it without the URL ever being a visible deployment parameter)."""
    environ = os.environ if environ is None else environ
    url = given or environ.get(NOTIFY_URL_VARIABLE) or None
    if url is not None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            # the URL is a secret (a webhook's path holds its token): its scheme only
            raise UsageError(
                f"usage: --notify (or {NOTIFY_URL_VARIABLE}) must be an http or https URL with "
                f"a host, not a {parsed.scheme or 'schemeless'} URL"
            )
    return url


def notify(url: str, message: dict) -> bool:
    """POST the message; True when the webhook accepted it (2xx). Never raises, and never
    takes longer than TOTAL_S, however slowly the server answers."""
    outcome: list[str | None] = []
    sender = threading.Thread(target=lambda: outcome.append(_send(url, message)), daemon=True)
    sender.start()
    sender.join(TOTAL_S)
    # still waiting on the server: given up (the thread dies with the run)
    problem = outcome[0] if outcome else f"no answer within {TOTAL_S} s"
    if problem is None:
        return True
    progress(f"the alert could not be delivered to the --notify webhook ({problem})", logging.ERROR)
    return False


def _send(url: str, message: dict) -> str | None:
    """POST, with one retry; None when the webhook accepted it, else why not."""
    body = json.dumps(message, sort_keys=True).encode()
    problem = "not sent"
    for delay_s in (*RETRY_DELAYS_S, None):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                if 200 <= response.status < 300:
                    return None
                problem = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code}"
        except (OSError, ValueError) as error:  # refused, timed out, unresolvable, bad URL
            problem = str(getattr(error, "reason", error))
        except http.client.HTTPException as error:  # an answer that is not HTTP at all
            problem = f"not an HTTP answer ({type(error).__name__})"
        if delay_s is not None:
            time.sleep(delay_s)
    return problem
