"""What every harness shares: the atheris entry point, the corpus layout, a trap for errors the
code under test swallows and logs, and structure-aware mutators for JSON and CBOR inputs.

A harness is ``python bench/fuzz/<target>.py [libFuzzer args] [corpus dirs]``. It imports the
code under test inside :func:`instrumented` so that atheris sees its branches, and defines
``test_one_input(data)`` that raises on any violated property. This module imports nothing of
vauth at import time (a module imported before the instrumentation would go unobserved).

``VAUTH_FUZZ_KEEP_GOING=1`` (what bench/fuzz.py sets for a campaign) records each distinct
failure once under bench/fuzz/crashes/<target>/ and goes on fuzzing instead of stopping at the
first one, so that one shallow bug does not hide the others for the rest of a campaign.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"
CRASHES = HERE / "crashes"
SEED_PREFIX = "seed-"
KEEP_GOING = "VAUTH_FUZZ_KEEP_GOING"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # fuzz the working tree's vauth/, installed or not

TestOneInput = Callable[[bytes], None]


class PropertyViolation(AssertionError):
    """The code under test broke one of the properties a harness checks."""


# -- the entry point ------------------------------------------------------------------------------


@contextlib.contextmanager
def instrumented(*packages: str) -> Iterator[None]:
    """Import the code under test in this block; atheris then traces its branches (a no-op
    when atheris is not installed, as when the tests replay seeds)."""
    try:
        import atheris
    except ImportError:
        yield
        return
    with atheris.instrument_imports(include=list(packages) or ["vauth"]):
        yield


def main(
    target: str,
    test_one_input: TestOneInput,
    custom_mutator: Callable[[bytes, int, int], bytes] | None = None,
    max_len: int = 8192,
) -> None:
    """Run libFuzzer over ``test_one_input`` with the command line's arguments; with no corpus
    directory given, use bench/fuzz/corpus/<target>/ (seeds included)."""
    import atheris

    argv = list(sys.argv)
    if not any(a.startswith("-max_len=") for a in argv[1:]):
        argv.insert(1, f"-max_len={max_len}")
    if not any(not a.startswith("-") for a in argv[1:]):
        corpus = CORPUS / target
        corpus.mkdir(parents=True, exist_ok=True)
        argv.append(str(corpus))
    quiet("vauth", "native_host", "aiohttp")
    one_input = test_one_input
    if os.environ.get(KEEP_GOING):
        one_input = _recording(target, test_one_input)
    kwargs: dict[str, Any] = {}
    if custom_mutator is not None:
        kwargs["custom_mutator"] = custom_mutator
    atheris.Setup(argv, one_input, **kwargs)
    atheris.Fuzz()


def _recording(target: str, test_one_input: TestOneInput) -> TestOneInput:
    """``test_one_input`` that writes each new kind of failure to crashes/ and carries on."""
    seen: set[str] = set()
    folder = CRASHES / target

    def run(data: bytes) -> None:
        try:
            test_one_input(data)
        except Exception as exc:
            signature = failure_signature(exc)
            if signature in seen:
                return
            seen.add(signature)
            folder.mkdir(parents=True, exist_ok=True)
            name = "crash-" + hashlib.sha1(signature.encode()).hexdigest()[:12]
            (folder / name).write_bytes(data)
            report = "".join(traceback.format_exception(exc))
            (folder / f"{name}.txt").write_text(f"{signature}\n\n{report}")
            print(f"==vauth-fuzz== new failure {name}: {signature}", file=sys.stderr, flush=True)

    return run


def failure_signature(exc: BaseException) -> str:
    """The exception type and the innermost frame of this repository that raised it: two
    inputs with one signature are taken for one bug. For a swallowed exception, its own."""
    cause = exc.__cause__
    if isinstance(exc, PropertyViolation) and cause is not None:
        return f"swallowed {failure_signature(cause)}"
    if isinstance(exc, PropertyViolation):
        return f"PropertyViolation: {str(exc).splitlines()[0][:60]}"  # the property it names
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if str(ROOT) in f.filename and "/bench/fuzz/" not in f.filename]
    where = own[-1] if own else (frames[-1] if frames else None)
    place = f"{Path(where.filename).name}:{where.lineno}" if where else "?"
    return f"{type(exc).__module__}.{type(exc).__name__} at {place}"


def seeds(target: str) -> list[Path]:
    """The committed seed inputs of ``target``."""
    return sorted((CORPUS / target).glob(SEED_PREFIX + "*"))


def write_seed(target: str, name: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{SEED_PREFIX}{name}").write_bytes(data)


# -- errors the code under test logs instead of raising -------------------------------------------


class LoggedErrors(logging.Handler):
    """Collects ERROR records that carry an exception: the "any other exception is logged and
    answered ERR_OTHER" safety nets. The net keeps the daemon alive; for a fuzzer, a record
    here is a bug that reached it. Attached to its loggers only inside :meth:`trapping`."""

    def __init__(self, *loggers: str) -> None:
        super().__init__(logging.ERROR)
        self.loggers = loggers
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is not None:
            self.records.append(record)

    @contextlib.contextmanager
    def trapping(self) -> Iterator[LoggedErrors]:
        """Trap in this block; leaving it normally checks what was trapped."""
        self.records = []
        for name in self.loggers:
            logging.getLogger(name).addHandler(self)
        try:
            yield self
        finally:
            for name in self.loggers:
                logging.getLogger(name).removeHandler(self)
        self.check()

    def check(self) -> None:
        """Raise the first trapped exception (with its own traceback), then forget them all."""
        records, self.records = self.records, []
        if records:
            exc_info = records[0].exc_info
            assert exc_info is not None and exc_info[1] is not None
            message = records[0].getMessage()
            raise PropertyViolation(f"swallowed exception: {message}") from exc_info[1]


def quiet(*loggers: str) -> None:
    """Keep libFuzzer's output readable: the code under test's logs go nowhere while fuzzing
    (what matters is trapped by LoggedErrors)."""
    for name in loggers:
        logging.getLogger(name).propagate = False


# -- structure-aware mutation ---------------------------------------------------------------------

_INTERESTING_INTS = (0, 1, -1, 23, 24, 255, 256, 65535, 65536, 2**31, 2**32 - 1, 2**63, -(2**63))
_INTERESTING_TEXT = ("", "a", "\u0000", "\ud800", "é", "x" * 300, "passkey", "public-key")


def mutate_tree(value: Any, rng: random.Random, make_bytes: bool) -> Any:
    """``value`` (JSON- or CBOR-shaped) with one random change somewhere inside."""
    containers: list[Any] = []
    _collect(value, containers, 0)
    if not containers or rng.random() < 0.05:
        return _random_leaf(rng, make_bytes)
    parent = rng.choice(containers)
    if isinstance(parent, dict):
        keys = list(parent)
        choice = rng.random()
        if not keys or choice < 0.15:
            key: Any = rng.choice(keys) if keys and rng.random() < 0.5 else _random_key(rng, parent)
            parent[key] = _random_leaf(rng, make_bytes)
        elif choice < 0.3:
            del parent[rng.choice(keys)]
        else:
            key = rng.choice(keys)
            parent[key] = _mutate_leaf(parent[key], rng, make_bytes)
    else:
        choice = rng.random()
        if not parent or choice < 0.15:
            parent.insert(rng.randint(0, len(parent)), _random_leaf(rng, make_bytes))
        elif choice < 0.3:
            del parent[rng.randrange(len(parent))]
        elif choice < 0.4:
            parent.append(parent[rng.randrange(len(parent))])
        else:
            index = rng.randrange(len(parent))
            parent[index] = _mutate_leaf(parent[index], rng, make_bytes)
    return value


def _collect(value: Any, out: list[Any], depth: int) -> None:
    if depth > 12:
        return
    if isinstance(value, dict):
        out.append(value)
        for item in value.values():
            _collect(item, out, depth + 1)
    elif isinstance(value, list):
        out.append(value)
        for item in value:
            _collect(item, out, depth + 1)


def _random_key(rng: random.Random, mapping: dict[Any, Any]) -> Any:
    if mapping and all(isinstance(k, int) for k in mapping):
        return rng.choice((rng.randint(-3, 20), rng.choice(_INTERESTING_INTS)))
    return rng.choice(
        ("id", "type", "data", "key", "rpId", "credentialId", "x" * rng.randint(0, 9))
    )


def _random_leaf(rng: random.Random, make_bytes: bool) -> Any:
    kinds = ["int", "text", "bool", "null", "list", "map"] + (["bytes"] if make_bytes else [])
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice(_INTERESTING_INTS) if rng.random() < 0.5 else rng.randint(-300, 300)
    if kind == "text":
        return rng.choice(_INTERESTING_TEXT)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return (
            [_random_leaf(rng, make_bytes) for _ in range(rng.randint(0, 2))]
            if rng.random() < 0.3
            else []
        )
    if kind == "map":
        return {}
    return rng.randbytes(rng.choice((0, 1, 16, 32, 33, 64, 65)))


def _mutate_leaf(value: Any, rng: random.Random, make_bytes: bool) -> Any:
    if isinstance(value, bool) or value is None or rng.random() < 0.2:
        return _random_leaf(rng, make_bytes)
    if isinstance(value, int):
        return rng.choice(
            (value + 1, value - 1, -value, value * 256, rng.choice(_INTERESTING_INTS))
        )
    if isinstance(value, str):
        return _mutate_text(value, rng)
    if isinstance(value, bytes):
        raw = bytearray(value)
        if raw and rng.random() < 0.6:
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        elif raw and rng.random() < 0.5:
            del raw[rng.randrange(len(raw)) :]
        else:
            raw += rng.randbytes(rng.randint(1, 8))
        return bytes(raw)
    if isinstance(value, dict | list):
        return mutate_tree(value, rng, make_bytes)
    return _random_leaf(rng, make_bytes)


def _mutate_text(value: str, rng: random.Random) -> str:
    if not value or rng.random() < 0.2:
        return rng.choice(_INTERESTING_TEXT)
    index = rng.randrange(len(value))
    choice = rng.random()
    if choice < 0.3:
        return value[:index]
    if choice < 0.6:
        return (
            value[:index]
            + chr(rng.choice((0x21, 0x2D, 0x5F, 0x3D, 0x2B, 0x2F, 0xE9)))
            + value[index + 1 :]
        )
    if choice < 0.8:
        return value + value[index:]
    return value[:index] + value[index + 1 :]


def json_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's byte mutations half of the time; otherwise one structural change to the JSON
    document the input holds (when it holds one)."""
    import atheris

    rng = random.Random(seed)
    if rng.random() < 0.5:
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            pass
        else:
            out = json.dumps(mutate_tree(document, rng, make_bytes=False)).encode()
            if len(out) <= max_size:
                return out
    return bytes(atheris.Mutate(data, max_size))


def prefixed_json_mutator(prefix: int) -> Callable[[bytes, int, int], bytes]:
    """:func:`json_mutator` for inputs whose first ``prefix`` bytes are control bytes: now and
    then those change alone; otherwise the JSON after them does."""

    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        import atheris

        rng = random.Random(seed)
        head, body = data[:prefix].ljust(prefix, b"\0"), data[prefix:]
        if rng.random() < 0.2:
            return bytes(atheris.Mutate(head, prefix)).ljust(prefix, b"\0")[:prefix] + body
        return head + json_mutator(body, max(max_size - prefix, 1), seed)

    return mutate
