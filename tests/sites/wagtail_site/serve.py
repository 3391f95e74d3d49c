"""Set the Wagtail site up (migrate, build the page tree) and serve it on a free loopback port.

`python tests/sites/wagtail_site/serve.py --data DIR --smtp-port N` prints
`listening on http://127.0.0.1:PORT` once it answers (see tests/sites/faults.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

FIELDS = [
    # (label, field type, required): what a support desk asks, in Wagtail's own field types.
    ("Your E-Mail Address", "email", True),
    ("Summary of the problem", "singleline", True),
    ("Message", "multiline", False),
]


def build_page_tree() -> None:
    """The contact form under the site's welcome page, published, with its fields."""
    from support.models import FormField, FormPage
    from wagtail.models import Site

    if FormPage.objects.exists():
        return
    home = Site.objects.get(is_default_site=True).root_page
    contact = FormPage(
        title="Contact support",
        slug="contact",
        intro="<p>Tell us what went wrong and we will answer by email.</p>",
        thank_you_text="<p>Thank you for your message. We received your request and will answer soon.</p>",
        to_address="support@wagtail-site.example.com",
        from_address="help@wagtail-site.example.com",
        subject="New support request",
    )
    contact.form_fields = [
        FormField(sort_order=n, label=label, field_type=kind, required=required)
        for n, (label, kind, required) in enumerate(FIELDS)
    ]
    home.add_child(instance=contact)
    contact.save_revision().publish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder for the SQLite database")
    parser.add_argument("--smtp-port", type=int, required=True, help="the mail sink's port on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="settings", SITE_DATA=str(args.data), SITE_SMTP_PORT=str(args.smtp_port)
    )
    import django
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    build_page_tree()
    from faults import FaultInjector, serve

    serve(FaultInjector(get_wsgi_application()), port=args.port)


if __name__ == "__main__":
    main()
