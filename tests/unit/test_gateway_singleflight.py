"""Single flight: identical concurrent calls share one execution."""

from __future__ import annotations

import asyncio

import pytest

from gateway.singleflight import SingleFlight


async def until(predicate, deadline_s: float = 5.0) -> None:
    """Yield to the loop until `predicate()` holds; fail after the deadline instead of hanging."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not predicate():
        assert loop.time() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.001)


def test_concurrent_calls_with_one_key_run_the_work_once():
    async def main():
        flights: SingleFlight[str] = SingleFlight()
        calls = 0
        release = asyncio.Event()

        async def work():
            nonlocal calls
            calls += 1
            await release.wait()
            return f"answer {calls}"

        callers = [asyncio.ensure_future(flights.do("k", work)) for _ in range(50)]
        await until(lambda: flights.shared == 49)  # every caller but the first has joined
        release.set()
        results = await asyncio.gather(*callers)
        return calls, results, len(flights)

    calls, results, left = asyncio.run(main())
    assert calls == 1
    assert {r for r, _ in results} == {"answer 1"}
    assert sorted(shared for _, shared in results) == [False] + [True] * 49
    assert left == 0


def test_other_keys_and_later_calls_run_their_own_work():
    async def main():
        flights: SingleFlight[str] = SingleFlight()
        seen = []

        async def work(key):
            seen.append(key)
            await asyncio.sleep(0)
            return key

        await asyncio.gather(flights.do("a", lambda: work("a")), flights.do("b", lambda: work("b")))
        await flights.do("a", lambda: work("a"))  # the first flight has landed
        return seen

    assert asyncio.run(main()) == ["a", "b", "a"]


def test_an_error_reaches_every_caller_and_is_not_kept():
    async def main():
        flights: SingleFlight[str] = SingleFlight()
        release = asyncio.Event()

        async def failing():
            await release.wait()
            raise RuntimeError("upstream down")

        callers = [asyncio.ensure_future(flights.do("k", failing)) for _ in range(3)]
        await until(lambda: flights.shared == 2)
        release.set()
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
        ok, _ = await flights.do("k", _ok)
        return outcomes, ok

    outcomes, ok = asyncio.run(main())
    assert [str(o) for o in outcomes] == ["upstream down"] * 3
    assert ok == "ok"


async def _ok() -> str:
    return "ok"


def test_a_cancelled_caller_does_not_cancel_the_flight_for_the_others():
    async def main():
        flights: SingleFlight[str] = SingleFlight()
        release = asyncio.Event()

        async def work():
            await release.wait()
            return "done"

        first = asyncio.ensure_future(flights.do("k", work))
        second = asyncio.ensure_future(flights.do("k", work))
        await until(lambda: flights.shared == 1)
        first.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await second

    assert asyncio.run(main()) == ("done", True)


def test_the_flight_is_cancelled_once_its_last_caller_has_gone():
    # A client that hangs up must not leave its generation running for nobody (issue 16, finding 8).
    async def main():
        flights: SingleFlight[str] = SingleFlight()
        started, stopped = asyncio.Event(), asyncio.Event()

        async def work():
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                stopped.set()

        first = asyncio.ensure_future(flights.do("k", work))
        second = asyncio.ensure_future(flights.do("k", work))
        await until(lambda: flights.shared == 1 and started.is_set())
        first.cancel()
        await asyncio.sleep(0.01)
        still_running = not stopped.is_set()
        second.cancel()
        await asyncio.wait_for(stopped.wait(), 5)
        return still_running, len(flights)

    assert asyncio.run(main()) == (True, 0)
