"""Many clients calling one path at once."""

from concurrent.futures import ThreadPoolExecutor

from flask import Flask


def get_concurrently(app: Flask, path: str, threads: int, each: int) -> list[int]:
    """GET `path` `each` times from each of `threads` threads; return every status code."""

    def get_many(_: int) -> list[int]:
        client = app.test_client()
        return [client.get(path).status_code for _ in range(each)]

    with ThreadPoolExecutor(threads) as pool:
        return [status for batch in pool.map(get_many, range(threads)) for status in batch]
