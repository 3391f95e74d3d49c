"""The bundled demo company, Acme: a website and a mail sink on loopback, with faults on purpose.

`start_acme` gives the harness a real target to walk without any network or outside account,
so the demo journey, the tests and a first-time user all see the same company.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.demo.faults import DEFAULT_FAULTS, EMAIL_KINDS, FaultProfile, load_faults, load_faults_text
from harness.demo.mailsink import MailSink
from harness.demo.site import AcmeSite

# The demo journey, shipped as package data. In a clone `harness/demo/scenarios` links to the
# repository's `scenarios/` (the worked example the README points at); resolved, so a run there
# names its features as the clone does.
JOURNEY = (Path(__file__).parent / "scenarios").resolve()
JOURNEY_MAP = JOURNEY / "acme.yaml"


@dataclass
class Acme:
    sink: MailSink
    site: AcmeSite

    @property
    def url(self) -> str:
        return self.site.url

    @property
    def maildir(self) -> Path:
        return self.sink.maildir

    @property
    def smtp_port(self) -> int:
        return self.sink.port

    def stop(self) -> None:
        # The site first, so nothing it sends on the way down finds the sink already gone.
        try:
            self.site.stop()
        finally:
            self.sink.stop()

    def __enter__(self) -> Acme:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_acme(faults: FaultProfile, maildir: Path) -> Acme:
    sink = MailSink(maildir)
    sink.start()
    try:
        site = AcmeSite(faults, smtp_port=sink.port)
        site.start()
    except BaseException:
        sink.stop()
        raise
    return Acme(sink, site)


__all__ = [
    "DEFAULT_FAULTS",
    "EMAIL_KINDS",
    "JOURNEY",
    "JOURNEY_MAP",
    "Acme",
    "AcmeSite",
    "FaultProfile",
    "MailSink",
    "load_faults",
    "load_faults_text",
    "start_acme",
]
