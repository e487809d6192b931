"""The collector's threshold in Celery workers (config/gc_tuning.py)."""

import gc

import pytest
from celery.signals import worker_init
from django.core.exceptions import ImproperlyConfigured

from config import gc_tuning


@pytest.fixture
def restored_threshold():
    kept = gc.get_threshold()
    yield
    gc.set_threshold(*kept)


def test_a_worker_raises_the_threshold_as_it_starts_and_web_keeps_pythons(restored_threshold):
    # this test process imported the config package (the Celery app with it), as gunicorn's do
    assert gc.get_threshold()[0] == 700

    # when Celery starts a worker in it
    worker_init.send(sender=None)

    assert gc.get_threshold()[0] == gc_tuning.DEFAULT


def test_the_setting_moves_only_the_youngest_generation(restored_threshold, monkeypatch):
    gc.set_threshold(700, 10, 10)
    monkeypatch.setenv("GC_THRESHOLD", "5000")

    gc_tuning.apply()

    assert gc.get_threshold() == (5000, 10, 10)


def test_zero_leaves_pythons_threshold_and_nonsense_fails_loudly(restored_threshold, monkeypatch):
    gc.set_threshold(700, 10, 10)
    monkeypatch.setenv("GC_THRESHOLD", "0")
    gc_tuning.apply()
    assert gc.get_threshold() == (700, 10, 10)

    monkeypatch.setenv("GC_THRESHOLD", "lots")
    with pytest.raises(ImproperlyConfigured, match="GC_THRESHOLD"):
        gc_tuning.apply()
