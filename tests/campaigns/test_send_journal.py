"""The send journal (campaigns/dispatch/journal.py): a killed run's `sending` rows that never
left are due again; only those it had started to write become `unknown`."""

import os
import socket
import subprocess

import pytest

from campaigns.dispatch.journal import Journal, never_left, prune
from campaigns.dispatch.recovery import recover_account
from campaigns.models import Delivery
from tests.campaigns.test_dispatch_lease import _rows
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db
HOST = socket.gethostname()[:40]


@pytest.fixture(autouse=True)
def journal_dir(settings, tmp_path):
    settings.DISPATCH_JOURNAL_DIR = str(tmp_path)
    return tmp_path


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_rows_a_dead_local_owner_never_started_are_due_again(journal_dir):
    # given a run on this host that started one of its two `sending` rows, then was killed
    account = ChannelAccountFactory(kind="telegram")
    owner = f"{HOST}:{dead_pid()}:feedbeef"
    started, waiting = _rows(account, 2, state="sending", claimed_by=owner, attempts=1)
    Journal(owner).leaving(started.pk)  # its file stays: the process died before close()

    recovered = recover_account(account, owner="next")

    # then the one it never wrote goes out again, and the one it did is unknown
    assert Delivery.objects.get(pk=waiting.pk).state == "pending"
    assert Delivery.objects.get(pk=waiting.pk).claimed_by == ""
    assert Delivery.objects.get(pk=started.pk).state == "unknown"
    assert (recovered.unsent, recovered.unknown) == (1, 1)
    # and the journal, having told all it can, is gone
    assert list(journal_dir.iterdir()) == []


@pytest.mark.parametrize(
    "owner",
    [
        f"{HOST}:{os.getpid()}:feedbeef",  # alive (this very process): it may still send
        f"{HOST}:{os.getppid()}:feedbeef",  # alive
        f"elsewhere.example:{12345}:feedbeef",  # another host: its journal is not here
        "dead",  # not an owner id this code makes
    ],
    ids=["own pid", "live pid", "other host", "foreign id"],
)
def test_rows_of_an_owner_that_may_be_alive_or_ran_elsewhere_are_unknown(owner):
    account = ChannelAccountFactory(kind="telegram")
    [sending] = _rows(account, 1, state="sending", claimed_by=owner, attempts=1)
    Journal(owner).leaving(999_999)  # a journal that does not list the row

    recovered = recover_account(account, owner="next")

    assert Delivery.objects.get(pk=sending.pk).state == "unknown"
    assert (recovered.unsent, recovered.unknown) == (0, 1)


def test_a_dead_owner_without_a_journal_leaves_its_rows_unknown():
    account = ChannelAccountFactory(kind="telegram")
    owner = f"{HOST}:{dead_pid()}:feedbeef"
    [sending] = _rows(account, 1, state="sending", claimed_by=owner, attempts=1)

    recover_account(account, owner="next")

    assert Delivery.objects.get(pk=sending.pk).state == "unknown"


def test_a_run_that_ends_removes_its_journal_and_one_that_sent_nothing_writes_none(journal_dir):
    quiet = Journal(f"{HOST}:{os.getpid()}:quiet")
    quiet.close()
    busy = Journal(f"{HOST}:{os.getpid()}:busy")
    busy.leaving(7)
    busy.leaving(8)
    assert busy.path.read_bytes() == b"7\n8\n"

    busy.close()

    assert list(journal_dir.iterdir()) == []


def test_prune_removes_only_old_journals_of_dead_local_processes(journal_dir):
    dead_old = Journal(f"{HOST}:{dead_pid()}:old")
    dead_new = Journal(f"{HOST}:{dead_pid()}:new")
    alive_old = Journal(f"{HOST}:{os.getppid()}:alive")
    for journal in (dead_old, dead_new, alive_old):
        journal.leaving(1)
    for journal in (dead_old, alive_old):
        os.utime(journal.path, (0, 0))

    assert prune() == 1
    assert not dead_old.path.exists()
    assert dead_new.path.exists() and alive_old.path.exists()
    assert never_left(dead_new.path.stem, [1, 2]) == {2}
