"""manage.py run_paper: start a paper session and host it in this process."""

from trading.management.commands._session_cli import SessionCommand


class Command(SessionCommand):
    help = "Run a paper session (strategy + instrument, or a book from --sleeves-json) against the paper gateway."
    environment = "paper"
