"""`clear-bench env` reports what this interpreter really has (issue 27.6)."""
import json
from importlib import metadata

import torch

from clear_bench.cli import main
from clear_bench.commands.env import OPTIONAL


def test_env_json_matches_the_interpreter(capsys):
    assert main(["env", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["libraries"]["torch"] == torch.__version__
    assert set(info["optional"]) == set(OPTIONAL)
    for name, version in info["optional"].items():
        try:
            assert version == metadata.version(name)
        except metadata.PackageNotFoundError:
            assert version is None
    assert info["hardware"]["cpu_threads"] == torch.get_num_threads()
    assert (info["hardware"]["gpu"] is None) == (not torch.cuda.is_available())


def test_env_lines(capsys):
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    assert f"torch {torch.__version__}" in out and "gpu: " in out
