"""The step library: reusable steps by touchpoint kind, each bound to the journey map.

It lives at the repository's top level (`steps/`) and is installed as `harness.steps` (the link
`harness/steps`), so a user's own `steps/` package never shadows it. The harness's plugin (a
`pytest11` entry point) registers these modules when a run has a journey map; no conftest is needed.
"""

from __future__ import annotations

PLUGINS = [
    "harness.steps.web",
    "harness.steps.forms",
    "harness.steps.signup",
    "harness.steps.email",
    "harness.steps.support",
]
