"""Issue 16, finding 1 in the small: the decode budget, the per-request pixel bound, and reduction
while decoding (the full-size buffer does not outlive the decode)."""

from __future__ import annotations

import threading

import pytest
from PIL import Image, ImageFile

from services.common.concurrency import PixelBudget, run_in_budget
from services.common.errors import BusyError, ServiceError, to_service_error
from services.common.images import ImageLimits, decode_images, load_image
from services.common.settings import BaseServiceSettings
from tests.helpers import b64, image_bytes


def test_budget_lets_decodes_in_up_to_its_capacity_then_refuses_with_retry_after():
    budget = PixelBudget(100, wait_s=0.05)
    with budget.hold(60), budget.hold(40):
        assert budget.held == 100
        with pytest.raises(BusyError) as caught, budget.hold(1):
            pass
    assert budget.held == 0
    error = to_service_error(caught.value)
    assert error.status == 429 and error.headers["Retry-After"] == "1"


def test_a_waiting_decode_runs_once_room_is_given_back():
    budget = PixelBudget(100, wait_s=5)
    entered = threading.Event()
    release = threading.Event()

    def holder():
        with budget.hold(100):
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    entered.wait(5)
    waiter_done = []

    def waiter():
        with budget.hold(50):
            waiter_done.append(budget.held)

    second = threading.Thread(target=waiter)
    second.start()
    assert not waiter_done  # still waiting: the budget is spent
    release.set()
    thread.join(5)
    second.join(5)
    assert waiter_done == [50] and budget.held == 0


def test_an_image_larger_than_the_budget_still_decodes_alone():
    budget = PixelBudget(10, wait_s=0)
    with budget.hold(1_000):
        assert budget.held == 10


def test_work_in_the_budget_holds_its_pixels_while_it_runs_and_without_one_just_runs():
    budget = PixelBudget(100, wait_s=0)
    assert run_in_budget(budget, 30, lambda: budget.held) == 30
    assert budget.held == 0
    with budget.hold(80), pytest.raises(BusyError):  # no room: refused before the work starts
        run_in_budget(budget, 30, pytest.fail)
    with pytest.raises(ValueError):
        run_in_budget(budget, 30, lambda: int("not a number"))
    assert budget.held == 0  # given back when the work fails too
    assert run_in_budget(None, 10**12, lambda: "ran") == "ran"  # offline tools: no budget


def test_a_failed_decode_gives_its_pixels_back():
    budget = PixelBudget(64 * 64, wait_s=0)
    limits = ImageLimits(budget=budget)
    png = image_bytes(Image.new("RGB", (64, 64)), "PNG")
    with pytest.raises(ServiceError):
        load_image(png[: len(png) // 2], limits=limits)
    assert budget.held == 0
    assert load_image(png, limits=limits).size == (64, 64)


def test_a_request_over_its_pixel_bound_is_413_before_any_decode():
    limits = ImageLimits(max_pixels=256 * 256, max_request_pixels=3 * 256 * 256)
    image = b64(image_bytes(Image.new("RGB", (256, 256)), "PNG"))
    assert len(decode_images([image] * 3, limits=limits, fields=["a", "b", "c"])) == 3
    with pytest.raises(ServiceError) as caught:
        decode_images([image] * 4, limits=limits, fields=["a", "b", "c", "d"])
    assert caught.value.status == 413 and "262144" in caught.value.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_large_uploads_are_reduced_to_the_model_side_keeping_the_aspect(fmt):
    image = Image.new("RGB", (3000, 1500), (10, 200, 30))
    decoded = load_image(image_bytes(image, fmt), limits=ImageLimits(max_side=512))
    assert decoded.size == (512, 256)
    assert all(
        abs(a - b) <= 3 for a, b in zip(decoded.getpixel((100, 100)), (10, 200, 30), strict=True)
    )


def test_jpeg_is_scaled_while_decoding(monkeypatch):
    sizes = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        result = real_load(self)
        sizes.append(self.size)
        return result

    raw = image_bytes(Image.new("RGB", (4096, 2048), "white"), "JPEG")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    decoded = load_image(raw, limits=ImageLimits(max_side=512))
    assert decoded.size == (512, 256)
    assert sizes[0] == (512, 256)  # draft mode: the DCT decoded at 1/8, never at 4096x2048


def test_small_uploads_are_left_as_they_are():
    image = Image.new("RGB", (300, 200), (1, 2, 3))
    assert load_image(image_bytes(image, "PNG"), limits=ImageLimits(max_side=512)).size == (
        300,
        200,
    )


def test_every_service_settings_share_one_budget_per_process_object():
    settings = BaseServiceSettings(decode_budget_pixels=12345)
    assert settings.image_limits.budget is settings.image_limits.budget
    assert settings.image_limits.budget.capacity == 12345
