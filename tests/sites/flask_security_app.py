"""Flask-Security-Too as it ships: registration with a mandatory email confirmation, login, password reset.

A real application nobody here wrote, for the harness to walk with the built-in steps: the stock
templates (none of ours), SQLite in a folder of the test's, and every email sent over real SMTP
to the harness's mail sink. `python tests/sites/flask_security_app.py --data DIR --smtp-port N`
serves it on a free loopback port and prints `listening on http://127.0.0.1:PORT` once it answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flask import Flask, render_template_string
from flask_mailman import Mail
from flask_security import Security, SQLAlchemyUserDatastore, auth_required
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import FaultInjector, serve

# The only page of our own, in the package's stock layout with its stock flashed messages (where a
# registration or a confirmation tells the customer what happened).
HOME = """{% extends "security/base.html" %}
{% block content %}{% include "security/_messages.html" %}
<h1>Welcome to the Flask-Security-Too demo</h1>
{% if current_user.is_authenticated %}<p>Signed in as {{ current_user.email }}</p>{% endif %}
{% include "security/_menu.html" %}{% endblock content %}"""
ACCOUNT = """{% extends "security/base.html" %}
{% block content %}{% include "security/_messages.html" %}
<h1>Your account</h1><p>Signed in as {{ current_user.email }}</p>
{% include "security/_menu.html" %}{% endblock content %}"""


def create_app(data: Path, smtp_port: int) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="not-a-secret-only-a-test-site",
        SECURITY_PASSWORD_SALT="a-test-salt",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{data / 'users.db'}",
        # The stock argon2 cost takes seconds on a loaded two-core test machine, at every register
        # and login: that would measure the machine, not the site. A real owner tunes it too.
        SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS={"argon2__rounds": 1, "argon2__memory_cost": 8192},
        SECURITY_REGISTERABLE=True,
        SECURITY_CONFIRMABLE=True,  # no login before the emailed link is followed
        SECURITY_RECOVERABLE=True,
        SECURITY_POST_LOGIN_VIEW="/account",
        # This machine has no DNS: the stock validator would look up the customer's mail domain.
        SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False},
        SECURITY_EMAIL_SENDER="no-reply@flask-security.example.com",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
    )
    db = SQLAlchemy(app)
    fsqla.FsModels.set_db_info(db)

    class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined,misc]
        pass

    class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined,misc]
        pass

    Mail(app)
    Security(app, SQLAlchemyUserDatastore(db, User, Role))

    @app.route("/")
    def home() -> str:
        return render_template_string(HOME)

    @app.route("/account")
    @auth_required()
    def account() -> str:
        return render_template_string(ACCOUNT)

    with app.app_context():
        db.create_all()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder for the SQLite database")
    parser.add_argument("--smtp-port", type=int, required=True, help="the mail sink's port on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    serve(FaultInjector(create_app(args.data, args.smtp_port)), port=args.port)


if __name__ == "__main__":
    main()
