"""Random sequences of counter calls against a real Redis must match a plain dict model."""

import redis
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from page_tracker.app import create_app
from page_tracker.embedded import RedisServer
from page_tracker.extensions import REDIS
from page_tracker.services.counters import INT64_MAX, INT64_MIN
from test.client import client_of

KEYS = st.sampled_from(["aaa", "bbb", "ccc"])
VALUES = st.integers(min_value=-(2**62), max_value=2**62)


class CounterModel(RuleBasedStateMachine):
    """The model: key -> (value, admin key or None)."""

    url: str

    @initialize()
    def start(self) -> None:
        redis.Redis.from_url(self.url).flushall()
        self.app: Flask = create_app({"REDIS_URL": self.url, "RATE_LIMIT": ""})
        self.client = client_of(self.app)
        self.model: dict[str, tuple[int, str | None]] = {}

    def teardown(self) -> None:
        if hasattr(self, "app"):
            self.app.extensions[REDIS].close()

    @rule(key=KEYS, value=VALUES)
    def create(self, key: str, value: int) -> None:
        response = self.client.get(f"/create/model/{key}?value={value}")
        if key in self.model:
            assert response.status_code == 409
        else:
            assert response.status_code == 201
            self.model[key] = (value, response.json["admin_key"])

    @rule(key=KEYS)
    def hit(self, key: str) -> None:
        value, admin = self.model.get(key, (0, None))
        assert self.client.get(f"/hit/model/{key}").json == {"value": value + 1}
        self.model[key] = (value + 1, admin)

    def _admin(
        self, key: str, path: str, *, overflows: bool = False
    ) -> tuple[int, dict[str, int] | None]:
        _, admin = self.model.get(key, (0, None))
        headers = {"Authorization": f"Bearer {admin}"} if admin else {}
        response = self.client.post(path, headers=headers)
        expected = (
            404 if key not in self.model else 403 if admin is None else 400 if overflows else 200
        )
        assert response.status_code == expected
        return response.status_code, response.json

    @rule(key=KEYS, value=VALUES)
    def set(self, key: str, value: int) -> None:
        status, _ = self._admin(key, f"/set/model/{key}?value={value}")
        if status == 200:
            self.model[key] = (value, self.model[key][1])

    @rule(key=KEYS, amount=VALUES.filter(bool))
    def update(self, key: str, amount: int) -> None:
        # A sum past a signed 64-bit integer is refused, and the value stays.
        total = self.model.get(key, (0, None))[0] + amount
        overflows = not INT64_MIN <= total <= INT64_MAX
        status, _ = self._admin(key, f"/update/model/{key}?amount={amount}", overflows=overflows)
        if status == 200:
            self.model[key] = (self.model[key][0] + amount, self.model[key][1])

    @rule(key=KEYS)
    def reset(self, key: str) -> None:
        status, _ = self._admin(key, f"/reset/model/{key}")
        if status == 200:
            self.model[key] = (0, self.model[key][1])

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        status, _ = self._admin(key, f"/delete/model/{key}")
        if status == 200:
            del self.model[key]

    @invariant()
    def values_match(self) -> None:
        if not hasattr(self, "model"):
            return
        for key in ("aaa", "bbb", "ccc"):
            response = self.client.get(f"/get/model/{key}")
            if key in self.model:
                assert response.json == {"value": self.model[key][0]}
            else:
                assert response.status_code == 404


def test_counter_calls_match_the_model(redis_server: RedisServer) -> None:
    CounterModel.url = redis_server.url
    run_state_machine_as_test(
        CounterModel,
        settings=settings(
            max_examples=40, stateful_step_count=20, deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )  # fmt: skip
