"""The Flask test client of the tests: its answers' JSON bodies are typed for reading."""

from typing import Any, cast

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse


class Answer(TestResponse):
    """A test answer whose `json` is Any: a test that reads a body that is not JSON fails."""

    @property
    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return self.get_json()


class Client(FlaskClient):
    """A test client whose requests return an Answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.response_wrapper = type("TestAnswer", (Answer, self.response_wrapper), {})

    def get(self, *args: Any, **kwargs: Any) -> Answer:
        """Send a GET."""
        return cast(Answer, super().get(*args, **kwargs))

    def post(self, *args: Any, **kwargs: Any) -> Answer:
        """Send a POST."""
        return cast(Answer, super().post(*args, **kwargs))

    def put(self, *args: Any, **kwargs: Any) -> Answer:
        """Send a PUT."""
        return cast(Answer, super().put(*args, **kwargs))

    def patch(self, *args: Any, **kwargs: Any) -> Answer:
        """Send a PATCH."""
        return cast(Answer, super().patch(*args, **kwargs))

    def delete(self, *args: Any, **kwargs: Any) -> Answer:
        """Send a DELETE."""
        return cast(Answer, super().delete(*args, **kwargs))


def client_of(app: Flask) -> Client:
    """Return a new test client of `app`, with its own cookies."""
    app.test_client_class = Client
    return cast(Client, app.test_client())
