"""Access lines are written in batches of whole lines, each write small enough to stay whole."""

import io
import select
import threading

from page_tracker.logs import Lines


class Recorded(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_lines_are_written_whole_in_order_at_most_pipe_buf_at_a_time() -> None:
    stream = Recorded()
    lines = Lines(stream)
    sent = [f'{{"n":{n},"pad":"{"x" * (n % 300)}"}}' for n in range(2000)]

    def send(part: list[str]) -> None:
        for line in part:
            lines.add(line)

    # Two threads add at once, as a worker's request threads do.
    threads = [threading.Thread(target=send, args=(sent[half::2],)) for half in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines.flush()
    assert all(len(write.encode()) <= select.PIPE_BUF for write in stream.writes)
    assert all(write.endswith("\n") for write in stream.writes)
    written = "".join(stream.writes).splitlines()
    assert sorted(written) == sorted(sent)
    for half in (0, 1):  # each thread's lines keep their order
        theirs = set(sent[half::2])
        assert [line for line in written if line in theirs] == sent[half::2]
    assert len(stream.writes) < len(sent) / 10  # batched, not a write per line


def test_lines_are_written_within_a_fraction_of_a_second() -> None:
    stream = Recorded()
    lines = Lines(stream)
    lines.add('{"event":"request"}')
    deadline = threading.Event()
    for _ in range(50):
        if stream.writes:
            break
        deadline.wait(Lines.FLUSH_S / 5)
    assert stream.writes == ['{"event":"request"}\n']
