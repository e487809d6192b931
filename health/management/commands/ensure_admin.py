import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first admin user if there is none, and say how to log in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options) -> None:
        users = get_user_model().objects
        password_file = settings.VAR_DIR / "admin-password.txt"
        login_url = f"{settings.PUBLIC_BASE_URL}/admin/"
        if users.filter(is_superuser=True).exists():
            hint = f" (first password in {password_file})" if password_file.exists() else ""
            self.stdout.write(f"Admin: log in at {login_url}{hint}")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        self.stdout.write(
            f"Admin created: log in at {login_url} as {username} / {password}\n"
            f"(the password is also in {password_file}; change it after logging in)"
        )
