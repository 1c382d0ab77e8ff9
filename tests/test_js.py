"""The Node unit tests of the plane's pure modules (tests/js, `node --test`), run from pytest.

1. The oracles they compare with (tests/js/oracles.json) are recomputed here from the project's own
   code (tests/js/oracles.py) and must still match the committed file, so it cannot go stale.
2. `node --test tests/js/` must pass; skipped, saying why, where Node.js is missing or too old.
"""
from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
JS_TESTS = ROOT / "tests" / "js"
NODE_MAJOR = 20  # node:test's describe/diagnostic and directory arguments as used there
NODE_TIMEOUT_S = 300
REQUIRE_NODE_ENV = "EXPLORER_REQUIRE_NODE"  # set by .ci/run: there a missing node fails instead of skipping
MASK_AGREEMENT = 0.999  # hole masks: cells right at the threshold may flip with a scipy release
NETWORK_KEYS = ("decode", "encode", "stats")  # torch's float32 outputs: thread counts move the last bits


def _oracles_module():
    spec = importlib.util.spec_from_file_location("js_oracles", JS_TESTS / "oracles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compare(committed, fresh, path: str, oracles, problems: list[str]) -> None:
    """Walk both trees side by side; collect every difference beyond its tolerance."""
    network = any(f"/{k}" in path for k in NETWORK_KEYS)
    rtol, atol = (1e-5, 1e-6) if network else (1e-9, 1e-12)
    if isinstance(committed, dict) and "b64" in committed and "dtype" in committed:
        if not isinstance(fresh, dict) or committed["shape"] != fresh.get("shape"):
            problems.append(f"{path}: shape {committed['shape']} vs {fresh}")
            return
        a, b = oracles.unpack(committed), oracles.unpack(fresh)
        if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            problems.append(f"{path}: worst difference {np.nanmax(np.abs(a - b)):.3g}")
    elif isinstance(committed, dict):
        if not isinstance(fresh, dict) or set(committed) != set(fresh):
            got = sorted(fresh) if isinstance(fresh, dict) else fresh
            problems.append(f"{path}: keys {sorted(committed)} vs {got}")
            return
        for key in committed:
            _compare(committed[key], fresh[key], f"{path}/{key}", oracles, problems)
    elif isinstance(committed, list):
        if not isinstance(fresh, list) or len(committed) != len(fresh):
            problems.append(f"{path}: {len(committed)} entries vs {len(fresh) if isinstance(fresh, list) else fresh}")
            return
        if committed and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in committed):
            if path.endswith("/indices"):
                if committed != fresh:
                    problems.append(f"{path}: {committed} vs {fresh}")
            elif not np.allclose(committed, fresh, rtol=rtol, atol=atol):
                problems.append(f"{path}: worst difference {np.max(np.abs(np.subtract(committed, fresh))):.3g}")
            return
        for k, (c, f) in enumerate(zip(committed, fresh)):
            _compare(c, f, f"{path}[{k}]", oracles, problems)
    elif path.endswith("/mask"):  # bit-packed hole masks
        a = np.unpackbits(np.frombuffer(base64.b64decode(committed), np.uint8))
        b = np.unpackbits(np.frombuffer(base64.b64decode(fresh), np.uint8))
        if a.shape != b.shape or (a == b).mean() < MASK_AGREEMENT:
            problems.append(f"{path}: {int((a != b).sum()) if a.shape == b.shape else 'shapes differ'} cells differ")
    elif isinstance(committed, float) or isinstance(fresh, float):
        if not np.isclose(committed, fresh, rtol=1e-3 if path.endswith("/share") else rtol, atol=atol):
            problems.append(f"{path}: {committed} vs {fresh}")
    elif committed != fresh:
        problems.append(f"{path}: {str(committed)[:60]} vs {str(fresh)[:60]}")


def test_the_committed_oracles_are_what_the_project_computes_now():
    oracles = _oracles_module()
    committed = json.loads(oracles.OUT.read_text())
    fresh = json.loads(json.dumps(oracles.compute()))  # through JSON, as the file was written
    problems: list[str] = []
    _compare(committed, fresh, "", oracles, problems)
    assert not problems, ("tests/js/oracles.json is stale; rerun `python tests/js/oracles.py` if the change is "
                          "intended:\n  " + "\n  ".join(problems[:20]))


def _unavailable(reason: str):
    if os.environ.get(REQUIRE_NODE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_NODE_ENV}=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        _unavailable(f"Node.js is not on PATH: the JS unit tests in tests/js need node >= {NODE_MAJOR} "
                    "(Debian: apt-get install nodejs)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    major = int(m.group(1)) if (m := re.match(r"v(\d+)", version)) else 0
    if major < NODE_MAJOR:
        _unavailable(f"node {version} is too old for tests/js: it needs node >= {NODE_MAJOR}")
    return node


def test_the_js_unit_tests_pass_in_node():
    node = _node()
    run = subprocess.run([node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True,
                         timeout=NODE_TIMEOUT_S)
    output = run.stdout + run.stderr
    summary = [line for line in output.splitlines()
               if re.match(r"# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ", line)]
    print("node --test tests/js/:", ", ".join(line[2:] for line in summary))
    failures = [line for line in output.splitlines() if re.match(r"\s*not ok ", line)]
    assert run.returncode == 0, (f"node --test tests/js/ exited {run.returncode}: " + "; ".join(summary) + "\n"
                                 + "\n".join(failures) + "\n" + output[-6000:])
    assert any(line.startswith("# pass ") and int(line.split()[2]) > 0 for line in summary), output[-2000:]
    assert any(line == "# fail 0" for line in summary), output[-2000:]
